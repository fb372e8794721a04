//! Signatures through aws-lc-rs: Ed25519 signing keys and verification, RSA
//! (PKCS#1 v1.5 with SHA-256 or SHA-512, moduli of 2048 to 8192 bits) verification.

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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::RsaKeyPair;

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
