//! Heap allocations on the data path, counted with dhat's allocator: a steady-state
//! transfer through our client and server in memory (both ends and the harness are
//! counted, so this is an upper bound for the server alone). The figure is printed;
//! the bounds asserted catch per-packet allocation and output buffers that are not
//! reused.

use std::sync::Arc;

use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::*;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

mod common;
use common::*;

#[test]
fn allocations_per_mib_in_a_steady_transfer() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (s, c) = seeded_configs(90).unwrap();
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
    login(&mut p);
    let (cid, sid) = open_exec(&mut p, "cat");
    let chunk = vec![0x5au8; 64 * 1024];
    let move_mib = |p: &mut Pair, mib: usize| {
        let total = mib << 20;
        let (mut sent, mut received) = (0usize, 0usize);
        while received < total {
            if sent < total {
                let n = (total - sent).min(chunk.len());
                sent += p.server.channel(sid).unwrap().send(&chunk[..n]).unwrap();
            }
            p.step();
            while let Some(e) = p.client_events.pop_front() {
                if let Event::ChannelData { data, .. } = e {
                    received += data.len();
                    p.client.channel(cid).unwrap().consume(data.len()).unwrap();
                }
            }
        }
    };
    move_mib(&mut p, 4); // warm up: buffers reach their working size
    let before = dhat::HeapStats::get();
    const MIB: usize = 32;
    move_mib(&mut p, MIB);
    let after = dhat::HeapStats::get();
    let blocks = after.total_blocks - before.total_blocks;
    let bytes = after.total_bytes - before.total_bytes;
    let packets = (MIB << 20) / (32 * 1024);
    eprintln!(
        "steady state, {MIB} MiB server->client in 32 KiB packets ({packets} packets): \
         {} allocations per MiB, {} bytes allocated per MiB (client, server and harness together)",
        blocks / MIB as u64,
        bytes / MIB as u64
    );
    // 32 packets per MiB: fewer allocations than packets means nothing is allocated
    // per packet on the way through.
    assert!(
        blocks / (MIB as u64) < 32,
        "{} allocations per MiB: something allocates per packet",
        blocks / MIB as u64
    );
    // The sealed output refills its two buffers in turn: a busy sender's bytes do
    // not go through fresh allocations (7 per MiB and ~600 KB when it did).
    assert!(
        bytes / (MIB as u64) < 64 * 1024,
        "{} bytes allocated per MiB: the sealed output allocates new buffers",
        bytes / MIB as u64
    );
}
