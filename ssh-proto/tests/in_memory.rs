//! The client and server wired in memory: login, exec, transfers, flow control, rekey,
//! timeouts and bad input.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::*;

mod common;
use common::*;

#[test]
fn login_exec_output_exit_status_and_close() {
    let mut p = pair_with(1, |_, _| {});
    login(&mut p);
    let n = p.client.negotiated().unwrap().clone();
    assert!(n.strict_kex, "strict kex is on by default on both sides");
    assert_eq!(
        p.client.server_sig_algs(),
        Some(
            &[
                "ssh-ed25519",
                "ecdsa-sha2-nistp256",
                "ecdsa-sha2-nistp384",
                "ecdsa-sha2-nistp521",
                "rsa-sha2-512",
                "rsa-sha2-256",
                "sk-ssh-ed25519@openssh.com",
                "sk-ecdsa-sha2-nistp256@openssh.com"
            ]
            .map(String::from)[..]
        )
    );
    let (cid, sid) = open_exec(&mut p, "echo hello");
    {
        let mut ch = p.server.channel(sid).unwrap();
        assert_eq!(ch.send(b"hello\n").unwrap(), 6);
        assert_eq!(ch.send_stderr(b"warn\n").unwrap(), 5);
        ch.exit_status(3).unwrap();
        ch.eof().unwrap();
        ch.close().unwrap();
    }
    p.drive();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut status = None;
    let mut eof = false;
    let mut closed = false;
    while let Some(e) = p.client_events.pop_front() {
        match e {
            Event::ChannelData {
                data,
                stream: DataStream::Normal,
                channel,
            } => {
                assert_eq!(channel, cid);
                out.extend_from_slice(&data)
            }
            Event::ChannelData {
                data,
                stream: DataStream::Stderr,
                ..
            } => err.extend_from_slice(&data),
            Event::ChannelRequest {
                request: ChannelRequest::ExitStatus { code },
                ..
            } => {
                assert!(!eof, "exit-status comes before EOF");
                status = Some(code)
            }
            Event::ChannelEof { .. } => eof = true,
            Event::ChannelClosed { .. } => closed = true,
            _ => {}
        }
    }
    assert_eq!(out, b"hello\n");
    assert_eq!(err, b"warn\n");
    assert_eq!(status, Some(3));
    assert!(eof && closed);
    p.server_event(|e| matches!(e, Event::ChannelClosed { .. }))
        .expect("server sees the close completed");
    assert_eq!(p.server.channel_count(), 0);
    assert_eq!(p.client.channel_count(), 0);
}

#[test]
fn publickey_auth_core_verifies_the_signature() {
    let user_key = PrivateKey::generate_ed25519(&SeededRng::new(99)).unwrap();
    let mut p = pair_with(2, |_, _| {});
    kex_done(&mut p);
    p.client.auth_publickey("bob", &user_key).unwrap();
    let Some(Event::AuthRequest(req)) = p.server_event(|e| matches!(e, Event::AuthRequest(_)))
    else {
        panic!()
    };
    match &req.method {
        AuthMethod::PublicKey { key, verified, .. } => {
            assert!(*verified);
            assert_eq!(key, user_key.public_key());
        }
        m => panic!("{m:?}"),
    }
    p.server.answer_auth(req.id, AuthDecision::Accept).unwrap();
    p.client_event(|e| matches!(e, Event::Authenticated { .. }))
        .unwrap();
}

