//! RFC 4251 encoding: a checked [`Reader`], a [`Writer`], message numbers and typed messages.

pub mod codes;
pub mod message;
mod reader;
mod writer;

pub use reader::Reader;
pub use writer::Writer;

/// Iterate the names of an RFC 4251 name-list (comma separated, no empty names).
pub fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter(|n| !n.is_empty())
}
