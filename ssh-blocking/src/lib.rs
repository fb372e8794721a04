//! A std::net adapter for `ssh-proto`: one thread per connection, blocking reads with
//! a timeout taken from the core's `poll_timeout`. Thread per connection keeps the
//! loop trivially simple and suits the tens-to-hundreds of sessions a blocking server
//! is chosen for; async adapters cover the large-scale case.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh_proto::bytes::BytesMut;
use ssh_proto::server::{ExecDispatcher, ExecHandler};
use ssh_proto::{ServerConfig, ServerConnection};

/// A listening blocking server.
pub struct Server<H: ExecHandler> {
    listener: TcpListener,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
}

impl<H: ExecHandler> Server<H> {
    /// Bind `addr` (port 0 picks an ephemeral port).
    pub fn bind(addr: SocketAddr, config: Arc<ServerConfig>, handler: H) -> io::Result<Self> {
        Ok(Server {
            listener: TcpListener::bind(addr)?,
            config,
            handler: Arc::new(handler),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept connections forever, each on its own thread.
    pub fn run(self) -> io::Result<()> {
        for stream in self.listener.incoming() {
            let stream = stream?;
            let (config, handler) = (self.config.clone(), self.handler.clone());
            std::thread::spawn(move || {
                if let Err(e) = serve_connection(stream, config, &*handler) {
                    tracing::info!(error = %e, "connection ended with an error");
                }
            });
        }
        Ok(())
    }
}

/// Serve one connection on the calling thread until it ends.
pub fn serve_connection(
    mut stream: TcpStream,
    config: Arc<ServerConfig>,
    handler: &dyn ExecHandler,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut conn = ServerConnection::new(config, Instant::now()).map_err(io::Error::other)?;
    let mut dispatcher = ExecDispatcher::new();
    let mut rx = BytesMut::with_capacity(64 * 1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let alive = dispatcher.run(&mut conn, handler);
        while let Some(b) = conn.poll_transmit() {
            stream.write_all(&b)?;
        }
        if !alive || conn.is_closed() {
            return Ok(());
        }
        let timeout = conn.poll_timeout().map(|t| {
            t.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        stream.set_read_timeout(timeout)?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                rx.extend_from_slice(&buf[..n]);
                let _ = conn.handle_input(Instant::now(), &mut rx);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let _ = conn.handle_timeout(Instant::now());
            }
            Err(e) => return Err(e),
        }
    }
}
