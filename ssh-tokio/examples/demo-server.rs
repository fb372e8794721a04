//! The demo server: real logins (authorized_keys and passwords), exec through `sh -c`
//! with env applied, a shell on a real PTY, signals, exit status, and the sftp
//! subsystem through the system's sftp-server when present. The options, logins and
//! request handling shared with the smol and blocking demos are in
//! `conformance::demo`; this file is how tokio runs the programs.
//!
//! cargo run -p ssh-tokio --example demo-server -- --password demo:demo

use std::process::Stdio;

use conformance::demo::{self, DemoAction, DemoArgs, DemoAuth, DemoChannel, Launch};
use ssh_proto::{AuthDecision, AuthRequest, ChannelKind, ChannelRequest, OpenFailure, PtyRequest};
use ssh_server::{ConnectionId, ConnectionOrigin, Ended};
use ssh_tokio::{forward, ChannelContext, ChannelStream, Handler, Server};
use tokio::io::AsyncWriteExt;

struct Demo(DemoAuth);

impl Handler<ChannelStream> for Demo {
    type ChannelState = DemoChannel;

    async fn auth_from(&self, origin: ConnectionOrigin, req: AuthRequest) -> AuthDecision {
        self.0.decide(&origin, &req)
    }

    fn disconnected(&self, id: ConnectionId, _: &Ended) {
        self.0.forget(id)
    }

    async fn channel_open(&self, ctx: ChannelContext<DemoChannel>, kind: ChannelKind) -> bool {
        match kind {
            ChannelKind::Session => true,
            // -L, -D, -W and ProxyJump: connect the target, then copy both ways.
            ChannelKind::DirectTcpip { host, port, .. } => {
                if !self.0.forward_allowed(ctx.connection, &host, port) {
                    return false;
                }
                match forward::connect_tcp(&host, port).await {
                    Ok(tcp) => match ctx.take_stream() {
                        Some(stream) => {
                            tokio::spawn(forward::pump_tcp(stream, tcp));
                            true
                        }
                        None => false,
                    },
                    Err(e) => {
                        tracing::info!(%host, port, error = %e, "direct-tcpip connect failed");
                        ctx.refuse_with(OpenFailure::ConnectFailed, &e.to_string());
                        false
                    }
                }
            }
            _ => false,
        }
    }

    async fn channel_request(&self, ctx: ChannelContext<DemoChannel>, req: ChannelRequest) -> bool {
        let limits = self.0.restrictions(ctx.connection);
        let action = demo::on_request(&mut ctx.state(), req, &limits);
        match action {
            DemoAction::Reply(ok) => ok,
            DemoAction::Start(launch) => match ctx.take_stream() {
                Some(stream) => match launch.pty.clone() {
                    Some(p) => {
                        let ok = run_on_pty(&ctx, stream, launch, p).is_ok();
                        let pid = ctx.state().pid;
                        self.0.started_on_pty(ctx.connection, pid);
                        ok
                    }
                    None => run_on_pipes(&ctx, stream, launch).is_ok(),
                },
                None => false,
            },
        }
    }
}

fn run_on_pipes(
    ctx: &ChannelContext<DemoChannel>,
    stream: ChannelStream,
    l: Launch,
) -> std::io::Result<()> {
    let mut child = tokio::process::Command::new(&l.program)
        .args(&l.args)
        .envs(l.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    {
        let mut s = ctx.state();
        s.pid = child.id();
        s.end_output = Some(Box::new(move || {
            let _ = stop_tx.send(());
        }));
    }
    let (mut stdin, stdout, mut stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let control = stream.control();
    let (mut out_writer, mut err_writer) = (stream.stdout(), stream.stderr());
    let mut stream = stream;
    // Each side moves owned buffers: received runs written straight to the pipe, the
    // pipes read into buffers that are sent whole.
    tokio::spawn(async move {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stream.recv_to(stdin).await;
        }
        drop(stdin);
    });
    tokio::spawn(async move {
        let out = async move {
            if let Some(mut o) = stdout {
                // eow@openssh.com stops the copy; dropping the pipe closes it.
                tokio::select! {
                    _ = out_writer.send_from(&mut o) => {}
                    _ = stop_rx => {}
                }
            }
            let _ = out_writer.flush().await;
        };
        let err = async {
            if let Some(e) = stderr.as_mut() {
                let _ = err_writer.send_from(e).await;
            }
            let _ = err_writer.flush().await;
        };
        tokio::join!(out, err);
        demo::report_exit(&control, child.wait().await);
    });
    Ok(())
}

fn run_on_pty(
    ctx: &ChannelContext<DemoChannel>,
    stream: ChannelStream,
    l: Launch,
    p: PtyRequest,
) -> Result<(), pty_process::Error> {
    let (pty, pts) = pty_process::open()?;
    pty.resize(pty_process::Size::new(
        p.rows.max(1) as u16,
        p.cols.max(1) as u16,
    ))?;
    let mut child = pty_process::Command::new(&l.program)
        .args(&l.args)
        .envs(l.env)
        .env("TERM", &p.term)
        .spawn(pts)?;
    let (mut pty_rd, mut pty_wr) = pty.into_split();
    let (resize_tx, mut resize_rx) = tokio::sync::mpsc::unbounded_channel();
    {
        let mut s = ctx.state();
        s.pid = child.id();
        s.resize = Some(Box::new(move |cols, rows| {
            let _ = resize_tx.send(pty_process::Size::new(rows, cols));
        }));
    }
    let control = stream.control();
    let mut wr = stream.stdout();
    let mut rd = stream;
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
        let _ = wr.send_from(&mut pty_rd).await;
        let _ = wr.flush().await;
        demo::report_exit(&control, child.wait().await);
    });
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_logging();
    let args = DemoArgs::parse("demo-server")?;
    let server = Server::bind(
        args.server_options()?,
        args.server_config()?,
        Demo(args.auth()),
    )
    .await?;
    println!("listening on {}", server.local_addr()?);
    let (handle, control, rt) = (
        server.handle(),
        server.control(),
        tokio::runtime::Handle::current(),
    );
    demo::spawn_console(server.control(), move |grace| {
        rt.block_on(handle.shutdown(grace))
    });
    server.run().await?;
    // Stopped listening: serve the live connections to their end.
    std::future::poll_fn(|cx| control.poll_drained(cx)).await;
    demo::finish();
    Ok(())
}
