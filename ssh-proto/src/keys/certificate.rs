//! OpenSSH certificates (PROTOCOL.certkeys): parsing, the CA signature, and the checks
//! a server makes before a certificate may log a user in.

use std::fmt;
use std::net::IpAddr;

use bytes::{Bytes, BytesMut};

use super::address::address_in_cidr_list;
use super::public::PublicKey;
use crate::config::KeyPolicy;
use crate::error::DecodeError;
use crate::wire::{Reader, Writer};

const CERT_SUFFIX: &str = "-cert-v01@openssh.com";
/// Most principals a certificate may list (OpenSSH's limit too).
const MAX_PRINCIPALS: usize = 256;
/// Most critical options, and most extensions, a certificate may carry.
const MAX_OPTIONS: usize = 64;

/// Whether a certificate identifies a user or a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateType {
    /// SSH_CERT_TYPE_USER (1).
    User,
    /// SSH_CERT_TYPE_HOST (2).
    Host,
}

/// The extensions a user certificate grants, typed (unknown ones are listed by name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateExtensions {
    /// permit-X11-forwarding
    pub permit_x11_forwarding: bool,
    /// permit-agent-forwarding
    pub permit_agent_forwarding: bool,
    /// permit-port-forwarding
    pub permit_port_forwarding: bool,
    /// permit-pty
    pub permit_pty: bool,
    /// permit-user-rc
    pub permit_user_rc: bool,
    /// no-touch-required (security keys need not assert user presence)
    pub no_touch_required: bool,
    /// Names of extensions this build does not know (they grant nothing).
    pub unknown: Vec<String>,
}

/// A parsed OpenSSH certificate. Built only by [`Certificate::from_blob`], so its CA
/// signature can always be checked against the bytes it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate's key type, e.g. `ssh-ed25519-cert-v01@openssh.com`.
    pub algorithm: String,
    /// The certified key, which signs for the certificate's holder.
    pub key: PublicKey,
    /// The CA's serial number (0 when the CA does not number its certificates).
    pub serial: u64,
    /// User or host certificate.
    pub cert_type: CertificateType,
    /// The CA's free-form identifier, for logs.
    pub key_id: String,
    /// User names (or host names) it is valid for; empty means any.
    pub principals: Vec<String>,
    /// Valid from this Unix time on.
    pub valid_after: u64,
    /// Valid before this Unix time.
    pub valid_before: u64,
    /// The `force-command` critical option.
    pub force_command: Option<String>,
    /// The `source-address` critical option (comma-separated CIDR list).
    pub source_address: Option<String>,
    /// Critical options this build does not know: their presence refuses the certificate.
    pub unknown_critical_options: Vec<String>,
    /// The extensions.
    pub extensions: CertificateExtensions,
    /// The CA key that signed it.
    pub ca_key: PublicKey,
    blob: Bytes,
    signed_len: usize,
    signature: Bytes,
}

/// Why a certificate does not authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateRefusal {
    /// A host certificate offered for user authentication, or the reverse.
    WrongType,
    /// The CA's signature does not verify (or its algorithm is not allowed).
    BadSignature,
    /// The CA is not one the server trusts.
    UntrustedCa,
    /// Outside the validity window at this time.
    Expired,
    /// No wall-clock time was given to the connection, so validity cannot be checked.
    NoClock,
    /// The login user is not among the principals (or the list is empty).
    PrincipalNotListed,
    /// The connection's address is not in `source-address` (or no address was given).
    SourceAddress,
    /// A critical option this build does not know.
    UnknownCriticalOption(String),
    /// The certificate, its key, its CA, serial or key id is revoked.
    Revoked,
}

