//! Private keys that sign: a server's host keys, a client's user keys. Generated here,
//! or read from OpenSSH and PEM key files (see `files`).

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::public::PublicKey;
use crate::crypto::rng::Rng;
use crate::crypto::sign::{EcdsaCurve, EcdsaSigner, Ed25519Signer, RsaHash, RsaSigner};
use crate::error::ConfigError;
use crate::secret::SecretBytes;
use crate::wire::Writer;

/// A key type to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// ssh-ed25519.
    Ed25519,
    /// ecdsa-sha2-nistp256.
    EcdsaP256,
    /// ecdsa-sha2-nistp384.
    EcdsaP384,
    /// ecdsa-sha2-nistp521.
    EcdsaP521,
    /// RSA with a modulus of this many bits: 2048, 3072, 4096 or 8192.
    Rsa(u32),
}

impl KeyKind {
    /// The short name `ssh-keygen -t` takes, with the size where it has one
    /// (`ed25519`, `ecdsa-p256`, `rsa-3072`); used in file names.
    pub fn short_name(&self) -> String {
        match self {
            KeyKind::Ed25519 => "ed25519".into(),
            KeyKind::EcdsaP256 => "ecdsa-p256".into(),
            KeyKind::EcdsaP384 => "ecdsa-p384".into(),
            KeyKind::EcdsaP521 => "ecdsa-p521".into(),
            KeyKind::Rsa(bits) => format!("rsa-{bits}"),
        }
    }
}

/// The signing half of a private key.
pub(crate) enum Signer {
    Ed25519 {
        seed: SecretBytes,
        pair: Ed25519Signer,
    },
    Rsa(RsaSigner),
    Ecdsa(EcdsaSigner),
    #[cfg(feature = "legacy")]
    Dsa(crate::crypto::legacy::DsaSigner),
}

/// A private key that can sign: a server host key or a client user key.
pub struct PrivateKey {
    signer: Signer,
    public: PublicKey,
}

