//! Host keys of every type with the real OpenSSH tools: ssh-keyscan sees each
//! configured key, ssh-keygen reads the key files the demo writes, and a client that
//! checks known_hosts strictly logs in under each host key algorithm.

use std::path::PathBuf;
use std::process::Command;

use conformance::*;

/// A known_hosts file trusting exactly these public lines for the server.
fn known_hosts(fx: &Fixture, srv: &DemoServer, lines: &[String]) -> PathBuf {
    let path = fx.dir.join("known_hosts");
    let host = format!("[127.0.0.1]:{}", srv.addr.port());
    let text: String = lines.iter().map(|l| format!("{host} {l}\n")).collect();
    std::fs::write(&path, text).expect("known_hosts");
    path
}

fn keyscan(srv: &DemoServer, types: &str) -> String {
    require("ssh-keyscan", "openssh-client");
    let out = Command::new("ssh-keyscan")
        .args([
            "-T",
            "10",
            "-t",
            types,
            "-p",
            &srv.addr.port().to_string(),
            "127.0.0.1",
        ])
        .output()
        .expect("ssh-keyscan");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

for_each_adapter! {
    /// The demo creates ed25519, ECDSA and RSA host keys; ssh-keygen reads each file,
    /// ssh-keyscan reports all three, and strict logins work under each algorithm.
    fn every_host_key_is_offered_and_signs_under_its_algorithms(adapter: Adapter) {
        require("ssh-keygen", "openssh-client");
        let fx = Fixture::new("host-keys");
        let files: Vec<PathBuf> = ["ed25519", "ecdsa", "rsa"]
            .iter()
            .map(|t| fx.dir.join(format!("host_{t}_key")))
            .collect();
        let srv = DemoServer::start_with_host_keys(adapter, &fx, &files, &[]);
        let lines: Vec<String> = files.iter().map(|f| public_line(f)).collect();
        assert!(lines[0].starts_with("ssh-ed25519 "), "{lines:?}");
        assert!(lines[1].starts_with("ecdsa-sha2-nistp256 "), "{lines:?}");
        assert!(lines[2].starts_with("ssh-rsa "), "{lines:?}");
        let scanned = keyscan(&srv, "rsa,ecdsa,ed25519");
        for l in &lines {
            assert!(scanned.contains(l.as_str()), "{l} not in:\n{scanned}");
        }
        let known = known_hosts(&fx, &srv, &lines);
        for alg in ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"] {
            let out = strict_login(&fx, &srv, &known, alg, "echo hostkey");
            assert_eq!(String::from_utf8_lossy(&out.stdout), "hostkey\n", "{alg}: {out:?}");
        }
        // Trusting only the ed25519 key, a client that insists on RSA is refused: the
        // server really signed with its RSA key.
        let only_ed = known_hosts(&fx, &srv, &lines[..1]);
        let out = strict_login(&fx, &srv, &only_ed, "rsa-sha2-512", "echo hostkey");
        assert_ne!(out.status.code(), Some(0), "{out:?}");
    }
}

/// Host keys made by ssh-keygen in each format it writes (OpenSSH, PEM PKCS#1, SEC1,
/// PKCS#8) and on each curve load as host keys and sign.
#[test]
fn ssh_keygen_host_keys_of_every_type_and_format_serve() {
    require("ssh-keygen", "openssh-client");
    let fx = Fixture::new("keygen-host-keys");
    let made = [
        ("ecdsa", "384", "RFC4716", "ecdsa-sha2-nistp384"),
        ("ecdsa", "521", "PEM", "ecdsa-sha2-nistp521"),
        ("rsa", "4096", "PEM", "rsa-sha2-512"),
        ("rsa", "2048", "PKCS8", "rsa-sha2-256"),
        ("ed25519", "256", "RFC4716", "ssh-ed25519"),
    ];
    let mut files = Vec::new();
    for (i, (kind, bits, format, _)) in made.iter().enumerate() {
        let path = fx.dir.join(format!("made_{i}_{kind}"));
        // RFC4716 is not a private key format: ssh-keygen then writes its own format.
        let mut c = Command::new("ssh-keygen");
        c.args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", "made"]);
        if *format != "RFC4716" {
            c.args(["-m", format]);
        }
        assert!(c
            .arg("-f")
            .arg(&path)
            .status()
            .expect("ssh-keygen")
            .success());
        files.push(path);
    }
    let srv = DemoServer::start_with_host_keys(Adapter::Tokio, &fx, &files, &[]);
    let lines: Vec<String> = files.iter().map(|f| public_line(f)).collect();
    let known = known_hosts(&fx, &srv, &lines);
    for (_, _, format, alg) in made {
        let out = strict_login(&fx, &srv, &known, alg, "echo hostkey");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "hostkey\n",
            "{alg} {format}: {out:?}"
        );
    }
}

