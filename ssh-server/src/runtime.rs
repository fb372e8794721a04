//! What an async runtime supplies to the shared server loop: listeners and accepted
//! sockets it can poll, task spawning and a sleep. Each async adapter implements
//! [`Runtime`] on a marker type; everything else is written once here.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::channel_io::ChannelIo;
use crate::drive::PollIo;

/// An async runtime, as the server loop needs it.
pub trait Runtime: Send + Sync + 'static {
    /// A listening socket registered with the runtime.
    type Listener: Send + Sync + 'static;
    /// An accepted connection: the driver's IO, and a socket for TCP options.
    type Io: PollIo + AsFd + Send + 'static;
    /// The channel stream handed to handlers.
    type Stream: From<ChannelIo> + Send + 'static;

    /// Register a bound std listener (already non-blocking).
    fn listener(listener: TcpListener) -> io::Result<Self::Listener>;
    /// The address a listener is bound to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// Accept one connection, with the client's address.
    fn poll_accept(
        listener: &Self::Listener,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Io, SocketAddr)>>;
    /// Run `task` to its end on the runtime, detached.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);
    /// A future ready after `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
}

/// `future`'s output, or None once `limit` has passed on `R`'s clock.
pub async fn timeout<R: Runtime, T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    let mut future = std::pin::pin!(future);
    let mut sleep = std::pin::pin!(R::sleep(limit));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await
}
