//! Source address matching as OpenSSH does it: glob patterns (`*`, `?`), `!` negation
//! and CIDR `address/masklen` entries. Used by the `from=` option of authorized_keys
//! lines and by certificates' `source-address` critical option.
//!
//! Nothing here panics or recurses: glob matching is iterative and every entry is
//! checked in time proportional to its length times the text's.

use std::net::IpAddr;

/// What one pattern-list entry is, read as an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CidrEntry {
    /// An address with its mask length (the full length when none was written).
    Network(IpAddr, u8),
    /// Not an address (a host name or glob pattern).
    NotAddress,
    /// An address whose mask is too long for its family, or that has bits set
    /// beyond its mask (`10.0.0.1/8`): OpenSSH refuses the whole list.
    Inconsistent,
}

/// Read a pattern-list entry as `address[/masklen]`, as OpenSSH's `addr_pton_cidr`
/// does: a mask that is not all digits, or above 128, makes the entry not an address.
pub(crate) fn parse_cidr(entry: &str) -> CidrEntry {
    let (addr, mask) = match entry.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (entry, None),
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return CidrEntry::NotAddress;
    };
    let full = family_bits(addr);
    let len = match mask {
        None => full,
        Some(m) => {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
                return CidrEntry::NotAddress;
            }
            // Saturates long digit strings; anything above 128 is "not an address".
            let v = m.bytes().fold(0u32, |acc, b| {
                acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
            });
            if v > 128 {
                return CidrEntry::NotAddress;
            }
            v as u8
        }
    };
    if len > full || masked(addr, len) != addr {
        return CidrEntry::Inconsistent;
    }
    CidrEntry::Network(addr, len)
}

/// Whether `addr` lies in `net/masklen` (addresses of another family never do; an
/// IPv4-mapped IPv6 address counts as its IPv4 address).
pub(crate) fn cidr_contains(net: IpAddr, masklen: u8, addr: IpAddr) -> bool {
    let addr = canonical(addr);
    let same_family = matches!(
        (net, addr),
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_))
    );
    same_family && masklen <= family_bits(net) && masked(addr, masklen) == masked(net, masklen)
}

/// Glob match of `text` against `pattern`: `*` matches any run of characters
/// (including none), `?` exactly one, everything else itself (ASCII case folded when
/// `ignore_case`). Iterative, at most O(pattern × text) steps.
pub(crate) fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || eq(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character and retry after it.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The outcome of matching a pattern list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListMatch {
    /// No entry matched.
    None,
    /// A positive entry matched and no negated one did.
    Positive,
    /// A negated entry matched: refused whatever else matches.
    Negated,
    /// The list is malformed (an empty entry, an inconsistent CIDR entry).
    Malformed,
}

/// The address half of OpenSSH's `addr_match_list`: CIDR entries are compared as
/// networks, every other entry as a glob against the address's text form.
fn address_list_match<S: AsRef<str>>(list: &[S], addr: IpAddr) -> ListMatch {
    let addr = canonical(addr);
    let text = addr.to_string();
    let mut result = ListMatch::None;
    for entry in list {
        let entry = entry.as_ref();
        let (negated, pattern) = match entry.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        if pattern.is_empty() {
            return ListMatch::Malformed;
        }
        let hit = match parse_cidr(pattern) {
            CidrEntry::Network(net, len) => cidr_contains(net, len, addr),
            CidrEntry::Inconsistent => return ListMatch::Malformed,
            CidrEntry::NotAddress => wildcard_match(pattern, &text, false),
        };
        if hit {
            if negated {
                return ListMatch::Negated;
            }
            result = ListMatch::Positive;
        }
    }
    result
}

/// The host name half (OpenSSH's `match_hostname`): every entry a case-insensitive
/// glob against the name.
fn host_list_match<S: AsRef<str>>(list: &[S], host: &str) -> ListMatch {
    let mut result = ListMatch::None;
    for entry in list {
        let entry = entry.as_ref();
        let (negated, pattern) = match entry.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        if wildcard_match(pattern, host, true) {
            if negated {
                return ListMatch::Negated;
            }
            result = ListMatch::Positive;
        }
    }
    result
}

/// Whether a client at `addr` (with reverse-resolved `host` name, if any) passes an
/// OpenSSH pattern list (`from=` of authorized_keys): a negated entry that matches
/// the address or the name refuses at once, otherwise any positive match allows. A
/// malformed list (empty entry, inconsistent CIDR entry) allows nobody.
pub(crate) fn match_pattern_list<S: AsRef<str>>(
    list: &[S],
    addr: IpAddr,
    host: Option<&str>,
) -> bool {
    let by_addr = address_list_match(list, addr);
    if matches!(by_addr, ListMatch::Negated | ListMatch::Malformed) {
        return false;
    }
    let by_host = match host {
        Some(h) => host_list_match(list, h),
        None => ListMatch::None,
    };
    if by_host == ListMatch::Negated {
        return false;
    }
    by_addr == ListMatch::Positive || by_host == ListMatch::Positive
}

/// Why a pattern list cannot be used (None when it can): checked when an
/// authorized_keys line is read so a broken `from=` is reported, not silently
/// allowing nobody.
pub(crate) fn pattern_list_problem<S: AsRef<str>>(list: &[S]) -> Option<&'static str> {
    if list.is_empty() {
        return Some("empty pattern list");
    }
    for entry in list {
        let entry = entry.as_ref();
        let pattern = entry.strip_prefix('!').unwrap_or(entry);
        if pattern.is_empty() {
            return Some("empty pattern");
        }
        if parse_cidr(pattern) == CidrEntry::Inconsistent {
            return Some("address/masklen with a bad mask");
        }
    }
    None
}

