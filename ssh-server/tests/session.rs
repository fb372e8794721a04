//! The shared server pieces (`ssh_server`) driven in memory with our client:
//! admission, the Session's calls and replies, the registry, channel streams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ssh_proto::bytes::BytesMut;
use ssh_proto::testing::seeded_configs;
use ssh_proto::*;
use ssh_server::*;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Rig {
    server: Session<()>,
    client: ClientConnection,
    control: ServerControl,
    now: Instant,
    client_events: Vec<Event>,
    /// How many of `client_events` the client has read (consumed their data).
    read_upto: usize,
}

impl Rig {
    fn new(seed: u64) -> Rig {
        let (s, c) = seeded_configs(seed).unwrap();
        let control = ServerControl::new(AdmissionPolicy::default()).unwrap();
        let admitted = control
            .admit(addr("10.0.0.7:5000"), addr("10.0.0.1:22"))
            .unwrap();
        let now = Instant::now();
        Rig {
            server: Session::new(Arc::new(s), now, admitted).unwrap(),
            client: ClientConnection::new(Arc::new(c), now).unwrap(),
            control,
            now,
            client_events: Vec::new(),
            read_upto: 0,
        }
    }

    /// A rig whose client has logged in as `user`.
    fn logged_in(seed: u64, user: &str) -> Rig {
        let mut r = Rig::new(seed);
        r.run(&mut accept_all);
        r.client.auth_password(user, "pw").unwrap();
        r.run(&mut accept_all);
        r
    }

    /// Open a session from the client; the server accepts it and takes its stream.
    fn open_stream(&mut self) -> (ChannelId, ChannelIo) {
        let ch = self.client.open_session().unwrap();
        let mut io = None;
        self.run(&mut |c| match c {
            Call::ChannelOpen { channel, reply, .. } => {
                io = channel.take_stream();
                reply.send(true);
            }
            other => accept_all(other),
        });
        (ch, io.expect("stream"))
    }

    /// The client reads the data it has received so far, so windows reopen; then
    /// shuttle until quiet.
    fn read_and_run(&mut self) {
        let got: Vec<(ChannelId, usize)> = self.client_events[self.read_upto..]
            .iter()
            .filter_map(|e| match e {
                Event::ChannelData { channel, data, .. } => Some((*channel, data.len())),
                _ => None,
            })
            .collect();
        self.read_upto = self.client_events.len();
        for (ch, n) in got {
            self.client.channel(ch).unwrap().consume(n).unwrap();
        }
        self.run(&mut accept_all);
    }

