//! Our server for the side-by-side benchmarks (BENCHMARKS.md), on the tokio adapter:
//! any public key whose signature the core verified logs in; exec `zero N` sends N zero
//! bytes from memory as owned buffers (`zero-write N`: through `AsyncWrite`), `sink`
//! takes the channel's input to its end as owned buffers (`sink-read`: through
//! `AsyncRead`), anything else runs under `sh -c` with its output streamed back (as
//! sshd must).
//!
//! ours-bench-server ADDR HOST_KEY_FILE     (prints "listening on ADDR")

use std::process::Stdio;

use ssh_proto::bytes::Bytes;
use ssh_proto::{
    AuthDecision, AuthMethod, AuthRequest, ChannelRequest, Limits, PrivateKey, ServerConfig,
};
use ssh_tokio::{ChannelContext, ChannelStream, Handler, Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes per send or write of `zero`, as the russh bench server writes.
const CHUNK: usize = 32 * 1024;

struct Bench;

impl Handler<ChannelStream> for Bench {
    type ChannelState = ();

    async fn auth(&self, r: AuthRequest) -> AuthDecision {
        matches!(r.method, AuthMethod::PublicKey { .. }).into()
    }

    /// direct-tcpip (the forwarding workload): connect, then copy both ways.
    async fn channel_open(&self, ctx: ChannelContext<()>, kind: ssh_proto::ChannelKind) -> bool {
        match kind {
            ssh_proto::ChannelKind::Session => true,
            ssh_proto::ChannelKind::DirectTcpip { host, port, .. } => {
                let Ok(tcp) = ssh_tokio::forward::connect_tcp(&host, port).await else {
                    return false;
                };
                match ctx.take_stream() {
                    Some(s) => {
                        tokio::spawn(ssh_tokio::forward::pump_tcp(s, tcp));
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }

    async fn channel_request(&self, ctx: ChannelContext<()>, req: ChannelRequest) -> bool {
        let ChannelRequest::Exec { command } = req else {
            return false;
        };
        let Some(mut s) = ctx.take_stream() else {
            return false;
        };
        let command = String::from_utf8_lossy(&command).into_owned();
        tokio::spawn(async move {
            let status = if let Some(n) = command
                .strip_prefix("zero ")
                .and_then(|n| n.parse::<u64>().ok())
            {
                // Owned buffers, sealed from their own memory (no copy into the stream).
                let chunk = Bytes::from(vec![0u8; CHUNK]);
                let mut left = n;
                while left > 0 {
                    let k = left.min(CHUNK as u64) as usize;
                    if s.send(chunk.slice(..k)).await.is_err() {
                        break;
                    }
                    left -= k as u64;
                }
                let _ = s.flush().await;
                0
            } else if let Some(n) = command
                .strip_prefix("zero-write ")
                .and_then(|n| n.parse::<u64>().ok())
            {
                // The same through AsyncWrite (one copy into the stream's buffer).
                let chunk = vec![0u8; CHUNK];
                let mut left = n;
                while left > 0 {
                    let k = left.min(CHUNK as u64) as usize;
                    if s.write_all(&chunk[..k]).await.is_err() {
                        break;
                    }
                    left -= k as u64;
                }
                let _ = s.flush().await;
                0
            } else if command == "sink" {
                // Received runs taken whole, no copy out.
                while let Ok(Some(_)) = s.recv().await {}
                0
            } else if command == "sink-read" {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                0
            } else {
                let control = s.control();
                let status = match tokio::process::Command::new("sh")
                    .args(["-c", &command])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                {
                    Ok(mut child) => {
                        let mut stdout = s.stdout();
                        // Input runs until the client's EOF or the channel's close; the
                        // command's end does not wait for it.
                        if let Some(mut stdin) = child.stdin.take() {
                            tokio::spawn(async move {
                                let _ = s.recv_to(&mut stdin).await;
                            });
                        }
                        // Output read into buffers that are sent whole (one copy).
                        if let Some(mut out) = child.stdout.take() {
                            let _ = stdout.send_from(&mut out).await;
                            let _ = stdout.flush().await;
                        }
                        child
                            .wait()
                            .await
                            .ok()
                            .and_then(|c| c.code())
                            .unwrap_or(255) as u32
                    }
                    Err(_) => 127,
                };
                control.exit(status);
                return;
            };
            s.exit(status);
        });
        true
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(key_file)) = (args.next(), args.next()) else {
        eprintln!("usage: ours-bench-server ADDR HOST_KEY_FILE");
        std::process::exit(2)
    };
    let key = PrivateKey::from_key_file(&std::fs::read_to_string(key_file)?, None)?;
    // Up to 2,000 channels per connection for the many-channels workload.
    let limits = Limits {
        max_channels: 2000,
        ..Limits::default()
    };
    let config = ServerConfig::builder()
        .host_key(key)
        .limits(limits)
        .build()?;
    let options = ServerOptions::listen_on(addr.parse()?).max_connections(100_000);
    let server = Server::bind(options, config.into(), Bench).await?;
    println!("listening on {}", server.local_addr()?);
    Ok(server.run().await?)
}
