//! The servers under test, each started by the tool on loopback with the same host key:
//! ours and the russh comparison server (this crate's examples, release builds) and
//! OpenSSH's sshd with its own config (`UsePAM no`); optionally `base`, an
//! `ours-bench-server` built from another commit, for A/B runs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ssh-tokio with `ours-bench-server`.
    Ours,
    /// OpenSSH's sshd.
    Sshd,
    /// russh with `russh-bench-server`.
    Russh,
    /// `ours-bench-server` built from another commit (loadtest's `--baseline DIR`).
    Base,
}

impl Kind {
    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Sshd => "sshd",
            Kind::Russh => "russh",
            Kind::Base => "base",
        }
    }

    /// Whether the server is another implementation, a peer in the tables' "ours /
    /// best peer" columns (not ours, and not ours at another commit).
    pub fn is_peer(self) -> bool {
        !matches!(self, Kind::Ours | Kind::Base)
    }

    /// Whether the server can answer `zero N` and `sink` from memory.
    pub fn serves_from_memory(self) -> bool {
        self != Kind::Sshd
    }
}

/// A running server.
pub struct Running {
    /// Which one.
    pub kind: Kind,
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
}

impl Running {
    /// The server's process id (sshd's listener; its sessions are its descendants).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files every server shares: a host key and the user's key.
pub struct Keys {
    /// Scratch directory.
    pub dir: PathBuf,
    /// The host key (OpenSSH format; ed25519 unless made by `create_with_host_key`).
    pub host_key: PathBuf,
    /// ed25519 user key (OpenSSH format).
    pub user_key: PathBuf,
}

/// Host key types the handshake benchmark compares, as (name, ssh-keygen -t, -b).
pub const HOST_KEY_TYPES: &[(&str, &str, &str)] = &[
    ("ed25519", "ed25519", "256"),
    ("ecdsa-p256", "ecdsa", "256"),
    ("rsa-3072", "rsa", "3072"),
    ("rsa-4096", "rsa", "4096"),
];

impl Keys {
    /// Generate an ed25519 host key and user key with ssh-keygen under `dir`.
    pub fn create(dir: &Path) -> std::io::Result<Keys> {
        Self::create_with_host_key(dir, "ed25519", "256")
    }

    /// Generate a host key of ssh-keygen type `kind` and size `bits`, and an ed25519
    /// user key, under `dir`.
    pub fn create_with_host_key(dir: &Path, kind: &str, bits: &str) -> std::io::Result<Keys> {
        std::fs::create_dir_all(dir)?;
        let keygen = |name: &str, kind: &str, bits: &str| -> std::io::Result<PathBuf> {
            let p = dir.join(name);
            let _ = std::fs::remove_file(&p);
            let _ = std::fs::remove_file(p.with_extension("pub"));
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-b", bits, "-N", "", "-f"])
                .arg(&p)
                .status()?
                .success();
            if !ok {
                return Err(std::io::Error::other("ssh-keygen failed"));
            }
            Ok(p)
        };
        let host_key = keygen("host_key", kind, bits)?;
        let user_key = keygen("user_key", "ed25519", "256")?;
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys"))?;
        Ok(Keys {
            dir: dir.to_owned(),
            host_key,
            user_key,
        })
    }
}

fn read_listening_line(child: &mut Child) -> std::io::Result<SocketAddr> {
    let out = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    line.trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("unexpected first line {line:?}")))
}

/// Start a server of `kind`; `examples` is the directory holding the release examples,
/// `baseline` the one holding the `ours-bench-server` of another commit (for `Base`).
pub fn start(
    kind: Kind,
    keys: &Keys,
    examples: &Path,
    baseline: Option<&Path>,
) -> std::io::Result<Running> {
    match kind {
        Kind::Ours | Kind::Russh | Kind::Base => {
            let bin = match kind {
                Kind::Ours => examples.join("ours-bench-server"),
                Kind::Base => baseline
                    .ok_or_else(|| std::io::Error::other("server base needs --baseline DIR"))?
                    .join("ours-bench-server"),
                _ => examples.join("russh-bench-server"),
            };
            let mut child = Command::new(&bin)
                .arg("127.0.0.1:0")
                .arg(&keys.host_key)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| std::io::Error::other(format!("{}: {e}", bin.display())))?;
            let addr = read_listening_line(&mut child)?;
            Ok(Running { kind, addr, child })
        }
        Kind::Sshd => start_sshd(keys),
    }
}

fn start_sshd(keys: &Keys) -> std::io::Result<Running> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    std::fs::create_dir_all("/run/sshd")?;
    let config = keys.dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\n\
             UsePAM no\nStrictModes no\nPermitRootLogin yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPidFile {dir}/sshd.pid\nMaxStartups 2000:100:4000\n\
             MaxSessions 2000\nLogLevel ERROR\nUseDNS no\nPrintMotd no\n",
            host = keys.host_key.display(),
            auth = keys.dir.join("authorized_keys").display(),
            dir = keys.dir.display(),
        ),
    )?;
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            std::io::Error::other(format!(
                "/usr/sbin/sshd: {e} (apt-get install openssh-server)"
            ))
        })?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let t = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(std::io::Error::other("sshd did not start listening"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Running {
        kind: Kind::Sshd,
        addr,
        child,
    })
}
