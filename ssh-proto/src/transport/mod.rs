//! The transport layer: identification exchange, packet framing, key exchange
//! (negotiation, strict kex, ext-info, re-keying) and the output buffer.
//!
//! It hands the layers above decoded payloads of service messages (auth and
//! connection) and takes payloads from them to send.

mod derive;
pub mod negotiate;
mod output;
mod packet;
mod version;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tracing::debug;

use crate::config::{HostKeyPolicy, ServerConfig, TransportConfig};
use crate::error::{DisconnectReason, Error, Violation};
use crate::kex::{ExchangeContext, KexMethod, KexStep};
use crate::keys::PublicKey;

/// Room reserved in the sealed output for a message encoded in place (most control
/// messages are far smaller; a larger one grows the buffer).
const MESSAGE_HINT: usize = 512;
use crate::log;
use crate::wire::codes::*;
use crate::wire::message::{KexInit, Message};

pub use negotiate::Negotiated;
use negotiate::{EXT_INFO_C, STRICT_C, STRICT_S};
use output::SealedOutput;
use packet::{PacketReader, PacketWriter};
use version::VersionReader;

/// Which side of the connection we are, with what that side needs for key exchange.
pub(crate) enum RoleKeys {
    Server(Arc<ServerConfig>),
    Client {
        policy: HostKeyPolicy,
        host_key_algorithms: Vec<String>,
        min_rsa_bits: u32,
    },
}

/// Things the transport tells the connection about.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    KeysExchanged(Negotiated),
    ServerHostKey(PublicKey),
    Debug(String),
}

struct KexRun {
    ours: Bytes,
    ours_parsed: Box<KexInit>,
    theirs: Option<Bytes>,
    negotiated: Option<Negotiated>,
    method: Option<Box<dyn KexMethod>>,
    ignore_next: bool,
    pending_open: Option<crate::crypto::cipher::PacketProtection>,
    sent_newkeys: bool,
    received_newkeys: bool,
}

pub(crate) struct Transport {
    cfg: TransportConfig,
    role: RoleKeys,
    version_reader: VersionReader,
    our_version: String,
    peer_version: Option<String>,
    reader: PacketReader,
    writer: PacketWriter,
    out: SealedOutput,
    held: VecDeque<Bytes>,
    held_bytes: usize,
    kex: Option<Box<KexRun>>,
    session_id: Option<Vec<u8>>,
    negotiated: Option<Negotiated>,
    /// Set once the first key exchange has finished in both directions.
    established: bool,
    strict: bool,
    non_kex_before_kexinit: bool,
    peer_wants_ext_info: bool,
    server_sig_algs: Option<Vec<String>>,
    events: VecDeque<TransportEvent>,
    last_kex_at: Instant,
    /// The time of the latest call that passed one in.
    now: Instant,
    /// The sequence number of the last packet returned to the layer above.
    last_seq: u32,
    closed: bool,
    /// Tests only: behave like a broken peer that claims strict kex but keeps counting
    /// its send sequence numbers across NEWKEYS.
    #[cfg(test)]
    pub(crate) broken_keep_send_seq: bool,
}

impl Transport {
    pub(crate) fn new(cfg: TransportConfig, role: RoleKeys, now: Instant) -> Result<Self, Error> {
        let our_version = format!("SSH-2.0-{}", cfg.software_version);
        if our_version.len() > 253 || our_version.contains(['\r', '\n']) {
            return Err(Error::Config(
                "software version too long or has line breaks",
            ));
        }
        let mut t = Transport {
            version_reader: VersionReader::new(
                cfg.limits.max_preamble_lines,
                cfg.limits.max_line_len,
            ),
            cfg,
            role,
            peer_version: None,
            reader: PacketReader::new(),
            writer: PacketWriter::new(),
            out: SealedOutput::new(),
            held: VecDeque::new(),
            held_bytes: 0,
            kex: None,
            session_id: None,
            negotiated: None,
            established: false,
            strict: false,
            non_kex_before_kexinit: false,
            peer_wants_ext_info: false,
            server_sig_algs: None,
            events: VecDeque::new(),
            last_kex_at: now,
            now,
            last_seq: 0,
            closed: false,
            #[cfg(test)]
            broken_keep_send_seq: false,
            our_version,
        };
        let line = t.out.room_for(t.our_version.len() + 2);
        line.extend_from_slice(t.our_version.as_bytes());
        line.extend_from_slice(b"\r\n");
        t.start_kex()?;
        Ok(t)
    }

