//! `ServerConnection` and `ClientConnection`: the five calls (handle_input, poll_event,
//! poll_transmit, poll_timeout, handle_timeout) and the application's commands.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tracing::info;

use crate::auth::server::AuthOutput;
use crate::auth::{AuthDecision, AuthRequestId, ClientAuth, ServerAuth};
use crate::channel::{
    ChannelId, ChannelKind, ChannelRequest, ChannelTable, DataStream, OpenFailure, WindowState,
};
use crate::config::{ClientConfig, ServerConfig};
use crate::error::{
    Class, CommandError, ConfigError, ConnectionError, DisconnectReason, Error, Violation,
};
use crate::event::Event;
use crate::keys::PrivateKey;
use crate::secret::SecretString;
use crate::transport::{RoleKeys, Transport, TransportEvent};
use crate::upkeep::{Upkeep, UpkeepAction};
use crate::wire::codes::*;
use crate::wire::message::Message;

/// What the output bound's error says.
const PENDING_OUTPUT: &str = "peer is not reading: pending output";

/// What both roles share: the transport, the channels, the event queue.
struct Core {
    transport: Transport,
    channels: ChannelTable,
    events: VecDeque<Event>,
    closed: bool,
    /// The application sent channel data since the timers last looked; with an idle
    /// timeout set, `poll_timeout` then asks to be called at once so the activity
    /// is stamped with the adapter's current time.
    app_active: bool,
}

