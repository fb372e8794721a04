//! Typed SSH messages with their encoders and decoders.
//!
//! Key-exchange-method messages (30..=49) are kept raw here: their layout depends on
//! the negotiated method, so the `kex` module decodes them.

use bytes::{Bytes, BytesMut};

use super::codes::*;
use super::{names, Reader, Writer};
use crate::error::DecodeError;
use crate::secret::SecretString;

/// The method name of OpenSSH's host-bound publickey authentication.
pub(crate) const HOSTBOUND_METHOD: &str = "publickey-hostbound-v00@openssh.com";

/// SSH_MSG_KEXINIT (RFC 4253 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexInit {
    /// 16 random bytes.
    pub cookie: [u8; 16],
    /// Key exchange methods, most preferred first.
    pub kex: Vec<String>,
    /// Host key algorithms.
    pub host_key: Vec<String>,
    /// Ciphers client to server.
    pub cipher_c2s: Vec<String>,
    /// Ciphers server to client.
    pub cipher_s2c: Vec<String>,
    /// MACs client to server.
    pub mac_c2s: Vec<String>,
    /// MACs server to client.
    pub mac_s2c: Vec<String>,
    /// Compression client to server.
    pub comp_c2s: Vec<String>,
    /// Compression server to client.
    pub comp_s2c: Vec<String>,
    /// Languages client to server.
    pub lang_c2s: Vec<String>,
    /// Languages server to client.
    pub lang_s2c: Vec<String>,
    /// Whether a guessed key exchange packet follows.
    pub first_kex_follows: bool,
    /// Reserved, 0.
    pub reserved: u32,
}

/// The method-specific part of SSH_MSG_USERAUTH_REQUEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethodData {
    /// "none"
    None,
    /// "password"
    Password {
        /// The password.
        password: SecretString,
        /// A new password, when the client asks to change it.
        new_password: Option<SecretString>,
    },
    /// "publickey", or "publickey-hostbound-v00@openssh.com" when `host_key` is set.
    PublicKey {
        /// The public key algorithm name.
        algorithm: String,
        /// The public key blob.
        blob: Bytes,
        /// The server host key blob the signature is bound to (the OpenSSH
        /// host-bound form).
        host_key: Option<Bytes>,
        /// The signature, absent for a query.
        signature: Option<Bytes>,
    },
    /// "keyboard-interactive" (RFC 4256)
    KeyboardInteractive {
        /// Language tag (deprecated).
        language: String,
        /// Submethods hint.
        submethods: String,
    },
    /// Any other method, with its raw data.
    Other {
        /// The method name.
        name: String,
        /// Everything after the method name.
        data: Bytes,
    },
}

impl AuthMethodData {
    /// The method name on the wire.
    pub fn name(&self) -> &str {
        match self {
            AuthMethodData::None => "none",
            AuthMethodData::Password { .. } => "password",
            AuthMethodData::PublicKey { host_key: None, .. } => "publickey",
            AuthMethodData::PublicKey { .. } => HOSTBOUND_METHOD,
            AuthMethodData::KeyboardInteractive { .. } => "keyboard-interactive",
            AuthMethodData::Other { name, .. } => name,
        }
    }
}

