//! The listening side: bind per [`ServerOptions`], admit, accept, stop, shut down.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use ssh_net::{ServerOptions, TcpOptions};
use ssh_proto::server::ServerControl;
use ssh_proto::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tracing::{info, info_span, warn, Instrument};

use crate::connection::run_connection;
use crate::Handler;

/// A listening SSH server.
pub struct Server<H: Handler> {
    listeners: Vec<TcpListener>,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    control: ServerControl,
    tcp: TcpOptions,
}

/// Stops a running server from anywhere: stop listening, or shut down with a grace
/// period. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    control: ServerControl,
}

impl ServerHandle {
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
        if tokio::time::timeout(grace, drained).await.is_ok() {
            return true;
        }
        self.control.abort_all();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            poll_fn(|cx| self.control.poll_drained(cx)),
        )
        .await;
        false
    }
}

impl<H: Handler> Server<H> {
    /// Bind the listening sockets.
    pub async fn bind(
        options: ServerOptions,
        config: Arc<ServerConfig>,
        handler: H,
    ) -> io::Result<Self> {
        let control = ServerControl::new(options.admission.clone()).map_err(io::Error::other)?;
        let mut listeners = Vec::new();
        for l in ssh_net::bind(&options.listen)? {
            l.set_nonblocking(true)?;
            listeners.push(TcpListener::from_std(l)?);
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
        self.listeners[0].local_addr()
    }

    /// Every bound address.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.listeners.iter().map(|l| l.local_addr()).collect()
    }

    /// The registry and admission state.
    pub fn control(&self) -> ServerControl {
        self.control.clone()
    }

    /// A handle to stop or shut down the server.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            control: self.control.clone(),
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
                    if let Poll::Ready(r) = l.poll_accept(cx) {
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
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn admit(&self, socket: TcpStream, peer: SocketAddr) {
        let local = match socket.local_addr() {
            Ok(a) => a,
            Err(_) => return,
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
        tokio::spawn(
            async move {
                if !handler.connection_request(peer, local).await {
                    warn!("connection refused by the application");
                    return;
                }
                if let Err(e) = tcp.apply(&socket) {
                    warn!(error = %e, "could not set TCP options");
                }
                info!("connected");
                if let Err(e) = run_connection(socket, config, handler, admitted).await {
                    info!(error = %e, "connection ended with an error");
                }
            }
            .instrument(span),
        );
    }
}
