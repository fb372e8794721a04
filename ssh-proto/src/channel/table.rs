//! The channel table: every open and opening channel with its window and buffers,
//! ids from a counter that never hands one out twice.

use std::collections::{BTreeMap, VecDeque};

use bytes::BytesMut;

use super::{ChannelId, WindowState};
use crate::config::Limits;
use crate::error::{Error, Violation};
use crate::wire::message::Message;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// We sent CHANNEL_OPEN and wait for the answer.
    Opening,
    /// The peer asked to open; the application has not decided.
    AwaitingAccept,
    Open,
}

#[derive(Debug)]
pub(super) enum Ctrl {
    Msg(Message),
    Eof,
    Close,
}

#[derive(Debug)]
pub(super) struct Chan {
    pub(super) remote: u32,
    pub(super) phase: Phase,
    pub(super) recv_window: u32,
    pub(super) recv_unconsumed: u32,
    pub(super) send_window: u32,
    pub(super) send_max_packet: u32,
    pub(super) out_normal: BytesMut,
    /// Extended data waiting for window, all of one type code.
    pub(super) out_ext: BytesMut,
    /// The type code of what `out_ext` holds (1 is stderr).
    pub(super) out_ext_code: u32,
    pub(super) ctrl: VecDeque<Ctrl>,
    pub(super) blocked: bool,
    pub(super) eof_queued: bool,
    pub(super) close_queued: bool,
    pub(super) eof_received: bool,
    pub(super) close_sent: bool,
    /// Peer requests awaiting our reply.
    pub(super) replies_owed: usize,
    /// Our requests awaiting the peer's reply.
    pub(super) replies_due: usize,
    /// Env requests received (bounded by `Limits::max_env_per_channel`).
    pub(super) env_received: usize,
}

impl Chan {
    pub(super) fn buffered(&self) -> usize {
        self.out_normal.len() + self.out_ext.len()
    }
}

#[derive(Debug)]
pub(crate) struct ChannelTable {
    /// Open and opening channels by id. Ids come from a counter and are never handed
    /// out twice in a connection, so a late command for a closed channel can never
    /// reach a newer one.
    pub(super) chans: BTreeMap<u32, Chan>,
    /// The id the next channel gets.
    pub(super) next_id: u32,
    pub(super) accept_opens: bool,
    /// The client sent no-more-sessions@openssh.com: another session open is an
    /// attack (as sshd treats it) and ends the connection.
    pub(super) no_more_sessions: bool,
    pub(super) replies_owed: usize,
    /// Replies owed to our global requests, oldest first; true marks our own
    /// keepalives, whose replies are not reported.
    pub(super) global_replies_due: VecDeque<bool>,
    /// The id after which the next round-robin flush starts.
    pub(super) next_flush: u32,
    pub(super) limits: Limits,
}

pub(super) fn unknown(_id: u32) -> Error {
    Error::Peer(Violation::UnknownChannel)
}

