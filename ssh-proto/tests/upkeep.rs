//! The timers the server enforces by itself, on the in-memory pair with a fake clock:
//! idle timeout, keepalives with a count limit, and the authentication deadline.

use std::time::Duration;

use ssh_proto::*;

mod common;
use common::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn idle_connection_is_closed_and_channel_traffic_keeps_it_open() {
    let mut p = pair_with(40, |s, _| s.idle_timeout = Some(secs(30)));
    login(&mut p);
    let (cid, sid) = open_exec(&mut p, "cat");
    for _ in 0..5 {
        p.advance(secs(20));
        p.client.channel(cid).unwrap().send(b"tick").unwrap();
        p.drive();
        p.advance(secs(1));
        p.server.channel(sid).unwrap().send(b"tock").unwrap();
        p.drive();
    }
    assert!(
        !p.server.is_closed(),
        "traffic every 20 s keeps a 30 s timeout at bay"
    );
    p.advance(secs(25));
    assert!(!p.server.is_closed());
    p.advance(secs(10));
    assert!(p.server.is_closed());
    assert!(matches!(
        p.server_error,
        Some(ConnectionError::Timeout("connection idle"))
    ));
    assert_eq!(
        disconnected(&mut p.client_events),
        Some((DisconnectReason::ByApplication, true))
    );
}

#[test]
fn keepalives_answered_keep_an_idle_client_connected() {
    let mut p = pair_with(41, |s, _| {
        s.keepalive_interval = Some(secs(10));
        s.keepalive_count_max = 2;
    });
    login(&mut p);
    for _ in 0..30 {
        p.advance(secs(10));
    }
    assert!(!p.server.is_closed());
    assert!(
        !p.server_events
            .iter()
            .any(|e| matches!(e, Event::GlobalReply { .. })),
        "replies to our own keepalives are not reported"
    );
}

#[test]
fn unanswered_keepalives_drop_the_connection() {
    let mut p = pair_with(42, |s, _| {
        s.keepalive_interval = Some(secs(10));
        s.keepalive_count_max = 3;
    });
    login(&mut p);
    p.client_reads = false;
    for _ in 0..3 {
        p.advance(secs(10));
        assert!(!p.server.is_closed());
    }
    p.advance(secs(10));
    assert!(p.server.is_closed());
    assert!(matches!(
        p.server_error,
        Some(ConnectionError::Timeout("keepalives unanswered"))
    ));
}

#[test]
fn no_keepalives_before_authentication_but_the_deadline_holds() {
    let mut p = pair_with(43, |s, _| {
        s.keepalive_interval = Some(secs(1));
        s.auth_timeout = Some(secs(5));
    });
    kex_done(&mut p);
    p.client_reads = false;
    for _ in 0..4 {
        p.advance(secs(1));
    }
    assert!(!p.server.is_closed(), "keepalives start only after login");
    p.advance(secs(1));
    assert!(matches!(
        p.server_error,
        Some(ConnectionError::Timeout("authentication"))
    ));
}
