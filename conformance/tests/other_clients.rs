//! SSH clients other than OpenSSH against the demo servers: PuTTY's plink (PPK keys,
//! host keys pinned with -hostkey), Python's paramiko, and Dropbear's dbclient (its own
//! key format, its own known_hosts). Each is an independent implementation of the
//! transport, the key formats and the signatures; each also forwards a local port
//! (plink -L, dbclient -L, paramiko's direct-tcpip channels) to an echo server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use conformance::*;

/// A fresh ssh-keygen key without a passphrase.
fn keygen(fx: &Fixture, name: &str, kind: &str, bits: &str) -> PathBuf {
    require("ssh-keygen", "openssh-client");
    let path = fx.dir.join(name);
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            kind,
            "-b",
            bits,
            "-N",
            "",
            "-C",
            "conformance",
            "-f",
        ])
        .arg(&path)
        .status()
        .expect("ssh-keygen");
    assert!(status.success(), "ssh-keygen -t {kind} -b {bits}");
    path
}

/// `ssh-keygen -l -E sha256`: the `SHA256:...` fingerprint of a key file.
fn fingerprint(key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(key)
        .output()
        .expect("ssh-keygen -l");
    assert!(out.status.success(), "{}: {out:?}", key.display());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let fp = text.split_whitespace().nth(1).expect("fingerprint field");
    assert!(fp.starts_with("SHA256:"), "{text}");
    fp.to_owned()
}

/// Only these keys may log in (the fixture's own ed25519 key is dropped).
fn authorize(fx: &Fixture, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l} user\n")).collect();
    std::fs::write(fx.dir.join("authorized_keys"), text).expect("authorized_keys");
}

