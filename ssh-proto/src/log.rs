//! What the connection logs, per the reference's LogLevel (0 none, 1 info: handshake
//! milestones, 2 verbose: each packet's type and size, 3 debug: its bytes) and
//! MaskSensitiveData: packets that carry passwords, keyboard-interactive answers or
//! channel data are logged by size only unless masking is explicitly turned off.
//! Events go through `tracing` (info / debug / trace), inside the adapter's
//! per-connection span.

use tracing::{debug, trace};

use crate::wire::codes::*;

/// How much a connection logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    None = 0,
    /// Handshake milestones: identification, keys exchanged, authentication, disconnect.
    Info = 1,
    /// Plus each packet's message type and size.
    Verbose = 2,
    /// Plus each packet's payload bytes.
    Debug = 3,
}

/// Logging settings, part of the transport config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// How much to log (default Info).
    pub level: LogLevel,
    /// Keep secrets out of byte dumps (default true); false is an explicit opt-out
    /// for debugging a test setup, never for production.
    pub mask_sensitive: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: LogLevel::Info,
            mask_sensitive: true,
        }
    }
}

impl LogSettings {
    /// Whether milestones are logged.
    pub fn info(&self) -> bool {
        self.level >= LogLevel::Info
    }
}

/// A message number's name, for logs.
pub fn message_name(code: u8) -> &'static str {
    match code {
        DISCONNECT => "DISCONNECT",
        IGNORE => "IGNORE",
        UNIMPLEMENTED => "UNIMPLEMENTED",
        DEBUG => "DEBUG",
        SERVICE_REQUEST => "SERVICE_REQUEST",
        SERVICE_ACCEPT => "SERVICE_ACCEPT",
        EXT_INFO => "EXT_INFO",
        KEXINIT => "KEXINIT",
        NEWKEYS => "NEWKEYS",
        30..=49 => "KEX_METHOD",
        USERAUTH_REQUEST => "USERAUTH_REQUEST",
        USERAUTH_FAILURE => "USERAUTH_FAILURE",
        USERAUTH_SUCCESS => "USERAUTH_SUCCESS",
        USERAUTH_BANNER => "USERAUTH_BANNER",
        60..=79 => "USERAUTH_METHOD",
        80 => "GLOBAL_REQUEST",
        81 => "REQUEST_SUCCESS",
        82 => "REQUEST_FAILURE",
        90 => "CHANNEL_OPEN",
        91 => "CHANNEL_OPEN_CONFIRMATION",
        92 => "CHANNEL_OPEN_FAILURE",
        93 => "CHANNEL_WINDOW_ADJUST",
        94 => "CHANNEL_DATA",
        95 => "CHANNEL_EXTENDED_DATA",
        96 => "CHANNEL_EOF",
        97 => "CHANNEL_CLOSE",
        98 => "CHANNEL_REQUEST",
        99 => "CHANNEL_SUCCESS",
        100 => "CHANNEL_FAILURE",
        _ => "UNKNOWN",
    }
}

/// Whether a payload may carry a secret (passwords, keyboard-interactive answers,
/// whatever a user types into a channel).
pub fn is_sensitive(code: u8) -> bool {
    matches!(code, USERAUTH_REQUEST | 60..=79 | 94 | 95)
}

/// The bytes of `payload` as a log shows them.
pub fn dump(settings: &LogSettings, payload: &[u8]) -> String {
    let code = payload.first().copied().unwrap_or(0);
    if settings.mask_sensitive && is_sensitive(code) {
        return format!("<{} bytes masked>", payload.len());
    }
    payload.iter().map(|b| format!("{b:02x}")).collect()
}

/// Log one packet per the settings.
pub(crate) fn packet(settings: &LogSettings, dir: &'static str, payload: &[u8]) {
    if settings.level < LogLevel::Verbose {
        return;
    }
    let code = payload.first().copied().unwrap_or(0);
    if settings.level >= LogLevel::Debug {
        trace!(dir, msg = message_name(code), len = payload.len(), bytes = %dump(settings, payload), "packet");
    } else {
        debug!(dir, msg = message_name(code), len = payload.len(), "packet");
    }
}

/// Log a packet known by type and size only (channel data built in place; its bytes
/// are masked at every level unless masking is off, and then not kept).
pub(crate) fn packet_meta(settings: &LogSettings, dir: &'static str, code: u8, len: usize) {
    if settings.level >= LogLevel::Verbose {
        debug!(dir, msg = message_name(code), len, "packet");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_channel_data_are_masked_unless_opted_out() {
        let masked = LogSettings {
            level: LogLevel::Debug,
            mask_sensitive: true,
        };
        let open = LogSettings {
            mask_sensitive: false,
            ..masked
        };
        let auth = [USERAUTH_REQUEST, 0, 0, 0, 1, b'p'];
        assert_eq!(dump(&masked, &auth), "<6 bytes masked>");
        assert_eq!(dump(&open, &auth), "320000000170");
        assert_eq!(dump(&masked, &[94, 1, 2]), "<3 bytes masked>");
        assert_eq!(dump(&masked, &[KEXINIT, 0xab]), "14ab");
        assert_eq!(message_name(94), "CHANNEL_DATA");
        assert!(LogLevel::Verbose > LogLevel::Info);
    }
}
