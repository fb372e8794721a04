//! The client role: authentication requests, opening channels, and the dispatch of
//! server messages.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::core::Core;
use super::{ClientConnection, Connection, Dispatch};
use crate::auth::ClientAuth;
use crate::channel::{ChannelId, ChannelKind};
use crate::config::ClientConfig;
use crate::error::{CommandError, ConfigError, ConnectionError, Error, Violation};
use crate::event::Event;
use crate::keys::{Certificate, PrivateKey};
use crate::secret::SecretString;
use crate::transport::{RoleKeys, Transport, TransportEvent};
use crate::wire::codes::*;
use crate::wire::message::Message;

/// What only a client connection holds: its authentication state.
pub struct ClientRole {
    auth: ClientAuth,
}

#[allow(private_interfaces)] // sealed, see `connection::sealed`
impl Dispatch for ClientRole {
    fn dispatch(conn: &mut ClientConnection, now: Instant, payload: Bytes) -> Result<(), Error> {
        conn.dispatch(now, payload)
    }
    fn on_transport_events(conn: &mut ClientConnection) -> Result<(), Error> {
        conn.on_transport_events()
    }
    fn shrink(&mut self) {}
}

impl ClientConnection {
    /// A new connection; our identification line and KEXINIT are queued at once.
    pub fn new(config: Arc<ClientConfig>, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let transport = Transport::new(
            config.transport.clone(),
            RoleKeys::Client {
                policy: config.host_key_policy.clone(),
                host_key_algorithms: config.host_key_algorithms.clone(),
                min_rsa_bits: config.host_key_min_rsa_bits,
            },
            now,
        )
        .map_err(Error::into_config)?;
        Ok(Connection {
            core: Core::new(transport, false),
            role: ClientRole {
                auth: ClientAuth::default(),
            },
        })
    }