    fn is_server(&self) -> bool {
        matches!(self.role, RoleKeys::Server(_))
    }

    pub(crate) fn peer_version(&self) -> Option<&str> {
        self.peer_version.as_deref()
    }

    pub(crate) fn session_id(&self) -> Option<&[u8]> {
        self.session_id.as_deref()
    }

    pub(crate) fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The latest time the connection was given (by input or a timer).
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn established(&self) -> bool {
        self.established
    }

    pub(crate) fn server_sig_algs(&self) -> Option<&[String]> {
        self.server_sig_algs.as_deref()
    }

    pub(crate) fn last_seq(&self) -> u32 {
        self.last_seq
    }

    pub(crate) fn poll_event(&mut self) -> Option<TransportEvent> {
        self.events.pop_front()
    }

    pub(crate) fn limits(&self) -> &crate::config::Limits {
        &self.cfg.limits
    }

    /// Whether non-kex packets may be written now (not between our KEXINIT and NEWKEYS).
    pub(crate) fn can_send(&self) -> bool {
        !self.closed && self.established && self.kex.as_ref().is_none_or(|k| k.sent_newkeys)
    }

    /// Bytes waiting to leave: sealed output plus payloads held during key exchange.
    pub(crate) fn pending_output(&self) -> usize {
        self.out.len() + self.held_bytes
    }

    /// The next chunk of bytes for the socket.
    /// Let go of buffers that are empty now (a quiet connection keeps none).
    pub(crate) fn shrink(&mut self) {
        self.out.shrink();
        self.writer.shrink();
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        if self.held.is_empty() && self.held.capacity() > 0 {
            self.held = VecDeque::new();
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match (
            self.established && self.kex.is_none(),
            self.cfg.rekey.interval,
        ) {
            (true, Some(i)) => Some(self.last_kex_at + i),
            _ => None,
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.now = now;
        if self.poll_timeout().is_some_and(|t| now >= t) {
            if self.cfg.log.level >= log::LogLevel::Verbose {
                debug!("re-keying: time limit reached");
            }
            self.start_kex()?;
        }
        Ok(())
    }

    /// Start a key exchange unless one is already running.
    pub(crate) fn start_kex(&mut self) -> Result<(), Error> {
        if self.kex.is_some() || self.closed {
            return Ok(());
        }
        let mut cookie = [0u8; 16];
        self.cfg.rng.fill(&mut cookie)?;
        let a = &self.cfg.algorithms;
        let first = !self.established;
        let mut kex: Vec<String> = a.kex.iter().map(|k| k.name().to_owned()).collect();
        let host_key: Vec<String> = match &self.role {
            RoleKeys::Server(sc) => {
                let v = sc.host_key_algorithms();
                if first && self.cfg.strict_kex {
                    kex.push(STRICT_S.into());
                }
                v
            }
            RoleKeys::Client {
                host_key_algorithms,
                ..
            } => {
                if first {
                    kex.push(EXT_INFO_C.into());
                    if self.cfg.strict_kex {
                        kex.push(STRICT_C.into());
                    }
                }
                host_key_algorithms.clone()
            }
        };
        let ciphers: Vec<&str> = a.ciphers.iter().map(|c| c.name()).collect();
        let macs: Vec<&str> = a.macs.iter().map(|m| m.name()).collect();
        let s = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let ki = KexInit {
            cookie,
            kex,
            host_key,
            cipher_c2s: s(&ciphers),
            cipher_s2c: s(&ciphers),
            mac_c2s: s(&macs),
            mac_s2c: s(&macs),
            comp_c2s: vec!["none".into()],
            comp_s2c: vec!["none".into()],
            lang_c2s: vec![],
            lang_s2c: vec![],
            first_kex_follows: false,
            reserved: 0,
        };
        let ki = Box::new(ki);
        let payload = Message::KexInit(ki.clone()).to_bytes();
        self.write_now(&payload)?;
        self.kex = Some(Box::new(KexRun {
            ours: payload,
            ours_parsed: ki,
            theirs: None,
            negotiated: None,
            method: None,
            ignore_next: false,
            pending_open: None,
            sent_newkeys: false,
            received_newkeys: false,
        }));
        Ok(())
    }

    /// Write a message now, encoded in place, bypassing the hold of a key exchange.
    fn write_msg_now(&mut self, m: &Message) -> Result<(), Error> {
        let log = &self.cfg.log;
        self.writer
            .write_with(&mut self.out, &*self.cfg.rng, MESSAGE_HINT, |o| {
                let start = o.len();
                m.encode(o);
                log::packet(log, "out", &o[start..]);
            })
    }

    /// Write a packet now, bypassing the hold that applies during key exchange.
    fn write_now(&mut self, payload: &[u8]) -> Result<(), Error> {
        log::packet(&self.cfg.log, "out", payload);
        self.writer
            .write_with(&mut self.out, &*self.cfg.rng, payload.len(), |o| {
                o.extend_from_slice(payload)
            })
    }

    /// Queue a service-layer payload: sent now, or held until our NEWKEYS if a key
    /// exchange is running.
    pub(crate) fn send(&mut self, payload: &[u8]) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if self.can_send() {
            self.write_now(payload)?;
            self.maybe_rekey()
        } else {
            self.hold(Bytes::copy_from_slice(payload))
        }
    }

    /// Queue a message, encoded straight into its packet in the sealed output (no
    /// temporary buffer, no copy); during a key exchange it is encoded once and held
    /// until our NEWKEYS.
    pub(crate) fn send_msg(&mut self, m: &Message) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if self.can_send() {
            let log = &self.cfg.log;
            self.writer
                .write_with(&mut self.out, &*self.cfg.rng, MESSAGE_HINT, |o| {
                    let start = o.len();
                    m.encode(o);
                    log::packet(log, "out", &o[start..]);
                })?;
            self.maybe_rekey()
        } else {
            let mut b = BytesMut::new();
            m.encode(&mut b);
            self.hold(b.freeze())
        }
    }

