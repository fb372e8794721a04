//! smol adapter for `ssh-proto`: the shared [`ssh_server`] layer on smol. A
//! [`Server`] binds (IPv4, IPv6 or both), admits, accepts and runs each connection on
//! its own task; the application implements [`Handler`]`<`[`ChannelStream`]`>`;
//! channels are futures-io `AsyncRead + AsyncWrite` streams; a [`ServerControl`]
//! lists, disconnects and shuts down from anywhere.

pub mod forward;
mod stream;

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use smol::io::{AsyncRead, AsyncWrite};
use smol::{Async, Timer};
use ssh_proto::bytes::BytesMut;
use ssh_server::{PollIo, Runtime};

pub use ssh_server::{
    ChannelControl, ConnectionOrigin, Handler, IpFamily, ListenOptions, Refusal, ServerControl,
    ServerOptions, TcpOptions,
};
pub use stream::{ChannelContext, ChannelStderr, ChannelStream, ChannelWriter};

/// Most bytes offered to one read.
const READ_CHUNK: usize = 64 * 1024;

/// The smol runtime (its global executor), as the shared server loop uses it.
#[derive(Debug)]
pub struct Smol;

/// A listening SSH server on smol.
pub type Server<H> = ssh_server::Server<Smol, H>;
/// Stops a running smol server from anywhere.
pub type ServerHandle = ssh_server::ServerHandle<Smol>;

/// An accepted connection: the socket, and the timer the driver sleeps on.
#[derive(Debug)]
pub struct SmolIo {
    stream: Async<TcpStream>,
    timer: Option<(Instant, Timer)>,
}

impl SmolIo {
    /// Wrap an accepted socket (for driving a connection without [`Server`]).
    pub fn new(stream: Async<TcpStream>) -> Self {
        SmolIo {
            stream,
            timer: None,
        }
    }
}

impl AsFd for SmolIo {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.get_ref().as_fd()
    }
}

impl PollIo for SmolIo {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        // futures-io reads into initialised memory: zero the room offered, read into
        // it, keep what arrived. No scratch buffer is held, so an idle connection
        // keeps no read memory (the driver drops its buffer when quiet).
        let start = buf.len();
        let room = (buf.capacity() - start).clamp(1, READ_CHUNK);
        buf.resize(start + room, 0);
        let r = Pin::new(&mut self.stream).poll_read(cx, &mut buf[start..]);
        let n = match &r {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(start + n);
        r
    }

    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.poll_readable(cx)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }

    fn poll_sleep_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        let (d, timer) = self
            .timer
            .get_or_insert_with(|| (deadline, Timer::at(deadline)));
        if *d != deadline {
            *d = deadline;
            timer.set_at(deadline);
        }
        Pin::new(timer).poll(cx).map(|_| ())
    }

    fn ack_now(&mut self) {
        let _ = ssh_server::ack_now(self.stream.get_ref());
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Runtime for Smol {
    type Listener = Async<TcpListener>;
    type Io = SmolIo;
    type Stream = ChannelStream;

    fn listener(listener: TcpListener) -> io::Result<Async<TcpListener>> {
        Async::new(listener)
    }

    fn local_addr(listener: &Async<TcpListener>) -> io::Result<SocketAddr> {
        listener.get_ref().local_addr()
    }

    fn poll_accept(
        listener: &Async<TcpListener>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(SmolIo, SocketAddr)>> {
        loop {
            std::task::ready!(listener.poll_readable(cx))?;
            match listener.get_ref().accept() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
                Ok((socket, peer)) => {
                    return Poll::Ready(Async::new(socket).map(|s| (SmolIo::new(s), peer)))
                }
            }
        }
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }

    async fn sleep(duration: Duration) {
        Timer::after(duration).await;
    }
}
