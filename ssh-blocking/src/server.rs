//! The listening side: bind per [`ServerOptions`], admit, accept, stop, shut down.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh_proto::ServerConfig;
use ssh_server::{ServerControl, ServerOptions, TcpOptions};
use tracing::{info, info_span, warn};

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

/// Stops a running server from any thread: stop listening, or shut down with a
/// grace period. Cheap to clone.
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
    pub fn shutdown(&self, grace: Duration) -> bool {
        self.control.begin_shutdown("server shutting down");
        if self.control.wait_drained(Instant::now() + grace) {
            return true;
        }
        self.control.abort_all();
        self.control
            .wait_drained(Instant::now() + Duration::from_secs(5));
        false
    }
}

impl<H: Handler> Server<H> {
    /// Bind the listening sockets.
    pub fn bind(options: ServerOptions, config: Arc<ServerConfig>, handler: H) -> io::Result<Self> {
        let control = ServerControl::new(options.admission.clone()).map_err(io::Error::other)?;
        let listeners = ssh_server::bind(&options.listen)?;
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

    /// Accept connections (one thread per listening socket, each connection on its
    /// own threads) until listening is stopped; returns then.
    pub fn run(self) -> io::Result<()> {
        let this = Arc::new(self);
        let mut pokes = Vec::new();
        let mut threads = Vec::new();
        for i in 0..this.listeners.len() {
            pokes.push(poke_addr(this.listeners[i].local_addr()?));
            let me = this.clone();
            threads.push(std::thread::spawn(move || me.accept_loop(i)));
        }
        while !this
            .control
            .wait_stopped(Instant::now() + Duration::from_secs(3600))
        {}
        // A blocked accept() wakes only for a connection: make one to each listener.
        for a in pokes {
            let _ = TcpStream::connect_timeout(&a, Duration::from_secs(1));
        }
        for t in threads {
            let _ = t.join();
        }
        info!("stopped listening");
        Ok(())
    }

    fn accept_loop(&self, i: usize) {
        loop {
            let r = self.listeners[i].accept();
            if self.control.is_stopped() {
                return;
            }
            match r {
                Ok((socket, peer)) => self.admit(socket, peer),
                Err(e) => {
                    // Out of descriptors and the like: log, pause, keep serving.
                    warn!(error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(50));
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
        std::thread::spawn(move || {
            let _g = span.enter();
            if !handler.connection_request(peer, local) {
                warn!("connection refused by the application");
                return;
            }
            if let Err(e) = tcp.apply(&socket) {
                warn!(error = %e, "could not set TCP options");
            }
            info!("connected");
            if let Err(e) = run_connection(socket, config, handler, admitted) {
                info!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// Where to connect to wake a listener bound to `a` (wildcards become loopback).
fn poke_addr(mut a: SocketAddr) -> SocketAddr {
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}
