//! A sans-IO SSH-2 implementation: the protocol as a pure state machine.
//!
//! A [`ServerConnection`] (or [`ClientConnection`]) consumes received bytes and
//! produces events and bytes to send. It has no sockets, threads, clocks or async:
//! time is passed in, randomness comes through the [`Rng`] seam in the config.
//!
//! ```no_run
//! use std::{sync::Arc, time::Instant};
//! use bytes::BytesMut;
//! use ssh_proto::{AuthDecision, Event, PrivateKey, ServerConfig, ServerConnection, SystemRng};
//!
//! let key = PrivateKey::generate_ed25519(&SystemRng).unwrap();
//! let config = Arc::new(ServerConfig::builder().host_key(key).build().unwrap());
//! let mut conn = ServerConnection::new(config, Instant::now()).unwrap();
//! let mut rx = BytesMut::new();
//! // ... read socket bytes into `rx`, then:
//! conn.handle_input(Instant::now(), &mut rx).unwrap();
//! while let Some(event) = conn.poll_event() {
//!     if let Event::AuthRequest(req) = event {
//!         conn.answer_auth(req.id, AuthDecision::Reject).unwrap();
//!     }
//! }
//! while let Some(bytes) = conn.poll_transmit() { /* write bytes to the socket */ }
//! ```
#![forbid(unsafe_code)]

mod auth;
mod channel;
mod channel_id;
mod config;
mod connection;
mod crypto;
mod error;
mod event;
mod kex;
mod keys;
mod log;
mod secret;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transport;
mod upkeep;
pub mod wire;

pub use auth::{AuthDecision, AuthMethod, AuthRequest, AuthRequestId, CertificateLogin};
pub use bytes;
pub use channel::{
    ChannelId, ChannelKind, ChannelRequest, DataStream, OpenFailure, PtyRequest, WindowState,
};
pub use config::{
    Algorithms, CertificatePolicy, ClientConfig, HostKeyPolicy, KeyPolicy, Limits, RekeyPolicy,
    ServerConfig, ServerConfigBuilder, TransportConfig,
};
pub use connection::{
    Channel, ClientConnection, ClientRole, Connection, PeerContext, Role, ServerConnection,
    ServerRole,
};
pub use crypto::cipher::CipherAlg;
pub use crypto::mac::MacAlg;
pub use crypto::rng::{Rng, SeededRng, SystemRng};
pub use error::{
    CommandError, ConfigError, ConnectionError, DecodeError, DisconnectReason, RngError, Violation,
};
pub use event::Event;
pub use kex::KexAlg;
pub use keys::{
    parse_authorized_keys, AuthorizedKey, AuthorizedKeys, Certificate, CertificateBuilder,
    CertificateExtensions, CertificateRefusal, CertificateType, KeyKind, KeyOptions, PrivateKey,
    PublicKey, RevokedKeys, RevokedLineError, SecurityKeySignature, SkippedLine, Verified,
};
pub use log::{LogLevel, LogSettings};
pub use secret::{SecretBytes, SecretString};
pub use transport::Negotiated;
