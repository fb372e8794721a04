//! The connection loop for async runtimes, written once as a poll function over a
//! small IO trait: an adapter implements [`PollIo`] for its socket and timer, then
//! awaits [`Driver::poll`] in a loop and runs each [`Call`] it yields on a task.

use std::io;
use std::task::{Context, Poll};
use std::time::Instant;

use ssh_proto::bytes::{Buf, Bytes, BytesMut};

use super::session::{Call, Ended, Session};

/// Read buffer size for one read call while data streams in.
const READ_CHUNK: usize = 64 * 1024;
/// Read buffer size for the first read after the connection was quiet: enough for
/// keystrokes, window adjusts and keepalives. A read that fills it switches to
/// [`READ_CHUNK`]; a quiet connection holds no read buffer at all.
const SMALL_READ: usize = 4 * 1024;
/// Loop turns before yielding to the executor, so one busy connection cannot hog it.
const TURNS_PER_POLL: usize = 32;
/// After our last bytes, how long to keep reading (and discarding) until the peer
/// closes: closing a socket with unread input sends a reset, which can destroy the
/// DISCONNECT message before the client reads it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// A runtime's socket and timer, as poll functions.
pub trait PollIo {
    /// Read into the spare capacity of `buf` (appending); Ready(Ok(0)) at EOF.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>>;
    /// Ready once a read would not block (data, EOF or an error waiting), so a quiet
    /// connection can wait without holding a read buffer. The default says "ready"
    /// and leaves the waiting to `poll_read`.
    fn poll_read_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    /// Write some of `buf`.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Flush and shut down the write side.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Ready once `deadline` has passed.
    fn poll_sleep_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()>;
    /// Acknowledge what was read at once rather than on the delayed-ACK timer; called
    /// after reads that leave nothing to send until the client has logged in (see
    /// `ssh_server::ack_now`). The default does nothing.
    fn ack_now(&mut self) {}
    /// The time now on this runtime's clock: the driver reads no clock of its own, so
    /// a runtime with a paused or fake clock drives the connection on that clock.
    fn now(&self) -> Instant;
}

/// What the driver yields.
#[derive(Debug)]
pub enum DriveStep<S> {
    /// A decision for the handler; keep polling meanwhile (boxed: a request with its
    /// key and certificate is large, and calls are rare beside the other steps).
    Call(Box<Call<S>>),
    /// The connection is over (socket closed or failed).
    Done(Option<io::Error>),
}

/// A session with its buffers: the whole per-connection loop minus the runtime.
pub struct Driver<S> {
    /// Boxed so that a connection's future stays small: the session lives in one place.
    session: Box<Session<S>>,
    rx: BytesMut,
    /// Whether reads come in bulk (use [`READ_CHUNK`]) or trickle (use [`SMALL_READ`]).
    streaming: bool,
    tx: Bytes,
    reading: bool,
    /// Set once our side is shut down: until when to wait for the peer's close.
    lingering: Option<Instant>,
}

