//! Ephemeral elliptic-curve key agreement (X25519 and the NIST curves) through
//! aws-lc-rs, for the ECDH key exchanges.

use aws_lc_rs::agreement::{self, UnparsedPublicKey, ECDH_P256, ECDH_P384, ECDH_P521, X25519};

use crate::secret::SecretBytes;

/// A curve for ephemeral-key agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    X25519,
    P256,
    P384,
    P521,
}

impl Curve {
    fn alg(self) -> &'static agreement::Algorithm {
        match self {
            Curve::X25519 => &X25519,
            Curve::P256 => &ECDH_P256,
            Curve::P384 => &ECDH_P384,
            Curve::P521 => &ECDH_P521,
        }
    }

    /// Bytes in a private scalar, and in each coordinate of a point.
    pub(crate) fn scalar_len(self) -> usize {
        match self {
            Curve::X25519 | Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Bytes in a public value on the wire (an uncompressed point for the NIST curves).
    pub(crate) fn public_len(self) -> usize {
        match self {
            Curve::X25519 => 32,
            c => 1 + 2 * c.scalar_len(),
        }
    }
}

/// Our ephemeral private key on one curve.
pub(crate) struct EphemeralKey {
    curve: Curve,
    key: agreement::PrivateKey,
}

impl EphemeralKey {
    /// The key with private scalar `scalar` (None when it is not a valid scalar, e.g.
    /// not below the group order), with its public value.
    pub(crate) fn from_scalar(curve: Curve, scalar: &[u8]) -> Option<(Self, Vec<u8>)> {
        let key = agreement::PrivateKey::from_private_key(curve.alg(), scalar).ok()?;
        let public = key.compute_public_key().ok()?.as_ref().to_vec();
        Some((EphemeralKey { curve, key }, public))
    }

    /// The raw shared secret with the peer's public value `theirs`; None when `theirs`
    /// is not a valid point (aws-lc checks that a NIST point lies on the curve and is
    /// not the identity).
    pub(crate) fn agree(&self, theirs: &[u8]) -> Option<SecretBytes> {
        agreement::agree(
            &self.key,
            UnparsedPublicKey::new(self.curve.alg(), theirs),
            (),
            |k| Ok(SecretBytes::new(k.to_vec())),
        )
        .ok()
    }
}