impl Core {
    fn new(transport: Transport, accept_opens: bool) -> Self {
        let limits = *transport.limits();
        Core {
            transport,
            channels: ChannelTable::new(limits, accept_opens),
            events: VecDeque::new(),
            closed: false,
            app_active: false,
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// End the connection because of `e` (taken as fatal whatever its kind): send
    /// DISCONNECT (unless the peer sent one) and report it. Returns what ended it.
    fn fail(&mut self, e: Error) -> ConnectionError {
        let e = e.into_fatal();
        self.end(&e);
        e
    }

    /// The one classification of a command's outcome: a refusal leaves the connection
    /// as it is, anything else ends it and says so.
    fn command<T>(&mut self, r: Result<T, Error>) -> Result<T, CommandError> {
        match r {
            // A command may queue output too (raw packets, replies): the bound holds
            // for it as for input.
            Ok(_) if !self.closed && self.over_output_bound() => {
                let f = ConnectionError::LimitExceeded(PENDING_OUTPUT);
                self.end(&f);
                Err(CommandError::Ended(f))
            }
            Ok(v) => Ok(v),
            Err(e) => match e.classify() {
                Class::Command(c) => Err(c),
                Class::Fatal(f) => {
                    self.end(&f);
                    Err(CommandError::Ended(f))
                }
            },
        }
    }

    fn end(&mut self, e: &ConnectionError) {
        if self.closed {
            return;
        }
        let (by_peer, description) = match e {
            ConnectionError::PeerDisconnected { description, .. } => (true, description.clone()),
            other => (false, other.to_string()),
        };
        let log = self.transport.log_settings().info();
        if !by_peer {
            if log {
                info!(error = %e, "closing connection");
            }
            self.transport
                .disconnect(e.disconnect_reason(), &description);
        } else if log {
            info!(%description, "peer disconnected");
        }
        self.closed = true;
        self.events.push_back(Event::Disconnected {
            reason: e.disconnect_reason(),
            description,
            by_peer,
            error: Some(e.clone()),
        });
    }

    fn disconnect(&mut self, reason: DisconnectReason, description: &str) {
        if self.closed {
            return;
        }
        if self.transport.log_settings().info() {
            info!(?reason, %description, "disconnecting");
        }
        self.transport.disconnect(reason, description);
        self.closed = true;
        self.events.push_back(Event::Disconnected {
            reason,
            description: description.into(),
            by_peer: false,
            error: None,
        });
    }

    fn drain_transport_events(&mut self) -> Vec<TransportEvent> {
        let mut v = Vec::new();
        while let Some(e) = self.transport.poll_event() {
            match e {
                TransportEvent::KeysExchanged(n) => {
                    if self.transport.log_settings().info() {
                        info!(
                            kex = n.kex.name(),
                            cipher = n.cipher_s2c.name(),
                            strict = n.strict_kex,
                            "keys exchanged"
                        );
                    }
                    self.events.push_back(Event::KeysExchanged(n.clone()));
                    v.push(TransportEvent::KeysExchanged(n));
                }
                TransportEvent::ServerHostKey(k) => self.events.push_back(Event::ServerHostKey(k)),
                TransportEvent::Debug(m) => self.events.push_back(Event::PeerDebug(m)),
            }
        }
        v
    }

    /// Shared tail of every entry point: move buffered channel data and enforce the
    /// output bound.
    fn after(&mut self) -> Result<(), Error> {
        if self.closed {
            return Ok(());
        }
        self.channels
            .flush_all(&mut self.transport, &mut self.events)?;
        if self.over_output_bound() {
            return Err(Error::LimitExceeded(PENDING_OUTPUT));
        }
        Ok(())
    }

    fn over_output_bound(&self) -> bool {
        self.transport.pending_output() > self.transport.limits().max_pending_output
    }

    fn poll_transmit(&mut self) -> Option<Bytes> {
        let out = self.transport.poll_transmit();
        if out.is_some() && !self.closed {
            // Room freed: let buffered channel data follow in the next chunk.
            if let Err(e) = self
                .channels
                .flush_all(&mut self.transport, &mut self.events)
            {
                self.fail(e);
            }
        }
        out
    }

    fn reply_unimplemented(&mut self) -> Result<(), Error> {
        let seq = self.transport.last_seq();
        self.transport.send_msg(&Message::Unimplemented { seq })
    }
}

/// A short-lived handle for one channel's commands, from `conn.channel(id)`.
pub struct Channel<'a> {
    core: &'a mut Core,
    id: ChannelId,
}

impl Channel<'_> {
    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Core, ChannelId) -> Result<T, Error>,
    ) -> Result<T, CommandError> {
        let r = self.core.check_open().and_then(|()| f(self.core, self.id));
        self.core.command(r)
    }

    /// Send data; returns how many bytes the window and send buffer accepted. When it is
    /// less than offered, an `Event::ChannelWritable` follows once more fits.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, CommandError> {
        self.send_stream(DataStream::Normal, data)
    }

    /// Send extended data type 1 (stderr).
    pub fn send_stderr(&mut self, data: &[u8]) -> Result<usize, CommandError> {
        self.send_stream(DataStream::Stderr, data)
    }

    /// Send on a given stream.
    pub fn send_stream(&mut self, stream: DataStream, data: &[u8]) -> Result<usize, CommandError> {
        let n = self.run(|c, id| c.channels.send(id, stream, data, &mut c.transport))?;
        self.core.app_active |= n > 0;
        Ok(n)
    }

    /// Send on a given stream only what goes out as packets at once (the peer's window
    /// and the output high-water mark allow it); nothing is copied into the channel's
    /// send buffer. For callers that keep their own buffer and offer the rest again
    /// after the next [`ServerConnection::poll_transmit`] or window adjust; an
    /// `Event::ChannelWritable` follows when less than offered was taken.
    pub fn send_now(&mut self, stream: DataStream, data: &[u8]) -> Result<usize, CommandError> {
        self.send_now_parts(stream, &[data])
    }

    /// As [`Channel::send_now`] for several runs of bytes taken as one sequence: small
    /// runs are packed together into packets of up to the peer's maximum size, and
    /// each byte is copied once, into its packet. Returns the bytes taken, counted
    /// across the runs in order.
    pub fn send_now_parts(
        &mut self,
        stream: DataStream,
        parts: &[&[u8]],
    ) -> Result<usize, CommandError> {
        let n = self.run(|c, id| c.channels.send_parts(id, stream, parts, &mut c.transport))?;
        self.core.app_active |= n > 0;
        Ok(n)
    }

    /// Report `n` bytes of delivered data as processed: the receive window reopens.
    /// After the channel has closed this is a no-op.
    pub fn consume(&mut self, n: usize) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.consume(id, n, &mut c.transport))
    }

    /// Answer the oldest request on this channel that wanted a reply.
    pub fn reply(&mut self, success: bool) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.reply(id, success, &mut c.transport))
    }

    /// Send a channel request (after any data already accepted).
    pub fn request(&mut self, req: &ChannelRequest, want_reply: bool) -> Result<(), CommandError> {
        self.run(|c, id| {
            c.channels
                .request(id, req, want_reply, &mut c.transport, &mut c.events)
        })
    }

    /// Report a process's exit status (server role).
    pub fn exit_status(&mut self, code: u32) -> Result<(), CommandError> {
        self.request(&ChannelRequest::ExitStatus { code }, false)
    }

    /// Report that a process died from a signal (server role).
    pub fn exit_signal(
        &mut self,
        signal: &str,
        core_dumped: bool,
        message: &str,
    ) -> Result<(), CommandError> {
        self.request(
            &ChannelRequest::ExitSignal {
                name: signal.into(),
                core_dumped,
                message: message.into(),
                language: String::new(),
            },
            false,
        )
    }

    /// Send EOF once buffered data has gone.
    pub fn eof(&mut self) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.eof(id, &mut c.transport, &mut c.events))
    }

    /// Close once buffered data has gone.
    pub fn close(&mut self) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.close(id, &mut c.transport, &mut c.events))
    }

    /// Flow-control state.
    pub fn window(&mut self) -> Result<WindowState, CommandError> {
        let r = self.core.channels.window(self.id);
        self.core.command(r)
    }
}

