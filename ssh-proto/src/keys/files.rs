//! Private key files: OpenSSH's format (PROTOCOL.key; plain or passphrase-protected with
//! bcrypt-pbkdf and AES-CTR) and PEM PKCS#1, PKCS#8 and SEC1 (decoded by aws-lc-rs).
//! Keys are written in OpenSSH's format, unencrypted.

use bytes::BytesMut;

use super::der;
use super::fingerprint::{base64_decode, base64_encode};
use super::private::{PrivateKey, Signer};
use super::public::strip_zeros;
use crate::crypto::hash::HashAlg;
use crate::crypto::kdf::decrypt_key_file;
use crate::crypto::sign::{EcdsaCurve, EcdsaSigner, Ed25519Signer, RsaPrivateParts, RsaSigner};
use crate::error::ConfigError;
use crate::secret::{SecretBytes, SecretString};
use crate::wire::{Reader, Writer};

const OPENSSH_LABEL: &str = "OPENSSH PRIVATE KEY";

impl PrivateKey {
    /// Read a private key file of any supported format: OpenSSH (`BEGIN OPENSSH
    /// PRIVATE KEY`, unencrypted or with `passphrase`), PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`), PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
    pub fn from_key_file(
        text: &str,
        passphrase: Option<&SecretString>,
    ) -> Result<Self, ConfigError> {
        if text.contains(&format!("-----BEGIN {OPENSSH_LABEL}-----")) {
            return Self::from_openssh_encrypted(text, passphrase);
        }
        for label in ["ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"] {
            if text.contains(&format!("-----BEGIN {label}-----")) {
                return Err(ConfigError(
                    "this PEM key type is not supported; convert it with ssh-keygen -p -f FILE",
                ));
            }
        }
        if let Some(der) = pem_block(text, "RSA PRIVATE KEY")? {
            let parts = der::rsa_parts_from_pkcs1(der.expose())
                .ok_or(ConfigError("malformed PKCS#1 RSA key"))?;
            return rsa_key(&parts);
        }
        if let Some(der) = pem_block(text, "EC PRIVATE KEY")? {
            let k = EcdsaSigner::from_der(der.expose())
                .ok_or(ConfigError("malformed or unsupported SEC1 EC key"))?;
            return Ok(PrivateKey::from_signer(Signer::Ecdsa(k)));
        }
        if let Some(der) = pem_block(text, "PRIVATE KEY")? {
            let der = der.expose();
            if let Some((pair, seed)) = Ed25519Signer::from_pkcs8(der) {
                return Ok(PrivateKey::from_signer(Signer::Ed25519 { seed, pair }));
            }
            if let Some(k) = EcdsaSigner::from_der(der) {
                return Ok(PrivateKey::from_signer(Signer::Ecdsa(k)));
            }
            if let Some(parts) = der::rsa_parts_from_pkcs8(der) {
                return rsa_key(&parts);
            }
            return Err(ConfigError("PKCS#8 key of an unsupported type"));
        }
        Err(ConfigError("not a private key file"))
    }

