//! The server role: authentication answers, channel accept/reject, the upkeep timers,
//! and the dispatch of client messages.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tracing::info;

use super::core::Core;
use super::host_keys;
use super::{Connection, Dispatch, ServerConnection};
use crate::auth::server::AuthOutput;
use crate::auth::{AuthContext, AuthDecision, AuthRequestId, ServerAuth};
use crate::channel::{ChannelId, OpenFailure};
use crate::config::ServerConfig;
use crate::error::{CommandError, ConfigError, ConnectionError, Error, Violation};
use crate::event::Event;
use crate::transport::{RoleKeys, Transport};
use crate::upkeep::{Upkeep, UpkeepAction};
use crate::wire::codes::*;
use crate::wire::message::Message;

/// What only a server connection holds: its config, authentication and upkeep timers.
pub struct ServerRole {
    config: Arc<ServerConfig>,
    auth: ServerAuth,
    upkeep: Upkeep,
    peer: PeerContext,
}

/// What the adapter tells a server connection about its peer and the time of day:
/// certificate validity and `source-address` are checked against these (the core
/// reads no clock and opens no socket, so it only knows what it is given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerContext {
    /// The client's address.
    pub address: Option<std::net::IpAddr>,
    /// The wall-clock time at one instant, from which the time at any later instant
    /// follows (so a fake clock moves it too).
    pub wall_clock: Option<(Instant, std::time::SystemTime)>,
}

impl PeerContext {
    /// Unix seconds at `now`.
    fn unix_time(&self, now: Instant) -> Option<u64> {
        let (at, wall) = self.wall_clock?;
        let t = wall.checked_add(now.saturating_duration_since(at))?;
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }
}

#[allow(private_interfaces)] // sealed, see `connection::sealed`
impl Dispatch for ServerRole {
    fn dispatch(conn: &mut ServerConnection, now: Instant, payload: Bytes) -> Result<(), Error> {
        conn.dispatch(now, payload)
    }
    fn on_transport_events(conn: &mut ServerConnection) -> Result<(), Error> {
        conn.on_transport_events()
    }
    fn shrink(&mut self) {
        self.auth.shrink();
    }
}

impl ServerConnection {
    /// A new connection accepted at `now`. Our identification line and KEXINIT are
    /// queued for `poll_transmit` at once.
    pub fn new(config: Arc<ServerConfig>, now: Instant) -> Result<Self, ConfigError> {
        let transport = Transport::new(
            config.transport.clone(),
            RoleKeys::Server(config.clone()),
            now,
        )
        .map_err(Error::into_config)?;
        Ok(Connection {
            core: Core::new(transport, true),
            role: ServerRole {
                auth: ServerAuth::new(
                    config.auth_banner.clone(),
                    config.user_keys.clone(),
                    config.certificates.clone(),
                ),
                peer: PeerContext::default(),
                upkeep: Upkeep::new(config.upkeep(), now),
                config,
            },
        })
    }

    /// Tell the connection its peer's address and the time of day (see
    /// [`PeerContext`]); call before authentication starts.
    pub fn set_peer(&mut self, peer: PeerContext) {
        self.role.peer = peer;
    }

    /// The authenticated user, once authentication succeeded.
    pub fn user(&self) -> Option<&str> {
        self.role.auth.authenticated_user()
    }

