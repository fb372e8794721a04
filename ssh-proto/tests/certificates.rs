//! OpenSSH user certificates through the in-memory pair: the core checks them before
//! the application sees them, against the wall clock and peer address it was given.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::*;

mod common;
use common::*;

const T0: u64 = 1_900_000_000;

struct World {
    ca: PrivateKey,
    user: PrivateKey,
}

fn world() -> World {
    World {
        ca: PrivateKey::generate(KeyKind::EcdsaP256, &SeededRng::new(1)).unwrap(),
        user: PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(2)).unwrap(),
    }
}

fn pair(w: &World, tweak: impl FnOnce(&mut CertificatePolicy), peer: &str) -> Pair {
    let (mut s, c) = seeded_configs(9).unwrap();
    s.certificates.trusted_user_cas = vec![w.ca.public_key().clone()];
    tweak(&mut s.certificates);
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
    p.server.set_peer(PeerContext {
        address: Some(peer.parse().unwrap()),
        wall_clock: Some((p.now, UNIX_EPOCH + Duration::from_secs(T0))),
    });
    p
}

/// Log in with `cert`; the certificate the application saw, if any.
fn attempt(p: &mut Pair, w: &World, cert: &Certificate, user: &str) -> Option<CertificateLogin> {
    kex_done(p);
    p.client
        .auth_certificate(user, &w.user, cert, "ssh-ed25519")
        .unwrap();
    match p.server_event(|e| matches!(e, Event::AuthRequest(_))) {
        Some(Event::AuthRequest(req)) => match req.method {
            AuthMethod::PublicKey {
                verified: true,
                certificate: Some(c),
                key,
                algorithm,
                ..
            } => {
                assert_eq!(&key, w.user.public_key());
                assert_eq!(algorithm, "ssh-ed25519-cert-v01@openssh.com");
                p.server.answer_auth(req.id, AuthDecision::Accept).unwrap();
                p.client_event(|e| matches!(e, Event::Authenticated { .. }))
                    .expect("authenticated");
                Some(*c)
            }
            m => panic!("{m:?}"),
        },
        _ => None,
    }
}

fn cert(w: &World, f: impl FnOnce(&mut CertificateBuilder)) -> Certificate {
    let mut b =
        CertificateBuilder::user(w.user.public_key().clone(), &["alice"], T0 - 10, T0 + 3600);
    b.serial = 5;
    b.key_id = "alice@example".into();
    f(&mut b);
    b.sign(&w.ca, "ecdsa-sha2-nistp256", b"nonce").unwrap()
}

#[test]
fn a_valid_certificate_reaches_the_application_with_its_details() {
    let w = world();
    let c = cert(&w, |_| {});
    let mut p = pair(&w, |_| {}, "192.0.2.1");
    let seen = attempt(&mut p, &w, &c, "alice").expect("accepted");
    assert!(seen.ca_trusted);
    assert_eq!(seen.certificate.key_id, "alice@example");
    assert_eq!(seen.certificate.serial, 5);
    assert_eq!(seen.certificate.principals, ["alice"]);
    assert_eq!(&seen.certificate.ca_key, w.ca.public_key());
    assert!(seen.certificate.extensions.permit_pty);
}

#[test]
fn every_refusal_happens_before_the_application() {
    let w = world();
    let refused =
        |c: &Certificate, user: &str, tweak: &dyn Fn(&mut CertificatePolicy), peer: &str| {
            let mut p = pair(&w, tweak, peer);
            attempt(&mut p, &w, c, user).is_none()
        };
    let none = |_: &mut CertificatePolicy| {};
    assert!(
        refused(&cert(&w, |_| {}), "bob", &none, "192.0.2.1"),
        "principal"
    );
    assert!(
        refused(
            &cert(&w, |b| b.valid_before = T0 - 1),
            "alice",
            &none,
            "192.0.2.1"
        ),
        "expired"
    );
    assert!(
        refused(
            &cert(&w, |b| b.valid_after = T0 + 100),
            "alice",
            &none,
            "192.0.2.1"
        ),
        "not yet"
    );
    let src = cert(&w, |b| {
        *b = b
            .clone()
            .critical_string("source-address", "198.51.100.0/24");
    });
    assert!(refused(&src, "alice", &none, "192.0.2.1"), "source-address");
    assert!(
        !refused(&src, "alice", &none, "198.51.100.7"),
        "source-address match"
    );
    let odd = cert(&w, |b| {
        *b = b.clone().critical_string("x-unknown@example.com", "v")
    });
    assert!(
        refused(&odd, "alice", &none, "192.0.2.1"),
        "unknown critical option"
    );
    let c = cert(&w, |_| {});
    assert!(
        refused(
            &c,
            "alice",
            &|p| p.revoked.revoke_serials(1, 9),
            "192.0.2.1"
        ),
        "serial"
    );
    assert!(
        refused(
            &c,
            "alice",
            &|p| p.revoked.revoke_key_id("alice@example"),
            "192.0.2.1"
        ),
        "id"
    );
    let ca_pub = w.ca.public_key().clone();
    assert!(
        refused(
            &c,
            "alice",
            &move |p| p.revoked.revoke_key(&ca_pub),
            "192.0.2.1"
        ),
        "CA revoked"
    );
    assert!(
        refused(&c, "alice", &|p| p.trusted_user_cas.clear(), "192.0.2.1"),
        "untrusted"
    );
    // Host certificates do not log users in.
    let host = cert(&w, |b| b.cert_type = CertificateType::Host);
    assert!(
        refused(&host, "alice", &none, "192.0.2.1"),
        "host certificate"
    );
}

#[test]
fn untrusted_cas_can_be_left_to_the_application() {
    let w = world();
    let c = cert(&w, |_| {});
    let mut p = pair(
        &w,
        |p| {
            p.trusted_user_cas.clear();
            p.untrusted_cas_to_application = true;
        },
        "192.0.2.1",
    );
    // Principals are then the application's to check: "bob" is not listed yet reaches it.
    let seen = attempt(&mut p, &w, &c, "bob").expect("handed to the application");
    assert!(!seen.ca_trusted);
}

#[test]
fn without_a_wall_clock_certificates_are_refused() {
    let w = world();
    let (mut s, c) = seeded_configs(9).unwrap();
    s.certificates.trusted_user_cas = vec![w.ca.public_key().clone()];
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
    assert!(attempt(&mut p, &w, &cert(&w, |_| {}), "alice").is_none());
}

#[test]
fn the_wall_clock_follows_the_fake_clock() {
    let w = world();
    let c = cert(&w, |b| b.valid_before = T0 + 30);
    let mut p = pair(&w, |_| {}, "192.0.2.1");
    // A minute of fake time later the certificate has expired.
    p.now += Duration::from_secs(60);
    assert!(attempt(&mut p, &w, &c, "alice").is_none());
}
