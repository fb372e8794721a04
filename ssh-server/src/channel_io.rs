//! A channel as a byte stream, runtime-neutral: `poll_read` / `poll_write` take a
//! task `Context`, so each adapter wraps [`ChannelIo`] in its runtime's traits
//! (tokio, futures-io, or std `Read`/`Write` by parking the thread). Backpressure runs
//! end to end: the receive window reopens only as the application reads, and writes
//! wait while the connection has not taken earlier bytes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use ssh_proto::bytes::{Buf, Bytes, BytesMut};

use super::stream_out::StreamOut;
use super::wakeup::Wakeup;
use ssh_proto::{ChannelId, WindowState};

/// Bytes a stream buffers before its writer waits for the connection to take them.
pub const STREAM_OUT_CAP: usize = 256 * 1024;

/// Commands a stream queues for the connection, applied after buffered output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    ExitStatus(u32),
    ExitSignal(String, bool, String),
    Eof,
    Close,
}

/// What a stream and its connection share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) inbound: VecDeque<Bytes>,
    pub(crate) eof: bool,
    pub(crate) closed: bool,
    pub(crate) read_waker: Option<Waker>,
    /// Bytes read by the application, not yet reported to the core.
    pub(crate) consumed: usize,
    /// Output per stream: 0 stdout, 1 stderr.
    pub(crate) out: [StreamOut; 2],
    /// Every writer waiting for room or a flush (stdout and stderr writers may wait
    /// on different tasks or threads at once).
    pub(crate) write_wakers: Vec<Waker>,
    pub(crate) commands: VecDeque<Command>,
    /// The latest window figures, for the registry.
    pub(crate) window: WindowState,
    /// Whether the channel is on its connection's list of channels with news.
    pub(crate) queued: bool,
}

impl Shared {
    pub(crate) fn wake_all(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        self.wake_writers();
    }

    pub(crate) fn wake_writers(&mut self) {
        for w in self.write_wakers.drain(..) {
            w.wake();
        }
    }

    fn wait_to_write(&mut self, waker: &Waker) {
        if !self.write_wakers.iter().any(|w| w.will_wake(waker)) {
            self.write_wakers.push(waker.clone());
        }
    }
}

/// The link between one channel's stream handles and its connection's loop.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) shared: Arc<Mutex<Shared>>,
    pub(crate) wake_conn: Arc<Wakeup>,
    pub(crate) id: ChannelId,
}

