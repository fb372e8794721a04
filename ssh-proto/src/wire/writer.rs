use bytes::{BufMut, BytesMut};

/// Appends SSH-encoded fields to a `BytesMut`.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut BytesMut,
}

impl<'a> Writer<'a> {
    /// A writer appending to `buf`.
    pub fn new(buf: &'a mut BytesMut) -> Self {
        Writer { buf }
    }

    /// Bytes in the underlying buffer.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the underlying buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Raw bytes with no length prefix.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// byte
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.put_u8(v);
        self
    }

    /// boolean
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v as u8)
    }

    /// uint32
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.put_u32(v);
        self
    }

    /// uint64
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.put_u64(v);
        self
    }

    /// string. Lengths above u32::MAX cannot be represented and are truncated by the caller's limits.
    pub fn string(&mut self, s: &[u8]) -> &mut Self {
        self.buf.put_u32(s.len() as u32);
        self.buf.extend_from_slice(s);
        self
    }

    /// string from text.
    pub fn utf8(&mut self, s: &str) -> &mut Self {
        self.string(s.as_bytes())
    }

    /// name-list from names.
    pub fn name_list<S: AsRef<str>>(&mut self, names: &[S]) -> &mut Self {
        let len =
            names.iter().map(|n| n.as_ref().len()).sum::<usize>() + names.len().saturating_sub(1);
        self.buf.put_u32(len as u32);
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.buf.put_u8(b',');
            }
            self.buf.extend_from_slice(n.as_ref().as_bytes());
        }
        self
    }

    /// mpint from an unsigned big-endian magnitude (leading zeros allowed).
    pub fn mpint_unsigned(&mut self, magnitude: &[u8]) -> &mut Self {
        let start = magnitude
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(magnitude.len());
        let m = &magnitude[start..];
        let pad = m.first().is_some_and(|b| b & 0x80 != 0);
        self.buf.put_u32((m.len() + pad as usize) as u32);
        if pad {
            self.buf.put_u8(0);
        }
        self.buf.extend_from_slice(m);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Reader;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scalars_round_trip(a: u8, b: bool, c: u32, d: u64) {
            let mut buf = BytesMut::new();
            Writer::new(&mut buf).u8(a).bool(b).u32(c).u64(d);
            let mut r = Reader::new(&buf);
            prop_assert_eq!(r.u8().unwrap(), a);
            prop_assert_eq!(r.bool().unwrap(), b);
            prop_assert_eq!(r.u32().unwrap(), c);
            prop_assert_eq!(r.u64().unwrap(), d);
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn string_round_trip(s: Vec<u8>, t in "\\PC*") {
            let mut buf = BytesMut::new();
            Writer::new(&mut buf).string(&s).utf8(&t);
            let mut r = Reader::new(&buf);
            prop_assert_eq!(r.string().unwrap(), &s[..]);
            prop_assert_eq!(r.utf8().unwrap(), &t[..]);
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn name_list_round_trip(names in proptest::collection::vec("[a-z0-9@.-]{1,20}", 0..8)) {
            let mut buf = BytesMut::new();
            Writer::new(&mut buf).name_list(&names);
            let mut r = Reader::new(&buf);
            let got: Vec<&str> = crate::wire::names(r.name_list().unwrap()).collect();
            prop_assert_eq!(got, names.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        }

        #[test]
        fn mpint_round_trip(m: Vec<u8>) {
            let mut buf = BytesMut::new();
            Writer::new(&mut buf).mpint_unsigned(&m);
            let mut r = Reader::new(&buf);
            let got = r.mpint_positive().unwrap();
            let start = m.iter().position(|&b| b != 0).unwrap_or(m.len());
            prop_assert_eq!(got, &m[start..]);
        }

        #[test]
        fn truncated_reads_fail(s: Vec<u8>, cut in 0usize..64) {
            let mut buf = BytesMut::new();
            Writer::new(&mut buf).string(&s);
            let cut = cut.min(buf.len());
            if cut < buf.len() {
                prop_assert!(Reader::new(&buf[..cut]).string().is_err());
            }
        }
    }

    #[test]
    fn mpint_rfc4251_examples() {
        let cases: &[(&[u8], &[u8])] = &[
            (&[], &[0, 0, 0, 0]),
            (&[0x80], &[0, 0, 0, 2, 0x00, 0x80]),
            (
                &[0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7],
                &[0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7],
            ),
        ];
        for (m, enc) in cases {
            let mut buf = BytesMut::new();
            Writer::new(&mut buf).mpint_unsigned(m);
            assert_eq!(&buf[..], *enc);
        }
        assert!(Reader::new(&[0, 0, 0, 2, 0, 1]).mpint().is_err());
        assert!(Reader::new(&[0, 0, 0, 1, 0x80]).mpint_positive().is_err());
    }
}
