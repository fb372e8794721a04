//! Message authentication codes: HMAC in encrypt-and-MAC and encrypt-then-MAC forms.

use aws_lc_rs::hmac;

use super::constant_time_eq;

/// A MAC algorithm we can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    /// hmac-sha2-256
    HmacSha256,
    /// hmac-sha2-512
    HmacSha512,
    /// hmac-sha2-256-etm@openssh.com
    HmacSha256Etm,
    /// hmac-sha2-512-etm@openssh.com
    HmacSha512Etm,
}

impl MacAlg {
    /// Every supported MAC, in our default preference order.
    pub const ALL: &'static [MacAlg] = &[
        MacAlg::HmacSha256Etm,
        MacAlg::HmacSha512Etm,
        MacAlg::HmacSha256,
        MacAlg::HmacSha512,
    ];

    /// The SSH name.
    pub fn name(self) -> &'static str {
        match self {
            MacAlg::HmacSha256 => "hmac-sha2-256",
            MacAlg::HmacSha512 => "hmac-sha2-512",
            MacAlg::HmacSha256Etm => "hmac-sha2-256-etm@openssh.com",
            MacAlg::HmacSha512Etm => "hmac-sha2-512-etm@openssh.com",
        }
    }

    /// Look up by SSH name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            MacAlg::HmacSha256 | MacAlg::HmacSha256Etm => 32,
            MacAlg::HmacSha512 | MacAlg::HmacSha512Etm => 64,
        }
    }

    /// Tag length in bytes.
    pub fn tag_len(self) -> usize {
        self.key_len()
    }

    /// Whether the MAC covers the ciphertext (encrypt-then-MAC) rather than the plaintext.
    pub fn is_etm(self) -> bool {
        matches!(self, MacAlg::HmacSha256Etm | MacAlg::HmacSha512Etm)
    }

    fn hmac_alg(self) -> hmac::Algorithm {
        match self {
            MacAlg::HmacSha256 | MacAlg::HmacSha256Etm => hmac::HMAC_SHA256,
            MacAlg::HmacSha512 | MacAlg::HmacSha512Etm => hmac::HMAC_SHA512,
        }
    }
}

/// A keyed MAC for one direction.
pub struct Mac {
    alg: MacAlg,
    key: hmac::Key,
}

impl Mac {
    /// Key the MAC.
    pub fn new(alg: MacAlg, key: &[u8]) -> Self {
        Mac {
            alg,
            key: hmac::Key::new(alg.hmac_alg(), key),
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> MacAlg {
        self.alg
    }

    /// Compute the tag over `seq || data` into `out` (which must be `tag_len` long).
    pub fn sign(&self, seq: u32, data: &[u8], out: &mut [u8]) {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&seq.to_be_bytes());
        ctx.update(data);
        out.copy_from_slice(ctx.sign().as_ref());
    }

    /// Check the tag over `seq || data` in constant time.
    pub fn verify(&self, seq: u32, data: &[u8], tag: &[u8]) -> bool {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&seq.to_be_bytes());
        ctx.update(data);
        constant_time_eq(ctx.sign().as_ref(), tag)
    }
}
