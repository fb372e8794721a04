//! Micro-benchmarks of the core (divan): packet seal and open per cipher suite at
//! 32 KiB payloads beside the raw aws-lc-rs primitive on the same buffer (the ratio is
//! the protocol's overhead), wire encode/decode of the hot messages, and a whole
//! in-memory handshake.
//!
//! cargo bench -p ssh-bench --bench core

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use divan::{black_box, Bencher};
use ssh_bench::raw::RawSealer;
use ssh_proto::testing::Message;
use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::testing::{Direction, PacketProtection};
use ssh_proto::{AuthDecision, CipherAlg, Event, MacAlg, PrivateKey, SeededRng};

fn main() {
    divan::main();
}

const PAYLOAD: usize = 32 * 1024;
const KEY: [u8; 64] = [7; 64];
const IV: [u8; 16] = [9; 16];

/// A framed packet (length, padding length, payload, padding) for `p`, and its tag space.
fn packet_for(p: &PacketProtection) -> (Vec<u8>, Vec<u8>) {
    let block = p.block_size();
    let framed = if p.length_outside_alignment() {
        1 + PAYLOAD
    } else {
        5 + PAYLOAD
    };
    let mut pad = block - framed % block;
    if pad < 4 {
        pad += block;
    }
    let len = 1 + PAYLOAD + pad;
    let mut v = vec![0u8; 4 + len];
    v[..4].copy_from_slice(&(len as u32).to_be_bytes());
    v[4] = pad as u8;
    (v, vec![0u8; p.tag_len()])
}

#[derive(Debug, Clone, Copy)]
enum Suite {
    ChaCha,
    Aes128Gcm,
    Aes256Gcm,
    Aes128CtrHmacSha256Etm,
}

const SUITES: [Suite; 4] = [
    Suite::ChaCha,
    Suite::Aes128Gcm,
    Suite::Aes256Gcm,
    Suite::Aes128CtrHmacSha256Etm,
];

impl Suite {
    fn alg(self) -> (CipherAlg, Option<MacAlg>) {
        match self {
            Suite::ChaCha => (CipherAlg::ChaCha20Poly1305, None),
            Suite::Aes128Gcm => (CipherAlg::Aes128Gcm, None),
            Suite::Aes256Gcm => (CipherAlg::Aes256Gcm, None),
            Suite::Aes128CtrHmacSha256Etm => (CipherAlg::Aes128Ctr, Some(MacAlg::HmacSha256Etm)),
        }
    }

    fn protection(self, dir: Direction) -> PacketProtection {
        let (c, m) = self.alg();
        PacketProtection::new(dir, c, &KEY, &IV, m.map(|m| (m, &KEY[..]))).unwrap()
    }
}

/// Our packet layer sealing one 32 KiB packet.
#[divan::bench(args = SUITES)]
fn seal(b: Bencher<'_, '_>, suite: Suite) {
    let mut p = suite.protection(Direction::Seal);
    let (mut pkt, mut tag) = packet_for(&p);
    let mut seq = 0u32;
    b.counter(divan::counter::BytesCount::new(PAYLOAD))
        .bench_local(|| {
            seq = seq.wrapping_add(1);
            p.seal(seq, &mut pkt, &mut tag).unwrap();
        });
}

/// Our packet layer opening one 32 KiB packet. GCM and CTR carry a counter from packet
/// to packet, so 64 packets are sealed in order beforehand and opened in order by an
/// opener made anew every 64 (its key setup is amortised over them).
#[divan::bench(args = SUITES)]
fn open(b: Bencher<'_, '_>, suite: Suite) {
    const RUN: usize = 64;
    let mut sealer = suite.protection(Direction::Seal);
    let sealed: Vec<(Vec<u8>, Vec<u8>)> = (0..RUN)
        .map(|i| {
            let (mut pkt, mut tag) = packet_for(&sealer);
            sealer.seal(i as u32, &mut pkt, &mut tag).unwrap();
            (pkt, tag)
        })
        .collect();
    let mut opener = suite.protection(Direction::Open);
    let mut buf = sealed[0].0.clone();
    let mut i = 0usize;
    b.counter(divan::counter::BytesCount::new(PAYLOAD))
        .bench_local(|| {
            if i == RUN {
                i = 0;
                opener = suite.protection(Direction::Open);
            }
            let (pkt, tag) = &sealed[i];
            buf.copy_from_slice(pkt);
            let head = opener.length_prefix_len();
            let _ = opener.packet_length(i as u32, &mut buf[..head]).unwrap();
            opener.open(i as u32, &mut buf, tag).unwrap();
            i += 1;
        });
}