impl fmt::Display for CertificateRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateRefusal::WrongType => f.write_str("certificate of the wrong type"),
            CertificateRefusal::BadSignature => f.write_str("the CA signature does not verify"),
            CertificateRefusal::UntrustedCa => f.write_str("the CA is not trusted"),
            CertificateRefusal::Expired => f.write_str("outside its validity period"),
            CertificateRefusal::NoClock => f.write_str("no wall-clock time to check validity"),
            CertificateRefusal::PrincipalNotListed => f.write_str("the user is not a principal"),
            CertificateRefusal::SourceAddress => f.write_str("the source address is not allowed"),
            CertificateRefusal::UnknownCriticalOption(o) => {
                write!(f, "unknown critical option {o}")
            }
            CertificateRefusal::Revoked => f.write_str("revoked"),
        }
    }
}

/// The plain key algorithm under a certificate algorithm name
/// (`ssh-ed25519-cert-v01@openssh.com` → `ssh-ed25519`; `rsa-sha2-512-cert-v01@...`
/// → `rsa-sha2-512`; `sk-ssh-ed25519-cert-v01@openssh.com` →
/// `sk-ssh-ed25519@openssh.com`). None when the name is not a certificate type.
pub(crate) fn base_algorithm(cert_alg: &str) -> Option<&'static str> {
    const BASES: &[&str] = &[
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-rsa",
        "rsa-sha2-256",
        "rsa-sha2-512",
        "ssh-dss",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    BASES
        .iter()
        .copied()
        .find(|b| cert_algorithm(b) == cert_alg)
}

/// The certificate algorithm name for a signature algorithm (the inverse of
/// [`base_algorithm`]).
pub(crate) fn cert_algorithm(sig_alg: &str) -> String {
    let stem = sig_alg.strip_suffix("@openssh.com").unwrap_or(sig_alg);
    format!("{stem}{CERT_SUFFIX}")
}

impl Certificate {
    /// Parse a certificate blob (as sent on the wire and stored after the type word in
    /// `*-cert.pub` files).
    pub fn from_blob(blob: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(blob);
        let algorithm = r.utf8()?.to_owned();
        let base = base_algorithm(&algorithm)
            .filter(|b| *b != "rsa-sha2-256" && *b != "rsa-sha2-512")
            .ok_or(DecodeError::Invalid("not a certificate key type"))?;
        let _nonce = r.string()?;
        let key = PublicKey::read_fields(base, &mut r)?.ok_or(DecodeError::Invalid(
            "certificate of an unsupported key type",
        ))?;
        let serial = r.u64()?;
        let cert_type = match r.u32()? {
            1 => CertificateType::User,
            2 => CertificateType::Host,
            _ => return Err(DecodeError::Invalid("unknown certificate type")),
        };
        let key_id = r.utf8()?.to_owned();
        let mut principals = Vec::new();
        let mut p = Reader::new(r.string()?);
        while p.remaining() > 0 {
            if principals.len() == MAX_PRINCIPALS {
                return Err(DecodeError::Invalid("too many certificate principals"));
            }
            principals.push(p.utf8()?.to_owned());
        }
        let valid_after = r.u64()?;
        let valid_before = r.u64()?;
        let mut force_command = None;
        let mut source_address = None;
        let mut unknown_critical_options = Vec::new();
        for (name, data) in options(r.string()?)? {
            let mut d = Reader::new(data);
            match name {
                "force-command" => {
                    force_command = Some(d.utf8()?.to_owned());
                    d.finish()?;
                }
                "source-address" => {
                    source_address = Some(d.utf8()?.to_owned());
                    d.finish()?;
                }
                other => unknown_critical_options.push(other.to_owned()),
            }
        }
        let mut extensions = CertificateExtensions::default();
        for (name, _) in options(r.string()?)? {
            let flag = match name {
                "permit-X11-forwarding" => &mut extensions.permit_x11_forwarding,
                "permit-agent-forwarding" => &mut extensions.permit_agent_forwarding,
                "permit-port-forwarding" => &mut extensions.permit_port_forwarding,
                "permit-pty" => &mut extensions.permit_pty,
                "permit-user-rc" => &mut extensions.permit_user_rc,
                "no-touch-required" => &mut extensions.no_touch_required,
                other => {
                    extensions.unknown.push(other.to_owned());
                    continue;
                }
            };
            *flag = true;
        }
        let _reserved = r.string()?;
        let ca_key = PublicKey::from_blob(r.string()?)?;
        if base_algorithm(ca_key.algorithm()).is_some() {
            return Err(DecodeError::Invalid(
                "chained certificates are not supported",
            ));
        }
        let signed_len = blob.len() - r.remaining();
        let signature = Bytes::copy_from_slice(r.string()?);
        r.finish()?;
        Ok(Certificate {
            algorithm,
            key,
            serial,
            cert_type,
            key_id,
            principals,
            valid_after,
            valid_before,
            force_command,
            source_address,
            unknown_critical_options,
            extensions,
            ca_key,
            blob: Bytes::copy_from_slice(blob),
            signed_len,
            signature,
        })
    }

