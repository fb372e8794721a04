//! The binary packet protocol (RFC 4253 §6): framing, padding, sequence numbers, and
//! sealing and opening in place.

use bytes::{BufMut, Bytes, BytesMut};

use super::output::SealedOutput;
use crate::crypto::cipher::PacketProtection;
use crate::crypto::rng::Rng;
use crate::error::{Error, Violation};

/// The receiving half: turns buffered ciphertext into payloads.
pub(crate) struct PacketReader {
    pub(crate) prot: PacketProtection,
    pub(crate) seq: u32,
    /// Total bytes (length field through tag) of the packet being read, once known.
    pending: Option<usize>,
    /// Bytes received since the last key exchange.
    pub(crate) bytes: u64,
}

impl PacketReader {
    pub(crate) fn new() -> Self {
        PacketReader {
            prot: PacketProtection::plain(),
            seq: 0,
            pending: None,
            bytes: 0,
        }
    }

    /// The next whole packet's payload, or `None` if more bytes are needed. The payload
    /// is a slice of the buffer it was decrypted in: no copy.
    pub(crate) fn read(
        &mut self,
        buf: &mut BytesMut,
        max_len: u32,
    ) -> Result<Option<Bytes>, Error> {
        let total = match self.pending {
            Some(t) => t,
            None => {
                let head = self.prot.length_prefix_len();
                if buf.len() < head {
                    return Ok(None);
                }
                let len = self.prot.length_of(self.seq, &mut buf[..head])?;
                let block = self.prot.block_size() as u32;
                let aligned = if self.prot.length_outside_alignment() {
                    len
                } else {
                    len.wrapping_add(4)
                };
                if len > max_len || len < 8 || aligned % block != 0 {
                    return Err(Error::Peer(Violation::PacketLength(len)));
                }
                let t = 4 + len as usize + self.prot.tag_len();
                self.pending = Some(t);
                t
            }
        };
        if buf.len() < total {
            return Ok(None);
        }
        self.pending = None;
        let mut pkt = buf.split_to(total);
        let body_len = total - self.prot.tag_len();
        let (body, tag) = pkt.split_at_mut(body_len);
        self.prot.open_packet(self.seq, body, tag)?;
        let pad = body[4] as usize;
        let len = body_len - 4;
        if pad < 4 || pad + 2 > len {
            return Err(Error::Peer(Violation::BadPadding));
        }
        self.seq = self.seq.wrapping_add(1);
        self.bytes += total as u64;
        pkt.truncate(body_len - pad);
        Ok(Some(pkt.freeze().slice(5..)))
    }
}

/// Random bytes drawn per pool refill: padding is 4 to 35 bytes a packet, so one RNG
/// call serves a few dozen packets (a call costs as much as sealing 1 KiB).
const PADDING_POOL: usize = 512;
/// Header, padding and MAC tag around a payload, at most.
const PACKET_OVERHEAD: usize = 5 + 2 * 16 + 64;

/// Random padding bytes fetched from the RNG in blocks.
#[derive(Default)]
struct PaddingPool {
    bytes: Option<Box<[u8; PADDING_POOL]>>,
    used: usize,
}

impl PaddingPool {
    fn fill(&mut self, rng: &dyn Rng, dest: &mut [u8]) -> Result<(), Error> {
        let pool = match &mut self.bytes {
            Some(p) if PADDING_POOL - self.used >= dest.len() => p,
            slot => {
                let p = slot.get_or_insert_with(|| Box::new([0; PADDING_POOL]));
                rng.fill(&mut p[..])?;
                self.used = 0;
                p
            }
        };
        dest.copy_from_slice(&pool[self.used..self.used + dest.len()]);
        self.used += dest.len();
        Ok(())
    }
}

/// The sending half: frames payloads and seals them in place into one output buffer.
pub(crate) struct PacketWriter {
    pub(crate) prot: PacketProtection,
    pub(crate) seq: u32,
    pub(crate) bytes: u64,
    padding: PaddingPool,
}

