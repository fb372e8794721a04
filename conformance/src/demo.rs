//! What the three demo servers (one per adapter) share: command-line options, the
//! login rules (authorized_keys and passwords), the host key file, and the meaning of
//! each channel request. Each demo adds only how its runtime runs a process.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ssh_proto::{
    AuthDecision, AuthMethod, AuthRequest, AuthRequestId, AuthorizedKey, AuthorizedKeys,
    CertificateLogin, ChannelRequest, KeyKind, KeyOptions, PrivateKey, PtyRequest, PublicKey,
    ServerConfig, SystemRng,
};
use ssh_server::{ChannelControl, ConnectionId, ConnectionOrigin};
use ssh_server::{IpFamily, ServerOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the system's sftp-server may live.
pub const SFTP_SERVERS: &[&str] = &[
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/ssh/sftp-server",
];

/// The demo servers' command line.
#[derive(Debug, Clone)]
pub struct DemoArgs {
    /// --listen ADDR (default 127.0.0.1:2222).
    pub listen: SocketAddr,
    /// --family 4|6|both.
    pub family: Option<IpFamily>,
    /// --host-key FILE (repeatable; a missing file is created, its type taken from the
    /// name: `rsa` gives RSA 3072, `ecdsa` P-256, anything else ed25519). Without any:
    /// demo_host_ed25519_key, demo_host_ecdsa_key and demo_host_rsa_key.
    pub host_keys: Vec<String>,
    /// --host-certificate FILE (repeatable): a host certificate (`*-cert.pub`) for one
    /// of the host keys.
    pub host_certificates: Vec<ssh_proto::Certificate>,
    /// --min-rsa-bits N: smallest RSA user key accepted (default 2048).
    pub min_rsa_bits: Option<u32>,
    /// --allow-ssh-rsa: accept SHA-1 ssh-rsa user-key signatures.
    pub allow_ssh_rsa: bool,
    /// --allow-ssh-dss: accept DSA user keys (builds with ssh-proto's `legacy` feature).
    pub allow_ssh_dss: bool,
    /// --software-version V: the identification after "SSH-2.0-". OpenSSH's client
    /// sends eow@openssh.com only to servers whose version starts with "OpenSSH".
    pub software_version: Option<String>,
    /// --no-tcp-forwarding: refuse `direct-tcpip` channels (-L, -D, -W, ProxyJump),
    /// which are allowed by default as with sshd.
    pub no_tcp_forwarding: bool,
    /// --legacy-host-keys: offer ssh-rsa (SHA-1) and ssh-dss host key algorithms too
    /// (builds with ssh-proto's `legacy` feature).
    pub legacy_host_keys: bool,
    /// --trusted-user-ca FILE (repeatable): CA public keys whose user certificates log in.
    pub trusted_user_cas: Vec<PublicKey>,
    /// --revoked-keys FILE: keys, serials and key ids refused (see `RevokedKeys::parse`).
    pub revoked: ssh_proto::RevokedKeys,
    /// --authorized-keys FILE (repeatable): read again at each login, as sshd does,
    /// with its options honoured.
    pub authorized_keys: Vec<String>,
    /// --password USER:PASSWORD (repeatable).
    pub passwords: HashMap<String, String>,
    /// --idle-timeout SECS.
    pub idle_timeout: Option<Duration>,
    /// --auth-timeout SECS.
    pub auth_timeout: Option<Duration>,
    /// --keepalive SECS:COUNT.
    pub keepalive: Option<(Duration, u32)>,
    /// --max-connections N.
    pub max_connections: Option<usize>,
    /// --allow PATTERN (repeatable).
    pub allow: Vec<String>,
    /// --block PATTERN (repeatable).
    pub block: Vec<String>,
    /// --log-level 0|1|2|3 (none, info, verbose, debug).
    pub log_level: ssh_proto::LogLevel,
    /// --no-mask: show secrets in byte dumps.
    pub no_mask: bool,
    /// --kex NAME,NAME...: key exchange methods in preference order (default: ours).
    pub kex: Option<Vec<ssh_proto::KexAlg>>,
}

fn usage(name: &str) -> ! {
    eprintln!(
        "usage: {name} [--listen ADDR] [--family 4|6|both] [--host-key FILE]... [--authorized-keys FILE]... \
         [--host-certificate FILE]... [--min-rsa-bits N] [--allow-ssh-rsa] [--allow-ssh-dss] [--legacy-host-keys] [--no-tcp-forwarding] [--software-version V] [--trusted-user-ca FILE]... [--revoked-keys FILE] \
         [--password USER:PASSWORD]... [--idle-timeout SECS] [--auth-timeout SECS] [--keepalive SECS:COUNT] \
         [--max-connections N] [--allow PATTERN]... [--block PATTERN]... [--log-level 0-3] [--no-mask] [--kex NAME,...]"
    );
    std::process::exit(2)
}

impl DemoArgs {
    /// Parse the process's arguments (exits with usage on a bad one).
    pub fn parse(name: &str) -> Result<DemoArgs, BoxError> {
        let mut a = DemoArgs {
            listen: "127.0.0.1:2222".parse()?,
            family: None,
            host_keys: Vec::new(),
            host_certificates: Vec::new(),
            min_rsa_bits: None,
            allow_ssh_rsa: false,
            allow_ssh_dss: false,
            legacy_host_keys: false,
            no_tcp_forwarding: false,
            software_version: None,
            trusted_user_cas: Vec::new(),
            revoked: ssh_proto::RevokedKeys::new(),
            authorized_keys: Vec::new(),
            passwords: HashMap::new(),
            idle_timeout: None,
            auth_timeout: None,
            keepalive: None,
            max_connections: None,
            allow: Vec::new(),
            block: Vec::new(),
            log_level: ssh_proto::LogLevel::Info,
            no_mask: false,
            kex: None,
        };
        let mut args = std::env::args().skip(1);
        let secs =
            |v: String| -> Result<Duration, BoxError> { Ok(Duration::from_secs(v.parse()?)) };
        while let Some(flag) = args.next() {
            let mut val = || args.next().unwrap_or_else(|| usage(name));
            match flag.as_str() {
                "--listen" => a.listen = val().parse()?,
                "--family" => {
                    a.family = Some(match val().as_str() {
                        "4" => IpFamily::V4,
                        "6" => IpFamily::V6,
                        "both" => IpFamily::Both,
                        _ => usage(name),
                    })
                }
                "--host-key" => a.host_keys.push(val()),
                "--host-certificate" => {
                    let path = val();
                    let text = std::fs::read_to_string(&path)?;
                    let cert = ssh_proto::Certificate::from_openssh(text.trim())
                        .map_err(|e| format!("{path}: {e}"))?;
                    a.host_certificates.push(cert);
                }
                "--min-rsa-bits" => a.min_rsa_bits = Some(val().parse()?),
                "--allow-ssh-rsa" => a.allow_ssh_rsa = true,
                "--allow-ssh-dss" => a.allow_ssh_dss = true,
                "--legacy-host-keys" => a.legacy_host_keys = true,
                "--no-tcp-forwarding" => a.no_tcp_forwarding = true,
                "--software-version" => a.software_version = Some(val()),
                "--trusted-user-ca" => {
                    let path = val();
                    let text = std::fs::read_to_string(&path)?;
                    for line in text.lines().map(str::trim) {
                        if !line.is_empty() && !line.starts_with('#') {
                            let k = PublicKey::from_openssh(line)
                                .map_err(|e| format!("{path}: {e}"))?;
                            a.trusted_user_cas.push(k);
                        }
                    }
                }
                "--revoked-keys" => {
                    let path = val();
                    let (list, errors) =
                        ssh_proto::RevokedKeys::parse(&std::fs::read_to_string(&path)?);
                    if let Some(e) = errors.first() {
                        return Err(format!("{path}:{}: {}", e.line, e.reason).into());
                    }
                    a.revoked = list;
                }
                "--authorized-keys" => {
                    let path = val();
                    if !std::path::Path::new(&path).exists() {
                        // A fresh machine may have none yet: passwords still work, and
                        // keys added later count (the file is read at each login).
                        eprintln!("{name}: {path} not found yet; it is read at each login");
                    }
                    a.authorized_keys.push(path);
                }
                "--password" => {
                    let v = val();
                    let (u, p) = v.split_once(':').unwrap_or_else(|| usage(name));
                    a.passwords.insert(u.to_owned(), p.to_owned());
                }
                "--idle-timeout" => a.idle_timeout = Some(secs(val())?),
                "--auth-timeout" => a.auth_timeout = Some(secs(val())?),
                "--keepalive" => {
                    let v = val();
                    let (s, c) = v.split_once(':').unwrap_or_else(|| usage(name));
                    a.keepalive = Some((Duration::from_secs(s.parse()?), c.parse()?));
                }
                "--max-connections" => a.max_connections = Some(val().parse()?),
                "--allow" => a.allow.push(val()),
                "--block" => a.block.push(val()),
                "--log-level" => {
                    a.log_level = match val().as_str() {
                        "0" => ssh_proto::LogLevel::None,
                        "1" => ssh_proto::LogLevel::Info,
                        "2" => ssh_proto::LogLevel::Verbose,
                        "3" => ssh_proto::LogLevel::Debug,
                        _ => usage(name),
                    }
                }
                "--no-mask" => a.no_mask = true,
                "--kex" => {
                    let names = val();
                    let algs = names
                        .split(',')
                        .map(|n| {
                            ssh_proto::KexAlg::from_name(n)
                                .ok_or_else(|| format!("unknown key exchange method {n}"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    a.kex = Some(algs);
                }
                _ => usage(name),
            }
        }
        if a.host_keys.is_empty() {
            a.host_keys = ["ed25519", "ecdsa", "rsa"]
                .iter()
                .map(|t| format!("demo_host_{t}_key"))
                .collect();
        }
        Ok(a)
    }

    /// The protocol configuration: the host keys, the user-key policy and the timers
    /// asked for.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, BoxError> {
        let mut b = ServerConfig::builder().idle_timeout(self.idle_timeout);
        for path in &self.host_keys {
            let key = load_or_create_host_key(path)?;
            tracing::info!(%path, algorithm = key.public_key().algorithm(), fingerprint = %key.public_key().fingerprint(), "host key");
            b = b.host_key(key);
        }
        for cert in &self.host_certificates {
            tracing::info!(algorithm = %cert.algorithm, key_id = %cert.key_id, "host certificate");
            b = b.host_certificate(cert.clone());
        }
        let mut policy = ssh_proto::KeyPolicy::default();
        if self.allow_ssh_rsa {
            policy = policy.with_ssh_rsa();
        }
        if self.allow_ssh_dss {
            policy.signature_algorithms.push("ssh-dss".into());
        }
        b = b.legacy_host_key_algorithms(self.legacy_host_keys);
        if let Some(v) = &self.software_version {
            b = b.software_version(v.clone());
        }
        if let Some(bits) = self.min_rsa_bits {
            policy.min_rsa_bits = bits;
        }
        b = b.user_keys(policy);
        b = b.certificates(ssh_proto::CertificatePolicy {
            trusted_user_cas: self.trusted_user_cas.clone(),
            revoked: self.revoked.clone(),
            // Certificates from other CAs reach DemoAuth, which accepts them only
            // through a matching cert-authority line.
            untrusted_cas_to_application: true,
            ..Default::default()
        });
        if let Some(t) = self.auth_timeout {
            b = b.auth_timeout(Some(t));
        }
        if let Some((interval, count)) = self.keepalive {
            b = b.keepalive(Some(interval), count);
        }
        if let Some(kex) = &self.kex {
            b = b.algorithms(ssh_proto::Algorithms {
                kex: kex.clone(),
                ..Default::default()
            });
        }
        Ok(Arc::new(b.build()?))
    }

    /// Listening and admission options.
    pub fn server_options(&self) -> Result<ServerOptions, BoxError> {
        let mut o = ServerOptions::listen_on(self.listen);
        if let Some(f) = self.family {
            o = o.family(f);
        }
        if let Some(n) = self.max_connections {
            o = o.max_connections(n);
        }
        for p in &self.allow {
            o = o.allow(p.parse()?);
        }
        for p in &self.block {
            o = o.block(p.parse()?);
        }
        Ok(o)
    }

    /// The login rules.
    pub fn auth(&self) -> DemoAuth {
        DemoAuth {
            files: self.authorized_keys.clone(),
            passwords: self.passwords.clone(),
            tcp_forwarding: !self.no_tcp_forwarding,
            pty_sessions: Arc::new(Mutex::new(HashMap::new())),
            restrictions: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// What a login allows the connection's later requests: from authorized_keys
/// options and certificate options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Run this instead of whatever the client asks (command=, force-command).
    pub force_command: Option<String>,
    /// Refuse PTYs (no-pty, restrict, a certificate without permit-pty).
    pub no_pty: bool,
    /// Environment to set (environment=).
    pub environment: Vec<(String, String)>,
    /// Refuse port forwarding (no-port-forwarding, restrict, a certificate without
    /// permit-port-forwarding).
    pub no_port_forwarding: bool,
    /// When not empty, `direct-tcpip` may only reach these `host:port` entries
    /// (permitopen=; port `*` matches any).
    pub permit_open: Vec<String>,
    /// What every session of the login gets, as sshd sets it: SSH_CONNECTION,
    /// SSH_CLIENT, and USER, LOGNAME, HOME, SHELL, PATH of the account the programs
    /// run as (the server's own).
    pub session_env: Vec<(String, String)>,
}

impl Restrictions {
    /// Whether a `direct-tcpip` forward to `host:port` is allowed.
    pub fn allows_open(&self, host: &str, port: u32) -> bool {
        if self.no_port_forwarding {
            return false;
        }
        self.permit_open.is_empty()
            || self.permit_open.iter().any(|entry| {
                let Some((h, p)) = entry.rsplit_once(':') else {
                    return false;
                };
                let h = h.trim_start_matches('[').trim_end_matches(']');
                (h == "*" || h.eq_ignore_ascii_case(host)) && (p == "*" || p == port.to_string())
            })
    }
}

/// Logins: a key listed in an authorized_keys file (read at each attempt; the core
/// has verified the signature) whose options allow it, a certificate from a trusted
/// CA or from a `cert-authority` line, or a listed user's password. What the login
/// allows is kept per connection for its channel requests: per accepted request,
/// because pipelined attempts are decided concurrently and the core authenticates
/// the earliest accepted one, whose restrictions are the ones that hold.
#[derive(Debug, Clone)]
pub struct DemoAuth {
    files: Vec<String>,
    passwords: HashMap<String, String>,
    tcp_forwarding: bool,
    /// Programs running on a PTY, by connection: hung up when the connection ends.
    pty_sessions: Arc<Mutex<HashMap<ConnectionId, Vec<u32>>>>,
    restrictions: Arc<Mutex<HashMap<ConnectionId, BTreeMap<AuthRequestId, Restrictions>>>>,
}

impl DemoAuth {
    /// Decide on one attempt from `origin`.
    pub fn decide(&self, origin: &ConnectionOrigin, req: &AuthRequest) -> AuthDecision {
        let allowed = match &req.method {
            AuthMethod::Password { password, .. } => self
                .passwords
                .get(&req.user)
                .filter(|p| same_secret(p.as_bytes(), password.expose().as_bytes()))
                .map(|_| Restrictions::default()),
            AuthMethod::PublicKey {
                key,
                certificate,
                security_key,
                ..
            } => self.key_allows(
                origin,
                &req.user,
                key,
                certificate.as_deref(),
                *security_key,
            ),
            AuthMethod::None => None,
        };
        match allowed {
            Some(mut r) => {
                r.session_env = session_env(origin);
                let attempt = matches!(
                    req.method,
                    AuthMethod::PublicKey { verified: true, .. } | AuthMethod::Password { .. }
                );
                if attempt {
                    lock(&self.restrictions)
                        .entry(origin.connection)
                        .or_default()
                        .insert(req.id, r);
                }
                AuthDecision::Accept
            }
            None => AuthDecision::Reject,
        }
    }

    /// What the connection's login allows (nothing restricted when unknown).
    pub fn restrictions(&self, connection: ConnectionId) -> Restrictions {
        lock(&self.restrictions)
            .get(&connection)
            .and_then(|by_request| by_request.values().next().cloned())
            .unwrap_or_default()
    }

    /// Whether the connection may open a `direct-tcpip` channel to `host:port`: the
    /// server allows forwarding and the login's restrictions do too.
    pub fn forward_allowed(&self, connection: ConnectionId, host: &str, port: u32) -> bool {
        let ok = self.tcp_forwarding && self.restrictions(connection).allows_open(host, port);
        if !ok {
            tracing::info!(%host, port, "direct-tcpip refused");
        }
        ok
    }

    /// Remember a program started on a PTY for `connection`, to hang it up when the
    /// connection ends.
    pub fn started_on_pty(&self, connection: ConnectionId, pid: Option<u32>) {
        if let Some(pid) = pid {
            lock(&self.pty_sessions)
                .entry(connection)
                .or_default()
                .push(pid);
        }
    }

    /// A connection ended, however: forget its login, and hang up its PTY sessions
    /// as sshd does (SIGHUP to each session's process group; the program on the PTY
    /// leads its own session). Commands on pipes see their pipes close.
    pub fn forget(&self, connection: ConnectionId) {
        lock(&self.restrictions).remove(&connection);
        let pids = lock(&self.pty_sessions)
            .remove(&connection)
            .unwrap_or_default();
        for pid in pids {
            let group = nix::unistd::Pid::from_raw(-(pid as i32));
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGHUP);
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGHUP,
            );
        }
    }

    fn entries(&self) -> Vec<AuthorizedKey> {
        let mut out = Vec::new();
        for path in &self.files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let parsed = AuthorizedKeys::parse(&text);
            for s in &parsed.skipped {
                tracing::warn!(file = %path, line = s.line, reason = %s.reason, "authorized_keys line skipped");
            }
            out.extend(parsed.entries);
        }
        out
    }

    fn key_allows(
        &self,
        origin: &ConnectionOrigin,
        user: &str,
        key: &PublicKey,
        cert: Option<&CertificateLogin>,
        security_key: Option<ssh_proto::SecurityKeySignature>,
    ) -> Option<Restrictions> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let ip = origin.remote.ip().to_canonical();
        let usable =
            |e: &AuthorizedKey| e.options.allows_source(ip, None) && !e.options.expired(now);
        let from_cert = |c: &ssh_proto::Certificate, r: &mut Restrictions| {
            if c.force_command.is_some() {
                r.force_command = c.force_command.clone();
            }
            r.no_pty |= !c.extensions.permit_pty;
            r.no_port_forwarding |= !c.extensions.permit_port_forwarding;
        };
        let mut r = Restrictions::default();
        match cert {
            // Checked by the core against a trusted CA: signature, validity,
            // principals, source-address, revocation.
            Some(c) if c.ca_trusted => from_cert(&c.certificate, &mut r),
            // Another CA: the core checked all but trust and principals; a
            // cert-authority line for this CA supplies both.
            Some(c) => {
                let principals = &c.certificate.principals;
                let entry = self.entries().into_iter().find(|e| {
                    e.cert_authority
                        && e.key == c.certificate.ca_key
                        && usable(e)
                        && match &e.options.principals {
                            Some(list) => principals.iter().any(|p| list.contains(p)),
                            None => principals.iter().any(|p| p == user),
                        }
                })?;
                if entry.options.verify_required && !security_key.is_some_and(|s| s.user_verified())
                {
                    return None;
                }
                // As sshd: a line's command= and the certificate's force-command must
                // agree when both are given.
                if let (Some(a), Some(b)) = (&entry.options.command, &c.certificate.force_command) {
                    if a != b {
                        return None;
                    }
                }
                apply(&entry.options, &mut r);
                from_cert(&c.certificate, &mut r);
            }
            None => {
                let entry = self
                    .entries()
                    .into_iter()
                    .find(|e| !e.cert_authority && &e.key == key && usable(e))?;
                if let Some(sk) = security_key {
                    // The core leaves presence to us only when configured to; we
                    // still require verification where the line asks for it.
                    if entry.options.verify_required && !sk.user_verified() {
                        return None;
                    }
                }
                apply(&entry.options, &mut r);
            }
        }
        Some(r)
    }
}

/// The environment sshd gives a session: the connection's addresses, and the account
/// the programs run as (here the server's own user).
fn session_env(origin: &ConnectionOrigin) -> Vec<(String, String)> {
    let (r, l) = (origin.remote, origin.local);
    let (rip, lip) = (r.ip().to_canonical(), l.ip().to_canonical());
    let mut env = vec![
        (
            "SSH_CONNECTION".to_string(),
            format!("{rip} {} {lip} {}", r.port(), l.port()),
        ),
        (
            "SSH_CLIENT".to_string(),
            format!("{rip} {} {}", r.port(), l.port()),
        ),
        (
            "PATH".to_string(),
            "/usr/local/bin:/usr/bin:/bin:/usr/games".to_string(),
        ),
    ];
    if let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
        env.push(("USER".into(), u.name.clone()));
        env.push(("LOGNAME".into(), u.name));
        env.push(("HOME".into(), u.dir.display().to_string()));
        env.push(("SHELL".into(), u.shell.display().to_string()));
    }
    env
}

/// An authorized_keys line's options, as restrictions.
fn apply(o: &KeyOptions, r: &mut Restrictions) {
    if o.command.is_some() {
        r.force_command = o.command.clone();
    }
    r.no_pty |= o.no_pty;
    r.no_port_forwarding |= o.no_port_forwarding;
    r.permit_open.extend(o.permit_open.iter().cloned());
    r.environment.extend(o.environment.iter().cloned());
}

/// Compare two secrets in time that depends only on their lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Resizes a running program's terminal (columns, rows).
pub type Resizer = Box<dyn Fn(u16, u16) + Send>;

/// What a demo keeps per channel.
#[derive(Default)]
pub struct DemoChannel {
    /// Resizes the PTY of the running program, if it has one.
    pub resize: Option<Resizer>,
    /// Environment from env requests.
    pub env: Vec<(String, String)>,
    /// The terminal asked for, if any.
    pub pty: Option<PtyRequest>,
    /// The running program's pid.
    pub pid: Option<u32>,
    /// Stops reading the program's stdout, closing the pipe (eow@openssh.com: the
    /// client will read no more, so the program gets SIGPIPE as under sshd).
    pub end_output: Option<Box<dyn FnOnce() + Send>>,
}

/// A program to start for a channel.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Executable.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Environment to add.
    pub env: Vec<(String, String)>,
    /// Run on a PTY of this size and terminal type.
    pub pty: Option<PtyRequest>,
}

