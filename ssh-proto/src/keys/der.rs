//! The little DER reading key files need: an RSA key's numbers out of a PKCS#8 document
//! or a PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2, RFC 5208).

use crate::crypto::sign::RsaPrivateParts;
use crate::secret::SecretBytes;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;

/// A cursor over DER bytes.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The contents of the next element, which must carry `tag`.
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        if t != tag {
            return None;
        }
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 3 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |a, &b| a << 8 | b as usize);
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (content, after) = rest.split_at(len);
        self.0 = after;
        Some(content)
    }

    /// A non-negative INTEGER as a magnitude without leading zeros.
    fn unsigned(&mut self) -> Option<&'a [u8]> {
        let mut v = self.element(INTEGER)?;
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            return None;
        }
        while let [0, rest @ ..] = v {
            v = rest;
        }
        Some(v)
    }
}

/// The numbers of a PKCS#1 `RSAPrivateKey` (two-prime keys only).
pub(crate) fn rsa_parts_from_pkcs1(der: &[u8]) -> Option<RsaPrivateParts> {
    let mut outer = Der(der);
    let mut k = Der(outer.element(SEQUENCE)?);
    if !k.unsigned()?.is_empty() {
        return None; // version 1 means more than two primes
    }
    let secret = |v: &[u8]| SecretBytes::new(v.to_vec());
    let n = k.unsigned()?.to_vec();
    let e = k.unsigned()?.to_vec();
    let d = secret(k.unsigned()?);
    let p = secret(k.unsigned()?);
    let q = secret(k.unsigned()?);
    let (_dp, _dq) = (k.unsigned()?, k.unsigned()?);
    let iqmp = secret(k.unsigned()?);
    Some(RsaPrivateParts {
        n,
        e,
        d,
        p,
        q,
        iqmp,
    })
}

/// The numbers of an RSA key in a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn rsa_parts_from_pkcs8(der: &[u8]) -> Option<RsaPrivateParts> {
    let mut outer = Der(der);
    let mut info = Der(outer.element(SEQUENCE)?);
    info.unsigned()?;
    info.element(SEQUENCE)?; // the algorithm identifier
    rsa_parts_from_pkcs1(info.element(OCTET_STRING)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lengths_and_refuses_truncation() {
        // SEQUENCE { INTEGER 0, INTEGER 0x00ff (=255), ... } truncated.
        let mut d = Der(&[0x02, 0x02, 0x00, 0xff]);
        assert_eq!(d.unsigned(), Some(&[0xff][..]));
        assert!(Der(&[0x02, 0x01, 0x80]).unsigned().is_none()); // negative
        assert!(Der(&[0x02, 0x05, 0x00]).unsigned().is_none()); // short
        assert!(Der(&[0x30, 0x84, 0, 0, 0, 1, 0])
            .element(SEQUENCE)
            .is_none());
        let long = [&[0x04, 0x81, 0x80][..], &[7u8; 128]].concat();
        assert_eq!(Der(&long).element(OCTET_STRING).unwrap().len(), 128);
        assert!(rsa_parts_from_pkcs8(&[0x30, 0x00]).is_none());
        assert!(rsa_parts_from_pkcs1(&[]).is_none());
    }
}
