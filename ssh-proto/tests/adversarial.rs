//! Regression tests for classes of attacker-reachable bugs that hit widely used SSH
//! implementations (issue 4's list), on the in-memory pair. Each names its class.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use ssh_proto::testing::{plain_packet, seeded_configs, Pair};
use ssh_proto::*;

mod common;
use common::*;

fn put_str(v: &mut Vec<u8>, s: &[u8]) {
    v.extend_from_slice(&(s.len() as u32).to_be_bytes());
    v.extend_from_slice(s);
}

fn put_u32(v: &mut Vec<u8>, n: u32) {
    v.extend_from_slice(&n.to_be_bytes());
}

fn channel_open_session(sender: u32) -> Vec<u8> {
    let mut v = vec![90];
    put_str(&mut v, b"session");
    put_u32(&mut v, sender);
    put_u32(&mut v, 1 << 20);
    put_u32(&mut v, 32 * 1024);
    v
}

fn server_saw(p: &Pair, f: impl Fn(&Event) -> bool) -> bool {
    p.server_events.iter().any(f)
}

// 1. libssh CVE-2018-10933, Paramiko CVE-2018-1000805, Erlang/OTP CVE-2025-32433:
// messages that only make sense after authentication, sent before it.
#[test]
fn success_open_exec_or_global_request_before_auth_disconnects() {
    let mut exec = vec![98];
    put_u32(&mut exec, 0);
    put_str(&mut exec, b"exec");
    exec.push(1);
    put_str(&mut exec, b"id");
    let mut global = vec![80];
    put_str(&mut global, b"tcpip-forward");
    global.push(1);
    put_str(&mut global, b"0.0.0.0");
    put_u32(&mut global, 22);
    for (i, payload) in [vec![52u8], channel_open_session(0), exec, global]
        .into_iter()
        .enumerate()
    {
        let mut p = pair_with(100 + i as u64, |_, _| {});
        kex_done(&mut p);
        p.client.send_raw_packet(&payload).unwrap();
        p.drive();
        assert!(
            matches!(
                p.server_error,
                Some(ConnectionError::Peer(Violation::UnexpectedMessage { .. }))
            ),
            "payload {}: {:?}",
            payload[0],
            p.server_error
        );
        assert_eq!(
            disconnected(&mut p.client_events),
            Some((DisconnectReason::ProtocolError, true))
        );
        assert!(!server_saw(&p, |e| matches!(
            e,
            Event::Authenticated { .. }
                | Event::ChannelOpenRequest { .. }
                | Event::ChannelRequest { .. }
        )));
        assert!(p.server.user().is_none());
    }
}

/// Drive a raw client handshake by hand, letting `inject` add bytes after the
/// client's KEXINIT (before its key-exchange message and NEWKEYS).
fn handshake_with_injection(
    seed: u64,
    server_strict: bool,
    inject: &[u8],
) -> (ServerConnection, Result<(), ConnectionError>) {
    let (mut s, c) = seeded_configs(seed).unwrap();
    s.transport.strict_kex = server_strict;
    let now = Instant::now();
    let mut server = ServerConnection::new(Arc::new(s), now).unwrap();
    let mut client = ClientConnection::new(Arc::new(c), now).unwrap();
    let mut first = true;
    let mut result = Ok(());
    for _ in 0..50 {
        let mut to_server = BytesMut::new();
        while let Some(b) = client.poll_transmit() {
            to_server.extend_from_slice(&b);
        }
        if first && !to_server.is_empty() {
            // The first chunk is the version line and KEXINIT.
            to_server.extend_from_slice(inject);
            first = false;
        }
        if !to_server.is_empty() {
            result = server.handle_input(now, &mut to_server);
            if result.is_err() {
                break;
            }
        }
        let mut to_client = BytesMut::new();
        while let Some(b) = server.poll_transmit() {
            to_client.extend_from_slice(&b);
        }
        if to_client.is_empty() {
            break;
        }
        let _ = client.handle_input(now, &mut to_client);
    }
    (server, result)
}

