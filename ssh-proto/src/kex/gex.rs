//! Diffie-Hellman group exchange (RFC 4419): the client names the group size it wants,
//! the server picks one of its groups, then an ordinary DH exchange runs in that group.

use bytes::{Bytes, BytesMut};

use super::dh::{write_values, Group, KeyPair};
use super::groups;
use super::{ExchangeContext, KexMethod, KexStep, Signed};
use crate::crypto::hash::HashAlg;
use crate::crypto::modp::{in_open_range, MAX_MODULUS_BYTES};
use crate::error::{Error, Violation};
use crate::secret::SecretBytes;
use crate::wire::codes::{
    KEX_DH_GEX_GROUP, KEX_DH_GEX_INIT, KEX_DH_GEX_REPLY, KEX_DH_GEX_REQUEST, KEX_DH_GEX_REQUEST_OLD,
};
use crate::wire::{Reader, Writer};

/// What our client asks for: at least 2048 bits, 3072 preferred, at most 8192.
const CLIENT_REQUEST: SizeRequest = SizeRequest {
    min: Some(2048),
    n: 3072,
    max: Some(8192),
};

/// The sizes a client asked for. The old request form carries only `n`, and only `n` is
/// then hashed.
#[derive(Debug, Clone, Copy)]
struct SizeRequest {
    min: Option<u32>,
    n: u32,
    max: Option<u32>,
}

impl SizeRequest {
    fn write(&self, w: &mut Writer<'_>) {
        match (self.min, self.max) {
            (Some(min), Some(max)) => w.u32(min).u32(self.n).u32(max),
            _ => w.u32(self.n),
        };
    }

    /// The bounds a group must meet: the old form leaves them to the server, which
    /// serves the group nearest `n`.
    fn bounds(&self) -> (u32, u32) {
        (
            self.min.unwrap_or(self.n.min(1024)),
            self.max.unwrap_or(self.n.max(8192)),
        )
    }
}

enum State {
    /// Server: waiting for the client's size request.
    AwaitRequest,
    /// Client: request sent, waiting for the group.
    AwaitGroup,
    /// Server: group sent, waiting for e.
    AwaitInit,
    /// Client: e sent, waiting for the signed reply.
    AwaitReply(KeyPair),
    Done,
}

/// diffie-hellman-group-exchange-sha256 and -sha1.
pub(crate) struct GroupExchange {
    hash: HashAlg,
    state: State,
    request: SizeRequest,
    group: Option<Group>,
}

impl GroupExchange {
    pub(crate) fn new(hash: HashAlg) -> Self {
        GroupExchange {
            hash,
            state: State::AwaitRequest,
            request: CLIENT_REQUEST,
            group: None,
        }
    }

    fn signed(&self, group: &Group, e: &[u8], f: &[u8], k: SecretBytes) -> Signed {
        let mut values = BytesMut::new();
        let mut w = Writer::new(&mut values);
        self.request.write(&mut w);
        w.mpint_unsigned(&group.p).mpint_unsigned(&group.g);
        write_values(&mut w, e, f);
        Signed::new(self.hash, values, k)
    }

    /// Server: answer a size request with one of our groups.
    fn on_request(&mut self, request: SizeRequest) -> Result<KexStep, Error> {
        let (min, max) = request.bounds();
        if min > max || request.n < min || request.n > max {
            return Err(Error::Peer(Violation::KeyExchange(
                "group exchange request with bad sizes",
            )));
        }
        let chosen = groups::choose(min, request.n, max).ok_or(Error::Peer(
            Violation::KeyExchange("no group of the requested size"),
        ))?;
        let group = Group::from_modp(chosen);
        let mut m = BytesMut::new();
        Writer::new(&mut m)
            .u8(KEX_DH_GEX_GROUP)
            .mpint_unsigned(&group.p)
            .mpint_unsigned(&group.g);
        self.request = request;
        self.group = Some(group);
        self.state = State::AwaitInit;
        Ok(KexStep::Continue(vec![m.freeze()]))
    }