/// Whether `addr` is in a comma-separated list of addresses and CIDR networks, as a
/// certificate's `source-address` critical option holds (OpenSSH's
/// `addr_match_cidr_list`: no wildcards, no negation). None when the list is
/// malformed (an empty entry, anything but an address or network).
pub(crate) fn address_in_cidr_list(list: &str, addr: IpAddr) -> Option<bool> {
    // An IPv6 address in its longest text form, plus "/128".
    const MAX_ENTRY: usize = 45 + 4;
    let mut found = false;
    for entry in list.split(',') {
        if entry.is_empty()
            || entry.len() > MAX_ENTRY
            || !entry
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/'))
        {
            return None;
        }
        match parse_cidr(entry) {
            CidrEntry::Network(net, len) => found |= cidr_contains(net, len, addr),
            CidrEntry::NotAddress | CidrEntry::Inconsistent => return None,
        }
    }
    Some(found)
}

/// The mask length that covers a whole address of `addr`'s family.
fn family_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with every bit past the first `len` cleared.
fn masked(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries (as sshd sees clients).
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => addr,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn wildcards_match_like_openssh_globs() {
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("*", "anything", false));
        assert!(wildcard_match("*.example.com", "a.b.example.com", false));
        assert!(!wildcard_match("*.example.com", "example.com", false));
        assert!(wildcard_match("host?", "host1", false));
        assert!(!wildcard_match("host?", "host", false));
        assert!(!wildcard_match("host?", "host12", false));
        assert!(wildcard_match("a*b*c", "axxbyyc", false));
        assert!(!wildcard_match("a*b*c", "axxbyy", false));
        assert!(wildcard_match("192.168.*", "192.168.3.4", false));
        assert!(wildcard_match("HOST.*", "host.lan", true));
        assert!(!wildcard_match("HOST.*", "host.lan", false));
        assert!(wildcard_match("", "", false));
        assert!(!wildcard_match("", "x", false));
        assert!(wildcard_match("ä?", "äö", false));
    }

    #[test]
    fn cidr_entries_parse_and_contain() {
        assert_eq!(
            parse_cidr("10.0.0.0/8"),
            CidrEntry::Network(ip("10.0.0.0"), 8)
        );
        assert_eq!(
            parse_cidr("10.1.2.3"),
            CidrEntry::Network(ip("10.1.2.3"), 32)
        );
        assert_eq!(
            parse_cidr("2001:db8::/32"),
            CidrEntry::Network(ip("2001:db8::"), 32)
        );
        assert_eq!(parse_cidr("::1"), CidrEntry::Network(ip("::1"), 128));
        assert_eq!(parse_cidr("10.0.0.1/8"), CidrEntry::Inconsistent);
        assert_eq!(parse_cidr("10.0.0.0/33"), CidrEntry::Inconsistent);
        assert_eq!(parse_cidr("10.0.0.0/999"), CidrEntry::NotAddress);
        assert_eq!(parse_cidr("10.0.0.0/"), CidrEntry::NotAddress);
        assert_eq!(parse_cidr("10.0.0.0/+8"), CidrEntry::NotAddress);
        assert_eq!(
            parse_cidr("10.0.0.0/99999999999999999999999"),
            CidrEntry::NotAddress
        );
        assert_eq!(parse_cidr("10.0.*"), CidrEntry::NotAddress);
        assert_eq!(parse_cidr("host.example"), CidrEntry::NotAddress);
        assert_eq!(
            parse_cidr("0.0.0.0/0"),
            CidrEntry::Network(ip("0.0.0.0"), 0)
        );
        assert_eq!(parse_cidr("::/0"), CidrEntry::Network(ip("::"), 0));

        assert!(cidr_contains(ip("10.0.0.0"), 8, ip("10.200.3.4")));
        assert!(!cidr_contains(ip("10.0.0.0"), 8, ip("11.0.0.1")));
        assert!(cidr_contains(ip("0.0.0.0"), 0, ip("203.0.113.9")));
        assert!(cidr_contains(ip("192.168.1.0"), 24, ip("192.168.1.255")));
        assert!(!cidr_contains(ip("192.168.1.0"), 24, ip("192.168.2.0")));
        assert!(cidr_contains(ip("2001:db8::"), 32, ip("2001:db8:1::5")));
        assert!(!cidr_contains(ip("2001:db8::"), 32, ip("2001:db9::5")));
        assert!(!cidr_contains(ip("::"), 0, ip("10.0.0.1")));
        assert!(!cidr_contains(ip("0.0.0.0"), 0, ip("::1")));
        // An IPv4-mapped IPv6 client is its IPv4 address.
        assert!(cidr_contains(ip("10.0.0.0"), 8, ip("::ffff:10.9.8.7")));
        // A mask longer than the family never matches (and never panics).
        assert!(!cidr_contains(ip("10.0.0.0"), 200, ip("10.0.0.0")));
    }

    #[test]
    fn pattern_lists_allow_refuse_and_negate() {
        let l = list("10.0.0.0/8,!10.1.0.0/16,*.trusted.example,192.168.*");
        assert!(match_pattern_list(&l, ip("10.2.3.4"), None));
        assert!(!match_pattern_list(
            &l,
            ip("10.1.3.4"),
            Some("a.trusted.example")
        ));
        assert!(match_pattern_list(
            &l,
            ip("203.0.113.1"),
            Some("a.TRUSTED.example")
        ));
        assert!(!match_pattern_list(
            &l,
            ip("203.0.113.1"),
            Some("a.other.example")
        ));
        assert!(!match_pattern_list(&l, ip("203.0.113.1"), None));
        assert!(match_pattern_list(&l, ip("192.168.77.1"), None));
        // A negated host name refuses even when the address is allowed.
        let l = list("!bad.example,10.0.0.0/8");
        assert!(!match_pattern_list(&l, ip("10.0.0.1"), Some("bad.example")));
        assert!(match_pattern_list(&l, ip("10.0.0.1"), Some("good.example")));
        // Negation alone allows nobody.
        assert!(!match_pattern_list(
            &list("!10.0.0.1"),
            ip("10.0.0.2"),
            None
        ));
        // IPv6 CIDR and wildcards.
        let l = list("2001:db8::/48,fe80::*");
        assert!(match_pattern_list(&l, ip("2001:db8:0:1::1"), None));
        assert!(!match_pattern_list(&l, ip("2001:db8:1::1"), None));
        assert!(match_pattern_list(&l, ip("fe80::1234"), None));
        assert!(!match_pattern_list(&list("!::1,::/0"), ip("::1"), None));
        assert!(match_pattern_list(&list("!::1,::/0"), ip("::2"), None));
        // Malformed lists allow nobody.
        assert!(!match_pattern_list(
            &list("10.0.0.1/8,*"),
            ip("10.0.0.1"),
            None
        ));
        assert!(!match_pattern_list(&list("*,"), ip("10.0.0.1"), None));
        assert!(!match_pattern_list(&list("*,!"), ip("10.0.0.1"), None));
        assert!(!match_pattern_list::<String>(&[], ip("10.0.0.1"), None));
        // A /999 mask is not an address: a glob that matches nothing, not an error.
        assert!(match_pattern_list(
            &list("10.0.0.1/999,10.0.0.1"),
            ip("10.0.0.1"),
            None
        ));
        assert_eq!(pattern_list_problem(&list("10.0.0.1/999,*")), None);
        assert!(pattern_list_problem(&list("10.0.0.1/8")).is_some());
        assert!(pattern_list_problem(&list("a,,b")).is_some());
        assert!(pattern_list_problem(&list("!")).is_some());
        assert!(pattern_list_problem::<String>(&[]).is_some());
    }

    #[test]
    fn cidr_lists_for_source_address() {
        let l = "10.0.0.0/8,192.168.1.7,2001:db8::/32";
        assert_eq!(address_in_cidr_list(l, ip("10.3.3.3")), Some(true));
        assert_eq!(address_in_cidr_list(l, ip("192.168.1.7")), Some(true));
        assert_eq!(address_in_cidr_list(l, ip("192.168.1.8")), Some(false));
        assert_eq!(address_in_cidr_list(l, ip("2001:db8::9")), Some(true));
        assert_eq!(address_in_cidr_list(l, ip("::ffff:10.0.0.1")), Some(true));
        for bad in [
            "",
            "10.0.0.0/8,",
            ",10.0.0.0/8",
            "10.0.0.*",
            "!10.0.0.1",
            "host.example",
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/999",
            "10.0.0.0/8 ",
            "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/128",
        ] {
            assert_eq!(address_in_cidr_list(bad, ip("10.0.0.1")), None, "{bad:?}");
        }
    }

    #[test]
    fn hostile_patterns_never_panic_and_finish() {
        let stars = "*".repeat(10_000);
        assert!(wildcard_match(&stars, "host.example", false));
        let mut tricky = "*a".repeat(5_000);
        tricky.push('b');
        assert!(!wildcard_match(&tricky, &"a".repeat(300), false));
        let many: Vec<String> = std::iter::repeat_n("*".to_owned(), 10_000).collect();
        assert!(match_pattern_list(&many, ip("10.0.0.1"), Some("h")));
        let negs: Vec<String> = std::iter::repeat_n("!?".to_owned(), 10_000).collect();
        assert!(!match_pattern_list(&negs, ip("::1"), Some("h")));
        for entry in [
            "/", "//", "/999", "1.2.3.4/", "::/129", "[::1]/64", "\u{0}/1", "%/0",
        ] {
            let _ = parse_cidr(entry);
            let _ = address_in_cidr_list(entry, ip("1.2.3.4"));
            let _ = match_pattern_list(&[entry], ip("1.2.3.4"), Some(entry));
        }
        let long = "1".repeat(100_000);
        assert_eq!(address_in_cidr_list(&long, ip("1.2.3.4")), None);
        assert_eq!(parse_cidr(&long), CidrEntry::NotAddress);
    }
}
