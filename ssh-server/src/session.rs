//! One server connection with everything an adapter needs around the core: the
//! mapping from core events to the application's decisions ([`Call`]s), answers that
//! come back from any task or thread, channel streams, registry upkeep and commands.
//! An adapter only moves bytes, sleeps until [`Session::poll_timeout`], and runs each
//! [`Call`] through its handler.

use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use ssh_proto::bytes::{Bytes, BytesMut};
use tracing::{debug, info};

use super::channel_io::{ChannelControl, ChannelIo, Command, Link};
use super::control::{
    lock, Admitted, ConnectionCommand, ConnectionId, ConnectionOrigin, ConnectionShared, Decision,
};
use super::wakeup::Wakeup;
use ssh_proto::Event;
use ssh_proto::ServerConfig;
use ssh_proto::ServerConnection;
use ssh_proto::{AuthDecision, AuthRequest, AuthRequestId};
use ssh_proto::{ChannelId, ChannelKind, ChannelRequest, DataStream, OpenFailure};
use ssh_proto::{ConfigError, DisconnectReason};

/// A value a handler answers with; the refusal is what a dropped [`Reply`] sends.
pub trait Answer: Send + 'static {
    /// The answer given when the handler gives none.
    fn refusal() -> Self;
}

impl Answer for AuthDecision {
    fn refusal() -> Self {
        AuthDecision::Reject
    }
}

impl Answer for bool {
    fn refusal() -> Self {
        false
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Auth(AuthRequestId),
    Open(ChannelId),
    Request(ChannelId, bool),
}

/// Where a handler's answer goes. Send it from any task or thread; dropping a
/// `Reply` unanswered refuses (so a handler that panics cannot stall the client).
#[derive(Debug)]
pub struct Reply<T: Answer> {
    shared: Arc<ConnectionShared>,
    target: Option<Target>,
    _answer: PhantomData<fn(T)>,
}

fn decision_of(target: Target, auth: Option<AuthDecision>, ok: bool) -> Decision {
    match target {
        Target::Auth(id) => Decision::Auth(id, auth.unwrap_or(AuthDecision::Reject)),
        Target::Open(ch) => Decision::Open(ch, ok),
        Target::Request(ch, want) => Decision::Request(ch, ok, want),
    }
}

impl<T: Answer> Reply<T> {
    fn new(shared: &Arc<ConnectionShared>, target: Target) -> Self {
        Reply {
            shared: shared.clone(),
            target: Some(target),
            _answer: PhantomData,
        }
    }

    fn deliver(&mut self, d: impl FnOnce(Target) -> Decision) {
        if let Some(t) = self.target.take() {
            lock(&self.shared.decisions).push_back(d(t));
            self.shared.wakeup.notify();
        }
    }
}

impl Reply<AuthDecision> {
    /// Answer an authentication request.
    pub fn send(mut self, decision: AuthDecision) {
        self.deliver(|t| decision_of(t, Some(decision), false));
    }
}

impl Reply<bool> {
    /// Accept (true) or refuse (false).
    pub fn send(mut self, ok: bool) {
        self.deliver(|t| decision_of(t, None, ok));
    }
}

impl<T: Answer> Drop for Reply<T> {
    fn drop(&mut self) {
        self.deliver(|t| decision_of(t, None, false));
    }
}

/// What a channel's handler can reach: ids, the user, per-channel state kept between
/// requests, the channel's stream (taken once) and its control handle. `T` is the
/// stream type handed out: [`ChannelIo`] here, each adapter's own stream there (see
/// [`ChannelContext::with_stream`]).
#[derive(Debug)]
pub struct ChannelContext<S, T = ChannelIo> {
    /// The connection.
    pub connection: ConnectionId,
    /// The channel.
    pub channel: ChannelId,
    /// The authenticated user.
    pub user: String,
    state: Arc<Mutex<S>>,
    io: Arc<Mutex<Option<ChannelIo>>>,
    control: ChannelControl,
    /// Why an open is refused, when the handler says (default: administratively
    /// prohibited).
    refusal: Arc<Mutex<Option<(OpenFailure, String)>>>,
    stream: PhantomData<fn() -> T>,
}

impl<S, T> Clone for ChannelContext<S, T> {
    fn clone(&self) -> Self {
        ChannelContext {
            connection: self.connection,
            channel: self.channel,
            user: self.user.clone(),
            state: self.state.clone(),
            io: self.io.clone(),
            control: self.control.clone(),
            refusal: self.refusal.clone(),
            stream: PhantomData,
        }
    }
}

impl<S, T: From<ChannelIo>> ChannelContext<S, T> {
    /// Take the channel's stream (once; later calls return None).
    pub fn take_stream(&self) -> Option<T> {
        lock(&self.io).take().map(T::from)
    }

