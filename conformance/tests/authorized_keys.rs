//! authorized_keys as sshd reads it, with the real OpenSSH client: the file is read at
//! each login and its options are honoured by the demo (command=, from=, no-pty,
//! restrict, expiry-time=, environment=, cert-authority with principals=), and a line
//! that cannot be read is skipped, not fatal.

use std::path::Path;
use std::process::Command;

use conformance::*;

fn user_line(fx: &Fixture) -> String {
    std::fs::read_to_string(fx.dir.join("authorized_keys")).expect("authorized_keys")
}

fn set_authorized(fx: &Fixture, text: &str) {
    std::fs::write(fx.dir.join("authorized_keys"), text).expect("write authorized_keys");
}

fn run(srv: &DemoServer, fx: &Fixture, extra: &[&str], cmd: &str) -> std::process::Output {
    ssh(srv, fx, extra).arg(cmd).output().expect("ssh")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

for_each_adapter! {
    /// A key added while the server runs logs in at the next login, and command=
    /// replaces what the client asked (which arrives as SSH_ORIGINAL_COMMAND).
    fn the_file_is_read_at_each_login_and_command_is_forced(adapter: Adapter) {
        let fx = Fixture::new("ak-reread");
        let line = user_line(&fx);
        set_authorized(&fx, "");
        let srv = DemoServer::start(adapter, &fx);
        assert_eq!(stdout(&run(&srv, &fx, &[], "echo in")), "", "no key yet");
        set_authorized(&fx, &line);
        assert_eq!(stdout(&run(&srv, &fx, &[], "echo in")), "in\n", "added key");
        set_authorized(&fx, &format!("command=\"echo forced:$SSH_ORIGINAL_COMMAND\" {line}"));
        assert_eq!(stdout(&run(&srv, &fx, &[], "echo asked")), "forced:echo asked\n");
        // The client's environment does not reach a forced command (LD_PRELOAD, PATH
        // and the like could steer it); without command= it does.
        set_authorized(&fx, &format!("command=\"echo [$DEMO_VAR]\" {line}"));
        let env = ["-o", "SetEnv=DEMO_VAR=client"];
        assert_eq!(stdout(&run(&srv, &fx, &env, "x")), "[]\n");
        set_authorized(&fx, &line);
        assert_eq!(stdout(&run(&srv, &fx, &env, "echo [$DEMO_VAR]")), "[client]\n");
    }
}

#[test]
fn from_expiry_no_pty_restrict_and_environment_are_honoured() {
    let fx = Fixture::new("ak-options");
    let line = user_line(&fx);
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    let cases: [(&str, &str, &[&str], &str); 7] = [
        ("from=\"10.0.0.0/8\"", "echo x", &[], ""),
        ("from=\"127.0.0.1,10.*\"", "echo x", &[], "x\n"),
        ("from=\"!127.0.0.1,*\"", "echo x", &[], ""),
        ("expiry-time=\"20200101\"", "echo x", &[], ""),
        ("expiry-time=\"29991231\"", "echo x", &[], "x\n"),
        (
            "restrict,pty",
            "tty >/dev/null && echo tty",
            &["-tt"],
            "tty\r\n",
        ),
        (
            "environment=\"DEMO_OPT=seen\"",
            "echo $DEMO_OPT",
            &[],
            "seen\n",
        ),
    ];
    for (options, cmd, extra, want) in cases {
        set_authorized(&fx, &format!("{options} {line}"));
        let out = run(&srv, &fx, extra, cmd);
        assert_eq!(stdout(&out), want, "{options}: {out:?}");
    }
    set_authorized(&fx, &format!("no-pty {line}"));
    assert_pty_refused(&run(&srv, &fx, &["-tt"], "tty"));
}

/// The server refused the PTY OpenSSH asked for (with -tt it then gives up).
fn assert_pty_refused(out: &std::process::Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PTY allocation request failed"), "{out:?}");
    assert!(!stdout(out).contains("/dev/pts"), "{out:?}");
}

#[test]
fn an_unreadable_line_is_skipped_and_the_rest_still_work() {
    let fx = Fixture::new("ak-bad-line");
    let line = user_line(&fx);
    set_authorized(
        &fx,
        &format!("ssh-ed25519 !!!notbase64\nbogus-option {line}# c\n\n{line}"),
    );
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    assert_eq!(stdout(&run(&srv, &fx, &[], "echo ok")), "ok\n");
}

fn keygen(args: &[&str], path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(args)
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
}

/// A cert-authority line trusts a CA for this account only, with principals=; the
/// certificate's force-command and missing permit-pty are honoured.
#[test]
fn cert_authority_lines_and_certificate_options() {
    require("ssh-keygen", "openssh-client");
    let mut fx = Fixture::new("ak-cert-authority");
    let ca = fx.dir.join("ca");
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f"], &ca);
    let user = fx.dir.join("cert_user");
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f"], &user);
    fx.user_key = user.clone();
    let ca_pub = std::fs::read_to_string(ca.with_extension("pub")).unwrap();
    let sign = |extra: &[&str]| {
        let mut args = vec!["-q", "-s", ca.to_str().unwrap(), "-I", "ak"];
        args.extend_from_slice(extra);
        keygen(&args, &user.with_extension("pub"));
    };
    let srv = DemoServer::start(Adapter::Tokio, &fx);
    sign(&["-n", "deploy"]);
    set_authorized(
        &fx,
        &format!("cert-authority,principals=\"deploy,ops\" {ca_pub}"),
    );
    assert_eq!(
        stdout(&run(&srv, &fx, &[], "echo ca")),
        "ca\n",
        "principal listed on the line"
    );
    set_authorized(&fx, &format!("cert-authority,principals=\"ops\" {ca_pub}"));
    assert_eq!(
        stdout(&run(&srv, &fx, &[], "echo ca")),
        "",
        "principal not on the line"
    );
    set_authorized(&fx, &format!("cert-authority {ca_pub}"));
    assert_eq!(
        stdout(&run(&srv, &fx, &[], "echo ca")),
        "",
        "without principals= the user must be one"
    );
    sign(&[
        "-n",
        "user",
        "-O",
        "force-command=echo cert-forced",
        "-O",
        "no-pty",
    ]);
    assert_eq!(stdout(&run(&srv, &fx, &[], "echo asked")), "cert-forced\n");
    sign(&["-n", "user", "-O", "no-pty"]);
    assert_pty_refused(&run(&srv, &fx, &["-tt"], "tty"));
    sign(&["-n", "user"]);
    let out = run(&srv, &fx, &["-tt"], "tty");
    assert!(
        stdout(&out).contains("/dev/pts"),
        "permit-pty grants a PTY: {out:?}"
    );
}
