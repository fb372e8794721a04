//! Fuzz targets on the ssh-proto core. Each target is a plain function of bytes, so
//! it runs under bolero in `cargo test` (bounded) and under libFuzzer through
//! `cargo bolero test` (unbounded); see fuzz/README.md.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ssh_proto::testing::Message;
use ssh_proto::testing::{plain_packet, seeded_configs, Pair};
use ssh_proto::{
    parse_authorized_keys, AuthDecision, AuthorizedKeys, ChannelKind, ChannelRequest, Event,
    PublicKey, ServerConnection,
};

/// Every decoder fed arbitrary bytes: messages, channel requests and kinds, key blobs.
pub fn decoders(data: &[u8]) {
    let b = Bytes::copy_from_slice(data);
    let _ = Message::decode(&b);
    for name in [
        "pty-req",
        "env",
        "exec",
        "shell",
        "subsystem",
        "window-change",
        "signal",
        "exit-status",
        "exit-signal",
        "x-other",
    ] {
        let _ = ChannelRequest::decode(name, &b);
    }
    let _ = ChannelKind::decode("direct-tcpip", &b);
    if let Ok(k) = PublicKey::from_blob(data) {
        let _ = k.verify("ssh-ed25519", b"m", data);
    }
}

/// A server fed arbitrary bytes from the first byte (version exchange, key exchange).
/// Checks that it never panics and that its output stays bounded.
pub fn server_from_first_byte(data: &[u8]) {
    let Ok((s, _)) = seeded_configs(1) else {
        return;
    };
    let limit = s.transport.limits.max_pending_output;
    let now = std::time::Instant::now();
    let Ok(mut conn) = ServerConnection::new(Arc::new(s), now) else {
        return;
    };
    let mut buf = BytesMut::new();
    // Feed in uneven pieces to exercise partial reads.
    for chunk in data.chunks(7) {
        buf.extend_from_slice(chunk);
        if conn.handle_input(now, &mut buf).is_err() {
            break;
        }
        assert!(conn.pending_output() <= limit + 64 * 1024);
    }
    while conn.poll_event().is_some() {}
    while conn.poll_transmit().is_some() {}
}

/// Every key exchange method's messages, hostile: the first byte picks the method
/// (both ends configured with only that one), our client's real version line and
/// KEXINIT go first, then the rest is split into payloads (first byte = length) sent
/// as plaintext packets. Half the payloads have their message number forced into the
/// method range 30..=34 so DH, group-exchange and ECDH handlers see arbitrary bodies.
/// Returns whether the server finished a key exchange.
pub fn server_key_exchange(data: &[u8]) -> bool {
    let Some((&pick, mut rest)) = data.split_first() else {
        return false;
    };
    let kex = ssh_proto::KexAlg::ALL[pick as usize % ssh_proto::KexAlg::ALL.len()];
    let Ok((mut s, mut c)) = seeded_configs(4) else {
        return false;
    };
    s.transport.algorithms.kex = vec![kex];
    c.transport.algorithms.kex = vec![kex];
    let limit = s.transport.limits.max_pending_output;
    let now = std::time::Instant::now();
    let (Ok(mut server), Ok(mut client)) = (
        ServerConnection::new(Arc::new(s), now),
        ssh_proto::ClientConnection::new(Arc::new(c), now),
    ) else {
        return false;
    };
    let mut buf = BytesMut::new();
    while let Some(b) = client.poll_transmit() {
        buf.extend_from_slice(&b);
    }
    let mut exchanged = false;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize >> 1).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        rest = tail;
        let mut payload = payload.to_vec();
        if len & 1 == 1 {
            if let Some(code) = payload.first_mut() {
                *code = 30 + *code % 5;
            }
        }
        buf.extend_from_slice(&plain_packet(&payload));
        if server.handle_input(now, &mut buf).is_err() {
            break;
        }
        while let Some(e) = server.poll_event() {
            exchanged |= matches!(e, Event::KeysExchanged(_));
        }
        assert!(server.pending_output() <= limit + 64 * 1024);
        while server.poll_transmit().is_some() {}
    }
    while server.poll_event().is_some() {}
    exchanged
}

