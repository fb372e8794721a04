//! curve25519-sha256 (RFC 8731): X25519 ephemeral keys over SSH_MSG_KEX_ECDH_INIT/REPLY.

use aws_lc_rs::agreement::{self, UnparsedPublicKey, X25519};
use bytes::{Bytes, BytesMut};

use super::{ExchangeContext, KexMethod, KexOutcome, KexStep};
use crate::crypto::hash::HashAlg;
use crate::error::Error;
use crate::keys::PublicKey;
use crate::secret::SecretBytes;
use crate::wire::codes::{KEX_ECDH_INIT, KEX_ECDH_REPLY};
use crate::wire::{Reader, Writer};

pub(crate) struct Curve25519 {
    hash: HashAlg,
    ours: Option<(agreement::PrivateKey, Vec<u8>)>,
    done: bool,
}

impl Curve25519 {
    pub(crate) fn new(hash: HashAlg) -> Self {
        Curve25519 {
            hash,
            ours: None,
            done: false,
        }
    }

    fn ephemeral(ctx: &ExchangeContext<'_>) -> Result<(agreement::PrivateKey, Vec<u8>), Error> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        ctx.rng.fill(&mut seed[..])?;
        let k = agreement::PrivateKey::from_private_key(&X25519, &seed[..])
            .map_err(|_| Error::Crypto("X25519 key rejected"))?;
        let p = k
            .compute_public_key()
            .map_err(|_| Error::Crypto("X25519 public key"))?;
        let p = p.as_ref().to_vec();
        Ok((k, p))
    }

    fn shared(ours: &agreement::PrivateKey, theirs: &[u8]) -> Result<SecretBytes, Error> {
        if theirs.len() != 32 {
            return Err(Error::KeyExchange("X25519 public value is not 32 bytes"));
        }
        let k = agreement::agree(
            ours,
            UnparsedPublicKey::new(&X25519, theirs),
            Error::KeyExchange("X25519 agreement failed"),
            |k| Ok(k.to_vec()),
        )?;
        let k = SecretBytes::new(k);
        if k.expose().iter().all(|&b| b == 0) {
            return Err(Error::KeyExchange("X25519 shared secret is zero"));
        }
        let mut m = BytesMut::with_capacity(37);
        Writer::new(&mut m).mpint_unsigned(k.expose());
        let enc = SecretBytes::new(m.to_vec());
        zeroize::Zeroize::zeroize(&mut m[..]);
        Ok(enc)
    }

    fn exchange_hash(
        &self,
        ctx: &ExchangeContext<'_>,
        k_s: &[u8],
        q_c: &[u8],
        q_s: &[u8],
        k: &SecretBytes,
    ) -> Vec<u8> {
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .string(ctx.v_c)
            .string(ctx.v_s)
            .string(ctx.i_c)
            .string(ctx.i_s)
            .string(k_s)
            .string(q_c)
            .string(q_s);
        let mut h = self.hash.start();
        h.update(&b);
        h.update(k.expose());
        h.finish()
    }
}

impl KexMethod for Curve25519 {
    fn client_start(&mut self, ctx: &ExchangeContext<'_>) -> Result<Vec<Bytes>, Error> {
        let (k, p) = Self::ephemeral(ctx)?;
        let mut m = BytesMut::new();
        Writer::new(&mut m).u8(KEX_ECDH_INIT).string(&p);
        self.ours = Some((k, p));
        Ok(vec![m.freeze()])
    }

    fn handle(
        &mut self,
        code: u8,
        body: &Bytes,
        ctx: &ExchangeContext<'_>,
    ) -> Result<KexStep, Error> {
        if self.done {
            return Err(Error::UnexpectedMessage {
                msg: code,
                state: "finished key exchange",
            });
        }
        let mut r = Reader::new(body);
        match (code, ctx.host_key) {
            (KEX_ECDH_INIT, Some(host_key)) => {
                let q_c = r.string()?;
                r.finish()?;
                let (ours, q_s) = Self::ephemeral(ctx)?;
                let k = Self::shared(&ours, q_c)?;
                let k_s = host_key.public_key().to_blob();
                let h = self.exchange_hash(ctx, &k_s, q_c, &q_s, &k);
                let sig = host_key.sign(ctx.host_key_alg, &h)?;
                let mut m = BytesMut::new();
                Writer::new(&mut m)
                    .u8(KEX_ECDH_REPLY)
                    .string(&k_s)
                    .string(&q_s)
                    .string(&sig);
                self.done = true;
                Ok(KexStep::Done(
                    Some(m.freeze()),
                    KexOutcome {
                        k,
                        h,
                        hash: self.hash,
                        server_host_key: None,
                    },
                ))
            }
            (KEX_ECDH_REPLY, None) => {
                let k_s = r.string()?;
                let q_s = r.string()?;
                let sig = r.string()?;
                r.finish()?;
                let (ours, q_c) = self
                    .ours
                    .as_ref()
                    .ok_or(Error::Protocol("ECDH reply before init"))?;
                let k = Self::shared(ours, q_s)?;
                let h = self.exchange_hash(ctx, k_s, q_c, q_s, &k);
                let server_key = PublicKey::from_blob(k_s)?;
                if !server_key.verify(ctx.host_key_alg, &h, sig) {
                    return Err(Error::KeyExchange("host key signature does not verify"));
                }
                self.done = true;
                Ok(KexStep::Done(
                    None,
                    KexOutcome {
                        k,
                        h,
                        hash: self.hash,
                        server_host_key: Some(server_key),
                    },
                ))
            }
            _ => Err(Error::UnexpectedMessage {
                msg: code,
                state: "curve25519 key exchange",
            }),
        }
    }
}