#[test]
fn publickey_with_a_bad_signature_never_reaches_the_application() {
    let key = PrivateKey::generate_ed25519(&SeededRng::new(5)).unwrap();
    let other = PrivateKey::generate_ed25519(&SeededRng::new(6)).unwrap();
    let mut p = pair_with(3, |_, _| {});
    kex_done(&mut p);
    // Sign with `other` but present `key`'s blob.
    let sig = other.sign("ssh-ed25519", b"not the session data").unwrap();
    let mut m = BytesMut::new();
    let blob = key.public_key().to_blob();
    ssh_proto::wire::Writer::new(&mut m)
        .u8(50)
        .utf8("mallory")
        .utf8("ssh-connection")
        .utf8("publickey")
        .bool(true)
        .utf8("ssh-ed25519")
        .string(&blob)
        .string(&sig);
    p.client.send_raw_packet(&m).unwrap();
    p.client_event(|e| matches!(e, Event::AuthFailure { .. }))
        .expect("failure answered by the core");
    assert!(p
        .server_events
        .iter()
        .all(|e| !matches!(e, Event::AuthRequest(_))));
}

#[test]
fn publickey_query_accept_answers_pk_ok_and_does_not_authenticate() {
    let key = PrivateKey::generate_ed25519(&SeededRng::new(5)).unwrap();
    let mut p = pair_with(4, |_, _| {});
    kex_done(&mut p);
    let mut m = BytesMut::new();
    ssh_proto::wire::Writer::new(&mut m)
        .u8(50)
        .utf8("eve")
        .utf8("ssh-connection")
        .utf8("publickey")
        .bool(false)
        .utf8("ssh-ed25519")
        .string(&key.public_key().to_blob());
    p.client.send_raw_packet(&m).unwrap();
    let Some(Event::AuthRequest(req)) = p.server_event(|e| matches!(e, Event::AuthRequest(_)))
    else {
        panic!()
    };
    assert!(matches!(
        req.method,
        AuthMethod::PublicKey {
            verified: false,
            ..
        }
    ));
    p.server.answer_auth(req.id, AuthDecision::Accept).unwrap();
    p.client_event(|e| matches!(e, Event::AuthPkOk))
        .expect("PK_OK");
    assert_eq!(p.server.user(), None);
    // A channel open now is still refused: not authenticated.
    p.client
        .send_raw_packet(&[
            90, 0, 0, 0, 7, b's', b'e', b's', b's', b'i', b'o', b'n', 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
            1, 0,
        ])
        .unwrap();
    p.drive();
    assert_eq!(
        disconnected(&mut p.server_events),
        Some((DisconnectReason::ProtocolError, false))
    );
    assert!(p
        .server_events
        .iter()
        .all(|e| !matches!(e, Event::ChannelOpenRequest { .. })));
}

#[test]
fn too_many_auth_failures_disconnect() {
    let mut p = pair_with(5, |_, _| {});
    kex_done(&mut p);
    for i in 0..6 {
        p.client.auth_password("alice", "wrong").unwrap();
        if let Some(Event::AuthRequest(req)) =
            p.server_event(|e| matches!(e, Event::AuthRequest(_)))
        {
            let _ = p.server.answer_auth(req.id, AuthDecision::Reject);
        } else {
            panic!("attempt {i} not seen");
        }
        p.drive();
    }
    assert_eq!(
        disconnected(&mut p.server_events),
        Some((DisconnectReason::NoMoreAuthMethodsAvailable, false))
    );
    assert_eq!(
        disconnected(&mut p.client_events),
        Some((DisconnectReason::NoMoreAuthMethodsAvailable, true))
    );
}

#[test]
fn auth_deadline_drops_an_unauthenticated_client() {
    let mut p = pair_with(6, |_, _| {});
    kex_done(&mut p);
    p.advance(Duration::from_secs(119));
    assert!(!p.server.is_closed());
    p.advance(Duration::from_secs(2));
    assert!(p.server.is_closed());
    assert!(matches!(p.server_error, Some(ConnectionError::Timeout(_))));
}