/// An authenticated session (our client, real key exchange) followed by arbitrary,
/// well-framed and encrypted messages from the client: any message number, channel id,
/// window value or request type. The server must never panic, never deliver channel
/// data it did not accept, and keep its output bounded.
/// Returns whether the session reached authentication (so the input hit the connection layer).
pub fn server_after_auth(data: &[u8]) -> bool {
    let Ok((s, c)) = seeded_configs(2) else {
        return false;
    };
    let limit = s.transport.limits.max_pending_output;
    let Ok(mut p) = Pair::new(Arc::new(s), Arc::new(c)) else {
        return false;
    };
    p.drive();
    if p.client.auth_password("fuzz", "fuzz").is_err() {
        return false;
    }
    if let Some(Event::AuthRequest(r)) = p.server_event(|e| matches!(e, Event::AuthRequest(_))) {
        let _ = p.server.answer_auth(r.id, AuthDecision::Accept);
    }
    p.drive();
    // Open one real channel so channel-level messages can hit live state.
    if let Ok(_cid) = p.client.open_session() {
        if let Some(Event::ChannelOpenRequest { channel, .. }) =
            p.server_event(|e| matches!(e, Event::ChannelOpenRequest { .. }))
        {
            let _ = p.server.accept_channel(channel);
        }
    }
    p.drive();
    let authenticated = p.server.user().is_some();
    // Split the input into payloads: first byte = length (1..=255).
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).clamp(1, tail.len().max(1)).min(tail.len());
        if n == 0 {
            break;
        }
        let (payload, tail) = tail.split_at(n);
        rest = tail;
        if p.client.send_raw_packet(payload).is_err() {
            break;
        }
        p.step();
        while let Some(e) = p.server_events.pop_front() {
            match e {
                Event::ChannelData { channel, data, .. } => {
                    let _ = p
                        .server
                        .channel(channel)
                        .and_then(|mut c| c.consume(data.len()));
                }
                Event::ChannelRequest {
                    channel,
                    want_reply: true,
                    ..
                } => {
                    let _ = p.server.channel(channel).and_then(|mut c| c.reply(false));
                }
                Event::ChannelOpenRequest { channel, .. } => {
                    let _ = p.server.accept_channel(channel);
                }
                _ => {}
            }
        }
        assert!(p.server.pending_output() <= limit + 64 * 1024);
        if p.server.is_closed() {
            break;
        }
    }
    p.drive();
    authenticated
}

/// Byte `i` of a channel's stream in [`command_interleavings`]: position-dependent, so
/// loss, duplication and reordering all show.
fn stream_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// One channel as both ends see it in [`command_interleavings`].
#[derive(Default)]
struct Tracked {
    server: Option<ssh_proto::ChannelId>,
    client: Option<ssh_proto::ChannelId>,
    /// Bytes the server's `send` accepted, and the client has received.
    s2c_accepted: u64,
    s2c_received: u64,
    c2s_accepted: u64,
    c2s_received: u64,
    server_eof_sent: bool,
    client_saw_eof: bool,
    client_closed: bool,
    server_closed: bool,
    /// The server side has been matched to this entry.
    paired: bool,
    /// Either application asked to close it (buffered data may then be dropped).
    close_requested: bool,
}

