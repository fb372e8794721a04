//! User authentication (RFC 4252): the server and client state machines.

mod client;
pub(crate) mod server;

pub(crate) use client::ClientAuth;
pub(crate) use server::ServerAuth;

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::keys::{Certificate, PublicKey, SecurityKeySignature};
use crate::secret::SecretString;
use crate::wire::codes::USERAUTH_REQUEST;
use crate::wire::message::HOSTBOUND_METHOD;
use crate::wire::Writer;

/// Identifies one authentication request awaiting the application's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthRequestId(pub(crate) u64);

/// An authentication attempt for the application to decide on.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Pass to [`crate::ServerConnection::answer_auth`].
    pub id: AuthRequestId,
    /// The user name the client asks to log in as.
    pub user: String,
    /// The service to start after authentication (normally "ssh-connection").
    pub service: String,
    /// The method and its data.
    pub method: AuthMethod,
}

/// The method of an [`AuthRequest`] with what the client sent.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// "none": usually a probe for the method list; accept only for open servers.
    None,
    /// "password"
    Password {
        /// The password (zeroed on drop, masked in logs).
        password: SecretString,
        /// A new password, when the client asks to change it.
        new_password: Option<SecretString>,
    },
    /// "publickey"
    PublicKey {
        /// The key. When `verified` is true, the core has checked the client's signature
        /// over the session with exactly this key.
        key: PublicKey,
        /// The signature algorithm.
        algorithm: String,
        /// false: a query ("would you accept this key?"); accepting it only answers
        /// SSH_MSG_USERAUTH_PK_OK and never authenticates. true: a signed attempt.
        verified: bool,
        /// When the client logs in with an OpenSSH certificate: the certificate, which
        /// the core has checked (CA signature, validity, critical options,
        /// source-address, revocation; principals when its CA is a trusted one). `key`
        /// is then the certified key.
        certificate: Option<Box<CertificateLogin>>,
        /// For a security key (sk-*): the authenticator's flags and counter. The core
        /// has required user presence unless the policy leaves it to the application;
        /// the counter is the application's to track.
        security_key: Option<SecurityKeySignature>,
    },
}

/// The certificate of a publickey login and how far the core vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateLogin {
    /// The certificate (key id, serial, principals, CA key, options, extensions).
    pub certificate: Certificate,
    /// true: signed by a CA in `CertificatePolicy::trusted_user_cas` (and, unless the
    /// policy leaves principals to the application, the user is a principal). false:
    /// another CA; the application must check it against its own trust (for example
    /// `cert-authority` lines) and the principals itself.
    pub ca_trusted: bool,
}

/// What the connection knows about its peer that authentication checks need.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthContext {
    /// Wall-clock time now, in Unix seconds (None: not given to the connection).
    pub unix_time: Option<u64>,
    /// The peer's address (None: not given).
    pub peer: Option<std::net::IpAddr>,
    /// The blob of the host key this session's key exchange was signed with.
    pub host_key: Option<Bytes>,
    /// That key's host certificate, when the server has one.
    pub host_certificate: Option<Bytes>,
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::None => f.write_str("None"),
            AuthMethod::Password { new_password, .. } => write!(
                f,
                "Password(***{})",
                if new_password.is_some() {
                    ", change"
                } else {
                    ""
                }
            ),
            AuthMethod::PublicKey {
                key,
                algorithm,
                verified,
                certificate,
                security_key,
            } => {
                write!(f, "PublicKey({algorithm}, {key:?}, verified: {verified}")?;
                if let Some(sk) = security_key {
                    write!(f, ", flags {:#04x} counter {}", sk.flags, sk.counter)?;
                }
                if let Some(c) = certificate {
                    write!(
                        f,
                        ", certificate: id {:?} serial {} CA {} trusted: {}",
                        c.certificate.key_id,
                        c.certificate.serial,
                        c.certificate.ca_key.fingerprint(),
                        c.ca_trusted
                    )?;
                }
                f.write_str(")")
            }
        }
    }
}

impl AuthMethod {
    /// The method name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::Password { .. } => "password",
            AuthMethod::PublicKey { .. } => "publickey",
        }
    }
}

/// The application's answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthDecision {
    /// Accept (for a publickey query: the key is acceptable, PK_OK is sent).
    Accept,
    /// This method succeeded, but more are required (multi-factor): the client may
    /// continue with these methods.
    Partial {
        /// Methods that can continue.
        methods: Vec<String>,
    },
    /// Reject; the client may continue with the configured default methods.
    Reject,
    /// Reject; the client may continue with these methods.
    RejectWith {
        /// Methods that can continue.
        methods: Vec<String>,
    },
}

impl From<bool> for AuthDecision {
    /// `true` accepts, `false` rejects (with the configured method list).
    fn from(ok: bool) -> Self {
        if ok {
            AuthDecision::Accept
        } else {
            AuthDecision::Reject
        }
    }
}

/// The data a publickey signature covers (RFC 4252 §7), or with `host_key` the
/// publickey-hostbound-v00@openssh.com form, which binds it to the server's host key.
pub(crate) fn signed_data(
    session_id: &[u8],
    user: &str,
    service: &str,
    algorithm: &str,
    blob: &[u8],
    host_key: Option<&[u8]>,
) -> Bytes {
    let mut b = BytesMut::new();
    let mut w = Writer::new(&mut b);
    w.string(session_id)
        .u8(USERAUTH_REQUEST)
        .utf8(user)
        .utf8(service)
        .utf8(if host_key.is_some() {
            HOSTBOUND_METHOD
        } else {
            "publickey"
        })
        .bool(true)
        .utf8(algorithm)
        .string(blob);
    if let Some(h) = host_key {
        w.string(h);
    }
    b.freeze()
}
