//! A revoked-keys list: keys, certificate serials and key ids that must not log in.
//! Read from a plain text file in the shape of `ssh-keygen -k`'s KRL specification
//! (binary KRL files are not read).

use std::collections::HashSet;

use bytes::Bytes;

use super::certificate::Certificate;
use super::public::PublicKey;

/// Keys, serials and key ids that are refused. A revoked CA key refuses every
/// certificate it signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedKeys {
    keys: HashSet<Bytes>,
    fingerprints: HashSet<String>,
    serials: Vec<(u64, u64)>,
    key_ids: HashSet<String>,
}

/// A line of a revoked-keys file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedLineError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl RevokedKeys {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse a list: one entry per line, `#` comments and blank lines ignored.
    /// Entries: an OpenSSH public key line (or `key: ` and one), `serial: N` or
    /// `serial: N-M` (certificate serials, whichever CA signed them), `id: KEYID`, and
    /// `sha256: SHA256:...` fingerprints. Lines that cannot be read are returned, not
    /// dropped silently: a revocation list that fails open is a hazard.
    pub fn parse(text: &str) -> (Self, Vec<RevokedLineError>) {
        let mut list = Self::default();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason| RevokedLineError {
                line: i + 1,
                reason,
            };
            let (tag, value) = match line.split_once(':') {
                Some((t, v)) if !t.contains(' ') => (t.trim().to_ascii_lowercase(), v.trim()),
                _ => ("key".to_owned(), line),
            };
            match tag.as_str() {
                "serial" => {
                    let range = match value.split_once('-') {
                        Some((a, b)) => a.trim().parse().ok().zip(b.trim().parse().ok()),
                        None => value.parse().ok().map(|v| (v, v)),
                    };
                    match range {
                        Some((a, b)) if a <= b => list.serials.push((a, b)),
                        _ => errors.push(err("bad serial or serial range")),
                    }
                }
                "id" => {
                    list.key_ids.insert(value.to_owned());
                }
                "sha256" => {
                    let fp = if value.starts_with("SHA256:") {
                        value.to_owned()
                    } else {
                        format!("SHA256:{value}")
                    };
                    list.fingerprints.insert(fp);
                }
                "key" => match PublicKey::from_openssh(value) {
                    Ok(k) => list.revoke_key(&k),
                    Err(_) => match Certificate::from_openssh(value) {
                        Ok(c) => list.revoke_key(&c.key),
                        Err(_) => errors.push(err("not a public key")),
                    },
                },
                _ => errors.push(err("unknown entry type")),
            }
        }
        (list, errors)
    }

    /// Revoke one key (a user key, a certified key, or a CA key).
    pub fn revoke_key(&mut self, key: &PublicKey) {
        self.keys.insert(key.to_blob());
    }

    /// Revoke certificate serials `first..=last`.
    pub fn revoke_serials(&mut self, first: u64, last: u64) {
        self.serials.push((first.min(last), first.max(last)));
    }

    /// Revoke certificates by key id.
    pub fn revoke_key_id(&mut self, id: &str) {
        self.key_ids.insert(id.to_owned());
    }

    /// Whether nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
            && self.fingerprints.is_empty()
            && self.serials.is_empty()
            && self.key_ids.is_empty()
    }

    /// Whether `key` itself is revoked.
    pub fn key_is_revoked(&self, key: &PublicKey) -> bool {
        // Encoding and hashing the key is skipped when there is nothing to match.
        (!self.keys.is_empty() && self.keys.contains(&key.to_blob()))
            || (!self.fingerprints.is_empty() && self.fingerprints.contains(&key.fingerprint()))
    }

    /// Whether a certificate is revoked: its key, its CA, its serial (serial 0 means
    /// "unnumbered" and is never matched by a range) or its key id.
    pub fn certificate_is_revoked(&self, cert: &Certificate) -> bool {
        self.key_is_revoked(&cert.key)
            || self.key_is_revoked(&cert.ca_key)
            || (cert.serial != 0
                && self
                    .serials
                    .iter()
                    .any(|(a, b)| (*a..=*b).contains(&cert.serial)))
            || self.key_ids.contains(&cert.key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::SeededRng;
    use crate::keys::{CertificateBuilder, KeyKind, PrivateKey};

    #[test]
    fn keys_serials_ids_and_cas_revoke() {
        let rng = SeededRng::new(8);
        let ca = PrivateKey::generate(KeyKind::Ed25519, &rng).unwrap();
        let user = PrivateKey::generate(KeyKind::Ed25519, &rng).unwrap();
        let other = PrivateKey::generate(KeyKind::Ed25519, &rng).unwrap();
        let mut b = CertificateBuilder::user(user.public_key().clone(), &["u"], 0, 9);
        b.serial = 42;
        b.key_id = "alice@corp".into();
        let cert = b.sign(&ca, "ssh-ed25519", b"n").unwrap();
        let none = RevokedKeys::new();
        assert!(!none.certificate_is_revoked(&cert) && none.is_empty());
        for text in [
            "serial: 40-45".to_string(),
            "serial: 42".to_string(),
            "id: alice@corp".to_string(),
            format!("# the CA\n{}", ca.public_key().to_openssh("ca")),
            format!("key: {}", user.public_key().to_openssh("")),
            format!("sha256: {}", user.public_key().fingerprint()),
        ] {
            let (list, errors) = RevokedKeys::parse(&text);
            assert!(errors.is_empty(), "{text}: {errors:?}");
            assert!(list.certificate_is_revoked(&cert), "{text}");
        }
        let (list, _) = RevokedKeys::parse("serial: 1-41\nid: bob\n");
        assert!(!list.certificate_is_revoked(&cert));
        let (list, _) = RevokedKeys::parse(&other.public_key().to_openssh(""));
        assert!(list.key_is_revoked(other.public_key()));
        assert!(!list.key_is_revoked(user.public_key()));
    }

    #[test]
    fn unreadable_lines_are_reported() {
        let (list, errors) = RevokedKeys::parse(
            "serial: 9-1\nserial: x\nbogus: 1\nssh-ed25519 !!!\n\n# c\nid: ok\n",
        );
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        assert!(!list.is_empty());
    }
}
