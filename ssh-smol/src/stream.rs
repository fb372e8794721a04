//! Channels as futures-io `AsyncRead + AsyncWrite` streams (as smol uses) over the core's runtime-neutral
//! [`ChannelIo`], and the handler's [`ChannelContext`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use smol::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ssh_proto::bytes::Bytes;
use ssh_proto::server::{self, ChannelControl, ChannelIo, ChannelWriterIo, SendBuffer};

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

/// A writer for one of the channel's output streams (stdout or stderr), usable from
/// another task than the one reading.
#[derive(Debug, Clone)]
pub struct ChannelWriter {
    io: ChannelWriterIo,
}

/// The channel's stderr writer (a [`ChannelWriter`]).
pub type ChannelStderr = ChannelWriter;

impl ChannelStream {
    /// A writer for stderr (extended data type 1).
    pub fn stderr(&self) -> ChannelWriter {
        ChannelWriter {
            io: self.io.stderr(),
        }
    }

    /// A writer for stdout, to write from another task than the one reading.
    pub fn stdout(&self) -> ChannelWriter {
        ChannelWriter {
            io: self.io.stdout_writer(),
        }
    }

    /// Write everything the client sends to `w`, until the client's EOF or the
    /// channel's close; each received run is written straight from the read buffer
    /// (no copy in between). Returns the bytes written; `w` is flushed at the end.
    pub async fn recv_to<W: AsyncWrite + Unpin>(&mut self, w: &mut W) -> io::Result<u64> {
        let mut total = 0;
        while let Some(b) = self.recv().await? {
            w.write_all(&b).await?;
            total += b.len() as u64;
        }
        w.flush().await?;
        Ok(total)
    }

    /// Send everything `r` produces as stdout, to its end (see
    /// [`ChannelWriter::send_from`]).
    pub async fn send_from<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> io::Result<u64> {
        self.stdout().send_from(r).await
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

impl ChannelWriter {
    /// Send `data` without copying it (see [`ChannelStream::send`]).
    pub async fn send(&mut self, data: Bytes) -> io::Result<()> {
        let mut data = data;
        std::future::poll_fn(|cx| self.io.poll_send(cx, &mut data)).await
    }

    /// Send everything `r` produces (a process's output, a file, a socket) to its
    /// end: each read lands in a buffer that is then sent whole, so the bytes are
    /// copied once, by the read. Returns the bytes sent.
    pub async fn send_from<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> io::Result<u64> {
        let mut buf = SendBuffer::default();
        let mut total = 0;
        loop {
            // futures-io reads into initialised memory.
            let n = r.read(buf.zeroed_room()).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            self.send(buf.take(n)).await?;
        }
    }

    /// A handle to send exit status, EOF and close.
    pub fn control(&self) -> ChannelControl {
        self.io.control()
    }
}

impl AsyncWrite for ChannelWriter {
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
