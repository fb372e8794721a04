//! The application's side of an async server, written once for every async runtime:
//! decisions (authentication, channel opens and requests) and notifications.

use std::future::Future;
use std::net::SocketAddr;

use ssh_proto::{AuthDecision, AuthRequest, ChannelKind, ChannelRequest};

use crate::channel_io::ChannelIo;
use crate::control::{ConnectionId, ConnectionInfo, ConnectionOrigin};
use crate::session::{ChannelContext, Ended};

/// The application's decisions and notifications, for a server whose channels are
/// streams of type `T` (each adapter's `ChannelStream`). Every decision has a safe
/// default: authentication and channel requests are refused, only session channels
/// open. Each call runs on its own task, so a slow decision never stalls the
/// connection; requests on one channel are handled one at a time, in order.
pub trait Handler<T: From<ChannelIo> = ChannelIo>: Send + Sync + 'static {
    /// Per-channel state the handler keeps between requests (env, pty size, child pid...).
    type ChannelState: Default + Send + 'static;

    /// A TCP connection passed the admission rules; accept it (reference:
    /// ConnectionRequest). Nothing has been sent to the client yet.
    fn connection_request(
        &self,
        remote: SocketAddr,
        local: SocketAddr,
    ) -> impl Future<Output = bool> + Send {
        let _ = (remote, local);
        async { true }
    }

    /// A connection was admitted and starts its handshake.
    fn connected(&self, info: &ConnectionInfo) {
        let _ = info;
    }

    /// A connection ended, with how.
    fn disconnected(&self, id: ConnectionId, ended: &Ended) {
        let _ = (id, ended);
    }

    /// Decide on an authentication attempt.
    fn auth(&self, request: AuthRequest) -> impl Future<Output = AuthDecision> + Send {
        let _ = request;
        async { AuthDecision::Reject }
    }

    /// Decide on an authentication attempt knowing the connection it comes from (its
    /// id and addresses), for rules such as authorized_keys `from=` or restrictions
    /// kept for the connection's later requests. The default calls [`Handler::auth`].
    fn auth_from(
        &self,
        origin: ConnectionOrigin,
        request: AuthRequest,
    ) -> impl Future<Output = AuthDecision> + Send {
        let _ = origin;
        self.auth(request)
    }

    /// Decide whether to open a channel (the context's stream is usable once open).
    /// The default opens session channels, which do nothing until a request is
    /// granted, and refuses every other kind (forwarding among them).
    fn channel_open(
        &self,
        channel: ChannelContext<Self::ChannelState, T>,
        kind: ChannelKind,
    ) -> impl Future<Output = bool> + Send {
        let _ = channel;
        async move { kind == ChannelKind::Session }
    }

    /// Handle a channel request; the result is the reply when the client wants one.
    fn channel_request(
        &self,
        channel: ChannelContext<Self::ChannelState, T>,
        request: ChannelRequest,
    ) -> impl Future<Output = bool> + Send {
        let _ = (channel, request);
        async { false }
    }
}