// 2. Terrapin (CVE-2023-48795): with strict kex, any extra message before NEWKEYS
// ends the connection; without it, IGNORE is harmless and the exchange completes.
#[test]
fn strict_kex_rejects_an_injected_ignore_before_newkeys() {
    let mut ignore = vec![2u8];
    put_str(&mut ignore, b"xx");
    let (mut server, r) = handshake_with_injection(110, true, &plain_packet(&ignore));
    assert!(
        matches!(
            r,
            Err(ConnectionError::Peer(Violation::UnexpectedMessage {
                msg: 2,
                ..
            }))
        ),
        "{r:?}"
    );
    assert!(server.is_closed());
    assert!(std::iter::from_fn(|| server.poll_event()).any(|e| matches!(
        e,
        Event::Disconnected {
            reason: DisconnectReason::ProtocolError,
            by_peer: false,
            ..
        }
    )));
    // Without strict kex the IGNORE is accepted during the exchange (the old rules),
    // keys are exchanged, and the shifted sequence number then breaks the first
    // encrypted packet: an attacker would also have to delete one to go unnoticed,
    // which is what strict kex makes impossible.
    let (mut server, r) = handshake_with_injection(111, false, &plain_packet(&ignore));
    assert!(
        !matches!(
            r,
            Err(ConnectionError::Peer(Violation::UnexpectedMessage { .. }))
        ),
        "{r:?}"
    );
    let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::KeysExchanged(n) if !n.strict_kex)),
        "{r:?} {events:?}"
    );
}

// 3. AsyncSSH CVE-2023-46445 / CVE-2023-46446: a client's EXT_INFO, or a userauth
// message before the first NEWKEYS.
#[test]
fn ext_info_from_a_client_or_userauth_during_kex_is_rejected() {
    let mut ext = vec![7u8];
    put_u32(&mut ext, 1);
    put_str(&mut ext, b"server-sig-algs");
    put_str(&mut ext, b"ssh-ed25519");
    let mut p = pair_with(120, |_, _| {});
    kex_done(&mut p);
    p.client.send_raw_packet(&ext).unwrap();
    p.drive();
    assert!(
        matches!(
            p.server_error,
            Some(ConnectionError::Peer(Violation::UnexpectedMessage {
                msg: 7,
                ..
            }))
        ),
        "{:?}",
        p.server_error
    );

    let mut auth = vec![50u8];
    put_str(&mut auth, b"root");
    put_str(&mut auth, b"ssh-connection");
    put_str(&mut auth, b"none");
    let (server, r) = handshake_with_injection(121, true, &plain_packet(&auth));
    assert!(r.is_err(), "userauth before NEWKEYS accepted");
    assert!(server.user().is_none());
    let (server, r) = handshake_with_injection(122, false, &plain_packet(&auth));
    assert!(
        r.is_err(),
        "userauth before NEWKEYS accepted without strict kex"
    );
    assert!(server.user().is_none());
}

// 4. Go x/crypto/ssh CVE-2024-45337: the key that grants access is exactly the key
// that signed; a signature by another key over a request naming key A is refused.
#[test]
fn a_signature_by_another_key_never_authenticates_the_named_key() {
    let a = PrivateKey::generate_ed25519(&SeededRng::new(1)).unwrap();
    let b = PrivateKey::generate_ed25519(&SeededRng::new(2)).unwrap();
    let mut p = pair_with(130, |_, _| {});
    kex_done(&mut p);
    let sid = p.client.session_id().unwrap().to_vec();
    // The signed data names key A, but B signs it.
    let mut signed = Vec::new();
    put_str(&mut signed, &sid);
    signed.push(50);
    put_str(&mut signed, b"alice");
    put_str(&mut signed, b"ssh-connection");
    put_str(&mut signed, b"publickey");
    signed.push(1);
    put_str(&mut signed, b"ssh-ed25519");
    put_str(&mut signed, &a.public_key().to_blob());
    let sig = b.sign("ssh-ed25519", &signed).unwrap();
    let mut req = signed[4 + sid.len()..].to_vec();
    put_str(&mut req, &sig);
    p.client.send_raw_packet(&req).unwrap();
    p.drive();
    // A forged attempt never reaches the application as verified, and never logs in.
    assert!(!server_saw(&p, |e| matches!(e,
        Event::AuthRequest(r) if matches!(&r.method, AuthMethod::PublicKey { verified: true, .. }))));
    assert!(p.server.user().is_none());
    // A genuine signature by B: the event carries B, verified.
    p.client.auth_publickey("alice", &b).unwrap();
    let Some(Event::AuthRequest(r)) = p.server_event(|e| matches!(e, Event::AuthRequest(r) if matches!(&r.method, AuthMethod::PublicKey { verified: true, .. }))) else {
        panic!("no verified request");
    };
    let AuthMethod::PublicKey { key, .. } = &r.method else {
        unreachable!()
    };
    assert_eq!(key, b.public_key());
}

