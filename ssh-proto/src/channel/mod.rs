//! The connection protocol (RFC 4254), split by job: the channel table and its
//! state (`table`), what the peer sends (`inbound`), what we send (`outbound`), the
//! narrow interface to the transport both use (`outbox`), what it reports
//! (`event`), and typed channel kinds and
//! requests (`request`).

mod event;
mod inbound;
mod outbound;
mod outbox;
mod request;
mod table;

pub use crate::channel_id::ChannelId;
pub(crate) use event::{ChannelEvent, ChannelEvents};
pub(crate) use outbox::Outbox;
pub use request::{ChannelKind, ChannelRequest, PtyRequest};
pub(crate) use table::ChannelTable;

/// Which stream channel data belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStream {
    /// Ordinary data (a process's stdin or stdout).
    Normal,
    /// Extended data type 1 (stderr).
    Stderr,
    /// Another extended data type.
    Extended(u32),
}

/// Reason codes for refusing a channel open (RFC 4254 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFailure {
    /// 1
    AdministrativelyProhibited,
    /// 2
    ConnectFailed,
    /// 3
    UnknownChannelType,
    /// 4
    ResourceShortage,
}

impl OpenFailure {
    pub(crate) fn code(self) -> u32 {
        match self {
            OpenFailure::AdministrativelyProhibited => 1,
            OpenFailure::ConnectFailed => 2,
            OpenFailure::UnknownChannelType => 3,
            OpenFailure::ResourceShortage => 4,
        }
    }
}

/// A snapshot of a channel's flow-control state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowState {
    /// Bytes the peer may still send us.
    pub recv_window: u32,
    /// Bytes delivered to the application and not yet consumed.
    pub recv_unconsumed: u32,
    /// Bytes we may still send.
    pub send_window: u32,
    /// Bytes accepted by `send` and waiting for window.
    pub send_buffered: usize,
}
