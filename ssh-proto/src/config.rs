//! Server and client configuration: algorithm preferences, limits, timeouts, randomness.

use std::sync::Arc;
use std::time::Duration;

use crate::crypto::cipher::CipherAlg;
use crate::crypto::mac::MacAlg;
use crate::crypto::rng::{Rng, SystemRng};
use crate::error::ConfigError;
use crate::kex::KexAlg;
use bytes::Bytes;

use crate::keys::{Certificate, PrivateKey, PublicKey, RevokedKeys};

/// Algorithm preference lists, most preferred first. Negotiation takes any list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithms {
    /// Key exchange methods.
    pub kex: Vec<KexAlg>,
    /// Ciphers (both directions).
    pub ciphers: Vec<CipherAlg>,
    /// MACs (both directions), used with non-AEAD ciphers.
    pub macs: Vec<MacAlg>,
}

impl Default for Algorithms {
    fn default() -> Self {
        Algorithms {
            kex: KexAlg::DEFAULT.to_vec(),
            ciphers: CipherAlg::ALL.to_vec(),
            macs: MacAlg::ALL.to_vec(),
        }
    }
}

/// When to re-key an established connection (reference: KeyRenegotiationThreshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RekeyPolicy {
    /// Bytes in either direction after which we start a new key exchange (default 1 GiB).
    pub bytes: u64,
    /// Time after which we start a new key exchange (default one hour).
    pub interval: Option<Duration>,
}

impl Default for RekeyPolicy {
    fn default() -> Self {
        RekeyPolicy {
            bytes: 1 << 30,
            interval: Some(Duration::from_secs(3600)),
        }
    }
}

/// Bounds on everything a peer can make us hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest packet (length field) we accept, default 256 KiB.
    pub max_packet_len: u32,
    /// Lines the peer may send before its identification line, default 64.
    pub max_preamble_lines: usize,
    /// Longest identification or preamble line, default 8 KiB (RFC 4253 allows 255 for the version line).
    pub max_line_len: usize,
    /// Encrypted output we hold for a peer that does not read before we disconnect it, default 8 MiB.
    pub max_pending_output: usize,
    /// Output level above which channel data stops flowing until the peer reads, default 1 MiB.
    pub output_high_water: usize,
    /// Open channels per connection, default 64.
    pub max_channels: u32,
    /// Env requests accepted per channel before the rest are refused, default 128.
    pub max_env_per_channel: usize,
    /// Channel and global requests awaiting our reply, per connection, default 256.
    pub max_pending_requests: usize,
    /// Receive window we offer per channel, default 2 MiB.
    pub channel_window: u32,
    /// Largest channel data packet we accept, default 32 KiB.
    pub channel_max_packet: u32,
    /// Per-channel buffer for data accepted by `send` but not yet within the peer's window, default 256 KiB.
    pub channel_send_buffer: usize,
    /// Failed authentication attempts before disconnect, default 6.
    pub max_auth_attempts: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet_len: 256 * 1024,
            max_preamble_lines: 64,
            max_line_len: 8192,
            max_pending_output: 8 << 20,
            output_high_water: 1 << 20,
            max_channels: 64,
            max_pending_requests: 256,
            max_env_per_channel: 128,
            channel_window: 2 << 20,
            channel_max_packet: 32 * 1024,
            channel_send_buffer: 256 * 1024,
            max_auth_attempts: 6,
        }
    }
}

/// What both roles configure about the transport.
#[derive(Clone)]
pub struct TransportConfig {
    /// Our identification string after "SSH-2.0-".
    pub software_version: String,
    /// Algorithm preferences.
    pub algorithms: Algorithms,
    /// Resource limits.
    pub limits: Limits,
    /// Offer strict key exchange (Terrapin countermeasure); on by default.
    pub strict_kex: bool,
    /// Re-key thresholds.
    pub rekey: RekeyPolicy,
    /// The randomness source.
    pub rng: Arc<dyn Rng>,
    /// What to log and whether to mask secrets.
    pub log: crate::log::LogSettings,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            software_version: concat!("sshproto_", env!("CARGO_PKG_VERSION")).to_owned(),
            algorithms: Algorithms::default(),
            limits: Limits::default(),
            strict_kex: true,
            rekey: RekeyPolicy::default(),
            rng: Arc::new(SystemRng),
            log: Default::default(),
        }
    }
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("software_version", &self.software_version)
            .field("algorithms", &self.algorithms)
            .field("limits", &self.limits)
            .field("strict_kex", &self.strict_kex)
            .field("rekey", &self.rekey)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// Which signatures one side accepts from the other's keys: the signature algorithms,
