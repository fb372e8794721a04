//! Typed channel requests (RFC 4254 §6) and channel-open kinds (§5.1, §7).

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::wire::{Reader, Writer};

/// A pseudo-terminal request (pty-req).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtyRequest {
    /// TERM, e.g. "xterm-256color".
    pub term: String,
    /// Width in characters.
    pub cols: u32,
    /// Height in rows.
    pub rows: u32,
    /// Width in pixels.
    pub width_px: u32,
    /// Height in pixels.
    pub height_px: u32,
    /// Encoded terminal modes (RFC 4254 §8).
    pub modes: Bytes,
}

/// A request on a channel, typed where RFC 4254 defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRequest {
    /// "pty-req"
    PtyReq(PtyRequest),
    /// "env"
    Env {
        /// Variable name.
        name: String,
        /// Value.
        value: String,
    },
    /// "exec": the command, as bytes (not necessarily UTF-8).
    Exec {
        /// Command line.
        command: Bytes,
    },
    /// "shell"
    Shell,
    /// "subsystem"
    Subsystem {
        /// Subsystem name, e.g. "sftp".
        name: String,
    },
    /// "window-change"
    WindowChange {
        /// Width in characters.
        cols: u32,
        /// Height in rows.
        rows: u32,
        /// Width in pixels.
        width_px: u32,
        /// Height in pixels.
        height_px: u32,
    },
    /// "signal": signal name without "SIG".
    Signal {
        /// e.g. "INT", "TERM".
        name: String,
    },
    /// "exit-status"
    ExitStatus {
        /// The exit code.
        code: u32,
    },
    /// "exit-signal"
    ExitSignal {
        /// Signal name without "SIG".
        name: String,
        /// Whether a core was dumped.
        core_dumped: bool,
        /// Error message.
        message: String,
        /// Language tag.
        language: String,
    },
    /// Any other request, with its raw type-specific data.
    Other {
        /// The request type.
        name: String,
        /// Everything after want-reply.
        data: Bytes,
    },
}

fn text(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    Ok(r.utf8()?.to_owned())
}

impl ChannelRequest {
    /// The request type on the wire.
    pub fn name(&self) -> &str {
        match self {
            ChannelRequest::PtyReq(_) => "pty-req",
            ChannelRequest::Env { .. } => "env",
            ChannelRequest::Exec { .. } => "exec",
            ChannelRequest::Shell => "shell",
            ChannelRequest::Subsystem { .. } => "subsystem",
            ChannelRequest::WindowChange { .. } => "window-change",
            ChannelRequest::Signal { .. } => "signal",
            ChannelRequest::ExitStatus { .. } => "exit-status",
            ChannelRequest::ExitSignal { .. } => "exit-signal",
            ChannelRequest::Other { name, .. } => name,
        }
    }

    /// Decode from the request type and the type-specific data.
    pub fn decode(name: &str, data: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::from_bytes(data);
        let r = &mut r;
        let req = match name {
            "pty-req" => ChannelRequest::PtyReq(PtyRequest {
                term: text(r)?,
                cols: r.u32()?,
                rows: r.u32()?,
                width_px: r.u32()?,
                height_px: r.u32()?,
                modes: r.string_bytes()?,
            }),
            "env" => ChannelRequest::Env {
                name: text(r)?,
                value: text(r)?,
            },
            "exec" => ChannelRequest::Exec {
                command: r.string_bytes()?,
            },
            "shell" => ChannelRequest::Shell,
            "subsystem" => ChannelRequest::Subsystem { name: text(r)? },
            "window-change" => ChannelRequest::WindowChange {
                cols: r.u32()?,
                rows: r.u32()?,
                width_px: r.u32()?,
                height_px: r.u32()?,
            },
            "signal" => ChannelRequest::Signal { name: text(r)? },
            "exit-status" => ChannelRequest::ExitStatus { code: r.u32()? },
            "exit-signal" => ChannelRequest::ExitSignal {
                name: text(r)?,
                core_dumped: r.bool()?,
                message: text(r)?,
                language: text(r)?,
            },
            other => {
                return Ok(ChannelRequest::Other {
                    name: other.to_owned(),
                    data: r.take_rest_bytes(),
                })
            }
        };
        r.finish()?;
        Ok(req)
    }

    /// Encode the type-specific data.
    pub fn encode_data(&self, buf: &mut BytesMut) {
        let w = &mut Writer::new(buf);
        match self {
            ChannelRequest::PtyReq(p) => {
                w.utf8(&p.term)
                    .u32(p.cols)
                    .u32(p.rows)
                    .u32(p.width_px)
                    .u32(p.height_px)
                    .string(&p.modes);
            }
            ChannelRequest::Env { name, value } => {
                w.utf8(name).utf8(value);
            }
            ChannelRequest::Exec { command } => {
                w.string(command);
            }
            ChannelRequest::Shell => {}
            ChannelRequest::Subsystem { name } => {
                w.utf8(name);
            }
            ChannelRequest::WindowChange {
                cols,
                rows,
                width_px,
                height_px,
            } => {
                w.u32(*cols).u32(*rows).u32(*width_px).u32(*height_px);
            }
            ChannelRequest::Signal { name } => {
                w.utf8(name);
            }
            ChannelRequest::ExitStatus { code } => {
                w.u32(*code);
            }
            ChannelRequest::ExitSignal {
                name,
                core_dumped,
                message,
                language,
            } => {
                w.utf8(name).bool(*core_dumped).utf8(message).utf8(language);
            }
            ChannelRequest::Other { data, .. } => {
                w.raw(data);
            }
        }
    }
}

