//! Errors: what went wrong, and which SSH disconnect reason it maps to.

use std::fmt;

/// SSH_MSG_DISCONNECT reason codes (RFC 4253 §11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// 1: the host may not connect.
    HostNotAllowedToConnect,
    /// 2: the peer broke the protocol.
    ProtocolError,
    /// 3: key exchange failed.
    KeyExchangeFailed,
    /// 4: reserved.
    Reserved,
    /// 5: a MAC or AEAD tag did not verify.
    MacError,
    /// 6: compression failed.
    CompressionError,
    /// 7: the requested service is not available.
    ServiceNotAvailable,
    /// 8: the protocol version is not supported.
    ProtocolVersionNotSupported,
    /// 9: the host key could not be verified.
    HostKeyNotVerifiable,
    /// 10: the connection was lost.
    ConnectionLost,
    /// 11: an ordinary close by application request.
    ByApplication,
    /// 12: too many connections.
    TooManyConnections,
    /// 13: the user cancelled authentication.
    AuthCancelledByUser,
    /// 14: no more authentication methods are available.
    NoMoreAuthMethodsAvailable,
    /// 15: the user name is not valid.
    IllegalUserName,
    /// Any code not defined by RFC 4253.
    Other(u32),
}

impl DisconnectReason {
    /// The numeric code carried on the wire.
    pub fn code(self) -> u32 {
        use DisconnectReason::*;
        match self {
            HostNotAllowedToConnect => 1,
            ProtocolError => 2,
            KeyExchangeFailed => 3,
            Reserved => 4,
            MacError => 5,
            CompressionError => 6,
            ServiceNotAvailable => 7,
            ProtocolVersionNotSupported => 8,
            HostKeyNotVerifiable => 9,
            ConnectionLost => 10,
            ByApplication => 11,
            TooManyConnections => 12,
            AuthCancelledByUser => 13,
            NoMoreAuthMethodsAvailable => 14,
            IllegalUserName => 15,
            Other(c) => c,
        }
    }

    /// The reason for a numeric code.
    pub fn from_code(code: u32) -> Self {
        use DisconnectReason::*;
        match code {
            1 => HostNotAllowedToConnect,
            2 => ProtocolError,
            3 => KeyExchangeFailed,
            4 => Reserved,
            5 => MacError,
            6 => CompressionError,
            7 => ServiceNotAvailable,
            8 => ProtocolVersionNotSupported,
            9 => HostKeyNotVerifiable,
            10 => ConnectionLost,
            11 => ByApplication,
            12 => TooManyConnections,
            13 => AuthCancelledByUser,
            14 => NoMoreAuthMethodsAvailable,
            15 => IllegalUserName,
            c => Other(c),
        }
    }
}

