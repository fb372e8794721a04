//! The only place that calls aws-lc-rs (and the other crypto crates): ciphers, MACs,
//! hashes, signatures, key-file decryption and randomness.

pub(crate) mod agreement;
pub mod cipher;
pub mod hash;
pub(crate) mod kdf;
#[cfg(feature = "legacy")]
pub(crate) mod legacy;
pub mod mac;
pub(crate) mod modp;
pub mod rng;
pub(crate) mod sign;

/// A big-endian magnitude without its leading zero bytes (mpints, RSA and DH numbers).
pub(crate) fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// Compare two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