impl PrivateKey {
    /// A new key of `kind`. Ed25519 seeds come from `rng`; RSA and ECDSA keys are made
    /// by aws-lc-rs from the operating system's generator.
    pub fn generate(kind: KeyKind, rng: &dyn Rng) -> Result<Self, ConfigError> {
        let curve = match kind {
            KeyKind::Ed25519 => return Self::generate_ed25519(rng),
            KeyKind::Rsa(bits) => {
                let signer = RsaSigner::generate(bits as usize).ok_or(ConfigError(
                    "RSA keys are generated at 2048, 3072, 4096 or 8192 bits",
                ))?;
                return Ok(Self::from_signer(Signer::Rsa(signer)));
            }
            KeyKind::EcdsaP256 => EcdsaCurve::P256,
            KeyKind::EcdsaP384 => EcdsaCurve::P384,
            KeyKind::EcdsaP521 => EcdsaCurve::P521,
        };
        let signer =
            EcdsaSigner::generate(curve).ok_or(ConfigError("ECDSA key generation failed"))?;
        Ok(Self::from_signer(Signer::Ecdsa(signer)))
    }

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
        Ok(Self::from_signer(Signer::Ed25519 { seed, pair }))
    }

    /// The key of a signer, its public half derived.
    pub(crate) fn from_signer(signer: Signer) -> Self {
        let public = match &signer {
            Signer::Ed25519 { pair, .. } => PublicKey::Ed25519(pair.public_key()),
            Signer::Rsa(r) => {
                let (e, n) = r.public();
                PublicKey::Rsa {
                    e: Bytes::from(e),
                    n: Bytes::from(n),
                }
            }
            Signer::Ecdsa(k) => PublicKey::Ecdsa {
                curve: k.curve().name(),
                point: Bytes::from(k.public_point()),
            },
            #[cfg(feature = "legacy")]
            Signer::Dsa(k) => {
                let [p, q, g, y] = k.public().map(Bytes::from);
                PublicKey::Dsa { p, q, g, y }
            }
        };
        PrivateKey { signer, public }
    }

    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The signature algorithms this key can produce, strongest first (RSA keys sign
    /// rsa-sha2-512 and rsa-sha2-256, and SHA-1 ssh-rsa only in builds with the
    /// `legacy` feature).
    pub fn signature_algorithms(&self) -> &'static [&'static str] {
        match &self.signer {
            #[cfg(feature = "legacy")]
            Signer::Rsa(_) => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            #[cfg(not(feature = "legacy"))]
            Signer::Rsa(_) => &["rsa-sha2-512", "rsa-sha2-256"],
            _ => self.public.signature_algorithms(),
        }
    }

    /// Sign `message` with `alg`, returning the SSH signature blob
    /// (`string alg, string signature`).
    pub fn sign(&self, alg: &str, message: &[u8]) -> Result<Bytes, ConfigError> {
        if !self.signature_algorithms().contains(&alg) {
            return Err(ConfigError("this key does not sign with that algorithm"));
        }
        let mut b = BytesMut::with_capacity(128);
        let mut w = Writer::new(&mut b);
        w.utf8(alg);
        match &self.signer {
            Signer::Ed25519 { pair, .. } => {
                w.string(pair.sign(message).as_ref());
            }
            #[cfg(feature = "legacy")]
            Signer::Rsa(r) if alg == "ssh-rsa" => {
                let doc = r.to_pkcs8().ok_or(ConfigError("RSA signing failed"))?;
                let parts = super::der::rsa_parts_from_pkcs8(doc.expose())
                    .ok_or(ConfigError("RSA signing failed"))?;
                let sig = crate::crypto::legacy::sign_rsa_sha1(&parts, message)
                    .ok_or(ConfigError("RSA signing failed"))?;
                w.string(&sig);
            }
            Signer::Rsa(r) => {
                let hash = if alg == "rsa-sha2-512" {
                    RsaHash::Sha512
                } else {
                    RsaHash::Sha256
                };
                let sig = r
                    .sign(hash, message)
                    .ok_or(ConfigError("RSA signing failed"))?;
                w.string(&sig);
            }
            #[cfg(feature = "legacy")]
            Signer::Dsa(k) => {
                let sig = k.sign(message).ok_or(ConfigError("DSA signing failed"))?;
                w.string(&sig);
            }
            Signer::Ecdsa(k) => {
                let (r, s) = k.sign(message).ok_or(ConfigError("ECDSA signing failed"))?;
                let mut inner = BytesMut::with_capacity(2 * r.len() + 10);
                Writer::new(&mut inner)
                    .mpint_unsigned(&r)
                    .mpint_unsigned(&s);
                w.string(&inner);
            }
        }
        Ok(b.freeze())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({:?}, ***)", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::SeededRng;

    #[test]
    fn every_kind_signs_and_verifies_under_each_algorithm() {
        let rng = SeededRng::new(7);
        for kind in [
            KeyKind::Ed25519,
            KeyKind::EcdsaP256,
            KeyKind::EcdsaP384,
            KeyKind::EcdsaP521,
            KeyKind::Rsa(2048),
        ] {
            let k = PrivateKey::generate(kind, &rng).unwrap();
            for alg in k.signature_algorithms() {
                let sig = k.sign(alg, b"msg").unwrap();
                assert!(k.public_key().verify(alg, b"msg", &sig), "{kind:?} {alg}");
                assert!(
                    !k.public_key().verify(alg, b"other", &sig),
                    "{kind:?} {alg}"
                );
            }
            assert!(k.sign("ssh-dss", b"msg").is_err());
            let blob = k.public_key().to_blob();
            assert_eq!(&PublicKey::from_blob(&blob).unwrap(), k.public_key());
        }
        let rsa = PrivateKey::generate(KeyKind::Rsa(2048), &rng).unwrap();
        assert_eq!(rsa.public_key().rsa_bits(), Some(2048));
        // A signature under one RSA hash does not pass as the other, nor as SHA-1.
        let sig = rsa.sign("rsa-sha2-512", b"m").unwrap();
        assert!(!rsa.public_key().verify("rsa-sha2-256", b"m", &sig));
        #[cfg(not(feature = "legacy"))]
        assert!(rsa.sign("ssh-rsa", b"m").is_err());
        assert!(PrivateKey::generate(KeyKind::Rsa(1000), &rng).is_err());
    }

    /// SHA-1 ssh-rsa signatures made through the rsa crate verify under aws-lc-rs,
    /// an independent implementation.
    #[cfg(feature = "legacy")]
    #[test]
    fn legacy_ssh_rsa_signatures_verify_under_aws_lc() {
        let k = PrivateKey::generate(KeyKind::Rsa(2048), &SeededRng::new(1)).unwrap();
        assert!(k.signature_algorithms().contains(&"ssh-rsa"));
        let sig = k.sign("ssh-rsa", b"msg").unwrap();
        assert!(k.public_key().verify("ssh-rsa", b"msg", &sig));
        assert!(!k.public_key().verify("ssh-rsa", b"other", &sig));
        assert!(!k.public_key().verify("rsa-sha2-256", b"msg", &sig));
    }
}