impl Link {
    pub(crate) fn new(wake_conn: Arc<Wakeup>, id: ChannelId) -> Self {
        Link {
            shared: Arc::new(Mutex::new(Shared::default())),
            wake_conn,
            id,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tell the connection this channel has news; `s` is the locked shared state.
    /// The list is taken without this lock, so the two locks never nest the other way.
    fn notify(&self, mut s: MutexGuard<'_, Shared>) {
        let first = !std::mem::replace(&mut s.queued, true);
        drop(s);
        if first {
            self.wake_conn.notify_channel(self.id);
        } else {
            self.wake_conn.notify();
        }
    }

    fn command(&self, c: Command) {
        let mut s = self.lock();
        s.commands.push_back(c);
        self.notify(s);
    }

    /// Queue up to the free room of `buf` on output `idx` without waiting; returns
    /// how much was taken (None once the channel has closed).
    pub(crate) fn offer(&self, idx: usize, buf: &[u8]) -> Option<usize> {
        let mut s = self.lock();
        if s.closed {
            return None;
        }
        let n = STREAM_OUT_CAP
            .saturating_sub(s.out[idx].len())
            .min(buf.len());
        s.out[idx].extend_from_slice(&buf[..n]);
        if n > 0 {
            self.notify(s);
        }
        Some(n)
    }

    fn poll_write_to(
        &self,
        cx: &mut Context<'_>,
        idx: usize,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut s = self.lock();
        if s.closed {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        let room = STREAM_OUT_CAP.saturating_sub(s.out[idx].len());
        if room == 0 {
            s.wait_to_write(cx.waker());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        s.out[idx].extend_from_slice(&buf[..n]);
        self.notify(s);
        Poll::Ready(Ok(n))
    }

    /// Queue the owned `data` whole on output `idx` once the stream has room (any
    /// room: the buffer is the application's, so holding it costs no new memory).
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        idx: usize,
        data: &mut Bytes,
    ) -> Poll<std::io::Result<()>> {
        if data.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let mut s = self.lock();
        if s.closed {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        if s.out[idx].len() >= STREAM_OUT_CAP {
            s.wait_to_write(cx.waker());
            return Poll::Pending;
        }
        s.out[idx].push(std::mem::take(data));
        self.notify(s);
        Poll::Ready(Ok(()))
    }

    fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let mut s = self.lock();
        if s.closed || (s.out[0].is_empty() && s.out[1].is_empty()) {
            Poll::Ready(Ok(()))
        } else {
            s.wait_to_write(cx.waker());
            Poll::Pending
        }
    }
}

/// One channel's data: read what the client sends (its stdin), write stdout; the
/// [`ChannelIo::stderr`] writer sends extended data. Dropping it does not close the
/// channel: call [`ChannelControl::close`] (after `exit_status`).
#[derive(Debug)]
pub struct ChannelIo {
    pub(crate) link: Link,
}

/// A writer for one of a channel's output streams (stdout or stderr), usable from
/// another task or thread than the reader.
#[derive(Debug, Clone)]
pub struct ChannelWriterIo {
    link: Link,
    idx: usize,
}

impl ChannelIo {
    /// A writer for stderr (extended data type 1).
    pub fn stderr(&self) -> ChannelWriterIo {
        ChannelWriterIo {
            link: self.link.clone(),
            idx: 1,
        }
    }

    /// A second writer for stdout, to write from another task or thread than the
    /// one reading.
    pub fn stdout_writer(&self) -> ChannelWriterIo {
        ChannelWriterIo {
            link: self.link.clone(),
            idx: 0,
        }
    }

    /// A handle to send exit status, EOF and close from anywhere.
    pub fn control(&self) -> ChannelControl {
        ChannelControl {
            link: self.link.clone(),
        }
    }

    /// Read into `buf`: Ready(Ok(0)) at EOF or close.
    pub fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut s = self.link.lock();
        let mut n = 0;
        while n < buf.len() {
            let Some(front) = s.inbound.front_mut() else {
                break;
            };
            let k = front.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&front[..k]);
            front.advance(k);
            if front.is_empty() {
                s.inbound.pop_front();
            }
            n += k;
        }
        if n > 0 {
            s.consumed += n;
            self.link.notify(s);
            return Poll::Ready(Ok(n));
        }
        if s.eof || s.closed || buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Take the next run of received bytes whole, without copying them: Ready(Ok(None))
    /// at EOF or close. The receive window reopens by the bytes taken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Option<Bytes>>> {
        let mut s = self.link.lock();
        if let Some(data) = s.inbound.pop_front() {
            s.consumed += data.len();
            self.link.notify(s);
            return Poll::Ready(Ok(Some(data)));
        }
        if s.eof || s.closed {
            return Poll::Ready(Ok(None));
        }
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Write stdout bytes; Pending while the connection has not taken earlier ones.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.link.poll_write_to(cx, 0, buf)
    }

    /// Send the owned `data` as stdout without copying it: Ready once the stream has
    /// taken it (`data` is left empty), Pending while earlier bytes fill the stream.
    /// The packet layer seals straight from its memory.
    pub fn poll_send(&self, cx: &mut Context<'_>, data: &mut Bytes) -> Poll<std::io::Result<()>> {
        self.link.poll_send_to(cx, 0, data)
    }

    /// Ready once every byte written has been handed to the connection.
    pub fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.link.poll_drained(cx)
    }

