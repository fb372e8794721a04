//! Listening, admission, upkeep timers, the registry and shutdown, against each
//! adapter's demo server with the real OpenSSH client and raw TCP peers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conformance::*;

/// Connect and read what the server sends within `wait`: the bytes, and whether the
/// server closed the connection.
fn first_bytes(addr: impl std::net::ToSocketAddrs, wait: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).expect("tcp connect");
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => (Vec::new(), true),
        Ok(n) => (buf[..n].to_vec(), false),
        Err(_) => (Vec::new(), false),
    }
}

fn spawn(c: &mut Command) -> Child {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ssh")
}

/// Wait for a child up to `limit`; kill it if it is still running (and fail).
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

for_each_adapter! {
    fn blocked_and_unlisted_addresses_get_no_version_line(adapter: Adapter) {
        let fx = Fixture::new("blocked");
        let srv = DemoServer::start_with(adapter, &fx, &["--block", "127.0.0.*"]);
        let (bytes, closed) = first_bytes(srv.addr, Duration::from_secs(5));
        assert!(bytes.is_empty() && closed, "blocked: {bytes:?} closed={closed}");
        drop(srv);
        let srv = DemoServer::start_with(adapter, &fx, &["--allow", "10.*", "--allow", "192.168.*"]);
        let (bytes, closed) = first_bytes(srv.addr, Duration::from_secs(5));
        assert!(bytes.is_empty() && closed, "not allowed: {bytes:?} closed={closed}");
        let out = ssh(&srv, &fx, &[]).arg("true").output().unwrap();
        assert_ne!(out.status.code(), Some(0));
        drop(srv);
        let srv = DemoServer::start_with(adapter, &fx, &["--allow", "127.*", "--block", "10.*"]);
        let (bytes, _) = first_bytes(srv.addr, Duration::from_secs(5));
        assert!(bytes.starts_with(b"SSH-2.0-"), "allowed: {bytes:?}");
    }
}

