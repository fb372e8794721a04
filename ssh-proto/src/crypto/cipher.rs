//! Packet protection: one sealer and one opener per direction, combining a cipher with
//! its MAC (or an AEAD tag) as the SSH binary packet protocol needs them.

use aws_lc_rs::aead::{self, chacha20_poly1305_openssh as chacha};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128,
    AES_256,
};
use aws_lc_rs::iv::FixedLength;

use super::mac::{Mac, MacAlg};
#[cfg(any(test, feature = "testing"))]
use crate::error::ConnectionError;
use crate::error::{Error, Violation};

/// A cipher we can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherAlg {
    /// chacha20-poly1305@openssh.com
    ChaCha20Poly1305,
    /// aes128-gcm@openssh.com
    Aes128Gcm,
    /// aes256-gcm@openssh.com
    Aes256Gcm,
    /// aes128-ctr
    Aes128Ctr,
    /// aes256-ctr
    Aes256Ctr,
}

impl CipherAlg {
    /// Every supported cipher, in our default preference order.
    pub const ALL: &'static [CipherAlg] = &[
        CipherAlg::ChaCha20Poly1305,
        CipherAlg::Aes128Gcm,
        CipherAlg::Aes256Gcm,
        CipherAlg::Aes128Ctr,
        CipherAlg::Aes256Ctr,
    ];

    /// The SSH name.
    pub fn name(self) -> &'static str {
        match self {
            CipherAlg::ChaCha20Poly1305 => "chacha20-poly1305@openssh.com",
            CipherAlg::Aes128Gcm => "aes128-gcm@openssh.com",
            CipherAlg::Aes256Gcm => "aes256-gcm@openssh.com",
            CipherAlg::Aes128Ctr => "aes128-ctr",
            CipherAlg::Aes256Ctr => "aes256-ctr",
        }
    }

    /// Look up by SSH name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            CipherAlg::ChaCha20Poly1305 => chacha::KEY_LEN,
            CipherAlg::Aes128Gcm | CipherAlg::Aes128Ctr => 16,
            CipherAlg::Aes256Gcm | CipherAlg::Aes256Ctr => 32,
        }
    }

    /// IV length in bytes.
    pub fn iv_len(self) -> usize {
        match self {
            CipherAlg::ChaCha20Poly1305 => 0,
            CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm => 12,
            CipherAlg::Aes128Ctr | CipherAlg::Aes256Ctr => 16,
        }
    }

    /// Whether the cipher carries its own tag (no separate MAC is negotiated into use).
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            CipherAlg::ChaCha20Poly1305 | CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm
        )
    }
}

/// The keyed state of one direction. Key schedules are boxed so that the enum, and a
/// connection holding two of them, stays small: only the active variant is allocated.
enum Cipher {
    Plain,
    ChaChaSeal(Box<chacha::SealingKey>),
    ChaChaOpen(Box<chacha::OpeningKey>),
    Gcm {
        key: Box<aead::LessSafeKey>,
        fixed: [u8; 4],
        counter: u64,
    },
    CtrSeal {
        key: Box<EncryptingKey>,
        counter: u128,
    },
    CtrOpen {
        key: Box<DecryptingKey>,
        counter: u128,
    },
}

/// Protection for one direction: a cipher and, for non-AEAD ciphers, a MAC.
pub struct PacketProtection {
    cipher: Cipher,
    mac: Option<Box<Mac>>,
    /// For non-ETM CTR openers: the first block of the current packet is already decrypted.
    first_block_done: bool,
}

/// Which way a [`PacketProtection`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Protects packets we send.
    Seal,
    /// Checks and decrypts packets we receive.
    Open,
}

impl PacketProtection {
    /// No encryption, no MAC: the state before the first NEWKEYS.
    pub fn plain() -> Self {
        PacketProtection {
            cipher: Cipher::Plain,
            mac: None,
            first_block_done: false,
        }
    }