    /// The same context handing out streams of type `U` (how adapters give their
    /// handlers their runtime's stream type).
    pub fn with_stream<U: From<ChannelIo>>(self) -> ChannelContext<S, U> {
        ChannelContext {
            connection: self.connection,
            channel: self.channel,
            user: self.user,
            state: self.state,
            io: self.io,
            control: self.control,
            refusal: self.refusal,
            stream: PhantomData,
        }
    }
}

impl<S, T> ChannelContext<S, T> {
    /// The handler's state for this channel.
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Exit status, EOF and close, usable without the stream.
    pub fn control(&self) -> ChannelControl {
        self.control.clone()
    }

    /// Say why the channel open is being refused, before returning false from the
    /// open decision (e.g. [`OpenFailure::ConnectFailed`] when a forward's target
    /// refuses); without it the reason is "administratively prohibited".
    pub fn refuse_with(&self, reason: OpenFailure, description: &str) {
        *lock(&self.refusal) = Some((reason, description.to_owned()));
    }
}

/// A decision the application must make, with the means to answer it.
#[derive(Debug)]
pub enum Call<S> {
    /// An authentication attempt.
    Auth {
        /// The request (public keys arrive already verified).
        request: AuthRequest,
        /// The connection it comes from.
        origin: ConnectionOrigin,
        /// Where the decision goes.
        reply: Reply<AuthDecision>,
    },
    /// The client asks to open a channel.
    ChannelOpen {
        /// The channel-to-be.
        channel: ChannelContext<S>,
        /// What kind of channel.
        kind: ChannelKind,
        /// Accept or refuse.
        reply: Reply<bool>,
    },
    /// A request on an open channel; requests on one channel come one at a time.
    ChannelRequest {
        /// The channel.
        channel: ChannelContext<S>,
        /// The request.
        request: ChannelRequest,
        /// Success or failure (sent when the client wants a reply).
        reply: Reply<bool>,
    },
}

struct ChannelSlot<S> {
    kind: ChannelKind,
    link: Link,
    ctx: ChannelContext<S>,
    queue: VecDeque<(ChannelRequest, bool)>,
    busy: bool,
    /// On the session's list of drained channels (listed once).
    drained: bool,
}

/// How a connection ended, for the disconnected notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The reason code sent or received, if a DISCONNECT was exchanged.
    pub reason: Option<DisconnectReason>,
    /// A description of what happened.
    pub description: String,
    /// Whether the client ended it.
    pub by_peer: bool,
}

/// One connection, ready for an adapter to drive.
pub struct Session<S> {
    conn: ServerConnection,
    admitted: Admitted,
    channels: HashMap<ChannelId, ChannelSlot<S>>,
    calls: VecDeque<Call<S>>,
    ended: Option<Ended>,
    peer_version_seen: bool,
    /// Channels that still hold stream output the connection did not take.
    backlog: Vec<ChannelId>,
    /// Scratch list of channels to visit in one pass (kept for its allocation).
    visit: Vec<ChannelId>,
    /// Channels whose output drained since the last shrink (their buffers may go).
    drained: Vec<ChannelId>,
    /// Pending output above which no channel can send (the core's high-water mark).
    high_water: usize,
}