/// in preference order, and the smallest RSA modulus (reference:
/// SSHPubKeyAuthSigAlgorithms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Accepted signature algorithms, most preferred first. Default: ssh-ed25519,
    /// ecdsa-sha2-nistp256/384/521, rsa-sha2-512, rsa-sha2-256; `ssh-rsa` (SHA-1) may be
    /// added for old clients.
    pub signature_algorithms: Vec<String>,
    /// RSA keys with fewer modulus bits are refused; default 2048, at least 1024.
    pub min_rsa_bits: u32,
    /// Security-key (sk-*) signatures must carry the user-presence flag (default
    /// true; a trusted certificate's no-touch-required waives it). false leaves it to
    /// the application, which sees the flags (for authorized_keys no-touch-required).
    pub require_user_presence: bool,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            signature_algorithms: crate::keys::VERIFIABLE_SIGNATURE_ALGORITHMS
                .iter()
                .filter(|a| **a != "ssh-rsa" && **a != "ssh-dss")
                .map(|a| a.to_string())
                .collect(),
            min_rsa_bits: 2048,
            require_user_presence: true,
        }
    }
}

impl KeyPolicy {
    /// The default policy with `ssh-rsa` (SHA-1 signatures) accepted as well, last.
    pub fn with_ssh_rsa(mut self) -> Self {
        if !self.signature_algorithms.iter().any(|a| a == "ssh-rsa") {
            self.signature_algorithms.push("ssh-rsa".into());
        }
        self
    }

    /// Why a signature of `alg` by `key` is not accepted (None: it is).
    pub fn refusal(&self, key: &PublicKey, alg: &str) -> Option<String> {
        if !key.signature_algorithms().contains(&alg) {
            return Some(format!(
                "{} keys do not make {alg} signatures",
                key.algorithm()
            ));
        }
        if !self.signature_algorithms.iter().any(|a| a == alg) {
            return Some(format!("signature algorithm {alg} is not allowed"));
        }
        match key.rsa_bits() {
            Some(bits) if bits < self.min_rsa_bits => Some(format!(
                "RSA key of {bits} bits is below the {}-bit minimum",
                self.min_rsa_bits
            )),
            _ => None,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.min_rsa_bits < 1024 {
            return Err(ConfigError("min_rsa_bits must be at least 1024"));
        }
        if self
            .signature_algorithms
            .iter()
            .any(|a| !crate::keys::VERIFIABLE_SIGNATURE_ALGORITHMS.contains(&a.as_str()))
        {
            return Err(ConfigError(
                "a signature algorithm in the key policy is not supported",
            ));
        }
        Ok(())
    }
}

/// How user certificates are checked (reference: TrustedUserCAKeys, RevokedKeys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePolicy {
    /// CA keys whose user certificates the core accepts.
    pub trusted_user_cas: Vec<PublicKey>,
    /// Let certificates signed by other CAs reach the application (marked
    /// `ca_trusted: false`), which then checks them against its own trust, such as
    /// authorized_keys `cert-authority` lines. Default false: they are refused.
    pub untrusted_cas_to_application: bool,
    /// For trusted CAs, require the login user to be one of the certificate's
    /// principals (default true); false when the application maps principals itself.
    pub require_user_principal: bool,
    /// Revoked keys, certificate serials and key ids; applies to plain keys too.
    pub revoked: RevokedKeys,
    /// Signature algorithms accepted from CAs (reference: CASignatureAlgorithms); by
    /// default those of `KeyPolicy::default`, without SHA-1 `ssh-rsa` even when user
    /// keys may use it. The user-key policy's RSA minimum applies to CA keys too.
    pub ca_signature_algorithms: Vec<String>,
}

impl Default for CertificatePolicy {
    fn default() -> Self {
        CertificatePolicy {
            trusted_user_cas: Vec::new(),
            untrusted_cas_to_application: false,
            require_user_principal: true,
            revoked: RevokedKeys::new(),
            ca_signature_algorithms: KeyPolicy::default().signature_algorithms,
        }
    }
}

