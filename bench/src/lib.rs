//! The load tool's parts: an in-process SSH client on tokio over our own
//! `ClientConnection` (used identically against every server under test), and
//! /proc readings of a server's CPU time and memory.

pub mod client;
pub mod procfs;
pub mod servers;