/// Arbitrary interleavings of application commands on both ends (send, consume, EOF,
/// close, open, rekey, disconnect) with delivery steps and hostile raw packets from
/// the client, checking after every step: receive windows never exceed their
/// maximum, no data after EOF or close, and every accepted byte is delivered exactly
/// once and in order. Returns the channel bytes delivered (so tests can see that
/// inputs reach the data path).
pub fn command_interleavings(data: &[u8]) -> u64 {
    use ssh_proto::DataStream;
    let Ok((s, c)) = seeded_configs(3) else {
        return 0;
    };
    let max_window = s.transport.limits.channel_window;
    let Ok(mut p) = Pair::new(Arc::new(s), Arc::new(c)) else {
        return 0;
    };
    p.drive();
    if p.client.auth_password("f", "f").is_err() {
        return 0;
    }
    if let Some(Event::AuthRequest(r)) = p.server_event(|e| matches!(e, Event::AuthRequest(_))) {
        let _ = p.server.answer_auth(r.id, AuthDecision::Accept);
    }
    p.drive();
    let mut chans: Vec<Tracked> = Vec::new();
    let mut pending_server_consume: Vec<(usize, usize)> = Vec::new();
    let mut it = data.iter().copied();
    while let Some(op) = it.next() {
        let arg = it.next().unwrap_or(0) as usize;
        let pick = |n: usize| if n == 0 { None } else { Some(arg % n) };
        match op % 12 {
            0 => {
                if let Ok(id) = p.client.open_session() {
                    chans.push(Tracked {
                        client: Some(id),
                        ..Default::default()
                    });
                }
            }
            1 => {
                // Server sends a chunk on an open channel.
                if let Some(i) = pick(chans.len()) {
                    let t = &mut chans[i];
                    if let (Some(sid), false, false) =
                        (t.server, t.server_eof_sent, t.server_closed)
                    {
                        let chunk: Vec<u8> = (0..(arg * 97) as u64)
                            .map(|k| stream_byte(t.s2c_accepted + k))
                            .collect();
                        if let Ok(n) = p.server.channel(sid).and_then(|mut c| c.send(&chunk)) {
                            t.s2c_accepted += n as u64;
                        }
                    }
                }
            }
            2 => {
                if let Some(i) = pick(chans.len()) {
                    let t = &mut chans[i];
                    if let (Some(cid), false) = (t.client, t.client_closed) {
                        let chunk: Vec<u8> = (0..(arg * 89) as u64)
                            .map(|k| stream_byte(t.c2s_accepted + k))
                            .collect();
                        if let Ok(n) = p.client.channel(cid).and_then(|mut c| c.send(&chunk)) {
                            t.c2s_accepted += n as u64;
                        }
                    }
                }
            }
            3 => {
                // The server application consumes what it was given, late.
                for (i, n) in pending_server_consume.drain(..) {
                    if let Some(sid) = chans[i].server {
                        let _ = p.server.channel(sid).and_then(|mut c| c.consume(n));
                    }
                }
            }
            4 => {
                if let Some(i) = pick(chans.len()) {
                    if let Some(sid) = chans[i].server {
                        if p.server.channel(sid).and_then(|mut c| c.eof()).is_ok() {
                            chans[i].server_eof_sent = true;
                        }
                    }
                }
            }
            5 => {
                if let Some(i) = pick(chans.len()) {
                    chans[i].close_requested = true;
                    if let Some(sid) = chans[i].server {
                        let _ = p.server.channel(sid).and_then(|mut c| c.close());
                    }
                }
            }
            6 => {
                if let Some(i) = pick(chans.len()) {
                    chans[i].close_requested = true;
                    if let Some(cid) = chans[i].client {
                        let _ = p.client.channel(cid).and_then(|mut c| c.close());
                    }
                }
            }
            7 => {
                let _ = if arg % 2 == 0 {
                    p.server.rekey()
                } else {
                    p.client.rekey()
                };
            }
            8 => {
                // A hostile raw packet from the client (bounded size).
                let len = (arg % 24) + 1;
                let payload: Vec<u8> = it.by_ref().take(len).collect();
                if !payload.is_empty() {
                    let _ = p.client.send_raw_packet(&payload);
                }
            }
            9 if arg == 0x5a => p
                .server
                .disconnect(ssh_proto::DisconnectReason::ByApplication, "fuzz"),
            _ => {}
        }
        p.step();
        // Events: pair channels, record deliveries, check the invariants.
        while let Some(e) = p.server_events.pop_front() {
            match e {
                Event::ChannelOpenRequest { channel, .. } => {
                    let _ = p.server.accept_channel(channel);
                    if let Some(t) = chans
                        .iter_mut()
                        .find(|t| t.server.is_none() && !t.server_closed && !t.paired)
                    {
                        t.server = Some(channel);
                        t.paired = true;
                    }
                }
                Event::ChannelData {
                    channel,
                    data,
                    stream: DataStream::Normal,
                } => {
                    if let Some(i) = chans.iter().position(|t| t.server == Some(channel)) {
                        let t = &mut chans[i];
                        assert!(!t.server_closed, "data after close");
                        for (k, &b) in data.iter().enumerate() {
                            assert_eq!(
                                b,
                                stream_byte(t.c2s_received + k as u64),
                                "client->server order"
                            );
                        }
                        t.c2s_received += data.len() as u64;
                        assert!(
                            t.c2s_received <= t.c2s_accepted,
                            "delivered more than accepted"
                        );
                        pending_server_consume.push((i, data.len()));
                    }
                }
                Event::ChannelClosed { channel } => {
                    // Ids are reused after close: retire the old entry's id.
                    if let Some(t) = chans.iter_mut().find(|t| t.server == Some(channel)) {
                        t.server_closed = true;
                        t.server = None;
                    }
                }
                Event::ChannelRequest {
                    channel,
                    want_reply: true,
                    ..
                } => {
                    let _ = p.server.channel(channel).and_then(|mut c| c.reply(false));
                }
                _ => {}
            }
        }
        while let Some(e) = p.client_events.pop_front() {
            match e {
                Event::ChannelData {
                    channel,
                    data,
                    stream: DataStream::Normal,
                } => {
                    if let Some(t) = chans.iter_mut().find(|t| t.client == Some(channel)) {
                        assert!(!t.client_saw_eof, "data after EOF");
                        assert!(!t.client_closed, "data after close");
                        for (k, &b) in data.iter().enumerate() {
                            assert_eq!(
                                b,
                                stream_byte(t.s2c_received + k as u64),
                                "server->client order"
                            );
                        }
                        t.s2c_received += data.len() as u64;
                        assert!(
                            t.s2c_received <= t.s2c_accepted,
                            "delivered more than accepted"
                        );
                        let _ = p
                            .client
                            .channel(channel)
                            .and_then(|mut c| c.consume(data.len()));
                    }
                }
                Event::ChannelEof { channel } => {
                    if let Some(t) = chans.iter_mut().find(|t| t.client == Some(channel)) {
                        t.client_saw_eof = true;
                    }
                }
                Event::ChannelClosed { channel } => {
                    if let Some(t) = chans.iter_mut().find(|t| t.client == Some(channel)) {
                        t.client_closed = true;
                        t.client = None;
                    }
                }
                _ => {}
            }
        }
        for t in &chans {
            if let Some(sid) = t.server {
                if let Ok(w) = p.server.channel(sid).and_then(|mut c| c.window()) {
                    assert!(
                        w.recv_window as u64 + w.recv_unconsumed as u64 <= max_window as u64,
                        "receive window over its maximum: {w:?}"
                    );
                }
            }
        }
        if p.server.is_closed() || p.client.is_closed() {
            break;
        }
    }
    // Quiesce: consume everything and check nothing accepted was lost on open channels.
    for (i, n) in pending_server_consume.drain(..) {
        if let Some(sid) = chans[i].server {
            let _ = p.server.channel(sid).and_then(|mut c| c.consume(n));
        }
    }
    p.drive();
    if !p.server.is_closed() && !p.client.is_closed() {
        while let Some(e) = p.client_events.pop_front() {
            if let Event::ChannelData {
                channel,
                data,
                stream: DataStream::Normal,
            } = e
            {
                if let Some(t) = chans.iter_mut().find(|t| t.client == Some(channel)) {
                    t.s2c_received += data.len() as u64;
                    let _ = p
                        .client
                        .channel(channel)
                        .and_then(|mut c| c.consume(data.len()));
                }
            }
            p.drive();
        }
        for t in &chans {
            if t.server.is_some() && t.client.is_some() && !t.close_requested {
                assert_eq!(
                    t.s2c_received, t.s2c_accepted,
                    "accepted bytes not delivered"
                );
            }
        }
    }
    chans.iter().map(|t| t.s2c_received + t.c2s_received).sum()
}

