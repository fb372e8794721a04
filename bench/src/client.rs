//! An in-process SSH client: our sans-IO `ClientConnection` on a tokio socket. One
//! per connection, thousands per process; the same client for every server measured.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ssh_proto::{
    ChannelRequest, ClientConfig, ClientConnection, DisconnectReason, Event, PrivateKey,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection to a server.
pub struct Client {
    conn: ClientConnection,
    sock: TcpStream,
    rx: BytesMut,
    /// Events taken from the connection and not yet wanted.
    backlog: VecDeque<Event>,
}

fn fail(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// What an exec returned.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecResult {
    /// Bytes received on stdout.
    pub bytes: u64,
    /// The exit status, if the server sent one.
    pub status: Option<u32>,
}

impl Client {
    /// Connect, exchange keys and log in as `user` with `key`.
    pub async fn login(
        addr: SocketAddr,
        config: Arc<ClientConfig>,
        user: &str,
        key: &PrivateKey,
    ) -> io::Result<Client> {
        Self::login_from(None, addr, config, user, key).await
    }

    /// As [`Client::login`], from a chosen local address (many loopback addresses give
    /// more than one address's worth of ephemeral ports).
    pub async fn login_from(
        local: Option<std::net::IpAddr>,
        addr: SocketAddr,
        config: Arc<ClientConfig>,
        user: &str,
        key: &PrivateKey,
    ) -> io::Result<Client> {
        let sock = match local {
            None => TcpStream::connect(addr).await?,
            Some(ip) => {
                let s = tokio::net::TcpSocket::new_v4()?;
                s.bind(SocketAddr::new(ip, 0))?;
                s.connect(addr).await?
            }
        };
        sock.set_nodelay(true)?;
        let conn = ClientConnection::new(config, Instant::now()).map_err(fail)?;
        let mut c = Client {
            conn,
            sock,
            rx: BytesMut::with_capacity(16 * 1024),
            backlog: VecDeque::new(),
        };
        c.until(|_, e| matches!(e, Event::KeysExchanged(_)).then_some(()))
            .await?;
        c.conn.auth_publickey(user, key).map_err(fail)?;
        c.until(|_, e| match e {
            Event::Authenticated { .. } => Some(Ok(())),
            Event::AuthFailure { .. } => Some(Err(fail("publickey refused"))),
            _ => None,
        })
        .await??;
        // The receive buffer grew for the key exchange; an idle connection keeps little.
        c.rx = BytesMut::new();
        Ok(c)
    }

    async fn flush(&mut self) -> io::Result<()> {
        while let Some(b) = self.conn.poll_transmit() {
            self.sock.write_all(&b).await?;
        }
        Ok(())
    }

    async fn read_more(&mut self) -> io::Result<()> {
        if self.rx.capacity() - self.rx.len() < 8 * 1024 {
            self.rx.reserve(64 * 1024);
        }
        if self.sock.read_buf(&mut self.rx).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.conn
            .handle_input(Instant::now(), &mut self.rx)
            .map_err(fail)
    }

    /// Run the connection until `f` picks an event; data is consumed as it comes, so
    /// windows stay open.
    pub async fn until<T>(
        &mut self,
        mut f: impl FnMut(&mut ClientConnection, &Event) -> Option<T>,
    ) -> io::Result<T> {
        loop {
            self.flush().await?;
            while let Some(e) = self.backlog.pop_front().or_else(|| self.conn.poll_event()) {
                if let Event::ChannelData { channel, data, .. } = &e {
                    if let Ok(mut ch) = self.conn.channel(*channel) {
                        let _ = ch.consume(data.len());
                    }
                }
                if let Some(t) = f(&mut self.conn, &e) {
                    self.flush().await?;
                    return Ok(t);
                }
                if let Event::Disconnected { description, .. } = &e {
                    return Err(fail(format!("disconnected: {description}")));
                }
            }
            // What the events made us send (window adjusts, requests, closes) must go
            // out before waiting for the peer, or both sides wait.
            self.flush().await?;
            self.read_more().await?;
        }
    }