    /// The next run of received bytes, whole and without a copy; None at EOF or close.
    pub async fn recv(&mut self) -> std::io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Send `data` as stdout without copying it: packets are sealed straight from its
    /// memory. Waits while earlier output fills the stream, like a write.
    pub async fn send(&self, data: Bytes) -> std::io::Result<()> {
        let mut data = data;
        std::future::poll_fn(|cx| self.poll_send(cx, &mut data)).await
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

impl ChannelWriterIo {
    /// Send `data` without copying it (see [`ChannelIo::send`]).
    pub async fn send(&self, data: Bytes) -> std::io::Result<()> {
        let mut data = data;
        std::future::poll_fn(|cx| self.poll_send(cx, &mut data)).await
    }

    /// Write bytes; Pending while the connection has not taken earlier ones.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.link.poll_write_to(cx, self.idx, buf)
    }

    /// Send the owned `data` without copying it (see [`ChannelIo::poll_send`]).
    pub fn poll_send(&self, cx: &mut Context<'_>, data: &mut Bytes) -> Poll<std::io::Result<()>> {
        self.link.poll_send_to(cx, self.idx, data)
    }

    /// A handle to send exit status, EOF and close.
    pub fn control(&self) -> ChannelControl {
        ChannelControl {
            link: self.link.clone(),
        }
    }

    /// Ready once every byte written has been handed to the connection.
    pub fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.link.poll_drained(cx)
    }
}

/// Most bytes one read into a [`SendBuffer`] is offered.
const SEND_READ: usize = 64 * 1024;
/// What a [`SendBuffer`] allocates at once: several reads pack into it.
const SEND_ALLOCATION: usize = 128 * 1024;

/// The buffer an adapter's `send_from` reads into: each read's bytes are taken out
/// whole as a `Bytes` to send (no copy), and small reads pack into one allocation
/// (a run of tiny reads does not hold one large buffer each).
#[derive(Debug, Default)]
pub struct SendBuffer {
    buf: BytesMut,
}

impl SendBuffer {
    /// The empty buffer with room for one read appended (for readers that fill
    /// uninitialised memory, such as tokio's `read_buf`).
    pub fn for_read(&mut self) -> &mut BytesMut {
        if self.buf.capacity() < SEND_READ / 4 {
            self.buf.reserve(SEND_ALLOCATION);
        }
        &mut self.buf
    }

    /// Zeroed room for one read (for readers that need initialised memory).
    pub fn zeroed_room(&mut self) -> &mut [u8] {
        let n = self.for_read().capacity().min(SEND_READ);
        self.buf.resize(n, 0);
        &mut self.buf[..]
    }

    /// The first `n` bytes read, to send whole; the buffer is empty again after.
    pub fn take(&mut self, n: usize) -> Bytes {
        self.buf.truncate(n);
        self.buf.split().freeze()
    }
}

/// Sends a channel's closing messages, each after the data written before it; cheap
/// to clone and usable from any thread or task.
#[derive(Debug, Clone)]
pub struct ChannelControl {
    link: Link,
}

impl ChannelControl {
    /// Report the exit status.
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

    /// Send EOF.
    pub fn eof(&self) {
        self.link.command(Command::Eof);
    }

    /// Close the channel.
    pub fn close(&self) {
        self.link.command(Command::Close);
    }

    /// Finish the channel: exit status, EOF and close, after the data written so far.
    pub fn exit(&self, code: u32) {
        self.exit_status(code);
        self.eof();
        self.close();
    }