    /// The next instant `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.closed {
            None
        } else {
            self.core.transport.poll_timeout()
        }
    }

    /// Run timers due at `now` (nothing once the connection has ended).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if self.core.closed {
            return Ok(());
        }
        let r = self
            .core
            .transport
            .handle_timeout(now)
            .and_then(|_| self.core.after());
        r.map_err(|e| self.core.fail(e))
    }

    /// Whether authentication succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.role.auth.authenticated
    }

    /// The server-sig-algs the server announced, if any.
    pub fn server_sig_algs(&self) -> Option<&[String]> {
        self.core.transport.server_sig_algs()
    }

    fn send_auth(&mut self, m: Message) -> Result<(), Error> {
        self.core.check_open()?;
        if !self.core.transport.established() {
            return Err(Error::InvalidState("key exchange not finished"));
        }
        if self.role.auth.service_accepted {
            self.core.transport.send_msg(&m)
        } else {
            self.role.auth.held.push(m);
            Ok(())
        }
    }

    /// Try the "none" method.
    pub fn auth_none(&mut self, user: &str) -> Result<(), CommandError> {
        let m = self.role.auth.none(user);
        let r = self.send_auth(m);
        self.core.command(r)
    }

    /// Try a password.
    pub fn auth_password(&mut self, user: &str, password: &str) -> Result<(), CommandError> {
        let m = self.role.auth.password(user, SecretString::from(password));
        let r = self.send_auth(m);
        self.core.command(r)
    }

    /// Authenticate with a private key (signed directly, without a query), with the
    /// key's strongest signature algorithm.
    pub fn auth_publickey(&mut self, user: &str, key: &PrivateKey) -> Result<(), CommandError> {
        let alg = key.signature_algorithms().first().copied().unwrap_or("");
        self.auth_publickey_with(user, key, alg)
    }

    /// Authenticate with a private key signing with `algorithm` (one of its
    /// `signature_algorithms`).
    pub fn auth_publickey_with(
        &mut self,
        user: &str,
        key: &PrivateKey,
        algorithm: &str,
    ) -> Result<(), CommandError> {
        self.auth_signed(user, key, algorithm, None)
    }

    /// Authenticate with an OpenSSH certificate for `key`, signing with `algorithm`
    /// (one of the key's `signature_algorithms`).
    pub fn auth_certificate(
        &mut self,
        user: &str,
        key: &PrivateKey,
        certificate: &Certificate,
        algorithm: &str,
    ) -> Result<(), CommandError> {
        self.auth_signed(user, key, algorithm, Some(certificate))
    }

    fn auth_signed(
        &mut self,
        user: &str,
        key: &PrivateKey,
        algorithm: &str,
        certificate: Option<&Certificate>,
    ) -> Result<(), CommandError> {
        let r = self
            .core
            .transport
            .session_id()
            .map(<[u8]>::to_vec)
            .ok_or(Error::InvalidState("key exchange not finished"))
            .and_then(|sid| {
                self.role
                    .auth
                    .publickey(&sid, user, key, algorithm, certificate)
            })
            .and_then(|m| self.send_auth(m));
        self.core.command(r)
    }

    /// Open a session channel; `Event::ChannelOpened` follows.
    pub fn open_session(&mut self) -> Result<ChannelId, CommandError> {
        self.open_channel(&ChannelKind::Session)
    }

    /// Open a channel of any kind.
    pub fn open_channel(&mut self, kind: &ChannelKind) -> Result<ChannelId, CommandError> {
        let r = self.core.check_open().and_then(|()| {
            if !self.role.auth.authenticated {
                return Err(Error::InvalidState("not authenticated"));
            }
            self.core.channels.open(kind, &mut self.core.transport)
        });
        self.core.command(r)
    }

    fn on_transport_events(&mut self) -> Result<(), Error> {
        for e in self.core.drain_transport_events() {
            if let TransportEvent::KeysExchanged(_) = e {
                if !self.role.auth.service_requested {
                    self.role.auth.service_requested = true;
                    self.core.transport.send_msg(&Message::ServiceRequest {
                        name: "ssh-userauth".into(),
                    })?;
                }
            }
        }
        Ok(())
    }

    fn dispatch(&mut self, _now: Instant, payload: Bytes) -> Result<(), Error> {
        let Some(&code) = payload.first() else {
            return Err(Error::Peer(Violation::EmptyPayload));
        };
        let auth_phase = !self.role.auth.authenticated;
        match (code, auth_phase) {
            (SERVICE_ACCEPT, true)
                if self.role.auth.service_requested && !self.role.auth.service_accepted =>
            {
                self.role.auth.service_accepted = true;
                for m in std::mem::take(&mut self.role.auth.held) {
                    self.core.transport.send_msg(&m)?;
                }
                Ok(())
            }
            (USERAUTH_FAILURE | USERAUTH_SUCCESS | USERAUTH_BANNER | USERAUTH_PK_OK, true) => {
                match Message::decode(&payload)? {
                    Message::UserauthFailure {
                        methods,
                        partial_success,
                    } => self.core.events.push_back(Event::AuthFailure {
                        methods,
                        partial_success,
                    }),
                    Message::UserauthSuccess => {
                        self.role.auth.authenticated = true;
                        self.core.events.push_back(Event::Authenticated {
                            user: self.role.auth.user.clone().unwrap_or_default(),
                        });
                    }
                    Message::UserauthBanner { message, .. } => {
                        self.core.events.push_back(Event::AuthBanner(message))
                    }
                    _ => self.core.events.push_back(Event::AuthPkOk),
                }
                Ok(())
            }
            (80..=100, false) => {
                let m = Message::decode(&payload)?;
                self.core
                    .channels
                    .handle(m, &mut self.core.transport, &mut self.core.events)
            }
            (USERAUTH_BANNER, false) => Ok(()),
            (PONG, false) => {
                let mut r = crate::wire::Reader::from_bytes(&payload);
                r.u8()?;
                let data = r.string_bytes()?;
                self.core.events.push_back(Event::Pong { data });
                Ok(())
            }
            (0..=127, _) => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: if auth_phase {
                    "client authentication"
                } else {
                    "client connection"
                },
            })),
            _ => self.core.reply_unimplemented(),
        }
    }
}
