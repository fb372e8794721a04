//! One connection on std threads: a reader thread feeding a bounded queue, and the
//! driver loop on the calling thread around the shared [`Session`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

use ssh_proto::bytes::BytesMut;
use ssh_proto::server::{Admitted, Call, Session, Wakeup};
use ssh_proto::ServerConfig;
use tracing::info;

use crate::Handler;

/// Bytes offered to one read.
const READ_CHUNK: usize = 64 * 1024;
/// Chunks the reader may queue before it waits for the driver.
const READ_QUEUE: usize = 16;
/// After our last bytes, how long to wait for the peer to close.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
/// How often a blocked write looks whether the connection was aborted.
const WRITE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

enum Input {
    Bytes(BytesMut),
    Eof,
    Failed(io::Error),
}

fn reader(mut stream: TcpStream, wake: Arc<Wakeup>) -> Receiver<Input> {
    let (tx, rx) = sync_channel(READ_QUEUE);
    let span = tracing::Span::current();
    std::thread::spawn(move || {
        let _g = span.enter();
        loop {
            let mut buf = BytesMut::zeroed(READ_CHUNK);
            let msg = match stream.read(&mut buf) {
                Ok(0) => Input::Eof,
                Ok(n) => {
                    buf.truncate(n);
                    Input::Bytes(buf)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Input::Failed(e),
            };
            let last = !matches!(msg, Input::Bytes(_));
            if tx.send(msg).is_err() {
                return;
            }
            wake.notify();
            if last {
                return;
            }
        }
    });
    rx
}

/// Run one admitted connection on the calling thread until it ends.
pub fn run_connection<H: Handler>(
    mut stream: TcpStream,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    admitted: Admitted,
) -> io::Result<()> {
    let id = admitted.id();
    let mut session: Session<H::ChannelState> =
        Session::new(config, Instant::now(), admitted).map_err(io::Error::other)?;
    handler.connected(&session.info());
    let wake = session.wakeup();
    let input = reader(stream.try_clone()?, wake.clone());
    stream.set_write_timeout(Some(WRITE_POLL))?;
    let mut rx = BytesMut::new();
    let mut reading = true;
    let error = loop {
        while let Some(call) = session.poll_call() {
            dispatch(&handler, call);
        }
        let mut failed = None;
        while let Some(b) = session.poll_transmit() {
            if let Err(e) = write_all(&mut stream, &b, &session) {
                failed = Some(e);
                break;
            }
        }
        if failed.is_some() {
            break failed;
        }
        if session.is_finished() {
            break None;
        }
        let mut progress = false;
        while reading {
            match input.try_recv() {
                Ok(Input::Bytes(b)) => {
                    // Take the reader's buffer as is when nothing is left over: no copy.
                    if rx.is_empty() {
                        rx = b;
                    } else {
                        rx.extend_from_slice(&b);
                    }
                    session.handle_input(Instant::now(), &mut rx);
                    if !session.is_authenticated() && session.pending_output() == 0 {
                        // See ssh_net::ack_now: no 40 ms stalls in the handshake.
                        let _ = ssh_net::ack_now(&stream);
                    }
                    progress = true;
                }
                Ok(Input::Eof) | Err(TryRecvError::Disconnected) => {
                    reading = false;
                    session.peer_closed();
                    progress = true;
                }
                Ok(Input::Failed(e)) => {
                    failed = Some(e);
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        if failed.is_some() {
            break failed;
        }
        let deadline = session.poll_timeout();
        if deadline.is_some_and(|d| d <= Instant::now()) {
            session.handle_timeout(Instant::now());
            progress = true;
        }
        if !progress && wake.wait(deadline) {
            session.process();
        }
    };
    if error.is_none() && reading && !session.is_aborted() {
        // Half-close and wait for the peer's close: closing with unread input sends
        // a reset, which can destroy the DISCONNECT before the client reads it.
        let _ = stream.shutdown(Shutdown::Write);
        let until = Instant::now() + LINGER;
        while let Ok(Input::Bytes(_)) =
            input.recv_timeout(until.saturating_duration_since(Instant::now()))
        {}
    }
    let _ = stream.shutdown(Shutdown::Both);
    let ended = session.finish(error.as_ref());
    info!(description = %ended.description, "connection ended");
    handler.disconnected(id, &ended);
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Write everything, waking every [`WRITE_POLL`] to see whether the connection was
/// aborted meanwhile (a peer that stops reading must not pin the thread forever).
fn write_all<S: Default + Send + 'static>(
    stream: &mut TcpStream,
    mut buf: &[u8],
    session: &Session<S>,
) -> io::Result<()> {
    while !buf.is_empty() {
        match stream.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if session.is_aborted() {
                    return Err(io::Error::other("aborted while the peer was not reading"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Run a decision on its own thread, in the connection's span.
fn dispatch<H: Handler>(handler: &Arc<H>, call: Call<H::ChannelState>) {
    let h = handler.clone();
    let span = tracing::Span::current();
    std::thread::spawn(move || {
        let _g = span.enter();
        match call {
            Call::Auth { request, reply } => reply.send(h.auth(request)),
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
