//! What we send on the connection protocol: opens and their answers, data (sent at
//! once where the window allows, the rest buffered up to a bound), window adjusts,
//! requests and replies, EOF and close in order after the data, and the round-robin
//! flush of buffered data.

use bytes::{BufMut, BytesMut};

use super::event::{ChannelEvent, ChannelEvents};
use super::table::{Chan, Ctrl, Phase};
use super::{
    ChannelId, ChannelKind, ChannelRequest, ChannelTable, DataStream, OpenFailure, Outbox,
};
use crate::error::Error;
use crate::wire::codes::{CHANNEL_DATA, CHANNEL_EXTENDED_DATA};
use crate::wire::message::Message;

impl Chan {
    /// Packets now for the first `total` bytes of `parts` (none while bytes buffered
    /// earlier on this stream wait): as far as the window and the output high-water
    /// mark allow. Returns the bytes sent.
    fn send_direct(
        &mut self,
        stream: DataStream,
        parts: &[&[u8]],
        total: usize,
        tx: &mut impl Outbox,
        high_water: usize,
    ) -> Result<usize, Error> {
        if self.eof_queued || self.close_queued {
            return Err(Error::ChannelState("send after EOF or close"));
        }
        let (code, queued) = match stream {
            DataStream::Normal => (None, &self.out_normal),
            DataStream::Stderr => (Some(1), &self.out_ext),
            DataStream::Extended(n) => (Some(n), &self.out_ext),
        };
        if !queued.is_empty() {
            return Ok(0);
        }
        let mut from = Gather::new(parts);
        let mut done = 0;
        while done < total
            && self.send_window > 0
            && tx.can_send()
            && tx.pending_output() < high_water
        {
            let n = (total - done)
                .min(self.send_window as usize)
                .min(self.send_max_packet as usize);
            write_data_from(tx, self.remote, code, &mut from, n)?;
            self.send_window -= n as u32;
            done += n;
        }
        Ok(done)
    }
}

/// Message number, recipient, data type code (extended data only) and length.
const DATA_HEADER_MAX: usize = 1 + 4 + 4 + 4;

/// A read position over several byte runs taken as one sequence.
struct Gather<'a> {
    parts: &'a [&'a [u8]],
    part: usize,
    at: usize,
}

impl<'a> Gather<'a> {
    fn new(parts: &'a [&'a [u8]]) -> Self {
        Gather {
            parts,
            part: 0,
            at: 0,
        }
    }

    /// Append the next `n` bytes to `o` (there must be that many left).
    fn copy_into(&mut self, o: &mut bytes::BytesMut, mut n: usize) {
        while n > 0 {
            let p = &self.parts[self.part][self.at..];
            let k = p.len().min(n);
            o.extend_from_slice(&p[..k]);
            n -= k;
            self.at += k;
            if self.at == self.parts[self.part].len() {
                self.part += 1;
                self.at = 0;
            }
        }
    }
}

fn write_data(
    tx: &mut impl Outbox,
    remote: u32,
    code: Option<u32>,
    chunk: &[u8],
) -> Result<(), Error> {
    write_data_from(tx, remote, code, &mut Gather::new(&[chunk]), chunk.len())
}

/// One data packet carrying the next `len` bytes of `from`.
fn write_data_from(
    tx: &mut impl Outbox,
    remote: u32,
    code: Option<u32>,
    from: &mut Gather<'_>,
    len: usize,
) -> Result<(), Error> {
    crate::log::packet_meta(
        tx.log_settings(),
        "out",
        if code.is_some() {
            CHANNEL_EXTENDED_DATA
        } else {
            CHANNEL_DATA
        },
        len,
    );
    tx.send_with(DATA_HEADER_MAX + len, |o| {
        match code {
            None => o.put_u8(CHANNEL_DATA),
            Some(_) => o.put_u8(CHANNEL_EXTENDED_DATA),
        }
        o.put_u32(remote);
        if let Some(c) = code {
            o.put_u32(c);
        }
        o.put_u32(len as u32);
        from.copy_into(o, len);
    })
}

