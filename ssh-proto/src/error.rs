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

/// A way the peer broke the protocol. Each ends the connection with its own
/// disconnect reason ([`Violation::disconnect_reason`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// A message or field could not be decoded.
    Decode(DecodeError),
    /// The identification line was malformed, too long, or named an unsupported version.
    BadVersion(&'static str),
    /// A packet's length field exceeds the configured maximum or is malformed.
    PacketLength(u32),
    /// A packet's padding is malformed.
    BadPadding,
    /// A MAC or AEAD tag did not verify.
    BadMac,
    /// A packet with no message number.
    EmptyPayload,
    /// A message that is not allowed in the current state.
    UnexpectedMessage {
        /// The message number.
        msg: u8,
        /// Where we were.
        state: &'static str,
    },
    /// No algorithm in common for the named negotiation slot.
    NoCommonAlgorithm(&'static str),
    /// A KEXINIT that does not parse.
    MalformedKexInit,
    /// A key exchange message before the KEXINITs were exchanged.
    KexBeforeKexInit,
    /// A key exchange reply before our init (client role).
    KexReplyBeforeInit,
    /// A key exchange value failed its checks (the detail says which).
    KeyExchange(&'static str),
    /// A public key blob of the wrong form.
    MalformedPublicKey,
    /// The server's host key was not accepted (client role).
    HostKeyNotVerifiable,
    /// An ext-info extension of the wrong form.
    MalformedExtInfo,
    /// A DISCONNECT that does not parse.
    MalformedDisconnect,
    /// A SERVICE_REQUEST that does not parse.
    MalformedServiceRequest,
    /// The requested service does not exist.
    ServiceNotAvailable(String),
    /// A USERAUTH_REQUEST that does not parse.
    MalformedUserauthRequest,
    /// A USERAUTH_REQUEST before the ssh-userauth service was requested.
    UserauthBeforeService,
    /// Too many failed authentication attempts.
    TooManyAuthFailures,
    /// A message number of the connection protocol range that is not one of its messages.
    NotConnectionMessage,
    /// A global request reply with no request of ours outstanding.
    UnsolicitedGlobalReply,
    /// A message for a channel id we never gave out or have forgotten.
    UnknownChannel,
    /// A message for a channel that is not open.
    ChannelNotOpen,
    /// An open confirmation or failure for a channel we are not opening.
    UnexpectedOpenAnswer,
    /// A channel request reply with no request of ours outstanding.
    UnsolicitedChannelReply,
    /// Channel data after the peer's EOF.
    DataAfterEof,
    /// Channel data past the window we granted.
    DataExceedsWindow,
    /// Channel data larger than our maximum packet.
    DataExceedsMaxPacket,
    /// A window adjust that takes the window past 2^32-1.
    WindowOverflow,
    /// A session channel opened after the client's no-more-sessions@openssh.com.
    SessionAfterNoMoreSessions,
}

impl Violation {
    /// The SSH disconnect reason this violation is reported with.
    pub fn disconnect_reason(&self) -> DisconnectReason {
        use Violation::*;
        match self {
            BadVersion(_) => DisconnectReason::ProtocolVersionNotSupported,
            BadMac => DisconnectReason::MacError,
            NoCommonAlgorithm(_) | KeyExchange(_) | KexBeforeKexInit | KexReplyBeforeInit
            | MalformedKexInit => DisconnectReason::KeyExchangeFailed,
            HostKeyNotVerifiable => DisconnectReason::HostKeyNotVerifiable,
            ServiceNotAvailable(_) => DisconnectReason::ServiceNotAvailable,
            TooManyAuthFailures => DisconnectReason::NoMoreAuthMethodsAvailable,
            _ => DisconnectReason::ProtocolError,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Violation::*;
        match self {
            Decode(e) => write!(f, "malformed message: {e}"),
            BadVersion(w) => write!(f, "bad identification line: {w}"),
            PacketLength(n) => write!(f, "bad packet length {n}"),
            BadPadding => f.write_str("bad packet padding"),
            BadMac => f.write_str("message authentication failed"),
            EmptyPayload => f.write_str("empty packet payload"),
            UnexpectedMessage { msg, state } => write!(f, "unexpected message {msg} in {state}"),
            NoCommonAlgorithm(w) => write!(f, "no common algorithm for {w}"),
            MalformedKexInit => f.write_str("malformed KEXINIT"),
            KexBeforeKexInit => f.write_str("key exchange message before KEXINIT"),
            KexReplyBeforeInit => f.write_str("key exchange reply before init"),
            KeyExchange(w) => write!(f, "key exchange failed: {w}"),
            MalformedPublicKey => f.write_str("malformed public key"),
            HostKeyNotVerifiable => f.write_str("host key not accepted"),
            MalformedExtInfo => f.write_str("malformed ext-info"),
            MalformedDisconnect => f.write_str("malformed DISCONNECT"),
            MalformedServiceRequest => f.write_str("malformed service request"),
            ServiceNotAvailable(s) => write!(f, "service not available: {s}"),
            MalformedUserauthRequest => f.write_str("malformed userauth request"),
            UserauthBeforeService => {
                f.write_str("userauth request before the ssh-userauth service request")
            }
            TooManyAuthFailures => f.write_str("too many authentication failures"),
            NotConnectionMessage => f.write_str("not a connection-protocol message"),
            UnsolicitedGlobalReply => f.write_str("global reply without a request"),
            UnknownChannel => f.write_str("message for an unknown channel"),
            SessionAfterNoMoreSessions => {
                f.write_str("a session opened after no-more-sessions@openssh.com")
            }
            ChannelNotOpen => f.write_str("message for a channel that is not open"),
            UnexpectedOpenAnswer => f.write_str("open answer for a channel not opening"),
            UnsolicitedChannelReply => f.write_str("channel reply without a request"),
            DataAfterEof => f.write_str("channel data after EOF"),
            DataExceedsWindow => f.write_str("channel data exceeds the window"),
            DataExceedsMaxPacket => f.write_str("channel data larger than the maximum packet"),
            WindowOverflow => f.write_str("window adjust overflows 2^32-1"),
        }
    }
}

/// What ended a connection: in `handle_input` and `handle_timeout` results, in
/// [`crate::Event::Disconnected`], and inside [`CommandError::Ended`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol.
    Peer(Violation),
    /// The peer sent SSH_MSG_DISCONNECT.
    PeerDisconnected {
        /// The peer's reason.
        reason: DisconnectReason,
        /// The peer's description (sanitised).
        description: String,
    },
    /// A deadline passed (authentication, idle, keepalive...).
    Timeout(&'static str),
    /// A configured limit was exceeded (the name says which).
    LimitExceeded(&'static str),
    /// A crypto primitive failed or the RNG gave nothing.
    Crypto(&'static str),
    /// Something on our side could not continue (a host key missing for the negotiated
    /// algorithm, ...).
    Local(&'static str),
}

impl ConnectionError {
    /// The SSH disconnect reason this error is reported with.
    pub fn disconnect_reason(&self) -> DisconnectReason {
        match self {
            ConnectionError::Peer(v) => v.disconnect_reason(),
            ConnectionError::PeerDisconnected { reason, .. } => *reason,
            ConnectionError::Crypto(_) => DisconnectReason::KeyExchangeFailed,
            ConnectionError::Timeout(_)
            | ConnectionError::LimitExceeded(_)
            | ConnectionError::Local(_) => DisconnectReason::ByApplication,
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Peer(v) => write!(f, "protocol violation: {v}"),
            ConnectionError::PeerDisconnected {
                reason,
                description,
            } => write!(f, "peer disconnected ({}): {description}", reason.code()),
            ConnectionError::Timeout(w) => write!(f, "timed out: {w}"),
            ConnectionError::LimitExceeded(w) => write!(f, "limit exceeded: {w}"),
            ConnectionError::Crypto(w) => write!(f, "crypto failure: {w}"),
            ConnectionError::Local(w) => write!(f, "cannot continue: {w}"),
        }
    }
}

impl std::error::Error for ConnectionError {}

/// Why a command on a connection (answer, accept, send, open...) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No channel has this id (never opened, or closed and forgotten).
    UnknownChannel(crate::channel_id::ChannelId),
    /// The command is not allowed on this channel in its current state.
    ChannelState(&'static str),
    /// The command is not valid in the connection's current state.
    InvalidState(&'static str),
    /// A limit refuses the command (too many channels, ...); the connection goes on.
    LimitExceeded(&'static str),
    /// The connection had already ended.
    Closed,
    /// Carrying out the command ended the connection (e.g. the output bound).
    Ended(ConnectionError),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnknownChannel(id) => write!(f, "unknown channel {id}"),
            CommandError::ChannelState(w) => write!(f, "channel state: {w}"),
            CommandError::InvalidState(w) => write!(f, "invalid state: {w}"),
            CommandError::LimitExceeded(w) => write!(f, "limit exceeded: {w}"),
            CommandError::Closed => f.write_str("connection closed"),
            CommandError::Ended(e) => write!(f, "connection ended: {e}"),
        }
    }
}

impl std::error::Error for CommandError {}

/// An invalid configuration, key or key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The randomness source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngError;

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the random number generator failed")
    }
}

impl std::error::Error for RngError {}

/// The crate's internal error, carried by `?` through every layer and sorted at the
/// public boundary by [`Error::classify`] into a [`ConnectionError`] (fatal), a
/// [`CommandError`] (the command is refused, the connection goes on) or a
/// [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// The peer broke the protocol.
    Peer(Violation),
    /// The peer sent SSH_MSG_DISCONNECT.
    PeerDisconnected {
        reason: DisconnectReason,
        description: String,
    },
    Timeout(&'static str),
    LimitExceeded(&'static str),
    Crypto(&'static str),
    Config(&'static str),
    UnknownChannel(u32),
    ChannelState(&'static str),
    InvalidState(&'static str),
    /// A limit refuses a command of ours (not fatal, unlike `LimitExceeded`).
    Refused(&'static str),
    Closed,
}

/// Where an internal error belongs.
pub(crate) enum Class {
    /// Ends the connection.
    Fatal(ConnectionError),
    /// Refuses the command only.
    Command(CommandError),
}

impl Error {
    /// Sort the error: the one place that decides what is fatal.
    pub(crate) fn classify(self) -> Class {
        use Error::*;
        match self {
            UnknownChannel(id) => Class::Command(CommandError::UnknownChannel(
                crate::channel_id::ChannelId(id),
            )),
            ChannelState(w) => Class::Command(CommandError::ChannelState(w)),
            InvalidState(w) => Class::Command(CommandError::InvalidState(w)),
            Refused(w) => Class::Command(CommandError::LimitExceeded(w)),
            Closed => Class::Command(CommandError::Closed),
            other => Class::Fatal(other.into_fatal()),
        }
    }

    /// The error as what ends the connection (command-kind errors raised while
    /// processing input become local failures).
    pub(crate) fn into_fatal(self) -> ConnectionError {
        use Error::*;
        match self {
            Peer(v) => ConnectionError::Peer(v),
            PeerDisconnected {
                reason,
                description,
            } => ConnectionError::PeerDisconnected {
                reason,
                description,
            },
            Timeout(w) => ConnectionError::Timeout(w),
            LimitExceeded(w) => ConnectionError::LimitExceeded(w),
            Crypto(w) => ConnectionError::Crypto(w),
            Config(w) | ChannelState(w) | InvalidState(w) | Refused(w) => ConnectionError::Local(w),
            UnknownChannel(_) => ConnectionError::Local("unknown channel"),
            Closed => ConnectionError::Local("connection closed"),
        }
    }
}

impl Error {
    /// The error as a configuration error (where only configuration can fail).
    pub(crate) fn into_config(self) -> ConfigError {
        match self {
            Error::Config(w) | Error::Crypto(w) => ConfigError(w),
            _ => ConfigError("the configuration was refused"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.clone().classify() {
            Class::Fatal(e) => e.fmt(f),
            Class::Command(e) => e.fmt(f),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Peer(Violation::Decode(e))
    }
}

impl From<Violation> for Error {
    fn from(v: Violation) -> Self {
        Error::Peer(v)
    }
}

impl From<RngError> for Error {
    fn from(_: RngError) -> Self {
        Error::Crypto("the random number generator failed")
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e.0)
    }
}
