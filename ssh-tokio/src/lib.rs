//! Tokio adapter for `ssh-proto`: the shared [`ssh_server`] layer on tokio. A
//! [`Server`] binds (IPv4, IPv6 or both), admits, accepts and runs each connection on
//! its own task; the application implements [`Handler`]`<`[`ChannelStream`]`>`;
//! channels are `AsyncRead + AsyncWrite` streams; a [`ServerControl`] lists,
//! disconnects and shuts down from anywhere. The clock is tokio's, so a test under
//! `tokio::time::pause()` drives the connection's timers on paused time.

pub mod forward;
mod stream;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ssh_proto::bytes::BytesMut;
use ssh_server::{PollIo, Runtime};
use tokio::io::AsyncWrite;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

pub use ssh_server::{
    ChannelControl, ConnectionOrigin, Handler, IpFamily, ListenOptions, Refusal, ServerControl,
    ServerOptions, TcpOptions,
};
pub use stream::{ChannelContext, ChannelStderr, ChannelStream, ChannelWriter};

/// The tokio runtime, as the shared server loop uses it.
#[derive(Debug)]
pub struct Tokio;

/// A listening SSH server on tokio.
pub type Server<H> = ssh_server::Server<Tokio, H>;
/// Stops a running tokio server from anywhere.
pub type ServerHandle = ssh_server::ServerHandle<Tokio>;

/// An accepted connection: the socket, and the timer the driver sleeps on.
#[derive(Debug)]
pub struct TokioIo {
    stream: TcpStream,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl TokioIo {
    /// Wrap an accepted socket (for driving a connection without [`Server`]).
    pub fn new(stream: TcpStream) -> Self {
        TokioIo {
            stream,
            timer: None,
        }
    }
}

impl AsFd for TokioIo {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl PollIo for TokioIo {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.stream.poll_read_ready(cx))?;
            match self.stream.try_read_buf(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.poll_read_ready(cx)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_sleep_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        match &mut self.timer {
            Some((d, sleep)) if *d == deadline => sleep.as_mut().poll(cx),
            slot => {
                let mut sleep = Box::pin(tokio::time::sleep_until(deadline.into()));
                let r = sleep.as_mut().poll(cx);
                *slot = Some((deadline, sleep));
                r
            }
        }
    }

    fn ack_now(&mut self) {
        let _ = ssh_server::ack_now(&self.stream);
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl Runtime for Tokio {
    type Listener = TcpListener;
    type Io = TokioIo;
    type Stream = ChannelStream;

    fn listener(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn poll_accept(
        listener: &TcpListener,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TokioIo, SocketAddr)>> {
        listener
            .poll_accept(cx)
            .map_ok(|(stream, peer)| (TokioIo::new(stream), peer))
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
