//! Types that hold secrets: zeroed on drop and masked in `Debug` output.

use std::fmt;
use zeroize::Zeroizing;

/// A secret string (a password, say): zeroed when dropped, shown as `***` in logs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wrap a secret.
    pub fn new(s: String) -> Self {
        SecretString(Zeroizing::new(s))
    }

    /// The secret itself. Take care not to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString::new(s.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// Secret bytes (a shared secret, key material): zeroed when dropped, masked in `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wrap secret bytes.
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(v))
    }

    /// The secret bytes. Take care not to log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, ***)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_masked() {
        let s = SecretString::from("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        let b = SecretBytes::new(b"topsecret".to_vec());
        assert!(!format!("{b:?}").contains("topsecret"));
    }
}
