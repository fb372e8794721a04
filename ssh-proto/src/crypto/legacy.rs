//! Legacy signatures, compiled only with the `legacy` feature: SHA-1 `ssh-rsa`
//! signing (aws-lc-rs verifies SHA-1 but does not sign with it) and `ssh-dss` (DSA,
//! 1024-bit p, 160-bit q, SHA-1), through RustCrypto's `rsa` and `dsa` crates. Both
//! are weak algorithms kept for old peers only; the `rsa` crate's private-key
//! operation carries an open timing advisory (RUSTSEC-2023-0071), which is why this
//! is not in default builds and signs with blinding.

use dsa::signature::{DigestSigner, DigestVerifier, RandomizedSigner, SignatureEncoding};
use dsa::{BigUint, Components, SigningKey, VerifyingKey};
use sha1::{Digest, Sha1};

use super::sign::RsaPrivateParts;

/// Bytes of each of r and s in an ssh-dss signature.
const DSA_HALF: usize = 20;

/// The PKCS#1 v1.5 SHA-1 signature of `message` by the RSA key with these numbers.
pub(crate) fn sign_rsa_sha1(k: &RsaPrivateParts, message: &[u8]) -> Option<Vec<u8>> {
    let key = rsa::RsaPrivateKey::from_components(
        rsa::BigUint::from_bytes_be(&k.n),
        rsa::BigUint::from_bytes_be(&k.e),
        rsa::BigUint::from_bytes_be(k.d.expose()),
        vec![
            rsa::BigUint::from_bytes_be(k.p.expose()),
            rsa::BigUint::from_bytes_be(k.q.expose()),
        ],
    )
    .ok()?;
    let signer = rsa::pkcs1v15::SigningKey::<Sha1>::new(key);
    let sig = signer.sign_with_rng(&mut rand_core::OsRng, message);
    let mut out = sig.to_vec();
    // Left-pad to the modulus length, as SSH expects.
    let len = k.n.iter().skip_while(|b| **b == 0).count();
    while out.len() < len {
        out.insert(0, 0);
    }
    Some(out)
}

/// DSA domain parameters and public value, big-endian magnitudes.
pub(crate) struct DsaPublic<'a> {
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub g: &'a [u8],
    pub y: &'a [u8],
}

fn verifying_key(k: &DsaPublic<'_>) -> Option<VerifyingKey> {
    // OpenSSH's ssh-dss: 1024-bit p, 160-bit q.
    let q = BigUint::from_bytes_be(k.q);
    if q.bits() != 160 || BigUint::from_bytes_be(k.p).bits() != 1024 {
        return None;
    }
    let c =
        Components::from_components(BigUint::from_bytes_be(k.p), q, BigUint::from_bytes_be(k.g))
            .ok()?;
    VerifyingKey::from_components(c, BigUint::from_bytes_be(k.y)).ok()
}

/// Whether `sig` (r and s, 20 bytes each) is a valid ssh-dss signature of `message`.
pub(crate) fn verify_dsa(k: &DsaPublic<'_>, message: &[u8], sig: &[u8]) -> bool {
    if sig.len() != 2 * DSA_HALF {
        return false;
    }
    let Some(vk) = verifying_key(k) else {
        return false;
    };
    let (r, s) = sig.split_at(DSA_HALF);
    let Ok(sig) =
        dsa::Signature::from_components(BigUint::from_bytes_be(r), BigUint::from_bytes_be(s))
    else {
        return false;
    };
    vk.verify_digest(Sha1::new_with_prefix(message), &sig)
        .is_ok()
}

/// A DSA signing key.
pub(crate) struct DsaSigner(SigningKey);

impl DsaSigner {
    /// The key of its parameters, public value and private value `x`.
    pub(crate) fn from_parts(k: &DsaPublic<'_>, x: &[u8]) -> Option<Self> {
        let vk = verifying_key(k)?;
        SigningKey::from_components(vk, BigUint::from_bytes_be(x))
            .ok()
            .map(DsaSigner)
    }

    /// (p, q, g, y), big-endian.
    pub(crate) fn public(&self) -> [Vec<u8>; 4] {
        let vk = self.0.verifying_key();
        let c = vk.components();
        [
            c.p().to_bytes_be(),
            c.q().to_bytes_be(),
            c.g().to_bytes_be(),
            vk.y().to_bytes_be(),
        ]
    }

    /// The private value x, big-endian.
    pub(crate) fn private(&self) -> crate::secret::SecretBytes {
        crate::secret::SecretBytes::new(self.0.x().to_bytes_be())
    }

    /// The ssh-dss signature of `message`: r and s, 20 bytes each (RFC 6979 nonces).
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let sig: dsa::Signature = self
            .0
            .try_sign_digest(Sha1::new_with_prefix(message))
            .ok()?;
        let mut out = vec![0u8; 2 * DSA_HALF];
        for (i, v) in [sig.r(), sig.s()].into_iter().enumerate() {
            let b = v.to_bytes_be();
            if b.len() > DSA_HALF {
                return None;
            }
            out[(i + 1) * DSA_HALF - b.len()..(i + 1) * DSA_HALF].copy_from_slice(&b);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsa_signs_and_verifies_and_refuses_tampering() {
        #[allow(deprecated)] // ssh-dss is 1024/160 by definition, hence legacy only
        let c = Components::generate(&mut rand_core::OsRng, dsa::KeySize::DSA_1024_160);
        let sk = SigningKey::generate(&mut rand_core::OsRng, c);
        let signer = DsaSigner(sk);
        let [p, q, g, y] = signer.public();
        let public = DsaPublic {
            p: &p,
            q: &q,
            g: &g,
            y: &y,
        };
        let back = DsaSigner::from_parts(&public, signer.private().expose()).unwrap();
        let sig = back.sign(b"msg").unwrap();
        assert!(verify_dsa(&public, b"msg", &sig));
        assert!(!verify_dsa(&public, b"other", &sig));
        let mut bad = sig.clone();
        bad[39] ^= 1;
        assert!(!verify_dsa(&public, b"msg", &bad));
        assert!(!verify_dsa(&public, b"msg", &sig[..39]));
    }
}