    /// Keyed protection. `mac` is ignored for AEAD ciphers.
    pub(crate) fn keyed(
        dir: Direction,
        alg: CipherAlg,
        key: &[u8],
        iv: &[u8],
        mac: Option<(MacAlg, &[u8])>,
    ) -> Result<Self, Error> {
        let bad = |_| Error::Crypto("cipher key rejected");
        let key = &key[..alg.key_len()];
        let iv = &iv[..alg.iv_len()];
        let cipher = match alg {
            CipherAlg::ChaCha20Poly1305 => {
                let mut k = [0u8; chacha::KEY_LEN];
                k.copy_from_slice(key);
                let c = match dir {
                    Direction::Seal => Cipher::ChaChaSeal(Box::new(chacha::SealingKey::new(&k))),
                    Direction::Open => Cipher::ChaChaOpen(Box::new(chacha::OpeningKey::new(&k))),
                };
                zeroize::Zeroize::zeroize(&mut k);
                c
            }
            CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm => {
                let a = if alg == CipherAlg::Aes128Gcm {
                    &aead::AES_128_GCM
                } else {
                    &aead::AES_256_GCM
                };
                let mut fixed = [0u8; 4];
                fixed.copy_from_slice(&iv[..4]);
                let mut c = [0u8; 8];
                c.copy_from_slice(&iv[4..12]);
                Cipher::Gcm {
                    key: Box::new(aead::LessSafeKey::new(
                        aead::UnboundKey::new(a, key).map_err(bad)?,
                    )),
                    fixed,
                    counter: u64::from_be_bytes(c),
                }
            }
            CipherAlg::Aes128Ctr | CipherAlg::Aes256Ctr => {
                let a = if alg == CipherAlg::Aes128Ctr {
                    &AES_128
                } else {
                    &AES_256
                };
                let mut c = [0u8; 16];
                c.copy_from_slice(iv);
                let counter = u128::from_be_bytes(c);
                let unbound = UnboundCipherKey::new(a, key).map_err(bad)?;
                match dir {
                    Direction::Seal => Cipher::CtrSeal {
                        key: Box::new(EncryptingKey::ctr(unbound).map_err(bad)?),
                        counter,
                    },
                    Direction::Open => Cipher::CtrOpen {
                        key: Box::new(DecryptingKey::ctr(unbound).map_err(bad)?),
                        counter,
                    },
                }
            }
        };
        let mac = if alg.is_aead() {
            None
        } else {
            let (m, k) = mac.ok_or(Error::Config("a MAC is required for this cipher"))?;
            Some(Box::new(Mac::new(m, &k[..m.key_len()])))
        };
        Ok(PacketProtection {
            cipher,
            mac,
            first_block_done: false,
        })
    }

    /// The cipher block size that padding must align to.
    pub fn block_size(&self) -> usize {
        match self.cipher {
            Cipher::Plain | Cipher::ChaChaSeal(_) | Cipher::ChaChaOpen(_) => 8,
            _ => 16,
        }
    }

    /// Whether the 4-byte length field is left out of the padding alignment
    /// (AEAD and encrypt-then-MAC modes).
    pub fn length_outside_alignment(&self) -> bool {
        match self.cipher {
            Cipher::Plain => false,
            Cipher::ChaChaSeal(_) | Cipher::ChaChaOpen(_) | Cipher::Gcm { .. } => true,
            _ => self.mac.as_ref().is_some_and(|m| m.alg().is_etm()),
        }
    }

    /// Bytes of tag after each packet.
    pub fn tag_len(&self) -> usize {
        match self.cipher {
            Cipher::Plain => 0,
            Cipher::ChaChaSeal(_) | Cipher::ChaChaOpen(_) | Cipher::Gcm { .. } => 16,
            _ => self.mac.as_ref().map_or(0, |m| m.alg().tag_len()),
        }
    }

    /// How many leading bytes of a packet [`Self::packet_length`] needs.
    pub fn length_prefix_len(&self) -> usize {
        match self.cipher {
            Cipher::CtrOpen { .. } if !self.length_outside_alignment() => 16,
            _ => 4,
        }
    }