/// A valid key line, appended to every line in [`authorized_keys`]'s later passes so
/// arbitrary option fields are read as options.
const FUZZ_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";

/// Options, right and wrong, that [`authorized_keys`]'s third pass builds option
/// fields from (one per input byte below 0x80), so random bytes make fields that parse.
const AUTHORIZED_KEYS_OPTIONS: &[&str] = &[
    "restrict",
    "pty",
    "no-pty",
    "port-forwarding",
    "no-port-forwarding",
    "agent-forwarding",
    "no-agent-forwarding",
    "X11-forwarding",
    "no-X11-forwarding",
    "user-rc",
    "no-user-rc",
    "touch-required",
    "no-touch-required",
    "verify-required",
    "cert-authority",
    "command=\"ls -l, \\\"x\\\"\"",
    "principals=\"alice,bob\"",
    "principals=\"a,,b\"",
    "environment=\"A=b\"",
    "environment=\"A-B=c\"",
    "expiry-time=\"20300101\"",
    "expiry-time=\"203001011230Z\"",
    "expiry-time=\"20301301\"",
    "permitopen=\"host:22\"",
    "permitopen=\"[::1]:*\"",
    "permitopen=\"host\"",
    "permitlisten=\"8080\"",
    "tunnel=\"7\"",
    "tunnel=\"x\"",
    "bogus",
    "command=\"unterminated",
    "from=\"\"",
];

