//! The connection protocol (RFC 4254): the channel table, window accounting, channel
//! requests and global requests.

mod request;

pub use request::{ChannelKind, ChannelRequest, PtyRequest};

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::config::Limits;
use crate::error::{Error, Violation};
use crate::event::Event;
use crate::transport::Transport;
use crate::wire::codes::{CHANNEL_DATA, CHANNEL_EXTENDED_DATA};
use crate::wire::message::Message;

/// Our id for a channel (the "recipient channel" the peer uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u32);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which stream channel data belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStream {
    /// Ordinary data (a process's stdin or stdout).
    Normal,
    /// Extended data type 1 (stderr).
    Stderr,
    /// Another extended data type.
    Extended(u32),
}

/// Reason codes for refusing a channel open (RFC 4254 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFailure {
    /// 1
    AdministrativelyProhibited,
    /// 2
    ConnectFailed,
    /// 3
    UnknownChannelType,
    /// 4
    ResourceShortage,
}

impl OpenFailure {
    fn code(self) -> u32 {
        match self {
            OpenFailure::AdministrativelyProhibited => 1,
            OpenFailure::ConnectFailed => 2,
            OpenFailure::UnknownChannelType => 3,
            OpenFailure::ResourceShortage => 4,
        }
    }
}

/// A snapshot of a channel's flow-control state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowState {
    /// Bytes the peer may still send us.
    pub recv_window: u32,
    /// Bytes delivered to the application and not yet consumed.
    pub recv_unconsumed: u32,
    /// Bytes we may still send.
    pub send_window: u32,
    /// Bytes accepted by `send` and waiting for window.
    pub send_buffered: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    /// We sent CHANNEL_OPEN and wait for the answer.
    Opening,
    /// The peer asked to open; the application has not decided.
    AwaitingAccept,
    Open,
}

#[derive(Debug)]
enum Ctrl {
    Msg(Message),
    Eof,
    Close,
}

#[derive(Debug)]
struct Chan {
    remote: u32,
    phase: Phase,
    recv_window: u32,
    recv_unconsumed: u32,
    send_window: u32,
    send_max_packet: u32,
    out_normal: BytesMut,
    /// Extended data waiting for window, all of one type code.
    out_ext: BytesMut,
    /// The type code of what `out_ext` holds (1 is stderr).
    out_ext_code: u32,
    ctrl: VecDeque<Ctrl>,
    blocked: bool,
    eof_queued: bool,
    close_queued: bool,
    eof_received: bool,
    close_sent: bool,
    /// Peer requests awaiting our reply.
    replies_owed: usize,
    /// Our requests awaiting the peer's reply.
    replies_due: usize,
    /// Env requests received (bounded by `Limits::max_env_per_channel`).
    env_received: usize,
}

impl Chan {
    fn buffered(&self) -> usize {
        self.out_normal.len() + self.out_ext.len()
    }
}

