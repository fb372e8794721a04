//! Port forwarding with the real OpenSSH client: `-W` (10 MiB both ways through an
//! echo server, checked), `-L`, `-D` with curl through SOCKS, ProxyJump (`-J`), and
//! the demo's and the login's restrictions (`--no-tcp-forwarding`,
//! `no-port-forwarding`, `permitopen=`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conformance::*;

/// An HTTP server on loopback answering every request with `hello`.
fn http_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        }
    });
    port
}

/// Wait until something listens on `port` (ssh's forwarding listener).
fn wait_listening(port: u16) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ssh -W` to the echo server with `data` on stdin; what came back.
fn through_w(srv: &DemoServer, fx: &Fixture, port: u16, data: &[u8]) -> std::process::Output {
    let mut child = ssh(srv, fx, &["-W", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh -W");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("ssh -W output");
    writer.join().unwrap();
    out
}

for_each_adapter! {
    /// 10 MiB up and back through `ssh -W` and an echo server: every byte returns in
    /// order and ssh exits once both directions have ended (EOF each way).
    fn w_carries_ten_mib_both_ways_and_ends(adapter: Adapter) {
        let fx = Fixture::new("fwd-w");
        let echo = echo_server();
        let srv = DemoServer::start(adapter, &fx);
        let data = pattern(10 << 20);
        let t = Instant::now();
        let out = through_w(&srv, &fx, echo, &data);
        assert!(out.status.success(), "{:?}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout.len(), data.len());
        assert_eq!(sha256_of(&out.stdout), sha256_of(&data));
        assert!(t.elapsed() < Duration::from_secs(30));
    }
}

for_each_adapter! {
    /// `ssh -L` with ExitOnForwardFailure: a local port reaches the echo server.
    fn l_forwards_a_local_port(adapter: Adapter) {
        let fx = Fixture::new("fwd-l");
        let echo = echo_server();
        let srv = DemoServer::start(adapter, &fx);
        let local = free_port();
        let spec = format!("{local}:127.0.0.1:{echo}");
        let _ssh = Killed(
            ssh(&srv, &fx, &["-N", "-o", "ExitOnForwardFailure=yes", "-L", &spec])
                .stdin(Stdio::null())
                .spawn()
                .expect("ssh -L"),
        );
        wait_listening(local);
        let mut c = TcpStream::connect(("127.0.0.1", local)).unwrap();
        c.write_all(b"through -L").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, "through -L");
    }
}

/// `ssh -D` as a SOCKS proxy: curl fetches from a local HTTP server through it, the
/// name resolved on the server side (--socks5-hostname).
#[test]
fn d_serves_socks_for_curl() {
    require("curl", "curl");
    let fx = Fixture::new("fwd-d");
    let http = http_server();
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let socks = free_port();
    let _ssh = Killed(
        ssh(&srv, &fx, &["-N", "-D", &socks.to_string()])
            .stdin(Stdio::null())
            .spawn()
            .expect("ssh -D"),
    );
    wait_listening(socks);
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "--socks5-hostname"])
        .arg(format!("127.0.0.1:{socks}"))
        .arg(format!("http://localhost:{http}/"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello", "{out:?}");
}

/// ProxyJump: `ssh -J` through the demo to the demo (the jump's own ssh reads the
/// same config file, so both hops use the fixture's key and no known_hosts).
#[test]
fn j_jumps_through_the_server() {
    let fx = Fixture::new("fwd-j");
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let config = fx.dir.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  \
             BatchMode yes\n  IdentitiesOnly yes\n  IdentityFile {}\n",
            fx.user_key.display()
        ),
    )
    .unwrap();
    let port = srv.addr.port().to_string();
    let out = Command::new("ssh")
        .arg("-F")
        .arg(&config)
        .args([
            "-J",
            &format!("jump@127.0.0.1:{port}"),
            "-p",
            &port,
            "target@127.0.0.1",
        ])
        .arg("echo jumped")
        .output()
        .expect("ssh -J");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "jumped\n", "{out:?}");
}

/// Refusals: the demo's --no-tcp-forwarding, and the login's no-port-forwarding and
/// permitopen= options.
#[test]
fn forwarding_restrictions_are_honoured() {
    let fx = Fixture::new("fwd-refused");
    let echo = echo_server();
    let other = echo_server();
    let line = std::fs::read_to_string(fx.dir.join("authorized_keys")).unwrap();
    let ok = |out: &std::process::Output| out.stdout == b"ping";
    let srv = DemoServer::start_with(Adapter::Tokio, &fx, &["--no-tcp-forwarding"]);
    assert!(
        !ok(&through_w(&srv, &fx, echo, b"ping")),
        "--no-tcp-forwarding"
    );
    drop(srv);
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    assert!(
        ok(&through_w(&srv, &fx, echo, b"ping")),
        "allowed by default"
    );
    let write = |opts: &str| {
        std::fs::write(fx.dir.join("authorized_keys"), format!("{opts} {line}")).unwrap()
    };
    write("no-port-forwarding");
    assert!(
        !ok(&through_w(&srv, &fx, echo, b"ping")),
        "no-port-forwarding"
    );
    write("restrict");
    assert!(!ok(&through_w(&srv, &fx, echo, b"ping")), "restrict");
    write(&format!("permitopen=\"127.0.0.1:{echo}\""));
    assert!(ok(&through_w(&srv, &fx, echo, b"ping")), "permitopen match");
    assert!(
        !ok(&through_w(&srv, &fx, other, b"ping")),
        "permitopen other port"
    );
}
