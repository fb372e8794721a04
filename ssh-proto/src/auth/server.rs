//! The server side of user authentication.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{
    signed_data, AuthContext, AuthDecision, AuthMethod, AuthRequest, AuthRequestId,
    CertificateLogin,
};
use tracing::debug;

use crate::config::{CertificatePolicy, KeyPolicy};
use crate::error::{Error, Violation};
use crate::keys::{base_algorithm, Certificate, PublicKey, Verified};
use crate::wire::message::{AuthMethodData, Message};

/// How many authentication requests may await decisions at once.
const MAX_PENDING: usize = 8;

#[derive(Debug)]
enum Kind {
    /// A publickey query: Accept answers PK_OK.
    Query { algorithm: String, blob: Bytes },
    /// An attempt that can authenticate.
    Attempt,
    /// A "none" probe (not counted as a failure).
    Probe,
}

#[derive(Debug)]
struct Pending {
    id: AuthRequestId,
    user: String,
    kind: Kind,
    decision: Option<AuthDecision>,
}

/// What the server's auth layer wants the connection to do.
#[derive(Debug)]
pub(crate) enum AuthOutput {
    Send(Message),
    Event(AuthRequest),
    Authenticated(String),
}

#[derive(Debug, Default)]
pub(crate) struct ServerAuth {
    service_accepted: bool,
    user: Option<String>,
    failures: u32,
    banner: Option<String>,
    pending: VecDeque<Pending>,
    next_id: u64,
    keys: KeyPolicy,
    certs: CertificatePolicy,
}

/// A key that passed the checks made before the application sees it.
type CheckedKey = (PublicKey, Option<Box<CertificateLogin>>);

impl ServerAuth {
    pub(crate) fn new(banner: Option<String>, keys: KeyPolicy, certs: CertificatePolicy) -> Self {
        ServerAuth {
            banner,
            keys,
            certs,
            ..Default::default()
        }
    }

    /// Whether a security-key signature's flags satisfy the policy: user presence is
    /// required unless the policy leaves it to the application or the certificate's
    /// no-touch-required extension waives it.
    fn presence_ok(&self, v: &Verified, cert: Option<&CertificateLogin>) -> bool {
        let Some(sk) = v.security_key else {
            return true;
        };
        sk.user_present()
            || !self.keys.require_user_presence
            || cert.is_some_and(|c| c.ca_trusted && c.certificate.extensions.no_touch_required)
    }

    /// `check_key`, after checking that a host-bound request names the host key this
    /// session was signed with.
    fn checked(
        &self,
        user: &str,
        algorithm: &str,
        blob: &[u8],
        host_key: &Option<Bytes>,
        ctx: &AuthContext,
    ) -> Result<CheckedKey, String> {
        if host_key.is_some() && *host_key != ctx.host_key && *host_key != ctx.host_certificate {
            return Err("host-bound request names another host key".into());
        }
        self.check_key(user, algorithm, blob, ctx)
    }

    /// The checks a publickey request's key passes before the application sees it:
    /// the signature-algorithm policy and RSA minimum, revocation, and for a
    /// certificate all its own checks. Err is the reason, for the log.
    fn check_key(
        &self,
        user: &str,
        algorithm: &str,
        blob: &[u8],
        ctx: &AuthContext,
    ) -> Result<CheckedKey, String> {
        let Some(sig_alg) = base_algorithm(algorithm) else {
            let key = PublicKey::from_blob(blob).map_err(|e| format!("malformed key: {e}"))?;
            if let Some(why) = self.keys.refusal(&key, algorithm) {
                return Err(why);
            }
            if self.certs.revoked.key_is_revoked(&key) {
                return Err("the key is revoked".into());
            }
            return Ok((key, None));
        };
        let cert =
            Certificate::from_blob(blob).map_err(|e| format!("malformed certificate: {e}"))?;
        if let Some(why) = self.keys.refusal(&cert.key, sig_alg) {
            return Err(why);
        }
        let trusted = self.certs.trusted_user_cas.contains(&cert.ca_key);
        if !trusted && !self.certs.untrusted_cas_to_application {
            return Err(format!(
                "certificate {:?}: CA {} is not trusted",
                cert.key_id,
                cert.ca_key.fingerprint()
            ));
        }
        let principal = (trusted && self.certs.require_user_principal).then_some(user);
        let ca_policy = KeyPolicy {
            signature_algorithms: self.certs.ca_signature_algorithms.clone(),
            ..self.keys.clone()
        };
        cert.check_user(&ca_policy, ctx.unix_time, ctx.peer, principal)
            .map_err(|r| format!("certificate {:?} serial {}: {r}", cert.key_id, cert.serial))?;
        if self.certs.revoked.certificate_is_revoked(&cert) {
            return Err(format!(
                "certificate {:?} serial {}: revoked",
                cert.key_id, cert.serial
            ));
        }
        Ok((
            cert.key.clone(),
            Some(Box::new(CertificateLogin {
                certificate: cert,
                ca_trusted: trusted,
            })),
        ))
    }

