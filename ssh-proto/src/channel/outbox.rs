//! The narrow interface the channel layer sends through: messages encoded in place,
//! data packets built in place, and the state it needs to pace itself. The transport
//! implements it; unit tests use a recording one.

use bytes::BytesMut;

use crate::error::Error;
use crate::log::LogSettings;
use crate::transport::Transport;
use crate::wire::message::Message;

/// Where the channel layer's packets go.
pub(crate) trait Outbox {
    /// Queue a message (held during a key exchange).
    fn send_msg(&mut self, m: &Message) -> Result<(), Error>;
    /// Write a payload of about `hint` bytes built in place (only when `can_send`).
    fn send_with(&mut self, hint: usize, fill: impl FnOnce(&mut BytesMut)) -> Result<(), Error>;
    /// Whether data packets may go now (no key exchange holds them).
    fn can_send(&self) -> bool;
    /// Bytes waiting to leave.
    fn pending_output(&self) -> usize;
    /// The logging settings.
    fn log_settings(&self) -> &LogSettings;
}

impl Outbox for Transport {
    fn send_msg(&mut self, m: &Message) -> Result<(), Error> {
        Transport::send_msg(self, m)
    }
    fn send_with(&mut self, hint: usize, fill: impl FnOnce(&mut BytesMut)) -> Result<(), Error> {
        Transport::send_with(self, hint, fill)
    }
    fn can_send(&self) -> bool {
        Transport::can_send(self)
    }
    fn pending_output(&self) -> usize {
        Transport::pending_output(self)
    }
    fn log_settings(&self) -> &LogSettings {
        Transport::log_settings(self)
    }
}
