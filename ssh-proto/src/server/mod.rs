//! Everything a server adapter needs that does not touch IO, written once and shared
//! by the tokio, smol and blocking adapters: admission rules, the registry of live
//! connections and the server's lifecycle ([`ServerControl`]), the per-connection
//! [`Session`] that maps core events to the application's decisions ([`Call`]s),
//! channels as runtime-neutral streams ([`ChannelIo`]), the wake-up they share, and
//! a poll-based connection loop for async runtimes ([`drive`]).

pub mod admission;
pub mod channel_io;
pub mod control;
pub mod drive;
pub mod session;
mod stream_out;
pub mod wakeup;

pub use admission::{AddressPattern, AdmissionPolicy, Refusal, MAX_CONNECTIONS_CEILING};
pub use channel_io::{ChannelControl, ChannelIo, ChannelWriterIo, SendBuffer};
pub use control::{
    Admitted, ChannelInfo, ConnectionId, ConnectionInfo, RegistryError, ServerControl,
};
pub use drive::{serve, DriveStep, Driver, PollIo};
pub use session::{Answer, Call, ChannelContext, Ended, Reply, Session};
pub use wakeup::Wakeup;
