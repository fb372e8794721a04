//! An in-memory pair of our client and server wired by byte queues with a fake clock:
//! the base of tests, fuzzing and benchmarks. No sockets, no threads, deterministic
//! when both configs use a seeded RNG. The clock is read once, for its epoch; from then
//! on it moves only when a test advances it or when [`Pair::run_for`] jumps it to the
//! next timer. Behind the `testing` cargo feature.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};

use crate::config::{ClientConfig, ServerConfig};
use crate::connection::{ClientConnection, ServerConnection};
use crate::crypto::rng::SeededRng;
use crate::error::{ConfigError, ConnectionError};
use crate::event::Event;
use crate::keys::PrivateKey;

/// Packet protection and typed messages, for the benchmarks and fuzz targets that
/// measure or craft them directly; not part of the library's surface.
pub use crate::crypto::cipher::{Direction, PacketProtection};
pub use crate::wire::message::Message;

/// A client and a server connected in memory.
pub struct Pair {
    /// The server under test.
    pub server: ServerConnection,
    /// Our client.
    pub client: ClientConnection,
    /// The fake clock.
    pub now: Instant,
    /// Bytes sent by the client, not yet read by the server.
    pub to_server: BytesMut,
    /// Bytes sent by the server, not yet read by the client.
    pub to_client: BytesMut,
    /// Events from the server, in order.
    pub server_events: VecDeque<Event>,
    /// Events from the client, in order.
    pub client_events: VecDeque<Event>,
    /// When false the client stops taking the server's output (a peer that does not read).
    pub client_reads: bool,
    /// When false the server stops taking the client's output.
    pub server_reads: bool,
    /// The error that ended the server, if any.
    pub server_error: Option<ConnectionError>,
    /// The error that ended the client, if any.
    pub client_error: Option<ConnectionError>,
    /// Most bytes the server is handed per read (None: everything in flight), to test
    /// short reads: packets split at every boundary.
    pub server_read_limit: Option<usize>,
    /// Most bytes the client is handed per read.
    pub client_read_limit: Option<usize>,
    /// The server's receive buffer: bytes read off the wire, not yet consumed.
    server_rx: BytesMut,
    /// The client's receive buffer.
    client_rx: BytesMut,
}

/// Steps [`Pair::drive`] takes before it decides the pair livelocks and panics.
const STEP_BOUND: usize = 100_000;

/// An unencrypted packet (as sent before the first NEWKEYS) around `payload`, with
/// zero padding: for tests and fuzz targets that speak raw protocol to a server.
pub fn plain_packet(payload: &[u8]) -> Vec<u8> {
    let mut pad = 8 - (5 + payload.len()) % 8;
    if pad < 4 {
        pad += 8;
    }
    let mut v = Vec::with_capacity(5 + payload.len() + pad);
    v.extend_from_slice(&((1 + payload.len() + pad) as u32).to_be_bytes());
    v.push(pad as u8);
    v.extend_from_slice(payload);
    v.extend(std::iter::repeat_n(0u8, pad));
    v
}

/// Deterministic configs: a seeded ed25519 host key, seeded RNGs.
pub fn seeded_configs(seed: u64) -> Result<(ServerConfig, ClientConfig), ConfigError> {
    let host = PrivateKey::generate_ed25519(&SeededRng::new(seed ^ 0x5eed))?;
    let server = ServerConfig::builder()
        .host_key(host)
        .rng(Arc::new(SeededRng::new(seed)))
        .build()?;
    let mut client = ClientConfig::default();
    client.transport.rng = Arc::new(SeededRng::new(seed.wrapping_add(1)));
    Ok((server, client))
}

