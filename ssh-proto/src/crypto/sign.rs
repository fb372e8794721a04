//! Signatures through aws-lc-rs: Ed25519, RSA (PKCS#1 v1.5 with SHA-256 or SHA-512,
//! moduli of 1024 to 8192 bits; SHA-1 for verification only) and ECDSA (NIST P-256,
//! P-384, P-521), each as a signing key and as verification.

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};

use crate::secret::SecretBytes;

/// An Ed25519 signing key.
pub(crate) struct Ed25519Signer(signature::Ed25519KeyPair);

impl Ed25519Signer {
    /// The key for a 32-byte seed (None when the seed is not 32 bytes).
    pub(crate) fn from_seed(seed: &[u8]) -> Option<Self> {
        signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .ok()
            .map(Ed25519Signer)
    }

    /// The 32-byte public key.
    pub(crate) fn public_key(&self) -> [u8; 32] {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.0.public_key().as_ref());
        pk
    }

    /// The 64-byte signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> impl AsRef<[u8]> {
        self.0.sign(message)
    }

    /// The key of a PKCS#8 document and its 32-byte seed.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Option<(Self, SecretBytes)> {
        let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).ok()?;
        let seed = pair.seed().ok()?.as_be_bytes().ok()?;
        let seed = SecretBytes::new(seed.as_ref().to_vec());
        Some((Ed25519Signer(pair), seed))
    }
}

/// The hash of an RSA signature algorithm: rsa-sha2-256, rsa-sha2-512, or ssh-rsa's
/// SHA-1 (verification only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RsaHash {
    Sha1,
    Sha256,
    Sha512,
}

/// The private numbers of an RSA key, big-endian magnitudes (as OpenSSH key files and
/// PKCS#1 hold them).
pub(crate) struct RsaPrivateParts {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub d: SecretBytes,
    pub p: SecretBytes,
    pub q: SecretBytes,
    /// `q^-1 mod p`.
    pub iqmp: SecretBytes,
}

/// An RSA signing key.
pub(crate) struct RsaSigner(RsaKeyPair);

impl RsaSigner {
    /// A new key of `bits` (2048, 3072, 4096 or 8192).
    pub(crate) fn generate(bits: usize) -> Option<Self> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => return None,
        };
        RsaKeyPair::generate(size).ok().map(RsaSigner)
    }

    /// The key of its numbers (the CRT exponents are derived here). None when they do
    /// not form a consistent key of 2048 to 8192 bits.
    pub(crate) fn from_parts(k: &RsaPrivateParts) -> Option<Self> {
        let dp = crate::crypto::modp::rem_minus_one(k.d.expose(), k.p.expose())?;
        let dq = crate::crypto::modp::rem_minus_one(k.d.expose(), k.q.expose())?;
        let c = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: strip(&k.n),
                e: strip(&k.e),
            },
            d: k.d.expose(),
            p: k.p.expose(),
            q: k.q.expose(),
            dP: dp.expose(),
            dQ: dq.expose(),
            qInv: k.iqmp.expose(),
        };
        RsaKeyPair::from_components(&c).ok().map(RsaSigner)
    }

    /// The key as a PKCS#8 document (to be taken apart for an OpenSSH key file).
    pub(crate) fn to_pkcs8(&self) -> Option<SecretBytes> {
        let doc = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&self.0).ok()?;
        Some(SecretBytes::new(doc.as_ref().to_vec()))
    }

    /// The public exponent and modulus, big-endian without leading zeros.
    pub(crate) fn public(&self) -> (Vec<u8>, Vec<u8>) {
        let p = self.0.public_key();
        (
            p.exponent().big_endian_without_leading_zero().to_vec(),
            p.modulus().big_endian_without_leading_zero().to_vec(),
        )
    }

    /// The PKCS#1 v1.5 signature of `message` (SHA-256 or SHA-512; None for SHA-1,
    /// which aws-lc-rs does not sign with).
    pub(crate) fn sign(&self, hash: RsaHash, message: &[u8]) -> Option<Vec<u8>> {
        let enc = match hash {
            RsaHash::Sha256 => &signature::RSA_PKCS1_SHA256,
            RsaHash::Sha512 => &signature::RSA_PKCS1_SHA512,
            RsaHash::Sha1 => return None,
        };
        let mut sig = vec![0u8; self.0.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.0.sign(enc, &rng, message, &mut sig).ok()?;
        Some(sig)
    }
}

/// An ECDSA signing key on one of the NIST curves.
pub(crate) struct EcdsaSigner {
    curve: EcdsaCurve,
    pair: EcdsaKeyPair,
}

impl EcdsaSigner {
    /// A new key on `curve`.
    pub(crate) fn generate(curve: EcdsaCurve) -> Option<Self> {
        let pair = EcdsaKeyPair::generate(curve.signing()).ok()?;
        Some(EcdsaSigner { curve, pair })
    }

    /// The key of its private scalar and public point (checked to belong together).
    pub(crate) fn from_scalar(curve: EcdsaCurve, scalar: &[u8], point: &[u8]) -> Option<Self> {
        let pair =
            EcdsaKeyPair::from_private_key_and_public_key(curve.signing(), scalar, point).ok()?;
        Some(EcdsaSigner { curve, pair })
    }

    /// The key of a PKCS#8 document or a SEC1 `ECPrivateKey`, on whichever curve it names.
    pub(crate) fn from_der(der: &[u8]) -> Option<Self> {
        [EcdsaCurve::P256, EcdsaCurve::P384, EcdsaCurve::P521]
            .into_iter()
            .find_map(|curve| {
                let pair = EcdsaKeyPair::from_private_key_der(curve.signing(), der)
                    .or_else(|_| EcdsaKeyPair::from_pkcs8(curve.signing(), der))
                    .ok()?;
                Some(EcdsaSigner { curve, pair })
            })
    }