/// Host key algorithms offered only when `ServerConfig::legacy_host_key_algorithms`
/// is set.
const LEGACY_HOST_KEY_ALGORITHMS: &[&str] = &["ssh-rsa", "ssh-dss"];

/// Server configuration. Build with [`ServerConfig::builder`].
#[derive(Debug)]
pub struct ServerConfig {
    /// Transport settings.
    pub transport: TransportConfig,
    /// Host keys, one per algorithm; the negotiated host key algorithm picks the key.
    pub host_keys: Vec<PrivateKey>,
    /// Host certificates (`*-cert-v01@openssh.com`), each for one of `host_keys`:
    /// offered first, so clients that trust the CA need no known_hosts entry.
    pub host_certificates: Vec<Certificate>,
    /// Which user-key signatures publickey authentication accepts; also what
    /// server-sig-algs announces.
    pub user_keys: KeyPolicy,
    /// How user certificates are checked, and which keys are revoked.
    pub certificates: CertificatePolicy,
    /// Offer the SHA-1 host key algorithms `ssh-rsa` and `ssh-dss` too, for old
    /// clients (only builds with the `legacy` feature can sign them); default false.
    pub legacy_host_key_algorithms: bool,
    /// After authentication, announce every host key (hostkeys-00@openssh.com) and
    /// answer proofs, so clients' UpdateHostKeys learn them; default true.
    pub announce_host_keys: bool,
    /// Time allowed from connect to successful authentication (LoginGraceTime), default 120 s.
    pub auth_timeout: Option<Duration>,
    /// Methods listed in USERAUTH_FAILURE when the application does not say otherwise.
    pub auth_methods: Vec<String>,
    /// Banner sent before the first authentication answer.
    pub auth_banner: Option<String>,
    /// Close a connection after this long without channel traffic or requests
    /// (DefaultIdleTimeout); None: never.
    pub idle_timeout: Option<Duration>,
    /// Send keepalive@openssh.com after this long without hearing from an
    /// authenticated client (SSHKeepAliveInterval); None: never.
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keepalives before the connection is dropped (SSHKeepAliveCountMax),
    /// default 3.
    pub keepalive_count_max: u32,
}

impl ServerConfig {
    /// The host key that signs for the host key algorithm `alg` (for a certificate
    /// algorithm, the certified key).
    pub(crate) fn host_key_for(&self, alg: &str) -> Option<&PrivateKey> {
        let (sig_alg, cert) = match crate::keys::base_algorithm(alg) {
            Some(base) => (base, true),
            None => (alg, false),
        };
        if LEGACY_HOST_KEY_ALGORITHMS.contains(&sig_alg) && !self.legacy_host_key_algorithms {
            return None;
        }
        self.host_keys.iter().find(|k| {
            k.signature_algorithms().contains(&sig_alg)
                && (!cert || self.host_certificate_of(k.public_key()).is_some())
        })
    }

    /// The host certificate presented for `key`, if any.
    pub(crate) fn host_certificate_of(&self, key: &PublicKey) -> Option<&Certificate> {
        self.host_certificates.iter().find(|c| &c.key == key)
    }

    /// What the server sends as its host key (K_S) under `alg`, and the algorithm the
    /// key signs with: the certificate and its base algorithm for a certificate type.
    pub(crate) fn host_key_blob<'a>(&self, alg: &'a str) -> Option<(Bytes, &'a str)> {
        let key = self.host_key_for(alg)?;
        Some(match crate::keys::base_algorithm(alg) {
            Some(base) => (self.host_certificate_of(key.public_key())?.to_blob(), base),
            None => (key.public_key().to_blob(), alg),
        })
    }

    /// Host key algorithms to offer, certificate types first (as OpenSSH orders them).
    pub(crate) fn host_key_algorithms(&self) -> Vec<String> {
        let mut certs = Vec::new();
        let mut plain = Vec::new();
        for k in &self.host_keys {
            for alg in k.signature_algorithms() {
                if LEGACY_HOST_KEY_ALGORITHMS.contains(alg) && !self.legacy_host_key_algorithms {
                    continue;
                }
                if self.host_certificate_of(k.public_key()).is_some() {
                    certs.push(crate::keys::cert_algorithm(alg));
                }
                plain.push(alg.to_string());
            }
        }
        certs.extend(plain);
        certs
    }

    /// The timers the connection enforces by itself.
    pub(crate) fn upkeep(&self) -> crate::upkeep::UpkeepPolicy {
        crate::upkeep::UpkeepPolicy {
            auth_timeout: self.auth_timeout,
            idle_timeout: self.idle_timeout,
            keepalive_interval: self.keepalive_interval,
            keepalive_count_max: self.keepalive_count_max,
        }
    }
}