    /// Open a session, run `command`, read its output to the channel's close.
    pub async fn exec(&mut self, command: &str) -> io::Result<ExecResult> {
        let id = self.conn.open_session().map_err(fail)?;
        self.until(|_, e| match e {
            Event::ChannelOpened { channel } if *channel == id => Some(Ok(())),
            Event::ChannelOpenFailed { channel, .. } if *channel == id => {
                Some(Err(fail("session refused")))
            }
            _ => None,
        })
        .await??;
        let exec = ChannelRequest::Exec {
            command: command.as_bytes().to_vec().into(),
        };
        self.conn
            .channel(id)
            .and_then(|mut c| c.request(&exec, true))
            .map_err(fail)?;
        let mut r = ExecResult::default();
        self.until(|conn, e| match e {
            Event::ChannelReply { channel, success } if *channel == id && !success => {
                Some(Err(fail("exec refused")))
            }
            Event::ChannelData {
                channel,
                data,
                stream,
            } if *channel == id => {
                if *stream == ssh_proto::DataStream::Normal {
                    r.bytes += data.len() as u64;
                }
                None
            }
            Event::ChannelRequest {
                channel,
                request: ChannelRequest::ExitStatus { code },
                ..
            } if *channel == id => {
                r.status = Some(*code);
                None
            }
            Event::ChannelEof { channel } if *channel == id => {
                let _ = conn.channel(id).and_then(|mut c| c.close());
                None
            }
            Event::ChannelClosed { channel } if *channel == id => Some(Ok(())),
            _ => None,
        })
        .await??;
        Ok(r)
    }

    /// Open `n` sessions at once, run `command` on each, and read every one to its
    /// close; the stdout bytes received in all.
    pub async fn exec_many(&mut self, n: usize, command: &str) -> io::Result<u64> {
        use std::collections::HashSet;
        let mut opening = HashSet::new();
        for _ in 0..n {
            opening.insert(self.conn.open_session().map_err(fail)?);
        }
        let exec = ChannelRequest::Exec {
            command: command.as_bytes().to_vec().into(),
        };
        let mut open = HashSet::new();
        let mut bytes = 0u64;
        self.until(|conn, e| {
            match e {
                Event::ChannelOpened { channel } => {
                    let started = opening.remove(channel)
                        && conn
                            .channel(*channel)
                            .and_then(|mut c| c.request(&exec, false))
                            .is_ok();
                    if started {
                        open.insert(*channel);
                    }
                }
                Event::ChannelOpenFailed { channel, .. } if opening.remove(channel) => {
                    return Some(Err(fail("session refused")));
                }
                Event::ChannelData {
                    data,
                    stream: ssh_proto::DataStream::Normal,
                    ..
                } => {
                    bytes += data.len() as u64;
                }
                Event::ChannelEof { channel } => {
                    let _ = conn.channel(*channel).and_then(|mut c| c.close());
                }
                Event::ChannelClosed { channel } => {
                    open.remove(channel);
                }
                _ => {}
            }
            (opening.is_empty() && open.is_empty()).then_some(Ok(()))
        })
        .await??;
        Ok(bytes)
    }

    /// One keepalive@openssh.com round trip (any reply counts).
    pub async fn keepalive(&mut self) -> io::Result<Duration> {
        let t = Instant::now();
        self.conn
            .global_request("keepalive@openssh.com", true, b"")
            .map_err(fail)?;
        self.until(|_, e| matches!(e, Event::GlobalReply { .. }).then_some(()))
            .await?;
        Ok(t.elapsed())
    }

    /// Say goodbye and close the socket.
    pub async fn close(mut self) {
        self.conn
            .disconnect(DisconnectReason::ByApplication, "done");
        let _ = self.flush().await;
        let _ = self.sock.shutdown().await;
    }
}
