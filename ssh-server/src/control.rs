//! The live state of a running server that any task or thread may query or act on:
//! the registry of connections (ids, addresses, user, algorithms, channels), the
//! admission count, disconnect by id, data to a channel by id, stop listening and
//! shutdown. Every adapter holds one [`ServerControl`] and hands out clones.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use super::admission::{AdmissionPolicy, Refusal};
use super::channel_io::Link;
use super::wakeup::Wakeup;
use ssh_proto::Negotiated;
use ssh_proto::{AuthDecision, AuthRequestId, ChannelId, ChannelKind, WindowState};
use ssh_proto::{ConfigError, DisconnectReason};

/// A connection's id, unique for the server's lifetime (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which connection an authentication attempt comes from: for rules that depend on
/// where the client is (authorized_keys `from=`) or that shape the session it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionOrigin {
    /// The connection's id (the same id later calls and `disconnected` carry).
    pub connection: ConnectionId,
    /// The client's address.
    pub remote: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
}

/// A snapshot of one live connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The connection's id.
    pub id: ConnectionId,
    /// The client's address.
    pub remote: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
    /// When the connection was accepted.
    pub connected_at: SystemTime,
    /// The authenticated user, once there is one.
    pub user: Option<String>,
    /// The client's identification line, once received.
    pub client_version: Option<String>,
    /// The algorithms in force, once keys are exchanged.
    pub algorithms: Option<Negotiated>,
    /// Open channels.
    pub channels: Vec<ChannelInfo>,
}

impl ConnectionInfo {
    /// Whether strict key exchange (the Terrapin countermeasure) is in force.
    pub fn strict_kex(&self) -> bool {
        self.algorithms.as_ref().is_some_and(|a| a.strict_kex)
    }
}

/// A snapshot of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The channel's id.
    pub id: ChannelId,
    /// What kind of channel it is.
    pub kind: ChannelKind,
    /// Window and buffer figures at the connection's last pass.
    pub window: WindowState,
}

/// Why a registry action could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryError {
    /// No live connection has this id.
    NoSuchConnection,
    /// The connection has no open channel with this id.
    NoSuchChannel,
    /// The channel has closed.
    ChannelClosed,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegistryError::NoSuchConnection => "no such connection",
            RegistryError::NoSuchChannel => "no such channel",
            RegistryError::ChannelClosed => "channel closed",
        })
    }
}

impl std::error::Error for RegistryError {}

/// A handler's answer on its way back to the connection (queued by a `Reply`).
#[derive(Debug)]
pub(crate) enum Decision {
    Auth(AuthRequestId, AuthDecision),
    Open(ChannelId, bool),
    Request(ChannelId, bool, bool),
}

/// Commands for a connection's loop from outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectionCommand {
    Disconnect(DisconnectReason, String),
}

/// What a connection shares with the rest of the server.
#[derive(Debug)]
pub(crate) struct ConnectionShared {
    pub(crate) id: ConnectionId,
    pub(crate) info: Mutex<ConnectionInfo>,
    pub(crate) channels: Mutex<BTreeMap<ChannelId, (ChannelKind, Link)>>,
    pub(crate) commands: Mutex<VecDeque<ConnectionCommand>>,
    pub(crate) decisions: Mutex<VecDeque<Decision>>,
    pub(crate) wakeup: Arc<Wakeup>,
    pub(crate) killed: AtomicBool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConnectionShared {
    fn command(&self, c: ConnectionCommand) {
        lock(&self.commands).push_back(c);
        self.wakeup.notify();
    }

    fn snapshot(&self) -> ConnectionInfo {
        let mut info = lock(&self.info).clone();
        info.channels = lock(&self.channels)
            .iter()
            .map(|(&id, (kind, link))| ChannelInfo {
                id,
                kind: kind.clone(),
                window: link.lock().window,
            })
            .collect();
        info
    }
}

#[derive(Debug)]
struct ControlInner {
    policy: AdmissionPolicy,
    connections: Mutex<HashMap<ConnectionId, Arc<ConnectionShared>>>,
    next_id: AtomicU64,
    /// Notified when a connection leaves (for shutdown's wait).
    left: Wakeup,
    /// Notified when listening should stop.
    stop: Wakeup,
    stopped: AtomicBool,
    shutting_down: AtomicBool,
}

/// A running server's shared state; clone it freely and use it from any task or
/// thread.
#[derive(Debug, Clone)]
pub struct ServerControl {
    inner: Arc<ControlInner>,
}

/// A place in the registry, held by a connection for its lifetime; dropping it
/// removes the connection.
#[derive(Debug)]
pub struct Admitted {
    pub(crate) shared: Arc<ConnectionShared>,
    control: ServerControl,
}

impl Admitted {
    /// The connection's id.
    pub fn id(&self) -> ConnectionId {
        self.shared.id
    }

    /// The snapshot as it stands.
    pub fn info(&self) -> ConnectionInfo {
        self.shared.snapshot()
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        lock(&self.control.inner.connections).remove(&self.shared.id);
        self.control.inner.left.notify();
    }
}

impl ServerControl {
    /// State for a server applying `policy`.
    pub fn new(policy: AdmissionPolicy) -> Result<Self, ConfigError> {
        policy.validate()?;
        Ok(ServerControl {
            inner: Arc::new(ControlInner {
                policy,
                connections: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                left: Wakeup::new(),
                stop: Wakeup::new(),
                stopped: AtomicBool::new(false),
                shutting_down: AtomicBool::new(false),
            }),
        })
    }