fn transfer(p: &mut Pair, total: usize, server_to_client: bool) -> (u64, usize) {
    let (cid, sid) = open_exec(p, "transfer");
    let (mut sent, mut received, mut sum_out, mut sum_in) = (0usize, 0usize, 0u64, 0u64);
    let chunk: Vec<u8> = (0..65_536u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut rounds = 0;
    while received < total {
        rounds += 1;
        assert!(rounds < 10_000_000, "transfer stalled at {received}");
        if sent < total {
            let n = (total - sent).min(chunk.len());
            let off = sent % chunk.len();
            let piece = &chunk[off..(off + n).min(chunk.len())];
            let k = if server_to_client {
                p.server.channel(sid).unwrap().send(piece).unwrap()
            } else {
                p.client.channel(cid).unwrap().send(piece).unwrap()
            };
            for &b in &piece[..k] {
                sum_out = sum_out.wrapping_mul(31).wrapping_add(b as u64);
            }
            sent += k;
        }
        p.step();
        let (events, reader) = if server_to_client {
            (&mut p.client_events, true)
        } else {
            (&mut p.server_events, false)
        };
        let mut consumed = Vec::new();
        events.retain(|e| match e {
            Event::ChannelData { data, .. } => {
                for &b in data.iter() {
                    sum_in = sum_in.wrapping_mul(31).wrapping_add(b as u64);
                }
                consumed.push(data.len());
                false
            }
            _ => true,
        });
        for n in consumed {
            received += n;
            if reader {
                p.client.channel(cid).unwrap().consume(n).unwrap();
            } else {
                p.server.channel(sid).unwrap().consume(n).unwrap();
            }
        }
    }
    assert_eq!(sum_in, sum_out, "checksums differ");
    (sum_in, received)
}

#[test]
fn sixty_four_mib_each_way_under_small_windows() {
    let mut p = pair_with(7, |s, c| {
        for l in [&mut s.transport.limits, &mut c.transport.limits] {
            l.channel_window = 64 * 1024;
            l.channel_max_packet = 16 * 1024;
        }
    });
    login(&mut p);
    let (_, n) = transfer(&mut p, 64 << 20, true);
    assert_eq!(n, 64 << 20);
    let (_, n) = transfer(&mut p, 64 << 20, false);
    assert_eq!(n, 64 << 20);
    assert!(p.server_error.is_none() && p.client_error.is_none());
}

#[test]
fn every_cipher_and_mac_moves_data_and_rekeys_midstream() {
    for &cipher in CipherAlg::ALL {
        let macs: Vec<Option<MacAlg>> = if cipher.is_aead() {
            vec![None]
        } else {
            MacAlg::ALL.iter().map(|m| Some(*m)).collect()
        };
        for mac in macs {
            let mut p = pair_with(8, |s, c| {
                c.transport.algorithms.ciphers = vec![cipher];
                if let Some(m) = mac {
                    c.transport.algorithms.macs = vec![m];
                }
                s.transport.rekey.bytes = 256 * 1024;
            });
            login(&mut p);
            let n = p.client.negotiated().unwrap();
            assert_eq!(n.cipher_c2s, cipher);
            assert_eq!(n.mac_s2c, mac);
            transfer(&mut p, 1 << 20, true);
            transfer(&mut p, 1 << 20, false);
            let rekeys = p
                .client_events
                .iter()
                .filter(|e| matches!(e, Event::KeysExchanged(_)))
                .count();
            assert!(
                rekeys >= 2,
                "{cipher:?}/{mac:?}: expected re-keys, saw {rekeys}"
            );
            assert!(p.server_error.is_none() && p.client_error.is_none());
        }
    }
}

#[test]
fn explicit_rekey_with_strict_kex_keeps_the_session() {
    let mut p = pair_with(9, |_, _| {});
    login(&mut p);
    let sid_before = p.server.session_id().unwrap().to_vec();
    p.client.rekey().unwrap();
    p.drive();
    p.server.rekey().unwrap();
    p.drive();
    transfer(&mut p, 100_000, true);
    assert_eq!(p.server.session_id().unwrap(), &sid_before[..]);
    assert!(p.server_error.is_none() && p.client_error.is_none());
}

#[test]
fn a_peer_that_stops_reading_keeps_our_memory_bounded() {
    let mut p = pair_with(10, |_, _| {});
    login(&mut p);
    let (cid, sid) = open_exec(&mut p, "flood");
    p.client_reads = false;
    let chunk = vec![0x5a; 32 * 1024];
    let mut accepted = 0usize;
    for _ in 0..2000 {
        accepted += p.server.channel(sid).unwrap().send(&chunk).unwrap();
        p.step();
    }
    let limits = Limits::default();
    // Everything accepted is within the window, the output high-water mark and the send buffer.
    assert!(accepted <= limits.channel_window as usize + limits.channel_send_buffer + 64 * 1024);
    assert!(p.server.pending_output() <= limits.output_high_water + 64 * 1024);
    // Resume reading: every accepted byte arrives.
    p.client_reads = true;
    let mut got = 0;
    for _ in 0..100_000 {
        p.step();
        let mut n = 0;
        p.client_events.retain(|e| match e {
            Event::ChannelData { data, .. } => {
                n += data.len();
                false
            }
            _ => true,
        });
        if n > 0 {
            p.client.channel(cid).unwrap().consume(n).unwrap();
        }
        got += n;
        if got == accepted {
            break;
        }
    }
    assert_eq!(got, accepted);
    p.drive();
    assert!(p
        .server_events
        .iter()
        .any(|e| matches!(e, Event::ChannelWritable { .. })));
}

#[test]
fn keepalive_global_request_is_answered_with_failure() {
    let mut p = pair_with(11, |_, _| {});
    login(&mut p);
    p.client
        .global_request("keepalive@openssh.com", true, &[])
        .unwrap();
    let Some(Event::GlobalReply { success, .. }) =
        p.client_event(|e| matches!(e, Event::GlobalReply { .. }))
    else {
        panic!()
    };
    assert!(!success);
}

#[test]
fn unknown_message_numbers_get_unimplemented_after_auth() {
    let mut p = pair_with(12, |_, _| {});
    login(&mut p);
    p.client.send_raw_packet(&[200, 1, 2, 3]).unwrap();
    p.drive();
    assert!(!p.server.is_closed() && !p.client.is_closed());
}

// ---- bad input: each ends with a typed error, a DISCONNECT and an event ----

fn raw_server(seed: u64) -> ServerConnection {
    let (s, _) = seeded_configs(seed).unwrap();
    ServerConnection::new(Arc::new(s), std::time::Instant::now()).unwrap()
}

fn feed(conn: &mut ServerConnection, bytes: &[u8]) -> Result<(), ConnectionError> {
    let mut b = BytesMut::from(bytes);
    conn.handle_input(std::time::Instant::now(), &mut b)
}

fn assert_disconnect(conn: &mut ServerConnection, reason: DisconnectReason) {
    let mut saw = false;
    while let Some(e) = conn.poll_event() {
        if let Event::Disconnected {
            reason: r,
            by_peer: false,
            ..
        } = e
        {
            assert_eq!(r, reason);
            saw = true;
        }
    }
    assert!(saw, "no Disconnected event");
    assert!(conn.is_closed());
    // The last bytes queued are a DISCONNECT packet (plain before kex).
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    assert!(!out.is_empty());
}

#[test]
fn over_long_line_before_version_is_rejected() {
    let mut s = raw_server(20);
    let e = feed(&mut s, &vec![b'a'; 10_000]).unwrap_err();
    assert!(matches!(e, ConnectionError::Peer(Violation::BadVersion(_))));
    assert_disconnect(&mut s, DisconnectReason::ProtocolVersionNotSupported);
}

#[test]
fn garbage_lines_before_version_are_bounded() {
    let mut s = raw_server(21);
    let e = feed(&mut s, &b"junk\r\n".repeat(100)).unwrap_err();
    assert!(matches!(e, ConnectionError::Peer(Violation::BadVersion(_))));
    let mut s = raw_server(21);
    feed(&mut s, b"hello\r\nSSH-1.99-old\r\n").unwrap();
    assert!(!s.is_closed());
}

#[test]
fn packet_length_over_the_limit_is_rejected() {
    let mut s = raw_server(22);
    let e = feed(&mut s, b"SSH-2.0-x\r\n\xff\xff\xff\xff\x00\x00").unwrap_err();
    assert_eq!(e, ConnectionError::Peer(Violation::PacketLength(u32::MAX)));
    assert_disconnect(&mut s, DisconnectReason::ProtocolError);
}

#[test]
fn bad_padding_is_rejected() {
    let mut s = raw_server(23);
    let e = feed(&mut s, b"SSH-2.0-x\r\n\x00\x00\x00\x0c\x02\x14abcdefghij").unwrap_err();
    assert_eq!(e, ConnectionError::Peer(Violation::BadPadding));
    assert_disconnect(&mut s, DisconnectReason::ProtocolError);
}

#[test]
fn a_bad_mac_ends_the_connection() {
    for &cipher in CipherAlg::ALL {
        let mut p = pair_with(24, |_, c| c.transport.algorithms.ciphers = vec![cipher]);
        kex_done(&mut p);
        p.drive();
        p.client.auth_none("x").unwrap();
        while let Some(b) = p.client.poll_transmit() {
            p.to_server.extend_from_slice(&b);
        }
        let last = p.to_server.len() - 1;
        p.to_server[last] ^= 0x01;
        let e = p.server.handle_input(p.now, &mut p.to_server).unwrap_err();
        assert_eq!(e, ConnectionError::Peer(Violation::BadMac), "{cipher:?}");
        assert_disconnect(&mut p.server, DisconnectReason::MacError);
    }
}

#[test]
fn a_message_in_the_wrong_state_is_fatal() {
    // Service request during the initial key exchange.
    let mut s = raw_server(25);
    let mut b = BytesMut::from(&b"SSH-2.0-x\r\n"[..]);
    let payload = [5u8, 0, 0, 0, 1, b'x'];
    let pad = 8 - (5 + payload.len()) % 8 + 8;
    b.put_u32((1 + payload.len() + pad) as u32);
    b.put_u8(pad as u8);
    b.extend_from_slice(&payload);
    b.extend_from_slice(&vec![0; pad]);
    let e = s
        .handle_input(std::time::Instant::now(), &mut b)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConnectionError::Peer(Violation::UnexpectedMessage { msg: 5, .. })
        ),
        "{e:?}"
    );
    assert_disconnect(&mut s, DisconnectReason::ProtocolError);
}