/// The raw primitive on the same bytes: AES-GCM / ChaCha20-Poly1305 (IETF) AEAD seal
/// in place, or AES-128-CTR plus HMAC-SHA-256 over the result.
#[divan::bench(args = SUITES)]
fn raw_cipher(b: Bencher<'_, '_>, suite: Suite) {
    let mut buf = vec![0u8; PAYLOAD + 32];
    let (c, m) = suite.alg();
    let raw = RawSealer::new(c, m).unwrap();
    b.counter(divan::counter::BytesCount::new(PAYLOAD))
        .bench_local(|| black_box(raw.seal(&mut buf)));
}

/// Encode a CHANNEL_DATA with a 32 KiB payload and a WINDOW_ADJUST.
#[divan::bench]
fn encode_hot_messages(b: Bencher<'_, '_>) {
    let data = Bytes::from(vec![1u8; PAYLOAD]);
    let mut out = BytesMut::with_capacity(2 * PAYLOAD);
    b.bench_local(|| {
        out.clear();
        Message::ChannelData {
            recipient: 3,
            data: data.clone(),
        }
        .encode(&mut out);
        Message::ChannelWindowAdjust {
            recipient: 3,
            bytes: 1 << 20,
        }
        .encode(&mut out);
        black_box(out.len());
    });
}

/// Decode the same two messages (CHANNEL_DATA's payload is a slice, not a copy).
#[divan::bench]
fn decode_hot_messages(b: Bencher<'_, '_>) {
    let data = Message::ChannelData {
        recipient: 3,
        data: Bytes::from(vec![1u8; PAYLOAD]),
    }
    .to_bytes();
    let adjust = Message::ChannelWindowAdjust {
        recipient: 3,
        bytes: 1 << 20,
    }
    .to_bytes();
    b.bench_local(|| {
        black_box(Message::decode(&data).unwrap());
        black_box(Message::decode(&adjust).unwrap());
    });
}

/// A whole handshake in memory: curve25519 key exchange, ed25519 host key, publickey
/// login with an ed25519 key (signed by the client, verified by the server), session open.
#[divan::bench(sample_count = 50)]
fn handshake_in_memory(b: Bencher<'_, '_>) {
    let (s, c) = seeded_configs(1).unwrap();
    let (s, c) = (Arc::new(s), Arc::new(c));
    let user = PrivateKey::generate_ed25519(&SeededRng::new(77)).unwrap();
    b.bench_local(|| {
        let mut p = Pair::new(s.clone(), c.clone()).unwrap();
        p.client_event(|e| matches!(e, Event::KeysExchanged(_)))
            .unwrap();
        p.client.auth_publickey("bench", &user).unwrap();
        let Some(Event::AuthRequest(r)) = p.server_event(|e| matches!(e, Event::AuthRequest(_)))
        else {
            panic!("no auth request")
        };
        p.server.answer_auth(r.id, AuthDecision::Accept).unwrap();
        p.client_event(|e| matches!(e, Event::Authenticated { .. }))
            .unwrap();
        p.client.open_session().unwrap();
        let Some(Event::ChannelOpenRequest { channel, .. }) =
            p.server_event(|e| matches!(e, Event::ChannelOpenRequest { .. }))
        else {
            panic!("no open")
        };
        p.server.accept_channel(channel).unwrap();
        p.client_event(|e| matches!(e, Event::ChannelOpened { .. }))
            .unwrap();
        black_box(p);
    });
}