// 5. Key-exchange public values out of range: an all-zero X25519 point (shared
// secret zero), or a point of the wrong length.
#[test]
fn bad_x25519_client_values_fail_the_key_exchange() {
    for q in [vec![0u8; 32], vec![9u8; 31], Vec::new()] {
        let (c_cfg, _) = (seeded_configs(140).unwrap().1, ());
        let now = Instant::now();
        let (s, _) = seeded_configs(140).unwrap();
        let mut server = ServerConnection::new(Arc::new(s), now).unwrap();
        let mut client = ClientConnection::new(Arc::new(c_cfg), now).unwrap();
        let mut b = BytesMut::new();
        while let Some(x) = client.poll_transmit() {
            b.extend_from_slice(&x);
        }
        let mut init = vec![30u8];
        put_str(&mut init, &q);
        b.extend_from_slice(&plain_packet(&init));
        let r = server.handle_input(now, &mut b);
        assert!(
            matches!(
                r,
                Err(ConnectionError::Peer(Violation::KeyExchange(_)))
                    | Err(ConnectionError::Peer(Violation::Decode(_)))
                    | Err(ConnectionError::Peer(_))
            ),
            "{q:?}: {r:?}"
        );
        assert!(server.is_closed());
    }
}

/// RFC 3526's 2048-bit MODP prime: diffie-hellman-group14 and our smallest exchange group.
const MODP_2048_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
);

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// An mpint's wire form from a big-endian magnitude (`negative` sets the sign bit).
fn put_mpint(v: &mut Vec<u8>, magnitude: &[u8], negative: bool) {
    let m = &magnitude[magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len())..];
    if negative {
        put_str(v, &[0x80]);
    } else if m.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = vec![0];
        padded.extend_from_slice(m);
        put_str(v, &padded);
    } else {
        put_str(v, m);
    }
}

/// The hostile DH public values: 0, 1, p - 1, p, p + 1, 2^2048, and a negative one.
fn dh_values_out_of_range() -> Vec<(Vec<u8>, bool)> {
    let p = unhex(MODP_2048_HEX);
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    let mut p_plus_1 = p.clone();
    for b in p_plus_1.iter_mut().rev() {
        let (sum, carry) = b.overflowing_add(1);
        *b = sum;
        if !carry {
            break;
        }
    }
    let mut two_2048 = vec![1u8];
    two_2048.extend(std::iter::repeat_n(0u8, 256));
    vec![
        (vec![], false),
        (vec![1], false),
        (p_minus_1, false),
        (p, false),
        (p_plus_1, false),
        (two_2048, false),
        (vec![5], true),
    ]
}

/// A server negotiating only `kex`, fed the client's version and KEXINIT followed by
/// `packets`; the result of that input.
fn hostile_key_exchange(
    seed: u64,
    kex: KexAlg,
    packets: &[Vec<u8>],
) -> (ServerConnection, Result<(), ConnectionError>) {
    let (mut s, mut c) = seeded_configs(seed).unwrap();
    s.transport.algorithms.kex = vec![kex];
    c.transport.algorithms.kex = vec![kex];
    let now = Instant::now();
    let mut server = ServerConnection::new(Arc::new(s), now).unwrap();
    let mut client = ClientConnection::new(Arc::new(c), now).unwrap();
    let mut b = BytesMut::new();
    while let Some(x) = client.poll_transmit() {
        b.extend_from_slice(&x);
    }
    for payload in packets {
        b.extend_from_slice(&plain_packet(payload));
    }
    let r = server.handle_input(now, &mut b);
    (server, r)
}

fn assert_kex_refused(server: &mut ServerConnection, r: &Result<(), ConnectionError>, what: &str) {
    assert!(
        matches!(
            r,
            Err(ConnectionError::Peer(Violation::KeyExchange(_)))
                | Err(ConnectionError::Peer(Violation::Decode(_)))
        ),
        "{what}: {r:?}"
    );
    assert!(server.is_closed(), "{what}");
    assert!(
        std::iter::from_fn(|| server.poll_event()).any(|e| matches!(
            e,
            Event::Disconnected {
                reason: DisconnectReason::KeyExchangeFailed | DisconnectReason::ProtocolError,
                by_peer: false,
                ..
            }
        )),
        "{what}: no disconnect"
    );
}

