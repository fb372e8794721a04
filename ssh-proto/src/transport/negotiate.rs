//! Algorithm negotiation from two KEXINIT messages (RFC 4253 §7.1).

use crate::crypto::cipher::CipherAlg;
use crate::crypto::mac::MacAlg;
use crate::error::{Error, Violation};
use crate::kex::KexAlg;
use crate::wire::message::KexInit;

/// Pseudo-algorithm names that signal extensions rather than name methods.
pub(crate) const EXT_INFO_C: &str = "ext-info-c";
pub(crate) const EXT_INFO_S: &str = "ext-info-s";
pub(crate) const STRICT_C: &str = "kex-strict-c-v00@openssh.com";
pub(crate) const STRICT_S: &str = "kex-strict-s-v00@openssh.com";

/// The algorithms in force after a key exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Key exchange method.
    pub kex: KexAlg,
    /// Host key signature algorithm.
    pub host_key: String,
    /// Cipher client to server.
    pub cipher_c2s: CipherAlg,
    /// Cipher server to client.
    pub cipher_s2c: CipherAlg,
    /// MAC client to server (None with AEAD ciphers).
    pub mac_c2s: Option<MacAlg>,
    /// MAC server to client (None with AEAD ciphers).
    pub mac_s2c: Option<MacAlg>,
    /// Whether strict key exchange is in force.
    pub strict_kex: bool,
}

fn pick<'a>(client: &'a [String], server: &[String], what: &'static str) -> Result<&'a str, Error> {
    client
        .iter()
        .find(|c| server.iter().any(|s| s == *c))
        .map(|s| s.as_str())
        .ok_or(Error::Peer(Violation::NoCommonAlgorithm(what)))
}

fn pick_mac(c: &[String], s: &[String], cipher: CipherAlg) -> Result<Option<MacAlg>, Error> {
    if cipher.is_aead() {
        return Ok(None);
    }
    let name = pick(c, s, "mac")?;
    MacAlg::from_name(name)
        .map(Some)
        .ok_or(Error::Peer(Violation::NoCommonAlgorithm("mac")))
}

fn cipher(c: &[String], s: &[String]) -> Result<CipherAlg, Error> {
    CipherAlg::from_name(pick(c, s, "cipher")?)
        .ok_or(Error::Peer(Violation::NoCommonAlgorithm("cipher")))
}

/// Negotiate from the client's and the server's KEXINIT.
pub(crate) fn negotiate(c: &KexInit, s: &KexInit, first_kex: bool) -> Result<Negotiated, Error> {
    let real = |l: &[String]| -> Vec<String> {
        l.iter()
            .filter(|n| {
                ![EXT_INFO_C, EXT_INFO_S, STRICT_C, STRICT_S].contains(&n.as_str())
                    && !n.starts_with("ext-info-in-auth")
            })
            .cloned()
            .collect()
    };
    let (ck, sk) = (real(&c.kex), real(&s.kex));
    let kex = KexAlg::from_name(pick(&ck, &sk, "kex")?)
        .ok_or(Error::Peer(Violation::NoCommonAlgorithm("kex")))?;
    let host_key = pick(&c.host_key, &s.host_key, "host key")?.to_owned();
    let cipher_c2s = cipher(&c.cipher_c2s, &s.cipher_c2s)?;
    let cipher_s2c = cipher(&c.cipher_s2c, &s.cipher_s2c)?;
    let mac_c2s = pick_mac(&c.mac_c2s, &s.mac_c2s, cipher_c2s)?;
    let mac_s2c = pick_mac(&c.mac_s2c, &s.mac_s2c, cipher_s2c)?;
    let none = ["none".to_owned()];
    // Compression: only "none" is supported in this build.
    pick(&c.comp_c2s, &none, "compression")?;
    pick(&c.comp_s2c, &none, "compression")?;
    pick(&none, &s.comp_c2s, "compression")?;
    let strict_kex =
        first_kex && c.kex.iter().any(|n| n == STRICT_C) && s.kex.iter().any(|n| n == STRICT_S);
    Ok(Negotiated {
        kex,
        host_key,
        cipher_c2s,
        cipher_s2c,
        mac_c2s,
        mac_s2c,
        strict_kex,
    })
}

/// Whether the sender of `guesser`'s first_kex_packet_follows guessed wrong, so its
/// next key exchange packet must be ignored.
pub(crate) fn guess_was_wrong(c: &KexInit, s: &KexInit) -> bool {
    c.kex.first() != s.kex.first() || c.host_key.first() != s.host_key.first()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ki(kex: &[&str], ciphers: &[&str], macs: &[&str]) -> KexInit {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        KexInit {
            cookie: [0; 16],
            kex: v(kex),
            host_key: v(&["ssh-ed25519"]),
            cipher_c2s: v(ciphers),
            cipher_s2c: v(ciphers),
            mac_c2s: v(macs),
            mac_s2c: v(macs),
            comp_c2s: v(&["none"]),
            comp_s2c: v(&["none"]),
            lang_c2s: vec![],
            lang_s2c: vec![],
            first_kex_follows: false,
            reserved: 0,
        }
    }

    #[test]
    fn client_preference_wins_and_pseudo_names_are_ignored() {
        let c = ki(
            &[
                "ext-info-c",
                STRICT_C,
                "curve25519-sha256@libssh.org",
                "curve25519-sha256",
            ],
            &["aes128-ctr", "aes256-gcm@openssh.com"],
            &["hmac-sha2-512", "hmac-sha2-256-etm@openssh.com"],
        );
        let s = ki(
            &[
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                STRICT_S,
            ],
            &["aes256-gcm@openssh.com", "aes128-ctr"],
            &["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512"],
        );
        let n = negotiate(&c, &s, true).unwrap();
        assert_eq!(n.kex, KexAlg::Curve25519Sha256Libssh);
        assert_eq!(n.cipher_c2s, CipherAlg::Aes128Ctr);
        assert_eq!(n.mac_c2s, Some(MacAlg::HmacSha512));
        assert!(n.strict_kex);
        assert!(!negotiate(&c, &s, false).unwrap().strict_kex);
    }

    #[test]
    fn no_common_algorithm_is_an_error() {
        let c = ki(
            &["diffie-hellman-group1-sha1"],
            &["aes128-ctr"],
            &["hmac-sha2-256"],
        );
        let s = ki(&["curve25519-sha256"], &["aes128-ctr"], &["hmac-sha2-256"]);
        assert_eq!(
            negotiate(&c, &s, true),
            Err(Error::Peer(Violation::NoCommonAlgorithm("kex")))
        );
        let c = ki(&["curve25519-sha256"], &["3des-cbc"], &["hmac-sha2-256"]);
        assert_eq!(
            negotiate(&c, &s, true),
            Err(Error::Peer(Violation::NoCommonAlgorithm("cipher")))
        );
    }
}
