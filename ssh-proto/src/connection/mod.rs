//! A connection of either role: [`Connection`] holds the shared [`core::Core`]
//! (transport, channels, events) and its role's state, and carries the calls both
//! roles share; `server` and `client` hold what only one role does.

mod channel_handle;
mod client;
mod core;
mod host_keys;
mod server;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use self::core::Core;
pub use channel_handle::Channel;
pub use client::ClientRole;
pub use server::{PeerContext, ServerRole};

use crate::channel::ChannelId;
use crate::error::{CommandError, ConnectionError, DisconnectReason, Error};
use crate::event::Event;

/// An SSH connection as a pure state machine, generic over its role: the five calls
/// (`handle_input`, `poll_event`, `poll_transmit`, `poll_timeout`, `handle_timeout`)
/// and the application's commands.
pub struct Connection<R> {
    core: Core,
    role: R,
}

/// The server role of an SSH connection.
pub type ServerConnection = Connection<ServerRole>;
/// The client role of an SSH connection: used by tests, fuzzers and benchmarks to drive
/// servers in memory, and usable as a minimal client.
pub type ClientConnection = Connection<ClientRole>;

/// The role of a connection: [`ServerRole`] or [`ClientRole`] (sealed: what a role
/// adds to the shared input loop is the crate's own).
pub trait Role: sealed::Dispatch {}

impl Role for ServerRole {}
impl Role for ClientRole {}

// Sealed: `Dispatch` is unnameable outside the crate, so nothing outside can call or
// implement it, and the crate-internal error in its signatures stays internal.
#[allow(private_interfaces)]
mod sealed {
    use std::time::Instant;

    use bytes::Bytes;

    use super::Connection;
    use crate::error::Error;

    /// What each role adds to the shared input loop.
    pub trait Dispatch: Sized {
        /// Handle one decrypted payload.
        fn dispatch(conn: &mut Connection<Self>, now: Instant, payload: Bytes)
            -> Result<(), Error>;
        /// React to what the transport reported (keys exchanged, ...).
        fn on_transport_events(conn: &mut Connection<Self>) -> Result<(), Error>;
        /// Let go of the role's empty buffers.
        fn shrink(&mut self);
    }
}
use sealed::Dispatch;

impl<R: Role> Connection<R> {
    /// Feed received bytes. Whole packets are consumed from `buf`; a partial tail is
    /// left for the next call. On error the connection has already queued a
    /// DISCONNECT and an `Event::Disconnected`. After the connection has ended, input
    /// is ignored.
    pub fn handle_input(
        &mut self,
        now: Instant,
        buf: &mut BytesMut,
    ) -> Result<(), ConnectionError> {
        input(self, now, buf)
    }

    /// Let go of the buffers and queues that are empty now, so a quiet connection
    /// holds as little memory as possible. Cheap; call it when the connection goes
    /// quiet (the async adapters do each time it goes idle while no data streams
    /// in), not per packet: the next busy moment allocates them again.
    pub fn shrink_buffers(&mut self) {
        shrink(self)
    }
}

/// The loop of `handle_input`, with the role's dispatch.
fn input<R: Dispatch>(
    conn: &mut Connection<R>,
    now: Instant,
    buf: &mut BytesMut,
) -> Result<(), ConnectionError> {
    if conn.core.closed {
        return Ok(());
    }
    loop {
        let r = conn.core.transport.poll_payload(now, buf);
        let payload = match r {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                // Report what the transport finished before the failure
                // (a key exchange completed in the same read) first.
                let _ = R::on_transport_events(conn);
                return Err(conn.core.fail(e));
            }
        };
        if let Err(e) = R::dispatch(conn, now, payload) {
            return Err(conn.core.fail(e));
        }
        if let Err(e) = R::on_transport_events(conn) {
            return Err(conn.core.fail(e));
        }
        if conn.core.closed {
            return Ok(());
        }
    }
    if let Err(e) = R::on_transport_events(conn) {
        return Err(conn.core.fail(e));
    }
    conn.core.after().map_err(|e| conn.core.fail(e))
}

/// The shared part of `shrink_buffers`.
fn shrink<R: Dispatch>(conn: &mut Connection<R>) {
    conn.role.shrink();
    conn.core.transport.shrink();
    if conn.core.events.is_empty() && conn.core.events.capacity() > 0 {
        conn.core.events = VecDeque::new();
    }
}