    /// Parse an unencrypted OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub fn from_openssh(pem: &str) -> Result<Self, ConfigError> {
        Self::from_openssh_encrypted(pem, None)
    }

    /// Parse an OpenSSH private key file, decrypting it with `passphrase` when it is
    /// protected (bcrypt-pbkdf with aes128/192/256-ctr, as `ssh-keygen` writes).
    pub fn from_openssh_encrypted(
        pem: &str,
        passphrase: Option<&SecretString>,
    ) -> Result<Self, ConfigError> {
        let file =
            pem_block(pem, OPENSSH_LABEL)?.ok_or(ConfigError("not an OpenSSH private key"))?;
        let bad = |_| ConfigError("malformed OpenSSH private key");
        let body = file
            .expose()
            .strip_prefix(b"openssh-key-v1\0")
            .ok_or(ConfigError("not an OpenSSH private key"))?;
        let mut r = Reader::new(body);
        let cipher = r.utf8().map_err(bad)?;
        let kdf = r.utf8().map_err(bad)?;
        let kdf_options = r.string().map_err(bad)?;
        if r.u32().map_err(bad)? != 1 {
            return Err(ConfigError(
                "OpenSSH key files with several keys are not supported",
            ));
        }
        let public = r.string().map_err(bad)?;
        let mut private = SecretBytes::new(r.string().map_err(bad)?.to_vec());
        r.finish().map_err(bad)?;
        match (cipher, kdf) {
            ("none", "none") => {}
            (_, "bcrypt") => {
                let p = passphrase
                    .ok_or(ConfigError("the key is encrypted: a passphrase is needed"))?;
                let mut o = Reader::new(kdf_options);
                let salt = o.string().map_err(bad)?;
                let rounds = o.u32().map_err(bad)?;
                let mut data = private.expose().to_vec();
                let opened =
                    decrypt_key_file(cipher, p.expose().as_bytes(), salt, rounds, &mut data);
                private = SecretBytes::new(data);
                opened.ok_or(ConfigError(
                    "unsupported key file cipher (aes*-ctr are read), or too many KDF rounds",
                ))?;
            }
            _ => return Err(ConfigError("unsupported key file encryption")),
        }
        let mut r = Reader::new(private.expose());
        let (c1, c2) = (r.u32().map_err(bad)?, r.u32().map_err(bad)?);
        if c1 != c2 {
            return Err(ConfigError("wrong passphrase, or a corrupt key"));
        }
        let alg = r.utf8().map_err(bad)?;
        let key = match alg {
            "ssh-ed25519" => {
                let _public = r.string().map_err(bad)?;
                let both = r.string().map_err(bad)?;
                if both.len() != 64 {
                    return Err(ConfigError("malformed ed25519 private key"));
                }
                Self::ed25519_from_seed(SecretBytes::new(both[..32].to_vec()))?
            }
            "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
                let curve = EcdsaCurve::from_name(r.utf8().map_err(bad)?)
                    .ok_or(ConfigError("malformed ECDSA private key"))?;
                let point = r.string().map_err(bad)?;
                let scalar = strip_zeros(r.mpint_positive().map_err(bad)?);
                let n = curve.scalar_len();
                if scalar.len() > n {
                    return Err(ConfigError("malformed ECDSA private key"));
                }
                let mut fixed = vec![0u8; n];
                fixed[n - scalar.len()..].copy_from_slice(scalar);
                let fixed = SecretBytes::new(fixed);
                let k = EcdsaSigner::from_scalar(curve, fixed.expose(), point).ok_or(
                    ConfigError("the ECDSA private and public keys do not match"),
                )?;
                PrivateKey::from_signer(Signer::Ecdsa(k))
            }
            "ssh-rsa" => {
                let mut next = || {
                    r.mpint_positive()
                        .map(|v| strip_zeros(v).to_vec())
                        .map_err(bad)
                };
                let (n, e) = (next()?, next()?);
                let d = SecretBytes::new(next()?);
                let iqmp = SecretBytes::new(next()?);
                let p = SecretBytes::new(next()?);
                let q = SecretBytes::new(next()?);
                rsa_key(&RsaPrivateParts {
                    n,
                    e,
                    d,
                    p,
                    q,
                    iqmp,
                })?
            }
            "ssh-dss" => {
                let mut next = || r.mpint_positive().map(strip_zeros).map_err(bad);
                let (p, q, g, y) = (next()?, next()?, next()?, next()?);
                let x = SecretBytes::new(next()?.to_vec());
                dsa_key(p, q, g, y, &x)?
            }
            "sk-ssh-ed25519@openssh.com" | "sk-ecdsa-sha2-nistp256@openssh.com" => {
                return Err(ConfigError(
                    "security-key private keys sign on the token, not here",
                ))
            }
            _ => return Err(ConfigError("unsupported private key type")),
        };
        if key.public_key().to_blob() != public {
            return Err(ConfigError("the key file's public and private keys differ"));
        }
        Ok(key)
    }

    /// The key in OpenSSH private key format, unencrypted (as `ssh-keygen -N ''` writes).
    pub fn to_openssh(&self, comment: &str) -> Result<String, ConfigError> {
        // Sized up front so no growth leaves copies of the key behind (an RSA-8192
        // key's private section is about 4.7 KiB).
        let mut private = BytesMut::with_capacity(8192);
        let blob = self.public_key().to_blob();
        // The check value only detects a wrong passphrase; it need not be secret here.
        let d = HashAlg::Sha256.digest(&[&blob]);
        let check = &d[..4];
        let mut w = Writer::new(&mut private);
        w.raw(check).raw(check).utf8(self.public_key().algorithm());
        match self.signer() {
            Signer::Ed25519 { seed, pair } => {
                let public = pair.public_key();
                let both = SecretBytes::new([seed.expose(), &public[..]].concat());
                w.string(&public).string(both.expose());
            }
            Signer::Ecdsa(k) => {
                let scalar = k
                    .private_scalar()
                    .ok_or(ConfigError("cannot export the ECDSA key"))?;
                w.utf8(k.curve().name())
                    .string(&k.public_point())
                    .mpint_unsigned(scalar.expose());
            }
            #[cfg(feature = "legacy")]
            Signer::Dsa(k) => {
                let [p, q, g, y] = k.public();
                let x = k.private();
                w.mpint_unsigned(&p)
                    .mpint_unsigned(&q)
                    .mpint_unsigned(&g)
                    .mpint_unsigned(&y)
                    .mpint_unsigned(x.expose());
            }
            Signer::Rsa(r) => {
                let doc = r
                    .to_pkcs8()
                    .ok_or(ConfigError("cannot export the RSA key"))?;
                let p = der::rsa_parts_from_pkcs8(doc.expose())
                    .ok_or(ConfigError("cannot export the RSA key"))?;
                w.mpint_unsigned(&p.n)
                    .mpint_unsigned(&p.e)
                    .mpint_unsigned(p.d.expose())
                    .mpint_unsigned(p.iqmp.expose())
                    .mpint_unsigned(p.p.expose())
                    .mpint_unsigned(p.q.expose());
            }
        }
        w.utf8(comment);
        let mut pad = 1u8;
        while private.len() % 8 != 0 {
            private.extend_from_slice(&[pad]);
            pad += 1;
        }
        let mut file = BytesMut::with_capacity(private.len() + 2048);
        file.extend_from_slice(b"openssh-key-v1\0");
        Writer::new(&mut file)
            .utf8("none")
            .utf8("none")
            .string(b"")
            .u32(1)
            .string(&blob)
            .string(&private);
        private.iter_mut().for_each(|b| *b = 0);
        let text = zeroize::Zeroizing::new(base64_encode(&file, true));
        file.iter_mut().for_each(|b| *b = 0);
        let mut out = String::with_capacity(text.len() + text.len() / 70 + 80);
        out.push_str(&format!("-----BEGIN {OPENSSH_LABEL}-----\n"));
        // base64 is ASCII, so every 70-byte cut falls on a character boundary.
        let mut rest: &str = &text;
        while !rest.is_empty() {
            let (line, tail) = rest.split_at(rest.len().min(70));
            out.push_str(line);
            out.push('\n');
            rest = tail;
        }
        out.push_str(&format!("-----END {OPENSSH_LABEL}-----\n"));
        Ok(out)
    }
}

