//! Key exchange methods. Each method family lives in its own file behind [`KexMethod`];
//! the transport drives them without knowing their message layouts.

mod dh;
mod ecdh;
mod gex;
mod groups;

use bytes::{Bytes, BytesMut};

use crate::crypto::hash::HashAlg;
use crate::crypto::rng::Rng;
use crate::error::{Error, Violation};
use crate::keys::{PrivateKey, PublicKey};
use crate::secret::SecretBytes;
use crate::wire::Writer;

use ecdh::Curve;

/// A key exchange method we can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KexAlg {
    /// curve25519-sha256 (RFC 8731)
    Curve25519Sha256,
    /// curve25519-sha256@libssh.org (the same method under its older name)
    Curve25519Sha256Libssh,
    /// ecdh-sha2-nistp256 (RFC 5656)
    EcdhNistp256,
    /// ecdh-sha2-nistp384 (RFC 5656)
    EcdhNistp384,
    /// ecdh-sha2-nistp521 (RFC 5656)
    EcdhNistp521,
    /// diffie-hellman-group-exchange-sha256 (RFC 4419): the server picks a group of the
    /// size the client asks for, 2048 to 8192 bits
    DhGroupExchangeSha256,
    /// diffie-hellman-group16-sha512 (RFC 8268): 4096-bit MODP group
    DhGroup16Sha512,
    /// diffie-hellman-group18-sha512 (RFC 8268): 8192-bit MODP group
    DhGroup18Sha512,
    /// diffie-hellman-group14-sha256 (RFC 8268): 2048-bit MODP group
    DhGroup14Sha256,
    /// diffie-hellman-group14-sha1 (RFC 4253); legacy, off by default
    DhGroup14Sha1,
    /// diffie-hellman-group-exchange-sha1 (RFC 4419); legacy, off by default
    DhGroupExchangeSha1,
    /// diffie-hellman-group1-sha1 (RFC 4253, 1024 bits); legacy, off by default
    DhGroup1Sha1,
}

