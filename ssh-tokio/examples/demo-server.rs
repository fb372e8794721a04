//! The demo server: real logins (authorized_keys and passwords), exec through `sh -c`
//! with env applied, a shell on a real PTY, signals, exit status, and the sftp
//! subsystem through the system's sftp-server when present.
//!
//! cargo run -p ssh-tokio --example demo-server -- --password demo:demo

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;
use std::sync::Arc;

use ssh_proto::{
    AuthDecision, AuthMethod, AuthRequest, ChannelKind, ChannelRequest, PrivateKey, PtyRequest,
    PublicKey, ServerConfig, SystemRng,
};
use ssh_tokio::{ChannelContext, ChannelStream, Handler, Server, ServerOptions};
use tokio::io::AsyncWriteExt;

struct Demo {
    keys: Vec<PublicKey>,
    passwords: HashMap<String, String>,
}

#[derive(Default)]
struct Session {
    env: Vec<(String, String)>,
    pty: Option<PtyRequest>,
    resize: Option<tokio::sync::mpsc::UnboundedSender<pty_process::Size>>,
    pid: Option<u32>,
}

const SFTP_SERVERS: &[&str] = &[
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/ssh/sftp-server",
];

impl Handler for Demo {
    type ChannelState = Session;

    async fn auth(&self, req: AuthRequest) -> AuthDecision {
        let ok = match &req.method {
            AuthMethod::Password { password, .. } => self
                .passwords
                .get(&req.user)
                .is_some_and(|p| p.as_bytes() == password.expose().as_bytes()),
            // Both the query and the signed attempt: the core verified the signature.
            AuthMethod::PublicKey { key, .. } => self.keys.contains(key),
            AuthMethod::None => false,
        };
        if ok {
            AuthDecision::Accept
        } else {
            AuthDecision::Reject
        }
    }

    async fn channel_open(&self, _ctx: ChannelContext<Session>, kind: ChannelKind) -> bool {
        kind == ChannelKind::Session
    }

