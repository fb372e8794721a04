//! Elliptic-curve Diffie-Hellman over SSH_MSG_KEX_ECDH_INIT/REPLY: curve25519-sha256
//! (RFC 8731) and ecdh-sha2-nistp256/384/521 (RFC 5656). The methods differ only in the
//! curve and the hash; the messages and the exchange hash are the same.

use aws_lc_rs::agreement::{self, UnparsedPublicKey, ECDH_P256, ECDH_P384, ECDH_P521, X25519};
use bytes::{Bytes, BytesMut};

use super::{ExchangeContext, KexMethod, KexStep, Signed};
use crate::crypto::hash::HashAlg;
use crate::error::Error;
use crate::secret::SecretBytes;
use crate::wire::codes::{KEX_ECDH_INIT, KEX_ECDH_REPLY};
use crate::wire::{Reader, Writer};

/// A curve for ephemeral-key agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    X25519,
    P256,
    P384,
    P521,
}

impl Curve {
    fn alg(self) -> &'static agreement::Algorithm {
        match self {
            Curve::X25519 => &X25519,
            Curve::P256 => &ECDH_P256,
            Curve::P384 => &ECDH_P384,
            Curve::P521 => &ECDH_P521,
        }
    }

    /// Bytes in a private scalar, and in each coordinate of a point.
    fn scalar_len(self) -> usize {
        match self {
            Curve::X25519 | Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Bytes in a public value on the wire (an uncompressed point for the NIST curves).
    fn public_len(self) -> usize {
        match self {
            Curve::X25519 => 32,
            c => 1 + 2 * c.scalar_len(),
        }
    }
}

pub(crate) struct Ecdh {
    curve: Curve,
    hash: HashAlg,
    ours: Option<(agreement::PrivateKey, Vec<u8>)>,
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
    fn ephemeral(
        &self,
        ctx: &ExchangeContext<'_>,
    ) -> Result<(agreement::PrivateKey, Vec<u8>), Error> {
        let mut seed = zeroize::Zeroizing::new(vec![0u8; self.curve.scalar_len()]);
        // A random scalar can exceed the group order (rarely; P-521's top byte holds one
        // bit): draw again.
        for _ in 0..16 {
            ctx.rng.fill(&mut seed[..])?;
            if self.curve == Curve::P521 {
                seed[0] &= 0x01;
            }
            if let Ok(k) = agreement::PrivateKey::from_private_key(self.curve.alg(), &seed[..]) {
                let p = k
                    .compute_public_key()
                    .map_err(|_| Error::Crypto("ECDH public key"))?;
                let p = p.as_ref().to_vec();
                return Ok((k, p));
            }
        }
        Err(Error::Crypto("no valid ECDH scalar from the RNG"))
    }

    fn shared(&self, ours: &agreement::PrivateKey, theirs: &[u8]) -> Result<SecretBytes, Error> {
        let c = self.curve;
        if theirs.len() != c.public_len() || (c != Curve::X25519 && theirs[0] != 0x04) {
            return Err(Error::KeyExchange("ECDH public value has the wrong form"));
        }
        // aws-lc checks that a NIST point lies on the curve and is not the identity.
        let k = agreement::agree(
            ours,
            UnparsedPublicKey::new(c.alg(), theirs),
            Error::KeyExchange("ECDH public value is not a valid point"),
            |k| Ok(SecretBytes::new(k.to_vec())),
        )?;
        if k.expose().iter().all(|&b| b == 0) {
            return Err(Error::KeyExchange("ECDH shared secret is zero"));
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
                    .ok_or(Error::Protocol("ECDH reply before init"))?;
                let k = self.shared(ours, q_s)?;
                Signed::new(self.hash, Self::values(q_c, q_s), k).client_verify(ctx, k_s, sig)
            }
            _ => Err(Error::UnexpectedMessage {
                msg: code,
                state: "ECDH key exchange",
            }),
        }
    }
}