    /// Hold `payload` until our NEWKEYS, within the pending-output bound.
    fn hold(&mut self, payload: Bytes) -> Result<(), Error> {
        if self.pending_output() + payload.len() > self.cfg.limits.max_pending_output {
            return Err(Error::LimitExceeded("output held during key exchange"));
        }
        self.held_bytes += payload.len();
        self.held.push_back(payload);
        Ok(())
    }

    /// The logging settings.
    pub(crate) fn log_settings(&self) -> &log::LogSettings {
        &self.cfg.log
    }

    /// Write a payload of about `payload_hint` bytes built in place (channel data).
    /// Only valid when `can_send()`.
    pub(crate) fn send_with(
        &mut self,
        payload_hint: usize,
        fill: impl FnOnce(&mut BytesMut),
    ) -> Result<(), Error> {
        if !self.can_send() {
            return Err(Error::InvalidState("transport cannot send now"));
        }
        self.writer
            .write_with(&mut self.out, &*self.cfg.rng, payload_hint, fill)?;
        self.maybe_rekey()
    }

    fn maybe_rekey(&mut self) -> Result<(), Error> {
        let limit = self.cfg.rekey.bytes;
        if self.established
            && self.kex.is_none()
            && (self.writer.bytes >= limit
                || self.reader.bytes >= limit
                || self.writer.seq >= 1 << 31
                || self.reader.seq >= 1 << 31)
        {
            if self.cfg.log.level >= log::LogLevel::Verbose {
                debug!("re-keying: data limit reached");
            }
            self.start_kex()?;
        }
        Ok(())
    }

