//! Channels as std `Read + Write` streams: the core's [`ChannelIo`] polled with a
//! waker that unparks the calling thread.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use ssh_proto::bytes::Bytes;
use ssh_server::{ChannelControl, ChannelIo, ChannelWriterIo, SendBuffer};

/// Wakes a parked thread.
pub(crate) struct Unpark(pub(crate) Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Poll until ready, parking the thread in between.
fn block_on<T>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// What a channel handler can reach: `connection`, `channel`, `user`, `state()`,
/// `control()`, and `take_stream()` giving this adapter's [`ChannelStream`].
pub type ChannelContext<S> = ssh_server::ChannelContext<S, ChannelStream>;

impl From<ChannelIo> for ChannelStream {
    fn from(io: ChannelIo) -> Self {
        ChannelStream { io }
    }
}

/// One channel's data: `Read` what the client sends (stdin), `Write` stdout;
/// `stderr()` gives a writer for extended data. Reads block until data, EOF or close;
/// writes block while the connection has not taken earlier bytes.
#[derive(Debug)]
pub struct ChannelStream {
    io: ChannelIo,
}

/// A blocking writer for one of the channel's output streams (stdout or stderr),
/// usable on another thread than the reader.
#[derive(Debug, Clone)]
pub struct ChannelWriter {
    io: ChannelWriterIo,
}

impl ChannelWriter {
    /// A handle to send exit status, EOF and close.
    pub fn control(&self) -> ChannelControl {
        self.io.control()
    }

    /// Send `data` without copying it (see [`ChannelStream::send`]).
    pub fn send(&self, mut data: Bytes) -> io::Result<()> {
        block_on(|cx| self.io.poll_send(cx, &mut data))
    }

    /// Send everything `r` produces (a process's output, a file, a socket) to its
    /// end: each read lands in a buffer that is then sent whole, so the bytes are
    /// copied once, by the read. Returns the bytes sent.
    pub fn send_from<R: Read>(&self, r: &mut R) -> io::Result<u64> {
        let mut buf = SendBuffer::default();
        let mut total = 0;
        loop {
            // std reads into initialised memory.
            let n = match r.read(buf.zeroed_room()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            self.send(buf.take(n))?;
        }
    }
}

impl ChannelStream {
    /// A writer for stderr (extended data type 1).
    pub fn stderr(&self) -> ChannelWriter {
        ChannelWriter {
            io: self.io.stderr(),
        }
    }

    /// A writer for stdout, to write on another thread than the one reading.
    pub fn writer(&self) -> ChannelWriter {
        ChannelWriter {
            io: self.io.stdout_writer(),
        }
    }

    /// A handle to send exit status, EOF and close from another thread.
    pub fn control(&self) -> ChannelControl {
        self.io.control()
    }

    /// Finish: exit status, EOF and close, after all data written so far.
    pub fn exit(&self, code: u32) {
        self.io.control().exit(code)
    }

    /// The next run of received bytes, whole and without a copy; None at EOF or close.
    pub fn recv(&mut self) -> io::Result<Option<Bytes>> {
        block_on(|cx| self.io.poll_recv(cx))
    }

    /// Write everything the client sends to `w`, until the client's EOF or the
    /// channel's close; each received run is written straight from the read buffer
    /// (no copy in between). Returns the bytes written; `w` is flushed at the end.
    pub fn recv_to<W: Write>(&mut self, w: &mut W) -> io::Result<u64> {
        let mut total = 0;
        while let Some(b) = self.recv()? {
            w.write_all(&b)?;
            total += b.len() as u64;
        }
        w.flush()?;
        Ok(total)
    }

    /// Send everything `r` produces as stdout, to its end (see
    /// [`ChannelWriter::send_from`]).
    pub fn send_from<R: Read>(&self, r: &mut R) -> io::Result<u64> {
        self.writer().send_from(r)
    }

    /// Send `data` as stdout without copying it: packets are sealed straight from
    /// its memory. Blocks while earlier output fills the stream, like a write.
    pub fn send(&self, mut data: Bytes) -> io::Result<()> {
        block_on(|cx| self.io.poll_send(cx, &mut data))
    }
}

impl Read for ChannelStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        block_on(|cx| self.io.poll_read(cx, buf))
    }
}

impl Write for ChannelStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        block_on(|cx| self.io.poll_write(cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        block_on(|cx| self.io.poll_flush(cx))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        block_on(|cx| self.io.poll_write(cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        block_on(|cx| self.io.poll_flush(cx))
    }
}
