//! The identification-string exchange (RFC 4253 §4.2).

use bytes::BytesMut;

use crate::error::{Error, Violation};

/// Reads the peer's identification line, tolerating a bounded number of lines before it.
#[derive(Debug)]
pub(crate) struct VersionReader {
    lines_seen: usize,
    max_lines: usize,
    max_line_len: usize,
}

impl VersionReader {
    pub(crate) fn new(max_lines: usize, max_line_len: usize) -> Self {
        VersionReader {
            lines_seen: 0,
            max_lines,
            max_line_len,
        }
    }

    /// Consume complete lines from `buf`. Returns the identification line (without CR LF)
    /// once it arrives; `Ok(None)` means more input is needed.
    pub(crate) fn read(&mut self, buf: &mut BytesMut) -> Result<Option<String>, Error> {
        loop {
            let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
                if buf.len() > self.max_line_len {
                    return Err(Error::Peer(Violation::BadVersion("line too long")));
                }
                return Ok(None);
            };
            if nl > self.max_line_len {
                return Err(Error::Peer(Violation::BadVersion("line too long")));
            }
            let line = buf.split_to(nl + 1);
            let mut text = &line[..nl];
            if text.last() == Some(&b'\r') {
                text = &text[..text.len() - 1];
            }
            if text.starts_with(b"SSH-") {
                if text.len() > 253 {
                    return Err(Error::Peer(Violation::BadVersion(
                        "identification line longer than 255 bytes",
                    )));
                }
                if text.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
                    return Err(Error::Peer(Violation::BadVersion(
                        "identification line is not printable ASCII",
                    )));
                }
                let s = String::from_utf8_lossy(text).into_owned();
                if !(s.starts_with("SSH-2.0-") || s.starts_with("SSH-1.99-")) {
                    return Err(Error::Peer(Violation::BadVersion(
                        "unsupported protocol version",
                    )));
                }
                return Ok(Some(s));
            }
            self.lines_seen += 1;
            if self.lines_seen > self.max_lines {
                return Err(Error::Peer(Violation::BadVersion(
                    "too many lines before identification",
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Result<Option<String>, Error> {
        VersionReader::new(3, 300).read(&mut BytesMut::from(input))
    }

    #[test]
    fn accepts_2_0_and_1_99_with_preamble() {
        assert_eq!(
            read(b"hello\r\nSSH-2.0-OpenSSH_9.2\r\nrest")
                .unwrap()
                .as_deref(),
            Some("SSH-2.0-OpenSSH_9.2")
        );
        assert_eq!(
            read(b"SSH-1.99-x\n").unwrap().as_deref(),
            Some("SSH-1.99-x")
        );
        assert_eq!(read(b"SSH-2.0-partial").unwrap(), None);
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(read(b"SSH-1.5-old\r\n").is_err());
        assert!(read(b"a\nb\nc\nd\nSSH-2.0-x\r\n").is_err());
        assert!(read(&[b'x'; 400]).is_err());
        assert!(read(b"SSH-2.0-\x01bad\r\n").is_err());
    }
}