/// Every message this crate decodes, by number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Message {
    Disconnect {
        reason: u32,
        description: String,
        language: String,
    },
    Ignore {
        data: Bytes,
    },
    Unimplemented {
        seq: u32,
    },
    Debug {
        always_display: bool,
        message: String,
        language: String,
    },
    ServiceRequest {
        name: String,
    },
    ServiceAccept {
        name: String,
    },
    ExtInfo {
        extensions: Vec<(String, Bytes)>,
    },
    KexInit(Box<KexInit>),
    NewKeys,
    /// A key-exchange-method message (30..=49), decoded by the negotiated method.
    KexMethod {
        code: u8,
        body: Bytes,
    },
    UserauthRequest {
        user: String,
        service: String,
        method: AuthMethodData,
    },
    UserauthFailure {
        methods: Vec<String>,
        partial_success: bool,
    },
    UserauthSuccess,
    UserauthBanner {
        message: String,
        language: String,
    },
    UserauthPkOk {
        algorithm: String,
        blob: Bytes,
    },
    GlobalRequest {
        name: String,
        want_reply: bool,
        data: Bytes,
    },
    RequestSuccess {
        data: Bytes,
    },
    RequestFailure,
    ChannelOpen {
        kind: String,
        sender: u32,
        window: u32,
        max_packet: u32,
        data: Bytes,
    },
    ChannelOpenConfirmation {
        recipient: u32,
        sender: u32,
        window: u32,
        max_packet: u32,
        data: Bytes,
    },
    ChannelOpenFailure {
        recipient: u32,
        reason: u32,
        description: String,
        language: String,
    },
    ChannelWindowAdjust {
        recipient: u32,
        bytes: u32,
    },
    ChannelData {
        recipient: u32,
        data: Bytes,
    },
    ChannelExtendedData {
        recipient: u32,
        code: u32,
        data: Bytes,
    },
    ChannelEof {
        recipient: u32,
    },
    ChannelClose {
        recipient: u32,
    },
    ChannelRequest {
        recipient: u32,
        kind: String,
        want_reply: bool,
        data: Bytes,
    },
    ChannelSuccess {
        recipient: u32,
    },
    ChannelFailure {
        recipient: u32,
    },
    /// A message number this crate does not know.
    Unknown {
        code: u8,
    },
}

fn list(s: &str) -> Vec<String> {
    names(s).map(str::to_owned).collect()
}

fn text(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    Ok(r.utf8()?.to_owned())
}

impl KexInit {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut cookie = [0u8; 16];
        cookie.copy_from_slice(r.take(16)?);
        let mut l = || -> Result<Vec<String>, DecodeError> { Ok(list(r.name_list()?)) };
        let (kex, host_key, cipher_c2s, cipher_s2c) = (l()?, l()?, l()?, l()?);
        let (mac_c2s, mac_s2c, comp_c2s, comp_s2c) = (l()?, l()?, l()?, l()?);
        let (lang_c2s, lang_s2c) = (l()?, l()?);
        Ok(KexInit {
            cookie,
            kex,
            host_key,
            cipher_c2s,
            cipher_s2c,
            mac_c2s,
            mac_s2c,
            comp_c2s,
            comp_s2c,
            lang_c2s,
            lang_s2c,
            first_kex_follows: r.bool()?,
            reserved: r.u32()?,
        })
    }

    fn encode(&self, w: &mut Writer<'_>) {
        w.raw(&self.cookie);
        for l in [
            &self.kex,
            &self.host_key,
            &self.cipher_c2s,
            &self.cipher_s2c,
            &self.mac_c2s,
            &self.mac_s2c,
            &self.comp_c2s,
            &self.comp_s2c,
            &self.lang_c2s,
            &self.lang_s2c,
        ] {
            w.name_list(l);
        }
        w.bool(self.first_kex_follows).u32(self.reserved);
    }
}

impl AuthMethodData {
    fn decode(method: &str, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match method {
            "none" => AuthMethodData::None,
            "password" => {
                let change = r.bool()?;
                let password = SecretString::new(text(r)?);
                let new_password = if change {
                    Some(SecretString::new(text(r)?))
                } else {
                    None
                };
                AuthMethodData::Password {
                    password,
                    new_password,
                }
            }
            "publickey" | HOSTBOUND_METHOD => {
                let has_sig = r.bool()?;
                let algorithm = r.name_list()?.to_owned();
                let blob = r.string_bytes()?;
                let host_key = if method == HOSTBOUND_METHOD {
                    Some(r.string_bytes()?)
                } else {
                    None
                };
                let signature = if has_sig {
                    Some(r.string_bytes()?)
                } else {
                    None
                };
                AuthMethodData::PublicKey {
                    algorithm,
                    blob,
                    host_key,
                    signature,
                }
            }
            "keyboard-interactive" => AuthMethodData::KeyboardInteractive {
                language: text(r)?,
                submethods: text(r)?,
            },
            other => AuthMethodData::Other {
                name: other.to_owned(),
                data: r.take_rest_bytes(),
            },
        })
    }

    fn encode(&self, w: &mut Writer<'_>) {
        w.utf8(self.name());
        match self {
            AuthMethodData::None => {}
            AuthMethodData::Password {
                password,
                new_password,
            } => {
                w.bool(new_password.is_some()).utf8(password.expose());
                if let Some(n) = new_password {
                    w.utf8(n.expose());
                }
            }
            AuthMethodData::PublicKey {
                algorithm,
                blob,
                host_key,
                signature,
            } => {
                w.bool(signature.is_some()).utf8(algorithm).string(blob);
                if let Some(h) = host_key {
                    w.string(h);
                }
                if let Some(s) = signature {
                    w.string(s);
                }
            }
            AuthMethodData::KeyboardInteractive {
                language,
                submethods,
            } => {
                w.utf8(language).utf8(submethods);
            }
            AuthMethodData::Other { data, .. } => {
                w.raw(data);
            }
        }
    }
}

