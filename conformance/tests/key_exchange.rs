//! Every key exchange method against the real OpenSSH client. The methods live in the
//! core, so one adapter (tokio) carries them.

use std::process::Stdio;

use conformance::*;

/// The methods both we and OpenSSH 9.2 implement, SHA-1 ones included.
const METHODS: &[&str] = &[
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group1-sha1",
];

fn output(mut c: std::process::Command) -> std::process::Output {
    c.stdin(Stdio::null())
        .output()
        .expect("run the OpenSSH client")
}

#[test]
fn openssh_logs_in_with_every_key_exchange_method() {
    let fx = Fixture::new("kex-all");
    let all = METHODS.join(",");
    let srv = DemoServer::start_with(Adapter::Tokio, &fx, &["--kex", &all]);
    for m in METHODS {
        let kex = format!("KexAlgorithms={m}");
        let mut c = ssh(&srv, &fx, &["-o", &kex]);
        c.arg(format!("echo kex-ok {m}"));
        let out = output(c);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("kex-ok {m}\n"),
            "{m}: {out:?}"
        );
    }
}

#[test]
fn openssh_rekeys_repeatedly_under_group_exchange() {
    let fx = Fixture::new("kex-gex-rekey");
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let mut c = ssh(
        &srv,
        &fx,
        &[
            "-o",
            "KexAlgorithms=diffie-hellman-group-exchange-sha256",
            "-o",
            "RekeyLimit=1M",
        ],
    );
    c.arg("head -c 8388608 /dev/zero | sha256sum");
    let out = output(c);
    let want = sha256_of(&vec![0u8; 8 << 20]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&want),
        "{out:?}"
    );
}

#[test]
fn sha1_methods_are_refused_by_default() {
    let fx = Fixture::new("kex-sha1-default");
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    for m in ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"] {
        let kex = format!("KexAlgorithms={m}");
        let mut c = ssh(&srv, &fx, &["-o", &kex]);
        c.arg("echo should-not-run");
        let out = output(c);
        assert_ne!(out.status.code(), Some(0), "{m}");
        assert_eq!(out.status.code(), Some(255), "{m}: {out:?}");
        assert!(out.stdout.is_empty(), "{m}");
    }
}
