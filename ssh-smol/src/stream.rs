//! Channels as futures-io `AsyncRead + AsyncWrite` streams (as smol uses) over the core's runtime-neutral
//! [`ChannelIo`], and the handler's [`ChannelContext`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use smol::io::{AsyncRead, AsyncWrite};
use ssh_proto::bytes::Bytes;
use ssh_proto::server::{self, ChannelControl, ChannelIo, ChannelWriterIo};

/// What a channel handler can reach: `connection`, `channel`, `user`, `state()`,
/// `control()`, and `take_stream()` giving this adapter's [`ChannelStream`].
pub type ChannelContext<S> = server::ChannelContext<S, ChannelStream>;

impl From<ChannelIo> for ChannelStream {
    fn from(io: ChannelIo) -> Self {
        ChannelStream { io }
    }
}

/// One channel's data: read what the client sends (stdin), write stdout; `stderr()`
/// gives a writer for extended data. Dropping it does not close the channel.
#[derive(Debug)]
pub struct ChannelStream {
    io: ChannelIo,
}

/// A writer for the channel's stderr stream.
#[derive(Debug, Clone)]
pub struct ChannelStderr {
    io: ChannelWriterIo,
}

impl ChannelStream {
    /// A writer for stderr (extended data type 1).
    pub fn stderr(&self) -> ChannelStderr {
        ChannelStderr {
            io: self.io.stderr(),
        }
    }

    /// A handle to send exit status, EOF and close from another task.
    pub fn control(&self) -> ChannelControl {
        self.io.control()
    }

    /// The next run of received bytes, whole and without a copy; None at EOF or close.
    pub async fn recv(&mut self) -> io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.io.poll_recv(cx)).await
    }

    /// Send `data` as stdout without copying it: packets are sealed straight from
    /// its memory. Waits while earlier output fills the stream, like a write.
    pub async fn send(&mut self, data: Bytes) -> io::Result<()> {
        let mut data = data;
        std::future::poll_fn(|cx| self.io.poll_send(cx, &mut data)).await
    }

    /// Report the exit status (sent after all data written so far).
    pub fn exit_status(&self, code: u32) {
        self.control().exit_status(code)
    }

    /// Finish: exit status, EOF and close, after all data written so far.
    pub fn exit(&self, code: u32) {
        self.control().exit(code)
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

impl AsyncRead for ChannelStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }
}

impl AsyncWrite for ChannelStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.control().eof();
        Poll::Ready(Ok(()))
    }
}

impl ChannelStderr {
    /// Send `data` as stderr without copying it (see [`ChannelStream::send`]).
    pub async fn send(&mut self, data: Bytes) -> io::Result<()> {
        let mut data = data;
        std::future::poll_fn(|cx| self.io.poll_send(cx, &mut data)).await
    }
}

impl AsyncWrite for ChannelStderr {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
