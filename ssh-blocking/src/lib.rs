//! A std::net adapter for `ssh-proto`: a [`Server`] that binds (IPv4, IPv6 or both),
//! admits and accepts on the calling thread, a [`Handler`] with plain methods, and
//! channels as `Read + Write` streams.
//!
//! Threads: each connection has a driver thread (the shared
//! [`ssh_server::Session`], writes, timers) and a reader thread that blocks on
//! the socket and hands chunks over through a bounded queue; each handler call runs
//! on a short-lived thread so a slow decision never stalls the connection. Threads
//! keep the code obvious and suit the tens-to-hundreds of sessions a blocking server
//! is chosen for; the async adapters cover the large-scale case.

mod connection;
pub mod forward;
mod server;
mod stream;

use std::net::SocketAddr;

use ssh_proto::{AuthDecision, AuthRequest, ChannelKind, ChannelRequest};
use ssh_server::{ConnectionId, ConnectionInfo, Ended};

pub use connection::run_connection;
pub use server::{Server, ServerHandle};
pub use ssh_server::{ChannelControl, ConnectionOrigin, Refusal, ServerControl};
pub use ssh_server::{IpFamily, ListenOptions, ServerOptions, TcpOptions};
pub use stream::{ChannelContext, ChannelStream, ChannelWriter};

/// The application's decisions and notifications. Every decision has a safe default:
/// authentication and channel requests are refused, only session channels open. Each call runs on its own thread; requests on one channel are handled one
/// at a time, in order.
pub trait Handler: Send + Sync + 'static {
    /// Per-channel state the handler keeps between requests (env, pty size, child pid...).
    type ChannelState: Default + Send + 'static;

    /// A TCP connection passed the admission rules; accept it (reference:
    /// ConnectionRequest). Nothing has been sent to the client yet.
    fn connection_request(&self, remote: SocketAddr, local: SocketAddr) -> bool {
        let _ = (remote, local);
        true
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
    fn auth(&self, request: AuthRequest) -> AuthDecision {
        let _ = request;
        AuthDecision::Reject
    }

    /// Decide on an authentication attempt knowing the connection it comes from (its
    /// id and addresses), for rules such as authorized_keys `from=` or restrictions
    /// kept for the connection's later requests. The default calls [`Handler::auth`].
    fn auth_from(&self, origin: ConnectionOrigin, request: AuthRequest) -> AuthDecision {
        let _ = origin;
        self.auth(request)
    }

    /// Decide whether to open a channel (the context's stream is usable once open).
    /// The default opens session channels, which do nothing until a request is
    /// granted, and refuses every other kind (forwarding among them).
    fn channel_open(&self, channel: ChannelContext<Self::ChannelState>, kind: ChannelKind) -> bool {
        let _ = channel;
        kind == ChannelKind::Session
    }

    /// Handle a channel request; the result is the reply when the client wants one.
    fn channel_request(
        &self,
        channel: ChannelContext<Self::ChannelState>,
        request: ChannelRequest,
    ) -> bool {
        let _ = (channel, request);
        false
    }
}