impl KexAlg {
    /// Every supported method, most preferred first; the SHA-1 methods come last.
    pub const ALL: &'static [KexAlg] = &[
        KexAlg::Curve25519Sha256,
        KexAlg::Curve25519Sha256Libssh,
        KexAlg::EcdhNistp256,
        KexAlg::EcdhNistp384,
        KexAlg::EcdhNistp521,
        KexAlg::DhGroupExchangeSha256,
        KexAlg::DhGroup16Sha512,
        KexAlg::DhGroup18Sha512,
        KexAlg::DhGroup14Sha256,
        KexAlg::DhGroup14Sha1,
        KexAlg::DhGroupExchangeSha1,
        KexAlg::DhGroup1Sha1,
    ];

    /// The methods offered unless configured otherwise: [`KexAlg::ALL`] without the
    /// SHA-1 methods at its end.
    pub const DEFAULT: &'static [KexAlg] = Self::ALL.split_at(Self::ALL.len() - 3).0;

    /// The SSH name.
    pub fn name(self) -> &'static str {
        match self {
            KexAlg::Curve25519Sha256 => "curve25519-sha256",
            KexAlg::Curve25519Sha256Libssh => "curve25519-sha256@libssh.org",
            KexAlg::EcdhNistp256 => "ecdh-sha2-nistp256",
            KexAlg::EcdhNistp384 => "ecdh-sha2-nistp384",
            KexAlg::EcdhNistp521 => "ecdh-sha2-nistp521",
            KexAlg::DhGroupExchangeSha256 => "diffie-hellman-group-exchange-sha256",
            KexAlg::DhGroup16Sha512 => "diffie-hellman-group16-sha512",
            KexAlg::DhGroup18Sha512 => "diffie-hellman-group18-sha512",
            KexAlg::DhGroup14Sha256 => "diffie-hellman-group14-sha256",
            KexAlg::DhGroup14Sha1 => "diffie-hellman-group14-sha1",
            KexAlg::DhGroupExchangeSha1 => "diffie-hellman-group-exchange-sha1",
            KexAlg::DhGroup1Sha1 => "diffie-hellman-group1-sha1",
        }
    }

    /// Look up by SSH name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The exchange hash function.
    pub fn hash(self) -> HashAlg {
        match self {
            KexAlg::Curve25519Sha256
            | KexAlg::Curve25519Sha256Libssh
            | KexAlg::EcdhNistp256
            | KexAlg::DhGroupExchangeSha256
            | KexAlg::DhGroup14Sha256 => HashAlg::Sha256,
            KexAlg::EcdhNistp384 => HashAlg::Sha384,
            KexAlg::EcdhNistp521 | KexAlg::DhGroup16Sha512 | KexAlg::DhGroup18Sha512 => {
                HashAlg::Sha512
            }
            KexAlg::DhGroup14Sha1 | KexAlg::DhGroupExchangeSha1 | KexAlg::DhGroup1Sha1 => {
                HashAlg::Sha1
            }
        }
    }

    pub(crate) fn start(self) -> Box<dyn KexMethod> {
        let h = self.hash();
        match self {
            KexAlg::Curve25519Sha256 | KexAlg::Curve25519Sha256Libssh => {
                Box::new(ecdh::Ecdh::new(Curve::X25519, h))
            }
            KexAlg::EcdhNistp256 => Box::new(ecdh::Ecdh::new(Curve::P256, h)),
            KexAlg::EcdhNistp384 => Box::new(ecdh::Ecdh::new(Curve::P384, h)),
            KexAlg::EcdhNistp521 => Box::new(ecdh::Ecdh::new(Curve::P521, h)),
            KexAlg::DhGroup1Sha1 => Box::new(dh::FixedGroupDh::new(&groups::OAKLEY_GROUP_2, h)),
            KexAlg::DhGroup14Sha1 | KexAlg::DhGroup14Sha256 => {
                Box::new(dh::FixedGroupDh::new(&groups::MODP_2048, h))
            }
            KexAlg::DhGroup16Sha512 => Box::new(dh::FixedGroupDh::new(&groups::MODP_4096, h)),
            KexAlg::DhGroup18Sha512 => Box::new(dh::FixedGroupDh::new(&groups::MODP_8192, h)),
            KexAlg::DhGroupExchangeSha256 | KexAlg::DhGroupExchangeSha1 => {
                Box::new(gex::GroupExchange::new(h))
            }
        }
    }
}

/// A shared secret as key derivation hashes it: an mpint with its length prefix.
pub(crate) fn mpint_secret(magnitude: &[u8]) -> SecretBytes {
    let mut m = BytesMut::with_capacity(magnitude.len() + 5);
    Writer::new(&mut m).mpint_unsigned(magnitude);
    let enc = SecretBytes::new(m.to_vec());
    zeroize::Zeroize::zeroize(&mut m[..]);
    enc
}

/// The end of every method: the method's own hashed values and the shared secret, from
/// which the exchange hash is made, signed (server) or verified (client).
pub(crate) struct Signed {
    hash: HashAlg,
    /// The values the method adds to the exchange hash after K_S, already encoded.
    values: BytesMut,
    k: SecretBytes,
}

impl Signed {
    pub(crate) fn new(hash: HashAlg, values: BytesMut, k: SecretBytes) -> Self {
        Signed { hash, values, k }
    }

    fn exchange_hash(&self, ctx: &ExchangeContext<'_>, k_s: &[u8]) -> Vec<u8> {
        let mut b = BytesMut::new();
        Writer::new(&mut b)
            .string(ctx.v_c)
            .string(ctx.v_s)
            .string(ctx.i_c)
            .string(ctx.i_s)
            .string(k_s);
        let mut h = self.hash.start();
        h.update(&b);
        h.update(&self.values);
        h.update(self.k.expose());
        h.finish()
    }

