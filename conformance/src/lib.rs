//! Helpers for driving real SSH clients against our servers: fixtures (keys, files),
//! a running demo server, and checks that the client programs exist.

pub mod demo;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use ssh_proto::{PrivateKey, SystemRng};

/// Fail (never skip) when a client program is missing, naming the package to install.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "conformance client `{program}` is missing: install it with `apt-get install -y {package}` (or run .ci/run)"
    );
}

/// A scratch directory with a user key, authorized_keys and a host key.
pub struct Fixture {
    /// The directory.
    pub dir: PathBuf,
    /// The user's private key file (OpenSSH format, mode 0600).
    pub user_key: PathBuf,
}

impl Fixture {
    /// Create keys in a fresh directory under the system temp dir.
    pub fn new(name: &str) -> Fixture {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ssh-conformance-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let user = PrivateKey::generate_ed25519(&SystemRng).expect("key");
        let user_key = dir.join("id_ed25519");
        write_private(
            &user_key,
            &user.to_openssh("conformance user").expect("encode"),
        );
        let blob = user.public_key().to_blob();
        let line = format!("ssh-ed25519 {} user\n", base64(&blob[..]));
        std::fs::write(dir.join("authorized_keys"), line).expect("authorized_keys");
        Fixture { dir, user_key }
    }

    /// A file of `len` deterministic pseudo-random bytes in the fixture directory.
    pub fn data_file(&self, name: &str, len: usize) -> PathBuf {
        let p = self.dir.join(name);
        let mut v = Vec::with_capacity(len);
        let mut x: u64 = 0x9e3779b97f4a7c15;
        while v.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.truncate(len);
        std::fs::write(&p, v).expect("data file");
        p
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("key file");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write key");
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Which adapter's demo server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// ssh-tokio's `demo-server` example.
    Tokio,
    /// ssh-smol's `smol-demo-server` example.
    Smol,
    /// ssh-blocking's `blocking-demo-server` example.
    Blocking,
}

impl Adapter {
    /// The example binary's name.
    pub fn binary(self) -> &'static str {
        match self {
            Adapter::Tokio => "demo-server",
            Adapter::Smol => "smol-demo-server",
            Adapter::Blocking => "blocking-demo-server",
        }
    }
}

/// Define a test once and run it against each adapter's demo server: the body is a
/// function of `adapter: Adapter`; the tests are `<name>::tokio`, `::smol` and
/// `::blocking`.
#[macro_export]
macro_rules! for_each_adapter {
    ($(#[$m:meta])* fn $name:ident($adapter:ident: Adapter) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body($adapter: $crate::Adapter) $body
            #[test]
            fn tokio() {
                body($crate::Adapter::Tokio)
            }
            #[test]
            fn smol() {
                body($crate::Adapter::Smol)
            }
            #[test]
            fn blocking() {
                body($crate::Adapter::Blocking)
            }
        }
    };
}