impl<R> Connection<R> {
    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.core.events.pop_front()
    }

    /// The next bytes to write to the socket, in order (many packets per chunk).
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.core.poll_transmit()
    }

    /// Bytes waiting to be handed out by `poll_transmit`.
    pub fn pending_output(&self) -> usize {
        self.core.transport.pending_output()
    }

    /// A handle for one channel's commands (also for channels that have just closed,
    /// so late `consume` calls stay harmless; other commands then fail with
    /// `Error::UnknownChannel`).
    pub fn channel(&mut self, id: ChannelId) -> Result<Channel<'_>, CommandError> {
        if self.core.closed {
            return Err(CommandError::Closed);
        }
        Ok(Channel {
            core: &mut self.core,
            id,
        })
    }

    /// Ids of the channels in the table.
    pub fn channel_ids(&self) -> Vec<ChannelId> {
        self.core.channels.ids()
    }

    /// Number of channels in the table.
    pub fn channel_count(&self) -> usize {
        self.core.channels.len()
    }

    /// Start a key re-exchange now.
    pub fn rekey(&mut self) -> Result<(), CommandError> {
        let r = self.core.check_open().and_then(|()| {
            if !self.core.transport.established() {
                return Err(Error::InvalidState("initial key exchange not finished"));
            }
            self.core.transport.start_kex()
        });
        self.core.command(r)
    }

    /// Send DISCONNECT and close.
    pub fn disconnect(&mut self, reason: DisconnectReason, description: &str) {
        self.core.disconnect(reason, description);
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.core.closed
    }

    /// Send a global request (e.g. keepalive@openssh.com); with want_reply an
    /// `Event::GlobalReply` follows.
    pub fn global_request(
        &mut self,
        name: &str,
        want_reply: bool,
        data: &[u8],
    ) -> Result<(), CommandError> {
        let core = &mut self.core;
        let r = core.check_open().and_then(|()| {
            core.channels
                .global_request(name, want_reply, data, &mut core.transport)
        });
        self.core.command(r)
    }

    /// Send any payload as one packet (message number first), encrypted with the
    /// keys in force. For tests, fuzzing and protocol extensions (reference:
    /// SendSSHPacket); held like any message during key exchange.
    pub fn send_raw_packet(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        let r = self.core.check_open().and_then(|()| {
            if payload.is_empty() {
                return Err(Error::InvalidState("empty payload"));
            }
            self.core.transport.send(payload)
        });
        self.core.command(r)
    }

    /// The logging settings in force.
    pub fn log_settings(&self) -> &crate::log::LogSettings {
        self.core.transport.log_settings()
    }

    /// The peer's identification line.
    pub fn peer_version(&self) -> Option<&str> {
        self.core.transport.peer_version()
    }

    /// The algorithms in force.
    pub fn negotiated(&self) -> Option<&crate::transport::Negotiated> {
        self.core.transport.negotiated()
    }

    /// The session identifier (the first exchange hash).
    pub fn session_id(&self) -> Option<&[u8]> {
        self.core.transport.session_id()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::error::{ConnectionError, DisconnectReason, Violation};
    use crate::event::Event;
    use crate::testing::{seeded_configs, Pair};

    /// A client that claims strict kex but does not reset its sequence numbers at
    /// NEWKEYS (Terrapin, CVE-2023-48795): its first encrypted packet fails the MAC
    /// and the connection ends; the strict server never reaches authentication.
    #[test]
    fn a_client_whose_sequence_numbers_do_not_reset_is_dropped_under_strict_kex() {
        use crate::crypto::cipher::CipherAlg;
        for (i, cipher) in CipherAlg::ALL.iter().enumerate() {
            let (s, mut c) = seeded_configs(230 + i as u64).unwrap();
            c.transport.algorithms.ciphers = vec![*cipher];
            let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
            p.client.core.transport.broken_keep_send_seq = true;
            p.drive();
            let _ = p.client.auth_password("alice", "secret");
            p.drive();
            if matches!(cipher, CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm) {
                // AES-GCM's nonce is its own invocation counter (RFC 5647), not the
                // sequence number: nothing depends on it, so nothing can fail (and
                // nothing can be truncated unnoticed either).
                assert!(p.server_error.is_none(), "{cipher:?}: {:?}", p.server_error);
                continue;
            }
            // AEAD tags and MACs fail; chacha20-poly1305 already decrypts the length
            // with the wrong nonce, which gives a length over the limit or a bad tag.
            assert!(
                matches!(
                    p.server_error,
                    Some(ConnectionError::Peer(Violation::BadMac))
                        | Some(ConnectionError::Peer(Violation::PacketLength(_)))
                ),
                "{cipher:?}: {:?}",
                p.server_error
            );
            assert!(p.server.is_closed());
            assert!(p.server.user().is_none());
            assert!(p.server_events.iter().any(|e| matches!(
                e,
                Event::Disconnected {
                    reason: DisconnectReason::MacError | DisconnectReason::ProtocolError,
                    by_peer: false,
                    ..
                }
            )));
            assert!(!p
                .server_events
                .iter()
                .any(|e| matches!(e, Event::AuthRequest(_))));
        }
    }

    /// The same client with strict kex off on the server: no reset is expected of
    /// anyone, so the connection works.
    #[test]
    fn without_strict_kex_sequence_numbers_run_on() {
        let (mut s, c) = seeded_configs(231).unwrap();
        s.transport.strict_kex = false;
        let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
        p.client.core.transport.broken_keep_send_seq = true;
        p.drive();
        assert!(p.client.auth_password("alice", "secret").is_ok());
        p.drive();
        assert!(p.server_error.is_none(), "{:?}", p.server_error);
        assert!(p
            .server_events
            .iter()
            .any(|e| matches!(e, Event::AuthRequest(_))));
    }
}