for_each_adapter! {
    fn the_connection_over_the_maximum_is_refused_and_the_others_work(adapter: Adapter) {
        let fx = Fixture::new("maxconn");
        let srv = DemoServer::start_with(adapter, &fx, &["--max-connections", "2"]);
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(srv.addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"SSH-2.0-");
            held.push(s);
        }
        let (bytes, closed) = first_bytes(srv.addr, Duration::from_secs(5));
        assert!(bytes.is_empty() && closed, "third: {bytes:?} closed={closed}");
        // The held connections still work: one completes its version exchange.
        held[0].write_all(b"SSH-2.0-held\r\n").unwrap();
        drop(held.pop());
        // A slot is free again: a real login succeeds.
        let t = Instant::now();
        loop {
            let out = ssh(&srv, &fx, &[]).arg("echo in").output().unwrap();
            if out.status.code() == Some(0) {
                assert_eq!(String::from_utf8_lossy(&out.stdout), "in\n");
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "{out:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

for_each_adapter! {
    fn ipv6_loopback_works_when_both_families_listen(adapter: Adapter) {
        let fx = Fixture::new("ipv6");
        let srv = DemoServer::start_with(adapter, &fx, &["--listen", "127.0.0.1:0", "--family", "both"]);
        let port = srv.addr.port().to_string();
        for host in ["127.0.0.1", "::1"] {
            let out = Command::new("ssh")
                .args(common_opts(&fx))
                .args(["-p", &port, &format!("user@{host}"), "true"])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{host}: {out:?}");
        }
    }
}

for_each_adapter! {
    fn auth_deadline_drops_a_silent_client(adapter: Adapter) {
        let fx = Fixture::new("authdeadline");
        let srv = DemoServer::start_with(adapter, &fx, &["--auth-timeout", "1"]);
        let mut s = TcpStream::connect(srv.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let t = Instant::now();
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        assert!(all.starts_with(b"SSH-2.0-"));
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(8), "{took:?}");
    }
}

for_each_adapter! {
    fn idle_timeout_ends_a_silent_session(adapter: Adapter) {
        let fx = Fixture::new("idle");
        let srv = DemoServer::start_with(adapter, &fx, &["--idle-timeout", "1"]);
        let t = Instant::now();
        let out = ssh(&srv, &fx, &[]).arg("sleep 20").output().unwrap();
        assert_ne!(out.status.code(), Some(0));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        // Traffic keeps it alive: output every 300 ms for 2 s outlives a 1 s timeout.
        let out = ssh(&srv, &fx, &[])
            .arg("for i in 1 2 3 4 5 6 7; do echo $i; sleep 0.3; done")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
}

for_each_adapter! {
    fn keepalives_keep_an_answering_client_and_drop_a_stopped_one(adapter: Adapter) {
        let fx = Fixture::new("keepalive");
        let srv = DemoServer::start_with(adapter, &fx, &["--keepalive", "1:2"]);
        let out = ssh(&srv, &fx, &[]).arg("sleep 4; echo alive").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "alive\n", "{out:?}");
        // A client that stops answering (SIGSTOP) is dropped after about 3 s.
        let mut child = spawn(ssh(&srv, &fx, &["-o", "LogLevel=INFO"]).arg("sleep 60"));
        std::thread::sleep(Duration::from_millis(1500));
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
        let mut srv = srv;
        let t = Instant::now();
        while !srv.command("list").is_empty() {
            assert!(t.elapsed() < Duration::from_secs(10), "still connected");
            std::thread::sleep(Duration::from_millis(100));
        }
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
        let status = wait_within(&mut child, Duration::from_secs(10), "stopped client");
        assert!(!status.success());
    }
}

for_each_adapter! {
    fn registry_lists_and_disconnects_during_a_transfer(adapter: Adapter) {
        let fx = Fixture::new("registry");
        let mut srv = DemoServer::start(adapter, &fx);
        let mut child = spawn(ssh(&srv, &fx, &["-o", "LogLevel=INFO"]).arg("cat /dev/zero"));
        let mut out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut n = 0u64;
            let mut b = vec![0u8; 65536];
            while let Ok(k) = out.read(&mut b) {
                if k == 0 { break; }
                n += k as u64;
            }
            n
        });
        let t = Instant::now();
        let line = loop {
            let lines = srv.command("list");
            if let Some(l) = lines.iter().find(|l| l.contains("channels=1")) {
                break l.clone();
            }
            assert!(t.elapsed() < Duration::from_secs(10), "{lines:?}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(line.contains("user=user"), "{line}");
        assert!(line.contains("strict=true"), "{line}");
        assert!(line.contains("client=SSH-2.0-OpenSSH"), "{line}");
        let id = line.split_whitespace().nth(1).unwrap().to_owned();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(srv.command(&format!("disconnect {id}")), vec!["ok"]);
        let status = wait_within(&mut child, Duration::from_secs(10), "disconnected client");
        assert!(!status.success());
        let moved = reader.join().unwrap();
        assert!(moved > 1 << 20, "transfer was running: {moved} bytes");
        let err = stderr_of(&mut child);
        assert!(err.contains("disconnected by the operator"), "{err}");
        // The entry goes when the server sees the client's close, which can come a
        // moment after the client has exited.
        let t = Instant::now();
        loop {
            let lines = srv.command("list");
            if lines.is_empty() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "still listed: {lines:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(srv.command("disconnect 999"), vec!["error"]);
    }
}

for_each_adapter! {
    fn shutdown_disconnects_live_transfers_with_a_reason(adapter: Adapter) {
        let fx = Fixture::new("shutdown");
        let mut srv = DemoServer::start(adapter, &fx);
        let mut clients: Vec<Child> = (0..3)
            .map(|_| spawn(ssh(&srv, &fx, &["-o", "LogLevel=INFO"]).arg("cat /dev/zero")))
            .collect();
        let counters: Vec<_> = (0..3).map(|_| std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0))).collect();
        let readers: Vec<_> = clients
            .iter_mut()
            .zip(&counters)
            .map(|(c, n)| {
                let mut out = c.stdout.take().unwrap();
                let n = n.clone();
                std::thread::spawn(move || {
                    let mut b = vec![0u8; 65536];
                    while let Ok(k) = out.read(&mut b) {
                        if k == 0 {
                            break;
                        }
                        n.fetch_add(k as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let t = Instant::now();
        while counters.iter().any(|n| n.load(std::sync::atomic::Ordering::Relaxed) < 1 << 20) {
            assert!(t.elapsed() < Duration::from_secs(10), "transfers running");
            std::thread::sleep(Duration::from_millis(50));
        }
        let answer = srv.command("shutdown 20");
        assert_eq!(answer, vec!["shutdown drained=true"]);
        for (c, r) in clients.iter_mut().zip(readers) {
            let status = wait_within(c, Duration::from_secs(10), "client after shutdown");
            assert!(!status.success());
            r.join().unwrap();
            let err = stderr_of(c);
            assert!(err.contains("server shutting down"), "{err}");
        }
        assert!(srv.wait_exit(Duration::from_secs(10)).is_some(), "server exits after shutdown");
        assert!(TcpStream::connect(srv.addr).is_err(), "no longer listening");
    }
}

for_each_adapter! {
    fn stop_listening_keeps_live_sessions(adapter: Adapter) {
        let fx = Fixture::new("stop");
        let mut srv = DemoServer::start(adapter, &fx);
        let mut child = spawn(ssh(&srv, &fx, &[]).arg("sleep 1; echo still-here"));
        let t = Instant::now();
        while srv.command("list").is_empty() {
            assert!(t.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(srv.command("stop"), vec!["ok"]);
        std::thread::sleep(Duration::from_millis(200));
        assert!(TcpStream::connect(srv.addr).is_err(), "no longer listening");
        let status = wait_within(&mut child, Duration::from_secs(10), "live session");
        assert!(status.success());
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        assert_eq!(out, "still-here\n");
    }
}
