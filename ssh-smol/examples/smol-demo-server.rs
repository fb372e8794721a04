//! The demo server on the smol adapter: the same logins and requests as the tokio demo
//! (shared in `conformance::demo`), programs run with smol's process and async-io.
//!
//! cargo run -p ssh-smol --example smol-demo-server -- --password demo:demo

use std::sync::Arc;

use conformance::demo::{self, DemoAction, DemoArgs, DemoAuth, DemoChannel, Launch};
use smol::io::AsyncWriteExt;
use smol::process::{Command, Stdio};
use smol::Async;
use ssh_proto::{AuthDecision, AuthRequest, ChannelKind, ChannelRequest, OpenFailure, PtyRequest};
use ssh_server::{ConnectionId, ConnectionOrigin, Ended};
use ssh_smol::{forward, ChannelContext, ChannelStream, Handler, Server};

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
                            smol::spawn(forward::pump_tcp(stream, tcp)).detach();
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
    let mut child = Command::new(&l.program)
        .args(&l.args)
        .envs(l.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    {
        let mut s = ctx.state();
        s.pid = Some(child.id());
        s.end_output = Some(Box::new(move || {
            let _ = stop_tx.try_send(());
        }));
    }
    let (mut stdin, stdout, mut stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let control = stream.control();
    let (mut wr, mut err_writer) = (stream.stdout(), stream.stderr());
    let mut rd = stream;
    // Each side moves owned buffers: received runs written straight to the pipe, the
    // pipes read into buffers that are sent whole.
    smol::spawn(async move {
        if let Some(stdin) = stdin.as_mut() {
            let _ = rd.recv_to(stdin).await;
        }
        drop(stdin);
    })
    .detach();
    smol::spawn(async move {
        let out = async move {
            if let Some(mut o) = stdout {
                // eow@openssh.com stops the copy; dropping the pipe closes it.
                let copy = async {
                    let _ = wr.send_from(&mut o).await;
                };
                let stop = async {
                    let _ = stop_rx.recv().await;
                };
                smol::future::or(copy, stop).await;
            }
            let _ = wr.flush().await;
        };
        let err = async {
            if let Some(e) = stderr.as_mut() {
                let _ = err_writer.send_from(e).await;
            }
            let _ = err_writer.flush().await;
        };
        smol::future::zip(out, err).await;
        demo::report_exit(&control, child.status().await);
    })
    .detach();
    Ok(())
}

fn run_on_pty(
    ctx: &ChannelContext<DemoChannel>,
    stream: ChannelStream,
    l: Launch,
    p: PtyRequest,
) -> Result<(), pty_process::Error> {
    let (pty, pts) = pty_process::blocking::open()?;
    pty.resize(pty_process::Size::new(
        p.rows.max(1) as u16,
        p.cols.max(1) as u16,
    ))?;
    let mut child = pty_process::blocking::Command::new(&l.program)
        .args(&l.args)
        .envs(l.env)
        .env("TERM", &p.term)
        .spawn(pts)?;
    let pty = Arc::new(Async::new(pty)?);
    {
        let mut s = ctx.state();
        s.pid = Some(child.id());
        let p = pty.clone();
        s.resize = Some(Box::new(move |cols, rows| {
            let _ = p.get_ref().resize(pty_process::Size::new(rows, cols));
        }));
    }
    let control = stream.control();
    let mut wr = stream.stdout();
    let mut rd = stream;
    let to_pty = pty.clone();
    smol::spawn(async move {
        let _ = smol::io::copy(&mut rd, &mut &*to_pty).await;
    })
    .detach();
    smol::spawn(async move {
        // The PTY reports EIO once the shell and its children have gone.
        let _ = wr.send_from(&mut &*pty).await;
        let _ = wr.flush().await;
        let status = smol::unblock(move || child.wait()).await;
        demo::report_exit(&control, status);
    })
    .detach();
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_logging();
    let args = DemoArgs::parse("smol-demo-server")?;
    smol::block_on(async {
        let server = Server::bind(
            args.server_options()?,
            args.server_config()?,
            Demo(args.auth()),
        )
        .await?;
        println!("listening on {}", server.local_addr()?);
        let (handle, control) = (server.handle(), server.control());
        demo::spawn_console(server.control(), move |grace| {
            smol::block_on(handle.shutdown(grace))
        });
        server.run().await?;
        // Stopped listening: serve the live connections to their end.
        std::future::poll_fn(|cx| control.poll_drained(cx)).await;
        demo::finish();
        Ok(())
    })
}