impl ChannelTable {
    /// Open a channel towards the peer.
    pub(crate) fn open(
        &mut self,
        kind: &ChannelKind,
        tx: &mut impl Outbox,
    ) -> Result<ChannelId, Error> {
        let c = self.new_chan(Phase::Opening);
        // Our own open over the limit refuses the command; the peer's ends the connection.
        let id = self.alloc(c).map_err(|e| match e {
            Error::LimitExceeded(w) => Error::Refused(w),
            e => e,
        })?;
        let mut data = BytesMut::new();
        kind.encode_data(&mut data);
        tx.send_msg(&Message::ChannelOpen {
            kind: kind.name().into(),
            sender: id.0,
            window: self.limits.channel_window,
            max_packet: self.limits.channel_max_packet,
            data: data.freeze(),
        })?;
        Ok(id)
    }

    pub(crate) fn accept(&mut self, id: ChannelId, tx: &mut impl Outbox) -> Result<(), Error> {
        let (window, max_packet) = (self.limits.channel_window, self.limits.channel_max_packet);
        let c = self.get(id.0).ok_or(Error::UnknownChannel(id.0))?;
        if c.phase != Phase::AwaitingAccept {
            return Err(Error::ChannelState("channel is not awaiting acceptance"));
        }
        c.phase = Phase::Open;
        let m = Message::ChannelOpenConfirmation {
            recipient: c.remote,
            sender: id.0,
            window,
            max_packet,
            data: Default::default(),
        };
        tx.send_msg(&m)
    }

    pub(crate) fn reject(
        &mut self,
        id: ChannelId,
        reason: OpenFailure,
        description: &str,
        tx: &mut impl Outbox,
    ) -> Result<(), Error> {
        let c = self.get(id.0).ok_or(Error::UnknownChannel(id.0))?;
        if c.phase != Phase::AwaitingAccept {
            return Err(Error::ChannelState("channel is not awaiting acceptance"));
        }
        let m = Message::ChannelOpenFailure {
            recipient: c.remote,
            reason: reason.code(),
            description: description.into(),
            language: String::new(),
        };
        self.remove(id.0);
        tx.send_msg(&m)
    }

    /// Send keepalive@openssh.com wanting a reply that is not reported as an event.
    pub(crate) fn keepalive(&mut self, tx: &mut impl Outbox) -> Result<(), Error> {
        self.global_replies_due.push_back(true);
        tx.send_msg(&Message::GlobalRequest {
            name: "keepalive@openssh.com".into(),
            want_reply: true,
            data: bytes::Bytes::new(),
        })
    }

    /// Send a global request; a reply event follows when `want_reply`.
    pub(crate) fn global_request(
        &mut self,
        name: &str,
        want_reply: bool,
        data: &[u8],
        tx: &mut impl Outbox,
    ) -> Result<(), Error> {
        if want_reply {
            self.global_replies_due.push_back(false);
        }
        tx.send_msg(&Message::GlobalRequest {
            name: name.into(),
            want_reply,
            data: bytes::Bytes::copy_from_slice(data),
        })
    }

    /// Accept as much of `data` as the peer's window and our send buffer allow.
    /// Send the runs in `parts`, taken as one sequence, as packets now (as far as
    /// the window and the output high-water mark allow), packing small runs together
    /// up to the peer's maximum packet; nothing is buffered. Returns the bytes sent.
    pub(crate) fn send_parts(
        &mut self,
        id: ChannelId,
        stream: DataStream,
        parts: &[&[u8]],
        tx: &mut impl Outbox,
    ) -> Result<usize, Error> {
        let high_water = self.limits.output_high_water;
        let c = self.get_open(id)?;
        let total = parts.iter().map(|p| p.len()).sum();
        let done = c.send_direct(stream, parts, total, tx, high_water)?;
        if done < total {
            c.blocked = true;
        }
        Ok(done)
    }

