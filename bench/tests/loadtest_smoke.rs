//! The load tool end to end on a small scale, so it keeps working: our server and the
//! russh server (debug builds of this crate's examples), the OpenSSH client for bulk,
//! our in-process client for the rest. Figures are not checked; that every workload
//! produced a row for both servers is.

use std::process::Command;

#[test]
fn every_workload_produces_a_row_for_each_server() {
    if Command::new("ssh").arg("-V").output().is_err() {
        panic!("the OpenSSH client is missing: apt-get install -y openssh-client (or run .ci/run)");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args([
            "--servers",
            "ours,russh",
            "--size",
            "1000000",
            "--secs",
            "0.3",
        ])
        .args(["--idle", "20", "--channels", "5", "--scale", "50"])
        .output()
        .expect("run loadtest");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("failed"), "{text}");
    for section in [
        "Bulk transfer",
        "Handshakes",
        "Idle",
        "Many channels",
        "Scale",
    ] {
        assert!(text.contains(section), "no {section} section:\n{text}");
    }
    let rows = |server: &str| {
        text.lines()
            .filter(|l| l.contains(&format!("| {server} |")))
            .count()
    };
    // bulk: 4 suites x 2 directions x 2 sources (russh: 3 suites), handshakes 5, idle 1,
    // channels 1, scale 1.
    assert!(rows("ours") >= 16 + 5 + 3, "{text}");
    assert!(rows("russh") >= 12 + 5 + 3, "{text}");
}