impl PacketWriter {
    pub(crate) fn new() -> Self {
        PacketWriter {
            prot: PacketProtection::plain(),
            seq: 0,
            bytes: 0,
            padding: PaddingPool::default(),
        }
    }

    /// Let go of the padding pool (a quiet connection keeps none).
    pub(crate) fn shrink(&mut self) {
        self.padding = PaddingPool::default();
    }

    /// Append one sealed packet whose payload (about `payload_hint` bytes) `fill`
    /// writes straight into the output buffer.
    pub(crate) fn write_with(
        &mut self,
        output: &mut SealedOutput,
        rng: &dyn Rng,
        payload_hint: usize,
        fill: impl FnOnce(&mut BytesMut),
    ) -> Result<(), Error> {
        let out = output.room_for(payload_hint + PACKET_OVERHEAD);
        let start = out.len();
        out.put_bytes(0, 5);
        fill(out);
        let payload_len = out.len() - start - 5;
        let block = self.prot.block_size();
        let aligned = if self.prot.length_outside_alignment() {
            1 + payload_len
        } else {
            5 + payload_len
        };
        let mut pad = block - aligned % block;
        if pad < 4 {
            pad += block;
        }
        let packet_len = 1 + payload_len + pad;
        out[start..start + 4].copy_from_slice(&(packet_len as u32).to_be_bytes());
        out[start + 4] = pad as u8;
        let pad_start = out.len();
        out.put_bytes(0, pad);
        self.padding.fill(rng, &mut out[pad_start..])?;
        let tag_len = self.prot.tag_len();
        let body_end = out.len();
        out.put_bytes(0, tag_len);
        let (body, tag) = out[start..].split_at_mut(body_end - start);
        self.prot.seal_packet(self.seq, body, tag)?;
        self.seq = self.seq.wrapping_add(1);
        self.bytes += (out.len() - start) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::cipher::{CipherAlg, Direction};
    use crate::crypto::mac::MacAlg;
    use crate::crypto::rng::SeededRng;
    use proptest::prelude::*;

    fn pair(c: CipherAlg, m: Option<MacAlg>) -> (PacketWriter, PacketReader) {
        let key = [7u8; 64];
        let iv = [9u8; 16];
        let mk = m.map(|m| (m, &key[..]));
        let mut w = PacketWriter::new();
        let mut r = PacketReader::new();
        w.prot = PacketProtection::new(Direction::Seal, c, &key, &iv, mk).unwrap();
        r.prot = PacketProtection::new(Direction::Open, c, &key, &iv, mk).unwrap();
        (w, r)
    }

    fn suites() -> Vec<(CipherAlg, Option<MacAlg>)> {
        let mut v = vec![];
        for &c in CipherAlg::ALL {
            if c.is_aead() {
                v.push((c, None));
            } else {
                for &m in MacAlg::ALL {
                    v.push((c, Some(m)));
                }
            }
        }
        v
    }

    /// Seal one packet and append its bytes to `wire`.
    fn seal_into(
        w: &mut PacketWriter,
        wire: &mut BytesMut,
        rng: &dyn super::Rng,
        fill: impl FnOnce(&mut BytesMut),
    ) {
        let mut out = SealedOutput::new();
        w.write_with(&mut out, rng, 0, fill).unwrap();
        while let Some(b) = out.pop() {
            wire.extend_from_slice(&b);
        }
    }

    #[test]
    fn padding_is_random_and_one_rng_call_serves_many_packets() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Counting(AtomicUsize, SeededRng);
        impl super::Rng for Counting {
            fn fill(&self, dest: &mut [u8]) -> Result<(), crate::error::RngError> {
                self.0.fetch_add(1, Ordering::Relaxed);
                self.1.fill(dest)
            }
        }
        let rng = Counting(AtomicUsize::new(0), SeededRng::new(9));
        let mut w = PacketWriter::new();
        let mut wire = BytesMut::new();
        for _ in 0..100 {
            seal_into(&mut w, &mut wire, &rng, |o| o.extend_from_slice(&[7; 20]));
        }
        // Plain packets of 20 bytes: 4 + 1 + 20 + 7 padding = 32 each.
        assert_eq!(wire.len(), 3200);
        assert!(rng.0.load(Ordering::Relaxed) <= 2);
        let pads: Vec<&[u8]> = wire.chunks(32).map(|p| &p[25..]).collect();
        assert!(pads.iter().all(|p| p.len() == 7));
        assert_ne!(pads[0], pads[1], "each packet gets fresh padding bytes");
        w.shrink();
        assert!(w.padding.bytes.is_none());
    }