    /// Send what goes out now and buffer the rest up to the channel's send buffer.
    pub(crate) fn send(
        &mut self,
        id: ChannelId,
        stream: DataStream,
        data: &[u8],
        tx: &mut impl Outbox,
    ) -> Result<usize, Error> {
        let high_water = self.limits.output_high_water;
        let cap = self.limits.channel_send_buffer;
        let c = self.get_open(id)?;
        let mut done = c.send_direct(stream, &[data], data.len(), tx, high_water)?;
        let take = cap.saturating_sub(c.buffered()).min(data.len() - done);
        let take = match stream {
            DataStream::Normal => {
                c.out_normal.extend_from_slice(&data[done..done + take]);
                take
            }
            DataStream::Stderr | DataStream::Extended(_) => {
                let code = match stream {
                    DataStream::Extended(n) => n,
                    _ => 1,
                };
                // One extended buffer holds one type code: another code waits until
                // it has drained (the caller is told, like any full buffer).
                if c.out_ext.is_empty() {
                    c.out_ext_code = code;
                }
                if c.out_ext_code != code {
                    0
                } else {
                    c.out_ext.extend_from_slice(&data[done..done + take]);
                    take
                }
            }
        };
        done += take;
        if done < data.len() {
            c.blocked = true;
        }
        Ok(done)
    }

    /// The application consumed `n` bytes of delivered data: reopen the window.
    pub(crate) fn consume(
        &mut self,
        id: ChannelId,
        n: usize,
        tx: &mut impl Outbox,
    ) -> Result<(), Error> {
        let max = self.limits.channel_window;
        // Data delivered before the channel closed may be consumed afterwards: a no-op.
        let Some(c) = self.get(id.0) else {
            return Ok(());
        };
        if c.phase != Phase::Open {
            return Err(Error::ChannelState("channel is not open"));
        }
        if n > c.recv_unconsumed as usize {
            return Err(Error::ChannelState("consumed more than was delivered"));
        }
        c.recv_unconsumed -= n as u32;
        let grant = max - c.recv_window - c.recv_unconsumed;
        if grant >= max / 2 && !c.eof_received && !c.close_sent {
            c.recv_window += grant;
            tx.send_msg(&Message::ChannelWindowAdjust {
                recipient: c.remote,
                bytes: grant,
            })?;
        }
        Ok(())
    }

    /// Answer the oldest peer request on this channel that wanted a reply.
    pub(crate) fn reply(
        &mut self,
        id: ChannelId,
        ok: bool,
        tx: &mut impl Outbox,
    ) -> Result<(), Error> {
        let c = self.get_open(id)?;
        if c.replies_owed == 0 {
            return Err(Error::ChannelState("no request awaits a reply"));
        }
        c.replies_owed -= 1;
        let (recipient, closed) = (c.remote, c.close_sent);
        self.replies_owed -= 1;
        if closed {
            // Nothing may follow our CLOSE on this channel: the answer is dropped.
            return Ok(());
        }
        let m = if ok {
            Message::ChannelSuccess { recipient }
        } else {
            Message::ChannelFailure { recipient }
        };
        tx.send_msg(&m)
    }

    /// Queue a request (sent after data already accepted on this channel).
    pub(crate) fn request(
        &mut self,
        id: ChannelId,
        req: &ChannelRequest,
        want_reply: bool,
        tx: &mut impl Outbox,
        ev: &mut impl ChannelEvents,
    ) -> Result<(), Error> {
        let c = self.get_open(id)?;
        if c.close_queued {
            return Err(Error::ChannelState("request after close"));
        }
        let mut data = BytesMut::new();
        req.encode_data(&mut data);
        if want_reply {
            c.replies_due += 1;
        }
        c.ctrl.push_back(Ctrl::Msg(Message::ChannelRequest {
            recipient: c.remote,
            kind: req.name().into(),
            want_reply,
            data: data.freeze(),
        }));
        self.flush_one(id.0, tx, ev)
    }

