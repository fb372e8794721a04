//! The real OpenSSH client (ssh, sshpass, sftp, scp) against the demo server.

use std::io::Write;
use std::process::{Command, Stdio};

use conformance::*;

fn run(c: &mut Command, stdin: Option<&[u8]>) -> std::process::Output {
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn client");
    let writer = stdin.map(|d| {
        let mut s = child.stdin.take().expect("stdin");
        let d = d.to_vec();
        std::thread::spawn(move || {
            let _ = s.write_all(&d);
        })
    });
    let out = child.wait_with_output().expect("client output");
    if let Some(w) = writer {
        w.join().expect("stdin writer");
    }
    out
}

for_each_adapter! {
    fn publickey_login_and_echo_hello(adapter: Adapter) {
        let fx = Fixture::new("echo");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(ssh(&srv, &fx, &[]).arg("echo hello"), None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n", "{out:?}");
        assert_eq!(out.status.code(), Some(0));
    }
}

for_each_adapter! {
    fn password_login_with_sshpass(adapter: Adapter) {
        require("sshpass", "sshpass");
        let fx = Fixture::new("password");
        let srv = DemoServer::start(adapter, &fx);
        let mut c = Command::new("sshpass");
        c.args(["-p", "demo", "ssh"])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no"])
            .args(["-o", "PreferredAuthentications=password"])
            .args(["-p", &srv.addr.port().to_string()])
            .arg(format!("demo@{}", srv.addr.ip()))
            .arg("echo password-ok");
        let out = run(&mut c, None);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "password-ok\n",
            "{out:?}"
        );
        // A wrong password is refused.
        let mut c = Command::new("sshpass");
        c.args(["-p", "wrong", "ssh"])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no"])
            .args(["-o", "NumberOfPasswordPrompts=1"])
            .args(["-p", &srv.addr.port().to_string()])
            .arg(format!("demo@{}", srv.addr.ip()))
            .arg("echo should-not-run");
        let out = run(&mut c, None);
        assert_ne!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
    }
}

for_each_adapter! {
    fn failing_command_exit_status_and_stderr_kept_apart(adapter: Adapter) {
        let fx = Fixture::new("exit");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(
            ssh(&srv, &fx, &[]).arg("echo out; echo err >&2; exit 42"),
            None,
        );
        assert_eq!(out.status.code(), Some(42));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    }
}

for_each_adapter! {
    fn env_requests_are_applied(adapter: Adapter) {
        let fx = Fixture::new("env");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(
            ssh(&srv, &fx, &["-o", "SetEnv=DEMO_VAR=from-client"]).arg("echo $DEMO_VAR"),
            None,
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "from-client\n");
    }
}

const CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
];

for_each_adapter! {
    fn sixty_four_mib_up_and_down_with_each_cipher(adapter: Adapter) {
        let fx = Fixture::new("bulk");
        let srv = DemoServer::start(adapter, &fx);
        let file = fx.data_file("payload", 64 << 20);
        let data = std::fs::read(&file).expect("payload");
        let want = sha256_of(&data);
        for (i, cipher) in CIPHERS.iter().enumerate() {
            // Non-AEAD ciphers: alternate the MAC so both ETM and classic forms run.
            let mac = [
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-512",
                "hmac-sha2-256",
                "hmac-sha2-512-etm@openssh.com",
            ][i % 4];
            let opts = ["-c", cipher, "-m", mac];
            let up = run(ssh(&srv, &fx, &opts).arg("sha256sum"), Some(&data));
            assert_eq!(up.status.code(), Some(0), "{cipher}: {up:?}");
            assert_eq!(
                &String::from_utf8_lossy(&up.stdout)[..64],
                want,
                "{cipher} upload"
            );
            let down = run(
                ssh(&srv, &fx, &opts).arg(format!("cat {}", file.display())),
                None,
            );
            assert_eq!(down.status.code(), Some(0), "{cipher}");
            assert_eq!(down.stdout.len(), data.len(), "{cipher} download length");
            assert_eq!(sha256_of(&down.stdout), want, "{cipher} download");
        }
    }
}

