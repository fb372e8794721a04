//! One output stream's bytes between the application and the connection: bytes
//! written from borrowed slices are copied into a growing tail, owned [`Bytes`] are
//! queued whole with no copy, and the order of the two is kept.

use std::collections::VecDeque;

use ssh_proto::bytes::{Buf, Bytes, BytesMut};

/// The smallest allocation for copied bytes.
const TAIL_CHUNK: usize = 32 * 1024;

/// A channel output stream's queued bytes, in the order the application gave them.
#[derive(Debug, Default)]
pub(crate) struct StreamOut {
    /// Owned buffers handed over whole, all before `tail`.
    owned: VecDeque<Bytes>,
    /// Bytes copied from slices, after every owned buffer.
    tail: BytesMut,
    len: usize,
}

impl StreamOut {
    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy `data` in after everything queued. A full tail is queued as it is and a
    /// new one started, so growing never copies the bytes already written.
    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        if self.tail.capacity() - self.tail.len() < data.len() {
            if !self.tail.is_empty() {
                self.owned.push_back(self.tail.split().freeze());
            }
            // Takes the old memory back when everything cut from it has been sent.
            self.tail.reserve(data.len().max(TAIL_CHUNK));
        }
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// Queue `data` after everything queued, without copying it.
    pub(crate) fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if !self.tail.is_empty() {
            self.owned.push_back(self.tail.split().freeze());
        }
        self.len += data.len();
        self.owned.push_back(data);
    }

    /// Up to `N` queued runs in order (owned buffers, then the tail), and how many.
    pub(crate) fn runs<const N: usize>(&self) -> ([&[u8]; N], usize) {
        let mut runs: [&[u8]; N] = [&[]; N];
        let mut k = 0;
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        for r in self.owned.iter().map(|b| &b[..]).chain(tail).take(N) {
            runs[k] = r;
            k += 1;
        }
        (runs, k)
    }

    /// Drop the first `n` queued bytes (they may span several runs).
    pub(crate) fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            match self.owned.front_mut() {
                Some(b) => {
                    let k = b.len().min(n);
                    b.advance(k);
                    n -= k;
                    if b.is_empty() {
                        self.owned.pop_front();
                    }
                }
                None => {
                    self.tail.advance(n);
                    n = 0;
                }
            }
        }
    }

    /// Let go of the tail's memory once it is empty.
    pub(crate) fn shrink(&mut self) {
        if self.tail.is_empty() && self.tail.capacity() > 0 {
            self.tail = BytesMut::new();
        }
        if self.owned.is_empty() && self.owned.capacity() > 0 {
            self.owned = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut StreamOut, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        while !q.is_empty() {
            let n = q.runs::<1>().0[0].len().min(step);
            got.extend_from_slice(&q.runs::<1>().0[0][..n]);
            q.advance(n);
        }
        got
    }

    #[test]
    fn slices_and_owned_buffers_come_out_in_the_order_given() {
        let mut q = StreamOut::default();
        q.extend_from_slice(b"ab");
        q.push(Bytes::from_static(b"cde"));
        q.push(Bytes::new());
        q.extend_from_slice(b"f");
        q.extend_from_slice(b"gh");
        q.push(Bytes::from_static(b"ij"));
        assert_eq!(q.len(), 10);
        assert_eq!(drain(&mut q, 3), b"abcdefghij");
        assert_eq!(q.len(), 0);
        assert!(q.runs::<1>().0[0].is_empty());
    }

    #[test]
    fn runs_list_the_queue_in_order_and_advance_crosses_them() {
        let mut q = StreamOut::default();
        q.push(Bytes::from_static(b"ab"));
        q.push(Bytes::from_static(b"cde"));
        q.extend_from_slice(b"fg");
        let (runs, k) = q.runs::<8>();
        assert_eq!(&runs[..k], &[&b"ab"[..], b"cde", b"fg"]);
        let (runs, k) = q.runs::<2>();
        assert_eq!(&runs[..k], &[&b"ab"[..], b"cde"]);
        q.advance(4);
        assert_eq!(q.len(), 3);
        let (runs, k) = q.runs::<8>();
        assert_eq!(&runs[..k], &[&b"e"[..], b"fg"]);
        q.advance(3);
        assert!(q.is_empty());
        assert_eq!(q.runs::<4>().1, 0);
    }

    #[test]
    fn an_owned_buffer_is_sent_from_its_own_memory() {
        let data = Bytes::from(vec![7u8; 1000]);
        let mut q = StreamOut::default();
        q.push(data.clone());
        assert_eq!(q.runs::<1>().0[0].as_ptr(), data.as_ptr());
        q.advance(10);
        assert_eq!(q.runs::<1>().0[0].as_ptr(), data[10..].as_ptr());
    }

    #[test]
    fn copied_bytes_past_a_full_tail_start_a_new_one_without_moving_the_old() {
        let mut q = StreamOut::default();
        q.extend_from_slice(&[1; 1000]);
        let first = q.runs::<1>().0[0].as_ptr();
        q.extend_from_slice(&[2; TAIL_CHUNK]);
        let (runs, k) = q.runs::<4>();
        assert_eq!(k, 2);
        assert_eq!(
            runs[0].as_ptr(),
            first,
            "the first bytes stayed where they were"
        );
        assert_eq!((runs[0].len(), runs[1].len()), (1000, TAIL_CHUNK));
        assert_eq!(q.len(), 1000 + TAIL_CHUNK);
    }

    #[test]
    fn shrink_lets_go_of_drained_memory_only() {
        let mut q = StreamOut::default();
        q.extend_from_slice(&[1; 4096]);
        q.shrink();
        assert_eq!(q.len(), 4096);
        let n = q.runs::<1>().0[0].len();
        q.advance(n);
        q.shrink();
        assert_eq!(q.tail.capacity(), 0);
    }
}
