//! The real OpenSSH client against the smol adapter.

use std::sync::Arc;

use ssh_proto::server::{ExecHandler, ExecOutput};
use ssh_proto::{AuthDecision, AuthMethod, AuthRequest, PrivateKey, ServerConfig, SystemRng};

struct Reply;

impl ExecHandler for Reply {
    fn auth(&self, r: &AuthRequest) -> AuthDecision {
        match &r.method {
            AuthMethod::Password { password, .. } if password.expose() == "pw" => {
                AuthDecision::Accept
            }
            _ => AuthDecision::Reject,
        }
    }
    fn exec(&self, user: &str, command: &[u8]) -> Option<ExecOutput> {
        Some(ExecOutput {
            stdout: format!("{user} ran {}\n", String::from_utf8_lossy(command)).into_bytes(),
            stderr: b"to stderr\n".to_vec(),
            status: 7,
        })
    }
}

#[test]
fn openssh_password_exec_exit_status() {
    for (p, pkg) in [("ssh", "openssh-client"), ("sshpass", "sshpass")] {
        assert!(
            std::process::Command::new("which")
                .arg(p)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false),
            "`{p}` missing: apt-get install -y {pkg}"
        );
    }
    let key = PrivateKey::generate_ed25519(&SystemRng).unwrap();
    let config = Arc::new(ServerConfig::builder().host_key(key).build().unwrap());
    let server = smol::block_on(ssh_smol::Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        config,
        Reply,
    ))
    .unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || smol::block_on(server.run()));
    let out = std::process::Command::new("sshpass")
        .args([
            "-p",
            "pw",
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "LogLevel=ERROR",
            "-o",
            "PubkeyAuthentication=no",
            "-p",
            &port,
            "carol@127.0.0.1",
            "hello there",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "carol ran hello there\n",
        "{out:?}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to stderr\n");
    assert_eq!(out.status.code(), Some(7));
}