macro_rules! common_api {
    () => {
        /// Feed received bytes. Whole packets are consumed from `buf`; a partial tail is
        /// left for the next call. On error the connection has already queued a
        /// DISCONNECT and an `Event::Disconnected`.
        /// After the connection has ended, input is ignored.
        pub fn handle_input(
            &mut self,
            now: Instant,
            buf: &mut BytesMut,
        ) -> Result<(), ConnectionError> {
            if self.core.closed {
                return Ok(());
            }
            loop {
                let r = self.core.transport.poll_payload(now, buf);
                let payload = match r {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    Err(e) => {
                        // Report what the transport finished before the failure
                        // (a key exchange completed in the same read) first.
                        let _ = self.on_transport_events();
                        return Err(self.core.fail(e));
                    }
                };
                if let Err(e) = self.dispatch(now, payload) {
                    return Err(self.core.fail(e));
                }
                if let Err(e) = self.on_transport_events() {
                    return Err(self.core.fail(e));
                }
                if self.core.closed {
                    return Ok(());
                }
            }
            if let Err(e) = self.on_transport_events() {
                return Err(self.core.fail(e));
            }
            self.core.after().map_err(|e| self.core.fail(e))
        }

        /// The next event, if any.
        pub fn poll_event(&mut self) -> Option<Event> {
            self.core.events.pop_front()
        }

        /// The next bytes to write to the socket, in order (many packets per chunk).
        pub fn poll_transmit(&mut self) -> Option<Bytes> {
            self.core.poll_transmit()
        }

        /// Let go of the buffers and queues that are empty now, so a quiet connection
        /// holds as little memory as possible. Cheap; call it when the connection goes
        /// quiet (the async adapters do each time it goes idle while no data streams
        /// in), not per packet: the next busy moment allocates them again.
        pub fn shrink_buffers(&mut self) {
            self.shrink_role();
            self.core.transport.shrink();
            if self.core.events.is_empty() && self.core.events.capacity() > 0 {
                self.core.events = VecDeque::new();
            }
        }

        /// Bytes waiting to be handed out by `poll_transmit`.
        pub fn pending_output(&self) -> usize {
            self.core.transport.pending_output()
        }

        /// A handle for one channel's commands (also for channels that have just closed,
        /// so late `consume` calls stay harmless; other commands then fail with
        /// `Error::UnknownChannel`).
        pub fn channel(&mut self, id: ChannelId) -> Result<Channel<'_>, CommandError> {
            if self.core.closed {
                return Err(CommandError::Closed);
            }
            Ok(Channel {
                core: &mut self.core,
                id,
            })
        }

        /// Ids of the channels in the table.
        pub fn channel_ids(&self) -> Vec<ChannelId> {
            self.core.channels.ids()
        }

        /// Number of channels in the table.
        pub fn channel_count(&self) -> usize {
            self.core.channels.len()
        }

        /// Start a key re-exchange now.
        pub fn rekey(&mut self) -> Result<(), CommandError> {
            let r = self.core.check_open().and_then(|()| {
                if !self.core.transport.established() {
                    return Err(Error::InvalidState("initial key exchange not finished"));
                }
                self.core.transport.start_kex()
            });
            self.core.command(r)
        }

        /// Send DISCONNECT and close.
        pub fn disconnect(&mut self, reason: DisconnectReason, description: &str) {
            self.core.disconnect(reason, description);
        }

        /// Whether the connection has ended.
        pub fn is_closed(&self) -> bool {
            self.core.closed
        }

        /// Send a global request (e.g. keepalive@openssh.com); with want_reply an
        /// `Event::GlobalReply` follows.
        pub fn global_request(
            &mut self,
            name: &str,
            want_reply: bool,
            data: &[u8],
        ) -> Result<(), CommandError> {
            let core = &mut self.core;
            let r = core.check_open().and_then(|()| {
                core.channels
                    .global_request(name, want_reply, data, &mut core.transport)
            });
            self.core.command(r)
        }

        /// Send any payload as one packet (message number first), encrypted with the
        /// keys in force. For tests, fuzzing and protocol extensions (reference:
        /// SendSSHPacket); held like any message during key exchange.
        pub fn send_raw_packet(&mut self, payload: &[u8]) -> Result<(), CommandError> {
            let r = self.core.check_open().and_then(|()| {
                if payload.is_empty() {
                    return Err(Error::InvalidState("empty payload"));
                }
                self.core.transport.send(payload)
            });
            self.core.command(r)
        }

        /// The logging settings in force.
        pub fn log_settings(&self) -> &crate::log::LogSettings {
            self.core.transport.log_settings()
        }

        /// The peer's identification line.
        pub fn peer_version(&self) -> Option<&str> {
            self.core.transport.peer_version()
        }

        /// The algorithms in force.
        pub fn negotiated(&self) -> Option<&crate::transport::Negotiated> {
            self.core.transport.negotiated()
        }

        /// The session identifier (the first exchange hash).
        pub fn session_id(&self) -> Option<&[u8]> {
            self.core.transport.session_id()
        }
    };
}