    /// Whether the channel has closed.
    pub fn is_closed(&self) -> bool {
        self.link.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_count_consumed_bytes_and_writes_stop_at_the_cap() {
        let wake = Arc::new(Wakeup::new());
        let link = Link::new(wake.clone(), ChannelId(0));
        let mut io = ChannelIo { link: link.clone() };
        let mut cx = Context::from_waker(Waker::noop());
        let mut buf = [0u8; 4];
        assert!(io.poll_read(&mut cx, &mut buf).is_pending());
        link.lock().inbound.push_back(Bytes::from_static(b"abcdef"));
        assert!(matches!(
            io.poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(4))
        ));
        assert!(matches!(
            io.poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(2))
        ));
        assert_eq!(link.lock().consumed, 6);
        let big = vec![1u8; STREAM_OUT_CAP + 10];
        assert!(matches!(io.poll_write(&mut cx, &big), Poll::Ready(Ok(n)) if n == STREAM_OUT_CAP));
        assert!(io.poll_write(&mut cx, &big).is_pending());
        assert!(io.poll_flush(&mut cx).is_pending());
        link.lock().eof = true;
        link.lock().inbound.clear();
        assert!(matches!(
            io.poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(0))
        ));
        link.lock().closed = true;
        assert!(matches!(io.poll_write(&mut cx, b"x"), Poll::Ready(Err(_))));
    }

    #[test]
    fn owned_buffers_go_in_and_out_whole_and_keep_the_cap() {
        let link = Link::new(Arc::new(Wakeup::new()), ChannelId(0));
        let mut io = ChannelIo { link: link.clone() };
        let mut cx = Context::from_waker(Waker::noop());
        assert!(io.poll_recv(&mut cx).is_pending());
        let got = Bytes::from_static(b"hello");
        link.lock().inbound.push_back(got.clone());
        match io.poll_recv(&mut cx) {
            Poll::Ready(Ok(Some(b))) => assert_eq!(b.as_ptr(), got.as_ptr()),
            other => panic!("{other:?}"),
        }
        assert_eq!(link.lock().consumed, 5);
        let big = Bytes::from(vec![3u8; STREAM_OUT_CAP]);
        let mut first = big.clone();
        assert!(matches!(
            io.poll_send(&mut cx, &mut first),
            Poll::Ready(Ok(()))
        ));
        assert!(first.is_empty());
        assert_eq!(link.lock().out[0].runs::<1>().0[0].as_ptr(), big.as_ptr());
        let mut second = Bytes::from_static(b"more");
        assert!(io.poll_send(&mut cx, &mut second).is_pending());
        assert_eq!(second, Bytes::from_static(b"more"));
        assert!(io.stderr().poll_send(&mut cx, &mut second).is_ready());
        link.lock().eof = true;
        assert!(matches!(io.poll_recv(&mut cx), Poll::Ready(Ok(None))));
        link.lock().closed = true;
        let mut third = Bytes::from_static(b"x");
        assert!(matches!(
            io.poll_send(&mut cx, &mut third),
            Poll::Ready(Err(_))
        ));
    }

    #[test]
    fn send_buffer_packs_small_reads_into_one_allocation_and_takes_each_whole() {
        let mut b = SendBuffer::default();
        let room = b.zeroed_room();
        assert_eq!(room.len(), SEND_READ);
        room[..3].copy_from_slice(b"abc");
        let first = b.take(3);
        b.zeroed_room()[..2].copy_from_slice(b"de");
        let second = b.take(2);
        assert_eq!((&first[..], &second[..]), (&b"abc"[..], &b"de"[..]));
        // The second read landed right after the first, in the same allocation.
        assert_eq!(first.as_ptr().wrapping_add(3), second.as_ptr());
        b.for_read().extend_from_slice(b"xyz");
        assert_eq!(&b.take(3)[..], b"xyz");
        assert!(b.take(0).is_empty());
    }

    #[test]
    fn every_waiting_writer_is_woken_not_just_the_last() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let link = Link::new(Arc::new(Wakeup::new()), ChannelId(0));
        let io = ChannelIo { link: link.clone() };
        let (out, err) = (io.stdout_writer(), io.stderr());
        let full = vec![0u8; STREAM_OUT_CAP];
        let (a, b) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut ca = Context::from_waker(&wa);
        let mut cb = Context::from_waker(&wb);
        assert!(out.poll_write(&mut ca, &full).is_ready());
        assert!(out.poll_write(&mut ca, b"x").is_pending());
        assert!(err.poll_write(&mut cb, b"y").is_ready());
        assert!(err.poll_flush(&mut cb).is_pending());
        link.lock().wake_writers();
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
    }
}