/// `program` under coreutils' `timeout`, so that a client stuck at a prompt fails the
/// test instead of hanging it (exit status 124); stdin is /dev/null and HOME a
/// directory in the fixture, so no client reads or writes the real user's files.
fn client(fx: &Fixture, program: &str) -> Command {
    let home = fx.dir.join("home");
    std::fs::create_dir_all(&home).expect("home dir");
    let mut c = Command::new("timeout");
    c.args(["-k", "5", "60", program])
        .env("HOME", &home)
        .stdin(Stdio::null());
    c
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------
// PuTTY
// ---------------------------------------------------------------------------------

/// `plink -batch` (never prompts) to the server, accepting only `host_key` (a
/// fingerprint), with the authentication options `auth`.
fn plink(
    fx: &Fixture,
    srv: &DemoServer,
    auth: &[&str],
    host_key: &str,
    user: &str,
    command: &str,
) -> Output {
    client(fx, "plink")
        .args([
            "-batch",
            "-ssh",
            "-noagent",
            "-P",
            &srv.addr.port().to_string(),
        ])
        .args(["-hostkey", host_key])
        .args(auth)
        .arg(format!("{user}@127.0.0.1"))
        .arg(command)
        .output()
        .expect("plink")
}

/// puttygen: convert an OpenSSH private key to a PuTTY .ppk file.
fn to_ppk(openssh: &Path, ppk: &Path) {
    let out = Command::new("puttygen")
        .arg(openssh)
        .args(["-O", "private", "-o"])
        .arg(ppk)
        .stdin(Stdio::null())
        .output()
        .expect("puttygen");
    assert!(out.status.success(), "puttygen: {out:?}");
    let text = std::fs::read_to_string(ppk).expect("ppk");
    assert!(
        text.starts_with("PuTTY-User-Key-File-") && text.contains("ssh-rsa"),
        "not an RSA .ppk:\n{text}"
    );
}

for_each_adapter! {
    /// plink against a server whose only host key is RSA 3072: it pins the host key by
    /// its SHA-256 fingerprint, logs in with an RSA 3072 user key in PuTTY's PPK format
    /// and with a password, and is refused with a wrong pinned key, an unauthorized
    /// key and a wrong password.
    fn plink_with_a_ppk_rsa_key_and_a_pinned_rsa_host_key(adapter: Adapter) {
        require("plink", "putty-tools");
        require("puttygen", "putty-tools");
        let fx = Fixture::new("plink");
        let user_key = keygen(&fx, "id_rsa", "rsa", "3072");
        let ppk = fx.dir.join("id_rsa.ppk");
        to_ppk(&user_key, &ppk);
        authorize(&fx, &[public_line(&user_key)]);
        let host = fx.dir.join("host_rsa_key");
        let srv = DemoServer::start_with_host_keys(adapter, &fx, std::slice::from_ref(&host), &[]);
        assert!(public_line(&host).starts_with("ssh-rsa "), "the demo made an RSA host key");
        let host_fp = fingerprint(&host);
        let ppk_arg = ppk.to_str().unwrap();

        let out = plink(&fx, &srv, &["-i", ppk_arg], &host_fp, "user", "echo plink");
        assert_eq!(stdout(&out), "plink\n", "{out:?}");
        assert_eq!(out.status.code(), Some(0), "{out:?}");

        let out = plink(&fx, &srv, &["-pw", "demo"], &host_fp, "demo", "echo plink-password");
        assert_eq!(stdout(&out), "plink-password\n", "{out:?}");
        assert_eq!(out.status.code(), Some(0), "{out:?}");

        // The pin is checked: another key's fingerprint (the user key's) is refused
        // before authentication.
        let out = plink(&fx, &srv, &["-i", ppk_arg], &fingerprint(&user_key), "user", "echo no");
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        assert!(stdout(&out).is_empty(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Host key"),
            "refused for its host key: {out:?}"
        );

        // A key puttygen made itself, not in authorized_keys, is refused (and plink in
        // batch mode has no other way in).
        let other = fx.dir.join("other.ppk");
        let empty = fx.dir.join("empty-passphrase");
        std::fs::write(&empty, "").unwrap();
        let status = Command::new("puttygen")
            .args(["-q", "-t", "ed25519", "--new-passphrase"])
            .arg(&empty)
            .arg("-o")
            .arg(&other)
            .stdin(Stdio::null())
            .status()
            .expect("puttygen -t ed25519");
        assert!(status.success());
        let out = plink(&fx, &srv, &["-i", other.to_str().unwrap()], &host_fp, "user", "echo no");
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        assert!(stdout(&out).is_empty(), "{out:?}");

        let out = plink(&fx, &srv, &["-pw", "wrong"], &host_fp, "demo", "echo no");
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        assert!(stdout(&out).is_empty(), "{out:?}");
    }
}

// ---------------------------------------------------------------------------------
// paramiko
// ---------------------------------------------------------------------------------

/// The client script. `login`: SSHClient with a known_hosts file and RejectPolicy (an
/// unknown or different host key fails), key_filename, `echo paramiko`; the command's
/// output on stdout, `hostkey=ALG exit=N` on stderr. `sha1`: a Transport that ignores
/// the server's server-sig-algs (RFC 8308), as clients from before it do, with the
/// rsa-sha2 signature algorithms disabled, so that it signs with SHA-1 `ssh-rsa`; it
/// prints `refused` when the server refuses the key, else the output of
/// `echo paramiko-sha1`.
const PARAMIKO_SCRIPT: &str = r#"
import sys
import paramiko

mode, port, user, key, known = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

if mode == "login":
    c = paramiko.SSHClient()
    c.load_host_keys(known)
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.connect("127.0.0.1", port=port, username=user, key_filename=key,
              look_for_keys=False, allow_agent=False,
              timeout=20, banner_timeout=20, auth_timeout=20)
    t = c.get_transport()
    _, out, _ = c.exec_command("echo paramiko", timeout=20)
    data = out.read()
    status = out.channel.recv_exit_status()
    sys.stdout.write(data.decode())
    alg = getattr(t, "host_key_type", None) or t.get_remote_server_key().get_name()
    sys.stderr.write("hostkey=%s exit=%d\n" % (alg, status))
    c.close()
elif mode == "sha1":
    class NoServerSigAlgs(paramiko.Transport):
        @property
        def server_extensions(self):
            return self._exts

        @server_extensions.setter
        def server_extensions(self, value):
            self._exts = {k: v for k, v in value.items() if k != "server-sig-algs"}

    trusted = paramiko.HostKeys(known).lookup("[127.0.0.1]:%d" % port) or {}
    t = NoServerSigAlgs(("127.0.0.1", port),
                        disabled_algorithms={"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]})
    t.start_client(timeout=20)
    got = t.get_remote_server_key()
    want = trusted.get(got.get_name())
    if want is None or want.asbytes() != got.asbytes():
        sys.exit("untrusted host key %s" % got.get_name())
    try:
        t.auth_publickey(user, paramiko.RSAKey.from_private_key_file(key))
    except paramiko.AuthenticationException as e:
        print("refused")
        sys.stderr.write("pubkey=%s: %r\n" % (getattr(t, "_agreed_pubkey_algorithm", "?"), e))
        sys.exit(0)
    chan = t.open_session(timeout=20)
    chan.exec_command("echo paramiko-sha1")
    sys.stdout.write(chan.makefile("rb").read().decode())
    t.close()
else:
    sys.exit("mode?")
"#;

/// A Python that imports paramiko: `python3` on PATH may be another installation (a
/// pyenv, a venv) than the system's, which has Debian's python3-paramiko.
fn python_with_paramiko() -> String {
    require("python3", "python3");
    for py in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(py)
            .args(["-c", "import paramiko"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return py.to_owned();
        }
    }
    panic!(
        "no python3 imports paramiko: install it with `apt-get install -y python3-paramiko` (or run .ci/run)"
    )
}

/// Run the paramiko script in `mode` as `user` with `key`, trusting `host_line`.
fn paramiko(
    fx: &Fixture,
    srv: &DemoServer,
    mode: &str,
    user: &str,
    key: &Path,
    host_line: &str,
) -> Output {
    let py = python_with_paramiko();
    let script = fx.dir.join("paramiko_client.py");
    std::fs::write(&script, PARAMIKO_SCRIPT).expect("script");
    let port = srv.addr.port().to_string();
    let known = fx.dir.join(format!("known_hosts_{port}"));
    std::fs::write(&known, format!("[127.0.0.1]:{port} {host_line}\n")).expect("known_hosts");
    client(fx, &py)
        .arg(&script)
        .args([mode, &port, user])
        .arg(key)
        .arg(&known)
        .output()
        .expect("python3")
}

/// paramiko logs in with an ssh-keygen RSA 3072 key (signing rsa-sha2-512, chosen from
/// our server-sig-algs; the server refuses SHA-1) to a server with an RSA host key,
/// and with an ECDSA P-256 key to a server with an ECDSA host key, checking each host
/// key against known_hosts.
#[test]
fn paramiko_logs_in_with_rsa_and_ecdsa_keys() {
    let fx = Fixture::new("paramiko");
    let rsa = keygen(&fx, "id_rsa", "rsa", "3072");
    let ecdsa = keygen(&fx, "id_ecdsa", "ecdsa", "256");
    authorize(&fx, &[public_line(&rsa), public_line(&ecdsa)]);
    for (user_key, host_name, host_alg) in [
        (&rsa, "host_rsa_key", "rsa-sha2-512"),
        (&ecdsa, "host_ecdsa_key", "ecdsa-sha2-nistp256"),
    ] {
        let host = fx.dir.join(host_name);
        let srv =
            DemoServer::start_with_host_keys(Adapter::Tokio, &fx, std::slice::from_ref(&host), &[]);
        let out = paramiko(&fx, &srv, "login", "user", user_key, &public_line(&host));
        assert_eq!(stdout(&out), "paramiko\n", "{host_name}: {out:?}");
        assert_eq!(out.status.code(), Some(0), "{host_name}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("hostkey={host_alg} exit=0")),
            "{host_name}: {err}"
        );
    }
    // A host key other than the trusted one fails the login (RejectPolicy).
    let host = fx.dir.join("host_ecdsa_key");
    let srv =
        DemoServer::start_with_host_keys(Adapter::Tokio, &fx, std::slice::from_ref(&host), &[]);
    let other = keygen(&fx, "other_ecdsa", "ecdsa", "256");
    let out = paramiko(&fx, &srv, "login", "user", &ecdsa, &public_line(&other));
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).is_empty(), "{out:?}");
}

/// A client that ignores server-sig-algs and signs with SHA-1 `ssh-rsa` (paramiko with
/// the rsa-sha2 algorithms disabled) is refused by default, and logs in with
/// `--allow-ssh-rsa`: the refusal is the server's policy, not a broken client.
#[test]
fn paramiko_ssh_rsa_sha1_signatures_are_refused_unless_allowed() {
    let fx = Fixture::new("paramiko-sha1");
    let rsa = keygen(&fx, "id_rsa", "rsa", "3072");
    authorize(&fx, &[public_line(&rsa)]);
    let host = fx.dir.join("host_key");

    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let out = paramiko(&fx, &srv, "sha1", "user", &rsa, &public_line(&host));
    assert_eq!(stdout(&out), "refused\n", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    drop(srv);

    let srv = DemoServer::start_with(Adapter::Tokio, &fx, &["--allow-ssh-rsa"]);
    let out = paramiko(&fx, &srv, "sha1", "user", &rsa, &public_line(&host));
    assert_eq!(stdout(&out), "paramiko-sha1\n", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

// ---------------------------------------------------------------------------------
// Dropbear
// ---------------------------------------------------------------------------------

/// Dropbear's ~/.ssh/known_hosts (under the fixture's HOME) trusting `line` for the
/// server. Dropbear 2022.83 looks hosts up by name alone, whatever the port; newer
/// versions may look for `[host]:port` as OpenSSH does: both lines are written.
fn dropbear_known_hosts(fx: &Fixture, srv: &DemoServer, line: &str) {
    let dir = fx.dir.join("home").join(".ssh");
    std::fs::create_dir_all(&dir).expect(".ssh");
    let port = srv.addr.port();
    std::fs::write(
        dir.join("known_hosts"),
        format!("127.0.0.1 {line}\n[127.0.0.1]:{port} {line}\n"),
    )
    .expect("known_hosts");
}

fn dbclient(fx: &Fixture, srv: &DemoServer, extra: &[&str], user: &str, command: &str) -> Output {
    client(fx, "dbclient")
        .args(["-p", &srv.addr.port().to_string()])
        .args(extra)
        .arg(format!("{user}@127.0.0.1"))
        .arg(command)
        .output()
        .expect("dbclient")
}

/// dbclient logs in with an RSA 3072 key converted to Dropbear's format by
/// dropbearconvert, and with a password (DROPBEAR_PASSWORD), to a server with an RSA
/// host key that it checks strictly against its known_hosts (no `-y`: an unknown key
/// would prompt, and the prompt times out); a different trusted key makes it refuse.
#[test]
fn dbclient_with_a_converted_rsa_key_and_a_known_rsa_host_key() {
    require("dbclient", "dropbear-bin");
    require("dropbearconvert", "dropbear-bin");
    let fx = Fixture::new("dropbear");
    let user_key = keygen(&fx, "id_rsa", "rsa", "3072");
    authorize(&fx, &[public_line(&user_key)]);
    let db_key = fx.dir.join("id_rsa.dropbear");
    let out = Command::new("dropbearconvert")
        .args(["openssh", "dropbear"])
        .arg(&user_key)
        .arg(&db_key)
        .output()
        .expect("dropbearconvert");
    assert!(out.status.success(), "dropbearconvert: {out:?}");
    let host = fx.dir.join("host_rsa_key");
    let srv =
        DemoServer::start_with_host_keys(Adapter::Tokio, &fx, std::slice::from_ref(&host), &[]);
    dropbear_known_hosts(&fx, &srv, &public_line(&host));

    let out = dbclient(
        &fx,
        &srv,
        &["-i", db_key.to_str().unwrap()],
        "user",
        "echo dropbear",
    );
    assert_eq!(stdout(&out), "dropbear\n", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let mut c = client(&fx, "dbclient");
    c.env("DROPBEAR_PASSWORD", "demo")
        .args(["-p", &srv.addr.port().to_string()])
        .args(["demo@127.0.0.1", "echo dropbear-password"]);
    let out = c.output().expect("dbclient");
    assert_eq!(stdout(&out), "dropbear-password\n", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // Trusting another RSA key (the user key) for the host, dbclient refuses the server.
    dropbear_known_hosts(&fx, &srv, &public_line(&user_key));
    let out = dbclient(
        &fx,
        &srv,
        &["-i", db_key.to_str().unwrap()],
        "user",
        "echo no",
    );
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).is_empty(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mismatch"),
        "refused for its host key: {out:?}"
    );
}

// ---------------------------------------------------------------------------------
// Local port forwarding (direct-tcpip)
// ---------------------------------------------------------------------------------

/// A forwarding client running in the background under `timeout`, its stderr in a
/// file. Dropping it sends SIGTERM, which `timeout` passes on to the client (a SIGKILL
/// would kill `timeout` alone and leave the client running).
struct Background {
    child: Child,
    stderr: PathBuf,
}

impl Background {
    fn spawn(mut cmd: Command, stderr: PathBuf) -> Background {
        let file = std::fs::File::create(&stderr).expect("stderr file");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn client");
        Background { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until something listens on `port` (the client's forwarding listener),
    /// failing early, with the client's stderr, when the client exits.
    fn wait_listening(&mut self, port: u16) {
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the client exited ({status}) before listening on {port}: {}",
                    self.stderr()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "nothing listens on {port}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Through a forwarded local port to the echo server: a short message, then 1 MiB
/// (written while reading, so that flow control in both directions is exercised);
/// each comes back whole, and the far end's FIN arrives after ours.
fn check_forwarded(client: &Background, local: u16) {
    let connect = || {
        let c = TcpStream::connect(("127.0.0.1", local)).expect("connect to the forward");
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        c
    };
    let mut c = connect();
    c.write_all(b"through -L").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    let read = c.read_to_end(&mut back);
    assert!(read.is_ok(), "{read:?}: {}", client.stderr());
    assert_eq!(
        String::from_utf8_lossy(&back),
        "through -L",
        "{}",
        client.stderr()
    );

    let data = pattern(1 << 20);
    let c = connect();
    let mut w = c.try_clone().unwrap();
    let sent = data.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&sent).unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    let read = (&c).read_to_end(&mut back);
    writer.join().unwrap();
    assert!(read.is_ok(), "{read:?}: {}", client.stderr());
    assert_eq!(back.len(), data.len(), "{}", client.stderr());
    assert!(back == data, "1 MiB came back changed");
}

/// plink -N -L (PuTTY's own forwarding code, a PPK key, a pinned host key): a local
/// port reaches the echo server through a direct-tcpip channel.
#[test]
fn plink_forwards_a_local_port() {
    require("plink", "putty-tools");
    require("puttygen", "putty-tools");
    let fx = Fixture::new("plink-l");
    let user_key = keygen(&fx, "id_ed25519_plink", "ed25519", "256");
    let ppk = fx.dir.join("id.ppk");
    let out = Command::new("puttygen")
        .arg(&user_key)
        .args(["-O", "private", "-o"])
        .arg(&ppk)
        .stdin(Stdio::null())
        .output()
        .expect("puttygen");
    assert!(out.status.success(), "puttygen: {out:?}");
    authorize(&fx, &[public_line(&user_key)]);
    let host = fx.dir.join("host_key");
    let echo = echo_server();
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let local = free_port();
    let mut cmd = client(&fx, "plink");
    cmd.args(["-batch", "-ssh", "-noagent", "-N"])
        .args(["-L", &format!("{local}:127.0.0.1:{echo}")])
        .args(["-P", &srv.addr.port().to_string()])
        .args(["-hostkey", &fingerprint(&host)])
        .arg("-i")
        .arg(&ppk)
        .arg("user@127.0.0.1");
    let mut plink = Background::spawn(cmd, fx.dir.join("plink.stderr"));
    plink.wait_listening(local);
    check_forwarded(&plink, local);
}

/// dbclient -N -L (Dropbear's forwarding code, its own key format, its known_hosts):
/// a local port reaches the echo server through a direct-tcpip channel.
#[test]
fn dbclient_forwards_a_local_port() {
    require("dbclient", "dropbear-bin");
    require("dropbearconvert", "dropbear-bin");
    let fx = Fixture::new("dropbear-l");
    let user_key = keygen(&fx, "id_ecdsa", "ecdsa", "256");
    authorize(&fx, &[public_line(&user_key)]);
    let db_key = fx.dir.join("id_ecdsa.dropbear");
    let out = Command::new("dropbearconvert")
        .args(["openssh", "dropbear"])
        .arg(&user_key)
        .arg(&db_key)
        .output()
        .expect("dropbearconvert");
    assert!(out.status.success(), "dropbearconvert: {out:?}");
    let host = fx.dir.join("host_key");
    let echo = echo_server();
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    dropbear_known_hosts(&fx, &srv, &public_line(&host));
    let local = free_port();
    let mut cmd = client(&fx, "dbclient");
    cmd.args(["-N", "-L", &format!("{local}:127.0.0.1:{echo}")])
        .args(["-p", &srv.addr.port().to_string()])
        .arg("-i")
        .arg(&db_key)
        .arg("user@127.0.0.1");
    let mut dbclient = Background::spawn(cmd, fx.dir.join("dbclient.stderr"));
    dbclient.wait_listening(local);
    check_forwarded(&dbclient, local);
}

/// paramiko opens direct-tcpip channels itself: `short` sends bytes, shuts its write
/// side (EOF) and prints what comes back until the server's EOF; 1 MiB of random
/// bytes go up from a thread while the main thread reads (`big=ok` when they return
/// whole); a direct-tcpip to `closed`, where nothing listens, must raise
/// ChannelException (printed with its reason code to stderr); and the connection still
/// works afterwards (a last echo through a new channel).
const PARAMIKO_DIRECT_TCPIP_SCRIPT: &str = r#"
import hashlib
import os
import sys
import threading
import paramiko

port, user, key, known = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
echo, closed = int(sys.argv[5]), int(sys.argv[6])

c = paramiko.SSHClient()
c.load_host_keys(known)
c.set_missing_host_key_policy(paramiko.RejectPolicy())
c.connect("127.0.0.1", port=port, username=user, key_filename=key,
          look_for_keys=False, allow_agent=False,
          timeout=20, banner_timeout=20, auth_timeout=20)
t = c.get_transport()

def channel(dest):
    ch = t.open_channel("direct-tcpip", ("127.0.0.1", dest), ("127.0.0.1", 0), timeout=20)
    ch.settimeout(30)
    return ch

def read_all(ch):
    data = b""
    while True:
        d = ch.recv(65536)
        if not d:
            return data
        data += d

ch = channel(echo)
ch.sendall(b"through direct-tcpip")
ch.shutdown_write()
sys.stdout.write(read_all(ch).decode())
ch.close()

big = os.urandom(1 << 20)
ch = channel(echo)
def send():
    ch.sendall(big)
    ch.shutdown_write()
sender = threading.Thread(target=send)
sender.start()
back = read_all(ch)
sender.join()
ch.close()
sys.stderr.write("big=%s len=%d\n" % ("ok" if hashlib.sha256(back).digest() == hashlib.sha256(big).digest() else "bad", len(back)))

try:
    channel(closed)
    sys.stderr.write("closed=opened\n")
except paramiko.ChannelException as e:
    sys.stderr.write("closed=ChannelException code=%d text=%r\n" % (e.code, e.text))

ch = channel(echo)
ch.sendall(b" again")
ch.shutdown_write()
sys.stdout.write(read_all(ch).decode())
ch.close()
c.close()
"#;

/// paramiko's own direct-tcpip channels (see the script): echoes through them, a
/// refusal for a closed port, and a connection still usable after the refusal.
#[test]
fn paramiko_opens_direct_tcpip_channels() {
    let py = python_with_paramiko();
    let fx = Fixture::new("paramiko-direct");
    let user_key = keygen(&fx, "id_ecdsa", "ecdsa", "256");
    authorize(&fx, &[public_line(&user_key)]);
    let host = fx.dir.join("host_key");
    let echo = echo_server();
    let closed = free_port();
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let script = fx.dir.join("paramiko_direct_tcpip.py");
    std::fs::write(&script, PARAMIKO_DIRECT_TCPIP_SCRIPT).expect("script");
    let port = srv.addr.port().to_string();
    let known = fx.dir.join("known_hosts");
    std::fs::write(
        &known,
        format!("[127.0.0.1]:{port} {}\n", public_line(&host)),
    )
    .expect("known_hosts");
    let out = client(&fx, &py)
        .arg(&script)
        .args([&port, "user"])
        .arg(&user_key)
        .arg(&known)
        .args([echo.to_string(), closed.to_string()])
        .output()
        .expect("python3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout(&out), "through direct-tcpip again", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(err.contains("big=ok len=1048576"), "{err}");
    // Refused with SSH_MSG_CHANNEL_OPEN_FAILURE, reason 2 (SSH_OPEN_CONNECT_FAILED,
    // RFC 4254 section 5.1), as sshd does: the demo says why with refuse_with.
    assert!(err.contains("closed=ChannelException code=2 "), "{err}");
}