/// `from=` entries that [`authorized_keys`]'s third pass combines (bytes 0x80-0xef).
const AUTHORIZED_KEYS_PATTERNS: &[&str] = &[
    "10.0.0.0/8",
    "!10.0.0.1",
    "*",
    "*.example.com",
    "::1",
    "!::1",
    "2001:db8::/32",
    "192.168.?.1",
    "!host.example.com",
    "10.0.0.1/8",
    "1.2.3.4/999",
    "::/0",
    "0.0.0.0/0",
    "!*",
    "",
    "LOCAL*",
];

/// Arbitrary bytes (as lossy UTF-8) as an authorized_keys file, in three passes: as
/// they are; with a valid key appended to every line (so the bytes are an options
/// field); and as option fields built from the bytes (each byte below 0x80 one option
/// of a fixed list, 0x80-0xef a `from=` of two patterns, 0xf0 and above the key and
/// the end of the line). Every entry's `from=` is matched against a few addresses
/// and host names, and the report is checked: line numbers in range and increasing,
/// no line both kept and skipped, `parse_authorized_keys` agreeing. Returns the
/// entries kept over the passes (so tests can see that inputs reach the options).
pub fn authorized_keys(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let with_keys: String = text.lines().map(|l| format!("{l} {FUZZ_KEY}\n")).collect();
    let mut built = String::new();
    let mut field_empty = true;
    for &b in data {
        if b >= 0xf0 {
            built.push_str(&format!(" {FUZZ_KEY}\n"));
            field_empty = true;
            continue;
        }
        if !field_empty {
            built.push(',');
        }
        field_empty = false;
        if b < 0x80 {
            let option = AUTHORIZED_KEYS_OPTIONS[usize::from(b) % AUTHORIZED_KEYS_OPTIONS.len()];
            built.push_str(option);
        } else {
            let first = AUTHORIZED_KEYS_PATTERNS[usize::from(b & 15)];
            let second = AUTHORIZED_KEYS_PATTERNS[usize::from((b >> 2) & 15)];
            built.push_str(&format!("from=\"{first},{second}\""));
        }
    }
    built.push_str(&format!(" {FUZZ_KEY}\n"));
    let sources: [(std::net::IpAddr, Option<&str>); 4] = [
        ([10, 0, 0, 1].into(), Some("host.example.com")),
        (std::net::Ipv6Addr::LOCALHOST.into(), None),
        (
            [0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x0101].into(),
            Some("LOCALHOST"),
        ),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1].into(), Some("")),
    ];
    let mut kept = 0;
    for input in [&*text, &with_keys, &built] {
        let parsed = AuthorizedKeys::parse(input);
        let lines = input.lines().count();
        let kept_lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
        let skipped_lines: Vec<usize> = parsed.skipped.iter().map(|s| s.line).collect();
        for numbers in [&kept_lines, &skipped_lines] {
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
            assert!(numbers.iter().all(|&n| (1..=lines).contains(&n)));
        }
        assert!(kept_lines.iter().all(|n| !skipped_lines.contains(n)));
        for e in &parsed.entries {
            for (addr, host) in sources {
                let allowed = e.options.allows_source(addr, host);
                assert!(allowed || e.options.from.is_some());
            }
            if let Some(t) = e.options.expiry_time {
                assert!(!e.options.expired(t));
                assert!(t == u64::MAX || e.options.expired(t + 1));
            }
        }
        let plain = parse_authorized_keys(input).expect("parse_authorized_keys never fails");
        let not_ca = parsed.entries.iter().filter(|e| !e.cert_authority).count();
        assert_eq!(plain.len(), not_ca);
        kept += parsed.entries.len();
    }
    kept
}

