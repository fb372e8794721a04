//! What the peer sends on the connection protocol: opens and their answers, data,
//! window adjusts, EOF and close, channel and global requests and replies.

use super::event::{ChannelEvent, ChannelEvents};
use super::table::{unknown, Chan, Phase};
use super::{
    ChannelId, ChannelKind, ChannelRequest, ChannelTable, DataStream, OpenFailure, Outbox,
};
use crate::error::{Error, Violation};
use crate::wire::message::Message;

impl ChannelTable {
    pub(crate) fn handle(
        &mut self,
        msg: Message,
        tx: &mut impl Outbox,
        ev: &mut impl ChannelEvents,
    ) -> Result<(), Error> {
        match msg {
            Message::GlobalRequest {
                name, want_reply, ..
            } => {
                if name == "no-more-sessions@openssh.com" && self.accept_opens {
                    self.no_more_sessions = true;
                }
                if want_reply {
                    tx.send_msg(&Message::RequestFailure)?;
                }
            }
            Message::RequestSuccess { data } => {
                if !self.global_reply_due()? {
                    ev.emit(ChannelEvent::GlobalReply {
                        success: true,
                        data,
                    });
                }
            }
            Message::RequestFailure => {
                if !self.global_reply_due()? {
                    ev.emit(ChannelEvent::GlobalReply {
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
                if self.no_more_sessions && kind == ChannelKind::Session {
                    return Err(Error::Peer(Violation::SessionAfterNoMoreSessions));
                }
                let mut c = self.new_chan(Phase::AwaitingAccept);
                c.remote = sender;
                c.send_window = window;
                c.send_max_packet = max_packet.max(1);
                match self.alloc(c) {
                    Ok(id) => ev.emit(ChannelEvent::ChannelOpenRequest { channel: id, kind }),
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
                ev.emit(ChannelEvent::ChannelOpened {
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
                ev.emit(ChannelEvent::ChannelOpenFailed {
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
                    ev.emit(ChannelEvent::ChannelEof {
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
                ev.emit(ChannelEvent::ChannelClosed {
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
                ev.emit(ChannelEvent::ChannelRequest {
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
                ev.emit(ChannelEvent::ChannelReply {
                    channel: ChannelId(recipient),
                    success,
                });
            }
            _ => return Err(Error::Peer(Violation::NotConnectionMessage)),
        }
        Ok(())
    }

    /// Take the oldest reply owed; true when it answers one of our keepalives.
    pub(super) fn global_reply_due(&mut self) -> Result<bool, Error> {
        self.global_replies_due
            .pop_front()
            .ok_or(Error::Peer(Violation::UnsolicitedGlobalReply))
    }

    pub(super) fn open_for_peer(&mut self, id: u32) -> Result<&mut Chan, Error> {
        let c = self.get(id).ok_or_else(|| unknown(id))?;
        if c.phase != Phase::Open {
            return Err(Error::Peer(Violation::ChannelNotOpen));
        }
        Ok(c)
    }

    pub(super) fn on_data(
        &mut self,
        id: u32,
        stream: DataStream,
        data: bytes::Bytes,
        ev: &mut impl ChannelEvents,
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
            ev.emit(ChannelEvent::ChannelData {
                channel: ChannelId(id),
                data,
                stream,
            });
        }
        Ok(())
    }
}