/// The server role of an SSH connection, as a pure state machine.
pub struct ServerConnection {
    core: Core,
    config: Arc<ServerConfig>,
    auth: ServerAuth,
    upkeep: Upkeep,
}

impl ServerConnection {
    fn shrink_role(&mut self) {
        self.auth.shrink();
    }

    /// A new connection accepted at `now`. Our identification line and KEXINIT are
    /// queued for `poll_transmit` at once.
    pub fn new(config: Arc<ServerConfig>, now: Instant) -> Result<Self, ConfigError> {
        let transport = Transport::new(
            config.transport.clone(),
            RoleKeys::Server(config.clone()),
            now,
        )
        .map_err(Error::into_config)?;
        Ok(ServerConnection {
            core: Core::new(transport, true),
            auth: ServerAuth::new(config.auth_banner.clone()),
            upkeep: Upkeep::new(config.upkeep(), now),
            config,
        })
    }

    common_api!();

    /// The authenticated user, once authentication succeeded.
    pub fn user(&self) -> Option<&str> {
        self.auth.authenticated_user()
    }

    /// The next instant `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.closed {
            return None;
        }
        let authenticated = self.user().is_some();
        let stamp_activity = (self.core.app_active && self.config.idle_timeout.is_some())
            .then(|| self.core.transport.now());
        [
            stamp_activity,
            self.upkeep.poll_timeout(authenticated),
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
            self.upkeep.active(now);
        }
        match self.upkeep.on_timeout(now, self.user().is_some()) {
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
            let r = self.auth.answer(
                id,
                decision,
                &self.config.auth_methods,
                self.config.transport.limits.max_auth_attempts,
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
                    self.core.events.push_back(Event::Authenticated { user })
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
        self.upkeep.heard(now);
        if counts_as_activity(code) {
            self.upkeep.active(now);
        }
        match code {
            SERVICE_REQUEST => {
                let Message::ServiceRequest { name } = Message::decode(&payload)? else {
                    return Err(Error::Peer(Violation::MalformedServiceRequest));
                };
                if name != "ssh-userauth" || self.user().is_some() {
                    return Err(Error::Peer(Violation::ServiceNotAvailable(name)));
                }
                self.auth.accept_service();
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
                self.auth
                    .on_request(&sid, user, service, method, &mut out)?;
                self.auth.flush(
                    &self.config.auth_methods,
                    self.config.transport.limits.max_auth_attempts,
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
                self.core
                    .channels
                    .handle(m, &mut self.core.transport, &mut self.core.events)
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

/// The client role of an SSH connection: used by tests, fuzzers and benchmarks to drive
/// servers in memory, and usable as a minimal client.
pub struct ClientConnection {
    core: Core,
    auth: ClientAuth,
}

impl ClientConnection {
    fn shrink_role(&mut self) {}

    /// A new connection; our identification line and KEXINIT are queued at once.
    pub fn new(config: Arc<ClientConfig>, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let transport = Transport::new(
            config.transport.clone(),
            RoleKeys::Client {
                policy: config.host_key_policy.clone(),
                host_key_algorithms: config.host_key_algorithms.clone(),
            },
            now,
        )
        .map_err(Error::into_config)?;
        Ok(ClientConnection {
            core: Core::new(transport, false),
            auth: ClientAuth::default(),
        })
    }

    common_api!();

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
        self.auth.authenticated
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
        if self.auth.service_accepted {
            self.core.transport.send_msg(&m)
        } else {
            self.auth.held.push(m);
            Ok(())
        }
    }

    /// Try the "none" method.
    pub fn auth_none(&mut self, user: &str) -> Result<(), CommandError> {
        let m = self.auth.none(user);
        let r = self.send_auth(m);
        self.core.command(r)
    }

    /// Try a password.
    pub fn auth_password(&mut self, user: &str, password: &str) -> Result<(), CommandError> {
        let m = self.auth.password(user, SecretString::from(password));
        let r = self.send_auth(m);
        self.core.command(r)
    }

    /// Authenticate with a private key (signed directly, without a query).
    pub fn auth_publickey(&mut self, user: &str, key: &PrivateKey) -> Result<(), CommandError> {
        let r = self
            .core
            .transport
            .session_id()
            .map(<[u8]>::to_vec)
            .ok_or(Error::InvalidState("key exchange not finished"))
            .and_then(|sid| self.auth.publickey(&sid, user, key))
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
            if !self.auth.authenticated {
                return Err(Error::InvalidState("not authenticated"));
            }
            self.core.channels.open(kind, &mut self.core.transport)
        });
        self.core.command(r)
    }

    fn on_transport_events(&mut self) -> Result<(), Error> {
        for e in self.core.drain_transport_events() {
            if let TransportEvent::KeysExchanged(_) = e {
                if !self.auth.service_requested {
                    self.auth.service_requested = true;
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
        let auth_phase = !self.auth.authenticated;
        match (code, auth_phase) {
            (SERVICE_ACCEPT, true)
                if self.auth.service_requested && !self.auth.service_accepted =>
            {
                self.auth.service_accepted = true;
                for m in std::mem::take(&mut self.auth.held) {
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
                        self.auth.authenticated = true;
                        self.core.events.push_back(Event::Authenticated {
                            user: self.auth.user.clone().unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::error::{ConnectionError, DisconnectReason, Violation};
    use crate::event::Event;
    use crate::testing::{seeded_configs, Pair};

    /// A client that claims strict kex but does not reset its sequence numbers at
    /// NEWKEYS (Terrapin, CVE-2023-48795): its first encrypted packet fails the MAC
    /// and the connection ends; the strict server never reaches authentication.
    #[test]
    fn a_client_whose_sequence_numbers_do_not_reset_is_dropped_under_strict_kex() {
        use crate::crypto::cipher::CipherAlg;
        for (i, cipher) in CipherAlg::ALL.iter().enumerate() {
            let (s, mut c) = seeded_configs(230 + i as u64).unwrap();
            c.transport.algorithms.ciphers = vec![*cipher];
            let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
            p.client.core.transport.broken_keep_send_seq = true;
            p.drive();
            let _ = p.client.auth_password("alice", "secret");
            p.drive();
            if matches!(cipher, CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm) {
                // AES-GCM's nonce is its own invocation counter (RFC 5647), not the
                // sequence number: nothing depends on it, so nothing can fail (and
                // nothing can be truncated unnoticed either).
                assert!(p.server_error.is_none(), "{cipher:?}: {:?}", p.server_error);
                continue;
            }
            // AEAD tags and MACs fail; chacha20-poly1305 already decrypts the length
            // with the wrong nonce, which gives a length over the limit or a bad tag.
            assert!(
                matches!(
                    p.server_error,
                    Some(ConnectionError::Peer(Violation::BadMac))
                        | Some(ConnectionError::Peer(Violation::PacketLength(_)))
                ),
                "{cipher:?}: {:?}",
                p.server_error
            );
            assert!(p.server.is_closed());
            assert!(p.server.user().is_none());
            assert!(p.server_events.iter().any(|e| matches!(
                e,
                Event::Disconnected {
                    reason: DisconnectReason::MacError | DisconnectReason::ProtocolError,
                    by_peer: false,
                    ..
                }
            )));
            assert!(!p
                .server_events
                .iter()
                .any(|e| matches!(e, Event::AuthRequest(_))));
        }
    }

    /// The same client with strict kex off on the server: no reset is expected of
    /// anyone, so the connection works.
    #[test]
    fn without_strict_kex_sequence_numbers_run_on() {
        let (mut s, c) = seeded_configs(231).unwrap();
        s.transport.strict_kex = false;
        let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
        p.client.core.transport.broken_keep_send_seq = true;
        p.drive();
        assert!(p.client.auth_password("alice", "secret").is_ok());
        p.drive();
        assert!(p.server_error.is_none(), "{:?}", p.server_error);
        assert!(p
            .server_events
            .iter()
            .any(|e| matches!(e, Event::AuthRequest(_))));
    }
}