    /// The admission rules in force.
    pub fn policy(&self) -> &AdmissionPolicy {
        &self.inner.policy
    }

    /// Apply the admission rules to a new TCP connection and, when it may stay, give
    /// it an id and a place in the registry. Call before sending any byte.
    pub fn admit(&self, remote: SocketAddr, local: SocketAddr) -> Result<Admitted, Refusal> {
        if self.inner.shutting_down.load(Ordering::Acquire) {
            return Err(Refusal::ShuttingDown);
        }
        self.inner.policy.check_address(remote.ip())?;
        let mut conns = lock(&self.inner.connections);
        if conns.len() >= self.inner.policy.max_connections {
            return Err(Refusal::TooManyConnections {
                limit: self.inner.policy.max_connections,
            });
        }
        let id = ConnectionId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let shared = Arc::new(ConnectionShared {
            id,
            info: Mutex::new(ConnectionInfo {
                id,
                remote,
                local,
                connected_at: SystemTime::now(),
                user: None,
                client_version: None,
                algorithms: None,
                channels: Vec::new(),
            }),
            channels: Mutex::new(BTreeMap::new()),
            commands: Mutex::new(VecDeque::new()),
            decisions: Mutex::new(VecDeque::new()),
            wakeup: Arc::new(Wakeup::new()),
            killed: AtomicBool::new(false),
        });
        conns.insert(id, shared.clone());
        Ok(Admitted {
            shared,
            control: self.clone(),
        })
    }

    /// Number of live connections.
    pub fn connection_count(&self) -> usize {
        lock(&self.inner.connections).len()
    }

    fn get(&self, id: ConnectionId) -> Option<Arc<ConnectionShared>> {
        lock(&self.inner.connections).get(&id).cloned()
    }

    fn all(&self) -> Vec<Arc<ConnectionShared>> {
        lock(&self.inner.connections).values().cloned().collect()
    }

    /// Snapshots of every live connection, by id.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let mut v: Vec<_> = self.all().iter().map(|c| c.snapshot()).collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// The snapshot of one connection.
    pub fn connection(&self, id: ConnectionId) -> Option<ConnectionInfo> {
        self.get(id).map(|c| c.snapshot())
    }

    /// Send DISCONNECT with `reason` on connection `id` and close it.
    pub fn disconnect(
        &self,
        id: ConnectionId,
        reason: DisconnectReason,
        description: &str,
    ) -> Result<(), RegistryError> {
        let c = self.get(id).ok_or(RegistryError::NoSuchConnection)?;
        c.command(ConnectionCommand::Disconnect(reason, description.into()));
        Ok(())
    }

    /// Queue `data` on a channel's stdout after what its stream has written; returns
    /// how much fit in the channel's stream buffer (the rest is the caller's to retry).
    pub fn send_to_channel(
        &self,
        id: ConnectionId,
        channel: ChannelId,
        data: &[u8],
    ) -> Result<usize, RegistryError> {
        let c = self.get(id).ok_or(RegistryError::NoSuchConnection)?;
        let link = lock(&c.channels)
            .get(&channel)
            .map(|(_, l)| l.clone())
            .ok_or(RegistryError::NoSuchChannel)?;
        link.offer(0, data).ok_or(RegistryError::ChannelClosed)
    }

    /// Stop accepting new connections; live ones continue.
    pub fn stop_listening(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.stop.notify();
    }

    /// Whether listening has been stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    /// For the accept loop: Ready once listening should stop.
    pub fn poll_stopped(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_stopped() {
            return Poll::Ready(());
        }
        let _ = self.inner.stop.poll_notified(cx);
        if self.is_stopped() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// For a blocking accept loop: wait up to `deadline` for the stop; true if stopped.
    pub fn wait_stopped(&self, deadline: Instant) -> bool {
        while !self.is_stopped() {
            if !self.inner.stop.wait(Some(deadline)) {
                break;
            }
        }
        self.is_stopped()
    }

    /// Stop listening, refuse new connections and send every live connection a
    /// DISCONNECT with `description`. Wait with [`Self::poll_drained`] or
    /// [`Self::wait_drained`], then [`Self::abort_all`] whatever remains.
    pub fn begin_shutdown(&self, description: &str) {
        self.inner.shutting_down.store(true, Ordering::Release);
        self.stop_listening();
        for c in self.all() {
            c.command(ConnectionCommand::Disconnect(
                DisconnectReason::ByApplication,
                description.into(),
            ));
        }
    }

    /// Ready once no connection is left (one waiter at a time).
    pub fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.connection_count() == 0 {
                return Poll::Ready(());
            }
            if self.inner.left.poll_notified(cx).is_pending() {
                return if self.connection_count() == 0 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                };
            }
        }
    }

    /// Block until no connection is left or `deadline` passes; true when drained.
    pub fn wait_drained(&self, deadline: Instant) -> bool {
        while self.connection_count() > 0 {
            if !self.inner.left.wait(Some(deadline)) {
                return self.connection_count() == 0;
            }
        }
        true
    }

    /// End every live connection at once, without waiting for its output to drain.
    pub fn abort_all(&self) {
        for c in self.all() {
            c.killed.store(true, Ordering::Release);
            c.wakeup.notify();
        }
    }
}