    /// Let go of the request queue's memory once it is empty.
    pub(crate) fn shrink(&mut self) {
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            self.pending = VecDeque::new();
        }
    }

    pub(crate) fn authenticated_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn accept_service(&mut self) {
        self.service_accepted = true;
    }

    /// Handle SSH_MSG_USERAUTH_REQUEST.
    pub(crate) fn on_request(
        &mut self,
        session_id: &[u8],
        user: String,
        service: String,
        method: AuthMethodData,
        ctx: AuthContext,
        out: &mut Vec<AuthOutput>,
    ) -> Result<(), Error> {
        if self.user.is_some() {
            // RFC 4252 §5.1: requests after success are ignored.
            return Ok(());
        }
        if !self.service_accepted {
            return Err(Error::Peer(Violation::UserauthBeforeService));
        }
        if service != "ssh-connection" {
            return Err(Error::Peer(Violation::ServiceNotAvailable(service)));
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(Error::LimitExceeded("pending authentication requests"));
        }
        let id = AuthRequestId(self.next_id);
        self.next_id += 1;
        let mut pending = Pending {
            id,
            user: user.clone(),
            kind: Kind::Attempt,
            decision: None,
        };
        let method = match method {
            AuthMethodData::None => {
                pending.kind = Kind::Probe;
                Some(AuthMethod::None)
            }
            AuthMethodData::Password {
                password,
                new_password,
            } => Some(AuthMethod::Password {
                password,
                new_password,
            }),
            AuthMethodData::PublicKey {
                algorithm,
                blob,
                host_key,
                signature,
            } => match (
                self.checked(&user, &algorithm, &blob, &host_key, &ctx),
                signature,
            ) {
                (Err(why), _) => {
                    debug!(user = %user, %algorithm, "public key refused: {why}");
                    None
                }
                (Ok((key, certificate)), None) => {
                    pending.kind = Kind::Query {
                        algorithm: algorithm.clone(),
                        blob,
                    };
                    Some(AuthMethod::PublicKey {
                        key,
                        algorithm,
                        verified: false,
                        certificate,
                        security_key: None,
                    })
                }
                (Ok((key, certificate)), Some(sig)) => {
                    let sig_alg = base_algorithm(&algorithm).unwrap_or(&algorithm);
                    let data = signed_data(
                        session_id,
                        &user,
                        &service,
                        &algorithm,
                        &blob,
                        host_key.as_deref(),
                    );
                    match key.verify_detailed(sig_alg, &data, &sig) {
                        None => {
                            debug!(user = %user, %algorithm, "public key signature does not verify");
                            None
                        }
                        Some(v) if !self.presence_ok(&v, certificate.as_deref()) => {
                            debug!(user = %user, %algorithm, "security key signature without user presence");
                            None
                        }
                        Some(v) => Some(AuthMethod::PublicKey {
                            key,
                            algorithm,
                            verified: true,
                            certificate,
                            security_key: v.security_key,
                        }),
                    }
                }
            },
            AuthMethodData::KeyboardInteractive { .. } | AuthMethodData::Other { .. } => {
                pending.kind = Kind::Probe;
                None
            }
        };
        match method {
            Some(method) => out.push(AuthOutput::Event(AuthRequest {
                id,
                user,
                service,
                method,
            })),
            None => pending.decision = Some(AuthDecision::Reject),
        }
        self.pending.push_back(pending);
        Ok(())
    }

    /// Record the application's decision and emit every answer now in order.
    pub(crate) fn answer(
        &mut self,
        id: AuthRequestId,
        decision: AuthDecision,
        default_methods: &[String],
        max_failures: u32,
        out: &mut Vec<AuthOutput>,
    ) -> Result<(), Error> {
        let p = self
            .pending
            .iter_mut()
            .find(|p| p.id == id && p.decision.is_none())
            .ok_or(Error::InvalidState(
                "no such pending authentication request",
            ))?;
        p.decision = Some(decision);
        self.flush(default_methods, max_failures, out)
    }

    /// Send answers for the oldest requests that have decisions.
    pub(crate) fn flush(
        &mut self,
        default_methods: &[String],
        max_failures: u32,
        out: &mut Vec<AuthOutput>,
    ) -> Result<(), Error> {
        while self.pending.front().is_some_and(|p| p.decision.is_some()) {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let Some(decision) = p.decision else { break };
            if let Some(b) = self.banner.take() {
                out.push(AuthOutput::Send(Message::UserauthBanner {
                    message: b,
                    language: String::new(),
                }));
            }
            let failure = |methods: &[String], partial_success| {
                AuthOutput::Send(Message::UserauthFailure {
                    methods: methods.to_vec(),
                    partial_success,
                })
            };
            match (p.kind, decision) {
                (
                    Kind::Query { algorithm, blob },
                    AuthDecision::Accept | AuthDecision::Partial { .. },
                ) => {
                    out.push(AuthOutput::Send(Message::UserauthPkOk { algorithm, blob }));
                }
                (Kind::Attempt | Kind::Probe, AuthDecision::Accept) => {
                    out.push(AuthOutput::Send(Message::UserauthSuccess));
                    out.push(AuthOutput::Authenticated(p.user.clone()));
                    self.user = Some(p.user);
                    self.pending.clear();
                    return Ok(());
                }
                (Kind::Attempt | Kind::Probe, AuthDecision::Partial { methods }) => {
                    out.push(failure(&methods, true));
                }
                (kind, reject) => {
                    let methods = match &reject {
                        AuthDecision::RejectWith { methods } => methods.as_slice(),
                        _ => default_methods,
                    };
                    out.push(failure(methods, false));
                    if matches!(kind, Kind::Attempt) {
                        self.failures += 1;
                        if self.failures >= max_failures {
                            return Err(Error::Peer(Violation::TooManyAuthFailures));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
