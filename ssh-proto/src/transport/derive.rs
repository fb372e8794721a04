//! Key derivation (RFC 4253 §7.2).

use crate::crypto::cipher::{Direction, PacketProtection};
use crate::error::Error;
use crate::kex::KexOutcome;
use crate::secret::SecretBytes;

use super::negotiate::Negotiated;

/// Derive `len` bytes of key material for `letter`.
pub(crate) fn derive(out: &KexOutcome, session_id: &[u8], letter: u8, len: usize) -> SecretBytes {
    let mut key = out
        .hash
        .digest(&[out.k.expose(), &out.h, &[letter], session_id]);
    while key.len() < len {
        let more = out.hash.digest(&[out.k.expose(), &out.h, &key]);
        key.extend_from_slice(&more);
    }
    key.truncate(len);
    SecretBytes::new(key)
}

/// The new protection for each direction, from our point of view.
pub(crate) struct NewKeys {
    pub seal: PacketProtection,
    pub open: PacketProtection,
}

pub(crate) fn new_keys(
    out: &KexOutcome,
    session_id: &[u8],
    n: &Negotiated,
    is_server: bool,
) -> Result<NewKeys, Error> {
    let dir = |cipher: crate::crypto::cipher::CipherAlg,
               mac: Option<crate::crypto::mac::MacAlg>,
               [iv_l, key_l, mac_l]: [u8; 3],
               d: Direction| {
        let iv = derive(out, session_id, iv_l, cipher.iv_len());
        let key = derive(out, session_id, key_l, cipher.key_len());
        let mk = mac.map(|m| (m, derive(out, session_id, mac_l, m.key_len())));
        PacketProtection::keyed(
            d,
            cipher,
            key.expose(),
            iv.expose(),
            mk.as_ref().map(|(m, k)| (*m, k.expose())),
        )
    };
    let c2s = [b'A', b'C', b'E'];
    let s2c = [b'B', b'D', b'F'];
    if is_server {
        Ok(NewKeys {
            open: dir(n.cipher_c2s, n.mac_c2s, c2s, Direction::Open)?,
            seal: dir(n.cipher_s2c, n.mac_s2c, s2c, Direction::Seal)?,
        })
    } else {
        Ok(NewKeys {
            seal: dir(n.cipher_c2s, n.mac_c2s, c2s, Direction::Seal)?,
            open: dir(n.cipher_s2c, n.mac_s2c, s2c, Direction::Open)?,
        })
    }
}
