//! The connection hook and the connected / disconnected notifications, with the real
//! OpenSSH client (through sshpass) against an in-process smol server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use smol::io::AsyncReadExt;
use ssh_proto::*;
use ssh_server::{ConnectionId, ConnectionInfo, Ended};
use ssh_smol::{ChannelStream, Handler, Server, ServerOptions};

#[derive(Default)]
struct Seen {
    refuse: AtomicBool,
    requests: Mutex<Vec<(SocketAddr, SocketAddr)>>,
    connected: Mutex<Vec<ConnectionInfo>>,
    disconnected: Mutex<Vec<(ConnectionId, Ended)>>,
}

struct Recorder(Arc<Seen>);

impl Handler<ChannelStream> for Recorder {
    type ChannelState = ();
    async fn connection_request(&self, remote: SocketAddr, local: SocketAddr) -> bool {
        self.0.requests.lock().unwrap().push((remote, local));
        !self.0.refuse.load(Ordering::SeqCst)
    }
    fn connected(&self, info: &ConnectionInfo) {
        self.0.connected.lock().unwrap().push(info.clone());
    }
    fn disconnected(&self, id: ConnectionId, ended: &Ended) {
        self.0
            .disconnected
            .lock()
            .unwrap()
            .push((id, ended.clone()));
    }
    async fn auth(&self, r: AuthRequest) -> AuthDecision {
        matches!(&r.method, AuthMethod::Password { password: p, .. } if p.expose() == "pw").into()
    }
}

#[test]
fn hook_refuses_before_any_byte_and_notifications_report_the_end() {
    smol::block_on(body());
}

async fn body() {
    conformance::require("sshpass", "sshpass");
    let seen = Arc::new(Seen::default());
    let key = PrivateKey::generate_ed25519(&SystemRng).unwrap();
    let config = Arc::new(ServerConfig::builder().host_key(key).build().unwrap());
    let options = ServerOptions::listen_on("127.0.0.1:0".parse().unwrap());
    let server = Server::bind(options, config, Recorder(seen.clone()))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    smol::spawn(server.run()).detach();

    seen.refuse.store(true, Ordering::SeqCst);
    let mut s = smol::net::TcpStream::connect(addr).await.unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert!(
        got.is_empty(),
        "refused by the hook before the version line"
    );
    assert!(seen.connected.lock().unwrap().is_empty());

    seen.refuse.store(false, Ordering::SeqCst);
    let port = addr.port();
    let out = smol::unblock(move || conformance::sshpass_ssh(port, "ann", "pw", "true")).await;
    // The default handler refuses exec: the login worked, the command did not run.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exec request failed"),
        "{out:?}"
    );
    for _ in 0..100 {
        if !seen.disconnected.lock().unwrap().is_empty() {
            break;
        }
        smol::Timer::after(std::time::Duration::from_millis(20)).await;
    }
    let requests = seen.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].1, addr);
    let connected = seen.connected.lock().unwrap().clone();
    assert_eq!(connected.len(), 1);
    assert_eq!(connected[0].remote.ip(), addr.ip());
    let disconnected = seen.disconnected.lock().unwrap().clone();
    assert_eq!(disconnected.len(), 1);
    assert_eq!(disconnected[0].0, connected[0].id);
    assert!(disconnected[0].1.by_peer, "{:?}", disconnected[0].1);
    assert!(handle.shutdown(std::time::Duration::from_secs(1)).await);
}