#[cfg(feature = "legacy")]
fn dsa_key(
    p: &[u8],
    q: &[u8],
    g: &[u8],
    y: &[u8],
    x: &SecretBytes,
) -> Result<PrivateKey, ConfigError> {
    use crate::crypto::legacy::{DsaPublic, DsaSigner};
    let k = DsaSigner::from_parts(&DsaPublic { p, q, g, y }, x.expose()).ok_or(ConfigError(
        "the DSA key is inconsistent or not 1024/160 bits",
    ))?;
    Ok(PrivateKey::from_signer(Signer::Dsa(k)))
}

#[cfg(not(feature = "legacy"))]
fn dsa_key(
    _: &[u8],
    _: &[u8],
    _: &[u8],
    _: &[u8],
    _: &SecretBytes,
) -> Result<PrivateKey, ConfigError> {
    Err(ConfigError(
        "ssh-dss keys need a build with the legacy feature",
    ))
}

fn rsa_key(parts: &RsaPrivateParts) -> Result<PrivateKey, ConfigError> {
    let k = RsaSigner::from_parts(parts).ok_or(ConfigError(
        "the RSA key is inconsistent or not of 2048 to 8192 bits",
    ))?;
    Ok(PrivateKey::from_signer(Signer::Rsa(k)))
}

