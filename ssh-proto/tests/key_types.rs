//! Every key type as host key and as user key, client and server in memory; RSA size
//! minimums and signature-algorithm allow-lists on both sides.

use std::sync::Arc;

use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::*;

mod common;
use common::*;

const KINDS: [KeyKind; 5] = [
    KeyKind::Ed25519,
    KeyKind::EcdsaP256,
    KeyKind::EcdsaP384,
    KeyKind::EcdsaP521,
    KeyKind::Rsa(2048),
];

fn key(kind: KeyKind) -> PrivateKey {
    PrivateKey::generate(kind, &SeededRng::new(17)).unwrap()
}

/// A pair whose server holds `host_keys` and whose client offers only `host_alg`.
fn pair(host_keys: Vec<PrivateKey>, host_alg: &str, tweak: impl FnOnce(&mut ServerConfig)) -> Pair {
    let (mut s, mut c) = seeded_configs(3).unwrap();
    s.host_keys = host_keys;
    tweak(&mut s);
    c.host_key_algorithms = vec![host_alg.to_string()];
    Pair::new(Arc::new(s), Arc::new(c)).unwrap()
}

fn host_key_seen(p: &mut Pair) -> PublicKey {
    match p.client_event(|e| matches!(e, Event::ServerHostKey(_))) {
        Some(Event::ServerHostKey(k)) => k,
        _ => panic!("no host key event"),
    }
}

/// Sign in with `user_key` under `alg`; whether the server passed it to the application.
fn publickey_reaches_application(p: &mut Pair, user_key: &PrivateKey, alg: &str) -> bool {
    p.client.auth_publickey_with("bob", user_key, alg).unwrap();
    match p.server_event(|e| matches!(e, Event::AuthRequest(_))) {
        Some(Event::AuthRequest(req)) => {
            let AuthMethod::PublicKey {
                key,
                verified,
                algorithm,
                ..
            } = &req.method
            else {
                panic!("{:?}", req.method)
            };
            assert!(*verified);
            assert_eq!(key, user_key.public_key());
            assert_eq!(algorithm, alg);
            p.server.answer_auth(req.id, AuthDecision::Accept).unwrap();
            p.client_event(|e| matches!(e, Event::Authenticated { .. }))
                .expect("authenticated");
            true
        }
        _ => false,
    }
}

#[test]
fn every_host_key_algorithm_is_negotiated_and_signs_with_its_own_key() {
    let algs = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ];
    for alg in algs {
        // The server holds every key; the client's one algorithm picks which signs.
        let held: Vec<PrivateKey> = KINDS.iter().map(|k| key(*k)).collect();
        let publics: Vec<PublicKey> = held.iter().map(|k| k.public_key().clone()).collect();
        let mut p = pair(held, alg, |_| {});
        p.drive();
        assert_eq!(disconnected(&mut p.client_events), None, "{alg}");
        assert_eq!(p.client.negotiated().unwrap().host_key, alg);
        let seen = host_key_seen(&mut p);
        assert!(seen.signature_algorithms().contains(&alg), "{alg}");
        assert!(publics.contains(&seen));
        p.client.auth_password("alice", "pw").unwrap();
        assert!(p
            .server_event(|e| matches!(e, Event::AuthRequest(_)))
            .is_some());
    }
}

#[test]
fn every_user_key_type_logs_in_under_each_of_its_algorithms() {
    for kind in KINDS {
        let user_key = key(kind);
        for alg in user_key.signature_algorithms() {
            let mut p = pair(vec![key(KeyKind::Ed25519)], "ssh-ed25519", |_| {});
            kex_done(&mut p);
            assert!(
                publickey_reaches_application(&mut p, &user_key, alg),
                "{kind:?} {alg}"
            );
        }
    }
}

#[test]
fn rsa_user_keys_below_the_minimum_are_refused_before_the_application() {
    let user_key = key(KeyKind::Rsa(2048));
    let mut p = pair(vec![key(KeyKind::Ed25519)], "ssh-ed25519", |s| {
        s.user_keys.min_rsa_bits = 3072;
    });
    kex_done(&mut p);
    assert!(!publickey_reaches_application(
        &mut p,
        &user_key,
        "rsa-sha2-512"
    ));
    p.client_event(|e| matches!(e, Event::AuthFailure { .. }))
        .expect("refused with USERAUTH_FAILURE");
}

