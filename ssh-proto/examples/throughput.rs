//! In-memory throughput: our client and server wired by `testing::Pair`, one channel,
//! N MiB server -> client, per cipher. Both sides' work (seal and open) runs on one
//! core, so the figure is the protocol's end-to-end cost, not a socket's.
//!
//! cargo run --release -p ssh-proto --example throughput -- 1024

use std::sync::Arc;
use std::time::Instant;

use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::{AuthDecision, CipherAlg, Event, MacAlg};

fn run(cipher: CipherAlg, mac: Option<MacAlg>, mib: usize) -> f64 {
    let (s, mut c) = seeded_configs(1).expect("configs");
    c.transport.algorithms.ciphers = vec![cipher];
    if let Some(m) = mac {
        c.transport.algorithms.macs = vec![m];
    }
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).expect("pair");
    p.drive();
    p.client.auth_none("bench").expect("auth");
    let Some(Event::AuthRequest(r)) = p.server_event(|e| matches!(e, Event::AuthRequest(_))) else {
        panic!("no auth")
    };
    p.server
        .answer_auth(r.id, AuthDecision::Accept)
        .expect("answer");
    p.drive();
    let cid = p.client.open_session().expect("open");
    let Some(Event::ChannelOpenRequest { channel: sid, .. }) =
        p.server_event(|e| matches!(e, Event::ChannelOpenRequest { .. }))
    else {
        panic!("no open")
    };
    p.server.accept_channel(sid).expect("accept");
    p.drive();
    p.client_events.clear();
    let total = mib << 20;
    let chunk = vec![0x42u8; 256 * 1024];
    let (mut sent, mut got) = (0usize, 0usize);
    let start = Instant::now();
    while got < total {
        if sent < total {
            let n = (total - sent).min(chunk.len());
            sent += p
                .server
                .channel(sid)
                .expect("ch")
                .send(&chunk[..n])
                .expect("send");
        }
        p.step();
        let mut n = 0;
        while let Some(e) = p.client_events.pop_front() {
            if let Event::ChannelData { data, .. } = e {
                n += data.len();
            }
        }
        if n > 0 {
            p.client
                .channel(cid)
                .expect("ch")
                .consume(n)
                .expect("consume");
            got += n;
        }
    }
    total as f64 / (1 << 20) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    for (c, m) in [
        (CipherAlg::ChaCha20Poly1305, None),
        (CipherAlg::Aes256Gcm, None),
        (CipherAlg::Aes128Gcm, None),
        (CipherAlg::Aes128Ctr, Some(MacAlg::HmacSha256Etm)),
    ] {
        let name = format!(
            "{}{}",
            c.name(),
            m.map(|m| format!(" + {}", m.name())).unwrap_or_default()
        );
        println!(
            "{name:55} {:8.0} MiB/s  ({mib} MiB, seal+open on one core)",
            run(c, m, mib)
        );
    }
}
