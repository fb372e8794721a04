//! The fuzz targets as bounded property tests (bolero picks random inputs under
//! `cargo test`; `cargo bolero test <name>` runs them under libFuzzer).

use bolero::check;

#[test]
fn decoders() {
    check!()
        .with_iterations(3000)
        .with_max_len(512)
        .for_each(|data: &[u8]| fuzz::decoders(data));
}

#[test]
fn server_from_first_byte() {
    check!()
        .with_iterations(2000)
        .with_max_len(4096)
        .for_each(|data: &[u8]| {
            // Half the cases start with a valid identification line so the packet layer is reached.
            let mut v = b"SSH-2.0-fuzz\r\n".to_vec();
            if data.first().is_some_and(|b| b & 1 == 0) {
                v.extend_from_slice(data);
                fuzz::server_from_first_byte(&v)
            } else {
                fuzz::server_from_first_byte(data)
            }
        });
}

#[test]
fn server_after_auth() {
    check!()
        .with_iterations(150)
        .with_max_len(2048)
        .for_each(|data: &[u8]| {
            assert!(
                fuzz::server_after_auth(data),
                "the session must reach authentication"
            );
        });
}

#[test]
fn recorded_handshake_corpus_entries_run() {
    // Seed corpus (fuzz/corpus/): a recorded client handshake prefix; it must be accepted.
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus")).expect("corpus dir")
    {
        let data = std::fs::read(entry.expect("entry").path()).expect("read");
        fuzz::server_from_first_byte(&data);
    }
}

#[test]
fn bolero_really_runs_many_inputs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    check!().with_iterations(500).for_each(|_data: &[u8]| {
        N.fetch_add(1, Ordering::Relaxed);
    });
    assert!(
        N.load(Ordering::Relaxed) >= 500,
        "bolero ran {} inputs",
        N.load(Ordering::Relaxed)
    );
}

#[test]
fn command_interleavings() {
    check!()
        .with_iterations(400)
        .with_max_len(512)
        .for_each(|data: &[u8]| {
            fuzz::command_interleavings(data);
        });
}

#[test]
fn command_interleavings_reach_the_data_path() {
    // open, deliver, server sends 97*40 bytes, client sends 89*30, consume, EOF, close.
    let script = [0, 0, 9, 0, 1, 40, 2, 30, 3, 0, 9, 0, 4, 0, 5, 0, 9, 0];
    assert!(fuzz::command_interleavings(&script) >= (97 * 40 + 89 * 30) as u64);
}
