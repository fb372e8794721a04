//! smol adapter for `ssh-proto`: a [`Server`] that binds (IPv4, IPv6 or both),
//! admits, accepts and runs each connection on its own task around the shared
//! [`ssh_proto::server::Session`]; an async [`Handler`] for the application's
//! decisions; channels as futures-io `AsyncRead + AsyncWrite` streams; a [`ServerControl`] to
//! list, disconnect and shut down from anywhere.

mod connection;
mod server;
mod stream;

use std::future::Future;
use std::net::SocketAddr;

use ssh_proto::server::{ConnectionId, ConnectionInfo, Ended};
use ssh_proto::{AuthDecision, AuthRequest, ChannelKind, ChannelRequest};

pub use connection::run_connection;
pub use server::{Server, ServerHandle};
pub use ssh_net::{IpFamily, ListenOptions, ServerOptions, TcpOptions};
pub use ssh_proto::server::{ChannelControl, Refusal, ServerControl};
pub use stream::{ChannelContext, ChannelStderr, ChannelStream, ChannelWriter};

/// The application's decisions and notifications. Every decision has a safe default:
/// authentication and channel requests are refused, only session channels open. Each call runs on its own task, so a slow decision never stalls the
/// connection; requests on one channel are handled one at a time, in order.
pub trait Handler: Send + Sync + 'static {
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

    /// Decide whether to open a channel (the context's stream is usable once open).
    /// The default opens session channels, which do nothing until a request is
    /// granted, and refuses every other kind (forwarding among them).
    fn channel_open(
        &self,
        channel: ChannelContext<Self::ChannelState>,
        kind: ChannelKind,
    ) -> impl Future<Output = bool> + Send {
        let _ = channel;
        async move { kind == ChannelKind::Session }
    }

    /// Handle a channel request; the result is the reply when the client wants one.
    fn channel_request(
        &self,
        channel: ChannelContext<Self::ChannelState>,
        request: ChannelRequest,
    ) -> impl Future<Output = bool> + Send {
        let _ = (channel, request);
        async { false }
    }
}
