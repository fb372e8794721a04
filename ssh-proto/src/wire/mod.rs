//! RFC 4251 encoding: a checked [`Reader`] and a [`Writer`], public for applications
//! that build or parse custom payloads (global and channel request data, raw packets);
//! message numbers and the typed messages stay inside the crate.

pub(crate) mod codes;
pub(crate) mod message;
mod reader;
mod writer;

pub use reader::Reader;
pub use writer::Writer;

/// Iterate the names of an RFC 4251 name-list (comma separated, no empty names).
pub(crate) fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter(|n| !n.is_empty())
}
