//! OpenSSH user certificates made by the real ssh-keygen (`-s`), presented by the real
//! ssh client, checked by the core: trusted CA, validity, principals, source-address,
//! revocation, and certificates of every key type.

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::*;

fn keygen(args: &[&str], path: &Path) {
    require("ssh-keygen", "openssh-client");
    let out = Command::new("ssh-keygen")
        .args(args)
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "ssh-keygen {args:?}: {out:?}");
}

/// A fixture whose user key is a fresh `kind` key NOT in authorized_keys, with a CA
/// (`ca`, ed25519 unless `ca_kind` says otherwise) beside it.
fn cert_fixture(name: &str, kind: &str, ca_kind: &str) -> (Fixture, PathBuf) {
    let mut fx = Fixture::new(name);
    let ca = fx.dir.join("ca");
    keygen(&["-q", "-t", ca_kind, "-N", "", "-C", "ca", "-f"], &ca);
    let user = fx.dir.join(format!("cert_id_{kind}"));
    keygen(&["-q", "-t", kind, "-N", "", "-C", "user", "-f"], &user);
    fx.user_key = user;
    (fx, ca)
}

/// Sign the fixture's user key with the CA (`ssh-keygen -s`), writing `<key>-cert.pub`
/// where ssh finds it by itself.
fn sign(fx: &Fixture, ca: &Path, extra: &[&str]) {
    let mut args = vec!["-q", "-s"];
    let ca = ca.to_str().unwrap();
    args.push(ca);
    args.extend_from_slice(&["-I", "conformance-id"]);
    args.extend_from_slice(extra);
    keygen(&args, &fx.user_key.with_extension("pub"));
    let pubfile = fx.user_key.with_extension("pub");
    let cert = pubfile.with_file_name(format!(
        "{}-cert.pub",
        fx.user_key.file_name().unwrap().to_string_lossy()
    ));
    assert!(cert.is_file(), "{} missing", cert.display());
}

fn login(srv: &DemoServer, fx: &Fixture) -> std::process::Output {
    ssh(srv, fx, &[]).arg("echo cert").output().expect("ssh")
}

fn start(adapter: Adapter, fx: &Fixture, ca: &Path, extra: &[&str]) -> DemoServer {
    let ca_pub = ca.with_extension("pub");
    let mut args = vec!["--trusted-user-ca", ca_pub.to_str().unwrap()];
    args.extend_from_slice(extra);
    DemoServer::start_with(adapter, fx, &args)
}

fn ok(out: &std::process::Output) -> bool {
    String::from_utf8_lossy(&out.stdout) == "cert\n"
}

for_each_adapter! {
    /// A certificate from the trusted CA logs in though its key is in no
    /// authorized_keys; `source-address` is checked against the real peer address.
    fn a_trusted_certificate_logs_in_and_source_address_is_enforced(adapter: Adapter) {
        let (fx, ca) = cert_fixture("cert-ok", "ed25519", "ed25519");
        // Without a certificate the bare key is refused.
        let srv = start(adapter, &fx, &ca, &[]);
        assert!(!ok(&login(&srv, &fx)), "the bare key must not log in");
        sign(&fx, &ca, &["-n", "user", "-V", "-5m:+1h", "-O", "source-address=127.0.0.0/8,::1"]);
        let out = login(&srv, &fx);
        assert!(ok(&out), "{out:?}");
        sign(&fx, &ca, &["-n", "user", "-O", "source-address=10.0.0.0/8"]);
        let out = login(&srv, &fx);
        assert!(!ok(&out), "a disallowed source address must be refused: {out:?}");
    }
}

/// Expired, not-yet-valid, another principal, another CA, a revoked serial: refused.
#[test]
fn bad_certificates_are_refused() {
    let (fx, ca) = cert_fixture("cert-bad", "ed25519", "ed25519");
    let other_ca = fx.dir.join("other_ca");
    keygen(
        &["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f"],
        &other_ca,
    );
    let revoked = fx.dir.join("revoked");
    std::fs::write(&revoked, "# revoked serials\nserial: 666\n").unwrap();
    let srv = start(
        Adapter::Tokio,
        &fx,
        &ca,
        &["--revoked-keys", revoked.to_str().unwrap()],
    );
    let cases: [(&str, &[&str], &Path); 5] = [
        ("expired", &["-n", "user", "-V", "20200101:20200102"], &ca),
        ("not yet valid", &["-n", "user", "-V", "+1d:+2d"], &ca),
        ("other principal", &["-n", "someone-else"], &ca),
        ("untrusted CA", &["-n", "user"], &other_ca),
        ("revoked serial", &["-n", "user", "-z", "666"], &ca),
    ];
    for (what, args, signer) in cases {
        sign(&fx, signer, args);
        let out = login(&srv, &fx);
        assert!(!ok(&out), "{what}: {out:?}");
    }
    // The same key certified properly logs in: the refusals were the certificate's.
    sign(&fx, &ca, &["-n", "user,other", "-z", "7"]);
    let out = login(&srv, &fx);
    assert!(ok(&out), "{out:?}");
}

/// Certificates on RSA and ECDSA keys, and from RSA and ECDSA CAs, log in.
#[test]
fn certificates_of_every_key_type_log_in() {
    for (kind, ca_kind) in [("rsa", "ecdsa"), ("ecdsa", "rsa"), ("ed25519", "rsa")] {
        let (fx, ca) = cert_fixture(&format!("cert-{kind}"), kind, ca_kind);
        sign(&fx, &ca, &["-n", "user"]);
        let srv = start(Adapter::Tokio, &fx, &ca, &[]);
        let out = login(&srv, &fx);
        assert!(ok(&out), "{kind} key, {ca_kind} CA: {out:?}");
    }
}

/// A CA signature made with SHA-1 (ssh-keygen -t ssh-rsa) is refused even when the
/// server accepts SHA-1 from user keys: CA algorithms are a separate list, as
/// OpenSSH's CASignatureAlgorithms.
#[test]
fn sha1_ca_signatures_are_refused_even_when_user_sha1_is_allowed() {
    let (fx, ca) = cert_fixture("cert-sha1-ca", "ed25519", "rsa");
    sign(&fx, &ca, &["-n", "user", "-t", "ssh-rsa"]);
    let srv = start(Adapter::Tokio, &fx, &ca, &["--allow-ssh-rsa"]);
    assert!(
        !ok(&login(&srv, &fx)),
        "a SHA-1 CA signature must be refused"
    );
    sign(&fx, &ca, &["-n", "user", "-t", "rsa-sha2-512"]);
    assert!(
        ok(&login(&srv, &fx)),
        "the same CA signing with SHA-2 is accepted"
    );
}
