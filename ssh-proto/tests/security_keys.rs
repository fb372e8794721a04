//! FIDO security-key user keys (sk-ssh-ed25519@openssh.com,
//! sk-ecdsa-sha2-nistp256@openssh.com) against a software authenticator written here
//! from PROTOCOL.u2f: it signs SHA-256(application) || flags || counter ||
//! SHA-256(message). User presence is enforced; flags and counter reach the
//! application.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::digest::{digest, SHA256};
use bytes::{Bytes, BytesMut};
use ssh_proto::testing::{seeded_configs, Pair};
use ssh_proto::wire::{Reader, Writer};
use ssh_proto::*;

mod common;
use common::*;

/// A software authenticator around an ordinary key.
struct SoftToken {
    inner: PrivateKey,
    application: String,
    counter: u32,
}

impl SoftToken {
    fn new(kind: KeyKind, application: &str) -> Self {
        SoftToken {
            inner: PrivateKey::generate(kind, &SeededRng::new(77)).unwrap(),
            application: application.into(),
            counter: 41,
        }
    }

    fn algorithm(&self) -> &'static str {
        match self.inner.public_key() {
            PublicKey::Ed25519(_) => "sk-ssh-ed25519@openssh.com",
            _ => "sk-ecdsa-sha2-nistp256@openssh.com",
        }
    }

    fn public(&self) -> PublicKey {
        match self.inner.public_key() {
            PublicKey::Ed25519(k) => PublicKey::SkEd25519 {
                key: *k,
                application: self.application.clone(),
            },
            PublicKey::Ecdsa { point, .. } => PublicKey::SkEcdsa {
                point: point.clone(),
                application: self.application.clone(),
            },
            k => panic!("{k:?}"),
        }
    }

    /// The SSH signature blob over `message`, signing for `signed_app` with `flags`.
    fn sign(&mut self, message: &[u8], flags: u8, signed_app: &str) -> Bytes {
        self.counter += 1;
        let mut data = Vec::new();
        data.extend_from_slice(digest(&SHA256, signed_app.as_bytes()).as_ref());
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data.extend_from_slice(digest(&SHA256, message).as_ref());
        let base = self.inner.signature_algorithms()[0];
        let outer = self.inner.sign(base, &data).unwrap();
        let mut r = Reader::new(&outer);
        r.utf8().unwrap();
        let inner_sig = r.string().unwrap();
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .utf8(self.algorithm())
            .string(inner_sig)
            .u8(flags)
            .u32(self.counter);
        b.freeze()
    }
}

/// A signed publickey USERAUTH_REQUEST for `blob` under `alg`.
fn request(p: &Pair, tok: &mut SoftToken, alg: &str, blob: &[u8], flags: u8, app: &str) -> Vec<u8> {
    let sid = p.client.session_id().unwrap().to_vec();
    let mut signed = BytesMut::new();
    Writer::new(&mut signed)
        .string(&sid)
        .u8(50)
        .utf8("bob")
        .utf8("ssh-connection")
        .utf8("publickey")
        .bool(true)
        .utf8(alg)
        .string(blob);
    let sig = tok.sign(&signed, flags, app);
    let mut m = BytesMut::new();
    Writer::new(&mut m)
        .u8(50)
        .utf8("bob")
        .utf8("ssh-connection")
        .utf8("publickey")
        .bool(true)
        .utf8(alg)
        .string(blob)
        .string(&sig);
    m.to_vec()
}

fn pair_with_policy(tweak: impl FnOnce(&mut ServerConfig)) -> Pair {
    let (mut s, c) = seeded_configs(21).unwrap();
    tweak(&mut s);
    let mut p = Pair::new(Arc::new(s), Arc::new(c)).unwrap();
    p.server.set_peer(PeerContext {
        address: None,
        wall_clock: Some((p.now, UNIX_EPOCH + Duration::from_secs(1_900_000_000))),
    });
    kex_done(&mut p);
    p
}

/// The security-key data the application saw, or None when the core refused.
fn outcome(p: &mut Pair, msg: &[u8]) -> Option<SecurityKeySignature> {
    p.client.send_raw_packet(msg).unwrap();
    match p.server_event(|e| matches!(e, Event::AuthRequest(_))) {
        Some(Event::AuthRequest(r)) => match r.method {
            AuthMethod::PublicKey {
                verified: true,
                security_key,
                ..
            } => security_key,
            m => panic!("{m:?}"),
        },
        _ => None,
    }
}

