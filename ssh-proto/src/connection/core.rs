//! What both roles share: the transport, the channel table, the event queue, and the
//! one place that sorts errors (fatal or a refused command) and ends the connection.

use std::collections::VecDeque;

use bytes::Bytes;
use tracing::info;

use crate::channel::ChannelTable;
use crate::error::{Class, CommandError, ConnectionError, DisconnectReason, Error};
use crate::event::Event;
use crate::transport::{Transport, TransportEvent};
use crate::wire::message::Message;

/// What the output bound's error says.
const PENDING_OUTPUT: &str = "peer is not reading: pending output";

/// What both roles share: the transport, the channels, the event queue.
pub(super) struct Core {
    pub(super) transport: Transport,
    pub(super) channels: ChannelTable,
    pub(super) events: VecDeque<Event>,
    pub(super) closed: bool,
    /// The application sent channel data since the timers last looked; with an idle
    /// timeout set, `poll_timeout` then asks to be called at once so the activity
    /// is stamped with the adapter's current time.
    pub(super) app_active: bool,
}

impl Core {
    pub(super) fn new(transport: Transport, accept_opens: bool) -> Self {
        let limits = *transport.limits();
        Core {
            transport,
            channels: ChannelTable::new(limits, accept_opens),
            events: VecDeque::new(),
            closed: false,
            app_active: false,
        }
    }

    pub(super) fn check_open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// End the connection because of `e` (taken as fatal whatever its kind): send
    /// DISCONNECT (unless the peer sent one) and report it. Returns what ended it.
    pub(super) fn fail(&mut self, e: Error) -> ConnectionError {
        let e = e.into_fatal();
        self.end(&e);
        e
    }

    /// The one classification of a command's outcome: a refusal leaves the connection
    /// as it is, anything else ends it and says so.
    pub(super) fn command<T>(&mut self, r: Result<T, Error>) -> Result<T, CommandError> {
        match r {
            // A command may queue output too (raw packets, replies): the bound holds
            // for it as for input.
            Ok(_) if !self.closed && self.over_output_bound() => {
                let f = ConnectionError::LimitExceeded(PENDING_OUTPUT);
                self.end(&f);
                Err(CommandError::Ended(f))
            }
            Ok(v) => Ok(v),
            Err(e) => match e.classify() {
                Class::Command(c) => Err(c),
                Class::Fatal(f) => {
                    self.end(&f);
                    Err(CommandError::Ended(f))
                }
            },
        }
    }

    pub(super) fn end(&mut self, e: &ConnectionError) {
        if self.closed {
            return;
        }
        let (by_peer, description) = match e {
            ConnectionError::PeerDisconnected { description, .. } => (true, description.clone()),
            other => (false, other.to_string()),
        };
        let log = self.transport.log_settings().info();
        if !by_peer {
            if log {
                info!(error = %e, "closing connection");
            }
            self.transport
                .disconnect(e.disconnect_reason(), &description);
        } else if log {
            info!(%description, "peer disconnected");
        }
        self.closed = true;
        self.events.push_back(Event::Disconnected {
            reason: e.disconnect_reason(),
            description,
            by_peer,
            error: Some(e.clone()),
        });
    }

    pub(super) fn disconnect(&mut self, reason: DisconnectReason, description: &str) {
        if self.closed {
            return;
        }
        if self.transport.log_settings().info() {
            info!(?reason, %description, "disconnecting");
        }
        self.transport.disconnect(reason, description);
        self.closed = true;
        self.events.push_back(Event::Disconnected {
            reason,
            description: description.into(),
            by_peer: false,
            error: None,
        });
    }

    pub(super) fn drain_transport_events(&mut self) -> Vec<TransportEvent> {
        let mut v = Vec::new();
        while let Some(e) = self.transport.poll_event() {
            match e {
                TransportEvent::KeysExchanged(n) => {
                    if self.transport.log_settings().info() {
                        info!(
                            kex = n.kex.name(),
                            cipher = n.cipher_s2c.name(),
                            strict = n.strict_kex,
                            "keys exchanged"
                        );
                    }
                    self.events.push_back(Event::KeysExchanged(n.clone()));
                    v.push(TransportEvent::KeysExchanged(n));
                }
                TransportEvent::ServerHostKey(k) => self.events.push_back(Event::ServerHostKey(k)),
                TransportEvent::Debug(m) => self.events.push_back(Event::PeerDebug(m)),
            }
        }
        v
    }

    /// Shared tail of every entry point: move buffered channel data and enforce the
    /// output bound.
    pub(super) fn after(&mut self) -> Result<(), Error> {
        if self.closed {
            return Ok(());
        }
        self.channels
            .flush_all(&mut self.transport, &mut self.events)?;
        if self.over_output_bound() {
            return Err(Error::LimitExceeded(PENDING_OUTPUT));
        }
        Ok(())
    }

    pub(super) fn over_output_bound(&self) -> bool {
        self.transport.pending_output() > self.transport.limits().max_pending_output
    }

    pub(super) fn poll_transmit(&mut self) -> Option<Bytes> {
        let out = self.transport.poll_transmit();
        if out.is_some() && !self.closed {
            // Room freed: let buffered channel data follow in the next chunk.
            if let Err(e) = self
                .channels
                .flush_all(&mut self.transport, &mut self.events)
            {
                self.fail(e);
            }
        }
        out
    }

    pub(super) fn reply_unimplemented(&mut self) -> Result<(), Error> {
        let seq = self.transport.last_seq();
        self.transport.send_msg(&Message::Unimplemented { seq })
    }
}
