//! One connection on std threads: the shared [`Driver`] loop on the calling thread,
//! polled with a waker that unparks it, and a reader thread that blocks on the socket
//! and hands chunks over through a bounded queue.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use ssh_proto::bytes::BytesMut;
use ssh_proto::ServerConfig;
use ssh_server::{Admitted, Call, DriveStep, Driver, PollIo, Session};
use tracing::info;

use crate::stream::Unpark;
use crate::Handler;

/// Bytes offered to one read.
const READ_CHUNK: usize = 64 * 1024;
/// Chunks the reader may queue before it waits for the driver.
const READ_QUEUE: usize = 16;
/// How long one blocked write waits before the driver looks at its other work (timers,
/// an abort): a peer that stops reading must not pin the thread.
const WRITE_POLL: Duration = Duration::from_secs(1);

enum Input {
    Bytes(BytesMut),
    Eof,
    Failed(io::Error),
}

/// Read the socket until EOF or an error, queueing chunks for the driver thread and
/// unparking it after each. Reads go into one buffer that is reused once the driver
/// has let go of the chunks cut from it (no allocation per read).
fn reader(mut stream: TcpStream, driver: Thread) -> Receiver<Input> {
    let (tx, rx) = sync_channel(READ_QUEUE);
    let span = tracing::Span::current();
    std::thread::spawn(move || {
        let _g = span.enter();
        let mut pool = BytesMut::new();
        loop {
            pool.reserve(READ_CHUNK);
            // std reads into initialised memory.
            pool.resize(READ_CHUNK, 0);
            let msg = match stream.read(&mut pool) {
                Ok(0) => Input::Eof,
                Ok(n) => {
                    pool.truncate(n);
                    Input::Bytes(pool.split())
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Input::Failed(e),
            };
            let last = !matches!(msg, Input::Bytes(_));
            if tx.send(msg).is_err() {
                return;
            }
            driver.unpark();
            if last {
                return;
            }
        }
    });
    rx
}

/// The socket as the driver's [`PollIo`]: reads come from the reader thread's queue,
/// writes block (a bounded time), sleeps are recorded for the park that follows.
struct ThreadIo {
    stream: TcpStream,
    input: Receiver<Input>,
    /// A chunk taken off the queue by a readiness check, not yet read.
    next: Option<Input>,
    /// The earliest deadline the driver asked to sleep until in this poll.
    deadline: Option<Instant>,
}

impl ThreadIo {
    fn peek(&mut self) -> Option<&Input> {
        if self.next.is_none() {
            self.next = match self.input.try_recv() {
                Ok(i) => Some(i),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(Input::Eof),
            };
        }
        self.next.as_ref()
    }
}

impl PollIo for ThreadIo {
    fn poll_read(&mut self, _: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        self.peek();
        match self.next.take() {
            None => Poll::Pending,
            Some(Input::Bytes(b)) => {
                buf.extend_from_slice(&b);
                Poll::Ready(Ok(b.len()))
            }
            Some(Input::Eof) => Poll::Ready(Ok(0)),
            Some(Input::Failed(e)) => Poll::Ready(Err(e)),
        }
    }

    fn poll_read_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.peek() {
            Some(_) => Poll::Ready(Ok(())),
            None => Poll::Pending,
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.stream.write(buf) {
            Ok(0) => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => Poll::Ready(Ok(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                // Let the driver look at its other work, then try again.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_close(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = self.stream.shutdown(Shutdown::Write);
        Poll::Ready(Ok(()))
    }

    fn poll_sleep_until(&mut self, _: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        Poll::Pending
    }

    fn ack_now(&mut self) {
        let _ = ssh_server::ack_now(&self.stream);
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Run one admitted connection on the calling thread until it ends.
pub fn run_connection<H: Handler>(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    admitted: Admitted,
) -> io::Result<()> {
    let id = admitted.id();
    let session: Session<H::ChannelState> =
        Session::new(config, Instant::now(), admitted).map_err(io::Error::other)?;
    handler.connected(&session.info());
    stream.set_write_timeout(Some(WRITE_POLL))?;
    let mut io = ThreadIo {
        input: reader(stream.try_clone()?, std::thread::current()),
        stream,
        next: None,
        deadline: None,
    };
    let mut driver = Driver::new(Box::new(session));
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let error = loop {
        io.deadline = None;
        match driver.poll(&mut io, &mut cx) {
            Poll::Ready(DriveStep::Call(call)) => dispatch(&handler, *call),
            Poll::Ready(DriveStep::Done(e)) => break e,
            Poll::Pending => match io.deadline {
                Some(d) => std::thread::park_timeout(d.saturating_duration_since(Instant::now())),
                None => std::thread::park(),
            },
        }
    };
    // Ends the reader thread too.
    let _ = io.stream.shutdown(Shutdown::Both);
    let ended = driver.finish(error.as_ref());
    info!(description = %ended.description, "connection ended");
    handler.disconnected(id, &ended);
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Run a decision on its own thread, in the connection's span.
fn dispatch<H: Handler>(handler: &Arc<H>, call: Call<H::ChannelState>) {
    let h = handler.clone();
    let span = tracing::Span::current();
    std::thread::spawn(move || {
        let _g = span.enter();
        match call {
            Call::Auth {
                request,
                origin,
                reply,
            } => reply.send(h.auth_from(origin, request)),
            Call::ChannelOpen {
                channel,
                kind,
                reply,
            } => reply.send(h.channel_open(channel.with_stream(), kind)),
            Call::ChannelRequest {
                channel,
                request,
                reply,
            } => reply.send(h.channel_request(channel.with_stream(), request)),
        }
    });
}
