//! Events: what the application must know or decide.

use bytes::Bytes;

use crate::auth::AuthRequest;
use std::collections::VecDeque;

use crate::channel::{
    ChannelEvent, ChannelEvents, ChannelId, ChannelKind, ChannelRequest, DataStream,
};
use crate::error::{ConnectionError, DisconnectReason};
use crate::keys::PublicKey;
use crate::transport::Negotiated;

/// Something that happened on a connection. Events are plain data; decisions are
/// given back through the connection's methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A key exchange finished; these algorithms are now in force.
    KeysExchanged(Negotiated),
    /// Client role: the server proved possession of this host key.
    ServerHostKey(PublicKey),
    /// Server role: decide with [`crate::ServerConnection::answer_auth`].
    AuthRequest(AuthRequest),
    /// Authentication succeeded for this user (both roles).
    Authenticated {
        /// The user name.
        user: String,
    },
    /// Client role: the server refused an attempt.
    AuthFailure {
        /// Methods that can continue.
        methods: Vec<String>,
        /// Whether the attempt succeeded as one step of several.
        partial_success: bool,
    },
    /// Client role: the server would accept the queried key.
    AuthPkOk,
    /// Client role: the server's banner text.
    AuthBanner(String),
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
    /// Client role: the server answered our ping@openssh.com with this data.
    Pong {
        /// The data of the ping, echoed.
        data: Bytes,
    },
    /// The peer sent SSH_MSG_DEBUG with always_display set (text sanitised).
    PeerDebug(String),
    /// The connection ended. No more events follow.
    Disconnected {
        /// The reason code (sent or received).
        reason: DisconnectReason,
        /// Human-readable description.
        description: String,
        /// Whether the peer sent the disconnect.
        by_peer: bool,
        /// The error that ended it, if any.
        error: Option<ConnectionError>,
    },
}

impl ChannelEvents for VecDeque<Event> {
    fn emit(&mut self, e: ChannelEvent) {
        self.push_back(match e {
            ChannelEvent::ChannelOpenRequest { channel, kind } => {
                Event::ChannelOpenRequest { channel, kind }
            }
            ChannelEvent::ChannelOpened { channel } => Event::ChannelOpened { channel },
            ChannelEvent::ChannelOpenFailed {
                channel,
                reason,
                description,
            } => Event::ChannelOpenFailed {
                channel,
                reason,
                description,
            },
            ChannelEvent::ChannelRequest {
                channel,
                request,
                want_reply,
            } => Event::ChannelRequest {
                channel,
                request,
                want_reply,
            },
            ChannelEvent::ChannelReply { channel, success } => {
                Event::ChannelReply { channel, success }
            }
            ChannelEvent::ChannelData {
                channel,
                data,
                stream,
            } => Event::ChannelData {
                channel,
                data,
                stream,
            },
            ChannelEvent::ChannelWritable { channel } => Event::ChannelWritable { channel },
            ChannelEvent::ChannelEof { channel } => Event::ChannelEof { channel },
            ChannelEvent::ChannelClosed { channel } => Event::ChannelClosed { channel },
            ChannelEvent::GlobalReply { success, data } => Event::GlobalReply { success, data },
        });
    }
}