    /// The curve.
    pub(crate) fn curve(&self) -> EcdsaCurve {
        self.curve
    }

    /// The public point, uncompressed.
    pub(crate) fn public_point(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// The private scalar, big-endian, as wide as the curve's order.
    pub(crate) fn private_scalar(&self) -> Option<SecretBytes> {
        let b = self.pair.private_key().as_be_bytes().ok()?;
        Some(SecretBytes::new(b.as_ref().to_vec()))
    }

    /// The signature of `message` as its (r, s) halves, each as wide as a scalar.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = self.pair.sign(&rng, message).ok()?;
        let (r, s) = sig.as_ref().split_at(self.curve.scalar_len());
        Some((r.to_vec(), s.to_vec()))
    }
}

use super::strip_zeros as strip;

/// Whether `sig` is a valid Ed25519 signature of `message` by `public`.
pub(crate) fn verify_ed25519(public: &[u8; 32], message: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public)
        .verify(message, sig)
        .is_ok()
}

/// Whether `sig` is a valid RSA PKCS#1 v1.5 signature of `message` by the key with
/// modulus `n` and exponent `e` (big-endian magnitudes). Moduli under 1024 bits or over
/// 8192 are refused here; the caller applies its own, higher, minimum.
pub(crate) fn verify_rsa(n: &[u8], e: &[u8], hash: RsaHash, message: &[u8], sig: &[u8]) -> bool {
    let alg = match hash {
        RsaHash::Sha1 => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        RsaHash::Sha256 => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        RsaHash::Sha512 => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
    };
    signature::RsaPublicKeyComponents { n, e }
        .verify(alg, message, sig)
        .is_ok()
}

/// A NIST curve of the ecdsa-sha2-* key types, each with its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EcdsaCurve {
    P256,
    P384,
    P521,
}

impl EcdsaCurve {
    /// The curve's SSH name (`nistp256` ...).
    pub(crate) fn name(self) -> &'static str {
        match self {
            EcdsaCurve::P256 => "nistp256",
            EcdsaCurve::P384 => "nistp384",
            EcdsaCurve::P521 => "nistp521",
        }
    }

    /// The curve of an SSH name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "nistp256" => Some(EcdsaCurve::P256),
            "nistp384" => Some(EcdsaCurve::P384),
            "nistp521" => Some(EcdsaCurve::P521),
            _ => None,
        }
    }

    /// Bytes in an uncompressed public point.
    pub(crate) fn point_len(self) -> usize {
        1 + 2 * self.scalar_len()
    }

    fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            EcdsaCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            EcdsaCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            EcdsaCurve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }

    /// Bytes in a scalar (r and s of a signature).
    pub(crate) fn scalar_len(self) -> usize {
        match self {
            EcdsaCurve::P256 => 32,
            EcdsaCurve::P384 => 48,
            EcdsaCurve::P521 => 66,
        }
    }
}

/// Whether (`r`, `s`) (big-endian magnitudes) is a valid ECDSA signature of `message`
/// by the uncompressed point `public` on `curve`.
pub(crate) fn verify_ecdsa(
    curve: EcdsaCurve,
    public: &[u8],
    message: &[u8],
    r: &[u8],
    s: &[u8],
) -> bool {
    let n = curve.scalar_len();
    if r.len() > n || s.len() > n {
        return false;
    }
    let mut fixed = vec![0u8; 2 * n];
    fixed[n - r.len()..n].copy_from_slice(r);
    fixed[2 * n - s.len()..].copy_from_slice(s);
    let alg = match curve {
        EcdsaCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
        EcdsaCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        EcdsaCurve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
    };
    signature::UnparsedPublicKey::new(alg, public)
        .verify(message, &fixed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::RsaKeyPair;

    #[test]
    fn ecdsa_signatures_verify_on_each_curve() {
        use aws_lc_rs::signature::{
            EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
            ECDSA_P521_SHA512_FIXED_SIGNING,
        };
        let rng = aws_lc_rs::rand::SystemRandom::new();
        for (curve, alg) in [
            (EcdsaCurve::P256, &ECDSA_P256_SHA256_FIXED_SIGNING),
            (EcdsaCurve::P384, &ECDSA_P384_SHA384_FIXED_SIGNING),
            (EcdsaCurve::P521, &ECDSA_P521_SHA512_FIXED_SIGNING),
        ] {
            let pair = EcdsaKeyPair::generate(alg).unwrap();
            let sig = pair.sign(&rng, b"msg").unwrap();
            let (r, s) = sig.as_ref().split_at(curve.scalar_len());
            let public = pair.public_key().as_ref();
            assert!(verify_ecdsa(curve, public, b"msg", r, s), "{curve:?}");
            assert!(!verify_ecdsa(curve, public, b"other", r, s), "{curve:?}");
            assert!(!verify_ecdsa(curve, public, b"msg", s, r), "{curve:?}");
        }
    }

    #[test]
    fn rsa_signatures_verify_by_hash() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let (n, e) = (
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        );
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(&signature::RSA_PKCS1_SHA512, &rng, b"msg", &mut sig)
            .unwrap();
        assert!(verify_rsa(n, e, RsaHash::Sha512, b"msg", &sig));
        assert!(!verify_rsa(n, e, RsaHash::Sha256, b"msg", &sig));
        assert!(!verify_rsa(n, e, RsaHash::Sha512, b"other", &sig));
        // A truncated modulus does not verify the full-size signature.
        assert!(!verify_rsa(
            &n[..128],
            e,
            RsaHash::Sha512,
            b"msg",
            &sig[..128]
        ));
    }
}