#[test]
fn both_security_key_types_verify_and_report_flags_and_counter() {
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
        let mut tok = SoftToken::new(kind, "ssh:");
        let blob = tok.public().to_blob();
        assert_eq!(PublicKey::from_blob(&blob).unwrap(), tok.public());
        let alg = tok.algorithm();
        let mut p = pair_with_policy(|_| {});
        let m = request(&p, &mut tok, alg, &blob, 0x05, "ssh:");
        let sk = outcome(&mut p, &m).expect("verified");
        assert!(sk.user_present() && sk.user_verified(), "{kind:?}");
        assert_eq!(sk.counter, 42);
    }
}

#[test]
fn user_presence_is_required_unless_left_to_the_application() {
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
        let mut tok = SoftToken::new(kind, "ssh:");
        let (alg, blob) = (tok.algorithm(), tok.public().to_blob());
        let mut p = pair_with_policy(|_| {});
        let m = request(&p, &mut tok, alg, &blob, 0x00, "ssh:");
        assert_eq!(
            outcome(&mut p, &m),
            None,
            "{kind:?}: no touch must be refused"
        );
        let mut p = pair_with_policy(|s| s.user_keys.require_user_presence = false);
        let m = request(&p, &mut tok, alg, &blob, 0x00, "ssh:");
        let sk = outcome(&mut p, &m).expect("left to the application");
        assert!(!sk.user_present());
    }
}

#[test]
fn a_signature_for_another_application_or_algorithm_is_refused() {
    let mut tok = SoftToken::new(KeyKind::Ed25519, "ssh:");
    let (alg, blob) = (tok.algorithm(), tok.public().to_blob());
    let mut p = pair_with_policy(|_| {});
    let m = request(&p, &mut tok, alg, &blob, 0x01, "https://evil.example");
    assert_eq!(outcome(&mut p, &m), None);
    // A plain ed25519 signature by the same key does not pass as a security-key one.
    let mut p = pair_with_policy(|_| {});
    let m = request(&p, &mut tok, "ssh-ed25519", &blob, 0x01, "ssh:");
    assert_eq!(outcome(&mut p, &m), None);
    // The allow-list can exclude security keys altogether.
    let mut p = pair_with_policy(|s| {
        s.user_keys
            .signature_algorithms
            .retain(|a| !a.starts_with("sk-"))
    });
    let m = request(&p, &mut tok, alg, &blob, 0x01, "ssh:");
    assert_eq!(outcome(&mut p, &m), None);
}

#[test]
fn a_certificate_with_no_touch_required_waives_presence() {
    let ca = PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(3)).unwrap();
    let mut tok = SoftToken::new(KeyKind::Ed25519, "ssh:");
    let mut b = CertificateBuilder::user(tok.public(), &["bob"], 0, u64::MAX);
    let touch = b.sign(&ca, "ssh-ed25519", b"n").unwrap();
    b.extensions.push("no-touch-required".into());
    let no_touch = b.sign(&ca, "ssh-ed25519", b"n").unwrap();
    let alg = "sk-ssh-ed25519-cert-v01@openssh.com";
    for (cert, flags, accepted) in [(&touch, 0, false), (&no_touch, 0, true), (&touch, 1, true)] {
        let mut p =
            pair_with_policy(|s| s.certificates.trusted_user_cas = vec![ca.public_key().clone()]);
        let m = request(&p, &mut tok, alg, &cert.to_blob(), flags, "ssh:");
        assert_eq!(outcome(&mut p, &m).is_some(), accepted, "flags {flags}");
    }
}

#[test]
fn malformed_security_key_blobs_are_errors() {
    let tok = SoftToken::new(KeyKind::EcdsaP256, "ssh:");
    let blob = tok.public().to_blob();
    for n in 0..blob.len() {
        assert!(
            PublicKey::from_blob(&blob[..n]).is_err(),
            "truncated at {n}"
        );
    }
    let mut b = BytesMut::new();
    Writer::new(&mut b)
        .utf8("sk-ecdsa-sha2-nistp256@openssh.com")
        .utf8("nistp384")
        .string(&[4u8; 65])
        .utf8("ssh:");
    assert!(PublicKey::from_blob(&b).is_err());
}