impl ServerConfig {
    /// A builder with secure defaults.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            config: ServerConfig {
                transport: TransportConfig::default(),
                host_keys: Vec::new(),
                host_certificates: Vec::new(),
                user_keys: KeyPolicy::default(),
                certificates: CertificatePolicy::default(),
                announce_host_keys: true,
                legacy_host_key_algorithms: false,
                auth_timeout: Some(Duration::from_secs(120)),
                auth_methods: vec!["publickey".into(), "password".into()],
                auth_banner: None,
                idle_timeout: None,
                keepalive_interval: None,
                keepalive_count_max: 3,
            },
        }
    }
}

/// Builds a [`ServerConfig`].
#[derive(Debug)]
pub struct ServerConfigBuilder {
    config: ServerConfig,
}

impl ServerConfigBuilder {
    /// Add a host key.
    pub fn host_key(mut self, key: PrivateKey) -> Self {
        self.config.host_keys.push(key);
        self
    }

    /// Offer SHA-1 `ssh-rsa` and `ssh-dss` host key algorithms as well (builds with
    /// the `legacy` feature).
    pub fn legacy_host_key_algorithms(mut self, on: bool) -> Self {
        self.config.legacy_host_key_algorithms = on;
        self
    }

    /// Present a host certificate for one of the host keys.
    pub fn host_certificate(mut self, cert: Certificate) -> Self {
        self.config.host_certificates.push(cert);
        self
    }

    /// Set which user-key signatures are accepted (algorithms, RSA minimum).
    pub fn user_keys(mut self, p: KeyPolicy) -> Self {
        self.config.user_keys = p;
        self
    }

    /// Set how user certificates are checked (trusted CAs, revocation).
    pub fn certificates(mut self, p: CertificatePolicy) -> Self {
        self.config.certificates = p;
        self
    }

    /// Replace the transport settings.
    pub fn transport(mut self, t: TransportConfig) -> Self {
        self.config.transport = t;
        self
    }

    /// Set the identification string after "SSH-2.0-".
    pub fn software_version(mut self, v: impl Into<String>) -> Self {
        self.config.transport.software_version = v.into();
        self
    }

    /// Set the algorithm preferences.
    pub fn algorithms(mut self, a: Algorithms) -> Self {
        self.config.transport.algorithms = a;
        self
    }

    /// Set the limits.
    pub fn limits(mut self, l: Limits) -> Self {
        self.config.transport.limits = l;
        self
    }

    /// Set the randomness source.
    pub fn rng(mut self, rng: Arc<dyn Rng>) -> Self {
        self.config.transport.rng = rng;
        self
    }

    /// Offer strict key exchange or not.
    pub fn strict_kex(mut self, on: bool) -> Self {
        self.config.transport.strict_kex = on;
        self
    }

    /// Set the log level (reference LogLevel 0-3) and secret masking.
    pub fn log(mut self, level: crate::log::LogLevel, mask_sensitive: bool) -> Self {
        self.config.transport.log = crate::log::LogSettings {
            level,
            mask_sensitive,
        };
        self
    }

    /// Set the re-key policy.
    pub fn rekey(mut self, p: RekeyPolicy) -> Self {
        self.config.transport.rekey = p;
        self
    }

    /// Set the authentication deadline (None: no deadline).
    pub fn auth_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.auth_timeout = t;
        self
    }

    /// Close connections idle for this long (None: never).
    pub fn idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.idle_timeout = t;
        self
    }

    /// Send keepalives every `interval` of silence and drop the connection after
    /// `count_max` of them go unanswered (None: no keepalives).
    pub fn keepalive(mut self, interval: Option<Duration>, count_max: u32) -> Self {
        self.config.keepalive_interval = interval;
        self.config.keepalive_count_max = count_max;
        self
    }

    /// Set the default method list for USERAUTH_FAILURE.
    pub fn auth_methods(mut self, m: &[&str]) -> Self {
        self.config.auth_methods = m.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Send a banner before authentication.
    pub fn auth_banner(mut self, b: impl Into<String>) -> Self {
        self.config.auth_banner = Some(b.into());
        self
    }

    /// Check and finish.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let c = &self.config;
        if c.host_keys.is_empty() {
            return Err(ConfigError("a server needs at least one host key"));
        }
        c.user_keys.validate()?;
        for cert in &c.host_certificates {
            if cert.cert_type != crate::keys::CertificateType::Host {
                return Err(ConfigError("a host certificate must be of the host type"));
            }
            if !c.host_keys.iter().any(|k| k.public_key() == &cert.key) {
                return Err(ConfigError(
                    "a host certificate must certify one of the host keys",
                ));
            }
        }
        validate(&c.transport)?;
        Ok(self.config)
    }
}