    /// Parse one line of a `*-cert.pub` file (`ssh-ed25519-cert-v01@openssh.com AAAA...`).
    pub fn from_openssh(line: &str) -> Result<Self, DecodeError> {
        let mut words = line.split_whitespace();
        let (Some(alg), Some(data)) = (words.next(), words.next()) else {
            return Err(DecodeError::Invalid("not a certificate line"));
        };
        let blob = super::fingerprint::base64_decode(data)
            .ok_or(DecodeError::Invalid("certificate is not base64"))?;
        let cert = Self::from_blob(&blob)?;
        if cert.algorithm != alg {
            return Err(DecodeError::Invalid("certificate line names another type"));
        }
        Ok(cert)
    }

    /// The whole certificate blob.
    pub fn to_blob(&self) -> Bytes {
        self.blob.clone()
    }

    /// Whether the CA's signature over the certificate verifies under `policy` (its
    /// algorithms and RSA minimum apply to the CA key).
    pub fn signature_verifies(&self, policy: &KeyPolicy) -> bool {
        let mut r = Reader::new(&self.signature);
        let Ok(alg) = r.utf8() else {
            return false;
        };
        policy.refusal(&self.ca_key, alg).is_none()
            && self
                .ca_key
                .verify(alg, &self.blob[..self.signed_len], &self.signature)
    }

    /// Whether `unix_time` is inside `[valid_after, valid_before)`.
    pub fn valid_at(&self, unix_time: u64) -> bool {
        self.valid_after <= unix_time && unix_time < self.valid_before
    }

