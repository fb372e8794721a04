//! Public keys as sent on the wire (RFC 4253 §6.6, RFC 5656, RFC 8709): parsing,
//! encoding, fingerprints and signature verification.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::fingerprint;
use crate::crypto::sign::{verify_ecdsa, verify_ed25519, verify_rsa, EcdsaCurve, RsaHash};
use crate::error::{ConfigError, DecodeError};
use crate::wire::{Reader, Writer};

/// A public key as sent on the wire, parsed where we know its algorithm.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// ssh-ed25519
    Ed25519([u8; 32]),
    /// ssh-rsa: verified with rsa-sha2-512, rsa-sha2-256 or (when allowed) ssh-rsa.
    Rsa {
        /// The public exponent, big-endian without leading zeros.
        e: Bytes,
        /// The modulus, big-endian without leading zeros.
        n: Bytes,
    },
    /// ecdsa-sha2-nistp256, -nistp384, -nistp521.
    Ecdsa {
        /// The curve's SSH name (`nistp256`, `nistp384`, `nistp521`).
        curve: &'static str,
        /// The public point, uncompressed (0x04, x, y).
        point: Bytes,
    },
    /// ssh-dss (DSA, 1024-bit p, 160-bit q): parsed always, verified only in builds
    /// with the `legacy` feature and when the policy lists ssh-dss.
    Dsa {
        /// Prime modulus.
        p: Bytes,
        /// Subgroup order.
        q: Bytes,
        /// Generator.
        g: Bytes,
        /// Public value.
        y: Bytes,
    },
    /// sk-ssh-ed25519@openssh.com: an Ed25519 key held by a FIDO security key.
    SkEd25519 {
        /// The Ed25519 public key.
        key: [u8; 32],
        /// The FIDO application (relying party) string, normally `ssh:`.
        application: String,
    },
    /// sk-ecdsa-sha2-nistp256@openssh.com: a P-256 key held by a FIDO security key.
    SkEcdsa {
        /// The public point, uncompressed.
        point: Bytes,
        /// The FIDO application string.
        application: String,
    },
    /// A key of an algorithm this build cannot verify, kept as its blob.
    Other {
        /// The key's algorithm name.
        algorithm: String,
        /// The whole public key blob.
        blob: Bytes,
    },
}

impl PublicKey {
    /// Parse a public key blob (RFC 4253 §6.6).
    pub fn from_blob(blob: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(blob);
        let alg = r.utf8()?;
        match Self::read_fields(alg, &mut r)? {
            Some(key) => {
                r.finish()?;
                Ok(key)
            }
            None => Ok(PublicKey::Other {
                algorithm: alg.to_owned(),
                blob: Bytes::copy_from_slice(blob),
            }),
        }
    }

