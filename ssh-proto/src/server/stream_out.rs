//! One output stream's bytes between the application and the connection: bytes
//! written from borrowed slices are copied into a growing tail, owned [`Bytes`] are
//! queued whole with no copy, and the order of the two is kept.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

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

    /// Copy `data` in after everything queued.
    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
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

    /// The first run of queued bytes (empty when nothing is queued).
    pub(crate) fn front(&self) -> &[u8] {
        match self.owned.front() {
            Some(b) => b,
            None => &self.tail,
        }
    }

    /// Drop the first `n` bytes of [`StreamOut::front`].
    pub(crate) fn advance(&mut self, n: usize) {
        match self.owned.front_mut() {
            Some(b) => {
                b.advance(n);
                if b.is_empty() {
                    self.owned.pop_front();
                }
            }
            None => self.tail.advance(n),
        }
        self.len -= n;
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
            let n = q.front().len().min(step);
            got.extend_from_slice(&q.front()[..n]);
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
        assert!(q.front().is_empty());
    }

    #[test]
    fn an_owned_buffer_is_sent_from_its_own_memory() {
        let data = Bytes::from(vec![7u8; 1000]);
        let mut q = StreamOut::default();
        q.push(data.clone());
        assert_eq!(q.front().as_ptr(), data.as_ptr());
        q.advance(10);
        assert_eq!(q.front().as_ptr(), data[10..].as_ptr());
    }

    #[test]
    fn shrink_lets_go_of_drained_memory_only() {
        let mut q = StreamOut::default();
        q.extend_from_slice(&[1; 4096]);
        q.shrink();
        assert_eq!(q.len(), 4096);
        let n = q.front().len();
        q.advance(n);
        q.shrink();
        assert_eq!(q.tail.capacity(), 0);
    }
}