impl<S: Default + Send + 'static> Session<S> {
    /// Start the connection: our identification line and KEXINIT are queued at once.
    pub fn new(
        config: Arc<ServerConfig>,
        now: Instant,
        admitted: Admitted,
    ) -> Result<Self, ConfigError> {
        let high_water = config.transport.limits.output_high_water;
        let mut conn = ServerConnection::new(config, now)?;
        // Certificates are checked against the time of day and the peer's address.
        conn.set_peer(ssh_proto::PeerContext {
            address: Some(admitted.info().remote.ip().to_canonical()),
            wall_clock: Some((now, std::time::SystemTime::now())),
        });
        Ok(Session {
            conn,
            admitted,
            channels: HashMap::new(),
            calls: VecDeque::new(),
            ended: None,
            peer_version_seen: false,
            backlog: Vec::new(),
            visit: Vec::new(),
            drained: Vec::new(),
            high_water,
        })
    }

    /// The connection's id.
    pub fn id(&self) -> ConnectionId {
        self.admitted.id()
    }

    fn log_info(&self) -> bool {
        self.conn.log_settings().info()
    }

    /// The connection's registry snapshot.
    pub fn info(&self) -> super::control::ConnectionInfo {
        self.admitted.info()
    }

    /// What the adapter waits on besides its socket and timer: handler answers,
    /// stream activity and registry commands all notify it.
    pub fn wakeup(&self) -> Arc<Wakeup> {
        self.admitted.shared.wakeup.clone()
    }

    /// The core connection, for anything the session does not wrap.
    pub fn connection(&mut self) -> &mut ServerConnection {
        &mut self.conn
    }

    /// Feed received bytes (errors end the connection and show in [`Session::ended`]).
    pub fn handle_input(&mut self, now: Instant, rx: &mut BytesMut) {
        let _ = self.conn.handle_input(now, rx);
        self.refresh_windows();
        self.process();
    }

    /// The client closed its side of the TCP connection.
    pub fn peer_closed(&mut self) {
        if !self.conn.is_closed() {
            self.conn.disconnect(
                DisconnectReason::ConnectionLost,
                "client closed the connection",
            );
            self.ended = Some(Ended {
                reason: None,
                description: "client closed the connection".into(),
                by_peer: true,
            });
        }
        self.process();
    }

    /// When [`Session::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// Run the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.conn.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.conn.handle_timeout(now);
        }
        self.process();
    }

    /// The next bytes for the socket.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let b = self.conn.poll_transmit();
        if b.is_some() {
            self.process();
        }
        b
    }

    /// Let go of empty buffers and queues (see [`ServerConnection::shrink_buffers`]).
    pub fn shrink_buffers(&mut self) {
        self.conn.shrink_buffers();
        if self.calls.is_empty() && self.calls.capacity() > 0 {
            self.calls = VecDeque::new();
        }
        let mut decisions = lock(&self.admitted.shared.decisions);
        if decisions.is_empty() && decisions.capacity() > 0 {
            *decisions = VecDeque::new();
        }
        drop(decisions);
        for id in self.drained.drain(..) {
            if let Some(slot) = self.channels.get_mut(&id) {
                slot.drained = false;
                for out in &mut slot.link.lock().out {
                    out.shrink();
                }
            }
        }
        if self.drained.capacity() > 0 {
            self.drained = Vec::new();
        }
    }

    /// Bytes waiting for [`Session::poll_transmit`].
    pub fn pending_output(&self) -> usize {
        self.conn.pending_output()
    }

    /// The next decision for the handler.
    pub fn poll_call(&mut self) -> Option<Call<S>> {
        self.calls.pop_front()
    }

    /// Whether the client has logged in (the handshake is over).
    pub fn is_authenticated(&self) -> bool {
        self.conn.user().is_some()
    }

    /// Whether the socket should still be read.
    pub fn wants_input(&self) -> bool {
        !self.conn.is_closed()
    }

    /// Whether the connection is over: closed with all output handed out, or aborted.
    pub fn is_finished(&self) -> bool {
        self.is_aborted() || (self.conn.is_closed() && self.conn.pending_output() == 0)
    }

    /// Whether the server aborted the connection (shutdown past its grace period).
    pub fn is_aborted(&self) -> bool {
        self.admitted.shared.killed.load(Ordering::Acquire)
    }

    /// How the connection ended (once it has).
    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    /// Finish: every channel stream sees the close; returns how the connection ended
    /// (`io_error` is the socket error that ended it, if any).
    pub fn finish(mut self, io_error: Option<&std::io::Error>) -> Ended {
        for (_, slot) in self.channels.drain() {
            let mut s = slot.link.lock();
            s.closed = true;
            s.wake_all();
        }
        lock(&self.admitted.shared.channels).clear();
        if let Some(e) = io_error {
            return Ended {
                reason: None,
                description: format!("socket error: {e}"),
                by_peer: false,
            };
        }
        if self.admitted.shared.killed.load(Ordering::Acquire) && self.ended.is_none() {
            return Ended {
                reason: None,
                description: "aborted by the server".into(),
                by_peer: false,
            };
        }
        self.ended.unwrap_or(Ended {
            reason: None,
            description: "connection closed".into(),
            by_peer: false,
        })
    }

    /// Apply answers, commands and stream activity, and turn core events into calls,
    /// until nothing changes. Every entry point runs this; adapters call it after a
    /// wake-up.
    pub fn process(&mut self) {
        for _ in 0..64 {
            let mut changed = false;
            let decisions: Vec<Decision> =
                lock(&self.admitted.shared.decisions).drain(..).collect();
            for d in decisions {
                changed = true;
                self.apply_decision(d);
            }
            let commands: Vec<ConnectionCommand> =
                lock(&self.admitted.shared.commands).drain(..).collect();
            for c in commands {
                changed = true;
                match c {
                    ConnectionCommand::Disconnect(reason, text) => {
                        if self.log_info() {
                            info!(%text, "disconnecting by request");
                        }
                        self.conn.disconnect(reason, &text);
                    }
                }
            }
            changed |= self.pump_channels();
            while let Some(ev) = self.conn.poll_event() {
                changed = true;
                self.on_event(ev);
            }
            if !changed {
                break;
            }
        }
        if !self.peer_version_seen {
            if let Some(v) = self.conn.peer_version() {
                self.peer_version_seen = true;
                if self.log_info() {
                    info!(client = %v, "client identified");
                }
                lock(&self.admitted.shared.info).client_version = Some(v.to_owned());
            }
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::AuthRequest(request) => {
                debug!(user = %request.user, method = request.method.name(), "auth request");
                let reply = Reply::new(&self.admitted.shared, Target::Auth(request.id));
                let origin = {
                    let info = lock(&self.admitted.shared.info);
                    ConnectionOrigin {
                        connection: info.id,
                        remote: info.remote,
                        local: info.local,
                    }
                };
                self.calls.push_back(Call::Auth {
                    request,
                    origin,
                    reply,
                });
            }
            Event::Authenticated { user } => {
                lock(&self.admitted.shared.info).user = Some(user);
            }
            Event::KeysExchanged(n) => {
                lock(&self.admitted.shared.info).algorithms = Some(n);
            }
            Event::ChannelOpenRequest { channel, kind } => {
                let link = Link::new(self.admitted.shared.wakeup.clone(), channel);
                let ctx = ChannelContext {
                    connection: self.id(),
                    channel,
                    user: self.conn.user().unwrap_or_default().to_owned(),
                    state: Arc::new(Mutex::new(S::default())),
                    io: Arc::new(Mutex::new(Some(ChannelIo { link: link.clone() }))),
                    control: ChannelIo { link: link.clone() }.control(),
                    refusal: Arc::new(Mutex::new(None)),
                    stream: PhantomData,
                };
                self.channels.insert(
                    channel,
                    ChannelSlot {
                        kind: kind.clone(),
                        link,
                        ctx: ctx.clone(),
                        queue: VecDeque::new(),
                        busy: false,
                        drained: false,
                    },
                );
                let reply = Reply::new(&self.admitted.shared, Target::Open(channel));
                self.calls.push_back(Call::ChannelOpen {
                    channel: ctx,
                    kind,
                    reply,
                });
            }
            Event::ChannelRequest {
                channel,
                request,
                want_reply,
            } => {
                if let Some(slot) = self.channels.get_mut(&channel) {
                    slot.queue.push_back((request, want_reply));
                    self.start_next_request(channel);
                } else if want_reply {
                    let _ = self.conn.channel(channel).and_then(|mut c| c.reply(false));
                }
            }
            Event::ChannelData {
                channel,
                data,
                stream,
            } => match (self.channels.get(&channel), stream) {
                (Some(slot), DataStream::Normal) => {
                    let mut s = slot.link.lock();
                    s.inbound.push_back(data);
                    if let Some(w) = s.read_waker.take() {
                        w.wake();
                    }
                }
                _ => {
                    let _ = self
                        .conn
                        .channel(channel)
                        .and_then(|mut c| c.consume(data.len()));
                }
            },
            Event::ChannelEof { channel } => {
                if let Some(slot) = self.channels.get(&channel) {
                    let mut s = slot.link.lock();
                    s.eof = true;
                    if let Some(w) = s.read_waker.take() {
                        w.wake();
                    }
                }
            }
            Event::ChannelClosed { channel } => self.drop_channel(channel),
            Event::Disconnected {
                reason,
                description,
                by_peer,
                ..
            } => {
                if self.log_info() {
                    info!(?reason, %description, by_peer, "disconnected");
                }
                if self.ended.is_none() {
                    self.ended = Some(Ended {
                        reason: Some(reason),
                        description,
                        by_peer,
                    });
                }
            }
            _ => {}
        }
    }

    fn drop_channel(&mut self, channel: ChannelId) {
        lock(&self.admitted.shared.channels).remove(&channel);
        if let Some(slot) = self.channels.remove(&channel) {
            let mut s = slot.link.lock();
            s.closed = true;
            s.wake_all();
        }
    }

    fn start_next_request(&mut self, channel: ChannelId) {
        let Some(slot) = self.channels.get_mut(&channel) else {
            return;
        };
        if slot.busy {
            return;
        }
        let Some((request, want_reply)) = slot.queue.pop_front() else {
            return;
        };
        slot.busy = true;
        let reply = Reply::new(&self.admitted.shared, Target::Request(channel, want_reply));
        self.calls.push_back(Call::ChannelRequest {
            channel: slot.ctx.clone(),
            request,
            reply,
        });
    }

    fn apply_decision(&mut self, d: Decision) {
        match d {
            Decision::Auth(id, d) => {
                let _ = self.conn.answer_auth(id, d);
            }
            Decision::Open(ch, true) => {
                if self.conn.accept_channel(ch).is_err() {
                    self.drop_channel(ch);
                } else if let Some(slot) = self.channels.get(&ch) {
                    lock(&self.admitted.shared.channels)
                        .insert(ch, (slot.kind.clone(), slot.link.clone()));
                    // Visited in the next pass: its window figures for the registry.
                    self.visit.push(ch);
                }
            }
            Decision::Open(ch, false) => {
                let (reason, text) = self
                    .channels
                    .get(&ch)
                    .and_then(|slot| lock(&slot.ctx.refusal).take())
                    .unwrap_or((OpenFailure::AdministrativelyProhibited, "refused".into()));
                self.drop_channel(ch);
                let _ = self.conn.reject_channel(ch, reason, &text);
            }
            Decision::Request(ch, ok, want_reply) => {
                if want_reply {
                    let _ = self.conn.channel(ch).and_then(|mut c| c.reply(ok));
                }
                if let Some(slot) = self.channels.get_mut(&ch) {
                    slot.busy = false;
                }
                self.start_next_request(ch);
                // Closing commands held back for this reply may go now.
                self.visit.push(ch);
            }
        }
    }

    /// Move data between the channel streams and the core; true if anything moved.
    /// Visits the channels whose streams reported news and those still holding output
    /// from an earlier pass (while the connection takes more), not every channel.
    fn pump_channels(&mut self) -> bool {
        let mut visit = std::mem::take(&mut self.visit);
        self.admitted.shared.wakeup.take_channels(&mut visit);
        if self.conn.pending_output() < self.high_water {
            visit.append(&mut self.backlog);
        }
        visit.sort_unstable();
        visit.dedup();
        let mut moved = false;
        for id in visit.drain(..) {
            let (m, left) = self.pump_channel(id);
            moved |= m;
            if left {
                self.backlog.push(id);
            }
        }
        self.visit = visit;
        moved
    }

    /// One channel's pump; returns (anything moved, output left over).
    fn pump_channel(&mut self, id: ChannelId) -> (bool, bool) {
        let Some(slot) = self.channels.get_mut(&id) else {
            return (false, false);
        };
        let Ok(mut ch) = self.conn.channel(id) else {
            return (false, false);
        };
        let mut s = slot.link.lock();
        s.queued = false;
        let mut moved = false;
        if s.consumed > 0 {
            let n = std::mem::take(&mut s.consumed);
            let _ = ch.consume(n);
            moved = true;
        }
        let mut progressed = false;
        for (idx, stream) in [(0, DataStream::Normal), (1, DataStream::Stderr)] {
            // Queued runs go out together: small ones share packets.
            let out = &mut s.out[idx];
            while !out.is_empty() {
                let (runs, k) = out.runs::<16>();
                let offered: usize = runs[..k].iter().map(|r| r.len()).sum();
                let Ok(n) = ch.send_now_parts(stream, &runs[..k]) else {
                    break;
                };
                out.advance(n);
                progressed |= n > 0;
                if n < offered {
                    break;
                }
            }
        }
        let left = !(s.out[0].is_empty() && s.out[1].is_empty());
        if progressed && !left && !std::mem::replace(&mut slot.drained, true) {
            self.drained.push(id);
        }
        // Exit status, EOF and close wait for the reply to a request in flight, so
        // the client gets its answer before the channel closes (a handler may finish
        // the channel before it returns).
        if !left && !slot.busy {
            while let Some(c) = s.commands.pop_front() {
                moved = true;
                let _ = match c {
                    Command::ExitStatus(code) => ch.exit_status(code),
                    Command::ExitSignal(sig, core, msg) => ch.exit_signal(&sig, core, &msg),
                    Command::Eof => ch.eof(),
                    Command::Close => ch.close(),
                };
            }
        }
        if let Ok(w) = ch.window() {
            s.window = w;
        }
        if progressed {
            moved = true;
            s.wake_writers();
        }
        (moved, left)
    }

    /// Refresh every channel's window figures for the registry (once per read: the
    /// peer's window adjusts arrive there).
    fn refresh_windows(&mut self) {
        for (&id, slot) in &self.channels {
            if let Ok(w) = self.conn.channel(id).and_then(|mut c| c.window()) {
                slot.link.lock().window = w;
            }
        }
    }
}
