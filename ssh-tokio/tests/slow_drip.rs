//! Slow-drip clients (one byte a second, never finishing the handshake): each is
//! dropped at the authentication deadline, and 1,000 of them do not stop a normal
//! client from logging in (issue 4, class 9).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh_proto::*;
use ssh_tokio::{ChannelContext, ChannelStream, Handler, Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Echo;

impl Handler<ChannelStream> for Echo {
    type ChannelState = ();
    async fn auth(&self, r: AuthRequest) -> AuthDecision {
        matches!(&r.method, AuthMethod::Password { password: p, .. } if p.expose() == "pw").into()
    }
    async fn channel_request(&self, ctx: ChannelContext<()>, req: ChannelRequest) -> bool {
        let ChannelRequest::Exec { command } = req else { return false };
        let Some(mut s) = ctx.take_stream() else { return false };
        tokio::spawn(async move {
            let _ = s.write_all(&command).await;
            s.exit(0);
        });
        true
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_drip_clients_are_dropped_and_do_not_block_a_login() {
    conformance::require("sshpass", "sshpass");
    const DRIPPERS: usize = 1000;
    let deadline = Duration::from_secs(3);
    let key = PrivateKey::generate_ed25519(&SystemRng).unwrap();
    let config = ServerConfig::builder()
        .host_key(key)
        .auth_timeout(Some(deadline))
        .build()
        .unwrap();
    let options =
        ServerOptions::listen_on("127.0.0.1:0".parse().unwrap()).max_connections(DRIPPERS + 100);
    let server = Server::bind(options, Arc::new(config), Echo).await.unwrap();
    let addr = server.local_addr().unwrap();
    let control = server.control();
    tokio::spawn(server.run());

    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut drips = Vec::new();
    for _ in 0..DRIPPERS {
        let dropped = dropped.clone();
        drips.push(tokio::spawn(async move {
            let Ok(s) = tokio::net::TcpStream::connect(addr).await else {
                return None;
            };
            let (mut rd, mut wr) = s.into_split();
            let t = Instant::now();
            let reader = tokio::spawn(async move {
                let mut b = [0u8; 1024];
                while let Ok(n) = rd.read(&mut b).await {
                    if n == 0 {
                        break;
                    }
                }
            });
            for &byte in b"SSH-2.0-slow-drip-client-that-never-finishes\r\n" {
                if wr.write_all(&[byte]).await.is_err() || reader.is_finished() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let _ = reader.await;
            dropped.fetch_add(1, Ordering::Relaxed);
            Some(t.elapsed())
        }));
    }
    // Wait until they are all connected, then log in normally meanwhile.
    while control.connection_count() < DRIPPERS && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(control.connection_count(), DRIPPERS);
    let port = addr.port();
    let login = Instant::now();
    let out =
        tokio::task::spawn_blocking(move || conformance::sshpass_ssh(port, "u", "pw", "served"))
            .await
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "served", "{out:?}");
    let login = login.elapsed();
    assert!(login < Duration::from_secs(10), "{login:?}");

    let mut lifetimes = Vec::new();
    for d in drips {
        lifetimes.extend(d.await.unwrap());
    }
    assert_eq!(lifetimes.len(), DRIPPERS);
    let longest = lifetimes.iter().max().unwrap();
    assert!(
        *longest < deadline + Duration::from_secs(3),
        "a slow-drip client outlived the deadline: {longest:?}"
    );
    assert_eq!(dropped.load(Ordering::Relaxed), DRIPPERS);
    eprintln!(
        "slow drip: {DRIPPERS} dropped, longest {longest:?}, login took {:?}, peak RSS of the test process (server and clients) {} KiB",
        login,
        peak_rss_kib()
    );
}
