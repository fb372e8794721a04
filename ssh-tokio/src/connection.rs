//! One connection on a tokio task: the socket and timer as [`PollIo`], the shared
//! [`Driver`] loop, and each [`Call`] run on its own task.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use ssh_proto::bytes::BytesMut;
use ssh_proto::server::{serve, Admitted, Call, PollIo, Session};
use ssh_proto::ServerConfig;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tracing::{info, Instrument};

use crate::Handler;

struct TokioIo {
    stream: TcpStream,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
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

    fn ack_now(&mut self) {
        let _ = ssh_net::ack_now(&self.stream);
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
}

/// Run one admitted connection until it ends: the handshake starts at once.
pub async fn run_connection<H: Handler>(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    admitted: Admitted,
) -> io::Result<()> {
    let id = admitted.id();
    let session: Box<Session<H::ChannelState>> =
        Box::new(Session::new(config, Instant::now(), admitted).map_err(io::Error::other)?);
    handler.connected(&session.info());
    let io = TokioIo {
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
    tokio::spawn(task.in_current_span());
}