for_each_adapter! {
    fn rekey_during_a_transfer(adapter: Adapter) {
        let fx = Fixture::new("rekey");
        let srv = DemoServer::start(adapter, &fx);
        let file = fx.data_file("payload", 16 << 20);
        let data = std::fs::read(&file).expect("payload");
        let out = run(
            ssh(&srv, &fx, &["-o", "RekeyLimit=1M"]).arg("sha256sum"),
            Some(&data),
        );
        assert_eq!(
            &String::from_utf8_lossy(&out.stdout)[..64],
            sha256_of(&data)
        );
    }
}

for_each_adapter! {
    fn interactive_shell_on_a_pty(adapter: Adapter) {
        let fx = Fixture::new("pty");
        let srv = DemoServer::start(adapter, &fx);
        let script = b"echo marker-$((6*7)); tty\nexit 5\n";
        let out = run(&mut ssh(&srv, &fx, &["-tt"]), Some(script));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("marker-42"), "{text}");
        assert!(text.contains("/dev/pts/"), "not a pty: {text}");
        assert_eq!(out.status.code(), Some(5), "{text}");
    }
}

for_each_adapter! {
    fn sftp_and_scp_transfers(adapter: Adapter) {
        require("sftp", "openssh-client");
        require("scp", "openssh-client");
        let fx = Fixture::new("sftp");
        let srv = DemoServer::start(adapter, &fx);
        let file = fx.data_file("src", 5 << 20);
        let port = srv.addr.port().to_string();
        let target = format!("user@{}", srv.addr.ip());
        let (put, back) = (fx.dir.join("put"), fx.dir.join("back"));
        let batch = format!(
            "put {} {}\nget {} {}\n",
            file.display(),
            put.display(),
            put.display(),
            back.display()
        );
        let mut c = Command::new("sftp");
        c.args(["-b", "-", "-P", &port])
            .args(common_opts(&fx))
            .arg(&target);
        let out = run(&mut c, Some(batch.as_bytes()));
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            std::fs::read(&back).expect("got"),
            std::fs::read(&file).expect("src")
        );
        let scp_dst = fx.dir.join("scp");
        let mut c = Command::new("scp");
        c.args(["-q", "-P", &port])
            .args(common_opts(&fx))
            .arg(&file)
            .arg(format!("{target}:{}", scp_dst.display()));
        let out = run(&mut c, None);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            std::fs::read(&scp_dst).expect("scp"),
            std::fs::read(&file).expect("src")
        );
    }
}

for_each_adapter! {
    fn client_with_no_common_cipher_is_refused_at_once(adapter: Adapter) {
        let fx = Fixture::new("nocipher");
        let srv = DemoServer::start(adapter, &fx);
        let mut c = Command::new("ssh");
        c.args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "BatchMode=yes",
            "-c",
            "aes192-ctr",
            "-p",
            &srv.addr.port().to_string(),
        ])
        .arg(format!("user@{}", srv.addr.ip()))
        .arg("echo should-not-run");
        let start = std::time::Instant::now();
        let out = run(&mut c, None);
        assert_eq!(out.status.code(), Some(255), "{out:?}");
        assert!(out.stdout.is_empty());
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        // Either side may notice first (the client's own check, or our DISCONNECT), so the
        // client's message varies; the server keeps serving others.
        let ok = run(ssh(&srv, &fx, &[]).arg("echo hello"), None);
        assert_eq!(String::from_utf8_lossy(&ok.stdout), "hello\n");
    }
}

for_each_adapter! {
    /// Real authorized_keys files hold RSA and ECDSA lines: the server must start and
    /// let the ed25519 key in (those lines are kept; they cannot verify yet).
    fn authorized_keys_with_rsa_and_ecdsa_lines_still_serve(adapter: Adapter) {
        require("ssh-keygen", "openssh-client");
        let fx = Fixture::new("mixed-keys");
        let mut lines = String::new();
        for (kind, bits) in [("rsa", "3072"), ("ecdsa", "256")] {
            let path = fx.dir.join(format!("other_{kind}"));
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", "other", "-f"])
                .arg(&path)
                .status()
                .expect("ssh-keygen");
            assert!(ok.success());
            let public = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
            lines.push_str(&format!("no-pty {public}"));
        }
        let ours = std::fs::read_to_string(fx.dir.join("authorized_keys")).expect("ours");
        std::fs::write(fx.dir.join("authorized_keys"), lines + &ours).expect("write");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(ssh(&srv, &fx, &[]).arg("echo mixed"), None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "mixed\n", "{out:?}");
    }
}

