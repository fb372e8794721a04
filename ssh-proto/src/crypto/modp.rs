//! Modular exponentiation for finite-field Diffie-Hellman: Montgomery arithmetic from
//! crypto-bigint, whose running time depends on the exponent's width, not its value.
//! Also the one reduction RSA key files need: the CRT exponents `d mod (p - 1)`.

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::{Limb, NonZero, Uint, U1024, U2048, U3072, U4096, U512, U6144, U8192};
use zeroize::Zeroize;

use crate::secret::SecretBytes;

/// Largest modulus handled: 8192 bits.
pub(crate) const MAX_MODULUS_BYTES: usize = 1024;

/// Width of private exponents: 512 bits, twice the strength of the largest cipher key.
pub(crate) const EXPONENT_BITS: usize = 512;

/// A private Diffie-Hellman exponent, zeroed on drop.
pub(crate) struct Exponent(U512);

impl Exponent {
    /// An exponent from 64 random bytes, with its top bit set so it is never small.
    pub(crate) fn from_random(bytes: &[u8; 64]) -> Self {
        let mut x = U512::from_be_slice(bytes);
        x = x.bitor(&U512::ONE.shl_vartime(EXPONENT_BITS - 1));
        Exponent(x)
    }
}

impl Drop for Exponent {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// `base ^ exponent mod modulus`, all big-endian magnitudes, the result as wide as the
/// modulus without its leading zero bytes. `None` when the modulus is even, below 3 or over 8192 bits.
pub(crate) fn pow_mod(base: &[u8], exponent: &Exponent, modulus: &[u8]) -> Option<Vec<u8>> {
    let modulus = strip(modulus);
    if modulus.len() > MAX_MODULUS_BYTES
        || modulus.last().is_none_or(|b| b & 1 == 0)
        || modulus == [1]
    {
        return None;
    }
    let base = strip(base);
    let out = match modulus.len() {
        0..=128 => pow_in::<{ U1024::LIMBS }>(base, exponent, modulus),
        129..=256 => pow_in::<{ U2048::LIMBS }>(base, exponent, modulus),
        257..=384 => pow_in::<{ U3072::LIMBS }>(base, exponent, modulus),
        385..=512 => pow_in::<{ U4096::LIMBS }>(base, exponent, modulus),
        513..=768 => pow_in::<{ U6144::LIMBS }>(base, exponent, modulus),
        _ => pow_in::<{ U8192::LIMBS }>(base, exponent, modulus),
    };
    Some(out[out.len() - modulus.len()..].to_vec())
}

/// Whether `1 < y < p - 1` for an odd `p` (RFC 4253 §8: values outside are refused, or
/// the shared secret could be forced to 1 or to ±1).
pub(crate) fn in_open_range(y: &[u8], p: &[u8]) -> bool {
    let (y, p) = (strip(y), strip(p));
    if y.is_empty() || y == [1] || p.last().is_none_or(|b| b & 1 == 0) {
        return false;
    }
    // p is odd, so p - 1 differs from p only in the last byte.
    let mut p_minus_1 = p.to_vec();
    if let Some(last) = p_minus_1.last_mut() {
        *last -= 1;
    }
    y.len() < p.len() || (y.len() == p.len() && y < &p_minus_1[..])
}

/// `a mod (m - 1)` for big-endian magnitudes of up to 8192 bits (an RSA private
/// exponent and a prime factor), the result as wide as `m`. None when `m` is below 2.
pub(crate) fn rem_minus_one(a: &[u8], m: &[u8]) -> Option<SecretBytes> {
    let (a, m) = (strip(a), strip(m));
    if a.len() > MAX_MODULUS_BYTES || m.len() > MAX_MODULUS_BYTES || m.is_empty() || m == [1] {
        return None;
    }
    let mut x = uint_from_be::<{ U8192::LIMBS }>(a);
    let mut y = uint_from_be::<{ U8192::LIMBS }>(m).wrapping_sub(&U8192::ONE);
    let divisor = Option::<NonZero<U8192>>::from(NonZero::new(y))?;
    let mut r = x.rem(&divisor);
    let out = uint_to_be(&r);
    x.zeroize();
    y.zeroize();
    r.zeroize();
    let out = SecretBytes::new(out[out.len() - m.len()..].to_vec());
    Some(out)
}

use super::strip_zeros as strip;

fn uint_from_be<const L: usize>(b: &[u8]) -> Uint<L> {
    let mut padded = vec![0u8; L * Limb::BYTES];
    let at = padded.len() - b.len();
    padded[at..].copy_from_slice(b);
    let x = Uint::from_be_slice(&padded);
    padded.zeroize();
    x
}

fn uint_to_be<const L: usize>(x: &Uint<L>) -> Vec<u8> {
    x.as_words()
        .iter()
        .rev()
        .flat_map(|w| w.to_be_bytes())
        .collect()
}

fn pow_in<const L: usize>(base: &[u8], exponent: &Exponent, modulus: &[u8]) -> Vec<u8> {
    let m = uint_from_be::<L>(modulus);
    let params = DynResidueParams::new(&m);
    let b = uint_from_be::<L>(base);
    let mut r = DynResidue::new(&b, params)
        .pow_bounded_exp(&exponent.0, EXPONENT_BITS)
        .retrieve();
    let out = uint_to_be(&r);
    r.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(v: u64) -> Exponent {
        Exponent(U512::from_u64(v))
    }

    #[test]
    fn small_values() {
        // 3^5 mod 7 = 243 mod 7 = 5
        assert_eq!(pow_mod(&[3], &exp(5), &[7]).unwrap(), vec![5]);
        // 2^10 mod 1000003 = 1024
        let m = 1_000_003u32.to_be_bytes();
        assert_eq!(pow_mod(&[2], &exp(10), &m).unwrap(), vec![0, 4, 0]);
    }

    #[test]
    fn refuses_bad_moduli() {
        assert!(pow_mod(&[2], &exp(3), &[8]).is_none());
        assert!(pow_mod(&[2], &exp(3), &[1]).is_none());
        assert!(pow_mod(&[2], &exp(3), &[]).is_none());
        assert!(pow_mod(&[2], &exp(3), &vec![0xff; MAX_MODULUS_BYTES + 1]).is_none());
    }

    #[test]
    fn exponent_rule_holds_at_every_width() {
        // (g^a)^b == (g^b)^a for moduli of each width class.
        for bytes in [100, 200, 300, 500, 700, 1000] {
            let mut m = vec![0xc3u8; bytes];
            m[0] = 0xe5;
            m[bytes - 1] |= 1;
            let mut ra = [7u8; 64];
            ra[5] = 99;
            let (a, b) = (
                Exponent::from_random(&ra),
                Exponent::from_random(&[0x5a; 64]),
            );
            let ga = pow_mod(&[2], &a, &m).unwrap();
            let gb = pow_mod(&[2], &b, &m).unwrap();
            assert_eq!(ga.len(), bytes);
            assert_eq!(pow_mod(&ga, &b, &m), pow_mod(&gb, &a, &m));
        }
    }

    #[test]
    fn remainder_modulo_one_less() {
        // 1000 mod (23 - 1) = 10
        assert_eq!(
            rem_minus_one(&1000u32.to_be_bytes(), &[23])
                .unwrap()
                .expose(),
            &[10]
        );
        assert!(rem_minus_one(&[5], &[1]).is_none());
        assert!(rem_minus_one(&[5], &[]).is_none());
        // A wide value: (2^4000 + 5) mod (2^64 + 1 - 1) = 5.
        let mut a = vec![0u8; 501];
        a[0] = 1;
        a[500] = 5;
        let mut m = vec![0u8; 9];
        m[0] = 1;
        m[8] = 1;
        let r = rem_minus_one(&a, &m).unwrap();
        assert_eq!(r.expose().len(), 9);
        assert_eq!(r.expose()[8], 5);
        assert!(r.expose()[..8].iter().all(|&b| b == 0));
    }

    #[test]
    fn open_range() {
        let p = [0x01, 0x00, 0x07]; // 263
        assert!(!in_open_range(&[], &p));
        assert!(!in_open_range(&[0], &p));
        assert!(!in_open_range(&[0, 1], &p));
        assert!(in_open_range(&[2], &p));
        assert!(in_open_range(&[0x01, 0x00, 0x05], &p));
        assert!(!in_open_range(&[0x01, 0x00, 0x06], &p)); // p - 1
        assert!(!in_open_range(&[0x01, 0x00, 0x07], &p)); // p
        assert!(!in_open_range(&[0x02, 0x00, 0x00], &p));
        assert!(!in_open_range(&[0x01, 0x00, 0x00, 0x00], &p));
    }
}