/// How a client decides whether to trust the server's host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Accept any key (tests only; the key is still reported in an event).
    AcceptAny,
    /// Accept only these keys.
    Known(Vec<PublicKey>),
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Transport settings.
    pub transport: TransportConfig,
    /// Host key trust.
    pub host_key_policy: HostKeyPolicy,
    /// Host key signature algorithms we accept, most preferred first.
    pub host_key_algorithms: Vec<String>,
    /// RSA host keys with fewer modulus bits are refused; default 2048.
    pub host_key_min_rsa_bits: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            transport: TransportConfig::default(),
            host_key_policy: HostKeyPolicy::AcceptAny,
            host_key_algorithms: [
                "ssh-ed25519",
                "ecdsa-sha2-nistp256",
                "ecdsa-sha2-nistp384",
                "ecdsa-sha2-nistp521",
                "rsa-sha2-512",
                "rsa-sha2-256",
            ]
            .iter()
            .map(|a| a.to_string())
            .collect(),
            host_key_min_rsa_bits: 2048,
        }
    }
}

impl ClientConfig {
    /// Check the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate(&self.transport)
    }
}

pub(crate) fn validate(t: &TransportConfig) -> Result<(), ConfigError> {
    let a = &t.algorithms;
    if a.kex.is_empty() || a.ciphers.is_empty() {
        return Err(ConfigError("algorithm lists must not be empty"));
    }
    if a.macs.is_empty() && a.ciphers.iter().any(|c| !c.is_aead()) {
        return Err(ConfigError("non-AEAD ciphers need at least one MAC"));
    }
    let l = &t.limits;
    if l.max_packet_len < 32 * 1024 + 1024 {
        return Err(ConfigError(
            "max_packet_len must allow 32 KiB payloads (RFC 4253 §6.1)",
        ));
    }
    if l.channel_max_packet as u64 + 1024 > l.max_packet_len as u64 || l.channel_max_packet == 0 {
        return Err(ConfigError("channel_max_packet must fit in max_packet_len"));
    }
    if l.channel_window == 0 || l.output_high_water > l.max_pending_output {
        return Err(ConfigError("window and output limits are inconsistent"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn key_policy_refuses_small_rsa_keys_and_unlisted_algorithms() {
        let rsa = |bits: usize| PublicKey::Rsa {
            e: Bytes::from_static(&[1, 0, 1]),
            n: Bytes::from(vec![0xc5u8; bits / 8]),
        };
        let p = KeyPolicy::default();
        assert_eq!(p.refusal(&rsa(2048), "rsa-sha2-512"), None);
        assert_eq!(
            p.refusal(&rsa(1024), "rsa-sha2-512").unwrap(),
            "RSA key of 1024 bits is below the 2048-bit minimum"
        );
        assert!(p.refusal(&rsa(2048), "ssh-rsa").is_some());
        assert_eq!(
            p.clone().with_ssh_rsa().refusal(&rsa(2048), "ssh-rsa"),
            None
        );
        assert!(p
            .refusal(&PublicKey::Ed25519([0; 32]), "rsa-sha2-512")
            .is_some());
        let only_ed = KeyPolicy {
            signature_algorithms: vec!["ssh-ed25519".into()],
            min_rsa_bits: 4096,
            ..KeyPolicy::default()
        };
        assert!(only_ed.refusal(&rsa(4096), "rsa-sha2-256").is_some());
        assert!(KeyPolicy {
            min_rsa_bits: 512,
            ..KeyPolicy::default()
        }
        .validate()
        .is_err());
        let bogus = KeyPolicy {
            signature_algorithms: vec!["x-unknown@example.com".into()],
            ..KeyPolicy::default()
        };
        assert!(bogus.validate().is_err());
    }
}