impl Message {
    /// Decode a whole payload (message number first). Trailing bytes are an error,
    /// except where the RFC leaves a message open-ended.
    pub fn decode(payload: &Bytes) -> Result<Message, DecodeError> {
        let mut r = Reader::from_bytes(payload);
        let code = r.u8()?;
        let r = &mut r;
        let m = match code {
            DISCONNECT => Message::Disconnect {
                reason: r.u32()?,
                description: String::from_utf8_lossy(r.string()?).into_owned(),
                language: String::from_utf8_lossy(r.string()?).into_owned(),
            },
            IGNORE => Message::Ignore {
                data: r.string_bytes()?,
            },
            UNIMPLEMENTED => Message::Unimplemented { seq: r.u32()? },
            DEBUG => Message::Debug {
                always_display: r.bool()?,
                message: String::from_utf8_lossy(r.string()?).into_owned(),
                language: String::from_utf8_lossy(r.string()?).into_owned(),
            },
            SERVICE_REQUEST => Message::ServiceRequest { name: text(r)? },
            SERVICE_ACCEPT => Message::ServiceAccept { name: text(r)? },
            EXT_INFO => {
                let n = r.u32()?;
                if n as usize > r.remaining() / 8 {
                    return Err(DecodeError::Invalid("ext-info count exceeds payload"));
                }
                let mut extensions = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    extensions.push((text(r)?, r.string_bytes()?));
                }
                Message::ExtInfo { extensions }
            }
            KEXINIT => Message::KexInit(Box::new(KexInit::decode(r)?)),
            NEWKEYS => Message::NewKeys,
            c if is_kex_method(c) => {
                return Ok(Message::KexMethod {
                    code: c,
                    body: r.take_rest_bytes(),
                })
            }
            USERAUTH_REQUEST => {
                let user = text(r)?;
                let service = text(r)?;
                let method_name = text(r)?;
                let method = AuthMethodData::decode(&method_name, r)?;
                Message::UserauthRequest {
                    user,
                    service,
                    method,
                }
            }
            USERAUTH_FAILURE => Message::UserauthFailure {
                methods: list(r.name_list()?),
                partial_success: r.bool()?,
            },
            USERAUTH_SUCCESS => Message::UserauthSuccess,
            USERAUTH_BANNER => Message::UserauthBanner {
                message: text(r)?,
                language: text(r)?,
            },
            USERAUTH_PK_OK => Message::UserauthPkOk {
                algorithm: text(r)?,
                blob: r.string_bytes()?,
            },
            GLOBAL_REQUEST => Message::GlobalRequest {
                name: text(r)?,
                want_reply: r.bool()?,
                data: r.take_rest_bytes(),
            },
            REQUEST_SUCCESS => Message::RequestSuccess {
                data: r.take_rest_bytes(),
            },
            REQUEST_FAILURE => Message::RequestFailure,
            CHANNEL_OPEN => Message::ChannelOpen {
                kind: text(r)?,
                sender: r.u32()?,
                window: r.u32()?,
                max_packet: r.u32()?,
                data: r.take_rest_bytes(),
            },
            CHANNEL_OPEN_CONFIRMATION => Message::ChannelOpenConfirmation {
                recipient: r.u32()?,
                sender: r.u32()?,
                window: r.u32()?,
                max_packet: r.u32()?,
                data: r.take_rest_bytes(),
            },
            CHANNEL_OPEN_FAILURE => Message::ChannelOpenFailure {
                recipient: r.u32()?,
                reason: r.u32()?,
                description: String::from_utf8_lossy(r.string()?).into_owned(),
                language: String::from_utf8_lossy(r.string()?).into_owned(),
            },
            CHANNEL_WINDOW_ADJUST => Message::ChannelWindowAdjust {
                recipient: r.u32()?,
                bytes: r.u32()?,
            },
            CHANNEL_DATA => Message::ChannelData {
                recipient: r.u32()?,
                data: r.string_bytes()?,
            },
            CHANNEL_EXTENDED_DATA => Message::ChannelExtendedData {
                recipient: r.u32()?,
                code: r.u32()?,
                data: r.string_bytes()?,
            },
            CHANNEL_EOF => Message::ChannelEof {
                recipient: r.u32()?,
            },
            CHANNEL_CLOSE => Message::ChannelClose {
                recipient: r.u32()?,
            },
            CHANNEL_REQUEST => Message::ChannelRequest {
                recipient: r.u32()?,
                kind: text(r)?,
                want_reply: r.bool()?,
                data: r.take_rest_bytes(),
            },
            CHANNEL_SUCCESS => Message::ChannelSuccess {
                recipient: r.u32()?,
            },
            CHANNEL_FAILURE => Message::ChannelFailure {
                recipient: r.u32()?,
            },
            code => return Ok(Message::Unknown { code }),
        };
        // Some implementations append fields to messages that end with a string; the RFCs
        // do not allow it, but tolerating it on these messages is harmless.
        match m {
            Message::Disconnect { .. }
            | Message::Debug { .. }
            | Message::ChannelOpenFailure { .. } => {}
            _ => r.finish()?,
        }
        Ok(m)
    }

    /// Encode as a payload (message number first) appended to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) {
        let w = &mut Writer::new(buf);
        match self {
            Message::Disconnect {
                reason,
                description,
                language,
            } => {
                w.u8(DISCONNECT)
                    .u32(*reason)
                    .utf8(description)
                    .utf8(language);
            }
            Message::Ignore { data } => {
                w.u8(IGNORE).string(data);
            }
            Message::Unimplemented { seq } => {
                w.u8(UNIMPLEMENTED).u32(*seq);
            }
            Message::Debug {
                always_display,
                message,
                language,
            } => {
                w.u8(DEBUG)
                    .bool(*always_display)
                    .utf8(message)
                    .utf8(language);
            }
            Message::ServiceRequest { name } => {
                w.u8(SERVICE_REQUEST).utf8(name);
            }
            Message::ServiceAccept { name } => {
                w.u8(SERVICE_ACCEPT).utf8(name);
            }
            Message::ExtInfo { extensions } => {
                w.u8(EXT_INFO).u32(extensions.len() as u32);
                for (n, v) in extensions {
                    w.utf8(n).string(v);
                }
            }
            Message::KexInit(k) => {
                w.u8(KEXINIT);
                k.encode(w);
            }
            Message::NewKeys => {
                w.u8(NEWKEYS);
            }
            Message::KexMethod { code, body } => {
                w.u8(*code).raw(body);
            }
            Message::UserauthRequest {
                user,
                service,
                method,
            } => {
                w.u8(USERAUTH_REQUEST).utf8(user).utf8(service);
                method.encode(w);
            }
            Message::UserauthFailure {
                methods,
                partial_success,
            } => {
                w.u8(USERAUTH_FAILURE)
                    .name_list(methods)
                    .bool(*partial_success);
            }
            Message::UserauthSuccess => {
                w.u8(USERAUTH_SUCCESS);
            }
            Message::UserauthBanner { message, language } => {
                w.u8(USERAUTH_BANNER).utf8(message).utf8(language);
            }
            Message::UserauthPkOk { algorithm, blob } => {
                w.u8(USERAUTH_PK_OK).utf8(algorithm).string(blob);
            }
            Message::GlobalRequest {
                name,
                want_reply,
                data,
            } => {
                w.u8(GLOBAL_REQUEST).utf8(name).bool(*want_reply).raw(data);
            }
            Message::RequestSuccess { data } => {
                w.u8(REQUEST_SUCCESS).raw(data);
            }
            Message::RequestFailure => {
                w.u8(REQUEST_FAILURE);
            }
            Message::ChannelOpen {
                kind,
                sender,
                window,
                max_packet,
                data,
            } => {
                w.u8(CHANNEL_OPEN)
                    .utf8(kind)
                    .u32(*sender)
                    .u32(*window)
                    .u32(*max_packet)
                    .raw(data);
            }
            Message::ChannelOpenConfirmation {
                recipient,
                sender,
                window,
                max_packet,
                data,
            } => {
                w.u8(CHANNEL_OPEN_CONFIRMATION)
                    .u32(*recipient)
                    .u32(*sender)
                    .u32(*window)
                    .u32(*max_packet)
                    .raw(data);
            }
            Message::ChannelOpenFailure {
                recipient,
                reason,
                description,
                language,
            } => {
                w.u8(CHANNEL_OPEN_FAILURE)
                    .u32(*recipient)
                    .u32(*reason)
                    .utf8(description)
                    .utf8(language);
            }
            Message::ChannelWindowAdjust { recipient, bytes } => {
                w.u8(CHANNEL_WINDOW_ADJUST).u32(*recipient).u32(*bytes);
            }
            Message::ChannelData { recipient, data } => {
                w.u8(CHANNEL_DATA).u32(*recipient).string(data);
            }
            Message::ChannelExtendedData {
                recipient,
                code,
                data,
            } => {
                w.u8(CHANNEL_EXTENDED_DATA)
                    .u32(*recipient)
                    .u32(*code)
                    .string(data);
            }
            Message::ChannelEof { recipient } => {
                w.u8(CHANNEL_EOF).u32(*recipient);
            }
            Message::ChannelClose { recipient } => {
                w.u8(CHANNEL_CLOSE).u32(*recipient);
            }
            Message::ChannelRequest {
                recipient,
                kind,
                want_reply,
                data,
            } => {
                w.u8(CHANNEL_REQUEST)
                    .u32(*recipient)
                    .utf8(kind)
                    .bool(*want_reply)
                    .raw(data);
            }
            Message::ChannelSuccess { recipient } => {
                w.u8(CHANNEL_SUCCESS).u32(*recipient);
            }
            Message::ChannelFailure { recipient } => {
                w.u8(CHANNEL_FAILURE).u32(*recipient);
            }
            Message::Unknown { code } => {
                w.u8(*code);
            }
        }
    }

    /// Encode into a fresh buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode(&mut b);
        b.freeze()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s() -> impl Strategy<Value = String> {
        "[ -~]{0,24}"
    }
    fn name() -> impl Strategy<Value = String> {
        "[a-z0-9@.-]{1,16}"
    }
    fn names_v() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(name(), 0..5)
    }
    fn b() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from)
    }

    fn kexinit() -> impl Strategy<Value = Message> {
        (
            any::<[u8; 16]>(),
            proptest::collection::vec(names_v(), 10),
            any::<bool>(),
            any::<u32>(),
        )
            .prop_map(|(cookie, l, first_kex_follows, reserved)| {
                Message::KexInit(Box::new(KexInit {
                    cookie,
                    kex: l[0].clone(),
                    host_key: l[1].clone(),
                    cipher_c2s: l[2].clone(),
                    cipher_s2c: l[3].clone(),
                    mac_c2s: l[4].clone(),
                    mac_s2c: l[5].clone(),
                    comp_c2s: l[6].clone(),
                    comp_s2c: l[7].clone(),
                    lang_c2s: l[8].clone(),
                    lang_s2c: l[9].clone(),
                    first_kex_follows,
                    reserved,
                }))
            })
    }

    fn auth_method() -> impl Strategy<Value = AuthMethodData> {
        prop_oneof![
            Just(AuthMethodData::None),
            (s(), proptest::option::of(s())).prop_map(|(p, n)| AuthMethodData::Password {
                password: SecretString::new(p),
                new_password: n.map(SecretString::new),
            }),
            (
                name(),
                b(),
                proptest::option::of(b()),
                proptest::option::of(b())
            )
                .prop_map(|(algorithm, blob, host_key, signature)| {
                    AuthMethodData::PublicKey {
                        algorithm,
                        blob,
                        host_key,
                        signature,
                    }
                }),
            (s(), s()).prop_map(
                |(language, submethods)| AuthMethodData::KeyboardInteractive {
                    language,
                    submethods
                }
            ),
            ("x-[a-z]{1,8}", b()).prop_map(|(name, data)| AuthMethodData::Other { name, data }),
        ]
    }

    /// Any well-formed message (also used by the fuzz crate's generators).
    pub fn any_message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<u32>(), s(), s()).prop_map(|(reason, description, language)| {
                Message::Disconnect {
                    reason,
                    description,
                    language,
                }
            }),
            b().prop_map(|data| Message::Ignore { data }),
            any::<u32>().prop_map(|seq| Message::Unimplemented { seq }),
            (any::<bool>(), s(), s()).prop_map(|(always_display, message, language)| {
                Message::Debug {
                    always_display,
                    message,
                    language,
                }
            }),
            s().prop_map(|name| Message::ServiceRequest { name }),
            s().prop_map(|name| Message::ServiceAccept { name }),
            proptest::collection::vec((s(), b()), 0..4)
                .prop_map(|extensions| Message::ExtInfo { extensions }),
            kexinit(),
            Just(Message::NewKeys),
            (30u8..=49, b()).prop_map(|(code, body)| Message::KexMethod { code, body }),
            (s(), s(), auth_method()).prop_map(|(user, service, method)| {
                Message::UserauthRequest {
                    user,
                    service,
                    method,
                }
            }),
            (names_v(), any::<bool>()).prop_map(|(methods, partial_success)| {
                Message::UserauthFailure {
                    methods,
                    partial_success,
                }
            }),
            Just(Message::UserauthSuccess),
            (s(), s())
                .prop_map(|(message, language)| Message::UserauthBanner { message, language }),
            (s(), b()).prop_map(|(algorithm, blob)| Message::UserauthPkOk { algorithm, blob }),
            (s(), any::<bool>(), b()).prop_map(|(name, want_reply, data)| {
                Message::GlobalRequest {
                    name,
                    want_reply,
                    data,
                }
            }),
            b().prop_map(|data| Message::RequestSuccess { data }),
            Just(Message::RequestFailure),
            (s(), any::<[u32; 3]>(), b()).prop_map(|(kind, n, data)| Message::ChannelOpen {
                kind,
                sender: n[0],
                window: n[1],
                max_packet: n[2],
                data
            }),
            (any::<[u32; 4]>(), b()).prop_map(|(n, data)| Message::ChannelOpenConfirmation {
                recipient: n[0],
                sender: n[1],
                window: n[2],
                max_packet: n[3],
                data
            }),
            (any::<[u32; 2]>(), s(), s()).prop_map(|(n, description, language)| {
                Message::ChannelOpenFailure {
                    recipient: n[0],
                    reason: n[1],
                    description,
                    language,
                }
            }),
            any::<[u32; 2]>().prop_map(|n| Message::ChannelWindowAdjust {
                recipient: n[0],
                bytes: n[1]
            }),
            (any::<u32>(), b())
                .prop_map(|(recipient, data)| Message::ChannelData { recipient, data }),
            (any::<[u32; 2]>(), b()).prop_map(|(n, data)| Message::ChannelExtendedData {
                recipient: n[0],
                code: n[1],
                data
            }),
            any::<u32>().prop_map(|recipient| Message::ChannelEof { recipient }),
            any::<u32>().prop_map(|recipient| Message::ChannelClose { recipient }),
            (any::<u32>(), s(), any::<bool>(), b()).prop_map(
                |(recipient, kind, want_reply, data)| Message::ChannelRequest {
                    recipient,
                    kind,
                    want_reply,
                    data
                }
            ),
            any::<u32>().prop_map(|recipient| Message::ChannelSuccess { recipient }),
            any::<u32>().prop_map(|recipient| Message::ChannelFailure { recipient }),
        ]
    }

    proptest! {
        #[test]
        fn every_message_round_trips(m in any_message()) {
            let enc = m.to_bytes();
            let dec = Message::decode(&enc).unwrap();
            prop_assert_eq!(dec, m);
        }

        #[test]
        fn arbitrary_payloads_never_panic(p in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Message::decode(&Bytes::from(p));
        }
    }

    #[test]
    fn channel_data_is_zero_copy() {
        let m = Message::ChannelData {
            recipient: 3,
            data: Bytes::from_static(b"hello"),
        };
        let enc = m.to_bytes();
        match Message::decode(&enc).unwrap() {
            Message::ChannelData { data, .. } => {
                assert_eq!(data.as_ptr(), enc[9..].as_ptr());
            }
            other => panic!("decoded {other:?}"),
        }
    }
}