impl<S: Default + Send + 'static> Driver<S> {
    /// Drive `session`.
    pub fn new(session: Box<Session<S>>) -> Self {
        Driver {
            session,
            rx: BytesMut::new(),
            streaming: false,
            tx: Bytes::new(),
            reading: true,
            lingering: None,
        }
    }

    /// The session being driven.
    pub fn session(&mut self) -> &mut Session<S> {
        &mut self.session
    }

    /// End: the session's streams see the close; returns how it ended.
    pub fn finish(self, io_error: Option<&io::Error>) -> Ended {
        self.session.finish(io_error)
    }

    /// Make progress on everything that is ready; yields calls and the end.
    pub fn poll<Io: PollIo>(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Poll<DriveStep<S>> {
        if let Some(until) = self.lingering {
            return self.poll_linger(io, cx, until);
        }
        let wakeup = self.session.wakeup();
        for _ in 0..TURNS_PER_POLL {
            // Aborted (shutdown past its grace period): end now, even with output a
            // peer that stopped reading never took.
            if self.session.is_aborted() {
                return Poll::Ready(DriveStep::Done(None));
            }
            if let Some(c) = self.session.poll_call() {
                return Poll::Ready(DriveStep::Call(Box::new(c)));
            }
            let mut progress = false;
            // Write what the core produced, a chunk at a time.
            loop {
                if self.tx.is_empty() {
                    match self.session.poll_transmit() {
                        Some(b) => self.tx = b,
                        None => break,
                    }
                }
                match io.poll_write(cx, &self.tx) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(DriveStep::Done(Some(io::ErrorKind::WriteZero.into())))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.tx.advance(n);
                        if self.tx.is_empty() {
                            // An empty slice still holds its buffer.
                            self.tx = Bytes::new();
                        }
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(DriveStep::Done(Some(e))),
                    Poll::Pending => break,
                }
            }
            if self.session.is_finished() && self.tx.is_empty() {
                return match io.poll_close(cx) {
                    Poll::Ready(_) if self.reading && !self.session.is_aborted() => {
                        let until = io.now() + LINGER;
                        self.lingering = Some(until);
                        self.poll_linger(io, cx, until)
                    }
                    Poll::Ready(_) => Poll::Ready(DriveStep::Done(None)),
                    Poll::Pending => Poll::Pending,
                };
            }
            if self.reading && self.session.wants_input() {
                match self.poll_read(io, cx) {
                    Poll::Ready(Ok(())) => progress = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(DriveStep::Done(Some(e))),
                    Poll::Pending => {}
                }
            }
            if wakeup.poll_notified(cx).is_ready() {
                self.session.process();
                progress = true;
            }
            if let Some(deadline) = self.session.poll_timeout() {
                if io.now() >= deadline || io.poll_sleep_until(cx, deadline).is_ready() {
                    self.session.handle_timeout(io.now());
                    progress = true;
                }
            }
            if !progress {
                // Going idle: unless data streams in, let the session drop its empty
                // buffers and queues (cheap; a busy sender allocates once per burst).
                if !self.streaming && self.tx.is_empty() {
                    self.session.shrink_buffers();
                }
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// One read into the receive buffer and its processing. A quiet connection holds
    /// no buffer: it waits for readiness first, reads into a small one, and lets it go
    /// again once everything read has been consumed by a small read.
    fn poll_read<Io: PollIo>(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.rx.capacity() == 0 {
            std::task::ready!(io.poll_read_ready(cx))?;
        }
        let want = if self.streaming {
            READ_CHUNK
        } else {
            SMALL_READ
        };
        if self.rx.capacity() - self.rx.len() < want / 4 {
            self.rx.reserve(want);
        }
        let spare = self.rx.capacity() - self.rx.len();
        let n = match io.poll_read(cx, &mut self.rx) {
            Poll::Ready(r) => r?,
            Poll::Pending => {
                // Readiness can be stale: do not hold a buffer while waiting.
                if self.rx.is_empty() && !self.streaming {
                    self.rx = BytesMut::new();
                }
                return Poll::Pending;
            }
        };
        if n == 0 {
            self.reading = false;
            self.session.peer_closed();
            self.rx = BytesMut::new();
            return Poll::Ready(Ok(()));
        }
        self.session.handle_input(io.now(), &mut self.rx);
        // Nothing to answer with during the handshake: acknowledge now, or a client
        // whose next message waits for this ACK (Nagle) stalls for 40 ms.
        if !self.session.is_authenticated() && self.session.pending_output() == 0 {
            io.ack_now();
        }
        self.streaming = n == spare || n >= SMALL_READ;
        if self.rx.is_empty() && !self.streaming {
            self.rx = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }

    /// Our side is shut down: discard input until the peer closes or `until`.
    fn poll_linger<Io: PollIo>(
        &mut self,
        io: &mut Io,
        cx: &mut Context<'_>,
        until: Instant,
    ) -> Poll<DriveStep<S>> {
        loop {
            self.rx.clear();
            if self.rx.capacity() < READ_CHUNK / 4 {
                self.rx.reserve(READ_CHUNK / 4);
            }
            match io.poll_read(cx, &mut self.rx) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    return Poll::Ready(DriveStep::Done(None))
                }
                Poll::Ready(Ok(_)) => continue,
                Poll::Pending => break,
            }
        }
        if io.now() >= until || io.poll_sleep_until(cx, until).is_ready() {
            return Poll::Ready(DriveStep::Done(None));
        }
        Poll::Pending
    }
}

/// Serve `session` over `io` to its end, handing each [`Call`] to `on_call` (which
/// typically spawns a task running the handler). Returns how the connection ended
/// and the socket error that ended it, if any. Runtime-neutral: any executor can
/// await it.
pub async fn serve<S: Default + Send + 'static, Io: PollIo>(
    session: Box<Session<S>>,
    mut io: Io,
    mut on_call: impl FnMut(Call<S>),
) -> (Ended, Option<io::Error>) {
    let mut driver = Driver::new(session);
    let error = loop {
        match std::future::poll_fn(|cx| driver.poll(&mut io, cx)).await {
            DriveStep::Call(call) => on_call(*call),
            DriveStep::Done(e) => break e,
        }
    };
    (driver.finish(error.as_ref()), error)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::Waker;

    use super::*;
    use crate::{AdmissionPolicy, ServerControl};
    use ssh_proto::{AuthDecision, ClientConnection};

    /// The socket as byte queues, counting immediate-ACK requests. Reads return at
    /// most 7 bytes, so many leave the server a partial packet and nothing to send.
    #[derive(Default)]
    struct MemoryIo {
        inbound: std::collections::VecDeque<Bytes>,
        outbound: BytesMut,
        acks: usize,
        /// A peer that stopped reading: every write waits.
        stalled: bool,
        /// A fake clock: when set, `now()` reads it and sleeps end once it passes them.
        clock: Option<Instant>,
    }

    impl PollIo for MemoryIo {
        fn poll_read(
            &mut self,
            _: &mut Context<'_>,
            buf: &mut BytesMut,
        ) -> Poll<io::Result<usize>> {
            let Some(front) = self.inbound.front_mut() else {
                return Poll::Pending;
            };
            let n = front.len().min(buf.capacity() - buf.len()).min(7);
            buf.extend_from_slice(&front.split_to(n));
            if front.is_empty() {
                self.inbound.pop_front();
            }
            Poll::Ready(Ok(n))
        }
        fn poll_write(&mut self, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            if self.stalled {
                return Poll::Pending;
            }
            self.outbound.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_close(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_sleep_until(&mut self, _: &mut Context<'_>, deadline: Instant) -> Poll<()> {
            match self.clock {
                Some(now) if now >= deadline => Poll::Ready(()),
                _ => Poll::Pending,
            }
        }
        fn ack_now(&mut self) {
            self.acks += 1;
        }
        fn now(&self) -> Instant {
            self.clock.unwrap_or_else(Instant::now)
        }
    }

    /// Run driver and client until neither moves; the handler accepts everything.
    fn settle(driver: &mut Driver<()>, io: &mut MemoryIo, client: &mut ClientConnection) {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..100_000 {
            let unread: usize = io.inbound.iter().map(|b| b.len()).sum();
            let mut moved = false;
            while let Poll::Ready(step) = driver.poll(io, &mut cx) {
                moved = true;
                match step {
                    DriveStep::Call(call) => match *call {
                        Call::Auth { reply, .. } => reply.send(AuthDecision::Accept),
                        Call::ChannelOpen { reply, .. } => reply.send(true),
                        Call::ChannelRequest { reply, .. } => reply.send(true),
                    },
                    DriveStep::Done(e) => panic!("ended: {e:?}"),
                }
            }
            moved |= unread != io.inbound.iter().map(|b| b.len()).sum::<usize>();
            if !io.outbound.is_empty() {
                moved = true;
                let mut b = io.outbound.split();
                client.handle_input(Instant::now(), &mut b).unwrap();
            }
            while let Some(b) = client.poll_transmit() {
                moved = true;
                io.inbound.push_back(b);
            }
            while client.poll_event().is_some() {
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    #[test]
    fn reads_are_acknowledged_at_once_until_login_and_not_after() {
        let (s, c) = ssh_proto::testing::seeded_configs(81).unwrap();
        let control = ServerControl::new(AdmissionPolicy::default()).unwrap();
        let admitted = control
            .admit(
                "10.0.0.7:5000".parse().unwrap(),
                "10.0.0.1:22".parse().unwrap(),
            )
            .unwrap();
        let session = Session::new(Arc::new(s), Instant::now(), admitted).unwrap();
        let mut driver = Driver::new(Box::new(session));
        let mut client = ClientConnection::new(Arc::new(c), Instant::now()).unwrap();
        let mut io = MemoryIo::default();
        settle(&mut driver, &mut io, &mut client);
        let during_kex = io.acks;
        assert!(during_kex > 0, "no immediate ACK during the key exchange");
        client.auth_password("ann", "pw").unwrap();
        settle(&mut driver, &mut io, &mut client);
        assert!(client.is_authenticated());
        let at_login = io.acks;
        assert!(at_login > during_kex);
        let ch = client.open_session().unwrap();
        settle(&mut driver, &mut io, &mut client);
        client.channel(ch).unwrap().send(b"after login").unwrap();
        settle(&mut driver, &mut io, &mut client);
        assert_eq!(io.acks, at_login, "ACKs forced after login");
    }

    #[test]
    fn an_abort_ends_a_connection_whose_output_is_stuck() {
        let (s, _) = ssh_proto::testing::seeded_configs(82).unwrap();
        let control = ServerControl::new(AdmissionPolicy::default()).unwrap();
        let admitted = control
            .admit(
                "10.0.0.8:5000".parse().unwrap(),
                "10.0.0.1:22".parse().unwrap(),
            )
            .unwrap();
        let session = Session::<()>::new(Arc::new(s), Instant::now(), admitted).unwrap();
        let mut driver = Driver::new(Box::new(session));
        let mut io = MemoryIo {
            stalled: true,
            ..MemoryIo::default()
        };
        let mut cx = Context::from_waker(Waker::noop());
        // Our version line and KEXINIT wait on a socket that takes nothing.
        assert!(driver.poll(&mut io, &mut cx).is_pending());
        assert!(driver.session().pending_output() > 0 || io.outbound.is_empty());
        control.abort_all();
        match driver.poll(&mut io, &mut cx) {
            Poll::Ready(DriveStep::Done(None)) => {}
            other => panic!("not ended by the abort: {other:?}"),
        }
    }

    #[test]
    fn the_driver_runs_on_the_io_clock_alone() {
        let (s, c) = ssh_proto::testing::seeded_configs(83).unwrap();
        let control = ServerControl::new(AdmissionPolicy::default()).unwrap();
        let admitted = control
            .admit(
                "10.0.0.9:5000".parse().unwrap(),
                "10.0.0.1:22".parse().unwrap(),
            )
            .unwrap();
        let start = Instant::now();
        let session = Session::new(Arc::new(s), start, admitted).unwrap();
        let mut driver = Driver::new(Box::new(session));
        let mut client = ClientConnection::new(Arc::new(c), start).unwrap();
        let mut io = MemoryIo {
            clock: Some(start),
            ..MemoryIo::default()
        };
        settle(&mut driver, &mut io, &mut client);
        assert!(
            !driver.session().is_finished(),
            "ended before any time passed"
        );
        // No login: two minutes of fake time (no real time passes) end it.
        io.clock = Some(start + std::time::Duration::from_secs(121));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            driver.poll(&mut io, &mut cx).is_pending(),
            "lingers for the peer's close"
        );
        let mut out = io.outbound.split();
        // The client reads the server's DISCONNECT (an error for it: the peer ended).
        assert!(client.handle_input(start, &mut out).is_err());
        let mut reason = None;
        while let Some(e) = client.poll_event() {
            if let ssh_proto::Event::Disconnected { reason: r, .. } = e {
                reason = Some(r);
            }
        }
        assert_eq!(reason, Some(ssh_proto::DisconnectReason::ByApplication));
        // The linger ends on the same clock.
        io.clock = Some(start + std::time::Duration::from_secs(124));
        assert!(matches!(
            driver.poll(&mut io, &mut cx),
            Poll::Ready(DriveStep::Done(None))
        ));
    }
}
