//! The load tool's parts: an in-process SSH client on tokio over our own
//! `ClientConnection` (used identically against every server under test), and
//! /proc readings of a server's CPU time and memory, and the bare aws-lc-rs
//! primitive of each cipher suite the benchmarks compare our packet layer with.

pub mod client;
pub mod procfs;
pub mod raw;
pub mod servers;