for_each_adapter! {
    /// OpenSSH's UpdateHostKeys: a client that trusts only the ed25519 key (and offers
    /// every host key type: it ignores announced keys of types it does not offer) learns the
    /// ECDSA and RSA keys from hostkeys-00@openssh.com, after proving them
    /// (hostkeys-prove-00@openssh.com), and writes them to known_hosts.
    fn update_host_keys_learns_the_other_keys(adapter: Adapter) {
        require("ssh-keygen", "openssh-client");
        let fx = Fixture::new("update-host-keys");
        let files: Vec<PathBuf> = ["ed25519", "ecdsa", "rsa"]
            .iter()
            .map(|t| fx.dir.join(format!("host_{t}_key")))
            .collect();
        let srv = DemoServer::start_with_host_keys(adapter, &fx, &files, &[]);
        let lines: Vec<String> = files.iter().map(|f| public_line(f)).collect();
        let known = known_hosts(&fx, &srv, &lines[..1]);
        let out = Command::new("ssh")
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known.display()))
            .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"])
            .arg("-i")
            .arg(&fx.user_key)
            .args(["-p", &srv.addr.port().to_string(), "user@127.0.0.1", "sleep 1; echo hostkey"])
            .output()
            .expect("ssh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hostkey\n", "{out:?}");
        let learned = std::fs::read_to_string(&known).expect("known_hosts");
        for l in &lines {
            assert!(
                learned.contains(l.as_str()),
                "{l} not learned:\n{learned}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

for_each_adapter! {
    /// A host certificate signed by ssh-keygen -h: a client whose known_hosts holds
    /// only `@cert-authority` for the CA connects without a prompt; without the
    /// certificate the same client refuses the server.
    fn a_host_certificate_is_accepted_through_cert_authority(adapter: Adapter) {
        require("ssh-keygen", "openssh-client");
        let fx = Fixture::new("host-cert");
        let ca = fx.dir.join("host_ca");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&ca)
            .status()
            .expect("ssh-keygen");
        assert!(status.success());
        let host = fx.dir.join("host_ed25519_key");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host)
            .status()
            .expect("ssh-keygen");
        assert!(status.success());
        let status = Command::new("ssh-keygen")
            .args(["-q", "-s"])
            .arg(&ca)
            .args(["-h", "-I", "demo-host", "-n", "127.0.0.1,localhost"])
            .arg(host.with_extension("pub"))
            .status()
            .expect("ssh-keygen -s -h");
        assert!(status.success());
        let cert = fx.dir.join("host_ed25519_key-cert.pub");
        let ca_line = public_line(&ca);
        let known = fx.dir.join("known_hosts_ca");
        std::fs::write(&known, format!("@cert-authority * {ca_line}\n")).unwrap();
        let login = |srv: &DemoServer| {
            Command::new("ssh")
                .args(["-o", "StrictHostKeyChecking=yes"])
                .arg("-o")
                .arg(format!("UserKnownHostsFile={}", known.display()))
                .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"])
                .arg("-i")
                .arg(&fx.user_key)
                .args(["-p", &srv.addr.port().to_string(), "user@127.0.0.1", "echo hostkey"])
                .output()
                .expect("ssh")
        };
        let with = DemoServer::start_with_host_keys(
            adapter,
            &fx,
            std::slice::from_ref(&host),
            &["--host-certificate", cert.to_str().unwrap()],
        );
        let out = login(&with);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hostkey\n", "{out:?}");
        drop(with);
        let without = DemoServer::start_with_host_keys(adapter, &fx, std::slice::from_ref(&host), &[]);
        let out = login(&without);
        assert_ne!(out.status.code(), Some(0), "no certificate, no trust: {out:?}");
    }
}