#[test]
fn the_signature_allow_list_restricts_user_keys_and_server_sig_algs() {
    let rsa = key(KeyKind::Rsa(2048));
    let ed = key(KeyKind::Ed25519);
    let mut p = pair(vec![key(KeyKind::Ed25519)], "ssh-ed25519", |s| {
        s.user_keys.signature_algorithms = vec!["rsa-sha2-512".into(), "ssh-ed25519".into()];
    });
    kex_done(&mut p);
    assert_eq!(
        p.client.server_sig_algs(),
        Some(&["rsa-sha2-512".to_string(), "ssh-ed25519".to_string()][..])
    );
    assert!(!publickey_reaches_application(&mut p, &rsa, "rsa-sha2-256"));
    assert!(publickey_reaches_application(&mut p, &ed, "ssh-ed25519"));
}

#[test]
fn a_client_refuses_an_rsa_host_key_below_its_minimum() {
    let (mut s, mut c) = seeded_configs(4).unwrap();
    s.host_keys = vec![key(KeyKind::Rsa(2048))];
    c.host_key_algorithms = vec!["rsa-sha2-512".into()];
    c.host_key_min_rsa_bits = 3072;
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
    p.drive();
    assert_eq!(
        disconnected(&mut p.client_events).map(|d| d.0),
        Some(DisconnectReason::HostKeyNotVerifiable)
    );
}

#[test]
fn no_common_host_key_algorithm_fails_cleanly() {
    let mut p = pair(vec![key(KeyKind::Ed25519)], "rsa-sha2-512", |_| {});
    p.drive();
    assert!(disconnected(&mut p.client_events).is_some());
    assert!(p.client.negotiated().is_none());
}

/// A hostkeys-prove-00@openssh.com request for `blobs`; the reply event.
fn prove(p: &mut Pair, blobs: &[bytes::Bytes]) -> (bool, bytes::Bytes) {
    let mut data = bytes::BytesMut::new();
    for b in blobs {
        wire::Writer::new(&mut data).string(b);
    }
    p.client
        .global_request("hostkeys-prove-00@openssh.com", true, &data)
        .unwrap();
    match p.client_event(|e| matches!(e, Event::GlobalReply { .. })) {
        Some(Event::GlobalReply { success, data }) => (success, data),
        _ => panic!("no reply"),
    }
}

#[test]
fn host_keys_are_proved_on_request_and_foreign_keys_refused() {
    let held: Vec<PrivateKey> = KINDS.iter().map(|k| key(*k)).collect();
    let blobs: Vec<bytes::Bytes> = held.iter().map(|k| k.public_key().to_blob()).collect();
    let publics: Vec<PublicKey> = held.iter().map(|k| k.public_key().clone()).collect();
    let mut p = pair(held, "rsa-sha2-256", |_| {});
    login(&mut p);
    let sid = p.client.session_id().unwrap().to_vec();
    let (ok, data) = prove(&mut p, &blobs);
    assert!(ok);
    let mut r = wire::Reader::new(&data);
    for (k, blob) in publics.iter().zip(&blobs) {
        let sig = r.string().unwrap();
        let mut signed = bytes::BytesMut::new();
        wire::Writer::new(&mut signed)
            .utf8("hostkeys-prove-00@openssh.com")
            .string(&sid)
            .string(blob);
        let alg = wire::Reader::new(sig).utf8().unwrap().to_owned();
        assert!(k.verify(&alg, &signed, sig), "{}", k.algorithm());
        if k.algorithm() == "ssh-rsa" {
            // The negotiated RSA algorithm is the one that proves.
            assert_eq!(alg, "rsa-sha2-256");
        }
        // A proof is bound to this session: another session id does not verify.
        let mut other = bytes::BytesMut::new();
        wire::Writer::new(&mut other)
            .utf8("hostkeys-prove-00@openssh.com")
            .string(b"another session")
            .string(blob);
        assert!(!k.verify(&alg, &other, sig));
    }
    assert_eq!(r.remaining(), 0);
    let stranger = key(KeyKind::EcdsaP384).public_key().to_blob();
    assert!(!prove(&mut p, &[blobs[0].clone(), stranger]).0);
    // The same key twice: refused, so one request cannot ask for many signatures.
    assert!(!prove(&mut p, &[blobs[4].clone(), blobs[4].clone()]).0);
    assert!(!prove(&mut p, &[bytes::Bytes::from_static(b"\xff")]).0);
}