    pub(crate) fn eof(
        &mut self,
        id: ChannelId,
        tx: &mut impl Outbox,
        ev: &mut impl ChannelEvents,
    ) -> Result<(), Error> {
        let c = self.get_open(id)?;
        if !c.eof_queued && !c.close_queued {
            c.eof_queued = true;
            c.ctrl.push_back(Ctrl::Eof);
        }
        self.flush_one(id.0, tx, ev)
    }

    pub(crate) fn close(
        &mut self,
        id: ChannelId,
        tx: &mut impl Outbox,
        ev: &mut impl ChannelEvents,
    ) -> Result<(), Error> {
        let c = self.get_open(id)?;
        if !c.close_queued {
            c.close_queued = true;
            c.ctrl.push_back(Ctrl::Close);
        }
        self.flush_one(id.0, tx, ev)
    }

    /// Move buffered data into packets for every channel, round robin.
    pub(crate) fn flush_all(
        &mut self,
        tx: &mut impl Outbox,
        ev: &mut impl ChannelEvents,
    ) -> Result<(), Error> {
        if self.chans.is_empty() {
            return Ok(());
        }
        // Round robin: ids from `next_flush` up, then the ones below it. The id
        // u32::MAX is never handed out, so `start..u32::MAX` covers the rest.
        let start = self.next_flush;
        let mut first = None;
        for (lo, hi) in [(start, u32::MAX), (0, start)] {
            let mut at = lo;
            while let Some(id) = self.chans.range(at..hi).next().map(|(&id, _)| id) {
                first.get_or_insert(id);
                self.flush_one(id, tx, ev)?;
                at = id + 1;
            }
        }
        self.next_flush = first.map_or(0, |id| id + 1);
        Ok(())
    }

    pub(super) fn flush_one(
        &mut self,
        id: u32,
        tx: &mut impl Outbox,
        ev: &mut impl ChannelEvents,
    ) -> Result<(), Error> {
        let high_water = self.limits.output_high_water;
        let cap = self.limits.channel_send_buffer;
        let Some(c) = self.get(id) else { return Ok(()) };
        if c.phase != Phase::Open || c.close_sent {
            return Ok(());
        }
        while tx.can_send() && tx.pending_output() < high_water && c.send_window > 0 {
            let (buf, code) = if !c.out_normal.is_empty() {
                (&mut c.out_normal, None)
            } else if !c.out_ext.is_empty() {
                (&mut c.out_ext, Some(c.out_ext_code))
            } else {
                break;
            };
            let n = buf
                .len()
                .min(c.send_window as usize)
                .min(c.send_max_packet as usize);
            let chunk = buf.split_to(n);
            write_data(tx, c.remote, code, &chunk)?;
            c.send_window -= n as u32;
        }
        while c.buffered() == 0 {
            let Some(ctrl) = c.ctrl.pop_front() else {
                break;
            };
            let m = match ctrl {
                Ctrl::Msg(m) => m,
                Ctrl::Eof => Message::ChannelEof {
                    recipient: c.remote,
                },
                Ctrl::Close => {
                    c.close_sent = true;
                    Message::ChannelClose {
                        recipient: c.remote,
                    }
                }
            };
            tx.send_msg(&m)?;
        }
        if c.buffered() == 0 {
            c.out_normal = BytesMut::new();
            c.out_ext = BytesMut::new();
        }
        if c.blocked && c.buffered() < cap && !c.close_queued && !c.eof_queued {
            c.blocked = false;
            ev.emit(ChannelEvent::ChannelWritable {
                channel: ChannelId(id),
            });
        }
        Ok(())
    }
}
