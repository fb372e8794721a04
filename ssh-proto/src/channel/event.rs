//! What the channel layer reports, without knowing the connection's public event
//! type: [`ChannelEvent`]s go to a [`ChannelEvents`] sink, which the connection's
//! event queue implements by turning each into its `Event`.

use bytes::Bytes;

use super::{ChannelId, ChannelKind, ChannelRequest, DataStream};

/// Something on a channel, or a global reply, for the application.
#[derive(Debug)]
pub(crate) enum ChannelEvent {
    /// The peer asks to open a channel: `accept_channel` or `reject_channel`.
    ChannelOpenRequest {
        /// Our id for it.
        channel: ChannelId,
        /// What kind of channel.
        kind: ChannelKind,
    },
    /// A channel we opened was confirmed.
    ChannelOpened {
        /// The channel.
        channel: ChannelId,
    },
    /// A channel we opened was refused.
    ChannelOpenFailed {
        /// The channel.
        channel: ChannelId,
        /// RFC 4254 reason code.
        reason: u32,
        /// The peer's text.
        description: String,
    },
    /// A channel request from the peer. When `want_reply`, answer with `Channel::reply`.
    ChannelRequest {
        /// The channel.
        channel: ChannelId,
        /// The request.
        request: ChannelRequest,
        /// Whether the peer waits for a reply.
        want_reply: bool,
    },
    /// The peer's reply to a request we sent with want-reply.
    ChannelReply {
        /// The channel.
        channel: ChannelId,
        /// Success or failure.
        success: bool,
    },
    /// Data arrived. Call `Channel::consume` once it is processed to reopen the window.
    ChannelData {
        /// The channel.
        channel: ChannelId,
        /// The data: a slice of the decrypted packet, not a copy.
        data: Bytes,
        /// Normal or extended (stderr).
        stream: DataStream,
    },
    /// A channel whose `send` accepted less than offered can take more now.
    ChannelWritable {
        /// The channel.
        channel: ChannelId,
    },
    /// The peer will send no more data on this channel.
    ChannelEof {
        /// The channel.
        channel: ChannelId,
    },
    /// The channel is closed in both directions; its id is never given out again.
    ChannelClosed {
        /// The channel.
        channel: ChannelId,
    },
    /// The reply to a global request we sent with want-reply.
    GlobalReply {
        /// Success or failure.
        success: bool,
        /// Response data.
        data: Bytes,
    },
}

/// Where channel events go.
pub(crate) trait ChannelEvents {
    /// Report `e`.
    fn emit(&mut self, e: ChannelEvent);
}