#[test]
fn a_truncated_field_is_a_decode_error() {
    let mut p = pair_with(26, |_, _| {});
    kex_done(&mut p);
    p.client.auth_none("x").unwrap();
    p.drive();
    // USERAUTH_REQUEST whose user string claims 100 bytes.
    p.client.send_raw_packet(&[50, 0, 0, 0, 100, b'a']).unwrap();
    p.drive();
    assert!(
        matches!(
            p.server_error,
            Some(ConnectionError::Peer(Violation::Decode(_)))
        ),
        "{:?}",
        p.server_error
    );
    assert_eq!(
        disconnected(&mut p.client_events),
        Some((DisconnectReason::ProtocolError, true))
    );
}

#[test]
fn strict_kex_rejects_a_message_before_kexinit() {
    let (s, c) = seeded_configs(27).unwrap();
    let mut server = ServerConnection::new(Arc::new(s), std::time::Instant::now()).unwrap();
    let mut client = ClientConnection::new(Arc::new(c), std::time::Instant::now()).unwrap();
    let out = client.poll_transmit().unwrap();
    let nl = out.iter().position(|&b| b == b'\n').unwrap();
    let mut b = BytesMut::from(&out[..=nl]);
    // A plain SSH_MSG_IGNORE slipped in before the client's KEXINIT (Terrapin-style).
    b.extend_from_slice(&[0, 0, 0, 12, 6, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&out[nl + 1..]);
    let e = server
        .handle_input(std::time::Instant::now(), &mut b)
        .unwrap_err();
    assert!(
        matches!(e, ConnectionError::Peer(Violation::KeyExchange(_))),
        "{e:?}"
    );
    assert_disconnect(&mut server, DisconnectReason::KeyExchangeFailed);
}

#[test]
fn no_common_algorithm_fails_the_key_exchange() {
    let mut p = pair_with(28, |s, c| {
        s.transport.algorithms.ciphers = vec![CipherAlg::Aes128Ctr];
        c.transport.algorithms.ciphers = vec![CipherAlg::Aes256Gcm];
    });
    p.drive();
    assert_eq!(
        p.server_error,
        Some(ConnectionError::Peer(Violation::NoCommonAlgorithm(
            "cipher"
        )))
    );
    // The client negotiates the same lists and fails on its own.
    assert_eq!(
        disconnected(&mut p.client_events).map(|d| d.0),
        Some(DisconnectReason::KeyExchangeFailed)
    );
}

#[test]
fn window_adjust_overflow_is_a_protocol_error() {
    let mut p = pair_with(29, |_, _| {});
    login(&mut p);
    let (_, sid) = open_exec(&mut p, "x");
    let _ = sid;
    let mut m = BytesMut::new();
    ssh_proto::wire::Writer::new(&mut m)
        .u8(93)
        .u32(0)
        .u32(u32::MAX);
    p.client.send_raw_packet(&m).unwrap();
    p.drive();
    assert_eq!(
        p.server_error,
        Some(ConnectionError::Peer(Violation::WindowOverflow))
    );
}

#[test]
fn data_beyond_the_window_is_a_protocol_error() {
    let mut p = pair_with(30, |s, _| s.transport.limits.channel_window = 1000);
    login(&mut p);
    open_exec(&mut p, "x");
    let mut m = BytesMut::new();
    ssh_proto::wire::Writer::new(&mut m)
        .u8(94)
        .u32(0)
        .string(&[0u8; 1001]);
    p.client.send_raw_packet(&m).unwrap();
    p.drive();
    assert_eq!(
        p.server_error,
        Some(ConnectionError::Peer(Violation::DataExceedsWindow))
    );
}

#[test]
fn channel_opens_beyond_the_limit_are_refused_not_fatal() {
    let mut p = pair_with(31, |s, _| s.transport.limits.max_channels = 3);
    login(&mut p);
    for _ in 0..10 {
        p.client.open_session().unwrap();
    }
    p.drive();
    let asked = p
        .server_events
        .iter()
        .filter(|e| matches!(e, Event::ChannelOpenRequest { .. }))
        .count();
    assert_eq!(asked, 3);
    let failed = p
        .client_events
        .iter()
        .filter(|e| matches!(e, Event::ChannelOpenFailed { .. }))
        .count();
    assert_eq!(failed, 7);
    assert!(!p.server.is_closed());
}

#[test]
fn deterministic_with_seeded_rngs() {
    let run = || {
        let mut p = pair_with(40, |_, _| {});
        login(&mut p);
        p.server.session_id().unwrap().to_vec()
    };
    assert_eq!(run(), run());
}

#[test]
fn every_key_exchange_method_logs_in_moves_data_and_rekeys() {
    for (i, &kex) in KexAlg::ALL.iter().enumerate() {
        let mut p = pair_with(700 + i as u64, |s, c| {
            s.transport.algorithms.kex = vec![kex];
            c.transport.algorithms.kex = vec![kex];
        });
        login(&mut p);
        assert_eq!(p.server.negotiated().unwrap().kex, kex);
        let sid = p.server.session_id().unwrap().to_vec();
        assert_eq!(sid.len(), kex.hash().digest(&[b""]).len(), "{kex:?}");
        transfer(&mut p, 100_000, true);
        p.server_events.clear();
        p.client.rekey().unwrap();
        p.drive();
        assert!(
            p.server_events
                .iter()
                .any(|e| matches!(e, Event::KeysExchanged(n) if n.kex == kex)),
            "{kex:?}: no second key exchange"
        );
        transfer(&mut p, 100_000, false);
        assert_eq!(p.server.session_id().unwrap(), &sid[..]);
        assert!(
            p.server_error.is_none() && p.client_error.is_none(),
            "{kex:?}: {:?} {:?}",
            p.server_error,
            p.client_error
        );
    }
}

#[test]
fn sha1_key_exchange_is_off_unless_configured() {
    let mut p = pair_with(720, |_, c| {
        c.transport.algorithms.kex = vec![KexAlg::DhGroup14Sha1];
    });
    p.drive();
    assert!(matches!(
        p.server_error,
        Some(ConnectionError::Peer(Violation::NoCommonAlgorithm("kex")))
    ));
}

/// Close channel `(cid, sid)` from both ends and let the closes cross.
fn close_both(p: &mut Pair, cid: ChannelId, sid: ChannelId) {
    p.server.channel(sid).unwrap().close().unwrap();
    p.client.channel(cid).unwrap().close().unwrap();
    p.drive();
    p.server_event(|e| matches!(e, Event::ChannelClosed { channel } if *channel == sid))
        .expect("server saw the close");
}

#[test]
fn channel_ids_are_never_handed_out_twice() {
    let mut p = pair_with(41, |_, _| {});
    login(&mut p);
    let mut seen = std::collections::HashSet::new();
    let mut last = None;
    for i in 0..5 {
        let (cid, sid) = open_exec(&mut p, "again");
        assert!(seen.insert(sid.0), "server id {sid:?} reused on round {i}");
        if let Some((old_c, old_s)) = last.replace((cid, sid)) {
            // A late command for the closed channel is refused or a no-op, and never
            // reaches the new one.
            assert!(p.server.channel(old_s).unwrap().window().is_err());
            assert!(p.server.channel(old_s).unwrap().send(b"late").is_err());
            p.server.channel(old_s).unwrap().consume(4).unwrap();
            assert!(p.client.channel(old_c).unwrap().window().is_err());
            assert!(!p.server.channel_ids().contains(&old_s));
        }
        let before = p.server.channel(sid).unwrap().window().unwrap();
        p.client.channel(cid).unwrap().send(b"data").unwrap();
        p.server_event(|e| matches!(e, Event::ChannelData { .. }))
            .expect("data");
        let after = p.server.channel(sid).unwrap().window().unwrap();
        assert_eq!(after.recv_unconsumed, before.recv_unconsumed + 4);
        close_both(&mut p, cid, sid);
    }
}

#[test]
fn extended_data_keeps_its_type_code_when_it_waits_for_window() {
    let mut p = pair_with(42, |_, c| {
        c.transport.limits.channel_window = 1024;
        c.transport.limits.channel_max_packet = 512;
    });
    login(&mut p);
    let (cid, sid) = open_exec(&mut p, "ext");
    let data = vec![0x42u8; 4000];
    let taken = p
        .server
        .channel(sid)
        .unwrap()
        .send_stream(DataStream::Extended(7), &data)
        .unwrap();
    assert_eq!(taken, data.len(), "buffered whole");
    // Another code waits until the first has drained: nothing taken now.
    let other = p
        .server
        .channel(sid)
        .unwrap()
        .send_stream(DataStream::Extended(9), b"x")
        .unwrap();
    assert_eq!(other, 0);
    let mut got = 0;
    for _ in 0..100 {
        p.drive();
        while let Some(e) = p.client_events.pop_front() {
            if let Event::ChannelData { data, stream, .. } = e {
                assert_eq!(stream, DataStream::Extended(7), "type code lost");
                got += data.len();
                p.client.channel(cid).unwrap().consume(data.len()).unwrap();
            }
        }
        if got == data.len() {
            break;
        }
    }
    assert_eq!(got, data.len());
}

#[test]
fn every_command_is_classified_once_refusals_leave_the_connection_open() {
    let mut p = pair_with(43, |_, c| c.transport.limits.max_channels = 1);
    login(&mut p);
    // Commands on channels that do not exist are refused, nothing more.
    let ghost = ChannelId(999);
    assert_eq!(
        p.server.accept_channel(ghost),
        Err(CommandError::UnknownChannel(ghost))
    );
    assert_eq!(
        p.server
            .reject_channel(ghost, OpenFailure::ResourceShortage, "no"),
        Err(CommandError::UnknownChannel(ghost))
    );
    assert!(matches!(
        p.server.channel(ghost).unwrap().send(b"x"),
        Err(CommandError::UnknownChannel(_))
    ));
    // Our own open over the channel limit is refused; the connection goes on.
    let _first = p.client.open_session().unwrap();
    assert!(matches!(
        p.client.open_session(),
        Err(CommandError::LimitExceeded(_))
    ));
    assert!(!p.server.is_closed() && !p.client.is_closed());
    p.drive();
    assert!(p.server_error.is_none() && p.client_error.is_none());
    // After the end every command says so.
    p.server.disconnect(DisconnectReason::ByApplication, "bye");
    assert_eq!(p.server.rekey(), Err(CommandError::Closed));
    assert!(matches!(p.server.channel(ghost), Err(CommandError::Closed)));
}

#[test]
fn a_command_that_ends_the_connection_says_so() {
    // A client that stops reading: the server's output bound is hit by a command.
    let mut p = pair_with(44, |s, _| {
        s.transport.limits.max_pending_output = 256 * 1024;
        s.transport.limits.output_high_water = 64 * 1024;
    });
    login(&mut p);
    p.client_reads = false;
    let big = vec![0u8; 1000];
    let mut ended = None;
    for _ in 0..10_000 {
        match p.server.send_raw_packet(&[&[192u8][..], &big[..]].concat()) {
            Ok(()) => {}
            Err(e) => {
                ended = Some(e);
                break;
            }
        }
        p.step();
    }
    match ended {
        Some(CommandError::Ended(ConnectionError::LimitExceeded(_)))
        | Some(CommandError::Closed) => {}
        other => panic!("the bound did not end the connection: {other:?}"),
    }
    assert!(p.server.is_closed());
}

#[test]
fn no_more_sessions_makes_another_session_open_fatal() {
    let mut p = pair_with(12, |_, _| {});
    login(&mut p);
    // Sessions and other channels open before it as usual.
    let _ = open_exec(&mut p, "true");
    p.client
        .global_request("no-more-sessions@openssh.com", false, &[])
        .unwrap();
    p.drive();
    assert!(disconnected(&mut p.server_events).is_none());
    p.client.open_session().unwrap();
    p.drive();
    assert_eq!(
        disconnected(&mut p.server_events),
        Some((DisconnectReason::ProtocolError, false))
    );
    assert!(p.server.is_closed());
}

#[test]
fn ping_is_answered_with_pong_after_authentication_only() {
    let mut p = pair_with(13, |_, _| {});
    p.drive();
    assert!(p.client.negotiated().is_some());
    let ping = [&[192u8, 0, 0, 0, 4][..], b"abcd"].concat();
    // Before authentication: no answer (and no error).
    p.client.send_raw_packet(&ping).unwrap();
    p.drive();
    assert!(p.server_error.is_none() && !p.server.is_closed());
    assert!(!p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::Pong { .. })));
    login(&mut p);
    p.client.send_raw_packet(&ping).unwrap();
    match p.client_event(|e| matches!(e, Event::Pong { .. })) {
        Some(Event::Pong { data }) => assert_eq!(&data[..], b"abcd"),
        _ => panic!("no pong"),
    }
}
