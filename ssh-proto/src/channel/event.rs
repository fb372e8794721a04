//! What the channel layer reports, without knowing the connection's public event
//! type: [`ChannelEvent`]s go to a [`ChannelEvents`] sink, which the connection's
//! event queue implements by turning each into its `Event`.

use bytes::Bytes;

use super::{ChannelId, ChannelKind, ChannelRequest, DataStream};

/// Something on a channel, or a global reply, for the application: each variant
/// becomes the `Event` of the same name, whose documentation says what it means.
#[derive(Debug)]
pub(crate) enum ChannelEvent {
    /// As `Event::ChannelOpenRequest`.
    ChannelOpenRequest {
        channel: ChannelId,
        kind: ChannelKind,
    },
    /// As `Event::ChannelOpened`.
    ChannelOpened { channel: ChannelId },
    /// As `Event::ChannelOpenFailed`.
    ChannelOpenFailed {
        channel: ChannelId,
        reason: u32,
        description: String,
    },
    /// As `Event::ChannelRequest`.
    ChannelRequest {
        channel: ChannelId,
        request: ChannelRequest,
        want_reply: bool,
    },
    /// As `Event::ChannelReply`.
    ChannelReply { channel: ChannelId, success: bool },
    /// As `Event::ChannelData`.
    ChannelData {
        channel: ChannelId,
        data: Bytes,
        stream: DataStream,
    },
    /// As `Event::ChannelWritable`.
    ChannelWritable { channel: ChannelId },
    /// As `Event::ChannelEof`.
    ChannelEof { channel: ChannelId },
    /// As `Event::ChannelClosed`.
    ChannelClosed { channel: ChannelId },
    /// As `Event::GlobalReply`.
    GlobalReply { success: bool, data: Bytes },
}

/// Where channel events go.
pub(crate) trait ChannelEvents {
    /// Report `e`.
    fn emit(&mut self, e: ChannelEvent);
}