/// What a channel request asks the demo to do.
#[derive(Debug)]
pub enum DemoAction {
    /// Just answer.
    Reply(bool),
    /// Start a program.
    Start(Launch),
}

/// Interpret a channel request against the channel's state.
pub fn on_request(
    state: &mut DemoChannel,
    req: ChannelRequest,
    limits: &Restrictions,
) -> DemoAction {
    let launch = |state: &mut DemoChannel, program: String, args: Vec<String>, pty: bool| {
        // The server's variables first; the client's env requests may not override
        // SSH_CONNECTION and the like (they are applied first and replaced).
        let mut env = state.env.clone();
        if limits.force_command.is_some() {
            // A forced command must not be steered by the client's environment
            // (LD_PRELOAD, PATH, BASH_ENV...): only the locale passes, and
            // SSH_ORIGINAL_COMMAND, which the server set itself.
            env.retain(|(n, _)| n == "LANG" || n.starts_with("LC_") || n == "SSH_ORIGINAL_COMMAND");
        }
        env.extend(limits.environment.iter().cloned());
        env.retain(|(n, _)| !limits.session_env.iter().any(|(m, _)| m == n));
        env.extend(limits.session_env.iter().cloned());
        DemoAction::Start(Launch {
            program,
            args,
            env,
            pty: if pty { state.pty.clone() } else { None },
        })
    };
    // A forced command replaces exec, shell and subsystems; the client's request is
    // passed on as SSH_ORIGINAL_COMMAND.
    if let Some(forced) = &limits.force_command {
        let original = match &req {
            ChannelRequest::Exec { command } => Some(String::from_utf8_lossy(command).into_owned()),
            ChannelRequest::Subsystem { name } => Some(name.clone()),
            ChannelRequest::Shell => None,
            _ => return on_other_request(state, req, limits),
        };
        if let Some(o) = original {
            state.env.push(("SSH_ORIGINAL_COMMAND".into(), o));
        }
        return launch(
            state,
            "/bin/sh".into(),
            vec!["-c".into(), forced.clone()],
            true,
        );
    }
    match req {
        ChannelRequest::Exec { command } => {
            let cmd = String::from_utf8_lossy(&command).into_owned();
            launch(state, "/bin/sh".into(), vec!["-c".into(), cmd], true)
        }
        ChannelRequest::Shell => {
            let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
            launch(state, shell, vec!["-l".into()], true)
        }
        ChannelRequest::Subsystem { name } if name == "sftp" => {
            match SFTP_SERVERS
                .iter()
                .find(|p| std::path::Path::new(p).exists())
            {
                Some(p) => launch(state, p.to_string(), vec![], false),
                None => DemoAction::Reply(false),
            }
        }
        other => on_other_request(state, other, limits),
    }
}

