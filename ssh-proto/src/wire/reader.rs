use bytes::Bytes;

use crate::error::DecodeError;

/// A checked cursor over an SSH-encoded buffer: every read checks the length first.
///
/// When built over a [`Bytes`] with [`Reader::from_bytes`], strings can be taken as
/// zero-copy `Bytes` slices with [`Reader::string_bytes`].
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    origin: Option<&'a Bytes>,
}

impl<'a> Reader<'a> {
    /// A reader over a plain slice.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            origin: None,
        }
    }

    /// A reader over `Bytes`, whose strings can be sliced out without copying.
    pub fn from_bytes(buf: &'a Bytes) -> Self {
        Reader {
            buf: buf.as_ref(),
            pos: 0,
            origin: Some(buf),
        }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread tail, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Fail unless everything was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingData)
        }
    }

    /// Take `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Take the rest of the buffer.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Take the rest of the buffer as `Bytes` (zero-copy when built from `Bytes`).
    pub fn take_rest_bytes(&mut self) -> Bytes {
        let s = self.take_rest();
        self.to_bytes(s)
    }

    /// byte
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// boolean: any non-zero value is true (RFC 4251 §5).
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.u8()? != 0)
    }

    /// uint32
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// uint64
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// string (arbitrary bytes)
    pub fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// string as zero-copy `Bytes` when the reader was built from `Bytes`.
    pub fn string_bytes(&mut self) -> Result<Bytes, DecodeError> {
        let s = self.string()?;
        Ok(self.to_bytes(s))
    }

    /// string that must be UTF-8.
    pub fn utf8(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.string()?).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// name-list: a string of comma-separated US-ASCII names.
    pub fn name_list(&mut self) -> Result<&'a str, DecodeError> {
        let s = self.string()?;
        if !s.iter().all(|b| (0x21..0x7f).contains(b)) {
            return Err(DecodeError::Invalid("name-list is not printable ASCII"));
        }
        // Checked ASCII above, so this cannot fail.
        std::str::from_utf8(s).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// mpint, returned as the big-endian two's-complement bytes as sent.
    pub fn mpint(&mut self) -> Result<&'a [u8], DecodeError> {
        let s = self.string()?;
        if s.len() >= 2 && ((s[0] == 0 && s[1] & 0x80 == 0) || (s[0] == 0xff && s[1] & 0x80 != 0)) {
            return Err(DecodeError::Invalid("mpint has unnecessary leading bytes"));
        }
        Ok(s)
    }

    /// mpint that must not be negative, returned as its magnitude without leading zeros.
    pub fn mpint_positive(&mut self) -> Result<&'a [u8], DecodeError> {
        let s = self.mpint()?;
        if s.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(DecodeError::Invalid("negative mpint"));
        }
        let start = s.iter().position(|&b| b != 0).unwrap_or(s.len());
        Ok(&s[start..])
    }

    fn to_bytes(&self, s: &[u8]) -> Bytes {
        match self.origin {
            Some(b) if !s.is_empty() => b.slice_ref(s),
            _ => Bytes::copy_from_slice(s),
        }
    }
}
