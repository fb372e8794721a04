//! A minimal russh server for the side-by-side benchmarks (BENCHMARKS.md), doing what
//! `ours-bench-server` does: any verified public key logs in; exec `zero N` sends N zero
//! bytes from memory, `sink` reads the channel to its end from memory, anything else
//! runs under `sh -c` with its output streamed back.
//!
//! russh-bench-server ADDR HOST_KEY_FILE     (prints "listening on ADDR")

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;

use russh::server::{Auth, ChannelOpenHandle, Msg, Server as _, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[derive(Default)]
struct Bench {
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl russh::server::Server for Bench {
    type Handler = Self;
    fn new_client(&mut self, _: Option<std::net::SocketAddr>) -> Self {
        Bench::default()
    }
}

impl russh::server::Handler for Bench {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        _: &str,
        _: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    /// direct-tcpip (the forwarding workload): connect, then copy both ways.
    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host: &str,
        port: u32,
        _: &str,
        _: u32,
        reply: ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        match tokio::net::TcpStream::connect((host, port as u16)).await {
            Ok(mut tcp) => {
                reply.accept().await;
                tokio::spawn(async move {
                    let mut stream = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                });
            }
            Err(_) => reply.reject(russh::ChannelOpenFailure::ConnectFailed).await,
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        id: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        let Some(channel) = self.channels.remove(&id) else {
            session.channel_failure(id)?;
            return Ok(());
        };
        session.channel_success(id)?;
        tokio::spawn(async move {
            let (rd, wr) = channel.split();
            let status = match command
                .strip_prefix("zero ")
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(n) => {
                    let mut w = wr.make_writer();
                    let chunk = vec![0u8; 32 * 1024];
                    let mut left = n;
                    while left > 0 {
                        let k = left.min(chunk.len() as u64) as usize;
                        if w.write_all(&chunk[..k]).await.is_err() {
                            break;
                        }
                        left -= k as u64;
                    }
                    let _ = w.flush().await;
                    0
                }
                None if command == "sink" => {
                    let mut rd = rd;
                    while let Some(msg) = rd.wait().await {
                        if matches!(msg, ChannelMsg::Eof | ChannelMsg::Close) {
                            break;
                        }
                    }
                    0
                }
                None => run(rd, &wr, &command).await,
            };
            let _ = wr.exit_status(status).await;
            let _ = wr.eof().await;
            let _ = wr.close().await;
        });
        Ok(())
    }
}

/// `sh -c command` with the channel as its stdin and stdout; the exit code.
async fn run(mut rd: ChannelReadHalf, wr: &ChannelWriteHalf<Msg>, command: &str) -> u32 {
    let Ok(mut child) = tokio::process::Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    else {
        return 127;
    };
    // Input runs until the client's EOF or the channel's close; the command's end
    // does not wait for it.
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            while let Some(msg) = rd.wait().await {
                let written = match msg {
                    ChannelMsg::Data { data } => stdin.write_all(&data).await.is_ok(),
                    ChannelMsg::Eof | ChannelMsg::Close => false,
                    _ => true,
                };
                if !written {
                    break;
                }
            }
        });
    }
    if let Some(mut out) = child.stdout.take() {
        let mut w = wr.make_writer();
        let _ = tokio::io::copy(&mut out, &mut w).await;
        let _ = w.flush().await;
    }
    child
        .wait()
        .await
        .ok()
        .and_then(|s| s.code())
        .unwrap_or(255) as u32
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(key_file)) = (args.next(), args.next()) else {
        eprintln!("usage: russh-bench-server ADDR HOST_KEY_FILE");
        std::process::exit(2)
    };
    let key = russh::keys::load_secret_key(&key_file, None)?;
    let config = Arc::new(russh::server::Config {
        keys: vec![key],
        auth_rejection_time: std::time::Duration::from_millis(0),
        auth_rejection_time_initial: Some(std::time::Duration::from_millis(0)),
        nodelay: true,
        ..Default::default()
    });
    let socket = TcpListener::bind(&addr).await?;
    println!("listening on {}", socket.local_addr()?);
    Bench::default().run_on_socket(config, &socket).await?;
    Ok(())
}
