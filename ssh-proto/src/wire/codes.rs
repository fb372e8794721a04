//! SSH message numbers (RFC 4250 §4.1, RFC 8308, RFC 5656).
#![allow(missing_docs)]

pub const DISCONNECT: u8 = 1;
pub const IGNORE: u8 = 2;
pub const UNIMPLEMENTED: u8 = 3;
pub const DEBUG: u8 = 4;
pub const SERVICE_REQUEST: u8 = 5;
pub const SERVICE_ACCEPT: u8 = 6;
pub const EXT_INFO: u8 = 7;
pub const KEXINIT: u8 = 20;
pub const NEWKEYS: u8 = 21;
pub const KEX_ECDH_INIT: u8 = 30;
pub const KEX_ECDH_REPLY: u8 = 31;
/// SSH_MSG_KEXDH_INIT (RFC 4253 §8); the same number as KEX_ECDH_INIT.
pub const KEXDH_INIT: u8 = 30;
/// SSH_MSG_KEXDH_REPLY (RFC 4253 §8).
pub const KEXDH_REPLY: u8 = 31;
/// SSH_MSG_KEX_DH_GEX_REQUEST_OLD (RFC 4419 §5).
pub const KEX_DH_GEX_REQUEST_OLD: u8 = 30;
/// SSH_MSG_KEX_DH_GEX_GROUP (RFC 4419 §5).
pub const KEX_DH_GEX_GROUP: u8 = 31;
/// SSH_MSG_KEX_DH_GEX_INIT (RFC 4419 §5).
pub const KEX_DH_GEX_INIT: u8 = 32;
/// SSH_MSG_KEX_DH_GEX_REPLY (RFC 4419 §5).
pub const KEX_DH_GEX_REPLY: u8 = 33;
/// SSH_MSG_KEX_DH_GEX_REQUEST (RFC 4419 §5).
pub const KEX_DH_GEX_REQUEST: u8 = 34;
pub const USERAUTH_REQUEST: u8 = 50;
pub const USERAUTH_FAILURE: u8 = 51;
pub const USERAUTH_SUCCESS: u8 = 52;
pub const USERAUTH_BANNER: u8 = 53;
pub const USERAUTH_PK_OK: u8 = 60;
pub const GLOBAL_REQUEST: u8 = 80;
/// OpenSSH's transport ping (ping@openssh.com): string data.
pub const PING: u8 = 192;
/// The answer to PING: the same string data.
pub const PONG: u8 = 193;
pub const REQUEST_SUCCESS: u8 = 81;
pub const REQUEST_FAILURE: u8 = 82;
pub const CHANNEL_OPEN: u8 = 90;
pub const CHANNEL_OPEN_CONFIRMATION: u8 = 91;
pub const CHANNEL_OPEN_FAILURE: u8 = 92;
pub const CHANNEL_WINDOW_ADJUST: u8 = 93;
pub const CHANNEL_DATA: u8 = 94;
pub const CHANNEL_EXTENDED_DATA: u8 = 95;
pub const CHANNEL_EOF: u8 = 96;
pub const CHANNEL_CLOSE: u8 = 97;
pub const CHANNEL_REQUEST: u8 = 98;
pub const CHANNEL_SUCCESS: u8 = 99;
pub const CHANNEL_FAILURE: u8 = 100;

/// Whether a message number belongs to the key-exchange-method range (30..=49).
pub fn is_kex_method(msg: u8) -> bool {
    (30..=49).contains(&msg)
}
