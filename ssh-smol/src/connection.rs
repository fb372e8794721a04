//! One connection on a smol task: the socket and timer as [`PollIo`], the shared
//! [`Driver`] loop, and each [`Call`] run on its own task.

use std::future::Future;
use std::io;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use smol::io::{AsyncRead, AsyncWrite};
use smol::{Async, Timer};
use ssh_proto::bytes::BytesMut;
use ssh_proto::server::{serve, Admitted, Call, PollIo, Session};
use ssh_proto::ServerConfig;
use tracing::{info, Instrument};

use crate::Handler;

/// Most bytes offered to one read.
const READ_CHUNK: usize = 64 * 1024;

struct SmolIo {
    stream: Async<TcpStream>,
    timer: Option<(Instant, Timer)>,
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

    fn ack_now(&mut self) {
        let _ = ssh_net::ack_now(self.stream.get_ref());
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
}

/// Run one admitted connection until it ends: the handshake starts at once.
pub async fn run_connection<H: Handler>(
    stream: Async<TcpStream>,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    admitted: Admitted,
) -> io::Result<()> {
    let id = admitted.id();
    let session: Box<Session<H::ChannelState>> =
        Box::new(Session::new(config, Instant::now(), admitted).map_err(io::Error::other)?);
    handler.connected(&session.info());
    let io = SmolIo {
        stream,
        timer: None,
    };
    let (ended, error) = serve(session, io, |call| dispatch(&handler, call)).await;
    info!(description = %ended.description, "connection ended");
    handler.disconnected(id, &ended);
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Run a decision on its own task, in the connection's span.
fn dispatch<H: Handler>(handler: &Arc<H>, call: Call<H::ChannelState>) {
    let h = handler.clone();
    let task = async move {
        match call {
            Call::Auth { request, reply } => reply.send(h.auth(request).await),
            Call::ChannelOpen {
                channel,
                kind,
                reply,
            } => reply.send(h.channel_open(channel.with_stream(), kind).await),
            Call::ChannelRequest {
                channel,
                request,
                reply,
            } => reply.send(h.channel_request(channel.with_stream(), request).await),
        }
    };
    smol::spawn(task.in_current_span()).detach();
}