    /// Read the fields that follow the algorithm name of a key we know (None for an
    /// algorithm we do not; the reader is then left where it was).
    pub(crate) fn read_fields(alg: &str, r: &mut Reader<'_>) -> Result<Option<Self>, DecodeError> {
        let key = match alg {
            "ssh-ed25519" => {
                let k: [u8; 32] = r
                    .string()?
                    .try_into()
                    .map_err(|_| DecodeError::Invalid("ed25519 key is not 32 bytes"))?;
                PublicKey::Ed25519(k)
            }
            "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
                let Some(curve) = alg
                    .strip_prefix("ecdsa-sha2-")
                    .and_then(EcdsaCurve::from_name)
                else {
                    return Ok(None);
                };
                let name = r.utf8()?;
                let point = r.string()?;
                if name != curve.name() || point.len() != curve.point_len() || point[0] != 4 {
                    return Err(DecodeError::Invalid("ECDSA key of the wrong form"));
                }
                PublicKey::Ecdsa {
                    curve: curve.name(),
                    point: Bytes::copy_from_slice(point),
                }
            }
            "ssh-rsa" => {
                let e = strip_zeros(r.mpint_positive()?);
                let n = strip_zeros(r.mpint_positive()?);
                if e.is_empty() || n.is_empty() {
                    return Err(DecodeError::Invalid(
                        "RSA key with a zero exponent or modulus",
                    ));
                }
                PublicKey::Rsa {
                    e: Bytes::copy_from_slice(e),
                    n: Bytes::copy_from_slice(n),
                }
            }
            "ssh-dss" => {
                let mut next = || {
                    r.mpint_positive()
                        .map(|v| Bytes::copy_from_slice(strip_zeros(v)))
                };
                let (p, q, g, y) = (next()?, next()?, next()?, next()?);
                PublicKey::Dsa { p, q, g, y }
            }
            SK_ED25519 => {
                let k: [u8; 32] = r
                    .string()?
                    .try_into()
                    .map_err(|_| DecodeError::Invalid("ed25519 key is not 32 bytes"))?;
                PublicKey::SkEd25519 {
                    key: k,
                    application: r.utf8()?.to_owned(),
                }
            }
            SK_ECDSA => {
                let name = r.utf8()?;
                let point = r.string()?;
                if name != "nistp256" || point.len() != 65 || point[0] != 4 {
                    return Err(DecodeError::Invalid(
                        "security-key ECDSA key of the wrong form",
                    ));
                }
                PublicKey::SkEcdsa {
                    point: Bytes::copy_from_slice(point),
                    application: r.utf8()?.to_owned(),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(key))
    }

    /// Parse one line of OpenSSH public key text (`ssh-ed25519 AAAA... comment`).
    pub fn from_openssh(line: &str) -> Result<Self, ConfigError> {
        let mut fields = line.split_whitespace();
        let (Some(alg), Some(data)) = (fields.next(), fields.next()) else {
            return Err(ConfigError("not an OpenSSH public key"));
        };
        let blob =
            fingerprint::base64_decode(data).ok_or(ConfigError("not an OpenSSH public key"))?;
        let key = Self::from_blob(&blob).map_err(|_| ConfigError("malformed public key"))?;
        if key.algorithm() != alg {
            return Err(ConfigError("public key line names another algorithm"));
        }
        Ok(key)
    }

    /// The key in OpenSSH's one-line form, `algorithm base64 comment`.
    pub fn to_openssh(&self, comment: &str) -> String {
        let mut s = format!(
            "{} {}",
            self.algorithm(),
            fingerprint::base64_encode(&self.to_blob(), true)
        );
        if !comment.is_empty() {
            s.push(' ');
            s.push_str(comment);
        }
        s
    }

    /// The key algorithm name.
    pub fn algorithm(&self) -> &str {
        match self {
            PublicKey::Ed25519(_) => "ssh-ed25519",
            PublicKey::Rsa { .. } => "ssh-rsa",
            PublicKey::Ecdsa { curve, .. } => ecdsa_algorithm(curve),
            PublicKey::Dsa { .. } => "ssh-dss",
            PublicKey::SkEd25519 { .. } => SK_ED25519,
            PublicKey::SkEcdsa { .. } => SK_ECDSA,
            PublicKey::Other { algorithm, .. } => algorithm,
        }
    }

    /// The wire blob.
    pub fn to_blob(&self) -> Bytes {
        if let PublicKey::Other { blob, .. } = self {
            return blob.clone();
        }
        let mut b = BytesMut::with_capacity(64);
        let mut w = Writer::new(&mut b);
        w.utf8(self.algorithm());
        self.write_fields(&mut w);
        b.freeze()
    }

    /// Write the fields that follow the algorithm name (nothing for `Other`).
    pub(crate) fn write_fields(&self, w: &mut Writer<'_>) {
        match self {
            PublicKey::Ed25519(k) => {
                w.string(k);
            }
            PublicKey::Rsa { e, n } => {
                w.mpint_unsigned(e).mpint_unsigned(n);
            }
            PublicKey::Ecdsa { curve, point } => {
                w.utf8(curve).string(point);
            }
            PublicKey::Dsa { p, q, g, y } => {
                w.mpint_unsigned(p)
                    .mpint_unsigned(q)
                    .mpint_unsigned(g)
                    .mpint_unsigned(y);
            }
            PublicKey::SkEd25519 { key, application } => {
                w.string(key).utf8(application);
            }
            PublicKey::SkEcdsa { point, application } => {
                w.utf8("nistp256").string(point).utf8(application);
            }
            PublicKey::Other { .. } => {}
        }
    }

    /// `SHA256:<base64>` as OpenSSH prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint::sha256(&self.to_blob())
    }

