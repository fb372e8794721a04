//! Hash functions used by key exchange.

use aws_lc_rs::digest;

/// The exchange-hash function of a key exchange method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1, for the legacy diffie-hellman-group1/14-sha1 and group-exchange-sha1 methods
    Sha1,
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl HashAlg {
    fn alg(self) -> &'static digest::Algorithm {
        match self {
            HashAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        }
    }

    /// A fresh incremental hasher.
    pub fn start(self) -> Hasher {
        Hasher(digest::Context::new(self.alg()))
    }

    /// Hash of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut h = self.start();
        for p in parts {
            h.update(p);
        }
        h.finish()
    }
}

/// An incremental hash computation.
pub struct Hasher(digest::Context);

impl Hasher {
    /// Feed bytes.
    pub fn update(&mut self, b: &[u8]) {
        self.0.update(b);
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}