/// Requests that start nothing: pty, env, window changes, signals.
fn on_other_request(
    state: &mut DemoChannel,
    req: ChannelRequest,
    limits: &Restrictions,
) -> DemoAction {
    match req {
        ChannelRequest::PtyReq(_) if limits.no_pty => DemoAction::Reply(false),
        ChannelRequest::PtyReq(p) => {
            state.pty = Some(p);
            DemoAction::Reply(true)
        }
        ChannelRequest::Env { name, value } => {
            state.env.push((name, value));
            DemoAction::Reply(true)
        }
        ChannelRequest::WindowChange { cols, rows, .. } => match &state.resize {
            Some(r) => {
                r(cols as u16, rows as u16);
                DemoAction::Reply(true)
            }
            None => DemoAction::Reply(false),
        },
        ChannelRequest::Signal { name } => DemoAction::Reply(signal(state.pid, &name)),
        ChannelRequest::Other { name, .. } if name == "eow@openssh.com" => {
            if let Some(end) = state.end_output.take() {
                end();
            }
            DemoAction::Reply(true)
        }
        _ => DemoAction::Reply(false),
    }
}

fn signal(pid: Option<u32>, name: &str) -> bool {
    match (
        pid,
        format!("SIG{name}").parse::<nix::sys::signal::Signal>(),
    ) {
        (Some(pid), Ok(sig)) => {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).is_ok()
        }
        _ => false,
    }
}