    /// `MD5:xx:xx:...` as OpenSSH prints it with `-E md5`.
    pub fn fingerprint_md5(&self) -> String {
        fingerprint::md5(&self.to_blob())
    }

    /// The size of an RSA key's modulus in bits (None for other keys).
    pub fn rsa_bits(&self) -> Option<u32> {
        match self {
            PublicKey::Rsa { n, .. } => {
                let top = n.first().copied().unwrap_or(0);
                Some(n.len() as u32 * 8 - top.leading_zeros())
            }
            _ => None,
        }
    }

    /// Every signature algorithm this key type can verify, strongest first (ssh-rsa
    /// included: whether it is allowed is the configuration's choice).
    pub fn signature_algorithms(&self) -> &'static [&'static str] {
        match self {
            PublicKey::Ed25519(_) => &["ssh-ed25519"],
            PublicKey::Rsa { .. } => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            PublicKey::Ecdsa {
                curve: "nistp256", ..
            } => &["ecdsa-sha2-nistp256"],
            PublicKey::Ecdsa {
                curve: "nistp384", ..
            } => &["ecdsa-sha2-nistp384"],
            PublicKey::Ecdsa { .. } => &["ecdsa-sha2-nistp521"],
            PublicKey::Dsa { .. } => &["ssh-dss"],
            PublicKey::SkEd25519 { .. } => &[SK_ED25519],
            PublicKey::SkEcdsa { .. } => &[SK_ECDSA],
            PublicKey::Other { .. } => &[],
        }
    }

    /// Verify an SSH signature blob (`string alg, string sig`) over `message`, requiring
    /// the blob's algorithm to be `expected_alg`. For security keys the flags are not
    /// judged here: see [`PublicKey::verify_detailed`].
    pub fn verify(&self, expected_alg: &str, message: &[u8], sig_blob: &[u8]) -> bool {
        self.verify_detailed(expected_alg, message, sig_blob)
            .is_some()
    }

    /// Verify like [`PublicKey::verify`]; Some on success, with a security key's flags
    /// and counter (PROTOCOL.u2f: the authenticator signs SHA-256(application), the
    /// flags, the counter and SHA-256(message)).
    pub fn verify_detailed(
        &self,
        expected_alg: &str,
        message: &[u8],
        sig_blob: &[u8],
    ) -> Option<Verified> {
        let mut r = Reader::new(sig_blob);
        let alg = r.utf8().ok()?;
        let sig = r.string().ok()?;
        if alg != expected_alg {
            return None;
        }
        let (application, inner) = match self {
            PublicKey::SkEd25519 { key, application } if alg == SK_ED25519 => {
                (application, PublicKey::Ed25519(*key))
            }
            PublicKey::SkEcdsa { point, application } if alg == SK_ECDSA => (
                application,
                PublicKey::Ecdsa {
                    curve: "nistp256",
                    point: point.clone(),
                },
            ),
            PublicKey::SkEd25519 { .. } | PublicKey::SkEcdsa { .. } => return None,
            _ => {
                r.finish().ok()?;
                return self
                    .verify_raw(alg, message, sig)
                    .then_some(Verified { security_key: None });
            }
        };
        let flags = r.u8().ok()?;
        let counter = r.u32().ok()?;
        r.finish().ok()?;
        let signed = sk_signed_data(application, flags, counter, message);
        let base = inner.signature_algorithms()[0];
        inner.verify_raw(base, &signed, sig).then_some(Verified {
            security_key: Some(SecurityKeySignature { flags, counter }),
        })
    }

    /// Verify the inner signature bytes of algorithm `alg` over `message`.
    pub(crate) fn verify_raw(&self, alg: &str, message: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) if alg == "ssh-ed25519" => verify_ed25519(k, message, sig),
            #[cfg(feature = "legacy")]
            PublicKey::Dsa { p, q, g, y } if alg == "ssh-dss" => crate::crypto::legacy::verify_dsa(
                &crate::crypto::legacy::DsaPublic { p, q, g, y },
                message,
                sig,
            ),
            PublicKey::Rsa { e, n } => {
                let hash = match alg {
                    "rsa-sha2-512" => RsaHash::Sha512,
                    "rsa-sha2-256" => RsaHash::Sha256,
                    "ssh-rsa" => RsaHash::Sha1,
                    _ => return false,
                };
                verify_rsa(n, e, hash, message, sig)
            }
            PublicKey::Ecdsa { curve, point } if alg == ecdsa_algorithm(curve) => {
                // The signature is string(mpint r, mpint s).
                let mut rs = Reader::new(sig);
                let (Ok(r_), Ok(s_)) = (rs.mpint_positive(), rs.mpint_positive()) else {
                    return false;
                };
                let Some(c) = EcdsaCurve::from_name(curve) else {
                    return false;
                };
                rs.finish().is_ok()
                    && verify_ecdsa(c, point, message, strip_zeros(r_), strip_zeros(s_))
            }
            _ => false,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm(), self.fingerprint())
    }
}

