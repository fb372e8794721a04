//! Keys: public key blobs and signature checks, private keys that sign, OpenSSH and PEM
//! key files, OpenSSH certificates and revocation, authorized_keys, fingerprints.

mod address;
mod authorized;
mod certificate;
mod der;
mod files;
mod fingerprint;
mod private;
mod public;
mod revoked;

pub use authorized::{
    parse_authorized_keys, AuthorizedKey, AuthorizedKeys, KeyOptions, SkippedLine,
};
pub(crate) use certificate::{base_algorithm, cert_algorithm};
pub use certificate::{
    Certificate, CertificateBuilder, CertificateExtensions, CertificateRefusal, CertificateType,
};
pub use private::{KeyKind, PrivateKey};
pub use public::{PublicKey, SecurityKeySignature, Verified};
pub use revoked::{RevokedKeys, RevokedLineError};

/// Signature algorithms the core can verify for publickey authentication, strongest
/// first. `ssh-rsa` (SHA-1) is among them but off unless the configuration allows it.
pub(crate) const VERIFIABLE_SIGNATURE_ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
    #[cfg(feature = "legacy")]
    "ssh-dss",
];
