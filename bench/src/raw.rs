//! The bare aws-lc-rs primitive behind each suite, with no SSH framing, sequence
//! numbers or padding: what the benchmarks compare our packet layer with (kept out of
//! `ssh-proto`, whose public surface holds nothing keyed with fixed keys) (the
//! difference is the protocol's overhead). Not for protecting traffic: the nonce and
//! keys are fixed.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128, AES_256};
use aws_lc_rs::hmac;

use ssh_proto::{CipherAlg, MacAlg};

const KEY: [u8; 64] = [7; 64];
const IV: [u8; 16] = [9; 16];

/// One suite's raw primitive, keyed with fixed test keys.
#[allow(missing_debug_implementations)]
pub enum RawSealer {
    /// AES-GCM, or IETF ChaCha20-Poly1305 (the nearest aws-lc primitive to OpenSSH's
    /// chacha20-poly1305@openssh.com construction), sealing in place.
    Aead(LessSafeKey),
    /// AES-CTR over the buffer, then an HMAC over the result.
    CtrHmac(Box<(EncryptingKey, hmac::Key)>),
}

impl RawSealer {
    /// The primitive for `cipher` (and `mac` for a non-AEAD cipher).
    pub fn new(
        cipher: CipherAlg,
        mac: Option<MacAlg>,
    ) -> Result<Self, aws_lc_rs::error::Unspecified> {
        let bad_key = |e| e;
        let aead_alg = match cipher {
            CipherAlg::ChaCha20Poly1305 => Some(&aead::CHACHA20_POLY1305),
            CipherAlg::Aes128Gcm => Some(&aead::AES_128_GCM),
            CipherAlg::Aes256Gcm => Some(&aead::AES_256_GCM),
            CipherAlg::Aes128Ctr | CipherAlg::Aes256Ctr => None,
        };
        if let Some(alg) = aead_alg {
            let key = UnboundKey::new(alg, &KEY[..alg.key_len()]).map_err(bad_key)?;
            return Ok(RawSealer::Aead(LessSafeKey::new(key)));
        }
        let aes = if cipher == CipherAlg::Aes128Ctr {
            UnboundCipherKey::new(&AES_128, &KEY[..16])
        } else {
            UnboundCipherKey::new(&AES_256, &KEY[..32])
        };
        let ctr = EncryptingKey::ctr(aes.map_err(bad_key)?).map_err(bad_key)?;
        let alg = match mac.unwrap_or(MacAlg::HmacSha256Etm) {
            MacAlg::HmacSha256 | MacAlg::HmacSha256Etm => hmac::HMAC_SHA256,
            MacAlg::HmacSha512 | MacAlg::HmacSha512Etm => hmac::HMAC_SHA512,
        };
        Ok(RawSealer::CtrHmac(Box::new((
            ctr,
            hmac::Key::new(alg, &KEY),
        ))))
    }

    /// Encrypt `buf` in place and compute its tag; returns the tag's first byte so the
    /// work cannot be optimised away.
    pub fn seal(&self, buf: &mut [u8]) -> u8 {
        match self {
            RawSealer::Aead(key) => {
                let nonce = Nonce::assume_unique_for_key([1; 12]);
                key.seal_in_place_separate_tag(nonce, Aad::from(&[0u8; 4]), buf)
                    .map(|t| t.as_ref()[0])
                    .unwrap_or(0)
            }
            RawSealer::CtrHmac(keys) => {
                let (ctr, mac) = &**keys;
                let _ = ctr.less_safe_encrypt(buf, EncryptionContext::Iv128(IV.into()));
                hmac::sign(mac, buf).as_ref()[0]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_has_a_raw_primitive_that_changes_the_bytes() {
        for &c in CipherAlg::ALL {
            let raw = RawSealer::new(c, Some(MacAlg::HmacSha512Etm)).unwrap();
            let mut buf = vec![0u8; 1024];
            raw.seal(&mut buf);
            assert!(buf.iter().any(|&b| b != 0), "{c:?}");
        }
    }
}