/// sk-ssh-ed25519@openssh.com
const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com";
/// sk-ecdsa-sha2-nistp256@openssh.com
const SK_ECDSA: &str = "sk-ecdsa-sha2-nistp256@openssh.com";

/// What a successful verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// For security keys: the authenticator's flags and counter.
    pub security_key: Option<SecurityKeySignature>,
}

/// The authenticator data of a security-key signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityKeySignature {
    /// FIDO flags: 0x01 user present, 0x04 user verified.
    pub flags: u8,
    /// The authenticator's signature counter.
    pub counter: u32,
}

impl SecurityKeySignature {
    /// The user touched the key (flag 0x01).
    pub fn user_present(&self) -> bool {
        self.flags & 0x01 != 0
    }

    /// The key verified the user, by PIN or biometrics (flag 0x04).
    pub fn user_verified(&self) -> bool {
        self.flags & 0x04 != 0
    }
}

/// What a security key signs for `message`: SHA-256(application), flags, counter,
/// SHA-256(message).
fn sk_signed_data(application: &str, flags: u8, counter: u32, message: &[u8]) -> Vec<u8> {
    use crate::crypto::hash::HashAlg;
    let mut d = Vec::with_capacity(69);
    d.extend_from_slice(&HashAlg::Sha256.digest(&[application.as_bytes()]));
    d.push(flags);
    d.extend_from_slice(&counter.to_be_bytes());
    d.extend_from_slice(&HashAlg::Sha256.digest(&[message]));
    d
}

/// The key algorithm of an ECDSA curve's SSH name.
pub(crate) fn ecdsa_algorithm(curve: &str) -> &'static str {
    match curve {
        "nistp256" => "ecdsa-sha2-nistp256",
        "nistp384" => "ecdsa-sha2-nistp384",
        _ => "ecdsa-sha2-nistp521",
    }
}

