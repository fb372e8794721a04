//! Who may connect, decided before a single byte is sent: allowed and blocked address
//! patterns with `*` wildcards (reference: AllowedClients / BlockedClients) and a
//! ceiling on live connections.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ssh_proto::ConfigError;

/// The most connections a server may be configured to hold.
pub const MAX_CONNECTIONS_CEILING: usize = 100_000;

/// An address pattern: an IPv4 or IPv6 address in its usual text form where `*`
/// matches any run of characters ("192.168.*", "10.0.0.*", "fe80::*", "*").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPattern(String);

impl FromStr for AddressPattern {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '*'));
        if !ok {
            return Err(ConfigError(
                "address pattern: hex digits, '.', ':' and '*' only",
            ));
        }
        Ok(AddressPattern(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for AddressPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AddressPattern {
    /// Whether `ip` matches. An IPv4 address seen through an IPv6 socket
    /// (::ffff:a.b.c.d) matches IPv4 patterns too.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let text = ip.to_string();
        if wildcard(self.0.as_bytes(), text.as_bytes()) {
            return true;
        }
        match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .is_some_and(|v4| wildcard(self.0.as_bytes(), v4.to_string().as_bytes())),
            IpAddr::V4(_) => false,
        }
    }
}

/// Match with `*` as any run (iterative, linear in practice; no recursion).
fn wildcard(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pat.len() && pat[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The address matched a blocked pattern.
    Blocked(AddressPattern),
    /// An allowed list is set and the address matched none of it.
    NotAllowed,
    /// The server already holds its maximum of connections.
    TooManyConnections {
        /// The configured maximum.
        limit: usize,
    },
    /// The application's connection hook said no.
    ByApplication,
    /// The server is shutting down.
    ShuttingDown,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Blocked(p) => write!(f, "address blocked by pattern {p}"),
            Refusal::NotAllowed => f.write_str("address not in the allowed list"),
            Refusal::TooManyConnections { limit } => {
                write!(f, "connection limit reached ({limit} live connections)")
            }
            Refusal::ByApplication => f.write_str("refused by the application"),
            Refusal::ShuttingDown => f.write_str("server is shutting down"),
        }
    }
}

/// The admission rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionPolicy {
    /// Most live connections (default 1000, at most [`MAX_CONNECTIONS_CEILING`]).
    pub max_connections: usize,
    /// When not empty, only addresses matching one of these may connect.
    pub allowed: Vec<AddressPattern>,
    /// Addresses matching any of these are refused (checked before `allowed`).
    pub blocked: Vec<AddressPattern>,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        AdmissionPolicy {
            max_connections: 1000,
            allowed: Vec::new(),
            blocked: Vec::new(),
        }
    }
}

impl AdmissionPolicy {
    /// Check the limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS_CEILING {
            return Err(ConfigError("max_connections must be 1..=100000"));
        }
        Ok(())
    }

    /// Whether the address rules let `ip` in (the count is the registry's job).
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Refusal> {
        if let Some(p) = self.blocked.iter().find(|p| p.matches(ip)) {
            return Err(Refusal::Blocked(p.clone()));
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|p| p.matches(ip)) {
            return Err(Refusal::NotAllowed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> AddressPattern {
        s.parse().unwrap()
    }

    #[test]
    fn wildcards_match_ipv4_ipv6_and_mapped_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(pat("192.168.*").matches(ip("192.168.10.4")));
        assert!(!pat("192.168.*").matches(ip("192.169.0.1")));
        assert!(pat("*.1").matches(ip("10.0.0.1")));
        assert!(!pat("10.0.0.1").matches(ip("10.0.0.12")));
        assert!(pat("*").matches(ip("::1")));
        assert!(pat("fe80::*").matches(ip("FE80::1:2")));
        assert!(pat("127.0.0.*").matches(ip("::ffff:127.0.0.9")));
        assert!(pat("1*2*3").matches(ip("1.2.3.123")));
        assert!("10.0.0.0/8".parse::<AddressPattern>().is_err());
        assert!("".parse::<AddressPattern>().is_err());
    }

    #[test]
    fn blocked_wins_over_allowed() {
        let p = AdmissionPolicy {
            allowed: vec![pat("127.*")],
            blocked: vec![pat("127.0.0.2")],
            ..Default::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(p.check_address(ip("127.0.0.1")), Ok(()));
        assert_eq!(
            p.check_address(ip("127.0.0.2")),
            Err(Refusal::Blocked(pat("127.0.0.2")))
        );
        assert_eq!(p.check_address(ip("10.1.1.1")), Err(Refusal::NotAllowed));
        assert!(AdmissionPolicy {
            max_connections: 100_001,
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    proptest::proptest! {
        #[test]
        fn matching_never_panics(p in "[0-9a-f.:*]{1,20}", a in proptest::array::uniform4(0u8..)) {
            let ip = IpAddr::from(a);
            let pat: AddressPattern = p.parse().unwrap();
            let _ = pat.matches(ip);
            proptest::prop_assert!("*".parse::<AddressPattern>().unwrap().matches(ip));
        }
    }
}
