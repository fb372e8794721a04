//! Key fingerprints in OpenSSH's notation, and the base64 they and key lines use.

use crate::crypto::hash::HashAlg;

/// `SHA256:<base64 without padding>` of a key blob.
pub(crate) fn sha256(blob: &[u8]) -> String {
    let d = HashAlg::Sha256.digest(&[blob]);
    format!("SHA256:{}", base64_encode(&d, false))
}

/// `MD5:xx:xx:...` of a key blob (OpenSSH's `-E md5` form).
pub(crate) fn md5(blob: &[u8]) -> String {
    let d = md5::compute(blob);
    let hex: Vec<String> = d.0.iter().map(|b| format!("{b:02x}")).collect();
    format!("MD5:{}", hex.join(":"))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64, with or without `=` padding.
pub(crate) fn base64_encode(data: &[u8], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            for _ in c.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 (padding optional, no whitespace). None on any other byte.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == b)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover character cannot encode a byte.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for n in 0..20u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            for pad in [true, false] {
                let s = base64_encode(&data, pad);
                assert_eq!(base64_decode(&s).unwrap(), data, "n={n} pad={pad}");
            }
        }
        assert_eq!(base64_encode(b"foob", true), "Zm9vYg==");
        assert_eq!(base64_encode(b"foob", false), "Zm9vYg");
        assert!(base64_decode("Zm9v!").is_none());
        assert!(base64_decode("Z").is_none());
    }

    #[test]
    fn md5_of_known_input() {
        // RFC 1321 test suite: MD5("abc").
        assert_eq!(
            md5(b"abc"),
            "MD5:90:01:50:98:3c:d2:4f:b0:d6:96:3f:7d:28:e1:7f:72"
        );
    }
}