/// Send a finished program's exit status (or signal), then EOF and close.
pub fn report_exit(control: &ChannelControl, status: std::io::Result<std::process::ExitStatus>) {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => control.exit_status(code as u32),
            (None, Some(sig)) => {
                let name = nix::sys::signal::Signal::try_from(sig)
                    .map(|s| s.as_str().trim_start_matches("SIG").to_owned())
                    .unwrap_or_else(|_| "KILL".into());
                control.exit_signal(&name, s.core_dumped(), "")
            }
            _ => control.exit_status(255),
        },
        Err(_) => control.exit_status(255),
    }
    control.eof();
    control.close();
}

/// Read a host key file (any supported format), or create and save a new key whose
/// type the file name gives (`rsa`: RSA 3072, `ecdsa`: P-256, otherwise ed25519), as
/// `ssh-keygen -A` does.
pub fn load_or_create_host_key(path: &str) -> Result<PrivateKey, BoxError> {
    match std::fs::read_to_string(path) {
        Ok(pem) => PrivateKey::from_key_file(&pem, None).map_err(|e| format!("{path}: {e}").into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = std::path::Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let kind = if name.contains("rsa") {
                KeyKind::Rsa(3072)
            } else if name.contains("ecdsa") {
                KeyKind::EcdsaP256
            } else {
                KeyKind::Ed25519
            };
            let key = PrivateKey::generate(kind, &SystemRng)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            std::io::Write::write_all(&mut f, key.to_openssh("demo host key")?.as_bytes())?;
            tracing::info!(%path, kind = %kind.short_name(), "generated a host key");
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

/// Set up logging from RUST_LOG (default info) to stderr.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

static CONSOLE_SHUTDOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Call when a demo's server has stopped and drained: returns, unless the console is
/// running a shutdown, which reports and ends the process itself.
pub fn finish() {
    while CONSOLE_SHUTDOWN.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::park();
    }
}

/// Serve a line console on stdin so tests can reach the registry from another
/// thread, as an operator's tool would: `list`, `disconnect ID`, `send ID CHANNEL TEXT`,
/// `stop`, `shutdown SECS` (then the process exits). Each answer ends with `end`.
pub fn spawn_console(
    control: ssh_server::ServerControl,
    shutdown: impl Fn(Duration) -> bool + Send + 'static,
) {
    use std::io::BufRead;
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["list"] => {
                    for c in control.connections() {
                        println!(
                            "conn {} user={} remote={} strict={} channels={} client={}",
                            c.id,
                            c.user.as_deref().unwrap_or("-"),
                            c.remote,
                            c.strict_kex(),
                            c.channels.len(),
                            c.client_version.as_deref().unwrap_or("-"),
                        );
                    }
                }
                ["disconnect", id] => {
                    let r = id.parse().map(ssh_server::ConnectionId).map(|id| {
                        control.disconnect(
                            id,
                            ssh_proto::DisconnectReason::ByApplication,
                            "disconnected by the operator",
                        )
                    });
                    println!(
                        "{}",
                        if matches!(r, Ok(Ok(()))) {
                            "ok"
                        } else {
                            "error"
                        }
                    );
                }
                ["send", id, ch, text @ ..] => {
                    let r = match (id.parse(), ch.parse()) {
                        (Ok(id), Ok(ch)) => control
                            .send_to_channel(
                                ssh_server::ConnectionId(id),
                                ssh_proto::ChannelId(ch),
                                format!("{}\n", text.join(" ")).as_bytes(),
                            )
                            .is_ok(),
                        _ => false,
                    };
                    println!("{}", if r { "ok" } else { "error" });
                }
                ["stop"] => {
                    control.stop_listening();
                    println!("ok");
                }
                ["shutdown", secs] => {
                    CONSOLE_SHUTDOWN.store(true, std::sync::atomic::Ordering::SeqCst);
                    let grace = Duration::from_secs(secs.parse().unwrap_or(5));
                    let drained = shutdown(grace);
                    println!("shutdown drained={drained}");
                    println!("end");
                    std::process::exit(0);
                }
                _ => println!("error"),
            }
            println!("end");
        }
    });
}