/// What kind of channel a peer asks to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// "session"
    Session,
    /// "direct-tcpip": local port forwarding requested by the client.
    DirectTcpip {
        /// Host to connect to.
        host: String,
        /// Port to connect to.
        port: u32,
        /// Originator address.
        originator: String,
        /// Originator port.
        originator_port: u32,
    },
    /// Any other type, with its raw data.
    Other {
        /// The channel type.
        name: String,
        /// Type-specific data.
        data: Bytes,
    },
}

impl ChannelKind {
    /// The channel type on the wire.
    pub fn name(&self) -> &str {
        match self {
            ChannelKind::Session => "session",
            ChannelKind::DirectTcpip { .. } => "direct-tcpip",
            ChannelKind::Other { name, .. } => name,
        }
    }

    /// Decode from the type name and its data.
    pub fn decode(name: &str, data: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::from_bytes(data);
        let k = match name {
            "session" => ChannelKind::Session,
            "direct-tcpip" => ChannelKind::DirectTcpip {
                host: text(&mut r)?,
                port: r.u32()?,
                originator: text(&mut r)?,
                originator_port: r.u32()?,
            },
            other => {
                return Ok(ChannelKind::Other {
                    name: other.into(),
                    data: data.clone(),
                })
            }
        };
        r.finish()?;
        Ok(k)
    }

    /// Encode the type-specific data.
    pub fn encode_data(&self, buf: &mut BytesMut) {
        let w = &mut Writer::new(buf);
        match self {
            ChannelKind::Session => {}
            ChannelKind::DirectTcpip {
                host,
                port,
                originator,
                originator_port,
            } => {
                w.utf8(host)
                    .u32(*port)
                    .utf8(originator)
                    .u32(*originator_port);
            }
            ChannelKind::Other { data, .. } => {
                w.raw(data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s() -> impl Strategy<Value = String> {
        "[ -~]{0,16}"
    }

    fn any_request() -> impl Strategy<Value = ChannelRequest> {
        let b = || proptest::collection::vec(any::<u8>(), 0..32).prop_map(Bytes::from);
        prop_oneof![
            (s(), any::<[u32; 4]>(), b()).prop_map(|(term, n, modes)| {
                ChannelRequest::PtyReq(PtyRequest {
                    term,
                    cols: n[0],
                    rows: n[1],
                    width_px: n[2],
                    height_px: n[3],
                    modes,
                })
            }),
            (s(), s()).prop_map(|(name, value)| ChannelRequest::Env { name, value }),
            b().prop_map(|command| ChannelRequest::Exec { command }),
            Just(ChannelRequest::Shell),
            s().prop_map(|name| ChannelRequest::Subsystem { name }),
            any::<[u32; 4]>().prop_map(|n| ChannelRequest::WindowChange {
                cols: n[0],
                rows: n[1],
                width_px: n[2],
                height_px: n[3]
            }),
            s().prop_map(|name| ChannelRequest::Signal { name }),
            any::<u32>().prop_map(|code| ChannelRequest::ExitStatus { code }),
            (s(), any::<bool>(), s(), s()).prop_map(|(name, core_dumped, message, language)| {
                ChannelRequest::ExitSignal {
                    name,
                    core_dumped,
                    message,
                    language,
                }
            }),
            ("x-[a-z]{1,8}", b()).prop_map(|(name, data)| ChannelRequest::Other { name, data }),
        ]
    }

    proptest! {
        #[test]
        fn requests_round_trip(req in any_request()) {
            let mut b = BytesMut::new();
            req.encode_data(&mut b);
            let b = b.freeze();
            prop_assert_eq!(ChannelRequest::decode(req.name(), &b).unwrap(), req);
        }

        #[test]
        fn kinds_round_trip(host in s(), port: u32, o in s(), op: u32) {
            for k in [ChannelKind::Session, ChannelKind::DirectTcpip { host: host.clone(), port, originator: o.clone(), originator_port: op }] {
                let mut b = BytesMut::new();
                k.encode_data(&mut b);
                prop_assert_eq!(ChannelKind::decode(k.name(), &b.freeze()).unwrap(), k);
            }
        }

        #[test]
        fn truncated_requests_are_errors(n in 0usize..20) {
            let mut b = BytesMut::new();
            ChannelRequest::WindowChange { cols: 1, rows: 2, width_px: 3, height_px: 4 }.encode_data(&mut b);
            if n < b.len() {
                prop_assert!(ChannelRequest::decode("window-change", &b.freeze().slice(..n)).is_err());
            }
        }
    }
}
