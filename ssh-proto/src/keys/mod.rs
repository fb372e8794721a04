//! Host keys and public keys: wire blobs, signatures, OpenSSH file formats, fingerprints.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::crypto::hash::HashAlg;
use crate::crypto::rng::Rng;
use crate::crypto::sign::{
    verify_ecdsa, verify_ed25519, verify_rsa, EcdsaCurve, Ed25519Signer, RsaHash,
};
use crate::error::{ConfigError, DecodeError};
use crate::secret::SecretBytes;
use crate::wire::{Reader, Writer};

/// Signature algorithms the core can verify for publickey authentication (listed in
/// server-sig-algs).
pub(crate) const VERIFIABLE_SIGNATURE_ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
];

/// A public key as sent on the wire, parsed where we know its algorithm.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// ssh-ed25519
    Ed25519([u8; 32]),
    /// ssh-rsa: verified with rsa-sha2-512 or rsa-sha2-256 (moduli of 2048 bits and up).
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
        match alg {
            "ssh-ed25519" => {
                let k = r.string()?;
                r.finish()?;
                let k: [u8; 32] = k
                    .try_into()
                    .map_err(|_| DecodeError::Invalid("ed25519 key is not 32 bytes"))?;
                Ok(PublicKey::Ed25519(k))
            }
            "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
                let curve = r.utf8()?;
                let point = r.string()?;
                r.finish()?;
                let (name, len) = match alg {
                    "ecdsa-sha2-nistp256" => ("nistp256", 65),
                    "ecdsa-sha2-nistp384" => ("nistp384", 97),
                    _ => ("nistp521", 133),
                };
                if curve != name || point.len() != len || point[0] != 4 {
                    return Err(DecodeError::Invalid("ECDSA key of the wrong form"));
                }
                Ok(PublicKey::Ecdsa {
                    curve: name,
                    point: Bytes::copy_from_slice(point),
                })
            }
            "ssh-rsa" => {
                let e = strip_zeros(r.mpint_positive()?);
                let n = strip_zeros(r.mpint_positive()?);
                r.finish()?;
                if e.is_empty() || n.is_empty() {
                    return Err(DecodeError::Invalid(
                        "RSA key with a zero exponent or modulus",
                    ));
                }
                Ok(PublicKey::Rsa {
                    e: Bytes::copy_from_slice(e),
                    n: Bytes::copy_from_slice(n),
                })
            }
            other => Ok(PublicKey::Other {
                algorithm: other.to_owned(),
                blob: Bytes::copy_from_slice(blob),
            }),
        }
    }

    /// Parse one line of OpenSSH public key text (`ssh-ed25519 AAAA... comment`).
    pub fn from_openssh(line: &str) -> Result<Self, ConfigError> {
        let k = ssh_key::PublicKey::from_openssh(line.trim())
            .map_err(|_| ConfigError("not an OpenSSH public key"))?;
        let blob = k
            .to_bytes()
            .map_err(|_| ConfigError("public key cannot be encoded"))?;
        Self::from_blob(&blob).map_err(|_| ConfigError("malformed public key"))
    }

    /// The key algorithm name.
    pub fn algorithm(&self) -> &str {
        match self {
            PublicKey::Ed25519(_) => "ssh-ed25519",
            PublicKey::Rsa { .. } => "ssh-rsa",
            PublicKey::Ecdsa { curve, .. } => ecdsa_algorithm(curve),
            PublicKey::Other { algorithm, .. } => algorithm,
        }
    }

    /// The wire blob.
    pub fn to_blob(&self) -> Bytes {
        match self {
            PublicKey::Ed25519(k) => {
                let mut b = BytesMut::with_capacity(51);
                Writer::new(&mut b).utf8("ssh-ed25519").string(k);
                b.freeze()
            }
            PublicKey::Rsa { e, n } => {
                let mut b = BytesMut::with_capacity(20 + e.len() + n.len());
                Writer::new(&mut b)
                    .utf8("ssh-rsa")
                    .mpint_unsigned(e)
                    .mpint_unsigned(n);
                b.freeze()
            }
            PublicKey::Ecdsa { curve, point } => {
                let mut b = BytesMut::with_capacity(40 + point.len());
                Writer::new(&mut b)
                    .utf8(ecdsa_algorithm(curve))
                    .utf8(curve)
                    .string(point);
                b.freeze()
            }
            PublicKey::Other { blob, .. } => blob.clone(),
        }
    }

    /// `SHA256:<base64>` as OpenSSH prints it.
    pub fn fingerprint(&self) -> String {
        let d = HashAlg::Sha256.digest(&[&self.to_blob()]);
        format!("SHA256:{}", base64_nopad(&d))
    }

    /// The signature algorithms this key can verify.
    pub fn signature_algorithms(&self) -> &'static [&'static str] {
        match self {
            PublicKey::Ed25519(_) => &["ssh-ed25519"],
            PublicKey::Rsa { .. } => &["rsa-sha2-512", "rsa-sha2-256"],
            PublicKey::Ecdsa {
                curve: "nistp256", ..
            } => &["ecdsa-sha2-nistp256"],
            PublicKey::Ecdsa {
                curve: "nistp384", ..
            } => &["ecdsa-sha2-nistp384"],
            PublicKey::Ecdsa { .. } => &["ecdsa-sha2-nistp521"],
            PublicKey::Other { .. } => &[],
        }
    }

    /// Verify an SSH signature blob (`string alg, string sig`) over `message`, requiring
    /// the blob's algorithm to be `expected_alg`.
    pub fn verify(&self, expected_alg: &str, message: &[u8], sig_blob: &[u8]) -> bool {
        let mut r = Reader::new(sig_blob);
        let (Ok(alg), Ok(sig)) = (r.utf8(), r.string()) else {
            return false;
        };
        if alg != expected_alg || r.finish().is_err() {
            return false;
        }
        match self {
            PublicKey::Ed25519(k) if alg == "ssh-ed25519" => verify_ed25519(k, message, sig),
            PublicKey::Rsa { e, n } => match alg {
                "rsa-sha2-512" => verify_rsa(n, e, RsaHash::Sha512, message, sig),
                "rsa-sha2-256" => verify_rsa(n, e, RsaHash::Sha256, message, sig),
                _ => false,
            },
            PublicKey::Ecdsa { curve, point } if alg == ecdsa_algorithm(curve) => {
                // The signature is string(mpint r, mpint s).
                let mut rs = Reader::new(sig);
                let (Ok(r_), Ok(s_)) = (rs.mpint_positive(), rs.mpint_positive()) else {
                    return false;
                };
                let c = match *curve {
                    "nistp256" => EcdsaCurve::P256,
                    "nistp384" => EcdsaCurve::P384,
                    _ => EcdsaCurve::P521,
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

/// A private key that can sign: a server host key or a client user key.
pub struct PrivateKey {
    seed: SecretBytes,
    pair: Ed25519Signer,
    public: PublicKey,
}

impl PrivateKey {
    /// A new ed25519 key from the given randomness source.
    pub fn generate_ed25519(rng: &dyn Rng) -> Result<Self, ConfigError> {
        let mut seed = vec![0u8; 32];
        rng.fill(&mut seed)
            .map_err(|_| ConfigError("the random number generator failed"))?;
        Self::ed25519_from_seed(SecretBytes::new(seed))
    }

    /// An ed25519 key from its 32-byte seed.
    pub fn ed25519_from_seed(seed: SecretBytes) -> Result<Self, ConfigError> {
        let pair =
            Ed25519Signer::from_seed(seed.expose()).ok_or(ConfigError("bad ed25519 seed"))?;
        let public = PublicKey::Ed25519(pair.public_key());
        Ok(PrivateKey { seed, pair, public })
    }

    /// Parse an unencrypted OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub fn from_openssh(pem: &str) -> Result<Self, ConfigError> {
        let k = ssh_key::PrivateKey::from_openssh(pem)
            .map_err(|_| ConfigError("not an OpenSSH private key"))?;
        if k.is_encrypted() {
            return Err(ConfigError("encrypted private keys are not supported yet"));
        }
        match k.key_data() {
            ssh_key::private::KeypairData::Ed25519(kp) => {
                Self::ed25519_from_seed(SecretBytes::new(kp.private.to_bytes().to_vec()))
            }
            _ => Err(ConfigError("only ed25519 private keys are supported yet")),
        }
    }

    /// The key in OpenSSH private key format (unencrypted).
    pub fn to_openssh(&self, comment: &str) -> Result<String, ConfigError> {
        let mut both = [0u8; 64];
        both[..32].copy_from_slice(self.seed.expose());
        both[32..].copy_from_slice(&self.pair.public_key());
        let kp = ssh_key::private::Ed25519Keypair::from_bytes(&both)
            .map_err(|_| ConfigError("ed25519 key pair rejected"))?;
        zeroize::Zeroize::zeroize(&mut both);
        let k = ssh_key::PrivateKey::new(kp.into(), comment)
            .map_err(|_| ConfigError("cannot build private key"))?;
        let s = k
            .to_openssh(ssh_key::LineEnding::LF)
            .map_err(|_| ConfigError("cannot encode private key"))?;
        Ok(s.as_str().to_owned())
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The signature algorithms this key can produce.
    pub fn signature_algorithms(&self) -> &'static [&'static str] {
        self.public.signature_algorithms()
    }

    /// Sign `message` with `alg`, returning the SSH signature blob.
    pub fn sign(&self, alg: &str, message: &[u8]) -> Result<Bytes, ConfigError> {
        if alg != "ssh-ed25519" {
            return Err(ConfigError("unsupported signature algorithm"));
        }
        let sig = self.pair.sign(message);
        let mut b = BytesMut::with_capacity(83);
        Writer::new(&mut b).utf8(alg).string(sig.as_ref());
        Ok(b.freeze())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({:?}, ***)", self.public)
    }
}

/// Parse an OpenSSH `authorized_keys` file into its keys (options are ignored for now).
pub fn parse_authorized_keys(text: &str) -> Result<Vec<PublicKey>, ConfigError> {
    let mut keys = Vec::new();
    for entry in ssh_key::AuthorizedKeys::new(text) {
        let entry = entry.map_err(|_| ConfigError("malformed authorized_keys line"))?;
        let blob = entry
            .public_key()
            .to_bytes()
            .map_err(|_| ConfigError("authorized key cannot be encoded"))?;
        keys.push(
            PublicKey::from_blob(&blob).map_err(|_| ConfigError("malformed authorized key"))?,
        );
    }
    Ok(keys)
}

/// The key algorithm of an ECDSA curve's SSH name.
fn ecdsa_algorithm(curve: &str) -> &'static str {
    match curve {
        "nistp256" => "ecdsa-sha2-nistp256",
        "nistp384" => "ecdsa-sha2-nistp384",
        _ => "ecdsa-sha2-nistp521",
    }
}

/// A big-endian magnitude without its leading zero bytes.
fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

fn base64_nopad(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 3);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::SeededRng;

    #[test]
    fn authorized_keys_with_rsa_and_ecdsa_lines_parse() {
        let text = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDD+rVaad0+5FQv8G4AuZte+pYplwPZ5ACXDAdG493e1ztwCYhHELH24Boe7ch/HcsCDVgq2DWCGkWfEGdmi3dkj4IxwV50w/XJqcemjXvtrGC1bjHR2eMRq5xHBim31lZ8zDwkbYUa8Vw2ahtp2y3TEYW5WoNjsOyCcYN8BcMFbGaUfEzPCK3yVy0pH8cjNce9kLtlMYr3BIDEBEkTvRhw6slQKvEk/XCQ57J/C8IzTOEhuW9PxTy16rcxfkCAwxDsnpA3+6PMQLdokBECwqHSp5ybLfiPIlEk/zUEpi/Cm4pJ/LyhGhg74GYz4/tq01om13TesW0EZoix5QvXJBhSaUuRUuOOX93XpeaI17nYEKXFKMEpVEVkFvOqlYEU7nI4Z1TcZkKb/iUR+HQXiaLtpUvigvm4MuGO7BC3CD87sejN79wLp6FwvBze6j2Do965bUwVwOAXXKUSU4jkJQ/gxRY3TOMziPpnGTW0hGu18XKq1ad43pDYL95AnYQy/jE= rsa@test\n# a comment\n\nno-pty ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBC8O5izGgDomtp5WrZYYcNIQM0WagNA0OHaAxNd/19pvBc/xRkhc554A6xZkFk5QqLouIMsjwafbX5R6dlrk97I= ec@test\n";
        let keys = parse_authorized_keys(text).expect("RSA and ECDSA lines must not fail the file");
        let algs: Vec<&str> = keys.iter().map(|k| k.algorithm()).collect();
        assert_eq!(algs, ["ssh-rsa", "ecdsa-sha2-nistp256"]);
        assert!(matches!(keys[0], PublicKey::Rsa { .. }));
        assert!(matches!(
            keys[1],
            PublicKey::Ecdsa {
                curve: "nistp256",
                ..
            }
        ));
        assert_eq!(PublicKey::from_blob(&keys[1].to_blob()).unwrap(), keys[1]);
        assert_eq!(PublicKey::from_blob(&keys[0].to_blob()).unwrap(), keys[0]);
    }

    #[test]
    fn sign_verify_and_openssh_round_trip() {
        let k = PrivateKey::generate_ed25519(&SeededRng::new(7)).unwrap();
        let sig = k.sign("ssh-ed25519", b"msg").unwrap();
        assert!(k.public_key().verify("ssh-ed25519", b"msg", &sig));
        assert!(!k.public_key().verify("ssh-ed25519", b"other", &sig));
        assert!(!k.public_key().verify("ssh-rsa", b"msg", &sig));
        let pem = k.to_openssh("test").unwrap();
        let back = PrivateKey::from_openssh(&pem).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let blob = k.public_key().to_blob();
        assert_eq!(&PublicKey::from_blob(&blob).unwrap(), k.public_key());
    }

    #[test]
    fn fingerprint_matches_openssh_format() {
        // RFC 8709 test key: public key d75a98...; OpenSSH prints this fingerprint for it.
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
        let k = PublicKey::from_openssh(line).unwrap();
        assert!(k.fingerprint().starts_with("SHA256:"));
        assert_eq!(k.fingerprint().len(), 7 + 43);
        assert_eq!(
            parse_authorized_keys(&format!("# c\n{line} me\n")).unwrap(),
            vec![k]
        );
    }

    #[test]
    fn malformed_blobs_and_signatures_are_errors() {
        assert!(PublicKey::from_blob(&[0, 0, 0, 11]).is_err());
        let mut b = BytesMut::new();
        Writer::new(&mut b).utf8("ssh-ed25519").string(&[1, 2, 3]);
        assert!(PublicKey::from_blob(&b).is_err());
        let k = PrivateKey::generate_ed25519(&SeededRng::new(1)).unwrap();
        assert!(!k.public_key().verify("ssh-ed25519", b"m", &[]));
        assert!(!k
            .public_key()
            .verify("ssh-ed25519", b"m", &[0, 0, 0, 1, b'x']));
    }
}
