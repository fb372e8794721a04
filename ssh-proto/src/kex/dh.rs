//! Finite-field Diffie-Hellman over SSH_MSG_KEXDH_INIT/REPLY with a fixed group
//! (RFC 4253 §8, RFC 8268), and the key pair that group exchange uses too.

use bytes::{Bytes, BytesMut};
use zeroize::Zeroize;

use super::groups::ModpGroup;
use super::{ExchangeContext, KexMethod, KexStep, Signed};
use crate::crypto::hash::HashAlg;
use crate::crypto::modp::{in_open_range, pow_mod, Exponent};
use crate::error::{Error, Violation};
use crate::secret::SecretBytes;
use crate::wire::codes::{KEXDH_INIT, KEXDH_REPLY};
use crate::wire::{Reader, Writer};

/// A group as used in one exchange: the prime and generator as big-endian magnitudes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) p: Vec<u8>,
    pub(crate) g: Vec<u8>,
}

impl Group {
    pub(crate) fn from_modp(m: &ModpGroup) -> Self {
        Group {
            p: m.prime(),
            g: m.generator().to_vec(),
        }
    }
}

/// Our half of an exchange: a private exponent and its public value g^x mod p.
pub(crate) struct KeyPair {
    x: Exponent,
    /// g^x mod p.
    pub(crate) public: Vec<u8>,
}

impl KeyPair {
    /// A fresh key pair from the connection's RNG.
    pub(crate) fn generate(group: &Group, ctx: &ExchangeContext<'_>) -> Result<Self, Error> {
        let mut seed = [0u8; 64];
        ctx.rng.fill(&mut seed)?;
        let x = Exponent::from_random(&seed);
        seed.zeroize();
        let public = pow_mod(&group.g, &x, &group.p).ok_or(Error::Peer(Violation::KeyExchange(
            "Diffie-Hellman group is not usable",
        )))?;
        Ok(KeyPair { x, public })
    }

    /// The shared secret with the peer's public value, as an mpint for key derivation.
    /// The peer's value must lie strictly between 1 and p - 1.
    pub(crate) fn agree(&self, group: &Group, theirs: &[u8]) -> Result<SecretBytes, Error> {
        if !in_open_range(theirs, &group.p) {
            return Err(Error::Peer(Violation::KeyExchange(
                "Diffie-Hellman public value out of range",
            )));
        }
        let mut k = pow_mod(theirs, &self.x, &group.p).ok_or(Error::Peer(
            Violation::KeyExchange("Diffie-Hellman group is not usable"),
        ))?;
        let trivial = !in_open_range(&k, &group.p);
        let secret = super::mpint_secret(&k);
        k.zeroize();
        if trivial {
            return Err(Error::Peer(Violation::KeyExchange(
                "Diffie-Hellman shared secret is trivial",
            )));
        }
        Ok(secret)
    }
}

/// The two public values as the exchange hash takes them: mpint e, mpint f.
pub(crate) fn write_values(w: &mut Writer<'_>, e: &[u8], f: &[u8]) {
    w.mpint_unsigned(e).mpint_unsigned(f);
}

/// diffie-hellman-group{1,14,16,18}-sha{1,256,512}.
pub(crate) struct FixedGroupDh {
    group: Group,
    hash: HashAlg,
    ours: Option<KeyPair>,
}

impl FixedGroupDh {
    pub(crate) fn new(group: &ModpGroup, hash: HashAlg) -> Self {
        FixedGroupDh {
            group: Group::from_modp(group),
            hash,
            ours: None,
        }
    }

    fn signed(&self, e: &[u8], f: &[u8], k: SecretBytes) -> Signed {
        let mut values = BytesMut::new();
        write_values(&mut Writer::new(&mut values), e, f);
        Signed::new(self.hash, values, k)
    }
}

impl KexMethod for FixedGroupDh {
    fn client_start(&mut self, ctx: &ExchangeContext<'_>) -> Result<Vec<Bytes>, Error> {
        let pair = KeyPair::generate(&self.group, ctx)?;
        let mut m = BytesMut::new();
        Writer::new(&mut m)
            .u8(KEXDH_INIT)
            .mpint_unsigned(&pair.public);
        self.ours = Some(pair);
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
            (KEXDH_INIT, Some(_)) => {
                let e = r.mpint_positive()?;
                r.finish()?;
                let ours = KeyPair::generate(&self.group, ctx)?;
                let k = ours.agree(&self.group, e)?;
                let f = ours.public;
                self.signed(e, &f, k).server_reply(ctx, KEXDH_REPLY, |w| {
                    w.mpint_unsigned(&f);
                })
            }
            (KEXDH_REPLY, None) => {
                let k_s = r.string()?;
                let f = r.mpint_positive()?;
                let sig = r.string()?;
                r.finish()?;
                let ours = self
                    .ours
                    .take()
                    .ok_or(Error::Peer(Violation::KexReplyBeforeInit))?;
                let k = ours.agree(&self.group, f)?;
                self.signed(&ours.public, f, k).client_verify(ctx, k_s, sig)
            }
            _ => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "Diffie-Hellman key exchange",
            })),
        }
    }
}