    /// Send SSH_MSG_DISCONNECT and stop sending anything else.
    pub(crate) fn disconnect(&mut self, reason: DisconnectReason, description: &str) {
        if self.closed {
            return;
        }
        let m = Message::Disconnect {
            reason: reason.code(),
            description: description.to_owned(),
            language: String::new(),
        };
        // A failure here only loses the courtesy message; the connection ends either way.
        let _ = self.write_msg_now(&m);
        self.closed = true;
        self.held.clear();
        self.held_bytes = 0;
    }

    /// Read input until a service-layer payload is available. Transport messages are
    /// handled here. `Ok(None)`: more bytes are needed.
    pub(crate) fn poll_payload(
        &mut self,
        now: Instant,
        buf: &mut BytesMut,
    ) -> Result<Option<Bytes>, Error> {
        self.now = now;
        if self.closed {
            return Err(Error::Closed);
        }
        if self.peer_version.is_none() {
            match self.version_reader.read(buf)? {
                Some(v) => {
                    if self.cfg.log.level >= log::LogLevel::Verbose {
                        debug!(peer_version = %v, "identification received");
                    }
                    self.peer_version = Some(v);
                }
                None => return Ok(None),
            }
        }
        loop {
            let seq = self.reader.seq;
            let Some(payload) = self.reader.read(buf, self.cfg.limits.max_packet_len)? else {
                return Ok(None);
            };
            let Some(&code) = payload.first() else {
                return Err(Error::Peer(Violation::EmptyPayload));
            };
            log::packet(&self.cfg.log, "in", &payload);
            if self.handle_transport_message(code, &payload)? {
                continue;
            }
            self.last_seq = seq;
            return Ok(Some(payload));
        }
    }