    async fn channel_request(&self, ctx: ChannelContext<Session>, req: ChannelRequest) -> bool {
        match req {
            ChannelRequest::PtyReq(p) => {
                ctx.state().pty = Some(p);
                true
            }
            ChannelRequest::Env { name, value } => {
                ctx.state().env.push((name, value));
                true
            }
            ChannelRequest::WindowChange { cols, rows, .. } => {
                if let Some(w) = &ctx.state().resize {
                    let _ = w.send(pty_process::Size::new(rows as u16, cols as u16));
                }
                true
            }
            ChannelRequest::Signal { name } => {
                let pid = ctx.state().pid;
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
            ChannelRequest::Exec { command } => {
                let cmd = String::from_utf8_lossy(&command).into_owned();
                start(ctx, "/bin/sh".into(), vec!["-c".into(), cmd])
            }
            ChannelRequest::Shell => {
                let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
                start(ctx, shell, vec!["-l".into()])
            }
            ChannelRequest::Subsystem { name } if name == "sftp" => {
                match SFTP_SERVERS
                    .iter()
                    .find(|p| std::path::Path::new(p).exists())
                {
                    Some(p) => {
                        ctx.state().pty = None;
                        start(ctx, p.to_string(), vec![])
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
}

/// Start a program for the channel: on a PTY when one was requested, else on pipes.
fn start(ctx: ChannelContext<Session>, program: String, args: Vec<String>) -> bool {
    let Some(stream) = ctx.take_stream() else {
        return false;
    };
    let (env, pty) = {
        let s = ctx.state();
        (s.env.clone(), s.pty.clone())
    };
    match pty {
        Some(p) => run_on_pty(ctx, stream, program, args, env, p).is_ok(),
        None => run_on_pipes(ctx, stream, program, args, env).is_ok(),
    }
}

fn run_on_pipes(
    ctx: ChannelContext<Session>,
    stream: ChannelStream,
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> std::io::Result<()> {
    let mut child = tokio::process::Command::new(&program)
        .args(&args)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    ctx.state().pid = child.id();
    let (mut stdin, mut stdout, mut stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let control = stream.control();
    let mut err_writer = stream.stderr();
    let (mut rd, mut wr) = tokio::io::split(stream);
    tokio::spawn(async move {
        if let Some(stdin) = stdin.as_mut() {
            let _ = tokio::io::copy(&mut rd, stdin).await;
        }
        drop(stdin);
    });
    tokio::spawn(async move {
        let out = async {
            if let Some(o) = stdout.as_mut() {
                let _ = tokio::io::copy(o, &mut wr).await;
            }
            let _ = wr.flush().await;
        };
        let err = async {
            if let Some(e) = stderr.as_mut() {
                let _ = tokio::io::copy(e, &mut err_writer).await;
            }
            let _ = err_writer.flush().await;
        };
        tokio::join!(out, err);
        report_exit(&control, child.wait().await);
    });
    Ok(())
}

fn run_on_pty(
    ctx: ChannelContext<Session>,
    stream: ChannelStream,
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    p: PtyRequest,
) -> Result<(), pty_process::Error> {
    let (pty, pts) = pty_process::open()?;
    pty.resize(pty_process::Size::new(
        p.rows.max(1) as u16,
        p.cols.max(1) as u16,
    ))?;
    let mut child = pty_process::Command::new(&program)
        .args(&args)
        .envs(env)
        .env("TERM", &p.term)
        .spawn(pts)?;
    let (mut pty_rd, mut pty_wr) = pty.into_split();
    let (resize_tx, mut resize_rx) = tokio::sync::mpsc::unbounded_channel();
    {
        let mut s = ctx.state();
        s.pid = child.id();
        s.resize = Some(resize_tx);
    }
    let control = stream.control();
    let (mut rd, mut wr) = tokio::io::split(stream);
    // Client input to the PTY, and window-change resizes, in one task that owns the writer.
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            tokio::select! {
                r = tokio::io::AsyncReadExt::read(&mut rd, &mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => if pty_wr.write_all(&buf[..n]).await.is_err() { break },
                },
                Some(size) = resize_rx.recv() => { let _ = pty_wr.resize(size); }
            }
        }
    });
    tokio::spawn(async move {
        // The PTY reports EIO once the shell and its children have gone.
        let _ = tokio::io::copy(&mut pty_rd, &mut wr).await;
        let _ = wr.flush().await;
        report_exit(&control, child.wait().await);
    });
    Ok(())
}

fn report_exit(
    control: &ssh_tokio::ChannelControl,
    status: std::io::Result<std::process::ExitStatus>,
) {
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

fn load_or_create_host_key(path: &str) -> Result<PrivateKey, Box<dyn std::error::Error>> {
    match std::fs::read_to_string(path) {
        Ok(pem) => Ok(PrivateKey::from_openssh(&pem)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = PrivateKey::generate_ed25519(&SystemRng)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            std::io::Write::write_all(&mut f, key.to_openssh("demo host key")?.as_bytes())?;
            eprintln!(
                "generated host key {path} ({})",
                key.public_key().fingerprint()
            );
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: demo-server [--listen ADDR] [--host-key FILE] [--authorized-keys FILE] [--password USER:PASSWORD]..."
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut listen: SocketAddr = "127.0.0.1:2222".parse()?;
    let mut host_key = "demo_host_ed25519_key".to_owned();
    let mut keys = Vec::new();
    let mut passwords = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--listen" => listen = val().parse()?,
            "--host-key" => host_key = val(),
            "--authorized-keys" => keys.extend(ssh_proto::keys::parse_authorized_keys(
                &std::fs::read_to_string(val())?,
            )?),
            "--password" => {
                let v = val();
                let (u, p) = v.split_once(':').unwrap_or_else(|| usage());
                passwords.insert(u.to_owned(), p.to_owned());
            }
            _ => usage(),
        }
    }
    let key = load_or_create_host_key(&host_key)?;
    eprintln!("host key {}", key.public_key().fingerprint());
    let config = Arc::new(ServerConfig::builder().host_key(key).build()?);
    let server = Server::bind(
        ServerOptions::listen_on(listen),
        config,
        Demo { keys, passwords },
    )
    .await?;
    println!("listening on {}", server.local_addr()?);
    server.run().await?;
    Ok(())
}