    proptest! {
        #[test]
        fn seal_open_round_trip_every_suite(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..600), 1..6)) {
            let rng = SeededRng::new(1);
            for (c, m) in suites() {
                let (mut w, mut r) = pair(c, m);
                let mut wire = BytesMut::new();
                for p in &payloads {
                    seal_into(&mut w, &mut wire, &rng, |o| o.extend_from_slice(p));
                }
                // Feed in two halves to exercise partial reads.
                let mut rx = BytesMut::new();
                let half = wire.len() / 2;
                rx.extend_from_slice(&wire[..half]);
                let mut got = vec![];
                while let Some(p) = r.read(&mut rx, 1 << 18).unwrap() { got.push(p); }
                rx.extend_from_slice(&wire[half..]);
                while let Some(p) = r.read(&mut rx, 1 << 18).unwrap() { got.push(p); }
                prop_assert_eq!(got.len(), payloads.len());
                for (g, p) in got.iter().zip(&payloads) { prop_assert_eq!(&g[..], &p[..]); }
            }
        }

        #[test]
        fn any_flipped_bit_is_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let rng = SeededRng::new(2);
            for (c, m) in suites() {
                let (mut w, mut r) = pair(c, m);
                let mut wire = BytesMut::new();
                seal_into(&mut w, &mut wire, &rng, |o| o.extend_from_slice(b"some payload bytes"));
                let i = pos.index(wire.len());
                wire[i] ^= 1 << bit;
                let res = r.read(&mut wire, 1 << 18);
                prop_assert!(!matches!(res, Ok(Some(_))), "{:?} {:?} accepted a corrupted packet", c, m);
            }
        }
    }

    #[test]
    fn length_over_limit_and_bad_padding_are_errors() {
        let mut r = PacketReader::new();
        let mut b = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0][..]);
        assert_eq!(
            r.read(&mut b, 1 << 18),
            Err(Error::Peer(Violation::PacketLength(u32::MAX)))
        );
        // length 12, padding 2 (< 4): bad padding.
        let mut r = PacketReader::new();
        let mut b = BytesMut::from(&[0, 0, 0, 12, 2, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0][..]);
        assert_eq!(
            r.read(&mut b, 1 << 18),
            Err(Error::Peer(Violation::BadPadding))
        );
    }

    #[test]
    fn authentic_packets_with_empty_payloads_are_typed_errors() {
        // Go CVE-2020-9283 / CVE-2021-43565 class: empty or short plaintext under
        // every cipher. An authentic packet with no payload byte (not even a message
        // number) is a typed error.
        let rng = SeededRng::new(3);
        for (c, m) in suites() {
            let (mut w, mut r) = pair(c, m);
            let mut wire = BytesMut::new();
            seal_into(&mut w, &mut wire, &rng, |_| {});
            assert_eq!(
                r.read(&mut wire, 1 << 18),
                Err(Error::Peer(Violation::BadPadding)),
                "{c:?} {m:?}"
            );
            // Every short prefix waits for more bytes or fails: it never panics.
            let (mut w, _) = pair(c, m);
            let mut full = BytesMut::new();
            seal_into(&mut w, &mut full, &rng, |o| o.extend_from_slice(b"x"));
            for cut in 0..full.len() {
                let (_, mut r) = pair(c, m);
                let mut part = BytesMut::from(&full[..cut]);
                assert!(matches!(r.read(&mut part, 1 << 18), Ok(None) | Err(_)));
            }
        }
    }
}