    /// Read the packet length from the first `length_prefix_len()` bytes. For non-ETM CTR
    /// this decrypts the first block in place; call once per packet.
    pub(crate) fn length_of(&mut self, seq: u32, head: &mut [u8]) -> Result<u32, Error> {
        let etm = self.length_outside_alignment();
        match &mut self.cipher {
            Cipher::ChaChaOpen(k) => Ok(u32::from_be_bytes(
                k.decrypt_packet_length(seq, [head[0], head[1], head[2], head[3]]),
            )),
            Cipher::CtrOpen { key, counter } if !etm && !self.first_block_done => {
                ctr_apply_decrypt(key, *counter, &mut head[..16])?;
                self.first_block_done = true;
                Ok(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
            }
            _ => Ok(u32::from_be_bytes([head[0], head[1], head[2], head[3]])),
        }
    }

    /// Encrypt `packet` (length, padding length, payload, padding) in place and write the
    /// tag into `tag` (`tag_len()` bytes).
    pub(crate) fn seal_packet(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Error> {
        let etm = self.length_outside_alignment();
        match &mut self.cipher {
            Cipher::Plain => Ok(()),
            Cipher::ChaChaSeal(k) => {
                let mut t = [0u8; 16];
                k.seal_in_place(seq, packet, &mut t);
                tag.copy_from_slice(&t);
                Ok(())
            }
            Cipher::Gcm {
                key,
                fixed,
                counter,
            } => {
                let (len, body) = packet.split_at_mut(4);
                let t = key
                    .seal_in_place_separate_tag(
                        gcm_nonce(fixed, *counter),
                        aead::Aad::from(&*len),
                        body,
                    )
                    .map_err(|_| Error::Crypto("AES-GCM seal failed"))?;
                *counter = counter.wrapping_add(1);
                tag.copy_from_slice(t.as_ref());
                Ok(())
            }
            Cipher::CtrSeal { key, counter } => {
                let mac = self.mac.as_ref().ok_or(Error::Crypto("missing MAC"))?;
                if etm {
                    ctr_apply_encrypt(key, *counter, &mut packet[4..])?;
                    mac.sign(seq, packet, tag);
                } else {
                    mac.sign(seq, packet, tag);
                    ctr_apply_encrypt(key, *counter, packet)?;
                }
                *counter = counter.wrapping_add((packet.len() / 16) as u128);
                Ok(())
            }
            Cipher::ChaChaOpen(_) | Cipher::CtrOpen { .. } => {
                Err(Error::Crypto("sealing with an opening key"))
            }
        }
    }

    /// Check the tag of `packet` (length field onward, tag excluded) and decrypt in place.
    pub(crate) fn open_packet(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let etm = self.length_outside_alignment();
        match &mut self.cipher {
            Cipher::Plain => Ok(()),
            Cipher::ChaChaOpen(k) => {
                let mut t = [0u8; 16];
                t.copy_from_slice(tag);
                k.open_in_place(seq, packet, &t)
                    .map(|_| ())
                    .map_err(|_| Error::Peer(Violation::BadMac))
            }
            Cipher::Gcm {
                key,
                fixed,
                counter,
            } => {
                let (len, body) = packet.split_at_mut(4);
                key.open_in_place_separate_tag(
                    gcm_nonce(fixed, *counter),
                    aead::Aad::from(&*len),
                    tag,
                    body,
                )
                .map_err(|_| Error::Peer(Violation::BadMac))?;
                *counter = counter.wrapping_add(1);
                Ok(())
            }
            Cipher::CtrOpen { key, counter } => {
                let mac = self.mac.as_ref().ok_or(Error::Crypto("missing MAC"))?;
                let blocks = (packet.len() / 16) as u128;
                if etm {
                    if !mac.verify(seq, packet, tag) {
                        return Err(Error::Peer(Violation::BadMac));
                    }
                    ctr_apply_decrypt(key, *counter, &mut packet[4..])?;
                } else {
                    if !self.first_block_done {
                        ctr_apply_decrypt(key, *counter, &mut packet[..16])?;
                    }
                    self.first_block_done = false;
                    ctr_apply_decrypt(key, counter.wrapping_add(1), &mut packet[16..])?;
                    if !mac.verify(seq, packet, tag) {
                        return Err(Error::Peer(Violation::BadMac));
                    }
                }
                *counter = counter.wrapping_add(blocks);
                Ok(())
            }
            Cipher::ChaChaSeal(_) | Cipher::CtrSeal { .. } => {
                Err(Error::Crypto("opening with a sealing key"))
            }
        }
    }
}

fn gcm_nonce(fixed: &[u8; 4], counter: u64) -> aead::Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(fixed);
    n[4..].copy_from_slice(&counter.to_be_bytes());
    aead::Nonce::assume_unique_for_key(n)
}

/// The public face of [`PacketProtection`] (reached through the `testing` feature, for
/// benches and fuzz targets): the same operations with public error types.
#[cfg(any(test, feature = "testing"))]
impl PacketProtection {
    /// Keyed protection. `mac` is ignored for AEAD ciphers.
    pub fn new(
        dir: Direction,
        alg: CipherAlg,
        key: &[u8],
        iv: &[u8],
        mac: Option<(MacAlg, &[u8])>,
    ) -> Result<Self, ConnectionError> {
        Self::keyed(dir, alg, key, iv, mac).map_err(Error::into_fatal)
    }

    /// Decrypt (if needed) and return the packet length from the first block.
    pub fn packet_length(&mut self, seq: u32, head: &mut [u8]) -> Result<u32, ConnectionError> {
        self.length_of(seq, head).map_err(Error::into_fatal)
    }

    /// Encrypt `packet` in place and write its tag.
    pub fn seal(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), ConnectionError> {
        self.seal_packet(seq, packet, tag)
            .map_err(Error::into_fatal)
    }

    /// Verify the tag and decrypt `packet` in place.
    pub fn open(&mut self, seq: u32, packet: &mut [u8], tag: &[u8]) -> Result<(), ConnectionError> {
        self.open_packet(seq, packet, tag)
            .map_err(Error::into_fatal)
    }
}

fn ctr_apply_encrypt(key: &EncryptingKey, counter: u128, data: &mut [u8]) -> Result<(), Error> {
    key.less_safe_encrypt(
        data,
        EncryptionContext::Iv128(FixedLength::from(counter.to_be_bytes())),
    )
    .map(|_| ())
    .map_err(|_| Error::Crypto("AES-CTR failed"))
}

fn ctr_apply_decrypt(key: &DecryptingKey, counter: u128, data: &mut [u8]) -> Result<(), Error> {
    key.decrypt(
        data,
        DecryptionContext::Iv128(FixedLength::from(counter.to_be_bytes())),
    )
    .map(|_| ())
    .map_err(|_| Error::Crypto("AES-CTR failed"))
}