/// A demo server, running until dropped.
pub struct DemoServer {
    child: Child,
    console: Option<std::process::ChildStdin>,
    output: BufReader<std::process::ChildStdout>,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Path of a demo server binary that `cargo test` at the workspace root builds.
pub fn demo_server_binary(adapter: Adapter) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/examples/demo-server
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = profile_dir.join("examples").join(adapter.binary());
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo test` at the workspace root (it builds examples) or `cargo build --workspace --examples`",
        bin.display()
    );
    bin
}

impl DemoServer {
    /// Start a demo server on an ephemeral loopback port with the fixture's keys and
    /// the password `demo:demo`.
    pub fn start(adapter: Adapter, fx: &Fixture) -> DemoServer {
        Self::start_with(adapter, fx, &[])
    }

    /// Start a demo server with extra options (later `--listen` wins) and the
    /// fixture's one ed25519 host key.
    pub fn start_with(adapter: Adapter, fx: &Fixture, extra: &[&str]) -> DemoServer {
        Self::start_with_host_keys(adapter, fx, &[fx.dir.join("host_key")], extra)
    }

    /// Start a demo server with these host key files (each created when missing, its
    /// type from its name: `rsa`, `ecdsa`, else ed25519) and extra options.
    pub fn start_with_host_keys(
        adapter: Adapter,
        fx: &Fixture,
        host_keys: &[PathBuf],
        extra: &[&str],
    ) -> DemoServer {
        let mut cmd = Command::new(demo_server_binary(adapter));
        cmd.args(["--listen", "127.0.0.1:0"]).args(extra);
        for k in host_keys {
            cmd.arg("--host-key").arg(k);
        }
        let mut child = cmd
            .arg("--authorized-keys")
            .arg(fx.dir.join("authorized_keys"))
            .args(["--password", "demo:demo"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start demo server");
        let mut line = String::new();
        let mut output = BufReader::new(child.stdout.take().expect("stdout"));
        output.read_line(&mut line).expect("read listening line");
        let console = child.stdin.take();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address");
        DemoServer {
            child,
            console,
            output,
            addr,
        }
    }

    /// Send one console command (see `demo::spawn_console`) and return the answer's
    /// lines, up to the closing `end`.
    pub fn command(&mut self, line: &str) -> Vec<String> {
        use std::io::Write;
        let c = self.console.as_mut().expect("console");
        writeln!(c, "{line}").expect("write console");
        c.flush().expect("flush console");
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            if self.output.read_line(&mut l).expect("console answer") == 0 {
                return lines;
            }
            let l = l.trim_end().to_owned();
            if l == "end" {
                return lines;
            }
            lines.push(l);
        }
    }

    /// Wait for the server process to exit by itself, up to `limit`.
    pub fn wait_exit(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let t = std::time::Instant::now();
        while t.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OpenSSH `ssh` command for the server with throwaway host-key checking.
pub fn ssh(server: &DemoServer, fx: &Fixture, extra: &[&str]) -> Command {
    require("ssh", "openssh-client");
    let mut c = Command::new("ssh");
    c.args(common_opts(fx))
        .args(["-p", &server.addr.port().to_string()])
        .args(extra)
        .arg(format!("user@{}", server.addr.ip()));
    c
}

/// Options every OpenSSH tool gets: no known_hosts, batch mode, our key only.
pub fn common_opts(fx: &Fixture) -> Vec<String> {
    vec![
        "-o".into(),
        "StrictHostKeyChecking=no".into(),
        "-o".into(),
        "UserKnownHostsFile=/dev/null".into(),
        "-o".into(),
        "LogLevel=ERROR".into(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        "IdentitiesOnly=yes".into(),
        "-o".into(),
        "ConnectTimeout=10".into(),
        "-i".into(),
        fx.user_key.display().to_string(),
    ]
}

/// SHA-256 hex of a file or of bytes, via coreutils' sha256sum (an independent implementation).
pub fn sha256_of(data: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    let mut stdin = c.stdin.take().expect("stdin");
    let data = data.to_vec();
    let w = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let out = c.wait_with_output().expect("sha256sum output");
    w.join().expect("writer").expect("write");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

/// Log in to 127.0.0.1:`port` as `user` with `password` through sshpass and OpenSSH
/// (no key, no host-key checking) and run `command`; the client's output.
pub fn sshpass_ssh(port: u16, user: &str, password: &str, command: &str) -> std::process::Output {
    require("ssh", "openssh-client");
    require("sshpass", "sshpass");
    Command::new("sshpass")
        .args(["-p", password, "ssh", "-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .args(["-o", "PubkeyAuthentication=no", "-p", &port.to_string()])
        .arg(format!("{user}@127.0.0.1"))
        .arg(command)
        .output()
        .expect("run sshpass")
}

/// `ssh-keygen -y`: the public line (algorithm and base64, no comment) of a private
/// key file; ssh-keygen must be able to read the file.
pub fn public_line(private: &std::path::Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(private)
        .output()
        .expect("ssh-keygen -y");
    assert!(out.status.success(), "{}: {out:?}", private.display());
    let line = String::from_utf8(out.stdout).expect("utf-8");
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Log in with OpenSSH checking the host key strictly against `known`, offering only
/// `host_alg`, and run `command`.
pub fn strict_login(
    fx: &Fixture,
    srv: &DemoServer,
    known: &std::path::Path,
    host_alg: &str,
    command: &str,
) -> std::process::Output {
    Command::new("ssh")
        .args(["-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .args(["-o", &format!("HostKeyAlgorithms={host_alg}")])
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
        .args(["-o", "LogLevel=ERROR", "-i"])
        .arg(&fx.user_key)
        .args([
            "-p",
            &srv.addr.port().to_string(),
            "user@127.0.0.1",
            command,
        ])
        .output()
        .expect("ssh")
}

/// A TCP echo server on loopback: each connection gets back what it sends, then FIN
/// after the client's FIN. Returns its port.
pub fn echo_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = c.try_clone().expect("clone");
                let mut w = c;
                let _ = std::io::copy(&mut r, &mut w);
                let _ = w.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

/// A loopback port that nothing listens on (just now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port")
        .port()
}

/// `len` deterministic pseudo-random bytes (xorshift).
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
