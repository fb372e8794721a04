//! Channels as futures-io `AsyncRead + AsyncWrite` streams (as smol uses) over the shared, runtime-neutral
//! [`ChannelIo`] (whose `recv`, `send`, `exit`, `control`... they reach by `Deref`),
//! and the handler's [`ChannelContext`].

use std::io;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use smol::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ssh_server::{ChannelIo, ChannelWriterIo, SendBuffer};

/// What a channel handler can reach: `connection`, `channel`, `user`, `state()`,
/// `control()`, and `take_stream()` giving this adapter's [`ChannelStream`].
pub type ChannelContext<S> = ssh_server::ChannelContext<S, ChannelStream>;

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

impl From<ChannelIo> for ChannelStream {
    fn from(io: ChannelIo) -> Self {
        ChannelStream { io }
    }
}

impl Deref for ChannelStream {
    type Target = ChannelIo;
    fn deref(&self) -> &ChannelIo {
        &self.io
    }
}

impl DerefMut for ChannelStream {
    fn deref_mut(&mut self) -> &mut ChannelIo {
        &mut self.io
    }
}

impl Deref for ChannelWriter {
    type Target = ChannelWriterIo;
    fn deref(&self) -> &ChannelWriterIo {
        &self.io
    }
}

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
        while let Some(b) = self.io.recv().await? {
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
}

impl ChannelWriter {
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
            self.io.send(buf.take(n)).await?;
        }
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
        self.io.eof();
        Poll::Ready(Ok(()))
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