/// A field could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a field.
    Truncated,
    /// A string that must be UTF-8 (or ASCII) is not.
    InvalidUtf8,
    /// A field has a value the protocol does not allow.
    Invalid(&'static str),
    /// Bytes are left after the last field of a message.
    TrailingData,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("truncated field"),
            DecodeError::InvalidUtf8 => f.write_str("invalid UTF-8 in a string field"),
            DecodeError::Invalid(what) => write!(f, "invalid field: {what}"),
            DecodeError::TrailingData => f.write_str("trailing data after message"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Everything that can end a connection or refuse a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A message or field from the peer could not be decoded.
    Decode(DecodeError),
    /// The peer's identification line was malformed, too long, or named an unsupported version.
    Version(&'static str),
    /// A packet's length field exceeds the configured maximum or is malformed.
    PacketLength(u32),
    /// A packet's padding is malformed.
    BadPadding,
    /// A MAC or AEAD tag did not verify.
    BadMac,
    /// The peer sent a message that is not allowed in the current state.
    UnexpectedMessage {
        /// The message number.
        msg: u8,
        /// Where we were.
        state: &'static str,
    },
    /// The peer violated the protocol in another way.
    Protocol(&'static str),
    /// No algorithm in common for the named negotiation slot.
    NoCommonAlgorithm(&'static str),
    /// Key exchange failed (bad public value, bad signature, ...).
    KeyExchange(&'static str),
    /// The server's host key was not accepted (client role).
    HostKeyNotVerifiable,
    /// The requested service does not exist.
    ServiceNotAvailable(String),
    /// Too many failed authentication attempts.
    TooManyAuthFailures,
    /// A configured limit was exceeded (the name says which).
    LimitExceeded(&'static str),
    /// A deadline passed (authentication, idle, ...).
    Timeout(&'static str),
    /// The peer sent SSH_MSG_DISCONNECT.
    PeerDisconnected {
        /// The peer's reason.
        reason: DisconnectReason,
        /// The peer's description (sanitised).
        description: String,
    },
    /// A crypto primitive failed or a key was rejected.
    Crypto(&'static str),
    /// The configuration is invalid.
    Config(&'static str),
    /// The channel id is unknown or already closed.
    UnknownChannel(u32),
    /// The command is not allowed on this channel in its current state.
    ChannelState(&'static str),
    /// The command is not valid in the connection's current state.
    InvalidState(&'static str),
    /// The connection is closed; nothing more can be done with it.
    Closed,
}

impl Error {
    /// The SSH disconnect reason this error is reported with.
    pub fn disconnect_reason(&self) -> DisconnectReason {
        use Error::*;
        match self {
            Decode(_) | PacketLength(_) | BadPadding | UnexpectedMessage { .. } | Protocol(_) => {
                DisconnectReason::ProtocolError
            }
            Version(_) => DisconnectReason::ProtocolVersionNotSupported,
            BadMac => DisconnectReason::MacError,
            NoCommonAlgorithm(_) | KeyExchange(_) | Crypto(_) => {
                DisconnectReason::KeyExchangeFailed
            }
            HostKeyNotVerifiable => DisconnectReason::HostKeyNotVerifiable,
            ServiceNotAvailable(_) => DisconnectReason::ServiceNotAvailable,
            TooManyAuthFailures => DisconnectReason::NoMoreAuthMethodsAvailable,
            LimitExceeded(_) | Timeout(_) => DisconnectReason::ByApplication,
            PeerDisconnected { reason, .. } => *reason,
            Config(_) | UnknownChannel(_) | ChannelState(_) | InvalidState(_) | Closed => {
                DisconnectReason::ByApplication
            }
        }
    }

    /// Whether the error only refuses a command and leaves the connection usable.
    pub fn is_local_misuse(&self) -> bool {
        matches!(
            self,
            Error::UnknownChannel(_) | Error::ChannelState(_) | Error::InvalidState(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            Decode(e) => write!(f, "malformed message: {e}"),
            Version(w) => write!(f, "bad identification line: {w}"),
            PacketLength(n) => write!(f, "bad packet length {n}"),
            BadPadding => f.write_str("bad packet padding"),
            BadMac => f.write_str("message authentication failed"),
            UnexpectedMessage { msg, state } => write!(f, "unexpected message {msg} in {state}"),
            Protocol(w) => write!(f, "protocol error: {w}"),
            NoCommonAlgorithm(w) => write!(f, "no common algorithm for {w}"),
            KeyExchange(w) => write!(f, "key exchange failed: {w}"),
            HostKeyNotVerifiable => f.write_str("host key not accepted"),
            ServiceNotAvailable(s) => write!(f, "service not available: {s}"),
            TooManyAuthFailures => f.write_str("too many authentication failures"),
            LimitExceeded(w) => write!(f, "limit exceeded: {w}"),
            Timeout(w) => write!(f, "timed out: {w}"),
            PeerDisconnected {
                reason,
                description,
            } => write!(f, "peer disconnected ({}): {description}", reason.code()),
            Crypto(w) => write!(f, "crypto failure: {w}"),
            Config(w) => write!(f, "invalid configuration: {w}"),
            UnknownChannel(id) => write!(f, "unknown channel {id}"),
            ChannelState(w) => write!(f, "channel state: {w}"),
            InvalidState(w) => write!(f, "invalid state: {w}"),
            Closed => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}
