//! The sealed output: packets are sealed in place at the end of one buffer, and full
//! stretches of it are frozen into chunks for the socket. A packet that does not fit
//! in the buffer's free room starts a new buffer instead of moving the bytes already
//! sealed (growing one buffer would copy everything in it each time it doubles).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// The first buffer's size, and the size a quiet connection returns to.
const MIN_CHUNK: usize = 16 * 1024;
/// The largest buffer a busy connection allocates at once (and so the largest write).
const MAX_CHUNK: usize = 256 * 1024;

/// Sealed bytes waiting for the socket, in order: `ready` chunks, then `current`.
#[derive(Debug)]
pub(crate) struct SealedOutput {
    ready: VecDeque<Bytes>,
    ready_len: usize,
    current: BytesMut,
    /// The buffer filled before `current`: the two take turns, so once the socket
    /// has taken every chunk cut from one, its memory is filled again instead of a
    /// new allocation.
    spare: BytesMut,
    /// How much the next buffer allocates: doubles each time one fills up.
    next_chunk: usize,
}

impl SealedOutput {
    pub(crate) fn new() -> Self {
        SealedOutput {
            ready: VecDeque::new(),
            ready_len: 0,
            current: BytesMut::new(),
            spare: BytesMut::new(),
            next_chunk: MIN_CHUNK,
        }
    }

    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.ready_len + self.current.len()
    }

    /// Whether nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer to append to, with at least `n` bytes of free room.
    pub(crate) fn room_for(&mut self, n: usize) -> &mut BytesMut {
        if self.current.capacity() - self.current.len() < n {
            if !self.current.is_empty() {
                let full = self.current.split().freeze();
                self.ready_len += full.len();
                self.ready.push_back(full);
                self.next_chunk = (self.next_chunk * 2).min(MAX_CHUNK);
            }
            std::mem::swap(&mut self.current, &mut self.spare);
            // Reuses the buffer's allocation when every chunk cut from it has been
            // written.
            self.current.reserve(n.max(self.next_chunk));
        }
        &mut self.current
    }

    /// The next chunk for the socket.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        if let Some(b) = self.ready.pop_front() {
            self.ready_len -= b.len();
            return Some(b);
        }
        if self.current.is_empty() {
            None
        } else {
            Some(self.current.split().freeze())
        }
    }

    /// Let go of empty buffers (a quiet connection keeps none).
    pub(crate) fn shrink(&mut self) {
        if self.ready.is_empty() && self.ready.capacity() > 0 {
            self.ready = VecDeque::new();
        }
        if self.current.is_empty() && self.current.capacity() > 0 {
            self.current = BytesMut::new();
        }
        if self.spare.capacity() > 0 {
            self.spare = BytesMut::new();
        }
        if self.is_empty() {
            self.next_chunk = MIN_CHUNK;
        }
    }

    /// Bytes allocated and not yet handed out (for the idle-memory checks).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.current.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_and_a_full_buffer_is_not_moved() {
        let mut out = SealedOutput::new();
        let mut expect = Vec::new();
        for i in 0..100u32 {
            let n = 1000 + (i as usize * 37) % 5000;
            let buf = out.room_for(n);
            let before = buf.as_ptr() as usize + buf.len();
            let piece = vec![i as u8; n];
            buf.extend_from_slice(&piece);
            // The packet went where the room was promised: no reallocation.
            assert_eq!(before, buf.as_ptr() as usize + buf.len() - n);
            expect.extend_from_slice(&piece);
        }
        assert_eq!(out.len(), expect.len());
        let mut got = Vec::new();
        while let Some(b) = out.pop() {
            assert!(b.len() <= MAX_CHUNK);
            got.extend_from_slice(&b);
        }
        assert_eq!(got, expect);
        assert!(out.is_empty());
        out.shrink();
        assert_eq!(out.capacity(), 0);
    }

    #[test]
    fn chunks_grow_while_busy_and_reset_when_quiet() {
        let mut out = SealedOutput::new();
        for _ in 0..64 {
            out.room_for(8 * 1024).extend_from_slice(&[0; 8 * 1024]);
        }
        assert_eq!(out.next_chunk, MAX_CHUNK);
        while out.pop().is_some() {}
        out.shrink();
        assert_eq!(out.next_chunk, MIN_CHUNK);
        // A large packet gets a buffer of its own size.
        assert!(out.room_for(MAX_CHUNK * 2).capacity() >= MAX_CHUNK * 2);
    }
}
