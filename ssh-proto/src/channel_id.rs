//! [`ChannelId`], on its own at the bottom of the crate so that errors and events can
//! name a channel without depending on the channel layer.

use std::fmt;

/// Our id for a channel (the "recipient channel" the peer uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u32);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
