//! The connection loop runs on tokio's clock: under paused time a client that never
//! logs in is dropped at the 120 s authentication deadline after a few real
//! milliseconds, with the DISCONNECT saying why.

use std::sync::Arc;

use ssh_proto::*;
use ssh_tokio::{ChannelStream, Handler, Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Nobody;

impl Handler<ChannelStream> for Nobody {
    type ChannelState = ();
}

#[tokio::test(start_paused = true)]
async fn the_auth_deadline_runs_on_paused_time() {
    let key = PrivateKey::generate_ed25519(&SystemRng).unwrap();
    let config = Arc::new(ServerConfig::builder().host_key(key).build().unwrap());
    let options = ServerOptions::listen_on("127.0.0.1:0".parse().unwrap());
    let server = Server::bind(options, config, Nobody).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());

    let real = std::time::Instant::now();
    let paused = tokio::time::Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(b"SSH-2.0-silent\r\n").await.unwrap();
    // Read until the server closes: its identification, KEXINIT, then (once the
    // deadline passes on paused time) DISCONNECT and EOF.
    let mut got = Vec::new();
    socket.read_to_end(&mut got).await.unwrap();

    assert!(got.starts_with(b"SSH-2.0-"), "no identification line");
    let waited = tokio::time::Instant::now() - paused;
    assert!(
        waited >= std::time::Duration::from_secs(120),
        "closed after {waited:?} of tokio time, before the deadline"
    );
    assert!(
        real.elapsed() < std::time::Duration::from_secs(30),
        "the deadline took {:?} of real time: the loop reads another clock",
        real.elapsed()
    );
}
