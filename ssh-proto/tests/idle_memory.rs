//! Heap held by an idle authenticated server connection, counted with dhat's
//! allocator (its own test binary: dhat allows one profiler per process).

use std::sync::Arc;

use ssh_proto::testing::{seeded_configs, Pair};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

mod common;
use common::*;

/// Heap held by one idle authenticated server connection (its client and the harness
/// dropped), measured with dhat: the core's share of a server's idle memory.
#[test]
fn heap_held_by_an_idle_authenticated_server_connection() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (s, c) = seeded_configs(91).unwrap();
    let (s, c) = (Arc::new(s), Arc::new(c));
    let before = dhat::HeapStats::get().curr_bytes;
    let mut servers = Vec::new();
    for _ in 0..100 {
        let mut p = Pair::new(s.clone(), c.clone()).unwrap();
        login(&mut p);
        p.drive();
        p.server.shrink_buffers();
        servers.push(p.server);
    }
    let per = (dhat::HeapStats::get().curr_bytes - before) / servers.len();
    println!("heap per idle authenticated server connection: {per} bytes");
    // 2.2 KiB when written (cipher keys boxed, empty buffers released); the bound
    // catches a return of the 6.5 KiB struct or of per-connection 64 KiB buffers.
    assert!(per < 4 * 1024, "{per} bytes");
}