    /// The next instant `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.closed {
            return None;
        }
        let authenticated = self.user().is_some();
        let stamp_activity = (self.core.app_active && self.role.config.idle_timeout.is_some())
            .then(|| self.core.transport.now());
        [
            stamp_activity,
            self.role.upkeep.poll_timeout(authenticated),
            self.core.transport.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Run timers due at `now` (nothing once the connection has ended).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if self.core.closed {
            return Ok(());
        }
        if std::mem::take(&mut self.core.app_active) {
            self.role.upkeep.active(now);
        }
        match self.role.upkeep.on_timeout(now, self.user().is_some()) {
            UpkeepAction::Nothing => {}
            UpkeepAction::SendKeepalive => {
                let r = self.core.channels.keepalive(&mut self.core.transport);
                r.map_err(|e| self.core.fail(e))?;
            }
            UpkeepAction::Close(e) => return Err(self.core.fail(e)),
        }
        let r = self
            .core
            .transport
            .handle_timeout(now)
            .and_then(|_| self.core.after());
        r.map_err(|e| self.core.fail(e))
    }

    /// Answer an `Event::AuthRequest`. Answers are sent in request order.
    pub fn answer_auth(
        &mut self,
        id: AuthRequestId,
        decision: AuthDecision,
    ) -> Result<(), CommandError> {
        let r = self.core.check_open().and_then(|()| {
            let mut out = Vec::new();
            let r = self.role.auth.answer(
                id,
                decision,
                &self.role.config.auth_methods,
                self.role.config.transport.limits.max_auth_attempts,
                &mut out,
            );
            // What the answer produced goes out even when it also ends the connection.
            self.apply_auth(out)?;
            r
        });
        self.core.command(r)
    }

    /// Accept a channel the peer asked to open.
    pub fn accept_channel(&mut self, id: ChannelId) -> Result<(), CommandError> {
        let core = &mut self.core;
        let r = core
            .check_open()
            .and_then(|()| core.channels.accept(id, &mut core.transport));
        self.core.command(r)
    }

    /// Refuse a channel the peer asked to open.
    pub fn reject_channel(
        &mut self,
        id: ChannelId,
        reason: OpenFailure,
        description: &str,
    ) -> Result<(), CommandError> {
        let core = &mut self.core;
        let r = core.check_open().and_then(|()| {
            core.channels
                .reject(id, reason, description, &mut core.transport)
        });
        self.core.command(r)
    }

    fn apply_auth(&mut self, out: Vec<AuthOutput>) -> Result<(), Error> {
        for o in out {
            match o {
                AuthOutput::Send(m) => self.core.transport.send_msg(&m)?,
                AuthOutput::Event(r) => self.core.events.push_back(Event::AuthRequest(r)),
                AuthOutput::Authenticated(user) => {
                    if self.core.transport.log_settings().info() {
                        info!(%user, "authenticated");
                    }
                    self.core.events.push_back(Event::Authenticated { user });
                    if self.role.config.announce_host_keys {
                        let m = host_keys::announcement(&self.role.config);
                        self.core.transport.send_msg(&m)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn on_transport_events(&mut self) -> Result<(), Error> {
        self.core.drain_transport_events();
        Ok(())
    }

    fn dispatch(&mut self, now: Instant, payload: Bytes) -> Result<(), Error> {
        let Some(&code) = payload.first() else {
            return Err(Error::Peer(Violation::EmptyPayload));
        };
        self.role.upkeep.heard(now);
        if counts_as_activity(code) {
            self.role.upkeep.active(now);
        }
        match code {
            SERVICE_REQUEST => {
                let Message::ServiceRequest { name } = Message::decode(&payload)? else {
                    return Err(Error::Peer(Violation::MalformedServiceRequest));
                };
                if name != "ssh-userauth" || self.user().is_some() {
                    return Err(Error::Peer(Violation::ServiceNotAvailable(name)));
                }
                self.role.auth.accept_service();
                self.core
                    .transport
                    .send_msg(&Message::ServiceAccept { name })
            }
            USERAUTH_REQUEST => {
                let msg = Message::decode(&payload);
                wipe(payload);
                let Message::UserauthRequest {
                    user,
                    service,
                    method,
                } = msg?
                else {
                    return Err(Error::Peer(Violation::MalformedUserauthRequest));
                };
                let sid = self
                    .core
                    .transport
                    .session_id()
                    .unwrap_or_default()
                    .to_vec();
                let mut out = Vec::new();
                let c = &self.role.config;
                let alg = self
                    .core
                    .transport
                    .negotiated()
                    .map(|n| n.host_key.as_str());
                let key = alg.and_then(|a| c.host_key_for(a));
                let ctx = AuthContext {
                    unix_time: self.role.peer.unix_time(now),
                    peer: self.role.peer.address,
                    host_key: key.map(|k| k.public_key().to_blob()),
                    host_certificate: key
                        .and_then(|k| c.host_certificate_of(k.public_key()))
                        .map(|cert| cert.to_blob()),
                };
                self.role
                    .auth
                    .on_request(&sid, user, service, method, ctx, &mut out)?;
                self.role.auth.flush(
                    &self.role.config.auth_methods,
                    self.role.config.transport.limits.max_auth_attempts,
                    &mut out,
                )?;
                self.apply_auth(out)
            }
            51..=79 => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "server authentication (client-only message)",
            })),
            80..=100 => {
                if self.user().is_none() {
                    return Err(Error::Peer(Violation::UnexpectedMessage {
                        msg: code,
                        state: "before authentication",
                    }));
                }
                let m = Message::decode(&payload)?;
                if let Message::GlobalRequest {
                    name,
                    want_reply,
                    data,
                } = &m
                {
                    if name == host_keys::PROVE && self.role.config.announce_host_keys {
                        let sid = self.core.transport.session_id().unwrap_or_default();
                        let alg = self
                            .core
                            .transport
                            .negotiated()
                            .map(|n| n.host_key.as_str())
                            .unwrap_or_default();
                        let answer = host_keys::prove(&self.role.config, sid, alg, data)?;
                        return match want_reply {
                            true => self.core.transport.send_msg(&answer),
                            false => Ok(()),
                        };
                    }
                }
                self.core
                    .channels
                    .handle(m, &mut self.core.transport, &mut self.core.events)
            }
            // OpenSSH's transport-level ping (ping@openssh.com, offered in ext-info):
            // answered with a pong carrying the same data, after authentication only.
            PING => {
                if self.user().is_none() {
                    return Ok(());
                }
                let mut r = crate::wire::Reader::from_bytes(&payload);
                r.u8()?;
                let data = r.string()?;
                let mut m = bytes::BytesMut::with_capacity(5 + data.len());
                crate::wire::Writer::new(&mut m).u8(PONG).string(data);
                self.core.transport.send(&m)
            }
            EXT_INFO | SERVICE_ACCEPT => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "server (message not sent by clients)",
            })),
            _ => self.core.reply_unimplemented(),
        }
    }
}

/// Whether a message from the client keeps the connection from being idle: requests,
/// authentication and channel traffic do; transport chatter and replies to our
/// keepalives do not.
fn counts_as_activity(code: u8) -> bool {
    matches!(code, SERVICE_REQUEST | 50..=79 | 80 | 90..=100)
}

/// Zero a payload's bytes when we hold the only reference (passwords live there).
fn wipe(payload: Bytes) {
    if let Ok(mut m) = payload.try_into_mut() {
        zeroize::Zeroize::zeroize(&mut m[..]);
    }
}
