//! Signatures through aws-lc-rs: Ed25519 signing keys and verification, RSA
//! (PKCS#1 v1.5 with SHA-256 or SHA-512, moduli of 2048 to 8192 bits) and ECDSA
//! (NIST P-256, P-384, P-521) verification.

use aws_lc_rs::signature::{self, KeyPair as _};

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
}

/// Whether `sig` is a valid Ed25519 signature of `message` by `public`.
pub(crate) fn verify_ed25519(public: &[u8; 32], message: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public)
        .verify(message, sig)
        .is_ok()
}

/// The hash of an RSA signature algorithm (rsa-sha2-256, rsa-sha2-512).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RsaHash {
    Sha256,
    Sha512,
}

/// Whether `sig` is a valid RSA PKCS#1 v1.5 signature of `message` by the key with
/// modulus `n` and exponent `e` (big-endian magnitudes). Moduli under 2048 bits are
/// refused (as are those over 8192).
pub(crate) fn verify_rsa(n: &[u8], e: &[u8], hash: RsaHash, message: &[u8], sig: &[u8]) -> bool {
    let alg = match hash {
        RsaHash::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        RsaHash::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
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
    fn rsa_signatures_verify_by_hash_and_small_keys_are_refused() {
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
        // A 1024-bit modulus is refused whatever the signature.
        assert!(!verify_rsa(
            &n[..128],
            e,
            RsaHash::Sha512,
            b"msg",
            &sig[..128]
        ));
    }
}
