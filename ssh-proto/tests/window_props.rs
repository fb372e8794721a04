//! Property tests of channel window accounting: whatever mix of sends and partial
//! consumes runs, every byte taken by `send` arrives once and in order, the receiver's
//! window plus what it holds unconsumed never exceeds what it granted, and once the
//! pair is quiet both ends agree on the window.

use proptest::prelude::*;
use ssh_proto::testing::Pair;
use ssh_proto::*;

mod common;
use common::*;

const WINDOW: u32 = 8 * 1024;

#[derive(Debug, Clone)]
enum Op {
    /// The client sends this many bytes.
    Send(usize),
    /// The server's application consumes this share (in 1/8ths) of what it holds.
    Consume(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1usize..20_000).prop_map(Op::Send),
        (0u8..=8).prop_map(Op::Consume),
    ]
}

fn check(p: &mut Pair, cid: ChannelId, sid: ChannelId) {
    let s = p.server.channel(sid).unwrap().window().unwrap();
    assert!(
        s.recv_window as u64 + s.recv_unconsumed as u64 <= WINDOW as u64,
        "receiver holds more than it granted: {s:?}"
    );
    let c = p.client.channel(cid).unwrap().window().unwrap();
    assert_eq!(
        c.send_window, s.recv_window,
        "quiet pair disagrees on the window"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_byte_arrives_once_and_windows_agree(ops in proptest::collection::vec(op(), 1..40)) {
        let mut p = pair_with(51, |s, _| {
            s.transport.limits.channel_window = WINDOW;
            s.transport.limits.channel_max_packet = 1024;
        });
        login(&mut p);
        let (cid, sid) = open_exec(&mut p, "window");
        let (mut next, mut sent, mut received, mut held) = (0u8, Vec::new(), Vec::new(), 0usize);
        for op in ops {
            match op {
                Op::Send(n) => {
                    let chunk: Vec<u8> = (0..n).map(|i| next.wrapping_add(i as u8)).collect();
                    let k = p.client.channel(cid).unwrap().send(&chunk).unwrap();
                    next = next.wrapping_add(k as u8);
                    sent.extend_from_slice(&chunk[..k]);
                }
                Op::Consume(eighths) => {
                    let n = held * eighths as usize / 8;
                    p.server.channel(sid).unwrap().consume(n).unwrap();
                    held -= n;
                }
            }
            p.drive();
            while let Some(e) = p.server_events.pop_front() {
                if let Event::ChannelData { data, .. } = e {
                    held += data.len();
                    received.extend_from_slice(&data);
                }
            }
            check(&mut p, cid, sid);
        }
        // Consume the rest: everything buffered on the client arrives.
        for _ in 0..1000 {
            p.server.channel(sid).unwrap().consume(held).unwrap();
            held = 0;
            p.drive();
            while let Some(e) = p.server_events.pop_front() {
                if let Event::ChannelData { data, .. } = e {
                    held += data.len();
                    received.extend_from_slice(&data);
                }
            }
            if received.len() == sent.len() {
                break;
            }
        }
        prop_assert_eq!(received.len(), sent.len());
        prop_assert!(received == sent, "bytes reordered or changed");
        prop_assert!(p.server_error.is_none() && p.client_error.is_none());
    }
}
