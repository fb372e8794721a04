//! A deterministic sweep of the command-interleaving target with a fixed generator,
//! so a failure reproduces exactly (bolero's inputs differ from run to run); the
//! failing input is printed.

#[test]
fn command_interleavings_seeded_sweep() {
    let mut x: u64 = 0x1234567;
    for iter in 0..3000 {
        let len = (x % 200) as usize + 2;
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push((x >> 24) as u8);
        }
        let r = std::panic::catch_unwind(|| fuzz::command_interleavings(&v));
        assert!(r.is_ok(), "iteration {iter}, input {v:?}");
    }
}