    /// Shuttle bytes both ways and answer calls with `answer` until quiet.
    fn run(&mut self, answer: &mut dyn FnMut(Call<()>)) {
        for _ in 0..10_000 {
            let mut moved = false;
            // What a wake-up does in an adapter: apply answers and stream activity.
            self.server.process();
            let mut to_server = BytesMut::new();
            while let Some(b) = self.client.poll_transmit() {
                to_server.extend_from_slice(&b);
            }
            if !to_server.is_empty() {
                moved = true;
                self.server.handle_input(self.now, &mut to_server);
            }
            let mut to_client = BytesMut::new();
            while let Some(b) = self.server.poll_transmit() {
                to_client.extend_from_slice(&b);
            }
            if !to_client.is_empty() && !self.client.is_closed() {
                moved = true;
                let _ = self.client.handle_input(self.now, &mut to_client);
            }
            while let Some(e) = self.client.poll_event() {
                moved = true;
                self.client_events.push(e);
            }
            while let Some(c) = self.server.poll_call() {
                moved = true;
                answer(c);
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }
}

fn accept_all(c: Call<()>) {
    match c {
        Call::Auth { reply, .. } => reply.send(AuthDecision::Accept),
        Call::ChannelOpen { reply, .. } => reply.send(true),
        Call::ChannelRequest { reply, .. } => reply.send(true),
    }
}

#[test]
fn admission_refuses_blocked_unlisted_and_excess_connections() {
    let policy = AdmissionPolicy {
        max_connections: 2,
        allowed: vec!["10.*".parse().unwrap(), "::1".parse().unwrap()],
        blocked: vec!["10.9.*".parse().unwrap()],
    };
    let c = ServerControl::new(policy).unwrap();
    let local = addr("10.0.0.1:22");
    assert!(matches!(
        c.admit(addr("10.9.0.1:1"), local),
        Err(Refusal::Blocked(_))
    ));
    assert_eq!(
        c.admit(addr("192.168.0.1:1"), local).unwrap_err(),
        Refusal::NotAllowed
    );
    let a = c.admit(addr("10.0.0.2:1"), local).unwrap();
    let b = c.admit(addr("[::1]:1"), local).unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(
        c.admit(addr("10.0.0.3:1"), local).unwrap_err(),
        Refusal::TooManyConnections { limit: 2 }
    );
    drop(a);
    let again = c.admit(addr("10.0.0.3:1"), local).unwrap();
    assert!(again.id() > b.id(), "ids are never reused");
    c.begin_shutdown("bye");
    assert_eq!(
        c.admit(addr("10.0.0.4:1"), local).unwrap_err(),
        Refusal::ShuttingDown
    );
}

#[test]
fn registry_reports_the_connection_and_disconnects_it_by_id() {
    let mut r = Rig::logged_in(70, "dora");
    let ch = r.client.open_session().unwrap();
    r.run(&mut accept_all);
    let info = r.control.connections();
    assert_eq!(info.len(), 1);
    let i = &info[0];
    assert_eq!(i.user.as_deref(), Some("dora"));
    assert_eq!(i.remote, addr("10.0.0.7:5000"));
    assert!(i.client_version.as_deref().unwrap().starts_with("SSH-2.0-"));
    assert!(i.strict_kex());
    assert_eq!(i.channels.len(), 1);
    assert!(i.channels[0].window.send_window > 0);
    assert_eq!(i.channels[0].kind, ChannelKind::Session);

    // Data to the channel by id, from "another thread" (the control handle).
    let sent = r
        .control
        .send_to_channel(i.id, i.channels[0].id, b"note from ops\n")
        .unwrap();
    assert_eq!(sent, 14);
    r.run(&mut accept_all);
    assert!(r.client_events.iter().any(|e| matches!(e,
        Event::ChannelData { channel, data, .. } if *channel == ch && &data[..] == b"note from ops\n")));
    assert_eq!(
        r.control.send_to_channel(i.id, ChannelId(99), b"x"),
        Err(RegistryError::NoSuchChannel)
    );

    r.control
        .disconnect(i.id, DisconnectReason::ByApplication, "maintenance")
        .unwrap();
    r.run(&mut accept_all);
    assert!(r.client_events.iter().any(|e| matches!(e,
        Event::Disconnected { reason: DisconnectReason::ByApplication, description, by_peer: true, .. }
        if description == "maintenance")));
    assert!(r.server.is_finished());
    let ended = r.server.finish(None);
    assert_eq!(ended.reason, Some(DisconnectReason::ByApplication));
    assert_eq!(r.control.connection_count(), 0);
}

#[test]
fn a_dropped_reply_refuses_and_answers_come_from_other_threads() {
    let mut r = Rig::new(71);
    r.run(&mut accept_all);
    r.client.auth_password("eve", "pw").unwrap();
    // The handler drops the reply (as a panicking handler would): a refusal goes out.
    r.run(&mut |c| drop(c));
    assert!(r
        .client_events
        .iter()
        .any(|e| matches!(e, Event::AuthFailure { .. })));
    assert!(!r.client.is_authenticated());
    // The next answer comes from another thread.
    r.client.auth_password("eve", "pw").unwrap();
    r.run(&mut |c| {
        std::thread::spawn(move || accept_all(c)).join().unwrap();
    });
    assert!(r.client.is_authenticated());
}

#[test]
fn channel_streams_carry_data_both_ways_with_backpressure() {
    let mut r = Rig::logged_in(72, "fay");
    let (ch, mut io) = r.open_stream();
    r.client.channel(ch).unwrap().send(b"ping").unwrap();
    r.run(&mut accept_all);
    let mut cx = Context::from_waker(Waker::noop());
    let mut buf = [0u8; 16];
    assert!(matches!(
        io.poll_read(&mut cx, &mut buf),
        Poll::Ready(Ok(4))
    ));
    assert_eq!(&buf[..4], b"ping");
    assert!(matches!(
        io.poll_write(&mut cx, b"pong"),
        Poll::Ready(Ok(4))
    ));
    io.control().exit_status(3);
    io.control().close();
    r.run(&mut accept_all);
    let got: Vec<u8> = r
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::ChannelData { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got, b"pong");
    assert!(r.client_events.iter().any(|e| matches!(
        e,
        Event::ChannelRequest {
            request: ChannelRequest::ExitStatus { code: 3 },
            ..
        }
    )));
    assert!(r
        .client_events
        .iter()
        .any(|e| matches!(e, Event::ChannelClosed { .. })));
    assert!(io.control().is_closed());
    assert!(matches!(
        io.poll_read(&mut cx, &mut buf),
        Poll::Ready(Ok(0))
    ));
}

#[test]
fn owned_sends_and_writes_interleave_in_order_and_owned_receives_take_whole_runs() {
    let mut r = Rig::logged_in(74, "hal");
    let (ch, mut io) = r.open_stream();
    let mut cx = Context::from_waker(Waker::noop());
    // 3 MiB out: owned 100 KiB buffers and 7-byte writes alternating, with stderr
    // owned buffers between; more than the stream cap and the client's window, so
    // sends wait and resume.
    let mut want_out = Vec::new();
    let mut want_err = Vec::new();
    let mut i = 0u32;
    while want_out.len() < 3 << 20 {
        let owned = bytes::Bytes::from(vec![(i % 251) as u8; 100 * 1024]);
        let mut pending = owned.clone();
        while io.poll_send(&mut cx, &mut pending).is_pending() {
            r.read_and_run();
        }
        want_out.extend_from_slice(&owned);
        let small = [i as u8; 7];
        let mut at = 0;
        while at < small.len() {
            match io.poll_write(&mut cx, &small[at..]) {
                Poll::Ready(Ok(n)) => at += n,
                _ => r.read_and_run(),
            }
        }
        want_out.extend_from_slice(&small);
        let mut err = bytes::Bytes::from(vec![b'e'; 5]);
        while io.stderr().poll_send(&mut cx, &mut err).is_pending() {
            r.read_and_run();
        }
        want_err.extend_from_slice(b"eeeee");
        i += 1;
    }
    r.client.channel(ch).unwrap().send(b"in one run").unwrap();
    r.client.channel(ch).unwrap().eof().unwrap();
    for _ in 0..64 {
        r.read_and_run();
    }
    let (mut got_out, mut got_err) = (Vec::new(), Vec::new());
    for e in &r.client_events {
        if let Event::ChannelData { data, stream, .. } = e {
            match stream {
                DataStream::Normal => got_out.extend_from_slice(data),
                _ => got_err.extend_from_slice(data),
            }
        }
    }
    assert_eq!(got_out.len(), want_out.len());
    assert!(got_out == want_out, "stdout out of order");
    assert_eq!(got_err, want_err);
    match io.poll_recv(&mut cx) {
        Poll::Ready(Ok(Some(b))) => assert_eq!(&b[..], b"in one run"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(io.poll_recv(&mut cx), Poll::Ready(Ok(None))));
}

#[test]
fn small_owned_buffers_queued_together_share_one_packet() {
    let mut r = Rig::logged_in(76, "jo");
    let (_, io) = r.open_stream();
    let mut cx = Context::from_waker(Waker::noop());
    let before = r.client_events.len();
    let mut want = Vec::new();
    for i in 0..10u8 {
        let mut piece = bytes::Bytes::from(vec![i; 100]);
        want.extend_from_slice(&piece);
        assert!(io.poll_send(&mut cx, &mut piece).is_ready());
    }
    assert!(io.poll_write(&mut cx, b"tail").is_ready());
    want.extend_from_slice(b"tail");
    r.run(&mut accept_all);
    let packets: Vec<&bytes::Bytes> = r.client_events[before..]
        .iter()
        .filter_map(|e| match e {
            Event::ChannelData { data, .. } => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(packets.len(), 1, "one packet for 11 queued runs");
    assert_eq!(&packets[0][..], &want[..]);
}

#[test]
fn a_channel_finished_before_its_request_is_answered_replies_first_then_closes() {
    let mut r = Rig::logged_in(75, "ida");
    let (ch, io) = r.open_stream();
    let exec = ChannelRequest::Exec {
        command: b"true".to_vec().into(),
    };
    r.client.channel(ch).unwrap().request(&exec, true).unwrap();
    // The handler finishes the channel, and only then returns its answer.
    let mut held = None;
    r.run(&mut |c| match c {
        Call::ChannelRequest { reply, .. } => {
            io.control().exit(0);
            held = Some(reply);
        }
        other => accept_all(other),
    });
    assert!(
        !r.client_events
            .iter()
            .any(|e| matches!(e, Event::ChannelClosed { .. })),
        "closed before the reply"
    );
    held.expect("exec call").send(true);
    r.run(&mut accept_all);
    let order: Vec<&str> = r
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::ChannelReply { success: true, .. } => Some("reply"),
            Event::ChannelRequest {
                request: ChannelRequest::ExitStatus { .. },
                ..
            } => Some("exit"),
            Event::ChannelEof { .. } => Some("eof"),
            Event::ChannelClosed { .. } => Some("closed"),
            Event::Disconnected { .. } => Some("disconnected"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["reply", "exit", "eof", "closed"]);
    assert!(!r.client.is_closed());
}

#[test]
fn many_channels_streaming_past_the_high_water_mark_each_get_all_their_bytes_in_order() {
    let mut r = Rig::logged_in(73, "gus");
    const CHANNELS: usize = 24;
    let client_ids: Vec<ChannelId> = (0..CHANNELS)
        .map(|_| r.client.open_session().unwrap())
        .collect();
    let mut streams = Vec::new();
    r.run(&mut |c| match c {
        Call::ChannelOpen { channel, reply, .. } => {
            streams.push(channel.take_stream().unwrap());
            reply.send(true);
        }
        other => accept_all(other),
    });
    assert_eq!(streams.len(), CHANNELS);
    let mut cx = Context::from_waker(Waker::noop());
    // Three rounds of a full stream buffer on every channel: 6 MiB a round, far above
    // the connection's 1 MiB high-water mark, so most channels wait in the backlog.
    let piece = 100 * 1024;
    for round in 0..3u8 {
        for (i, io) in streams.iter().enumerate() {
            let data = vec![i as u8 ^ (round << 5); piece];
            assert!(matches!(io.poll_write(&mut cx, &data), Poll::Ready(Ok(n)) if n == piece));
        }
        r.run(&mut accept_all);
        // The client reads what it got, so windows reopen for the next round.
        r.read_and_run();
    }
    for io in &streams {
        io.control().exit(0);
    }
    r.run(&mut accept_all);
    for (i, ch) in client_ids.iter().enumerate() {
        let got: Vec<u8> = r
            .client_events
            .iter()
            .filter_map(|e| match e {
                Event::ChannelData { channel, data, .. } if channel == ch => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        let want: Vec<u8> = (0..3u8)
            .flat_map(|round| vec![i as u8 ^ (round << 5); piece])
            .collect();
        assert!(
            got == want,
            "channel {i}: {} of {} bytes",
            got.len(),
            want.len()
        );
    }
    let closed = r
        .client_events
        .iter()
        .filter(|e| matches!(e, Event::ChannelClosed { .. }))
        .count();
    assert_eq!(closed, CHANNELS);
}