/// A fixture whose only user key is a fresh RSA key of `bits` made by ssh-keygen.
fn rsa_fixture(name: &str, bits: &str) -> Fixture {
    keygen_fixture(name, "rsa", bits)
}

/// A fixture whose only user key is a fresh `kind` key of `bits` made by ssh-keygen.
fn keygen_fixture(name: &str, kind: &str, bits: &str) -> Fixture {
    require("ssh-keygen", "openssh-client");
    let mut fx = Fixture::new(name);
    let path = fx.dir.join(format!("id_{kind}"));
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", "user", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen");
    assert!(ok.success());
    let public = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
    std::fs::write(fx.dir.join("authorized_keys"), public).expect("authorized_keys");
    fx.user_key = path;
    fx
}

for_each_adapter! {
    /// RSA user keys of 2048, 3072 and 4096 bits verify with rsa-sha2-512 (OpenSSH's
    /// first choice) and rsa-sha2-256; SHA-1 ssh-rsa only when the server allows it.
    fn rsa_user_keys_log_in_with_both_sha2_signatures(adapter: Adapter) {
        for bits in ["2048", "3072", "4096"] {
            let fx = rsa_fixture(&format!("rsa{bits}"), bits);
            let srv = DemoServer::start(adapter, &fx);
            for alg in ["rsa-sha2-512", "rsa-sha2-256"] {
                let opt = format!("PubkeyAcceptedAlgorithms={alg}");
                let out = run(ssh(&srv, &fx, &["-o", &opt]).arg("echo rsa"), None);
                assert_eq!(String::from_utf8_lossy(&out.stdout), "rsa\n", "{bits} {alg}: {out:?}");
            }
            let sha1 = ["-o", "PubkeyAcceptedAlgorithms=ssh-rsa"];
            let out = run(ssh(&srv, &fx, &sha1).arg("echo rsa"), None);
            assert!(out.stdout.is_empty(), "ssh-rsa is off by default: {out:?}");
        }
        let fx = rsa_fixture("rsa-sha1", "2048");
        let srv = DemoServer::start_with(adapter, &fx, &["--allow-ssh-rsa"]);
        let sha1 = ["-o", "PubkeyAcceptedAlgorithms=ssh-rsa"];
        let out = run(ssh(&srv, &fx, &sha1).arg("echo sha1"), None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "sha1\n", "{out:?}");
    }
}

for_each_adapter! {
    /// The RSA minimum is the application's: at 3072 a 2048-bit key is refused.
    fn a_raised_rsa_minimum_refuses_smaller_keys(adapter: Adapter) {
        let fx = rsa_fixture("rsa-min", "2048");
        let srv = DemoServer::start_with(adapter, &fx, &["--min-rsa-bits", "3072"]);
        let out = run(ssh(&srv, &fx, &[]).arg("echo no"), None);
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_ne!(out.status.code(), Some(0), "{out:?}");
    }
}

for_each_adapter! {
    /// RSA keys under 2048 bits are refused (the login fails, the server goes on).
    fn rsa_keys_under_2048_bits_are_refused(adapter: Adapter) {
        let fx = rsa_fixture("rsa1024", "1024");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(ssh(&srv, &fx, &[]).arg("echo no"), None);
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
}

for_each_adapter! {
    /// ECDSA user keys on each NIST curve log in with the real OpenSSH client.
    fn ecdsa_user_keys_log_in_on_every_curve(adapter: Adapter) {
        for bits in ["256", "384", "521"] {
            let fx = keygen_fixture(&format!("ecdsa{bits}"), "ecdsa", bits);
            let srv = DemoServer::start(adapter, &fx);
            let out = run(ssh(&srv, &fx, &[]).arg("echo ecdsa"), None);
            assert_eq!(String::from_utf8_lossy(&out.stdout), "ecdsa\n", "P-{bits}: {out:?}");
        }
    }
}

for_each_adapter! {
    /// The server offers publickey-hostbound@openssh.com in ext-info, and OpenSSH then
    /// signs in the host-bound form, which the core verifies against this session's
    /// host key.
    fn openssh_logs_in_with_host_bound_publickey(adapter: Adapter) {
        let fx = Fixture::new("hostbound");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(ssh(&srv, &fx, &["-vvv"]).arg("echo bound"), None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "bound\n", "{out:?}");
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("using publickey-hostbound-v00@openssh.com"), "{log}");
    }
}