// 5. russh CVE-2023-28113: a DH public value <= 1 or >= p - 1 (which would force the
// shared secret to 0, 1 or p - 1), in a fixed group and in an exchanged group.
#[test]
fn dh_values_out_of_range_fail_the_key_exchange() {
    for (i, (e, negative)) in dh_values_out_of_range().into_iter().enumerate() {
        let mut init = vec![30u8];
        put_mpint(&mut init, &e, negative);
        let (mut server, r) =
            hostile_key_exchange(160 + i as u64, KexAlg::DhGroup14Sha256, &[init]);
        assert_kex_refused(&mut server, &r, &format!("group14 e #{i}"));

        let mut request = vec![34u8];
        for n in [2048, 2048, 2048] {
            put_u32(&mut request, n);
        }
        let mut gex_init = vec![32u8];
        put_mpint(&mut gex_init, &e, negative);
        let (mut server, r) = hostile_key_exchange(
            170 + i as u64,
            KexAlg::DhGroupExchangeSha256,
            &[request, gex_init],
        );
        assert_kex_refused(&mut server, &r, &format!("group exchange e #{i}"));
    }
}

// 5. A group-exchange request no group can meet, or that contradicts itself.
#[test]
fn group_exchange_requests_out_of_bounds_fail_the_key_exchange() {
    for (min, n, max) in [
        (1024, 1024, 1024),
        (4096, 2048, 8192),
        (8192, 4096, 2048),
        (9000, 9000, 16384),
    ] {
        let mut request = vec![34u8];
        for v in [min, n, max] {
            put_u32(&mut request, v);
        }
        let (mut server, r) = hostile_key_exchange(180, KexAlg::DhGroupExchangeSha256, &[request]);
        assert_kex_refused(&mut server, &r, &format!("request {min}/{n}/{max}"));
    }
}

// 5. ECDH points that are not on the curve, the point at infinity, compressed or
// mis-sized encodings: refused by every NIST curve.
#[test]
fn ecdh_points_off_the_curve_fail_the_key_exchange() {
    for (kex, coord) in [
        (KexAlg::EcdhNistp256, 32usize),
        (KexAlg::EcdhNistp384, 48),
        (KexAlg::EcdhNistp521, 66),
    ] {
        let mut off_curve = vec![4u8];
        off_curve.extend((0..2 * coord).map(|i| (i * 7 + 3) as u8));
        if coord == 66 {
            off_curve[1] = 1;
            off_curve[1 + coord] = 1;
        }
        let zero_point = {
            let mut v = vec![4u8];
            v.extend(std::iter::repeat_n(0u8, 2 * coord));
            v
        };
        let mut compressed = vec![2u8];
        compressed.extend(std::iter::repeat_n(0x11u8, coord));
        let mut bad_prefix = off_curve.clone();
        bad_prefix[0] = 5;
        for (i, q) in [
            off_curve,
            zero_point,
            compressed,
            bad_prefix,
            vec![0u8],
            vec![],
        ]
        .into_iter()
        .enumerate()
        {
            let mut init = vec![30u8];
            put_str(&mut init, &q);
            let (mut server, r) = hostile_key_exchange(190 + i as u64, kex, &[init]);
            assert_kex_refused(&mut server, &r, &format!("{kex:?} point #{i}"));
        }
    }
}

// A second key-exchange method message after the method finished (before NEWKEYS)
// is refused for every method family, not computed again.
#[test]
fn a_repeated_key_exchange_message_is_refused() {
    let mut x25519 = vec![30u8];
    let mut point = vec![9u8];
    point.extend([0u8; 31]);
    put_str(&mut x25519, &point);
    let dh = vec![30u8, 0, 0, 0, 1, 2];
    for (kex, init) in [
        (KexAlg::Curve25519Sha256, x25519),
        (KexAlg::DhGroup14Sha256, dh),
    ] {
        let (server, r) = hostile_key_exchange(200, kex, &[init.clone(), init]);
        assert!(
            matches!(
                r,
                Err(ConnectionError::Peer(Violation::UnexpectedMessage {
                    msg: 30,
                    ..
                }))
            ),
            "{kex:?}: {r:?}"
        );
        assert!(server.is_closed());
    }
}

