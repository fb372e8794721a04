//! The test pair itself: its fake clock jumps to the next timer by itself, reads can
//! be cut short at any length, and a livelock fails loudly.

use std::time::Duration;

use ssh_proto::*;

mod common;
use common::*;

#[test]
fn the_clock_jumps_to_the_auth_deadline_by_itself() {
    let mut p = pair_with(31, |_, _| {});
    kex_done(&mut p);
    let start = p.now;
    let fired = p.run_for(Duration::from_secs(600));
    assert!(fired >= 1, "no timer ran");
    assert!(p.server.is_closed(), "the 120 s deadline did not fire");
    assert!(matches!(p.server_error, Some(ConnectionError::Timeout(_))));
    assert_eq!(p.now - start, Duration::from_secs(600));
}

#[test]
fn keepalives_run_on_fake_time_and_keep_an_answering_client() {
    let mut p = pair_with(32, |s, _| {
        s.keepalive_interval = Some(Duration::from_secs(15));
        s.keepalive_count_max = 2;
    });
    login(&mut p);
    // An hour of fake time: every keepalive is answered, so the connection stays.
    let fired = p.run_for(Duration::from_secs(3600));
    assert!(fired >= 3600 / 15 / 2, "only {fired} timers in an hour");
    assert!(!p.server.is_closed());
    // A client that stops reading stops answering: dropped after the count runs out.
    p.client_reads = false;
    p.run_for(Duration::from_secs(60));
    assert!(p.server.is_closed());
}

#[test]
fn a_whole_session_survives_reads_of_one_byte() {
    for limit in [1, 3, 7, 4096] {
        let mut p = pair_with(33, |_, _| {});
        p.server_read_limit = Some(limit);
        p.client_read_limit = Some(limit);
        login(&mut p);
        let (cid, sid) = open_exec(&mut p, "short reads");
        p.client.channel(cid).unwrap().send(b"ping").unwrap();
        let Some(Event::ChannelData { data, .. }) =
            p.server_event(|e| matches!(e, Event::ChannelData { .. }))
        else {
            panic!("no data with reads of {limit}");
        };
        assert_eq!(&data[..], b"ping");
        p.server.channel(sid).unwrap().send(b"pong").unwrap();
        let Some(Event::ChannelData { data, .. }) =
            p.client_event(|e| matches!(e, Event::ChannelData { .. }))
        else {
            panic!("no reply with reads of {limit}");
        };
        assert_eq!(&data[..], b"pong");
        assert!(p.server_error.is_none() && p.client_error.is_none());
    }
}
