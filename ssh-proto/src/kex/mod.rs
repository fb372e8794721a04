//! Key exchange methods. Each method family lives in its own file behind [`KexMethod`];
//! the transport drives them without knowing their message layouts.

mod curve25519;

use bytes::Bytes;

use crate::crypto::hash::HashAlg;
use crate::crypto::rng::Rng;
use crate::error::Error;
use crate::keys::{PrivateKey, PublicKey};
use crate::secret::SecretBytes;

/// A key exchange method we can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KexAlg {
    /// curve25519-sha256 (RFC 8731)
    Curve25519Sha256,
    /// curve25519-sha256@libssh.org (the same method under its older name)
    Curve25519Sha256Libssh,
}

impl KexAlg {
    /// Every supported method, in our default preference order.
    pub const ALL: &'static [KexAlg] = &[KexAlg::Curve25519Sha256, KexAlg::Curve25519Sha256Libssh];

    /// The SSH name.
    pub fn name(self) -> &'static str {
        match self {
            KexAlg::Curve25519Sha256 => "curve25519-sha256",
            KexAlg::Curve25519Sha256Libssh => "curve25519-sha256@libssh.org",
        }
    }

    /// Look up by SSH name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The exchange hash function.
    pub fn hash(self) -> HashAlg {
        HashAlg::Sha256
    }

    pub(crate) fn start(self) -> Box<dyn KexMethod> {
        match self {
            KexAlg::Curve25519Sha256 | KexAlg::Curve25519Sha256Libssh => {
                Box::new(curve25519::Curve25519::new(self.hash()))
            }
        }
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
    #[allow(dead_code)]
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