// 6. Go CVE-2020-9283 / CVE-2021-43565: malformed keys and signatures are typed
// errors or refusals, never panics.
#[test]
fn malformed_keys_and_signatures_are_refused_cleanly() {
    let mut p = pair_with(150, |_, _| {});
    kex_done(&mut p);
    let blobs: [&[u8]; 4] = [
        b"",
        b"\x00\x00\x00\x0bssh-ed25519",
        b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x05short",
        &[0xff; 64],
    ];
    for blob in blobs {
        for sig in [
            &b""[..],
            b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x01x",
            &[0u8; 3],
        ] {
            let mut req = vec![50u8];
            put_str(&mut req, b"alice");
            put_str(&mut req, b"ssh-connection");
            put_str(&mut req, b"publickey");
            req.push(1);
            put_str(&mut req, b"ssh-ed25519");
            put_str(&mut req, blob);
            put_str(&mut req, sig);
            if p.server.is_closed() {
                break;
            }
            p.client.send_raw_packet(&req).unwrap();
            p.drive();
        }
    }
    assert!(p.server.user().is_none());
    assert!(!server_saw(&p, |e| matches!(e,
        Event::AuthRequest(r) if matches!(&r.method, AuthMethod::PublicKey { verified: true, .. }))));
}

// 8. Floods, each bounded by a limit with a refusal or a clear disconnect.
#[test]
fn a_hundred_thousand_channel_opens_are_refused_past_the_limit() {
    let mut p = pair_with(160, |_, _| {});
    login(&mut p);
    // Our client would rightly reject failures for channels it never opened: it stops
    // reading, and the server's answers are read and dropped here instead.
    p.client_reads = false;
    let mut refusals = 0usize;
    for i in 0..100_000u32 {
        if let Err(e) = p.client.send_raw_packet(&channel_open_session(1000 + i)) {
            panic!(
                "after {i}: {e:?}; server: {:?}; client: {:?}",
                p.server_error, p.client_error
            );
        }
        if i % 1000 == 999 {
            p.step();
            while let Some(b) = p.server.poll_transmit() {
                refusals += b.len();
            }
            // The application never answers: the requests stay pending, bounded.
            assert!(p.server.channel_count() <= 64);
        }
    }
    p.drive();
    assert!(p.server_error.is_none(), "{:?}", p.server_error);
    assert!(
        refusals > 90_000 * 16,
        "OPEN_FAILURE answers went out: {refusals} bytes"
    );
    assert!(
        p.server.channel_count() <= 64,
        "{}",
        p.server.channel_count()
    );
    assert!(p.server.pending_output() <= 8 << 20);
}

#[test]
fn ten_thousand_global_requests_to_a_client_that_does_not_read_stay_bounded() {
    let mut p = pair_with(161, |_, _| {});
    login(&mut p);
    p.client_reads = false;
    let limit = 8 << 20;
    let mut req = vec![80u8];
    put_str(&mut req, b"keepalive@openssh.com");
    req.push(1);
    for _ in 0..10_000 {
        p.client.send_raw_packet(&req).unwrap();
        p.step();
        assert!(p.server.pending_output() <= limit + 64 * 1024);
        if p.server.is_closed() {
            break;
        }
    }
    // Either every reply fit under the bound or the server gave up with a clear reason.
    if let Some(e) = &p.server_error {
        assert!(matches!(e, ConnectionError::LimitExceeded(_)), "{e:?}");
    }
}

