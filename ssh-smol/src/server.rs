//! The listening side: bind per [`ServerOptions`], admit, accept, stop, shut down.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use smol::{Async, Timer};
use ssh_net::{ServerOptions, TcpOptions};
use ssh_proto::server::ServerControl;
use ssh_proto::ServerConfig;
use tracing::{info, info_span, warn, Instrument};

use crate::connection::run_connection;
use crate::Handler;

/// A listening SSH server.
pub struct Server<H: Handler> {
    listeners: Vec<Async<TcpListener>>,
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

async fn drained_within(control: &ServerControl, limit: Duration) -> bool {
    let drained = async {
        poll_fn(|cx| control.poll_drained(cx)).await;
        true
    };
    smol::future::or(drained, async {
        Timer::after(limit).await;
        false
    })
    .await
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
        if drained_within(&self.control, grace).await {
            return true;
        }
        self.control.abort_all();
        drained_within(&self.control, Duration::from_secs(5)).await;
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
        let listeners = ssh_net::bind(&options.listen)?
            .into_iter()
            .map(Async::new)
            .collect::<io::Result<Vec<_>>>()?;
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
        self.listeners[0].get_ref().local_addr()
    }

    /// Every bound address.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.listeners
            .iter()
            .map(|l| l.get_ref().local_addr())
            .collect()
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
                    loop {
                        match l.poll_readable(cx) {
                            Poll::Ready(Ok(())) => match l.get_ref().accept() {
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                                r => return Poll::Ready(Some(r)),
                            },
                            Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                            Poll::Pending => break,
                        }
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
                    Timer::after(Duration::from_millis(50)).await;
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
        smol::spawn(
            async move {
                if !handler.connection_request(peer, local).await {
                    warn!("connection refused by the application");
                    return;
                }
                if let Err(e) = tcp.apply(&socket) {
                    warn!(error = %e, "could not set TCP options");
                }
                let socket = match Async::new(socket) {
                    Ok(s) => s,
                    Err(e) => return warn!(error = %e, "could not register the socket"),
                };
                info!("connected");
                if let Err(e) = run_connection(socket, config, handler, admitted).await {
                    info!(error = %e, "connection ended with an error");
                }
            }
            .instrument(span),
        )
        .detach();
    }
}
