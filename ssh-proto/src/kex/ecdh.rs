//! Elliptic-curve Diffie-Hellman over SSH_MSG_KEX_ECDH_INIT/REPLY: curve25519-sha256
//! (RFC 8731) and ecdh-sha2-nistp256/384/521 (RFC 5656). The methods differ only in the
//! curve and the hash; the messages and the exchange hash are the same.

use bytes::{Bytes, BytesMut};

use super::{ExchangeContext, KexMethod, KexStep, Signed};
pub(crate) use crate::crypto::agreement::Curve;
use crate::crypto::agreement::EphemeralKey;
use crate::crypto::hash::HashAlg;
use crate::error::{Error, Violation};
use crate::secret::SecretBytes;
use crate::wire::codes::{KEX_ECDH_INIT, KEX_ECDH_REPLY};
use crate::wire::{Reader, Writer};

pub(crate) struct Ecdh {
    curve: Curve,
    hash: HashAlg,
    ours: Option<(EphemeralKey, Vec<u8>)>,
}

impl Ecdh {
    pub(crate) fn new(curve: Curve, hash: HashAlg) -> Self {
        Ecdh {
            curve,
            hash,
            ours: None,
        }
    }

    /// An ephemeral key from the connection's RNG, so seeded runs are reproducible.
    fn ephemeral(&self, ctx: &ExchangeContext<'_>) -> Result<(EphemeralKey, Vec<u8>), Error> {
        let mut seed = zeroize::Zeroizing::new(vec![0u8; self.curve.scalar_len()]);
        // A random scalar can exceed the group order (rarely; P-521's top byte holds one
        // bit): draw again.
        for _ in 0..16 {
            ctx.rng.fill(&mut seed[..])?;
            if self.curve == Curve::P521 {
                seed[0] &= 0x01;
            }
            if let Some(k) = EphemeralKey::from_scalar(self.curve, &seed[..]) {
                return Ok(k);
            }
        }
        Err(Error::Crypto("no valid ECDH scalar from the RNG"))
    }

    fn shared(&self, ours: &EphemeralKey, theirs: &[u8]) -> Result<SecretBytes, Error> {
        let c = self.curve;
        if theirs.len() != c.public_len() || (c != Curve::X25519 && theirs[0] != 0x04) {
            return Err(Error::Peer(Violation::KeyExchange(
                "ECDH public value has the wrong form",
            )));
        }
        let k = ours
            .agree(theirs)
            .ok_or(Error::Peer(Violation::KeyExchange(
                "ECDH public value is not a valid point",
            )))?;
        if k.expose().iter().all(|&b| b == 0) {
            return Err(Error::Peer(Violation::KeyExchange(
                "ECDH shared secret is zero",
            )));
        }
        Ok(super::mpint_secret(k.expose()))
    }

    fn values(q_c: &[u8], q_s: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        Writer::new(&mut b).string(q_c).string(q_s);
        b
    }
}

impl KexMethod for Ecdh {
    fn client_start(&mut self, ctx: &ExchangeContext<'_>) -> Result<Vec<Bytes>, Error> {
        let (k, p) = self.ephemeral(ctx)?;
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
        let mut r = Reader::new(body);
        match (code, ctx.host_key) {
            (KEX_ECDH_INIT, Some(_)) => {
                let q_c = r.string()?;
                r.finish()?;
                let (ours, q_s) = self.ephemeral(ctx)?;
                let k = self.shared(&ours, q_c)?;
                let signed = Signed::new(self.hash, Self::values(q_c, &q_s), k);
                signed.server_reply(ctx, KEX_ECDH_REPLY, |w| {
                    w.string(&q_s);
                })
            }
            (KEX_ECDH_REPLY, None) => {
                let k_s = r.string()?;
                let q_s = r.string()?;
                let sig = r.string()?;
                r.finish()?;
                let (ours, q_c) = self
                    .ours
                    .as_ref()
                    .ok_or(Error::Peer(Violation::KexReplyBeforeInit))?;
                let k = self.shared(ours, q_s)?;
                Signed::new(self.hash, Self::values(q_c, q_s), k).client_verify(ctx, k_s, sig)
            }
            _ => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "ECDH key exchange",
            })),
        }
    }
}
