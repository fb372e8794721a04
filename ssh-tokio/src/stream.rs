//! Channels as `AsyncRead + AsyncWrite` streams, with backpressure end to end: the
//! receive window reopens only as the application reads.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use ssh_proto::bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Commands a stream queues for the connection task, applied after buffered output.
#[derive(Debug)]
pub(crate) enum Command {
    ExitStatus(u32),
    ExitSignal(String, bool, String),
    Eof,
    Close,
}

/// State shared between a channel's stream and its connection task.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) inbound: VecDeque<Bytes>,
    pub(crate) eof: bool,
    pub(crate) closed: bool,
    pub(crate) read_waker: Option<Waker>,
    /// Bytes read by the application, not yet reported to the core.
    pub(crate) consumed: usize,
    pub(crate) out: [BytesMut; 2],
    pub(crate) write_waker: Option<Waker>,
    pub(crate) commands: VecDeque<Command>,
}

/// Bytes a stream buffers before its writer waits for the connection to take them.
const OUT_CAP: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) shared: Arc<Mutex<Shared>>,
    pub(crate) wake_conn: Arc<Notify>,
}

impl Link {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn command(&self, c: Command) {
        self.lock().commands.push_back(c);
        self.wake_conn.notify_one();
    }

    fn poll_write_to(
        &self,
        cx: &mut Context<'_>,
        idx: usize,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.lock();
        if s.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = OUT_CAP.saturating_sub(s.out[idx].len());
        if room == 0 {
            s.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        s.out[idx].extend_from_slice(&buf[..n]);
        drop(s);
        self.wake_conn.notify_one();
        Poll::Ready(Ok(n))
    }

    fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = self.lock();
        if s.closed || (s.out[0].is_empty() && s.out[1].is_empty()) {
            Poll::Ready(Ok(()))
        } else {
            s.write_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// One channel's data: read what the client sends (stdin), write stdout; `stderr()`
/// gives a writer for extended data. Dropping it does not close the channel: call
/// [`ChannelStream::close`] (or `exit_status` then `close`).
#[derive(Debug)]
pub struct ChannelStream {
    pub(crate) link: Link,
}

/// A writer for the channel's stderr stream.
#[derive(Debug, Clone)]
pub struct ChannelStderr {
    link: Link,
}

impl ChannelStream {
    /// A writer for stderr (extended data type 1).
    pub fn stderr(&self) -> ChannelStderr {
        ChannelStderr {
            link: self.link.clone(),
        }
    }

    /// A handle to send exit status, EOF and close from another task.
    pub fn control(&self) -> ChannelControl {
        ChannelControl {
            link: self.link.clone(),
        }
    }

    /// Report the exit status (sent after all data written so far).
    pub fn exit_status(&self, code: u32) {
        self.control().exit_status(code)
    }

    /// Send EOF after all data written so far.
    pub fn eof(&self) {
        self.control().eof()
    }

    /// Close the channel after all data written so far.
    pub fn close(&self) {
        self.control().close()
    }
}

/// Sends a channel's closing messages; cheap to clone.
#[derive(Debug, Clone)]
pub struct ChannelControl {
    link: Link,
}

impl ChannelControl {
    /// Report the exit status (after data already written).
    pub fn exit_status(&self, code: u32) {
        self.link.command(Command::ExitStatus(code));
    }

    /// Report death by a signal ("TERM", "KILL", ... without "SIG").
    pub fn exit_signal(&self, signal: &str, core_dumped: bool, message: &str) {
        self.link.command(Command::ExitSignal(
            signal.into(),
            core_dumped,
            message.into(),
        ));
    }

    /// Send EOF (after data already written).
    pub fn eof(&self) {
        self.link.command(Command::Eof);
    }

    /// Close (after data already written).
    pub fn close(&self) {
        self.link.command(Command::Close);
    }
}

impl AsyncRead for ChannelStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut s = self.link.lock();
        let mut n = 0;
        while buf.remaining() > 0 {
            let Some(front) = s.inbound.front_mut() else {
                break;
            };
            let k = front.len().min(buf.remaining());
            buf.put_slice(&front[..k]);
            front.advance(k);
            if front.is_empty() {
                s.inbound.pop_front();
            }
            n += k;
        }
        if n > 0 {
            s.consumed += n;
            drop(s);
            self.link.wake_conn.notify_one();
            return Poll::Ready(Ok(()));
        }
        if s.eof || s.closed {
            return Poll::Ready(Ok(()));
        }
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for ChannelStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.link.poll_write_to(cx, 0, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.poll_drained(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.command(Command::Eof);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ChannelStderr {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.link.poll_write_to(cx, 1, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.poll_drained(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