    /// Server role: sign the exchange hash and build the reply: `code`, K_S, the fields
    /// `middle` writes, the signature.
    pub(crate) fn server_reply(
        self,
        ctx: &ExchangeContext<'_>,
        code: u8,
        middle: impl FnOnce(&mut Writer<'_>),
    ) -> Result<KexStep, Error> {
        let (Some(host_key), Some((k_s, sig_alg))) = (ctx.host_key, ctx.k_s.as_ref()) else {
            return Err(Error::Config("no host key for the negotiated algorithm"));
        };
        let h = self.exchange_hash(ctx, k_s);
        let sig = host_key.sign(sig_alg, &h)?;
        let mut m = BytesMut::new();
        let mut w = Writer::new(&mut m);
        w.u8(code).string(k_s);
        middle(&mut w);
        w.string(&sig);
        Ok(KexStep::Done(
            Some(m.freeze()),
            KexOutcome {
                k: self.k,
                h,
                hash: self.hash,
                server_host_key: None,
            },
        ))
    }

    /// Client role: check the server's signature over the exchange hash.
    pub(crate) fn client_verify(
        self,
        ctx: &ExchangeContext<'_>,
        k_s: &[u8],
        sig: &[u8],
    ) -> Result<KexStep, Error> {
        let h = self.exchange_hash(ctx, k_s);
        // A host certificate is verified with the key it certifies (whether its CA is
        // trusted is the host key policy's business, on that key).
        let (server_key, sig_alg) = match crate::keys::base_algorithm(ctx.host_key_alg) {
            Some(base) => (crate::keys::Certificate::from_blob(k_s)?.key, base),
            None => (PublicKey::from_blob(k_s)?, ctx.host_key_alg),
        };
        if !server_key.verify(sig_alg, &h, sig) {
            return Err(Error::Peer(Violation::KeyExchange(
                "host key signature does not verify",
            )));
        }
        Ok(KexStep::Done(
            None,
            KexOutcome {
                k: self.k,
                h,
                hash: self.hash,
                server_host_key: Some(server_key),
            },
        ))
    }
}

/// What the exchange hash covers besides the method's own values.
pub(crate) struct ExchangeContext<'a> {
    pub v_c: &'a [u8],
    pub v_s: &'a [u8],
    pub i_c: &'a [u8],
    pub i_s: &'a [u8],
    /// Server role: the host key that signs. Client role: none.
    pub host_key: Option<&'a PrivateKey>,
    /// Server role: what is sent as K_S (the key's blob, or its certificate) and the
    /// algorithm the key signs with.
    pub k_s: Option<(Bytes, &'a str)>,
    /// The negotiated host key signature algorithm.
    pub host_key_alg: &'a str,
    pub rng: &'a dyn Rng,
}

/// The shared result of a finished exchange.
pub(crate) struct KexOutcome {
    /// K, encoded as an mpint (with its length prefix), as key derivation hashes it.
    pub k: SecretBytes,
    /// The exchange hash H.
    pub h: Vec<u8>,
    pub hash: HashAlg,
    /// Client role: the server's verified host key.
    pub server_host_key: Option<PublicKey>,
}

/// One step of a method.
pub(crate) enum KexStep {
    /// Send these payloads and wait for more (multi-step methods such as group exchange).
    Continue(Vec<Bytes>),
    /// Finished: send this payload (if any) before NEWKEYS.
    Done(Option<Bytes>, KexOutcome),
}

/// One run of a key exchange method, in either role.
pub(crate) trait KexMethod: Send {
    /// Client role: the payloads to send right after negotiation.
    fn client_start(&mut self, ctx: &ExchangeContext<'_>) -> Result<Vec<Bytes>, Error>;
    /// Handle a method message (30..=49) from the peer.
    fn handle(
        &mut self,
        code: u8,
        body: &Bytes,
        ctx: &ExchangeContext<'_>,
    ) -> Result<KexStep, Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_all_but_the_sha1_methods() {
        assert_eq!(KexAlg::DEFAULT.len(), 9);
        assert!(KexAlg::DEFAULT.iter().all(|k| k.hash() != HashAlg::Sha1));
        let sha1 = KexAlg::ALL
            .iter()
            .filter(|k| k.hash() == HashAlg::Sha1)
            .count();
        assert_eq!(KexAlg::DEFAULT.len() + sha1, KexAlg::ALL.len());
    }
}