/// The DER bytes of the first PEM block labelled `label` (None when there is none).
/// Encrypted legacy PEM (`Proc-Type: 4,ENCRYPTED`) is refused.
fn pem_block(text: &str, label: &str) -> Result<Option<SecretBytes>, ConfigError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let Some(start) = text.find(&begin) else {
        return Ok(None);
    };
    let body = &text[start + begin.len()..];
    let stop = body
        .find(&end)
        .ok_or(ConfigError("PEM block without its END line"))?;
    let mut b64 = zeroize::Zeroizing::new(String::with_capacity(body.len()));
    for line in body[..stop].lines().map(str::trim) {
        if line.contains(':') {
            if line.starts_with("Proc-Type") && line.contains("ENCRYPTED") {
                return Err(ConfigError(
                    "encrypted PEM keys are not supported; convert with ssh-keygen -p -f FILE",
                ));
            }
            continue;
        }
        b64.push_str(line);
    }
    let der = base64_decode(&b64).ok_or(ConfigError("PEM block is not base64"))?;
    Ok(Some(SecretBytes::new(der)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::SeededRng;
    use crate::keys::{KeyKind, PublicKey};

    #[test]
    fn openssh_files_round_trip_for_every_kind() {
        let rng = SeededRng::new(3);
        for kind in [
            KeyKind::Ed25519,
            KeyKind::EcdsaP256,
            KeyKind::EcdsaP384,
            KeyKind::EcdsaP521,
            KeyKind::Rsa(2048),
        ] {
            let k = PrivateKey::generate(kind, &rng).unwrap();
            let text = k.to_openssh("me@host").unwrap();
            let back = PrivateKey::from_key_file(&text, None).unwrap();
            assert_eq!(back.public_key(), k.public_key(), "{kind:?}");
            let alg = k.signature_algorithms()[0];
            let sig = back.sign(alg, b"m").unwrap();
            assert!(k.public_key().verify(alg, b"m", &sig));
        }
    }

    #[test]
    fn pem_files_of_each_format_load() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
        let pem = |label: &str, der: &[u8]| {
            format!(
                "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                base64_encode(der, true)
            )
        };
        let ed = Ed25519KeyPair::generate().unwrap().to_pkcs8().unwrap();
        let k = PrivateKey::from_key_file(&pem("PRIVATE KEY", ed.as_ref()), None).unwrap();
        assert_eq!(k.public_key().algorithm(), "ssh-ed25519");
        let ec = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        let p8 = ec.to_pkcs8v1().unwrap();
        let k = PrivateKey::from_key_file(&pem("PRIVATE KEY", p8.as_ref()), None).unwrap();
        assert_eq!(k.public_key().algorithm(), "ecdsa-sha2-nistp384");
        let sec1 =
            AsDer::<aws_lc_rs::encoding::EcPrivateKeyRfc5915Der<'_>>::as_der(&ec.private_key())
                .unwrap();
        let k = PrivateKey::from_key_file(&pem("EC PRIVATE KEY", sec1.as_ref()), None).unwrap();
        assert_eq!(k.public_key().algorithm(), "ecdsa-sha2-nistp384");
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let p8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&rsa).unwrap();
        let k = PrivateKey::from_key_file(&pem("PRIVATE KEY", p8.as_ref()), None).unwrap();
        assert_eq!(k.public_key().rsa_bits(), Some(2048));
        let sig = k.sign("rsa-sha2-256", b"m").unwrap();
        assert!(k.public_key().verify("rsa-sha2-256", b"m", &sig));
        let encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(PrivateKey::from_key_file(encrypted, None).is_err());
        assert!(PrivateKey::from_key_file("hello", None).is_err());
        assert!(PrivateKey::from_key_file(&pem("PRIVATE KEY", b"\x30\x00"), None).is_err());
    }

    /// Key files written by OpenSSH's ssh-keygen (see tests/data/keys): each loads, and
    /// its public half is the one ssh-keygen wrote beside it.
    #[test]
    fn ssh_keygen_files_load() {
        macro_rules! file {
            ($name:literal) => {
                (
                    include_str!(concat!("../../tests/data/keys/", $name)),
                    include_str!(concat!("../../tests/data/keys/", $name, ".pub")),
                )
            };
        }
        let pw = SecretString::from("pw");
        let horse = SecretString::from("correct horse");
        for ((key, public), pass) in [
            (file!("ed25519_encrypted"), Some(&horse)),
            (file!("ecdsa384_encrypted"), Some(&pw)),
            (file!("rsa3072_encrypted"), Some(&pw)),
            (file!("rsa_pkcs1"), None),
            (file!("rsa_pkcs8"), None),
            (file!("ecdsa_sec1"), None),
            (file!("ecdsa521_short_scalar"), None),
        ] {
            let k =
                PrivateKey::from_key_file(key, pass).unwrap_or_else(|e| panic!("{public}: {e}"));
            assert_eq!(k.public_key(), &PublicKey::from_openssh(public).unwrap());
            let alg = k.signature_algorithms()[0];
            let sig = k.sign(alg, b"m").unwrap();
            assert!(k.public_key().verify(alg, b"m", &sig));
            if pass.is_some() {
                assert!(PrivateKey::from_key_file(key, None).is_err());
                let wrong = SecretString::from("wrong");
                assert!(PrivateKey::from_key_file(key, Some(&wrong)).is_err());
            }
        }
    }

    #[test]
    fn hostile_openssh_files_are_refused() {
        let k = PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(1)).unwrap();
        let text = k.to_openssh("").unwrap();
        let der = pem_block(&text, OPENSSH_LABEL).unwrap().unwrap();
        let wrap = |bin: &[u8]| {
            format!(
                "-----BEGIN {OPENSSH_LABEL}-----\n{}\n-----END {OPENSSH_LABEL}-----\n",
                base64_encode(bin, true)
            )
        };
        // Every truncation is an error, never a panic.
        for n in 0..der.expose().len() {
            assert!(PrivateKey::from_key_file(&wrap(&der.expose()[..n]), None).is_err());
        }
        // A public key that is not the private key's.
        let other = PrivateKey::generate(KeyKind::Ed25519, &SeededRng::new(2)).unwrap();
        let mut bin = der.expose().to_vec();
        let at = bin
            .windows(32)
            .position(|w| w == &k.public_key().to_blob()[19..])
            .unwrap();
        bin[at..at + 32].copy_from_slice(&other.public_key().to_blob()[19..]);
        assert!(PrivateKey::from_key_file(&wrap(&bin), None).is_err());
    }
}