/// A valid user certificate (ed25519 key, ed25519 CA, a source-address option) to
/// mutate: fixed seeds, so every run starts from the same bytes.
fn seed_certificate() -> (ssh_proto::Certificate, PublicKey) {
    use ssh_proto::{CertificateBuilder, KeyKind, PrivateKey, SeededRng};
    let ca = PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(1)).expect("ed25519 CA");
    let user = PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(2)).expect("ed25519 key");
    let mut b = CertificateBuilder::user(user.public_key().clone(), &["alice", "bob"], 10, 1000);
    b.serial = 7;
    b.key_id = "fuzz".into();
    let cert = b
        .critical_string("source-address", "10.0.0.0/8,::1")
        .sign(&ca, "ssh-ed25519", b"nonce")
        .expect("the seed certificate signs");
    (cert, ca.public_key().clone())
}

/// Certificates and key files from hostile bytes. The bytes are read three ways: as a
/// certificate blob, as a mutation script over a valid certificate (pairs of
/// position and value overwrite bytes; a final odd byte truncates), and as key-file
/// text. Whatever parses is checked: it re-encodes to the same bytes, its checks
/// never pass with a changed signed part, and no call panics. Returns how many of the
/// mutated certificates still parsed (so tests can see the mutations reach the
/// checks).
pub fn certificates(data: &[u8]) -> usize {
    use ssh_proto::{Certificate, KeyPolicy, PrivateKey, RevokedKeys};
    let policy = KeyPolicy::default();
    let check = |c: &Certificate| {
        assert_eq!(Certificate::from_blob(&c.to_blob()).as_ref(), Ok(c));
        for (t, peer) in [(500, "10.1.2.3"), (5, "::1"), (2000, "192.0.2.1")] {
            let _ = c.check_user(&policy, Some(t), peer.parse().ok(), Some("alice"));
        }
        let _ = c.check_user(&policy, None, None, None);
        RevokedKeys::new().certificate_is_revoked(c)
    };
    if let Ok(c) = Certificate::from_blob(data) {
        check(&c);
    }
    let _ = PublicKey::from_blob(data);
    let (seed, ca) = seed_certificate();
    let original = seed.to_blob();
    let mut blob = original.to_vec();
    for pair in data.chunks(2) {
        match pair {
            [at, value] => {
                let i = usize::from(*at) * blob.len() / 256;
                blob[i] = *value;
            }
            [cut] => blob.truncate(usize::from(*cut) * blob.len() / 256),
            _ => {}
        }
    }
    let mut parsed = 0;
    if let Ok(c) = Certificate::from_blob(&blob) {
        parsed += 1;
        check(&c);
        if blob != original[..] && c.ca_key == ca {
            // Any change to the signed part breaks the CA signature; a change only
            // to the signature itself cannot forge one either.
            assert!(
                !c.signature_verifies(&policy) || c == seed,
                "a mutated certificate verified"
            );
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = PrivateKey::from_key_file(&text, None);
    let _ = RevokedKeys::parse(&text);
    parsed
}
