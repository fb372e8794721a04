//! A smol adapter for `ssh-proto`: each connection is a smol task looping around the
//! core's five calls, with decisions made by a shared [`ExecHandler`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use ssh_proto::bytes::BytesMut;
use ssh_proto::server::{ExecDispatcher, ExecHandler};
use ssh_proto::{ServerConfig, ServerConnection};

/// A listening smol server.
pub struct Server<H: ExecHandler> {
    listener: TcpListener,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
}

impl<H: ExecHandler> Server<H> {
    /// Bind `addr` (port 0 picks an ephemeral port).
    pub async fn bind(addr: SocketAddr, config: Arc<ServerConfig>, handler: H) -> io::Result<Self> {
        Ok(Server {
            listener: TcpListener::bind(addr).await?,
            config,
            handler: Arc::new(handler),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept connections forever, each on its own task.
    pub async fn run(self) -> io::Result<()> {
        loop {
            let (stream, _) = self.listener.accept().await?;
            let (config, handler) = (self.config.clone(), self.handler.clone());
            smol::spawn(async move {
                if let Err(e) = serve_connection(stream, config, &*handler).await {
                    tracing::info!(error = %e, "connection ended with an error");
                }
            })
            .detach();
        }
    }
}

/// Serve one connection until it ends.
pub async fn serve_connection(
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
            stream.write_all(&b).await?;
        }
        if !alive || conn.is_closed() {
            return Ok(());
        }
        enum Woke {
            Read(io::Result<usize>),
            Timer,
        }
        let read = async { Woke::Read(stream.read(&mut buf).await) };
        let woke = match conn.poll_timeout() {
            Some(t) => {
                read.or(async {
                    smol::Timer::at(t).await;
                    Woke::Timer
                })
                .await
            }
            None => read.await,
        };
        match woke {
            Woke::Read(Ok(0)) => return Ok(()),
            Woke::Read(Ok(n)) => {
                rx.extend_from_slice(&buf[..n]);
                let _ = conn.handle_input(Instant::now(), &mut rx);
            }
            Woke::Read(Err(e)) => return Err(e),
            Woke::Timer => {
                let _ = conn.handle_timeout(Instant::now());
            }
        }
    }
}
