//! Tokio adapter for `ssh-proto`: a [`Server`] that accepts TCP connections and runs
//! each on its own task around the core's five calls, an async [`Handler`] for the
//! application's decisions, and channels as `AsyncRead + AsyncWrite` streams.

mod stream;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use ssh_proto::bytes::{Buf, Bytes, BytesMut};
use ssh_proto::{
    AuthDecision, AuthRequest, AuthRequestId, ChannelId, ChannelKind, ChannelRequest, DataStream,
    Event, OpenFailure, ServerConfig, ServerConnection,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tracing::{debug, info, info_span, Instrument};

pub use stream::{ChannelControl, ChannelStderr, ChannelStream};
use stream::{Command, Link, Shared};

/// The application's decisions. Every method has a default that refuses. Each call
/// runs on its own task, so a slow decision never stalls the connection; requests on
/// one channel are handled one at a time, in order.
pub trait Handler: Send + Sync + 'static {
    /// Per-channel state the handler keeps between requests (env, pty size, child pid...).
    type ChannelState: Default + Send + 'static;

    /// Decide on an authentication attempt.
    fn auth(&self, request: AuthRequest) -> impl Future<Output = AuthDecision> + Send {
        let _ = request;
        async { AuthDecision::Reject }
    }

    /// Decide whether to open a channel.
    fn channel_open(&self, user: String, kind: ChannelKind) -> impl Future<Output = bool> + Send {
        let _ = (user, kind);
        async { false }
    }

    /// Handle a channel request; the result is the reply when the client wants one.
    fn channel_request(
        &self,
        ctx: ChannelContext<Self::ChannelState>,
        request: ChannelRequest,
    ) -> impl Future<Output = bool> + Send {
        let _ = (ctx, request);
        async { false }
    }
}

/// What a channel request handler can reach: the channel's stream and its state.
pub struct ChannelContext<S> {
    /// The channel.
    pub channel: ChannelId,
    /// The authenticated user.
    pub user: String,
    state: Arc<Mutex<S>>,
    stream: Arc<Mutex<Option<ChannelStream>>>,
    control: ChannelControl,
}

impl<S> Clone for ChannelContext<S> {
    fn clone(&self) -> Self {
        ChannelContext {
            channel: self.channel,
            user: self.user.clone(),
            state: self.state.clone(),
            stream: self.stream.clone(),
            control: self.control.clone(),
        }
    }
}