pub(crate) use crate::crypto::strip_zeros;

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_LINE: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDD+rVaad0+5FQv8G4AuZte+pYplwPZ5ACXDAdG493e1ztwCYhHELH24Boe7ch/HcsCDVgq2DWCGkWfEGdmi3dkj4IxwV50w/XJqcemjXvtrGC1bjHR2eMRq5xHBim31lZ8zDwkbYUa8Vw2ahtp2y3TEYW5WoNjsOyCcYN8BcMFbGaUfEzPCK3yVy0pH8cjNce9kLtlMYr3BIDEBEkTvRhw6slQKvEk/XCQ57J/C8IzTOEhuW9PxTy16rcxfkCAwxDsnpA3+6PMQLdokBECwqHSp5ybLfiPIlEk/zUEpi/Cm4pJ/LyhGhg74GYz4/tq01om13TesW0EZoix5QvXJBhSaUuRUuOOX93XpeaI17nYEKXFKMEpVEVkFvOqlYEU7nI4Z1TcZkKb/iUR+HQXiaLtpUvigvm4MuGO7BC3CD87sejN79wLp6FwvBze6j2Do965bUwVwOAXXKUSU4jkJQ/gxRY3TOMziPpnGTW0hGu18XKq1ad43pDYL95AnYQy/jE= rsa@test";

    #[test]
    fn openssh_lines_round_trip_and_rsa_size_is_read() {
        let k = PublicKey::from_openssh(RSA_LINE).unwrap();
        assert_eq!(k.rsa_bits(), Some(3072));
        assert_eq!(k.to_openssh("rsa@test"), RSA_LINE);
        assert!(PublicKey::from_openssh("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAB").is_err());
        assert!(PublicKey::from_openssh("ssh-rsa").is_err());
        assert!(PublicKey::from_openssh("ssh-rsa !!!").is_err());
    }

    #[test]
    fn fingerprint_matches_openssh_format() {
        // RFC 8709 test key: public key d75a98...; OpenSSH prints these fingerprints for it.
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
        let k = PublicKey::from_openssh(line).unwrap();
        assert!(k.fingerprint().starts_with("SHA256:"));
        assert_eq!(k.fingerprint().len(), 7 + 43);
        let md5 = k.fingerprint_md5();
        assert!(md5.starts_with("MD5:"));
        assert_eq!(md5.len(), 4 + 16 * 3 - 1);
    }

    #[test]
    fn malformed_blobs_are_errors() {
        assert!(PublicKey::from_blob(&[0, 0, 0, 11]).is_err());
        let mut b = BytesMut::new();
        Writer::new(&mut b).utf8("ssh-ed25519").string(&[1, 2, 3]);
        assert!(PublicKey::from_blob(&b).is_err());
        // An ECDSA blob naming another curve than its algorithm, and a point of the
        // wrong size.
        let good = PublicKey::Ecdsa {
            curve: "nistp256",
            point: Bytes::from(vec![4u8; 65]),
        };
        assert!(PublicKey::from_blob(&good.to_blob()).is_ok());
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .utf8("ecdsa-sha2-nistp256")
            .utf8("nistp384")
            .string(&[4u8; 65]);
        assert!(PublicKey::from_blob(&b).is_err());
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .utf8("ecdsa-sha2-nistp384")
            .utf8("nistp384")
            .string(&[4u8; 65]);
        assert!(PublicKey::from_blob(&b).is_err());
        // Trailing bytes after a known key.
        let mut b = BytesMut::from(&good.to_blob()[..]);
        b.extend_from_slice(&[0]);
        assert!(PublicKey::from_blob(&b).is_err());
        // RSA with a zero modulus.
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .utf8("ssh-rsa")
            .mpint_unsigned(&[3])
            .mpint_unsigned(&[]);
        assert!(PublicKey::from_blob(&b).is_err());
        // Unknown algorithms are kept, not refused.
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .utf8("x-unknown@example.com")
            .string(b"k");
        assert!(matches!(
            PublicKey::from_blob(&b).unwrap(),
            PublicKey::Other { .. }
        ));
    }
}
