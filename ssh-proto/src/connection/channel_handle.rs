//! [`Channel`]: a short-lived handle for one channel's commands.

use super::core::Core;
use crate::channel::{ChannelId, ChannelRequest, DataStream, WindowState};
use crate::error::{CommandError, Error};

/// A short-lived handle for one channel's commands, from `conn.channel(id)`.
pub struct Channel<'a> {
    pub(super) core: &'a mut Core,
    pub(super) id: ChannelId,
}

impl Channel<'_> {
    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Core, ChannelId) -> Result<T, Error>,
    ) -> Result<T, CommandError> {
        let r = self.core.check_open().and_then(|()| f(self.core, self.id));
        self.core.command(r)
    }

    /// Send data; returns how many bytes the window and send buffer accepted. When it is
    /// less than offered, an `Event::ChannelWritable` follows once more fits.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, CommandError> {
        self.send_stream(DataStream::Normal, data)
    }

    /// Send extended data type 1 (stderr).
    pub fn send_stderr(&mut self, data: &[u8]) -> Result<usize, CommandError> {
        self.send_stream(DataStream::Stderr, data)
    }

    /// Send on a given stream.
    pub fn send_stream(&mut self, stream: DataStream, data: &[u8]) -> Result<usize, CommandError> {
        let n = self.run(|c, id| c.channels.send(id, stream, data, &mut c.transport))?;
        self.core.app_active |= n > 0;
        Ok(n)
    }

    /// Send on a given stream only what goes out as packets at once (the peer's window
    /// and the output high-water mark allow it); nothing is copied into the channel's
    /// send buffer. For callers that keep their own buffer and offer the rest again
    /// after the next [`Connection::poll_transmit`](crate::Connection::poll_transmit) or window adjust; an
    /// `Event::ChannelWritable` follows when less than offered was taken.
    pub fn send_now(&mut self, stream: DataStream, data: &[u8]) -> Result<usize, CommandError> {
        self.send_now_parts(stream, &[data])
    }

    /// As [`Channel::send_now`] for several runs of bytes taken as one sequence: small
    /// runs are packed together into packets of up to the peer's maximum size, and
    /// each byte is copied once, into its packet. Returns the bytes taken, counted
    /// across the runs in order.
    pub fn send_now_parts(
        &mut self,
        stream: DataStream,
        parts: &[&[u8]],
    ) -> Result<usize, CommandError> {
        let n = self.run(|c, id| c.channels.send_parts(id, stream, parts, &mut c.transport))?;
        self.core.app_active |= n > 0;
        Ok(n)
    }

    /// Report `n` bytes of delivered data as processed: the receive window reopens.
    /// After the channel has closed this is a no-op.
    pub fn consume(&mut self, n: usize) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.consume(id, n, &mut c.transport))
    }

    /// Answer the oldest request on this channel that wanted a reply.
    pub fn reply(&mut self, success: bool) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.reply(id, success, &mut c.transport))
    }

    /// Send a channel request (after any data already accepted).
    pub fn request(&mut self, req: &ChannelRequest, want_reply: bool) -> Result<(), CommandError> {
        self.run(|c, id| {
            c.channels
                .request(id, req, want_reply, &mut c.transport, &mut c.events)
        })
    }

    /// Report a process's exit status (server role).
    pub fn exit_status(&mut self, code: u32) -> Result<(), CommandError> {
        self.request(&ChannelRequest::ExitStatus { code }, false)
    }

    /// Report that a process died from a signal (server role).
    pub fn exit_signal(
        &mut self,
        signal: &str,
        core_dumped: bool,
        message: &str,
    ) -> Result<(), CommandError> {
        self.request(
            &ChannelRequest::ExitSignal {
                name: signal.into(),
                core_dumped,
                message: message.into(),
                language: String::new(),
            },
            false,
        )
    }

    /// Send EOF once buffered data has gone.
    pub fn eof(&mut self) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.eof(id, &mut c.transport, &mut c.events))
    }

    /// Close once buffered data has gone.
    pub fn close(&mut self) -> Result<(), CommandError> {
        self.run(|c, id| c.channels.close(id, &mut c.transport, &mut c.events))
    }

    /// Flow-control state.
    pub fn window(&mut self) -> Result<WindowState, CommandError> {
        let r = self.core.channels.window(self.id);
        self.core.command(r)
    }
}
