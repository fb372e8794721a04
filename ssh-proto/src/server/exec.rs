//! The first, synchronous event mapping (answers auth, runs exec to completion); kept
//! until the smol and blocking adapters move to [`super::Session`].

use std::collections::HashMap;

use crate::auth::{AuthDecision, AuthRequest};
use crate::channel::{ChannelId, ChannelKind, ChannelRequest};
use crate::connection::ServerConnection;
use crate::event::Event;

/// What an exec request produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Bytes for stdout.
    pub stdout: Vec<u8>,
    /// Bytes for stderr.
    pub stderr: Vec<u8>,
    /// Exit status.
    pub status: u32,
}

/// Decisions made synchronously, without blocking on the connection.
pub trait ExecHandler: Send + Sync + 'static {
    /// Decide on an authentication attempt.
    fn auth(&self, request: &AuthRequest) -> AuthDecision {
        let _ = request;
        AuthDecision::Reject
    }

    /// Run a command for `user`; None refuses the request.
    fn exec(&self, user: &str, command: &[u8]) -> Option<ExecOutput> {
        let _ = (user, command);
        None
    }
}

#[derive(Debug, Default)]
struct Pending {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: Option<u32>,
}

/// Drives a [`ServerConnection`]'s events through an [`ExecHandler`], keeping output
/// that the channel window has not taken yet.
#[derive(Debug, Default)]
pub struct ExecDispatcher {
    pending: HashMap<ChannelId, Pending>,
}

impl ExecDispatcher {
    /// A dispatcher with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handle every queued event; returns false once the connection has ended.
    pub fn run(&mut self, conn: &mut ServerConnection, handler: &dyn ExecHandler) -> bool {
        while let Some(ev) = conn.poll_event() {
            if !self.handle_event(conn, handler, ev) {
                return false;
            }
        }
        self.flush(conn);
        !conn.is_closed()
    }

    /// Handle one event; returns false when it says the connection ended.
    pub fn handle_event(
        &mut self,
        conn: &mut ServerConnection,
        handler: &dyn ExecHandler,
        ev: Event,
    ) -> bool {
        {
            match ev {
                Event::AuthRequest(r) => {
                    let d = handler.auth(&r);
                    let _ = conn.answer_auth(r.id, d);
                }
                Event::ChannelOpenRequest { channel, kind } => {
                    let _ = if kind == ChannelKind::Session {
                        conn.accept_channel(channel)
                    } else {
                        conn.reject_channel(
                            channel,
                            crate::channel::OpenFailure::UnknownChannelType,
                            "only sessions",
                        )
                    };
                }
                Event::ChannelRequest {
                    channel,
                    request,
                    want_reply,
                } => {
                    let ok = match &request {
                        ChannelRequest::Exec { command } => {
                            let user = conn.user().unwrap_or_default().to_owned();
                            match handler.exec(&user, command) {
                                Some(out) => {
                                    self.pending.insert(
                                        channel,
                                        Pending {
                                            stdout: out.stdout,
                                            stderr: out.stderr,
                                            status: Some(out.status),
                                        },
                                    );
                                    true
                                }
                                None => false,
                            }
                        }
                        ChannelRequest::Env { .. } | ChannelRequest::PtyReq(_) => true,
                        _ => false,
                    };
                    if want_reply {
                        let _ = conn.channel(channel).and_then(|mut c| c.reply(ok));
                    }
                }
                Event::ChannelData { channel, data, .. } => {
                    let _ = conn
                        .channel(channel)
                        .and_then(|mut c| c.consume(data.len()));
                }
                Event::ChannelClosed { channel } => {
                    self.pending.remove(&channel);
                }
                Event::Disconnected { .. } => return false,
                _ => {}
            }
        }
        true
    }

    /// Move pending exec output into the channels as their windows allow.
    pub fn flush(&mut self, conn: &mut ServerConnection) {
        for (&id, p) in self.pending.iter_mut() {
            let Ok(mut ch) = conn.channel(id) else {
                continue;
            };
            if let Ok(n) = ch.send(&p.stdout) {
                p.stdout.drain(..n);
            }
            if let Ok(n) = ch.send_stderr(&p.stderr) {
                p.stderr.drain(..n);
            }
            if p.stdout.is_empty() && p.stderr.is_empty() {
                if let Some(status) = p.status.take() {
                    let _ = ch.exit_status(status);
                    let _ = ch.eof();
                    let _ = ch.close();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{seeded_configs, Pair};
    use std::sync::Arc;

    struct Echo;
    impl ExecHandler for Echo {
        fn auth(&self, _: &AuthRequest) -> AuthDecision {
            AuthDecision::Accept
        }
        fn exec(&self, _: &str, command: &[u8]) -> Option<ExecOutput> {
            Some(ExecOutput {
                stdout: command.repeat(50_000),
                stderr: b"e".to_vec(),
                status: 4,
            })
        }
    }

    #[test]
    fn exec_output_larger_than_the_window_arrives_with_status() {
        let (s, c) = seeded_configs(3).unwrap();
        let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
        let mut d = ExecDispatcher::new();
        p.drive();
        p.client.auth_none("u").unwrap();
        let mut out = Vec::new();
        let mut status = None;
        let mut opened = None;
        for _ in 0..10_000 {
            p.step();
            while let Some(e) = p.server_events.pop_front() {
                d.handle_event(&mut p.server, &Echo, e);
            }
            d.flush(&mut p.server);
            if p.client.is_authenticated() && opened.is_none() {
                opened = Some(p.client.open_session().unwrap());
            }
            while let Some(e) = p.client_events.pop_front() {
                match e {
                    Event::ChannelOpened { channel } => {
                        p.client
                            .channel(channel)
                            .unwrap()
                            .request(
                                &ChannelRequest::Exec {
                                    command: b"hi ".to_vec().into(),
                                },
                                true,
                            )
                            .unwrap();
                    }
                    Event::ChannelData {
                        channel,
                        data,
                        stream: crate::DataStream::Normal,
                    } => {
                        out.extend_from_slice(&data);
                        p.client
                            .channel(channel)
                            .unwrap()
                            .consume(data.len())
                            .unwrap();
                    }
                    Event::ChannelRequest {
                        request: ChannelRequest::ExitStatus { code },
                        ..
                    } => status = Some(code),
                    _ => {}
                }
            }
            if status.is_some() {
                break;
            }
        }
        assert_eq!(out.len(), 150_000);
        assert_eq!(status, Some(4));
    }
}
