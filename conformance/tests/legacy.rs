//! Legacy algorithms with the real OpenSSH client, in builds with ssh-proto's `legacy`
//! feature (`.ci/run` builds the demos with it and runs this file last): SHA-1
//! ssh-rsa and ssh-dss host keys, offered only with --legacy-host-keys, and DSA user
//! keys, accepted only with --allow-ssh-dss.
#![cfg(feature = "legacy")]

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::*;

fn keygen(kind: &str, bits: &str, path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", "legacy", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen");
    assert!(ok.success());
}

fn public_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn known(fx: &Fixture, srv: &DemoServer, host_key: &Path) -> PathBuf {
    let path = fx.dir.join("known_hosts_legacy");
    let line = format!(
        "[127.0.0.1]:{} {}\n",
        srv.addr.port(),
        public_line(host_key)
    );
    std::fs::write(&path, line).expect("known_hosts");
    path
}

/// ssh-rsa (SHA-1) and ssh-dss host keys sign for OpenSSH clients that ask for them,
/// and are not offered without --legacy-host-keys.
#[test]
fn sha1_rsa_and_dsa_host_keys_when_enabled() {
    require("ssh-keygen", "openssh-client");
    let fx = Fixture::new("legacy-host");
    let rsa = fx.dir.join("legacy_rsa_host");
    let dsa = fx.dir.join("legacy_dsa_host");
    keygen("rsa", "2048", &rsa);
    keygen("dsa", "1024", &dsa);
    let keys = [rsa.clone(), dsa.clone()];
    let srv = DemoServer::start_with_host_keys(Adapter::Tokio, &fx, &keys, &["--legacy-host-keys"]);
    for (alg, key) in [("ssh-rsa", &rsa), ("ssh-dss", &dsa)] {
        let k = known(&fx, &srv, key);
        let out = strict_login(&fx, &srv, &k, alg, "echo legacy");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "legacy\n",
            "{alg}: {out:?}"
        );
    }
    drop(srv);
    let srv = DemoServer::start_with_host_keys(Adapter::Tokio, &fx, &keys, &[]);
    let k = known(&fx, &srv, &rsa);
    let out = strict_login(&fx, &srv, &k, "ssh-rsa", "echo legacy");
    assert_ne!(
        out.status.code(),
        Some(0),
        "ssh-rsa must not be offered by default: {out:?}"
    );
}

/// A DSA user key logs in only when the server allows ssh-dss.
#[test]
fn dsa_user_keys_only_when_allowed() {
    require("ssh-keygen", "openssh-client");
    let mut fx = Fixture::new("legacy-dsa-user");
    let user = fx.dir.join("id_dsa_legacy");
    keygen("dsa", "1024", &user);
    std::fs::write(fx.dir.join("authorized_keys"), public_line(&user) + "\n").unwrap();
    fx.user_key = user;
    let dss = ["-o", "PubkeyAcceptedAlgorithms=+ssh-dss"];
    let srv = DemoServer::start_with(Adapter::Tokio, &fx, &["--allow-ssh-dss"]);
    let out = ssh(&srv, &fx, &dss).arg("echo dsa").output().expect("ssh");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dsa\n", "{out:?}");
    drop(srv);
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let out = ssh(&srv, &fx, &dss).arg("echo dsa").output().expect("ssh");
    assert!(out.stdout.is_empty(), "ssh-dss is off by default: {out:?}");
}