    /// The checks of a user certificate that do not depend on which CAs are trusted:
    /// type, CA signature, validity at `unix_time`, critical options (unknown ones
    /// refuse; `source-address` is checked against `peer`) and, when `user` is given,
    /// that the user is a listed principal.
    pub fn check_user(
        &self,
        policy: &KeyPolicy,
        unix_time: Option<u64>,
        peer: Option<IpAddr>,
        user: Option<&str>,
    ) -> Result<(), CertificateRefusal> {
        if self.cert_type != CertificateType::User {
            return Err(CertificateRefusal::WrongType);
        }
        if !self.signature_verifies(policy) {
            return Err(CertificateRefusal::BadSignature);
        }
        let now = unix_time.ok_or(CertificateRefusal::NoClock)?;
        if !self.valid_at(now) {
            return Err(CertificateRefusal::Expired);
        }
        if let Some(o) = self.unknown_critical_options.first() {
            return Err(CertificateRefusal::UnknownCriticalOption(o.clone()));
        }
        if let Some(list) = &self.source_address {
            let allowed = peer.and_then(|a| address_in_cidr_list(list, a));
            if allowed != Some(true) {
                return Err(CertificateRefusal::SourceAddress);
            }
        }
        if let Some(user) = user {
            if !self.principals.iter().any(|p| p == user) {
                return Err(CertificateRefusal::PrincipalNotListed);
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("algorithm", &self.algorithm)
            .field("key", &self.key)
            .field("serial", &self.serial)
            .field("type", &self.cert_type)
            .field("key_id", &self.key_id)
            .field("principals", &self.principals)
            .field("valid", &(self.valid_after..self.valid_before))
            .field("ca", &self.ca_key.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The (name, data) tuples of a critical-options or extensions field: at most
/// `MAX_OPTIONS`, and a name twice is an error (so a hostile field costs linear time
/// before any signature is checked).
fn options(field: &[u8]) -> Result<Vec<(&str, &[u8])>, DecodeError> {
    let mut r = Reader::new(field);
    let mut out: Vec<(&str, &[u8])> = Vec::new();
    while r.remaining() > 0 {
        if out.len() == MAX_OPTIONS {
            return Err(DecodeError::Invalid("too many certificate options"));
        }
        let name = r.utf8()?;
        let data = r.string()?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(DecodeError::Invalid("certificate option given twice"));
        }
        out.push((name, data));
    }
    Ok(out)
}

/// Builds certificates: for tests, fuzzing and tools that act as a CA.
#[derive(Debug, Clone)]
pub struct CertificateBuilder {
    /// The key to certify.
    pub key: PublicKey,
    /// Serial number.
    pub serial: u64,
    /// User or host.
    pub cert_type: CertificateType,
    /// Key id.
    pub key_id: String,
    /// Principals.
    pub principals: Vec<String>,
    /// Valid from.
    pub valid_after: u64,
    /// Valid before.
    pub valid_before: u64,
    /// Critical options as (name, data) with data already encoded (sorted on build).
    pub critical_options: Vec<(String, Bytes)>,
    /// Extension names (sorted on build).
    pub extensions: Vec<String>,
}

impl CertificateBuilder {
    /// A user certificate for `key` valid for `principals` over `[after, before)`, with
    /// OpenSSH's default extensions (`ssh-keygen -s` grants pty, port, agent and X11
    /// forwarding and user rc).
    pub fn user(key: PublicKey, principals: &[&str], after: u64, before: u64) -> Self {
        CertificateBuilder {
            key,
            serial: 0,
            cert_type: CertificateType::User,
            key_id: String::new(),
            principals: principals.iter().map(|p| p.to_string()).collect(),
            valid_after: after,
            valid_before: before,
            critical_options: Vec::new(),
            extensions: [
                "permit-X11-forwarding",
                "permit-agent-forwarding",
                "permit-port-forwarding",
                "permit-pty",
                "permit-user-rc",
            ]
            .iter()
            .map(|e| e.to_string())
            .collect(),
        }
    }

    /// A critical option whose data is one string (force-command, source-address).
    pub fn critical_string(mut self, name: &str, value: &str) -> Self {
        let mut d = BytesMut::new();
        Writer::new(&mut d).utf8(value);
        self.critical_options.push((name.to_owned(), d.freeze()));
        self
    }

    /// Sign with `ca` under `sig_alg`, giving the certificate.
    pub fn sign(
        &self,
        ca: &super::PrivateKey,
        sig_alg: &str,
        nonce: &[u8],
    ) -> Result<Certificate, crate::error::ConfigError> {
        let mut b = BytesMut::new();
        let mut w = Writer::new(&mut b);
        w.utf8(&cert_algorithm(self.key.algorithm())).string(nonce);
        self.key.write_fields(&mut w);
        w.u64(self.serial)
            .u32(match self.cert_type {
                CertificateType::User => 1,
                CertificateType::Host => 2,
            })
            .utf8(&self.key_id);
        let mut p = BytesMut::new();
        for name in &self.principals {
            Writer::new(&mut p).utf8(name);
        }
        let mut crit = self.critical_options.clone();
        crit.sort();
        let mut c = BytesMut::new();
        for (n, d) in &crit {
            Writer::new(&mut c).utf8(n).string(d);
        }
        let mut ext = self.extensions.clone();
        ext.sort();
        let mut e = BytesMut::new();
        for n in &ext {
            Writer::new(&mut e).utf8(n).string(b"");
        }
        let mut w = Writer::new(&mut b);
        w.string(&p)
            .u64(self.valid_after)
            .u64(self.valid_before)
            .string(&c)
            .string(&e)
            .string(b"")
            .string(&ca.public_key().to_blob());
        let sig = ca.sign(sig_alg, &b)?;
        Writer::new(&mut b).string(&sig);
        Certificate::from_blob(&b)
            .map_err(|_| crate::error::ConfigError("built an invalid certificate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::SeededRng;
    use crate::keys::{KeyKind, PrivateKey};

    fn ca() -> PrivateKey {
        PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(40)).unwrap()
    }

    fn user_key() -> PrivateKey {
        PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(41)).unwrap()
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_signed_certificate_round_trips_and_passes_its_checks() {
        let b = CertificateBuilder::user(
            user_key().public_key().clone(),
            &["alice", "ops"],
            NOW - 60,
            NOW + 60,
        )
        .critical_string("force-command", "uptime");
        let cert = b.sign(&ca(), "ssh-ed25519", b"nonce").unwrap();
        assert_eq!(cert.algorithm, "ssh-ed25519-cert-v01@openssh.com");
        assert_eq!(cert.force_command.as_deref(), Some("uptime"));
        assert!(cert.extensions.permit_pty && !cert.extensions.no_touch_required);
        let back = Certificate::from_blob(&cert.to_blob()).unwrap();
        assert_eq!(back, cert);
        let p = KeyPolicy::default();
        assert_eq!(cert.check_user(&p, Some(NOW), None, Some("alice")), Ok(()));
        assert_eq!(
            cert.check_user(&p, Some(NOW), None, Some("bob")),
            Err(CertificateRefusal::PrincipalNotListed)
        );
        assert_eq!(
            cert.check_user(&p, Some(NOW + 60), None, Some("alice")),
            Err(CertificateRefusal::Expired)
        );
        assert_eq!(
            cert.check_user(&p, Some(NOW - 61), None, Some("alice")),
            Err(CertificateRefusal::Expired)
        );
        assert_eq!(
            cert.check_user(&p, None, None, Some("alice")),
            Err(CertificateRefusal::NoClock)
        );
    }

    #[test]
    fn tampering_swapped_cas_and_unknown_options_are_refused() {
        let b = CertificateBuilder::user(user_key().public_key().clone(), &["alice"], 0, u64::MAX);
        let cert = b.sign(&ca(), "ssh-ed25519", b"n").unwrap();
        let p = KeyPolicy::default();
        // Flip a byte inside the key id region of the signed part: the CA signature fails.
        let mut blob = cert.to_blob().to_vec();
        let at = blob.windows(5).position(|w| w == b"alice").unwrap();
        blob[at] = b'b';
        let forged = Certificate::from_blob(&blob).unwrap();
        assert_eq!(
            forged.check_user(&p, Some(NOW), None, Some("blice")),
            Err(CertificateRefusal::BadSignature)
        );
        // Another CA's key put in place of the signer's.
        let other = PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(9)).unwrap();
        let mut blob = cert.to_blob().to_vec();
        let ca_blob = ca().public_key().to_blob();
        let at = blob
            .windows(ca_blob.len())
            .position(|w| w == &ca_blob[..])
            .unwrap();
        blob[at..at + ca_blob.len()].copy_from_slice(&other.public_key().to_blob());
        let swapped = Certificate::from_blob(&blob).unwrap();
        assert!(!swapped.signature_verifies(&p));
        // Unknown critical options refuse; unknown extensions do not.
        let odd = b
            .clone()
            .critical_string("verify-required", "")
            .sign(&ca(), "ssh-ed25519", b"n")
            .unwrap();
        assert_eq!(
            odd.check_user(&p, Some(NOW), None, Some("alice")),
            Err(CertificateRefusal::UnknownCriticalOption(
                "verify-required".into()
            ))
        );
        let mut ext = b.clone();
        ext.extensions.push("x-custom@example.com".into());
        let ext = ext.sign(&ca(), "ssh-ed25519", b"n").unwrap();
        assert_eq!(ext.extensions.unknown, ["x-custom@example.com"]);
        assert_eq!(ext.check_user(&p, Some(NOW), None, Some("alice")), Ok(()));
    }

    #[test]
    fn source_address_is_enforced_and_needs_an_address() {
        let cert =
            CertificateBuilder::user(user_key().public_key().clone(), &["alice"], 0, u64::MAX)
                .critical_string("source-address", "10.0.0.0/8,::1")
                .sign(&ca(), "ssh-ed25519", b"n")
                .unwrap();
        let p = KeyPolicy::default();
        let check = |a: Option<&str>| {
            cert.check_user(&p, Some(NOW), a.map(|a| a.parse().unwrap()), Some("alice"))
        };
        assert_eq!(check(Some("10.1.2.3")), Ok(()));
        assert_eq!(check(Some("::1")), Ok(()));
        assert_eq!(
            check(Some("192.168.1.1")),
            Err(CertificateRefusal::SourceAddress)
        );
        assert_eq!(check(None), Err(CertificateRefusal::SourceAddress));
    }

    #[test]
    fn every_key_type_is_certified_by_every_ca_type() {
        let rng = SeededRng::new(5);
        let kinds = [
            KeyKind::Ed25519,
            KeyKind::EcdsaP256,
            KeyKind::EcdsaP521,
            KeyKind::Rsa(2048),
        ];
        for ca_kind in kinds {
            let ca = PrivateKey::generate(ca_kind, &rng).unwrap();
            for kind in kinds {
                let k = PrivateKey::generate(kind, &rng).unwrap();
                let alg = ca.signature_algorithms()[0];
                let cert = CertificateBuilder::user(k.public_key().clone(), &["u"], 0, u64::MAX)
                    .sign(&ca, alg, b"nonce")
                    .unwrap();
                assert_eq!(
                    base_algorithm(&cert.algorithm),
                    Some(k.public_key().algorithm())
                );
                assert_eq!(&cert.key, k.public_key());
                assert_eq!(
                    cert.check_user(&KeyPolicy::default(), Some(1), None, Some("u")),
                    Ok(())
                );
            }
        }
    }

    #[test]
    fn malformed_certificates_are_errors() {
        let cert = CertificateBuilder::user(user_key().public_key().clone(), &["a"], 0, 9)
            .sign(&ca(), "ssh-ed25519", b"n")
            .unwrap();
        let blob = cert.to_blob();
        for n in 0..blob.len() {
            assert!(
                Certificate::from_blob(&blob[..n]).is_err(),
                "truncated at {n}"
            );
        }
        let mut long = blob.to_vec();
        long.push(0);
        assert!(Certificate::from_blob(&long).is_err());
        assert!(Certificate::from_blob(&user_key().public_key().to_blob()).is_err());
        // Too many principals or extensions: refused before any signature work.
        let many: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let crowd = CertificateBuilder::user(user_key().public_key().clone(), &refs, 0, 9);
        assert!(crowd.sign(&ca(), "ssh-ed25519", b"n").is_err());
        let mut ext = CertificateBuilder::user(user_key().public_key().clone(), &["a"], 0, 9);
        ext.extensions = (0..100).map(|i| format!("x{i}@example.com")).collect();
        assert!(ext.sign(&ca(), "ssh-ed25519", b"n").is_err());
        // The same option twice.
        let twice = CertificateBuilder::user(user_key().public_key().clone(), &["a"], 0, 9)
            .critical_string("force-command", "a")
            .critical_string("force-command", "b");
        assert!(twice.sign(&ca(), "ssh-ed25519", b"n").is_err());
    }
}