/// All channels of one connection.
impl Chan {
    /// Packets now for the first `total` bytes of `parts` (none while bytes buffered
    /// earlier on this stream wait): as far as the window and the output high-water
    /// mark allow. Returns the bytes sent.
    fn send_direct(
        &mut self,
        stream: DataStream,
        parts: &[&[u8]],
        total: usize,
        tx: &mut Transport,
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

#[derive(Debug)]
pub(crate) struct ChannelTable {
    /// Open and opening channels by id. Ids come from a counter and are never handed
    /// out twice in a connection, so a late command for a closed channel can never
    /// reach a newer one.
    chans: BTreeMap<u32, Chan>,
    /// The id the next channel gets.
    next_id: u32,
    accept_opens: bool,
    replies_owed: usize,
    /// Replies owed to our global requests, oldest first; true marks our own
    /// keepalives, whose replies are not reported.
    global_replies_due: VecDeque<bool>,
    /// The id after which the next round-robin flush starts.
    next_flush: u32,
    limits: Limits,
}

fn unknown(_id: u32) -> Error {
    Error::Peer(Violation::UnknownChannel)
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
    tx: &mut Transport,
    remote: u32,
    code: Option<u32>,
    chunk: &[u8],
) -> Result<(), Error> {
    write_data_from(tx, remote, code, &mut Gather::new(&[chunk]), chunk.len())
}

/// One data packet carrying the next `len` bytes of `from`.
fn write_data_from(
    tx: &mut Transport,
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
    pub(crate) fn new(limits: Limits, accept_opens: bool) -> Self {
        ChannelTable {
            chans: BTreeMap::new(),
            next_id: 0,
            accept_opens,
            replies_owed: 0,
            global_replies_due: VecDeque::new(),
            next_flush: 0,
            limits,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.chans.len()
    }

    /// Ids and kinds of channels, for registries and tests.
    pub(crate) fn ids(&self) -> Vec<ChannelId> {
        self.chans.keys().map(|&i| ChannelId(i)).collect()
    }

    fn get(&mut self, id: u32) -> Option<&mut Chan> {
        self.chans.get_mut(&id)
    }

    fn get_open(&mut self, id: ChannelId) -> Result<&mut Chan, Error> {
        match self.get(id.0) {
            Some(c) if c.phase == Phase::Open => Ok(c),
            Some(_) => Err(Error::ChannelState("channel is not open")),
            None => Err(Error::UnknownChannel(id.0)),
        }
    }

    fn alloc(&mut self, chan: Chan) -> Result<ChannelId, Error> {
        if self.chans.len() >= self.limits.max_channels as usize {
            return Err(Error::LimitExceeded("channels"));
        }
        let id = self.next_id;
        // 2^32 channels in one connection: refuse rather than reuse an id.
        self.next_id = id
            .checked_add(1)
            .ok_or(Error::LimitExceeded("channel ids"))?;
        self.chans.insert(id, chan);
        Ok(ChannelId(id))
    }

    fn remove(&mut self, id: u32) {
        if let Some(c) = self.chans.remove(&id) {
            self.replies_owed -= c.replies_owed;
        }
    }

    fn new_chan(&self, phase: Phase) -> Chan {
        Chan {
            remote: 0,
            phase,
            recv_window: self.limits.channel_window,
            recv_unconsumed: 0,
            send_window: 0,
            send_max_packet: 0,
            out_normal: BytesMut::new(),
            out_ext: BytesMut::new(),
            out_ext_code: 1,
            ctrl: VecDeque::new(),
            blocked: false,
            eof_queued: false,
            close_queued: false,
            eof_received: false,
            close_sent: false,
            replies_owed: 0,
            replies_due: 0,
            env_received: 0,
        }
    }

    /// Handle a connection-protocol message (80..=100) from the peer.
    pub(crate) fn handle(
        &mut self,
        msg: Message,
        tx: &mut Transport,
        ev: &mut VecDeque<Event>,
    ) -> Result<(), Error> {
        match msg {
            Message::GlobalRequest { want_reply, .. } => {
                if want_reply {
                    tx.send_msg(&Message::RequestFailure)?;
                }
            }
            Message::RequestSuccess { data } => {
                if !self.global_reply_due()? {
                    ev.push_back(Event::GlobalReply {
                        success: true,
                        data,
                    });
                }
            }
            Message::RequestFailure => {
                if !self.global_reply_due()? {
                    ev.push_back(Event::GlobalReply {
                        success: false,
                        data: Default::default(),
                    });
                }
            }
            Message::ChannelOpen {
                kind,
                sender,
                window,
                max_packet,
                data,
            } => {
                let refuse = |reason: OpenFailure, text: &str| Message::ChannelOpenFailure {
                    recipient: sender,
                    reason: reason.code(),
                    description: text.into(),
                    language: String::new(),
                };
                if !self.accept_opens {
                    tx.send_msg(&refuse(
                        OpenFailure::AdministrativelyProhibited,
                        "not accepted",
                    ))?;
                    return Ok(());
                }
                let kind = ChannelKind::decode(&kind, &data)?;
                let mut c = self.new_chan(Phase::AwaitingAccept);
                c.remote = sender;
                c.send_window = window;
                c.send_max_packet = max_packet.max(1);
                match self.alloc(c) {
                    Ok(id) => ev.push_back(Event::ChannelOpenRequest { channel: id, kind }),
                    Err(_) => {
                        tx.send_msg(&refuse(OpenFailure::ResourceShortage, "too many channels"))?;
                    }
                }
            }
            Message::ChannelOpenConfirmation {
                recipient,
                sender,
                window,
                max_packet,
                ..
            } => {
                let c = self.get(recipient).ok_or_else(|| unknown(recipient))?;
                if c.phase != Phase::Opening {
                    return Err(Error::Peer(Violation::UnexpectedOpenAnswer));
                }
                c.phase = Phase::Open;
                c.remote = sender;
                c.send_window = window;
                c.send_max_packet = max_packet.max(1);
                ev.push_back(Event::ChannelOpened {
                    channel: ChannelId(recipient),
                });
                self.flush_one(recipient, tx, ev)?;
            }
            Message::ChannelOpenFailure {
                recipient,
                reason,
                description,
                ..
            } => {
                let c = self.get(recipient).ok_or_else(|| unknown(recipient))?;
                if c.phase != Phase::Opening {
                    return Err(Error::Peer(Violation::UnexpectedOpenAnswer));
                }
                self.remove(recipient);
                ev.push_back(Event::ChannelOpenFailed {
                    channel: ChannelId(recipient),
                    reason,
                    description,
                });
            }
            Message::ChannelWindowAdjust { recipient, bytes } => {
                let c = self.open_for_peer(recipient)?;
                c.send_window = c
                    .send_window
                    .checked_add(bytes)
                    .ok_or(Error::Peer(Violation::WindowOverflow))?;
                self.flush_one(recipient, tx, ev)?;
            }
            Message::ChannelData { recipient, data } => {
                self.on_data(recipient, DataStream::Normal, data, ev)?;
            }
            Message::ChannelExtendedData {
                recipient,
                code,
                data,
            } => {
                let stream = if code == 1 {
                    DataStream::Stderr
                } else {
                    DataStream::Extended(code)
                };
                self.on_data(recipient, stream, data, ev)?;
            }
            Message::ChannelEof { recipient } => {
                let c = self.open_for_peer(recipient)?;
                if !c.eof_received {
                    c.eof_received = true;
                    ev.push_back(Event::ChannelEof {
                        channel: ChannelId(recipient),
                    });
                }
            }
            Message::ChannelClose { recipient } => {
                let c = self.open_for_peer(recipient)?;
                if !c.close_sent {
                    tx.send_msg(&Message::ChannelClose {
                        recipient: c.remote,
                    })?;
                }
                self.remove(recipient);
                ev.push_back(Event::ChannelClosed {
                    channel: ChannelId(recipient),
                });
            }
            Message::ChannelRequest {
                recipient,
                kind,
                want_reply,
                data,
            } => {
                let max = self.limits.max_pending_requests;
                let max_env = self.limits.max_env_per_channel;
                let owed = self.replies_owed;
                let c = self.open_for_peer(recipient)?;
                let request = ChannelRequest::decode(&kind, &data)?;
                if c.close_sent {
                    return Ok(());
                }
                if matches!(request, ChannelRequest::Env { .. }) {
                    c.env_received += 1;
                    if c.env_received > max_env {
                        // Refused here, never reaching the application.
                        if want_reply {
                            let remote = c.remote;
                            tx.send_msg(&Message::ChannelFailure { recipient: remote })?;
                        }
                        return Ok(());
                    }
                }
                if want_reply {
                    if owed >= max {
                        return Err(Error::LimitExceeded("pending channel requests"));
                    }
                    c.replies_owed += 1;
                    self.replies_owed += 1;
                }
                ev.push_back(Event::ChannelRequest {
                    channel: ChannelId(recipient),
                    request,
                    want_reply,
                });
            }
            Message::ChannelSuccess { recipient } | Message::ChannelFailure { recipient } => {
                let success = matches!(msg, Message::ChannelSuccess { .. });
                let c = self.open_for_peer(recipient)?;
                if c.replies_due == 0 {
                    return Err(Error::Peer(Violation::UnsolicitedChannelReply));
                }
                c.replies_due -= 1;
                ev.push_back(Event::ChannelReply {
                    channel: ChannelId(recipient),
                    success,
                });
            }
            _ => return Err(Error::Peer(Violation::NotConnectionMessage)),
        }
        Ok(())
    }

    /// Take the oldest reply owed; true when it answers one of our keepalives.
    fn global_reply_due(&mut self) -> Result<bool, Error> {
        self.global_replies_due
            .pop_front()
            .ok_or(Error::Peer(Violation::UnsolicitedGlobalReply))
    }

    fn open_for_peer(&mut self, id: u32) -> Result<&mut Chan, Error> {
        let c = self.get(id).ok_or_else(|| unknown(id))?;
        if c.phase != Phase::Open {
            return Err(Error::Peer(Violation::ChannelNotOpen));
        }
        Ok(c)
    }

    fn on_data(
        &mut self,
        id: u32,
        stream: DataStream,
        data: bytes::Bytes,
        ev: &mut VecDeque<Event>,
    ) -> Result<(), Error> {
        let max_packet = self.limits.channel_max_packet;
        let c = self.open_for_peer(id)?;
        if c.eof_received {
            return Err(Error::Peer(Violation::DataAfterEof));
        }
        let n = data.len();
        if n > max_packet as usize {
            return Err(Error::Peer(Violation::DataExceedsMaxPacket));
        }
        if n > c.recv_window as usize {
            return Err(Error::Peer(Violation::DataExceedsWindow));
        }
        c.recv_window -= n as u32;
        if c.close_sent {
            // In flight when we closed: counted, not delivered.
            return Ok(());
        }
        c.recv_unconsumed += n as u32;
        if n > 0 {
            ev.push_back(Event::ChannelData {
                channel: ChannelId(id),
                data,
                stream,
            });
        }
        Ok(())
    }

    /// Open a channel towards the peer.
    pub(crate) fn open(
        &mut self,
        kind: &ChannelKind,
        tx: &mut Transport,
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

    pub(crate) fn accept(&mut self, id: ChannelId, tx: &mut Transport) -> Result<(), Error> {
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
        tx: &mut Transport,
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
    pub(crate) fn keepalive(&mut self, tx: &mut Transport) -> Result<(), Error> {
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
        tx: &mut Transport,
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
        tx: &mut Transport,
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
        tx: &mut Transport,
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
        tx: &mut Transport,
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
        tx: &mut Transport,
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
        tx: &mut Transport,
        ev: &mut VecDeque<Event>,
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
        tx: &mut Transport,
        ev: &mut VecDeque<Event>,
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
        tx: &mut Transport,
        ev: &mut VecDeque<Event>,
    ) -> Result<(), Error> {
        let c = self.get_open(id)?;
        if !c.close_queued {
            c.close_queued = true;
            c.ctrl.push_back(Ctrl::Close);
        }
        self.flush_one(id.0, tx, ev)
    }

    pub(crate) fn window(&mut self, id: ChannelId) -> Result<WindowState, Error> {
        let c = self.get(id.0).ok_or(Error::UnknownChannel(id.0))?;
        Ok(WindowState {
            recv_window: c.recv_window,
            recv_unconsumed: c.recv_unconsumed,
            send_window: c.send_window,
            send_buffered: c.buffered(),
        })
    }

    /// Move buffered data into packets for every channel, round robin.
    pub(crate) fn flush_all(
        &mut self,
        tx: &mut Transport,
        ev: &mut VecDeque<Event>,
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

    fn flush_one(
        &mut self,
        id: u32,
        tx: &mut Transport,
        ev: &mut VecDeque<Event>,
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
            ev.push_back(Event::ChannelWritable {
                channel: ChannelId(id),
            });
        }
        Ok(())
    }
}
