//! Log levels and secret masking, observed through a real `tracing` subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use ssh_proto::*;

mod common;
use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Log in with password "secret" at `level` and return everything logged.
fn logged(level: LogLevel, mask: bool) -> String {
    let out = Captured::default();
    let sink = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut p = pair_with(60, |s, c| {
            s.transport.log = LogSettings {
                level,
                mask_sensitive: mask,
            };
            c.transport.log.level = LogLevel::None;
        });
        login(&mut p);
        let (_, sid) = open_exec(&mut p, "x");
        p.server
            .channel(sid)
            .unwrap()
            .send(b"topsecretdata")
            .unwrap();
        p.drive();
        p.server.disconnect(DisconnectReason::ByApplication, "bye");
        p.drive();
    });
    let v = out.0.lock().unwrap().clone();
    String::from_utf8(v).unwrap()
}

const PASSWORD_HEX: &str = "736563726574"; // "secret"

#[test]
fn level_none_logs_nothing() {
    assert_eq!(logged(LogLevel::None, true), "");
}

#[test]
fn info_logs_milestones_but_no_packets() {
    let log = logged(LogLevel::Info, true);
    assert!(
        log.contains("closing connection") || log.contains("bye"),
        "{log}"
    );
    assert!(!log.contains("USERAUTH_REQUEST"), "{log}");
}

#[test]
fn verbose_logs_each_packet_type_and_size() {
    let log = logged(LogLevel::Verbose, true);
    for name in [
        "KEXINIT",
        "NEWKEYS",
        "USERAUTH_REQUEST",
        "CHANNEL_OPEN",
        "CHANNEL_DATA",
    ] {
        assert!(log.contains(name), "{name} missing:\n{log}");
    }
    assert!(!log.contains("bytes="), "{log}");
}

#[test]
fn debug_dumps_bytes_with_secrets_masked_by_default() {
    let log = logged(LogLevel::Debug, true);
    assert!(log.contains("bytes="), "{log}");
    assert!(log.contains("bytes masked"), "{log}");
    assert!(!log.contains(PASSWORD_HEX), "password leaked:\n{log}");
    assert!(!log.contains("secret"), "password leaked:\n{log}");
}

#[test]
fn masking_is_an_explicit_opt_out() {
    let log = logged(LogLevel::Debug, false);
    assert!(log.contains(PASSWORD_HEX), "{log}");
}
