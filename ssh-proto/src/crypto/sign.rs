//! Signatures through aws-lc-rs: Ed25519 signing keys and verification.

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
