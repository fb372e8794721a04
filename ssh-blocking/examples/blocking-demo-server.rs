//! The demo server on the blocking adapter: the same logins and requests as the tokio
//! demo (shared in `conformance::demo`), programs run on pipes or a PTY with a thread
//! per copy direction.
//!
//! cargo run -p ssh-blocking --example blocking-demo-server -- --password demo:demo

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use conformance::demo::{self, DemoAction, DemoArgs, DemoAuth, DemoChannel, Launch};
use ssh_blocking::{forward, ChannelContext, ChannelStream, ChannelWriter, Handler, Server};
use ssh_proto::{AuthDecision, AuthRequest, ChannelKind, ChannelRequest, OpenFailure, PtyRequest};
use ssh_server::{ConnectionId, ConnectionOrigin, Ended};

struct Demo(DemoAuth);

impl Handler for Demo {
    type ChannelState = DemoChannel;

    fn auth_from(&self, origin: ConnectionOrigin, req: AuthRequest) -> AuthDecision {
        self.0.decide(&origin, &req)
    }

    fn disconnected(&self, id: ConnectionId, _: &Ended) {
        self.0.forget(id)
    }

    fn channel_open(&self, ctx: ChannelContext<DemoChannel>, kind: ChannelKind) -> bool {
        match kind {
            ChannelKind::Session => true,
            // -L, -D, -W and ProxyJump: connect the target, then copy both ways.
            ChannelKind::DirectTcpip { host, port, .. } => {
                if !self.0.forward_allowed(ctx.connection, &host, port) {
                    return false;
                }
                match forward::connect_tcp(&host, port) {
                    Ok(tcp) => match ctx.take_stream() {
                        Some(stream) => {
                            std::thread::spawn(move || forward::pump_tcp(stream, tcp));
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

    fn channel_request(&self, ctx: ChannelContext<DemoChannel>, req: ChannelRequest) -> bool {
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

/// Send what `from` produces on the channel, on a new thread, until its end or an
/// error (read into buffers that are sent whole).
fn send_from(
    mut from: impl Read + Send + 'static,
    to: ChannelWriter,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let _ = to.send_from(&mut from);
    })
}

/// A reader that ends (EOF) once `stop` is set: eow@openssh.com makes the copy of a
/// program's stdout stop, and the pipe then closes as the copy drops it.
struct UntilStopped<R> {
    inner: R,
    stop: Arc<AtomicBool>,
}

impl<R: Read> Read for UntilStopped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Acquire) {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        Ok(if self.stop.load(Ordering::Acquire) {
            0
        } else {
            n
        })
    }
}

/// Write what the client sends to `to`, on a new thread, until EOF or an error.
fn recv_to(mut from: ChannelStream, mut to: impl Write + Send + 'static) {
    std::thread::spawn(move || {
        let _ = from.recv_to(&mut to);
    });
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
        .spawn()?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let mut s = ctx.state();
        s.pid = Some(child.id());
        let stop = stop.clone();
        s.end_output = Some(Box::new(move || stop.store(true, Ordering::Release)));
    }
    let (out, err, control) = (stream.writer(), stream.stderr(), stream.control());
    let copies = [
        child
            .stdout
            .take()
            .map(|o| send_from(UntilStopped { inner: o, stop }, out)),
        child.stderr.take().map(|e| send_from(e, err)),
    ];
    if let Some(stdin) = child.stdin.take() {
        recv_to(stream, stdin);
    }
    std::thread::spawn(move || {
        for c in copies.into_iter().flatten() {
            let _ = c.join();
        }
        demo::report_exit(&control, child.wait());
    });
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
    let pty = Arc::new(pty);
    {
        let mut s = ctx.state();
        s.pid = Some(child.id());
        let p = pty.clone();
        s.resize = Some(Box::new(move |cols, rows| {
            let _ = p.resize(pty_process::Size::new(rows, cols));
        }));
    }
    let (out, control) = (stream.writer(), stream.control());
    recv_to(stream, PtyIo(pty.clone()));
    std::thread::spawn(move || {
        // The PTY reports EIO once the shell and its children have gone.
        send_from(PtyIo(pty), out).join().ok();
        demo::report_exit(&control, child.wait());
    });
    Ok(())
}

/// A shared PTY as an owned reader and writer.
struct PtyIo(Arc<pty_process::blocking::Pty>);

impl Read for PtyIo {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(b)
    }
}

impl Write for PtyIo {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::init_logging();
    let args = DemoArgs::parse("blocking-demo-server")?;
    let server = Server::bind(
        args.server_options()?,
        args.server_config()?,
        Demo(args.auth()),
    )?;
    println!("listening on {}", server.local_addr()?);
    let (handle, control) = (server.handle(), server.control());
    demo::spawn_console(server.control(), move |grace| handle.shutdown(grace));
    server.run()?;
    // Stopped listening: serve the live connections to their end.
    control.wait_drained(std::time::Instant::now() + std::time::Duration::from_secs(365 * 86400));
    demo::finish();
    Ok(())
}