    /// Handle transport messages; `Ok(false)` passes the payload up.
    fn handle_transport_message(&mut self, code: u8, payload: &Bytes) -> Result<bool, Error> {
        let initial = !self.established;
        let peer_kexinit_seen = self.kex.as_ref().is_some_and(|k| k.theirs.is_some());
        let is_kex = matches!(code, KEXINIT | NEWKEYS) || is_kex_method(code);
        if initial && !is_kex {
            if self.strict {
                return Err(Error::Peer(Violation::UnexpectedMessage {
                    msg: code,
                    state: "strict initial key exchange",
                }));
            }
            if !peer_kexinit_seen {
                self.non_kex_before_kexinit = true;
            }
        }
        match code {
            KEXINIT => {
                self.on_kexinit(payload)?;
                Ok(true)
            }
            NEWKEYS => {
                if payload.len() != 1 {
                    return Err(Error::Peer(Violation::Decode(
                        crate::error::DecodeError::TrailingData,
                    )));
                }
                self.on_newkeys()?;
                Ok(true)
            }
            c if is_kex_method(c) => {
                self.on_kex_method(c, payload)?;
                Ok(true)
            }
            DISCONNECT => match Message::decode(payload)? {
                Message::Disconnect {
                    reason,
                    description,
                    ..
                } => Err(Error::PeerDisconnected {
                    reason: DisconnectReason::from_code(reason),
                    description: description
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(256)
                        .collect(),
                }),
                _ => Err(Error::Peer(Violation::MalformedDisconnect)),
            },
            IGNORE | UNIMPLEMENTED => {
                Message::decode(payload)?;
                Ok(true)
            }
            DEBUG => {
                if let Message::Debug {
                    always_display: true,
                    message,
                    ..
                } = Message::decode(payload)?
                {
                    let m: String = message
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(256)
                        .collect();
                    self.events.push_back(TransportEvent::Debug(m));
                }
                Ok(true)
            }
            EXT_INFO if !self.is_server() && self.established => {
                if let Message::ExtInfo { extensions } = Message::decode(payload)? {
                    for (name, value) in extensions {
                        if name == "server-sig-algs" {
                            let v = std::str::from_utf8(&value)
                                .map_err(|_| Error::Peer(Violation::MalformedExtInfo))?;
                            self.server_sig_algs =
                                Some(crate::wire::names(v).map(str::to_owned).collect());
                        }
                    }
                }
                Ok(true)
            }
            _ if initial => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "initial key exchange",
            })),
            _ if peer_kexinit_seen => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "key re-exchange",
            })),
            _ => Ok(false),
        }
    }

    fn on_kexinit(&mut self, payload: &Bytes) -> Result<(), Error> {
        if self.kex.as_ref().is_some_and(|k| k.theirs.is_some()) {
            return Err(Error::Peer(Violation::UnexpectedMessage {
                msg: KEXINIT,
                state: "key exchange already running",
            }));
        }
        self.start_kex()?;
        let Message::KexInit(theirs) = Message::decode(payload)? else {
            return Err(Error::Peer(Violation::MalformedKexInit));
        };
        let run = self.kex.as_mut().ok_or(Error::Closed)?;
        let ours = &run.ours_parsed;
        let server = matches!(self.role, RoleKeys::Server(_));
        let (c, s): (&KexInit, &KexInit) = if server {
            (&theirs, ours)
        } else {
            (ours, &theirs)
        };
        let n = negotiate::negotiate(c, s, !self.established)?;
        if !self.established {
            self.strict = n.strict_kex;
            if self.strict && (self.non_kex_before_kexinit || self.reader.seq != 1) {
                return Err(Error::Peer(Violation::KeyExchange(
                    "strict kex: KEXINIT was not the first packet",
                )));
            }
            if server {
                self.peer_wants_ext_info = theirs.kex.iter().any(|k| k == EXT_INFO_C);
            }
        }
        if self.cfg.log.level >= log::LogLevel::Verbose {
            debug!(kex = n.kex.name(), host_key = %n.host_key, c2s = n.cipher_c2s.name(), s2c = n.cipher_s2c.name(), strict = self.strict, "algorithms negotiated");
        }
        run.ignore_next = theirs.first_kex_follows && negotiate::guess_was_wrong(c, s);
        run.theirs = Some(payload.clone());
        let mut method = n.kex.start();
        run.negotiated = Some(n);
        if !server {
            let msgs = {
                let ctx = self.exchange_context()?;
                method.client_start(&ctx)?
            };
            for m in msgs {
                self.write_now(&m)?;
            }
        }
        if let Some(run) = self.kex.as_mut() {
            run.method = Some(method);
        }
        Ok(())
    }

    fn exchange_context(&self) -> Result<ExchangeContext<'_>, Error> {
        let run = self.kex.as_ref().ok_or(Error::Closed)?;
        let theirs = run
            .theirs
            .as_ref()
            .ok_or(Error::Peer(Violation::KexBeforeKexInit))?;
        let n = run
            .negotiated
            .as_ref()
            .ok_or(Error::Peer(Violation::KexBeforeKexInit))?;
        let peer_v = self.peer_version.as_deref().unwrap_or("").as_bytes();
        let our_v = self.our_version.as_bytes();
        Ok(match &self.role {
            RoleKeys::Server(sc) => ExchangeContext {
                v_c: peer_v,
                v_s: our_v,
                i_c: theirs,
                i_s: &run.ours,
                host_key: sc.host_key_for(&n.host_key),
                k_s: sc.host_key_blob(&n.host_key),
                host_key_alg: &n.host_key,
                rng: &*self.cfg.rng,
            },
            RoleKeys::Client { .. } => ExchangeContext {
                v_c: our_v,
                v_s: peer_v,
                i_c: &run.ours,
                i_s: theirs,
                host_key: None,
                k_s: None,
                host_key_alg: &n.host_key,
                rng: &*self.cfg.rng,
            },
        })
    }

    fn on_kex_method(&mut self, code: u8, payload: &Bytes) -> Result<(), Error> {
        let Some(run) = self.kex.as_mut() else {
            return Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "no key exchange running",
            }));
        };
        if run.ignore_next {
            run.ignore_next = false;
            return Ok(());
        }
        // A method that has finished is not put back: any later method message is
        // refused here, for every method alike.
        let Some(mut method) = run.method.take() else {
            return Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "key exchange method not running",
            }));
        };
        let body = payload.slice(1..);
        let step = {
            let ctx = self.exchange_context()?;
            method.handle(code, &body, &ctx)
        };
        match step? {
            KexStep::Continue(msgs) => {
                if let Some(run) = self.kex.as_mut() {
                    run.method = Some(method);
                }
                for m in msgs {
                    self.write_now(&m)?;
                }
                Ok(())
            }
            KexStep::Done(reply, outcome) => {
                if let Some(r) = reply {
                    self.write_now(&r)?;
                }
                if let Some(key) = &outcome.server_host_key {
                    if let RoleKeys::Client {
                        policy,
                        min_rsa_bits,
                        ..
                    } = &self.role
                    {
                        if key.rsa_bits().is_some_and(|b| b < *min_rsa_bits) {
                            debug!(bits = key.rsa_bits(), "RSA host key below the minimum");
                            return Err(Error::Peer(Violation::HostKeyNotVerifiable));
                        }
                        if let HostKeyPolicy::Known(keys) = policy {
                            if !keys.contains(key) {
                                return Err(Error::Peer(Violation::HostKeyNotVerifiable));
                            }
                        }
                    }
                    self.events
                        .push_back(TransportEvent::ServerHostKey(key.clone()));
                }
                let sid = self
                    .session_id
                    .get_or_insert_with(|| outcome.h.clone())
                    .clone();
                let run = self.kex.as_mut().ok_or(Error::Closed)?;
                let n = run.negotiated.as_ref().ok_or(Error::Closed)?;
                let keys =
                    derive::new_keys(&outcome, &sid, n, matches!(self.role, RoleKeys::Server(_)))?;
                run.pending_open = Some(keys.open);
                self.write_now(&[NEWKEYS])?;
                self.writer.prot = keys.seal;
                self.writer.bytes = 0;
                #[cfg(test)]
                let reset = self.strict && !self.broken_keep_send_seq;
                #[cfg(not(test))]
                let reset = self.strict;
                if reset {
                    self.writer.seq = 0;
                }
                if let Some(run) = self.kex.as_mut() {
                    run.sent_newkeys = true;
                }
                if self.is_server() && !self.established && self.peer_wants_ext_info {
                    self.send_ext_info()?;
                }
                while let Some(p) = self.held.pop_front() {
                    self.held_bytes -= p.len();
                    self.write_now(&p)?;
                }
                self.maybe_finish_kex();
                Ok(())
            }
        }
    }

    fn send_ext_info(&mut self) -> Result<(), Error> {
        let RoleKeys::Server(sc) = &self.role else {
            return Ok(());
        };
        let algs = sc.user_keys.signature_algorithms.join(",");
        let m = Message::ExtInfo {
            extensions: vec![
                ("server-sig-algs".into(), Bytes::from(algs)),
                // OpenSSH's host-bound publickey authentication, version 0.
                (
                    "publickey-hostbound@openssh.com".into(),
                    Bytes::from_static(b"0"),
                ),
                // OpenSSH's transport ping, answered once authenticated.
                ("ping@openssh.com".into(), Bytes::from_static(b"0")),
            ],
        };
        self.write_msg_now(&m)
    }

    fn on_newkeys(&mut self) -> Result<(), Error> {
        let Some(open) = self.kex.as_mut().and_then(|k| k.pending_open.take()) else {
            return Err(Error::Peer(Violation::UnexpectedMessage {
                msg: NEWKEYS,
                state: "key exchange not finished",
            }));
        };
        self.reader.prot = open;
        self.reader.bytes = 0;
        if self.strict {
            self.reader.seq = 0;
        }
        if let Some(run) = self.kex.as_mut() {
            run.received_newkeys = true;
        }
        self.maybe_finish_kex();
        Ok(())
    }

    /// End the key exchange once NEWKEYS went both ways.
    fn maybe_finish_kex(&mut self) {
        let done = self
            .kex
            .as_ref()
            .is_some_and(|k| k.sent_newkeys && k.received_newkeys);
        if !done {
            return;
        }
        if let Some(run) = self.kex.take() {
            self.established = true;
            self.last_kex_at = self.now;
            if let Some(n) = run.negotiated {
                self.negotiated = Some(n.clone());
                self.events.push_back(TransportEvent::KeysExchanged(n));
            }
        }
    }
}