    /// Client: check the server's group and send our public value.
    fn on_group(
        &mut self,
        p: &[u8],
        g: &[u8],
        ctx: &ExchangeContext<'_>,
    ) -> Result<KexStep, Error> {
        let (min, max) = self.request.bounds();
        let bits = bit_len(p);
        if p.len() > MAX_MODULUS_BYTES || bits < min as usize || bits > max as usize {
            return Err(Error::Peer(Violation::KeyExchange(
                "group exchange prime of the wrong size",
            )));
        }
        if p.last().is_none_or(|b| b & 1 == 0) || !in_open_range(g, p) {
            return Err(Error::Peer(Violation::KeyExchange(
                "group exchange group is not usable",
            )));
        }
        let group = Group {
            p: p.to_vec(),
            g: g.to_vec(),
        };
        let pair = KeyPair::generate(&group, ctx)?;
        let mut m = BytesMut::new();
        Writer::new(&mut m)
            .u8(KEX_DH_GEX_INIT)
            .mpint_unsigned(&pair.public);
        self.group = Some(group);
        self.state = State::AwaitReply(pair);
        Ok(KexStep::Continue(vec![m.freeze()]))
    }
}

fn bit_len(x: &[u8]) -> usize {
    match x.iter().position(|&b| b != 0) {
        Some(i) => (x.len() - i) * 8 - x[i].leading_zeros() as usize,
        None => 0,
    }
}

impl KexMethod for GroupExchange {
    fn client_start(&mut self, _ctx: &ExchangeContext<'_>) -> Result<Vec<Bytes>, Error> {
        let mut m = BytesMut::new();
        let mut w = Writer::new(&mut m);
        w.u8(KEX_DH_GEX_REQUEST);
        self.request.write(&mut w);
        self.state = State::AwaitGroup;
        Ok(vec![m.freeze()])
    }

    fn handle(
        &mut self,
        code: u8,
        body: &Bytes,
        ctx: &ExchangeContext<'_>,
    ) -> Result<KexStep, Error> {
        let mut r = Reader::new(body);
        let server = ctx.host_key.is_some();
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, code) {
            (State::AwaitRequest, KEX_DH_GEX_REQUEST) if server => {
                let (min, n, max) = (r.u32()?, r.u32()?, r.u32()?);
                r.finish()?;
                self.on_request(SizeRequest {
                    min: Some(min),
                    n,
                    max: Some(max),
                })
            }
            (State::AwaitRequest, KEX_DH_GEX_REQUEST_OLD) if server => {
                let n = r.u32()?;
                r.finish()?;
                self.on_request(SizeRequest {
                    min: None,
                    n,
                    max: None,
                })
            }
            (State::AwaitGroup, KEX_DH_GEX_GROUP) if !server => {
                let p = r.mpint_positive()?;
                let g = r.mpint_positive()?;
                r.finish()?;
                self.on_group(p, g, ctx)
            }
            (State::AwaitInit, KEX_DH_GEX_INIT) if server => {
                let e = r.mpint_positive()?;
                r.finish()?;
                let group = self.group.take().ok_or(Error::Closed)?;
                let ours = KeyPair::generate(&group, ctx)?;
                let k = ours.agree(&group, e)?;
                let f = ours.public;
                self.signed(&group, e, &f, k)
                    .server_reply(ctx, KEX_DH_GEX_REPLY, |w| {
                        w.mpint_unsigned(&f);
                    })
            }
            (State::AwaitReply(ours), KEX_DH_GEX_REPLY) if !server => {
                let k_s = r.string()?;
                let f = r.mpint_positive()?;
                let sig = r.string()?;
                r.finish()?;
                let group = self.group.take().ok_or(Error::Closed)?;
                let k = ours.agree(&group, f)?;
                self.signed(&group, &ours.public, f, k)
                    .client_verify(ctx, k_s, sig)
            }
            _ => Err(Error::Peer(Violation::UnexpectedMessage {
                msg: code,
                state: "group exchange",
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        assert_eq!(bit_len(&[0xff; 256]), 2048);
    }

    #[test]
    fn sizes_that_cannot_be_met_are_refused() {
        let mut gex = GroupExchange::new(HashAlg::Sha256);
        let bad = |min, n, max| SizeRequest {
            min: Some(min),
            n,
            max: Some(max),
        };
        assert!(gex.on_request(bad(4096, 3072, 2048)).is_err());
        assert!(gex.on_request(bad(1024, 1024, 1536)).is_err());
        assert!(gex.on_request(bad(2048, 9000, 8192)).is_err());
        assert!(gex.on_request(bad(2048, 0, 8192)).is_err());
        assert!(gex.on_request(bad(2048, 3072, 8192)).is_ok());
    }
}
