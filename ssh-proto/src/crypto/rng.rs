//! The randomness seam: the system RNG by default, a seeded one for tests and fuzzing.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;

use crate::error::RngError;

/// A source of random bytes. Every random value the core uses (cookies, padding,
/// ephemeral keys) comes through this trait, so a seeded implementation makes runs
/// reproducible.
pub trait Rng: Send + Sync {
    /// Fill `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RngError>;
}

/// The operating system's secure RNG, through aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RngError> {
        aws_lc_rs::rand::fill(dest).map_err(|_| RngError)
    }
}

/// A deterministic generator for tests and fuzzing: SHA-256 over a seed and a counter.
/// Never use it to protect real traffic.
#[derive(Debug)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl SeededRng {
    /// A generator whose output depends only on `seed` and the order of calls.
    pub fn new(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_be_bytes());
        SeededRng {
            seed: s,
            counter: AtomicU64::new(0),
        }
    }
}

impl Rng for SeededRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RngError> {
        for chunk in dest.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&self.seed);
            ctx.update(&n.to_be_bytes());
            let d = ctx.finish();
            chunk.copy_from_slice(&d.as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (a, b, c) = (SeededRng::new(1), SeededRng::new(1), SeededRng::new(2));
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut s = [0u8; 40];
        SystemRng.fill(&mut s).unwrap();
        assert_ne!(s, [0u8; 40]);
    }
}