impl ChannelTable {
    pub(crate) fn new(limits: Limits, accept_opens: bool) -> Self {
        ChannelTable {
            chans: BTreeMap::new(),
            next_id: 0,
            accept_opens,
            no_more_sessions: false,
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

    pub(super) fn get(&mut self, id: u32) -> Option<&mut Chan> {
        self.chans.get_mut(&id)
    }

    pub(super) fn get_open(&mut self, id: ChannelId) -> Result<&mut Chan, Error> {
        match self.get(id.0) {
            Some(c) if c.phase == Phase::Open => Ok(c),
            Some(_) => Err(Error::ChannelState("channel is not open")),
            None => Err(Error::UnknownChannel(id.0)),
        }
    }

    pub(super) fn alloc(&mut self, chan: Chan) -> Result<ChannelId, Error> {
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

    pub(super) fn remove(&mut self, id: u32) {
        if let Some(c) = self.chans.remove(&id) {
            self.replies_owed -= c.replies_owed;
        }
    }

    pub(super) fn new_chan(&self, phase: Phase) -> Chan {
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
    pub(crate) fn window(&mut self, id: ChannelId) -> Result<WindowState, Error> {
        let c = self.get(id.0).ok_or(Error::UnknownChannel(id.0))?;
        Ok(WindowState {
            recv_window: c.recv_window,
            recv_unconsumed: c.recv_unconsumed,
            send_window: c.send_window,
            send_buffered: c.buffered(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::channel::{DataStream, Outbox};
    use crate::event::Event;
    use crate::log::LogSettings;

    /// An outbox that decodes every packet it is given, with a switch for "a key
    /// exchange holds data packets".
    #[derive(Default)]
    struct Recorder {
        sent: Vec<Message>,
        held: bool,
        log: LogSettings,
    }

    impl Outbox for Recorder {
        fn send_msg(&mut self, m: &Message) -> Result<(), Error> {
            self.sent.push(m.clone());
            Ok(())
        }
        fn send_with(
            &mut self,
            hint: usize,
            fill: impl FnOnce(&mut BytesMut),
        ) -> Result<(), Error> {
            let mut b = BytesMut::with_capacity(hint);
            fill(&mut b);
            self.sent.push(Message::decode(&b.freeze())?);
            Ok(())
        }
        fn can_send(&self) -> bool {
            !self.held
        }
        fn pending_output(&self) -> usize {
            0
        }
        fn log_settings(&self) -> &LogSettings {
            &self.log
        }
    }

    fn limits() -> Limits {
        Limits {
            channel_window: 1000,
            channel_max_packet: 400,
            ..Limits::default()
        }
    }

    /// The peer opens channel 7 (window 500, packets of 200) and we accept it.
    fn opened(table: &mut ChannelTable, tx: &mut Recorder) -> ChannelId {
        let mut ev = VecDeque::new();
        let open = Message::ChannelOpen {
            kind: "session".into(),
            sender: 7,
            window: 500,
            max_packet: 200,
            data: Bytes::new(),
        };
        table.handle(open, tx, &mut ev).unwrap();
        let Some(Event::ChannelOpenRequest { channel, .. }) = ev.pop_front() else {
            panic!("no open request: {ev:?}");
        };
        table.accept(channel, tx).unwrap();
        assert!(matches!(
            tx.sent.pop(),
            Some(Message::ChannelOpenConfirmation {
                recipient: 7,
                window: 1000,
                max_packet: 400,
                ..
            })
        ));
        channel
    }

    #[test]
    fn data_is_cut_to_the_peer_packet_size_and_window_then_buffered() {
        let (mut t, mut tx) = (ChannelTable::new(limits(), true), Recorder::default());
        let id = opened(&mut t, &mut tx);
        let mut ev = VecDeque::new();
        let taken = t
            .send(id, DataStream::Normal, &[1u8; 700], &mut tx)
            .unwrap();
        assert_eq!(taken, 700, "the rest fits the send buffer");
        let sizes: Vec<usize> = tx
            .sent
            .drain(..)
            .map(|m| match m {
                Message::ChannelData { recipient: 7, data } => data.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            sizes,
            [200, 200, 100],
            "packets of at most 200, window of 500"
        );
        assert_eq!(t.window(id).unwrap().send_buffered, 200);
        // The peer opens the window: the buffered 200 follow, nothing more.
        t.handle(
            Message::ChannelWindowAdjust {
                recipient: id.0,
                bytes: 1000,
            },
            &mut tx,
            &mut ev,
        )
        .unwrap();
        t.flush_all(&mut tx, &mut ev).unwrap();
        assert!(matches!(&tx.sent[..], [Message::ChannelData { data, .. }] if data.len() == 200));
        assert_eq!(t.window(id).unwrap().send_window, 800);
    }

    #[test]
    fn eof_and_close_wait_for_buffered_data_and_stderr_keeps_its_code() {
        let (mut t, mut tx) = (ChannelTable::new(limits(), true), Recorder::default());
        let id = opened(&mut t, &mut tx);
        let mut ev = VecDeque::new();
        tx.held = true; // a key exchange: nothing goes now
        t.send(id, DataStream::Stderr, b"err", &mut tx).unwrap();
        t.eof(id, &mut tx, &mut ev).unwrap();
        t.close(id, &mut tx, &mut ev).unwrap();
        assert!(tx.sent.is_empty(), "{:?}", tx.sent);
        tx.held = false;
        t.flush_all(&mut tx, &mut ev).unwrap();
        assert!(
            matches!(
                &tx.sent[..],
                [
                    Message::ChannelExtendedData { code: 1, .. },
                    Message::ChannelEof { recipient: 7 },
                    Message::ChannelClose { recipient: 7 },
                ]
            ),
            "{:?}",
            tx.sent
        );
        assert!(t.send(id, DataStream::Normal, b"late", &mut tx).is_err());
    }

    #[test]
    fn the_peer_breaking_window_and_packet_rules_is_a_named_violation() {
        let (mut t, mut tx) = (ChannelTable::new(limits(), true), Recorder::default());
        let id = opened(&mut t, &mut tx);
        let mut ev = VecDeque::new();
        let data = |n| Message::ChannelData {
            recipient: id.0,
            data: Bytes::from(vec![0u8; n]),
        };
        assert_eq!(
            t.handle(data(401), &mut tx, &mut ev),
            Err(Error::Peer(Violation::DataExceedsMaxPacket))
        );
        for _ in 0..2 {
            t.handle(data(400), &mut tx, &mut ev).unwrap();
        }
        assert_eq!(
            t.handle(data(201), &mut tx, &mut ev),
            Err(Error::Peer(Violation::DataExceedsWindow))
        );
        assert_eq!(
            t.handle(Message::ChannelEof { recipient: 99 }, &mut tx, &mut ev),
            Err(Error::Peer(Violation::UnknownChannel))
        );
        let adjust = Message::ChannelWindowAdjust {
            recipient: id.0,
            bytes: u32::MAX,
        };
        assert_eq!(
            t.handle(adjust, &mut tx, &mut ev),
            Err(Error::Peer(Violation::WindowOverflow))
        );
    }
}
