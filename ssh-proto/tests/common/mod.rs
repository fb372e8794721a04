//! Helpers shared by the in-memory integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::*;

pub fn pair_with(seed: u64, tweak: impl FnOnce(&mut ServerConfig, &mut ClientConfig)) -> Pair {
    let (mut s, mut c) = seeded_configs(seed).unwrap();
    tweak(&mut s, &mut c);
    Pair::new(Arc::new(s), Arc::new(c)).unwrap()
}

pub fn kex_done(p: &mut Pair) {
    p.client_event(|e| matches!(e, Event::KeysExchanged(_)))
        .expect("client finished kex");
    p.server_event(|e| matches!(e, Event::KeysExchanged(_)))
        .expect("server finished kex");
}

/// Log in with a password (accepted by the test "application").
pub fn login(p: &mut Pair) {
    kex_done(p);
    p.client.auth_password("alice", "secret").unwrap();
    let Some(Event::AuthRequest(req)) = p.server_event(|e| matches!(e, Event::AuthRequest(_)))
    else {
        panic!("no auth request");
    };
    assert_eq!(req.user, "alice");
    match &req.method {
        AuthMethod::Password { password, .. } => assert_eq!(password.expose(), "secret"),
        m => panic!("unexpected method {m:?}"),
    }
    p.server.answer_auth(req.id, AuthDecision::Accept).unwrap();
    p.client_event(|e| matches!(e, Event::Authenticated { .. }))
        .expect("client authenticated");
    assert_eq!(p.server.user(), Some("alice"));
}

/// Open a session with an exec; returns (client id, server id).
pub fn open_exec(p: &mut Pair, cmd: &str) -> (ChannelId, ChannelId) {
    let cid = p.client.open_session().unwrap();
    let Some(Event::ChannelOpenRequest { channel: sid, kind }) =
        p.server_event(|e| matches!(e, Event::ChannelOpenRequest { .. }))
    else {
        panic!("no open request")
    };
    assert_eq!(kind, ChannelKind::Session);
    p.server.accept_channel(sid).unwrap();
    p.client_event(|e| matches!(e, Event::ChannelOpened { .. }))
        .unwrap();
    p.client
        .channel(cid)
        .unwrap()
        .request(
            &ChannelRequest::Exec {
                command: cmd.as_bytes().to_vec().into(),
            },
            true,
        )
        .unwrap();
    let Some(Event::ChannelRequest {
        request: ChannelRequest::Exec { command },
        want_reply: true,
        ..
    }) = p.server_event(|e| matches!(e, Event::ChannelRequest { .. }))
    else {
        panic!("no exec")
    };
    assert_eq!(&command[..], cmd.as_bytes());
    p.server.channel(sid).unwrap().reply(true).unwrap();
    let Some(Event::ChannelReply { success: true, .. }) =
        p.client_event(|e| matches!(e, Event::ChannelReply { .. }))
    else {
        panic!("no reply")
    };
    (cid, sid)
}

pub fn disconnected(
    events: &mut std::collections::VecDeque<Event>,
) -> Option<(DisconnectReason, bool)> {
    events.iter().find_map(|e| match e {
        Event::Disconnected {
            reason, by_peer, ..
        } => Some((*reason, *by_peer)),
        _ => None,
    })
}