impl<S> ChannelContext<S> {
    /// The handler's state for this channel.
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take the channel's data stream (once; later calls return None).
    pub fn take_stream(&self) -> Option<ChannelStream> {
        self.stream.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Exit status, EOF and close, usable without the stream.
    pub fn control(&self) -> ChannelControl {
        self.control.clone()
    }
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to bind; port 0 picks an ephemeral port.
    pub listen: SocketAddr,
}

impl ServerOptions {
    /// Listen on `addr`.
    pub fn listen_on(addr: SocketAddr) -> Self {
        ServerOptions { listen: addr }
    }
}

/// A listening SSH server.
pub struct Server<H: Handler> {
    listener: TcpListener,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
}

impl<H: Handler> Server<H> {
    /// Bind the listening socket.
    pub async fn bind(
        options: ServerOptions,
        config: Arc<ServerConfig>,
        handler: H,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(options.listen).await?;
        Ok(Server {
            listener,
            config,
            handler: Arc::new(handler),
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept connections forever, each on its own task.
    pub async fn run(self) -> io::Result<()> {
        let mut next_id = 0u64;
        loop {
            let (socket, peer) = self.listener.accept().await?;
            next_id += 1;
            let (config, handler) = (self.config.clone(), self.handler.clone());
            let span = info_span!("conn", id = next_id, %peer);
            tokio::spawn(
                async move {
                    info!("connected");
                    match run_connection(socket, config, handler).await {
                        Ok(()) => info!("disconnected"),
                        Err(e) => info!(error = %e, "connection ended with an error"),
                    }
                }
                .instrument(span),
            );
        }
    }
}

enum Decision {
    Auth(AuthRequestId, AuthDecision),
    Open(ChannelId, bool),
    Request(ChannelId, bool, bool),
}

struct ChannelEntry<S> {
    link: Link,
    ctx: ChannelContext<S>,
    queue: VecDeque<(ChannelRequest, bool)>,
    busy: bool,
}

fn io_err(e: ssh_proto::Error) -> io::Error {
    io::Error::other(e)
}

/// Run one connection until it ends: the adapter's whole loop around the core.
pub async fn run_connection<H: Handler>(
    socket: TcpStream,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let (mut rd, mut wr) = socket.into_split();
    let mut conn = ServerConnection::new(config, Instant::now()).map_err(io_err)?;
    let wake = Arc::new(Notify::new());
    let (dec_tx, mut dec_rx) = mpsc::unbounded_channel::<Decision>();
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(2);
    let writer = tokio::spawn(async move {
        while let Some(b) = out_rx.recv().await {
            wr.write_all(&b).await?;
        }
        wr.shutdown().await
    });
    let mut channels: HashMap<ChannelId, ChannelEntry<H::ChannelState>> = HashMap::new();
    let mut rx = BytesMut::with_capacity(64 * 1024);
    let mut reading = true;
    let result: io::Result<()> = loop {
        // Events, decisions and channel streams, until nothing changes.
        while let Some(ev) = conn.poll_event() {
            if let Event::Disconnected { description, .. } = &ev {
                debug!(%description, "disconnected");
            }
            on_event(&mut conn, ev, &handler, &dec_tx, &wake, &mut channels);
        }
        pump_channels(&mut conn, &mut channels);
        while let Some(ev) = conn.poll_event() {
            on_event(&mut conn, ev, &handler, &dec_tx, &wake, &mut channels);
        }
        if conn.is_closed() && conn.pending_output() == 0 {
            break Ok(());
        }
        if !reading && conn.pending_output() == 0 {
            break Ok(());
        }
        let deadline = conn.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = rd.read_buf(&mut rx), if reading && !conn.is_closed() => {
                match r {
                    Ok(0) => { reading = false; conn.disconnect(ssh_proto::DisconnectReason::ConnectionLost, "peer closed the connection"); }
                    Ok(_) => {
                        let _ = conn.handle_input(Instant::now(), &mut rx);
                        if rx.capacity() - rx.len() < 16 * 1024 { rx.reserve(64 * 1024); }
                    }
                    Err(e) => break Err(e),
                }
            }
            permit = out_tx.reserve(), if conn.pending_output() > 0 => {
                match permit {
                    Ok(p) => if let Some(b) = conn.poll_transmit() { p.send(b) },
                    Err(_) => break Err(io::ErrorKind::BrokenPipe.into()),
                }
            }
            Some(d) = dec_rx.recv() => apply_decision(&mut conn, d, &handler, &dec_tx, &mut channels),
            _ = wake.notified() => {}
            _ = sleep => { let _ = conn.handle_timeout(Instant::now()); }
        }
    };
    for (_, e) in channels.drain() {
        let mut s = e.link.lock();
        s.closed = true;
        wake_all(&mut s);
    }
    drop(out_tx);
    let _ = writer.await;
    result
}

fn wake_all(s: &mut Shared) {
    if let Some(w) = s.read_waker.take() {
        w.wake();
    }
    if let Some(w) = s.write_waker.take() {
        w.wake();
    }
}

fn on_event<H: Handler>(
    conn: &mut ServerConnection,
    ev: Event,
    handler: &Arc<H>,
    dec_tx: &mpsc::UnboundedSender<Decision>,
    wake: &Arc<Notify>,
    channels: &mut HashMap<ChannelId, ChannelEntry<H::ChannelState>>,
) {
    match ev {
        Event::AuthRequest(req) => {
            debug!(user = %req.user, method = req.method.name(), "auth request");
            let (h, tx) = (handler.clone(), dec_tx.clone());
            tokio::spawn(async move {
                let id = req.id;
                let d = h.auth(req).await;
                let _ = tx.send(Decision::Auth(id, d));
            });
        }
        Event::ChannelOpenRequest { channel, kind } => {
            let (h, tx) = (handler.clone(), dec_tx.clone());
            let user = conn.user().unwrap_or_default().to_owned();
            let link = Link {
                shared: Arc::new(Mutex::new(Shared::default())),
                wake_conn: wake.clone(),
            };
            let ctx = ChannelContext {
                channel,
                user: user.clone(),
                state: Arc::new(Mutex::new(H::ChannelState::default())),
                stream: Arc::new(Mutex::new(Some(ChannelStream { link: link.clone() }))),
                control: ChannelStream { link: link.clone() }.control(),
            };
            channels.insert(
                channel,
                ChannelEntry {
                    link,
                    ctx,
                    queue: VecDeque::new(),
                    busy: false,
                },
            );
            tokio::spawn(async move {
                let ok = h.channel_open(user, kind).await;
                let _ = tx.send(Decision::Open(channel, ok));
            });
        }
        Event::ChannelRequest {
            channel,
            request,
            want_reply,
        } => {
            if let Some(e) = channels.get_mut(&channel) {
                e.queue.push_back((request, want_reply));
                start_next_request(channel, e, handler, dec_tx);
            } else if want_reply {
                let _ = conn.channel(channel).and_then(|mut c| c.reply(false));
            }
        }
        Event::ChannelData {
            channel,
            data,
            stream,
        } => match (channels.get(&channel), stream) {
            (Some(e), DataStream::Normal) => {
                let mut s = e.link.lock();
                s.inbound.push_back(data);
                if let Some(w) = s.read_waker.take() {
                    w.wake();
                }
            }
            _ => {
                let _ = conn
                    .channel(channel)
                    .and_then(|mut c| c.consume(data.len()));
            }
        },
        Event::ChannelEof { channel } => {
            if let Some(e) = channels.get(&channel) {
                let mut s = e.link.lock();
                s.eof = true;
                if let Some(w) = s.read_waker.take() {
                    w.wake();
                }
            }
        }
        Event::ChannelClosed { channel } => {
            if let Some(e) = channels.remove(&channel) {
                let mut s = e.link.lock();
                s.closed = true;
                wake_all(&mut s);
            }
        }
        _ => {}
    }
}

fn start_next_request<H: Handler>(
    channel: ChannelId,
    e: &mut ChannelEntry<H::ChannelState>,
    handler: &Arc<H>,
    dec_tx: &mpsc::UnboundedSender<Decision>,
) {
    if e.busy {
        return;
    }
    let Some((req, want_reply)) = e.queue.pop_front() else {
        return;
    };
    e.busy = true;
    let (h, tx, ctx) = (handler.clone(), dec_tx.clone(), e.ctx.clone());
    tokio::spawn(async move {
        let ok = h.channel_request(ctx, req).await;
        let _ = tx.send(Decision::Request(channel, ok, want_reply));
    });
}

fn apply_decision<H: Handler>(
    conn: &mut ServerConnection,
    d: Decision,
    handler: &Arc<H>,
    dec_tx: &mpsc::UnboundedSender<Decision>,
    channels: &mut HashMap<ChannelId, ChannelEntry<H::ChannelState>>,
) {
    match d {
        Decision::Auth(id, d) => {
            let _ = conn.answer_auth(id, d);
        }
        Decision::Open(ch, true) => {
            if conn.accept_channel(ch).is_err() {
                channels.remove(&ch);
            }
        }
        Decision::Open(ch, false) => {
            channels.remove(&ch);
            let _ = conn.reject_channel(ch, OpenFailure::AdministrativelyProhibited, "refused");
        }
        Decision::Request(ch, ok, want_reply) => {
            if want_reply {
                let _ = conn.channel(ch).and_then(|mut c| c.reply(ok));
            }
            if let Some(e) = channels.get_mut(&ch) {
                e.busy = false;
                start_next_request(ch, e, handler, dec_tx);
            }
        }
    }
}

/// Move data between the channel streams and the core.
fn pump_channels<S>(
    conn: &mut ServerConnection,
    channels: &mut HashMap<ChannelId, ChannelEntry<S>>,
) {
    for (&id, e) in channels.iter_mut() {
        let Ok(mut ch) = conn.channel(id) else { return };
        let mut s = e.link.lock();
        if s.consumed > 0 {
            let n = std::mem::take(&mut s.consumed);
            let _ = ch.consume(n);
        }
        let mut progressed = false;
        for (idx, stream) in [(0, DataStream::Normal), (1, DataStream::Stderr)] {
            if !s.out[idx].is_empty() {
                if let Ok(n) = ch.send_stream(stream, &s.out[idx]) {
                    s.out[idx].advance(n);
                    progressed |= n > 0;
                }
            }
        }
        if s.out[0].is_empty() && s.out[1].is_empty() {
            while let Some(c) = s.commands.pop_front() {
                let _ = match c {
                    Command::ExitStatus(code) => ch.exit_status(code),
                    Command::ExitSignal(sig, core, msg) => ch.exit_signal(&sig, core, &msg),
                    Command::Eof => ch.eof(),
                    Command::Close => ch.close(),
                };
            }
        }
        if progressed {
            if let Some(w) = s.write_waker.take() {
                w.wake();
            }
        }
    }
}