/// A publickey-hostbound-v00@openssh.com request signed over `bound_to`.
fn hostbound_request(p: &Pair, user_key: &PrivateKey, bound_to: &[u8]) -> Vec<u8> {
    let sid = p.client.session_id().unwrap().to_vec();
    let blob = user_key.public_key().to_blob();
    let method = "publickey-hostbound-v00@openssh.com";
    let mut signed = bytes::BytesMut::new();
    wire::Writer::new(&mut signed)
        .string(&sid)
        .u8(50)
        .utf8("bob")
        .utf8("ssh-connection")
        .utf8(method)
        .bool(true)
        .utf8("ssh-ed25519")
        .string(&blob)
        .string(bound_to);
    let sig = user_key.sign("ssh-ed25519", &signed).unwrap();
    let mut m = bytes::BytesMut::new();
    wire::Writer::new(&mut m)
        .u8(50)
        .utf8("bob")
        .utf8("ssh-connection")
        .utf8(method)
        .bool(true)
        .utf8("ssh-ed25519")
        .string(&blob)
        .string(bound_to)
        .string(&sig);
    m.to_vec()
}

#[test]
fn host_bound_publickey_needs_this_sessions_host_key() {
    let user_key = key(KeyKind::Ed25519);
    let ed = key(KeyKind::Ed25519);
    let ed_blob = ed.public_key().to_blob();
    let ecdsa_blob;
    let mut p = {
        let ecdsa = key(KeyKind::EcdsaP256);
        ecdsa_blob = ecdsa.public_key().to_blob();
        pair(vec![ed, ecdsa], "ssh-ed25519", |_| {})
    };
    kex_done(&mut p);
    // Bound to another of the server's keys (not the one that signed this session).
    let wrong = hostbound_request(&p, &user_key, &ecdsa_blob);
    p.client.send_raw_packet(&wrong).unwrap();
    assert!(p
        .server_event(|e| matches!(e, Event::AuthRequest(_)))
        .is_none());
    p.client_event(|e| matches!(e, Event::AuthFailure { .. }))
        .expect("refused");
    let right = hostbound_request(&p, &user_key, &ed_blob);
    p.client.send_raw_packet(&right).unwrap();
    match p.server_event(|e| matches!(e, Event::AuthRequest(_))) {
        Some(Event::AuthRequest(r)) => assert!(matches!(
            r.method,
            AuthMethod::PublicKey { verified: true, .. }
        )),
        _ => panic!("the host-bound request bound to this session's key is verified"),
    }
}

#[test]
fn a_host_certificate_is_offered_first_and_verified_with_its_key() {
    let ca = key(KeyKind::EcdsaP256);
    let host = key(KeyKind::Ed25519);
    let mut b =
        CertificateBuilder::user(host.public_key().clone(), &["server.example"], 0, u64::MAX);
    b.cert_type = CertificateType::Host;
    b.extensions.clear();
    let cert = b.sign(&ca, "ecdsa-sha2-nistp256", b"n").unwrap();
    let host_public = host.public_key().clone();
    let (mut s, mut c) = seeded_configs(8).unwrap();
    s.host_keys = vec![host];
    s.host_certificates = vec![cert.clone()];
    c.host_key_algorithms = vec![
        "ssh-ed25519-cert-v01@openssh.com".into(),
        "ssh-ed25519".into(),
    ];
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
    p.drive();
    assert_eq!(
        p.client.negotiated().unwrap().host_key,
        "ssh-ed25519-cert-v01@openssh.com"
    );
    assert_eq!(host_key_seen(&mut p), host_public);
    login(&mut p);

    // A certificate for a key the server does not hold, or of the user type, is a
    // configuration error.
    let other = key(KeyKind::EcdsaP384);
    let stray = CertificateBuilder::user(other.public_key().clone(), &[], 0, 9)
        .sign(&ca, "ecdsa-sha2-nistp256", b"n")
        .unwrap();
    let builder = || ServerConfig::builder().host_key(key(KeyKind::Ed25519));
    assert!(builder().host_certificate(stray).build().is_err());
    let mut user_type = CertificateBuilder::user(host_public, &[], 0, 9);
    user_type.extensions.clear();
    let user_type = user_type.sign(&ca, "ecdsa-sha2-nistp256", b"n").unwrap();
    assert!(builder().host_certificate(user_type).build().is_err());
}

#[test]
fn without_announcement_proofs_are_refused_too() {
    let held: Vec<PrivateKey> = vec![key(KeyKind::Ed25519)];
    let blob = held[0].public_key().to_blob();
    let mut p = pair(held, "ssh-ed25519", |s| s.announce_host_keys = false);
    login(&mut p);
    assert!(!prove(&mut p, &[blob]).0);
}
