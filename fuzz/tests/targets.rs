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
fn server_key_exchange() {
    check!()
        .with_iterations(600)
        .with_max_len(1024)
        .for_each(|data: &[u8]| {
            fuzz::server_key_exchange(data);
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
fn authorized_keys() {
    check!()
        .with_iterations(3000)
        .with_max_len(512)
        .for_each(|data: &[u8]| {
            fuzz::authorized_keys(data);
        });
}

#[test]
fn authorized_keys_reach_the_options() {
    // Two option fields that parse: each becomes an entry once a key is appended.
    let data = b"from=\"10.0.0.0/8,!10.1.*\",restrict,pty\ncommand=\"x\"\n";
    assert!(fuzz::authorized_keys(data) >= 2);
}

#[test]
fn command_interleavings_reach_the_data_path() {
    // open, deliver, server sends 97*40 bytes, client sends 89*30, consume, EOF, close.
    let script = [0, 0, 9, 0, 1, 40, 2, 30, 3, 0, 9, 0, 4, 0, 5, 0, 9, 0];
    assert!(fuzz::command_interleavings(&script) >= (97 * 40 + 89 * 30) as u64);
}

/// An input for `server_key_exchange`: the method index, then (length << 1, payload)
/// pairs as the target splits them.
fn kex_input(method: u8, payloads: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![method];
    for p in payloads {
        v.push((p.len() as u8) << 1);
        v.extend_from_slice(p);
    }
    v
}

#[test]
fn server_key_exchange_reaches_the_end_of_each_method_family() {
    use ssh_proto::KexAlg;
    let index = |k: KexAlg| KexAlg::ALL.iter().position(|&a| a == k).unwrap() as u8;
    let mut x25519_init = vec![30u8, 0, 0, 0, 32, 9];
    x25519_init.extend([0u8; 31]);
    // e = 2 lies strictly between 1 and p - 1 in every group.
    let dh_init: &[u8] = &[30, 0, 0, 0, 1, 2];
    let gex_request: &[u8] = &[34, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 32, 0];
    let gex_init: &[u8] = &[32, 0, 0, 0, 1, 2];
    let newkeys: &[u8] = &[21];
    for input in [
        kex_input(index(KexAlg::Curve25519Sha256), &[&x25519_init, newkeys]),
        kex_input(index(KexAlg::DhGroup14Sha256), &[dh_init, newkeys]),
        kex_input(index(KexAlg::DhGroup18Sha512), &[dh_init, newkeys]),
        kex_input(
            index(KexAlg::DhGroupExchangeSha256),
            &[gex_request, gex_init, newkeys],
        ),
    ] {
        assert!(fuzz::server_key_exchange(&input), "{input:?}");
    }
    // A wrong message for the method ends it without keys.
    assert!(!fuzz::server_key_exchange(&kex_input(
        index(KexAlg::DhGroupExchangeSha256),
        &[dh_init, newkeys]
    )));
}

#[test]
fn certificates() {
    check!()
        .with_iterations(3000)
        .with_max_len(256)
        .for_each(|data: &[u8]| {
            fuzz::certificates(data);
        });
}

#[test]
fn certificate_mutations_reach_the_checks() {
    // No mutation pairs: the seed certificate itself parses and is checked.
    assert_eq!(fuzz::certificates(b""), 1);
    // One byte overwritten at each position: many such certificates still parse,
    // and for each the target asserts the CA signature no longer verifies.
    let parsed: usize = (0..=255u8).map(|at| fuzz::certificates(&[at, b'x'])).sum();
    assert!(parsed > 50, "only {parsed} mutated certificates parsed");
}
