//! The listening side for async runtimes, written once over [`Runtime`]: bind per
//! [`ServerOptions`], admit, accept, run each connection on its own task with the
//! shared [`Driver`](crate::Driver), dispatch handler calls, stop and shut down.

use std::future::poll_fn;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use ssh_proto::ServerConfig;
use tracing::{info, info_span, warn, Instrument};

use crate::control::{Admitted, ServerControl};
use crate::drive::{serve, PollIo};
use crate::handler::Handler;
use crate::net::{ServerOptions, TcpOptions};
use crate::runtime::{timeout, Runtime};
use crate::session::{Call, Session};

/// A listening SSH server on runtime `R` with handler `H`.
pub struct Server<R: Runtime, H: Handler<R::Stream>> {
    listeners: Vec<R::Listener>,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    control: ServerControl,
    tcp: TcpOptions,
}

/// Stops a running server from anywhere: stop listening, or shut down with a grace
/// period. Cheap to clone.
#[derive(Debug)]
pub struct ServerHandle<R> {
    control: ServerControl,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for ServerHandle<R> {
    fn clone(&self) -> Self {
        ServerHandle {
            control: self.control.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R: Runtime> ServerHandle<R> {
    /// The registry and admission state.
    pub fn control(&self) -> &ServerControl {
        &self.control
    }

    /// Stop accepting; live connections continue and `run` returns.
    pub fn stop_listening(&self) {
        self.control.stop_listening();
    }

    /// Stop accepting, send every connection a DISCONNECT ("server shutting down"),
    /// wait up to `grace` for them to end, then end the rest at once. Returns whether
    /// all ended within the grace period.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.control.begin_shutdown("server shutting down");
        let drained = poll_fn(|cx| self.control.poll_drained(cx));
        if timeout::<R, _>(grace, drained).await.is_some() {
            return true;
        }
        self.control.abort_all();
        let drained = poll_fn(|cx| self.control.poll_drained(cx));
        let _ = timeout::<R, _>(Duration::from_secs(5), drained).await;
        false
    }
}

impl<R: Runtime, H: Handler<R::Stream>> Server<R, H> {
    /// Bind the listening sockets (from within the runtime).
    pub async fn bind(
        options: ServerOptions,
        config: Arc<ServerConfig>,
        handler: H,
    ) -> io::Result<Self> {
        let control = ServerControl::new(options.admission.clone()).map_err(io::Error::other)?;
        let mut listeners = Vec::new();
        for l in crate::net::bind(&options.listen)? {
            l.set_nonblocking(true)?;
            listeners.push(R::listener(l)?);
        }
        Ok(Server {
            listeners,
            config,
            handler: Arc::new(handler),
            control,
            tcp: options.tcp,
        })
    }

    /// The first bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        R::local_addr(&self.listeners[0])
    }

    /// Every bound address.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.listeners.iter().map(R::local_addr).collect()
    }

    /// The registry and admission state.
    pub fn control(&self) -> ServerControl {
        self.control.clone()
    }

    /// A handle to stop or shut down the server.
    pub fn handle(&self) -> ServerHandle<R> {
        ServerHandle {
            control: self.control.clone(),
            runtime: PhantomData,
        }
    }

    /// Accept connections, each on its own task, until listening is stopped.
    pub async fn run(self) -> io::Result<()> {
        loop {
            let accepted = poll_fn(|cx| {
                if self.control.poll_stopped(cx).is_ready() {
                    return Poll::Ready(None);
                }
                for l in &self.listeners {
                    if let Poll::Ready(r) = R::poll_accept(l, cx) {
                        return Poll::Ready(Some(r));
                    }
                }
                Poll::Pending
            })
            .await;
            match accepted {
                None => {
                    info!("stopped listening");
                    return Ok(());
                }
                Some(Ok((socket, peer))) => self.admit(socket, peer),
                Some(Err(e)) => {
                    // Out of descriptors and the like: log, pause, keep serving.
                    warn!(error = %e, "accept failed");
                    R::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn admit(&self, socket: R::Io, peer: SocketAddr) {
        let Ok(local) = crate::net::local_addr(&socket.as_fd()) else {
            return;
        };
        let admitted = match self.control.admit(peer, local) {
            Ok(a) => a,
            Err(refusal) => {
                warn!(%peer, %refusal, "connection refused");
                return;
            }
        };
        let (config, handler, tcp) = (self.config.clone(), self.handler.clone(), self.tcp);
        let span = info_span!("ssh", conn = %admitted.id(), %peer);
        R::spawn(
            async move {
                if !handler.connection_request(peer, local).await {
                    warn!("connection refused by the application");
                    return;
                }
                if let Err(e) = tcp.apply(&socket.as_fd()) {
                    warn!(error = %e, "could not set TCP options");
                }
                info!("connected");
                if let Err(e) = run_connection::<R, H>(socket, config, handler, admitted).await {
                    info!(error = %e, "connection ended with an error");
                }
            }
            .instrument(span),
        );
    }
}

/// Run one admitted connection until it ends: the handshake starts at once.
pub async fn run_connection<R: Runtime, H: Handler<R::Stream>>(
    io: R::Io,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    admitted: Admitted,
) -> io::Result<()> {
    let id = admitted.id();
    let session = Session::new(config, io.now(), admitted).map_err(io::Error::other)?;
    let session: Box<Session<H::ChannelState>> = Box::new(session);
    handler.connected(&session.info());
    let (ended, error) = serve(session, io, |call| dispatch::<R, H>(&handler, call)).await;
    info!(description = %ended.description, "connection ended");
    handler.disconnected(id, &ended);
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Run a decision on its own task, in the connection's span.
fn dispatch<R: Runtime, H: Handler<R::Stream>>(handler: &Arc<H>, call: Call<H::ChannelState>) {
    let h = handler.clone();
    let task = async move {
        match call {
            Call::Auth {
                request,
                origin,
                reply,
            } => reply.send(h.auth_from(origin, request).await),
            Call::ChannelOpen {
                channel,
                kind,
                reply,
            } => reply.send(h.channel_open(channel.with_stream(), kind).await),
            Call::ChannelRequest {
                channel,
                request,
                reply,
            } => reply.send(h.channel_request(channel.with_stream(), request).await),
        }
    };
    R::spawn(task.in_current_span());
}