#[test]
fn env_requests_without_end_are_refused_past_the_limit() {
    let mut p = pair_with(162, |_, _| {});
    login(&mut p);
    let (cid, sid) = open_exec(&mut p, "true");
    let _ = sid;
    for i in 0..2_000 {
        let req = ChannelRequest::Env {
            name: format!("V{i}"),
            value: "x".repeat(100),
        };
        p.client.channel(cid).unwrap().request(&req, false).unwrap();
        if i % 100 == 0 {
            p.drive();
        }
    }
    p.drive();
    let envs = p
        .server_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::ChannelRequest {
                    request: ChannelRequest::Env { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        envs, 128,
        "the application sees at most max_env_per_channel"
    );
    assert!(!p.server.is_closed());
}

#[test]
fn a_pty_request_with_modes_beyond_the_packet_limit_disconnects() {
    let mut p = pair_with(163, |_, _| {});
    login(&mut p);
    let (cid, _) = open_exec(&mut p, "true");
    let _ = cid;
    let mut req = vec![98u8];
    put_u32(&mut req, 0);
    put_str(&mut req, b"pty-req");
    req.push(1);
    put_str(&mut req, b"xterm");
    for n in [80u32, 24, 0, 0] {
        put_u32(&mut req, n);
    }
    put_str(&mut req, &vec![1u8; 300 * 1024]);
    p.client.send_raw_packet(&req).unwrap();
    p.drive();
    assert!(
        matches!(
            p.server_error,
            Some(ConnectionError::Peer(Violation::PacketLength(_)))
        ),
        "{:?}",
        p.server_error
    );
}

// 10. OpenSSH CVE-2018-15473 class: replies for a user who does not exist are byte
// for byte those for a user who exists and fails.
#[test]
fn replies_do_not_reveal_whether_a_user_exists() {
    let key = PrivateKey::generate_ed25519(&SeededRng::new(9)).unwrap();
    let run = |user: &str| -> Vec<u8> {
        let mut p = pair_with(170, |_, _| {});
        kex_done(&mut p);
        let mut out = Vec::new();
        for attempt in 0..3 {
            match attempt {
                0 => p.client.auth_none(user).unwrap(),
                1 => p.client.auth_password(user, "wrong").unwrap(),
                _ => p.client.auth_publickey(user, &key).unwrap(),
            }
            // The application knows "alice" and refuses both the same way.
            for _ in 0..100 {
                let mut moved = false;
                while let Some(b) = p.client.poll_transmit() {
                    p.to_server.extend_from_slice(&b);
                }
                if !p.to_server.is_empty() {
                    p.server.handle_input(p.now, &mut p.to_server).unwrap();
                    moved = true;
                }
                while let Some(e) = p.server.poll_event() {
                    if let Event::AuthRequest(r) = e {
                        p.server.answer_auth(r.id, AuthDecision::Reject).unwrap();
                    }
                }
                while let Some(b) = p.server.poll_transmit() {
                    out.extend_from_slice(&b);
                    p.to_client.extend_from_slice(&b);
                    moved = true;
                }
                if !p.to_client.is_empty() {
                    let _ = p.client.handle_input(p.now, &mut p.to_client);
                }
                while p.client.poll_event().is_some() {}
                if !moved {
                    break;
                }
            }
        }
        out
    };
    let existing = run("alice");
    let missing = run("nosuchuser");
    assert!(!existing.is_empty());
    assert_eq!(existing, missing);
}

// 11. A corrupted byte anywhere in an encrypted packet ends the connection with a
// MAC error; corrupted data never reaches a channel.
#[test]
fn a_corrupted_byte_anywhere_is_a_mac_error_and_nothing_corrupt_is_delivered() {
    let combos = [
        (CipherAlg::ChaCha20Poly1305, None),
        (CipherAlg::Aes256Gcm, None),
        (CipherAlg::Aes128Ctr, Some(MacAlg::HmacSha256Etm)),
        (CipherAlg::Aes256Ctr, Some(MacAlg::HmacSha512)),
    ];
    for (cipher, mac) in combos {
        for step in 0..12usize {
            let mut p = pair_with(180, |s, c| {
                for t in [&mut s.transport, &mut c.transport] {
                    t.algorithms.ciphers = vec![cipher];
                    if let Some(m) = mac {
                        t.algorithms.macs = vec![m];
                    }
                }
            });
            login(&mut p);
            let (cid, sid) = open_exec(&mut p, "cat");
            p.client.channel(cid).unwrap().send(&[0x41; 40]).unwrap();
            let mut wire = BytesMut::new();
            while let Some(b) = p.client.poll_transmit() {
                wire.extend_from_slice(&b);
            }
            let pos = step * (wire.len() - 1) / 11;
            wire[pos] ^= 0x20;
            let r = p.server.handle_input(p.now, &mut wire);
            let delivered = std::iter::from_fn(|| p.server.poll_event())
                .any(|e| matches!(e, Event::ChannelData { channel, .. } if channel == sid));
            assert!(!delivered, "{cipher:?} pos {pos}: corrupted data delivered");
            match r {
                Err(ConnectionError::Peer(Violation::BadMac)) => {}
                // A corrupted plaintext length (non-ETM CTR) can also read as a bad or
                // over-long length, or leave the packet waiting for bytes that never come.
                // A corrupted length field (encrypted for chacha20 and non-ETM CTR) can
                // read as an over-long length, refused before the MAC can be checked,
                // or as a longer packet still waiting for its bytes.
                Err(ConnectionError::Peer(Violation::PacketLength(_))) | Ok(())
                    if pos < 4 || (mac == Some(MacAlg::HmacSha512) && pos < 16) => {}
                other => panic!("{cipher:?} pos {pos}: {other:?}"),
            }
        }
    }
}
