//! Fuzz targets on the ssh-proto core. Each target is a plain function of bytes, so
//! it runs under bolero in `cargo test` (bounded) and under libFuzzer through
//! `cargo bolero test` (unbounded); see fuzz/README.md.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::wire::message::Message;
use ssh_proto::{AuthDecision, ChannelKind, ChannelRequest, Event, PublicKey, ServerConnection};

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
