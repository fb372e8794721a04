//! The server layer every `ssh-proto` adapter shares: everything a runtime needs that
//! is neither protocol logic (that is `ssh-proto`, a pure state machine) nor IO (that
//! is each adapter's socket and timer glue).
//!
//! - [`Session`]: one connection's core events mapped to the application's decisions
//!   ([`Call`]s), answers coming back from any task or thread, channel streams,
//!   registry upkeep and commands.
//! - [`Driver`]: the connection loop as a poll function over [`PollIo`] (socket, timer
//!   and clock), with the read-size, quick-ACK and linger rules; [`serve`] awaits it.
//! - [`ChannelIo`]: a channel as a runtime-neutral stream, with the [`Wakeup`] its
//!   connection loop waits on.
//! - [`ServerControl`]: the registry of live connections, admission, stop and shutdown.
//! - [`Handler`], [`Runtime`] and [`Server`]: the async application trait and the
//!   accept / admit / shutdown loop, written once for every async runtime.
//! - Socket setup: listeners for IPv4, IPv6 or both, TCP options, [`ServerOptions`].

mod admission;
mod channel_io;
mod control;
mod drive;
mod handler;
mod net;
mod runtime;
mod server;
mod session;
mod stream_out;
mod wakeup;

pub use admission::{AddressPattern, AdmissionPolicy, Refusal, MAX_CONNECTIONS_CEILING};
pub use channel_io::{ChannelControl, ChannelIo, ChannelWriterIo, SendBuffer, STREAM_OUT_CAP};
pub use control::{
    Admitted, ChannelInfo, ConnectionId, ConnectionInfo, ConnectionOrigin, RegistryError,
    ServerControl,
};
pub use drive::{serve, DriveStep, Driver, PollIo};
pub use handler::Handler;
pub use net::{ack_now, bind, local_addr, IpFamily, ListenOptions, ServerOptions, TcpOptions};
pub use runtime::{timeout, Runtime};
pub use server::{run_connection, Server, ServerHandle};
pub use session::{Answer, Call, ChannelContext, Ended, Reply, Session};
pub use wakeup::Wakeup;