impl Pair {
    /// Connect a new client and server at a fixed start time.
    pub fn new(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> Result<Self, ConfigError> {
        let now = Instant::now();
        Ok(Pair {
            server: ServerConnection::new(server, now)?,
            client: ClientConnection::new(client, now)?,
            now,
            to_server: BytesMut::new(),
            to_client: BytesMut::new(),
            server_events: VecDeque::new(),
            client_events: VecDeque::new(),
            client_reads: true,
            server_reads: true,
            server_error: None,
            client_error: None,
            server_read_limit: None,
            client_read_limit: None,
            server_rx: BytesMut::new(),
            client_rx: BytesMut::new(),
        })
    }

    /// Move up to `limit` bytes from `wire` into `rx` (a read).
    fn read(wire: &mut BytesMut, rx: &mut BytesMut, limit: Option<usize>) {
        let n = limit.map_or(wire.len(), |l| l.min(wire.len()));
        rx.extend_from_slice(&wire[..n]);
        wire.advance(n);
    }

    /// Move bytes one hop each way and collect events. Returns whether anything moved.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        while let Some(b) = self.client.poll_transmit() {
            self.to_server.extend_from_slice(&b);
            moved = true;
        }
        if self.client_reads {
            while let Some(b) = self.server.poll_transmit() {
                self.to_client.extend_from_slice(&b);
                moved = true;
            }
        }
        if self.server_reads && !self.to_server.is_empty() && !self.server.is_closed() {
            // Unlimited reads consume the wire buffer in place (no copy); limited
            // ones go through the side's receive buffer.
            let buf = if self.server_read_limit.is_none() && self.server_rx.is_empty() {
                &mut self.to_server
            } else {
                Self::read(
                    &mut self.to_server,
                    &mut self.server_rx,
                    self.server_read_limit,
                );
                &mut self.server_rx
            };
            if let Err(e) = self.server.handle_input(self.now, buf) {
                self.server_error.get_or_insert(e);
            }
            moved = true;
        }
        if self.client_reads && !self.to_client.is_empty() && !self.client.is_closed() {
            // Unlimited reads consume the wire buffer in place (no copy); limited
            // ones go through the side's receive buffer.
            let buf = if self.client_read_limit.is_none() && self.client_rx.is_empty() {
                &mut self.to_client
            } else {
                Self::read(
                    &mut self.to_client,
                    &mut self.client_rx,
                    self.client_read_limit,
                );
                &mut self.client_rx
            };
            if let Err(e) = self.client.handle_input(self.now, buf) {
                self.client_error.get_or_insert(e);
            }
            moved = true;
        }
        // Timers already due run at once, as an adapter's loop would run them.
        if !self.server.is_closed() && self.server.poll_timeout().is_some_and(|t| t <= self.now) {
            if let Err(e) = self.server.handle_timeout(self.now) {
                self.server_error.get_or_insert(e);
            }
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push_back(e);
            moved = true;
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push_back(e);
            moved = true;
        }
        moved
    }

    /// Step until nothing moves. Panics after a bound on the steps: a livelock is a
    /// test failure, never a silent return.
    pub fn drive(&mut self) {
        for _ in 0..STEP_BOUND {
            if !self.step() {
                return;
            }
        }
        panic!("the pair still moves after {STEP_BOUND} steps: livelock");
    }

    /// Advance the fake clock and run due timers on both sides.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.run_due_timers();
        self.drive();
    }

    fn run_due_timers(&mut self) {
        if !self.server.is_closed() && self.server.poll_timeout().is_some_and(|t| t <= self.now) {
            if let Err(e) = self.server.handle_timeout(self.now) {
                self.server_error.get_or_insert(e);
            }
        }
        if !self.client.is_closed() && self.client.poll_timeout().is_some_and(|t| t <= self.now) {
            if let Err(e) = self.client.handle_timeout(self.now) {
                self.client_error.get_or_insert(e);
            }
        }
    }

    /// The earliest timer either side has armed.
    pub fn next_timer(&self) -> Option<Instant> {
        let side = |closed: bool, t: Option<Instant>| t.filter(|_| !closed);
        [
            side(self.server.is_closed(), self.server.poll_timeout()),
            side(self.client.is_closed(), self.client.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Let `d` of fake time pass the way real time would: drive until quiet, jump the
    /// clock to the next timer either side has armed, run it, and again, until the
    /// next timer lies beyond `d` (the clock then stands at the end of `d`). Returns
    /// the timers run. Panics past a bound on the jumps (a timer that re-arms at the
    /// same instant forever).
    pub fn run_for(&mut self, d: Duration) -> usize {
        let end = self.now + d;
        self.drive();
        for fired in 0..STEP_BOUND {
            match self.next_timer() {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.run_due_timers();
                    self.drive();
                }
                _ => {
                    self.now = end;
                    return fired;
                }
            }
        }
        panic!("more than {STEP_BOUND} timers within {d:?}: a timer re-arms without time passing");
    }

    /// Drive until the server has an event matching `f` and return it (other events stay
    /// queued); None when the pair goes quiet without one.
    pub fn server_event(&mut self, f: impl Fn(&Event) -> bool) -> Option<Event> {
        Self::wait(self, |p| &mut p.server_events, f)
    }

    /// Drive until the client has an event matching `f` and return it.
    pub fn client_event(&mut self, f: impl Fn(&Event) -> bool) -> Option<Event> {
        Self::wait(self, |p| &mut p.client_events, f)
    }

    fn wait(
        &mut self,
        q: impl Fn(&mut Pair) -> &mut VecDeque<Event>,
        f: impl Fn(&Event) -> bool,
    ) -> Option<Event> {
        for _ in 0..STEP_BOUND {
            let queue = q(self);
            if let Some(i) = queue.iter().position(&f) {
                return queue.remove(i);
            }
            if !self.step() {
                let queue = q(self);
                return queue.iter().position(&f).and_then(|i| queue.remove(i));
            }
        }
        panic!("the pair still moves after {STEP_BOUND} steps without the awaited event");
    }
}