for_each_adapter! {
    /// Sessions get sshd's variables: SSH_CONNECTION and SSH_CLIENT with the real
    /// addresses (not overridable by the client's env requests), and USER, LOGNAME,
    /// HOME, SHELL and PATH of the account the programs run as.
    fn sessions_get_sshds_environment(adapter: Adapter) {
        let fx = Fixture::new("session-env");
        let srv = DemoServer::start(adapter, &fx);
        let out = run(
            ssh(&srv, &fx, &["-o", "SetEnv=SSH_CONNECTION=spoofed"])
                .arg("echo \"$SSH_CONNECTION|$SSH_CLIENT|$USER|$LOGNAME|$HOME|$SHELL|$PATH\""),
            None,
        );
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let f: Vec<&str> = text.split('|').collect();
        assert_eq!(f.len(), 7, "{out:?}");
        let conn: Vec<&str> = f[0].split(' ').collect();
        let port = srv.addr.port().to_string();
        assert_eq!(conn.len(), 4, "{text}");
        assert_eq!((conn[0], conn[2], conn[3]), ("127.0.0.1", "127.0.0.1", port.as_str()), "{text}");
        assert!(conn[1].parse::<u16>().is_ok(), "{text}");
        assert_eq!(f[1], format!("127.0.0.1 {} {port}", conn[1]));
        let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        assert_eq!(f[2], me.trim());
        assert_eq!(f[3], me.trim());
        assert!(!f[4].is_empty() && !f[5].is_empty(), "{text}");
        assert!(f[6].contains("/usr/bin"), "{text}");
    }
}

for_each_adapter! {
    /// `ssh host yes | head -c 100` ends at once, as with sshd: when head exits, ssh
    /// sends eow@openssh.com, the demo closes the program's stdout and `yes` dies of
    /// SIGPIPE. OpenSSH sends eow only to servers whose identification starts with
    /// "OpenSSH", hence the version given here.
    fn output_nobody_reads_ends_the_command(adapter: Adapter) {
        let fx = Fixture::new("eow");
        let srv = DemoServer::start_with(
            adapter,
            &fx,
            &["--software-version", "OpenSSH_9.9-compatible_sshproto"],
        );
        let opts: Vec<String> = common_opts(&fx)
            .into_iter()
            .map(|o| format!("'{o}'"))
            .collect();
        let line = format!(
            "timeout 20 ssh {} -p {} user@127.0.0.1 yes | head -c 100 | wc -c",
            opts.join(" "),
            srv.addr.port()
        );
        let t = std::time::Instant::now();
        let out = Command::new("sh").arg("-c").arg(&line).output().expect("sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "100", "{out:?}");
        let took = t.elapsed();
        assert!(took < std::time::Duration::from_secs(10), "took {took:?}: {out:?}");
    }
}

for_each_adapter! {
    /// A PTY session whose client is killed (SIGKILL, no goodbye) leaves no process
    /// behind: the demo hangs up the session when the connection ends, as sshd does.
    fn a_vanished_clients_pty_session_is_hung_up(adapter: Adapter) {
        let fx = Fixture::new("pty-hangup");
        let srv = DemoServer::start(adapter, &fx);
        let marker = format!("{}", 7000 + std::process::id() % 1000 + adapter as u32);
        let mut client = ssh(&srv, &fx, &["-tt"])
            .arg(format!("sleep {marker}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ssh -tt");
        let running = || {
            Command::new("pgrep")
                .args(["-f", &format!("^sleep {marker}$")])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let t = std::time::Instant::now();
        while !running() {
            assert!(t.elapsed() < std::time::Duration::from_secs(10), "sleep never started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        client.kill().unwrap();
        let _ = client.wait();
        let t = std::time::Instant::now();
        while running() {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(5),
                "the PTY session outlived its connection"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
