//! OpenSSH `authorized_keys` files (sshd(8), AUTHORIZED_KEYS FILE FORMAT): one key a
//! line, `[options] keytype base64 [comment]`, with blank lines and `#` comments.
//!
//! A line that cannot be read is reported in [`AuthorizedKeys::skipped`] and the rest
//! of the file is kept, as sshd does.

use std::net::IpAddr;

use super::address;
use super::fingerprint::base64_decode;
use super::public::PublicKey;
use crate::error::ConfigError;

/// Most `environment=` options one line may carry (OpenSSH's limit).
const MAX_ENVIRONMENT: usize = 1024;
/// Most `permitopen=` or `permitlisten=` options one line may carry (OpenSSH's limit).
const MAX_PERMITS: usize = 4096;
/// Longest host name in `permitopen=` / `permitlisten=` (OpenSSH's NI_MAXHOST - 1).
const MAX_PERMIT_HOST: usize = 1024;
/// Highest `tunnel=` device number (OpenSSH's SSH_TUNID_MAX).
const MAX_TUNNEL: u32 = 0x7fff_fffd;
/// Longest piece of a line quoted in a skip reason.
const MAX_QUOTED: usize = 32;

/// The key algorithm names that may start a key (rather than an options field).
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];
/// The suffix of every OpenSSH certificate key type.
const CERT_SUFFIX: &str = "-cert-v01@openssh.com";

/// A parsed `authorized_keys` file: the keys it grants and the lines it could not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizedKeys {
    /// The lines that hold a key, in file order.
    pub entries: Vec<AuthorizedKey>,
    /// The lines that were neither keys, blank nor comments, in file order.
    pub skipped: Vec<SkippedLine>,
}

/// One key line of an `authorized_keys` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    /// The key ([`PublicKey::Other`] for an algorithm this build cannot verify).
    pub key: PublicKey,
    /// The restrictions and settings of the line's options field.
    pub options: KeyOptions,
    /// `cert-authority`: the key signs user certificates rather than logging in itself.
    pub cert_authority: bool,
    /// The text after the key data (empty when there is none).
    pub comment: String,
    /// The 1-based line number in the file.
    pub line: usize,
}

/// A line of an `authorized_keys` file that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// The 1-based line number in the file.
    pub line: usize,
    /// A short description of what is wrong with it.
    pub reason: String,
}

/// The options field of an `authorized_keys` line, typed.
///
/// As sshd(8) AUTHORIZED_KEYS FILE FORMAT describes them. Enforcing them is the
/// server's job; this only records them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// `from="pattern-list"`: the entries of the list, see [`KeyOptions::allows_source`].
    pub from: Option<Vec<String>>,
    /// `command="..."`: the command forced in place of the client's.
    pub command: Option<String>,
    /// `no-pty` (or `restrict`, unless a later `pty`): no terminal allocation.
    pub no_pty: bool,
    /// `no-port-forwarding` (or `restrict`, unless a later `port-forwarding`): no TCP forwarding.
    pub no_port_forwarding: bool,
    /// `no-agent-forwarding` (or `restrict`, unless a later `agent-forwarding`).
    pub no_agent_forwarding: bool,
    /// `no-X11-forwarding` (or `restrict`, unless a later `X11-forwarding`).
    pub no_x11_forwarding: bool,
    /// `no-user-rc` (or `restrict`, unless a later `user-rc`): `~/.ssh/rc` is not run.
    pub no_user_rc: bool,
    /// `permitopen="host:port"` values as written: the only local forwarding destinations.
    pub permit_open: Vec<String>,
    /// `permitlisten="[host:]port"` values as written (a bare port: any listen address).
    pub permit_listen: Vec<String>,
    /// `environment="NAME=value"` pairs in file order (the first of a name wins).
    pub environment: Vec<(String, String)>,
    /// `expiry-time="YYYYMMDD[HHMM[SS]][Z]"` as Unix seconds (the earliest if given twice).
    ///
    /// Always read as UTC: a time without `Z` is not converted from local time as sshd
    /// would convert it.
    pub expiry_time: Option<u64>,
    /// `principals="a,b"`: the certificate principals accepted (for `cert-authority` lines).
    pub principals: Option<Vec<String>>,
    /// `no-touch-required`: a FIDO key's signature need not show user presence.
    pub no_touch_required: bool,
    /// `verify-required`: a FIDO key's signature must show user verification (PIN etc).
    pub verify_required: bool,
    /// `tunnel="n"`: the tun device forced for tunnel forwarding.
    pub tunnel: Option<u32>,
}

impl KeyOptions {
    /// Whether a client at `addr` (reverse-resolved to `host_name`, if known) passes `from=`.
    ///
    /// Always when there is none; otherwise OpenSSH pattern-list semantics: `*`/`?`
    /// globs against the name and address, CIDR networks, a matching `!` entry refuses
    /// at once, any other match allows; a malformed list allows nobody.
    pub fn allows_source(&self, addr: IpAddr, host_name: Option<&str>) -> bool {
        match &self.from {
            None => true,
            Some(list) => address::match_pattern_list(list, addr, host_name),
        }
    }

    /// Whether `expiry-time` has passed at `now_unix` (its own second still counts, as in sshd).
    pub fn expired(&self, now_unix: u64) -> bool {
        self.expiry_time.is_some_and(|t| now_unix > t)
    }
}

impl AuthorizedKeys {
    /// Read an `authorized_keys` file; never fails: unreadable lines go to `skipped`.
    pub fn parse(text: &str) -> Self {
        let mut out = AuthorizedKeys::default();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let body = raw.trim_matches(is_blank);
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            match parse_line(body, line) {
                Ok(entry) => out.entries.push(entry),
                Err(reason) => out.skipped.push(SkippedLine { line, reason }),
            }
        }
        out
    }
}

/// The keys of an `authorized_keys` file that log in by themselves (not `cert-authority`).
///
/// Options are not applied here: use [`AuthorizedKeys::parse`] to honour them.
/// Unreadable lines are skipped; this never returns an error (the `Result` is kept for
/// existing callers).
pub fn parse_authorized_keys(text: &str) -> Result<Vec<PublicKey>, ConfigError> {
    Ok(AuthorizedKeys::parse(text)
        .entries
        .into_iter()
        .filter(|e| !e.cert_authority)
        .map(|e| e.key)
        .collect())
}

/// Field separators of a line (sshd splits on spaces and tabs; `\r` of CRLF files too).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r')
}

/// Whether `word` is a key algorithm name (so the line has no options field).
fn is_key_type(word: &str) -> bool {
    KEY_TYPES.contains(&word) || (word.len() > CERT_SUFFIX.len() && word.ends_with(CERT_SUFFIX))
}

/// The first blank-separated word of `s` and the rest with its leading blanks removed.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(is_blank) {
        Some(i) => (&s[..i], s[i..].trim_start_matches(is_blank)),
        None => (s, ""),
    }
}

/// Split off a leading options field: it ends at the first blank outside double
/// quotes (`\"` does not count as a quote).
fn split_options(s: &str) -> Result<(&str, &str), String> {
    let bytes = s.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'"') => i += 1,
            b'"' => quoted = !quoted,
            b' ' | b'\t' | b'\r' if !quoted => {
                return Ok((&s[..i], s[i..].trim_start_matches(is_blank)));
            }
            _ => {}
        }
        i += 1;
    }
    if quoted {
        return Err("unterminated quote in options".into());
    }
    Ok((s, ""))
}

/// Parse one non-blank, non-comment line (trimmed).
fn parse_line(body: &str, line: usize) -> Result<AuthorizedKey, String> {
    let (first, after_first) = split_word(body);
    let (options_field, key_type, rest) = if is_key_type(first) {
        ("", first, after_first)
    } else {
        let (options_field, after) = split_options(body)?;
        let (key_type, rest) = split_word(after);
        if key_type.is_empty() {
            // Report the options' own errors first: they are the likelier mistake.
            parse_options(options_field)?;
            return Err("options without a key".into());
        }
        if !is_key_type(key_type) {
            parse_options(options_field)?;
            return Err(format!("unknown key type {}", quoted(key_type)));
        }
        (options_field, key_type, rest)
    };
    let (data, comment) = split_word(rest);
    if data.is_empty() {
        return Err("no key data after the key type".into());
    }
    let blob = base64_decode(data).ok_or("key data is not base64")?;
    let key = PublicKey::from_blob(&blob).map_err(|_| "key data does not decode")?;
    if key.algorithm() != key_type {
        return Err(format!(
            "key type {} does not match the key data",
            quoted(key_type)
        ));
    }
    let (options, cert_authority) = parse_options(options_field)?;
    Ok(AuthorizedKey {
        key,
        options,
        cert_authority,
        comment: comment.to_owned(),
        line,
    })
}

/// Parse an options field (no unquoted blanks): comma-separated `name` or
/// `name="value"`, names case-insensitive. Returns the options and `cert-authority`.
fn parse_options(field: &str) -> Result<(KeyOptions, bool), String> {
    let mut options = KeyOptions::default();
    let mut cert_authority = false;
    let mut s = field;
    if s.is_empty() {
        return Ok((options, cert_authority));
    }
    loop {
        let name_end = s.find(['=', ',']).unwrap_or(s.len());
        let name = s[..name_end].to_ascii_lowercase();
        s = &s[name_end..];
        if let Some(value) = s.strip_prefix('=') {
            let (value, after) = dequote(value).map_err(|e| format!("{}: {e}", quoted(&name)))?;
            s = after;
            apply_value(&mut options, &name, value)?;
        } else {
            apply_flag(&mut options, &mut cert_authority, &name)?;
        }
        if s.is_empty() {
            return Ok((options, cert_authority));
        }
        s = s
            .strip_prefix(',')
            .ok_or_else(|| format!("junk after option {}", quoted(&name)))?;
        if s.is_empty() {
            return Err("options end with a comma".into());
        }
    }
}

/// Read a double-quoted option value (`\"` stands for a quote); returns the value and
/// what follows the closing quote.
fn dequote(s: &str) -> Result<(String, &str), &'static str> {
    let rest = s.strip_prefix('"').ok_or("value is not quoted")?;
    let bytes = rest.as_bytes();
    let mut value = String::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'"') => {
                value.push_str(&rest[start..i]);
                value.push('"');
                i += 2;
                start = i;
            }
            b'"' => {
                value.push_str(&rest[start..i]);
                return Ok((value, &rest[i + 1..]));
            }
            _ => i += 1,
        }
    }
    Err("unterminated quote")
}

/// Apply a flag option (lower-cased name).
fn apply_flag(o: &mut KeyOptions, cert_authority: &mut bool, name: &str) -> Result<(), String> {
    match name {
        "restrict" => {
            o.no_pty = true;
            o.no_port_forwarding = true;
            o.no_agent_forwarding = true;
            o.no_x11_forwarding = true;
            o.no_user_rc = true;
            return Ok(());
        }
        "cert-authority" => {
            *cert_authority = true;
            return Ok(());
        }
        _ => {}
    }
    let (negated, base) = match name.strip_prefix("no-") {
        Some(base) => (true, base),
        None => (false, name),
    };
    match base {
        "pty" => o.no_pty = negated,
        "port-forwarding" => o.no_port_forwarding = negated,
        "agent-forwarding" => o.no_agent_forwarding = negated,
        "x11-forwarding" => o.no_x11_forwarding = negated,
        "user-rc" => o.no_user_rc = negated,
        "touch-required" => o.no_touch_required = negated,
        "verify-required" => o.verify_required = !negated,
        _ if is_value_option(name) => return Err(format!("option {} needs a value", quoted(name))),
        _ => return Err(format!("unknown option {}", quoted(name))),
    }
    Ok(())
}

/// Whether `name` (lower-cased) is an option that takes a `="value"`.
fn is_value_option(name: &str) -> bool {
    matches!(
        name,
        "command"
            | "from"
            | "principals"
            | "expiry-time"
            | "environment"
            | "permitopen"
            | "permitlisten"
            | "tunnel"
    )
}

/// Apply a `name="value"` option (lower-cased name, dequoted value).
fn apply_value(o: &mut KeyOptions, name: &str, value: String) -> Result<(), String> {
    let duplicate = || format!("option {} given twice", quoted(name));
    match name {
        "command" => {
            if o.command.is_some() {
                return Err(duplicate());
            }
            o.command = Some(value);
        }
        "from" => {
            if o.from.is_some() {
                return Err(duplicate());
            }
            let list: Vec<String> = value.split(',').map(str::to_owned).collect();
            if let Some(problem) = address::pattern_list_problem(&list) {
                return Err(format!("bad from: {problem}"));
            }
            o.from = Some(list);
        }
        "principals" => {
            if o.principals.is_some() {
                return Err(duplicate());
            }
            let list: Vec<String> = value.split(',').map(str::to_owned).collect();
            if list.iter().any(String::is_empty) {
                return Err("bad principals: empty name".into());
            }
            o.principals = Some(list);
        }
        "expiry-time" => {
            let t = parse_expiry_time(&value).ok_or("bad expiry-time")?;
            o.expiry_time = Some(o.expiry_time.map_or(t, |old| old.min(t)));
        }
        "environment" => {
            let (var, val) = value.split_once('=').ok_or("bad environment: no '='")?;
            if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err("bad environment: bad variable name".into());
            }
            if o.environment.len() >= MAX_ENVIRONMENT {
                return Err("too many environment options".into());
            }
            if !o.environment.iter().any(|(n, _)| n == var) {
                o.environment.push((var.to_owned(), val.to_owned()));
            }
        }
        "permitopen" | "permitlisten" => {
            let listen = name == "permitlisten";
            if !valid_permit(&value, listen) {
                return Err(format!("bad {name}"));
            }
            let list = if listen {
                &mut o.permit_listen
            } else {
                &mut o.permit_open
            };
            if list.len() >= MAX_PERMITS {
                return Err(format!("too many {name} options"));
            }
            list.push(value);
        }
        "tunnel" => {
            if o.tunnel.is_some() {
                return Err(duplicate());
            }
            let n = parse_decimal(&value)
                .filter(|&n| n <= u64::from(MAX_TUNNEL))
                .ok_or("bad tunnel")?;
            o.tunnel = Some(n as u32);
        }
        _ if is_flag_option(name) => {
            return Err(format!("option {} takes no value", quoted(name)));
        }
        _ => return Err(format!("unknown option {}", quoted(name))),
    }
    Ok(())
}

/// Whether `name` (lower-cased) is a flag option (so a value given to it is misplaced).
fn is_flag_option(name: &str) -> bool {
    let base = name.strip_prefix("no-").unwrap_or(name);
    matches!(name, "restrict" | "cert-authority")
        || matches!(
            base,
            "pty"
                | "port-forwarding"
                | "agent-forwarding"
                | "x11-forwarding"
                | "user-rc"
                | "touch-required"
                | "verify-required"
        )
}

/// Whether a `permitopen` (`host:port`) or `permitlisten` (`[host:]port`) value is
/// well formed: IPv6 hosts in brackets, the port 1-65535 or `*`.
fn valid_permit(value: &str, bare_port_ok: bool) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return false;
        };
        let Some(port) = after.strip_prefix(':') else {
            return false;
        };
        (host, port)
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, port),
            None if bare_port_ok => ("*", value),
            None => return false,
        }
    };
    let port_ok = port == "*" || parse_decimal(port).is_some_and(|p| (1..=65535).contains(&p));
    !host.is_empty() && host.len() <= MAX_PERMIT_HOST && port_ok
}

/// A decimal number of ASCII digits only (None when empty, not digits or too big).
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYYMMDD[HHMM[SS]][Z]` as Unix seconds, read as UTC whether or not the `Z` is
/// there (no local time zone handling). None for anything else or before 1970.
fn parse_expiry_time(s: &str) -> Option<u64> {
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix('z'))
        .unwrap_or(s);
    if !matches!(s.len(), 8 | 12 | 14) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, len: usize| -> u64 {
        s.as_bytes()[from..from + len]
            .iter()
            .fold(0, |acc, b| acc * 10 + u64::from(b - b'0'))
    };
    let (year, month, day) = (field(0, 4), field(4, 2), field(6, 2));
    let (hour, minute) = if s.len() >= 12 {
        (field(8, 2), field(10, 2))
    } else {
        (0, 0)
    };
    let second = if s.len() == 14 { field(12, 2) } else { 0 };
    if year < 1970
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The number of days in `month` (1-12) of `year` in the Gregorian calendar.
fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date on or after it (proleptic Gregorian calendar).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    // Count years from March so the leap day falls at the end of each year.
    let y = if month <= 2 { year - 1 } else { year };
    let m = (month + 9) % 12; // March = 0
    let era = y / 400;
    let year_of_era = y % 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// A piece of the line for a skip reason: quoted, cut to a few characters.
fn quoted(s: &str) -> String {
    let mut q = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if i == MAX_QUOTED {
            q.push_str("...");
            break;
        }
        q.push(if c.is_control() { '?' } else { c });
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The options of `options ED25519`, which must parse.
    fn options(field: &str) -> KeyOptions {
        let parsed = AuthorizedKeys::parse(&format!("{field} {ED25519} c"));
        assert_eq!(parsed.skipped, [], "{field}");
        parsed.entries[0].options.clone()
    }

    /// The skip reason of `options ED25519`, which must not parse.
    fn refused(field: &str) -> String {
        let parsed = AuthorizedKeys::parse(&format!("{field} {ED25519}"));
        assert_eq!(parsed.entries, [], "{field}");
        assert_eq!(parsed.skipped.len(), 1, "{field}");
        parsed.skipped[0].reason.clone()
    }

    /// A key line of `alg` whose blob holds `fields` as strings after the name.
    fn key_line(alg: &str, fields: &[&[u8]]) -> String {
        let mut blob = Vec::new();
        for field in std::iter::once(alg.as_bytes()).chain(fields.iter().copied()) {
            blob.extend_from_slice(&(field.len() as u32).to_be_bytes());
            blob.extend_from_slice(field);
        }
        format!(
            "{alg} {}",
            crate::keys::fingerprint::base64_encode(&blob, true)
        )
    }

    /// A key line of `alg` with a made-up body (decodes as `PublicKey::Other`).
    fn other_line(alg: &str) -> String {
        key_line(alg, &[b"key material"])
    }

    /// An ssh-dss line: four positive mpints shaped like p, q, g, y.
    fn dsa_line() -> String {
        key_line("ssh-dss", &[&[0x7f; 128], &[0x7f; 20], &[2], &[3]])
    }

    /// A P-256 public point (uncompressed), from a real ssh-keygen key.
    fn p256_point() -> Vec<u8> {
        let blob = base64_decode("AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBC8O5izGgDomtp5WrZYYcNIQM0WagNA0OHaAxNd/19pvBc/xRkhc554A6xZkFk5QqLouIMsjwafbX5R6dlrk97I=").unwrap();
        blob[blob.len() - 65..].to_vec()
    }

    #[test]
    fn authorized_keys_with_rsa_and_ecdsa_lines_parse() {
        let text = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDD+rVaad0+5FQv8G4AuZte+pYplwPZ5ACXDAdG493e1ztwCYhHELH24Boe7ch/HcsCDVgq2DWCGkWfEGdmi3dkj4IxwV50w/XJqcemjXvtrGC1bjHR2eMRq5xHBim31lZ8zDwkbYUa8Vw2ahtp2y3TEYW5WoNjsOyCcYN8BcMFbGaUfEzPCK3yVy0pH8cjNce9kLtlMYr3BIDEBEkTvRhw6slQKvEk/XCQ57J/C8IzTOEhuW9PxTy16rcxfkCAwxDsnpA3+6PMQLdokBECwqHSp5ybLfiPIlEk/zUEpi/Cm4pJ/LyhGhg74GYz4/tq01om13TesW0EZoix5QvXJBhSaUuRUuOOX93XpeaI17nYEKXFKMEpVEVkFvOqlYEU7nI4Z1TcZkKb/iUR+HQXiaLtpUvigvm4MuGO7BC3CD87sejN79wLp6FwvBze6j2Do965bUwVwOAXXKUSU4jkJQ/gxRY3TOMziPpnGTW0hGu18XKq1ad43pDYL95AnYQy/jE= rsa@test\n# a comment\n\nno-pty ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBC8O5izGgDomtp5WrZYYcNIQM0WagNA0OHaAxNd/19pvBc/xRkhc554A6xZkFk5QqLouIMsjwafbX5R6dlrk97I= ec@test\n";
        let keys = parse_authorized_keys(text).expect("RSA and ECDSA lines must not fail the file");
        let algs: Vec<&str> = keys.iter().map(|k| k.algorithm()).collect();
        assert_eq!(algs, ["ssh-rsa", "ecdsa-sha2-nistp256"]);
        assert!(matches!(keys[0], PublicKey::Rsa { .. }));
        assert!(matches!(
            keys[1],
            PublicKey::Ecdsa {
                curve: "nistp256",
                ..
            }
        ));
        assert_eq!(PublicKey::from_blob(&keys[1].to_blob()).unwrap(), keys[1]);
        assert_eq!(PublicKey::from_blob(&keys[0].to_blob()).unwrap(), keys[0]);

        let parsed = AuthorizedKeys::parse(text);
        assert_eq!(parsed.skipped, []);
        assert_eq!(parsed.entries[0].line, 1);
        assert_eq!(parsed.entries[0].comment, "rsa@test");
        assert_eq!(parsed.entries[0].options, KeyOptions::default());
        assert_eq!(parsed.entries[1].line, 4);
        assert_eq!(parsed.entries[1].comment, "ec@test");
        assert!(parsed.entries[1].options.no_pty);
    }

    #[test]
    fn every_option_is_parsed() {
        let o = options(
            "from=\"10.0.0.0/8,*.example.com\",command=\"/bin/true\",no-pty,\
             no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc,\
             permitopen=\"host.example:80\",permitopen=\"[2001:db8::1]:443\",\
             permitlisten=\"8080\",permitlisten=\"localhost:*\",\
             environment=\"LANG=C.UTF-8\",environment=\"EMPTY=\",expiry-time=\"20300101\",\
             principals=\"alice,bob\",no-touch-required,verify-required,tunnel=\"7\"",
        );
        let expected = KeyOptions {
            from: Some(vec!["10.0.0.0/8".into(), "*.example.com".into()]),
            command: Some("/bin/true".into()),
            no_pty: true,
            no_port_forwarding: true,
            no_agent_forwarding: true,
            no_x11_forwarding: true,
            no_user_rc: true,
            permit_open: vec!["host.example:80".into(), "[2001:db8::1]:443".into()],
            permit_listen: vec!["8080".into(), "localhost:*".into()],
            environment: vec![
                ("LANG".into(), "C.UTF-8".into()),
                ("EMPTY".into(), String::new()),
            ],
            expiry_time: Some(1_893_456_000),
            principals: Some(vec!["alice".into(), "bob".into()]),
            no_touch_required: true,
            verify_required: true,
            tunnel: Some(7),
        };
        assert_eq!(o, expected);
        // The positive forms, and names in any case.
        let o = options("NO-PTY,Pty,no-user-rc,USER-RC,touch-required,no-verify-required");
        assert_eq!(o, KeyOptions::default());
        let o = options("COMMAND=\"x\",From=\"*\"");
        assert_eq!(o.command.as_deref(), Some("x"));
        assert_eq!(o.from, Some(vec!["*".to_owned()]));
        // The first environment value of a name wins; the earliest expiry wins.
        let o = options(
            "environment=\"A=1\",environment=\"A=2\",expiry-time=\"20300101\",\
             expiry-time=\"20290101Z\",expiry-time=\"20310101\"",
        );
        assert_eq!(o.environment, [("A".to_owned(), "1".to_owned())]);
        assert_eq!(o.expiry_time, Some(1_861_920_000));
    }

    #[test]
    fn restrict_then_pty_clears_only_pty() {
        let o = options("restrict,pty");
        assert!(!o.no_pty);
        assert!(o.no_port_forwarding && o.no_agent_forwarding && o.no_x11_forwarding);
        assert!(o.no_user_rc);
        let o = options("restrict");
        assert!(o.no_pty && o.no_port_forwarding && o.no_agent_forwarding);
        assert!(o.no_x11_forwarding && o.no_user_rc);
        let o = options("restrict,port-forwarding,agent-forwarding,x11-forwarding,user-rc,pty");
        assert_eq!(o, KeyOptions::default());
        // Order matters: a later restrict wins.
        assert!(options("pty,restrict").no_pty);
    }

    #[test]
    fn quoted_values_keep_commas_blanks_and_escaped_quotes() {
        let line =
            format!("command=\"echo \\\"a, b\\\" \\\\n\",environment=\"X=1,2\" {ED25519} my key");
        let parsed = AuthorizedKeys::parse(&line);
        assert_eq!(parsed.skipped, []);
        let e = &parsed.entries[0];
        assert_eq!(e.options.command.as_deref(), Some("echo \"a, b\" \\\\n"));
        assert_eq!(e.options.environment, [("X".to_owned(), "1,2".to_owned())]);
        assert_eq!(e.comment, "my key");
        assert_eq!(e.key.algorithm(), "ssh-ed25519");
        let o = options("from=\"a.example,b.example\"");
        assert_eq!(o.from, Some(vec!["a.example".into(), "b.example".into()]));
        assert_eq!(options("command=\"\"").command.as_deref(), Some(""));
    }

    #[test]
    fn a_bad_line_in_the_middle_is_skipped_with_its_number() {
        let text = format!(
            "{ED25519} first\n\
             # comment\n\
             \n\
             {} other\n\
             no-pty,bogus-option {ED25519}\n\
             ssh-ed25519 !!!notbase64!!!\n\
             ssh-rsa {}\n\
             \t   \n\
             no-pty {ED25519} last\r\n",
            dsa_line(),
            &ED25519[12..],
        );
        let parsed = AuthorizedKeys::parse(&text);
        let lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 4, 9]);
        assert_eq!(parsed.entries[2].comment, "last");
        assert!(parsed.entries[2].options.no_pty);
        assert!(matches!(parsed.entries[1].key, PublicKey::Dsa { .. }));
        let skipped: Vec<usize> = parsed.skipped.iter().map(|s| s.line).collect();
        assert_eq!(skipped, [5, 6, 7]);
        assert!(
            parsed.skipped[0].reason.contains("unknown option"),
            "{:?}",
            parsed.skipped
        );
        assert!(
            parsed.skipped[1].reason.contains("base64"),
            "{:?}",
            parsed.skipped
        );
        assert!(
            parsed.skipped[2].reason.contains("does not match"),
            "{:?}",
            parsed.skipped
        );
        assert_eq!(parse_authorized_keys(&text).unwrap().len(), 3);
    }

    #[test]
    fn unverifiable_algorithms_security_keys_and_certificates_are_kept() {
        let point = p256_point();
        for line in [
            dsa_line(),
            other_line("ssh-ed25519-cert-v01@openssh.com"),
            other_line("ecdsa-sha2-nistp256-cert-v01@openssh.com"),
            key_line("sk-ssh-ed25519@openssh.com", &[&[7; 32], b"ssh:"]),
            key_line(
                "sk-ecdsa-sha2-nistp256@openssh.com",
                &[b"nistp256", &point, b"ssh:"],
            ),
        ] {
            let parsed = AuthorizedKeys::parse(&format!("no-touch-required {line} c"));
            assert_eq!(parsed.skipped, [], "{line}");
            let alg = line.split(' ').next().unwrap();
            assert_eq!(parsed.entries[0].key.algorithm(), alg);
            assert!(parsed.entries[0].options.no_touch_required);
            assert_eq!(parsed.entries[0].comment, "c");
        }
        // The word before the data must name the blob's algorithm.
        let line = format!(
            "ssh-dss {}",
            &key_line("sk-ssh-ed25519@openssh.com", &[&[7; 32], b"ssh:"])[27..]
        );
        let parsed = AuthorizedKeys::parse(&line);
        assert_eq!(parsed.entries, []);
        assert!(parsed.skipped[0].reason.contains("does not match"));
        // An unknown word where the key type should be.
        assert!(refused("no-pty x-unknown@example.com").contains("unknown key type"));
    }

    #[test]
    fn options_without_a_key_are_skipped() {
        let parsed =
            AuthorizedKeys::parse("no-pty,restrict\ncommand=\"a b\"\nno-pty ssh-ed25519\n");
        assert_eq!(parsed.entries, []);
        let got: Vec<(usize, &str)> = parsed
            .skipped
            .iter()
            .map(|s| (s.line, s.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "options without a key"),
                (2, "options without a key"),
                (3, "no key data after the key type"),
            ]
        );
    }

    #[test]
    fn cert_authority_with_principals() {
        let text =
            format!("cert-authority,principals=\"alice,ops\" {ED25519} ca\n{ED25519} user\n");
        let parsed = AuthorizedKeys::parse(&text);
        assert_eq!(parsed.skipped, []);
        assert!(parsed.entries[0].cert_authority);
        assert_eq!(
            parsed.entries[0].options.principals,
            Some(vec!["alice".to_owned(), "ops".to_owned()])
        );
        assert!(!parsed.entries[1].cert_authority);
        // Only the plain key logs in by itself.
        assert_eq!(parse_authorized_keys(&text).unwrap().len(), 1);
        assert!(refused("principals=\"a,,b\"").contains("principals"));
        assert!(refused("principals=\"a\",principals=\"b\"").contains("twice"));
    }

    #[test]
    fn expiry_time_is_converted_to_unix_seconds() {
        assert_eq!(parse_expiry_time("20300101"), Some(1_893_456_000));
        assert_eq!(parse_expiry_time("20300101Z"), Some(1_893_456_000));
        assert_eq!(
            parse_expiry_time("203001011230Z"),
            Some(1_893_456_000 + 12 * 3600 + 30 * 60)
        );
        assert_eq!(parse_expiry_time("203001011230"), Some(1_893_501_000));
        assert_eq!(parse_expiry_time("20300101123059z"), Some(1_893_501_059));
        assert_eq!(parse_expiry_time("19700101"), Some(0));
        assert_eq!(parse_expiry_time("20000229"), Some(951_782_400));
        assert_eq!(parse_expiry_time("20240229235959Z"), Some(1_709_251_199));
        assert_eq!(parse_expiry_time("99991231235959Z"), Some(253_402_300_799));
        for bad in [
            "",
            "Z",
            "2030",
            "2030010",
            "203001011",
            "2030010112",
            "20300101123",
            "2030-01-01",
            "19691231",
            "20301301",
            "20300001",
            "20300100",
            "20300230",
            "20230229",
            "203001012400",
            "203001011260",
            "20300101123060",
            "20300101ZZ",
            "+0300101",
            "２０３００１０１",
        ] {
            assert_eq!(parse_expiry_time(bad), None, "{bad:?}");
        }
        let o = options("expiry-time=\"203001011230Z\"");
        assert_eq!(o.expiry_time, Some(1_893_501_000));
        assert!(!o.expired(1_893_501_000));
        assert!(o.expired(1_893_501_001));
        assert!(!KeyOptions::default().expired(u64::MAX));
        assert!(refused("expiry-time=\"tomorrow\"").contains("expiry-time"));
    }

    #[test]
    fn from_patterns_with_wildcards_negation_and_cidr() {
        let o = options("from=\"!10.1.0.0/16,10.0.0.0/8,2001:db8::/32,*.example.com,192.168.?.1\"");
        assert!(o.allows_source(ip("10.2.0.1"), None));
        assert!(!o.allows_source(ip("10.1.0.1"), Some("h.example.com")));
        assert!(o.allows_source(ip("2001:db8:ff::1"), None));
        assert!(!o.allows_source(ip("2001:db9::1"), None));
        assert!(o.allows_source(ip("203.0.113.5"), Some("H.Example.COM")));
        assert!(!o.allows_source(ip("203.0.113.5"), Some("example.com")));
        assert!(o.allows_source(ip("192.168.3.1"), None));
        assert!(!o.allows_source(ip("192.168.33.1"), None));
        assert!(o.allows_source(ip("::ffff:10.2.0.1"), None));
        let o = options("from=\"!*.evil.example,*\"");
        assert!(o.allows_source(ip("::1"), Some("fine.example")));
        assert!(!o.allows_source(ip("::1"), Some("a.evil.example")));
        assert!(KeyOptions::default().allows_source(ip("1.2.3.4"), None));
        // Lists that could never work are reported, not kept.
        assert!(refused("from=\"10.0.0.1/8\"").contains("from"));
        assert!(refused("from=\"\"").contains("from"));
        assert!(refused("from=\"a,,b\"").contains("from"));
        assert!(refused("from=\"*\",from=\"*\"").contains("twice"));
    }

    #[test]
    fn bad_options_and_values_are_skipped() {
        for (field, reason) in [
            ("bogus", "unknown option"),
            ("no-restrict", "unknown option"),
            ("no-cert-authority", "unknown option"),
            ("command", "needs a value"),
            ("no-pty=\"x\"", "takes no value"),
            ("bogus=\"x\"", "unknown option"),
            ("command=x", "not quoted"),
            ("command=\"a\"x", "junk"),
            ("no-pty,", "comma"),
            (",no-pty", "unknown option"),
            ("no-pty,,pty", "unknown option"),
            ("command=\"a\",command=\"b\"", "twice"),
            ("tunnel=\"x\"", "tunnel"),
            ("tunnel=\"2147483646\"", "tunnel"),
            ("tunnel=\"-1\"", "tunnel"),
            ("tunnel=\"1\",tunnel=\"2\"", "twice"),
            ("environment=\"NOVALUE\"", "environment"),
            ("environment=\"=x\"", "environment"),
            ("environment=\"BAD-NAME=x\"", "environment"),
            ("permitopen=\"host\"", "permitopen"),
            ("permitopen=\"host:0\"", "permitopen"),
            ("permitopen=\"host:65536\"", "permitopen"),
            ("permitopen=\":22\"", "permitopen"),
            ("permitopen=\"[::1]22\"", "permitopen"),
            ("permitopen=\"[::1:22\"", "permitopen"),
            ("permitopen=\"::1:22\"", "permitopen"),
            ("permitlisten=\"host:\"", "permitlisten"),
            ("permitlisten=\"port\"", "permitlisten"),
            ("command=\"unterminated", "unterminated"),
        ] {
            let got = refused(field);
            assert!(got.contains(reason), "{field}: {got}");
        }
        assert_eq!(options("tunnel=\"2147483645\"").tunnel, Some(2_147_483_645));
        assert_eq!(options("permitopen=\"[::1]:*\"").permit_open, ["[::1]:*"]);
        assert_eq!(
            options("permitlisten=\"[::1]:22\"").permit_listen,
            ["[::1]:22"]
        );
    }

    #[test]
    fn hostile_lines_never_panic() {
        let long_word = "A".repeat(1 << 20);
        let stars = vec!["*"; 10_000].join(",");
        let many_stars = "*".repeat(10_000);
        let inputs = [
            long_word.clone(),
            format!("{long_word} {long_word}"),
            format!("ssh-ed25519 {long_word} {long_word}"),
            format!("command=\"{long_word}\" {ED25519}"),
            format!("from=\"{stars}\" {ED25519}"),
            format!("from=\"{many_stars}\" {ED25519}"),
            format!("from=\"!{many_stars}a\" {ED25519}"),
            format!("no-pty{} {ED25519}", ",restrict".repeat(50_000)),
            format!("command=\"a {ED25519}"),
            "\"".repeat(10_001),
            "\\\"".repeat(1000),
            format!("from=\"10.0.0.0/999,::/999,1.2.3.4/99999999999999999999999\" {ED25519}"),
            format!("from=\",,,\" {ED25519}"),
            format!("=,=\"\",\"\" {ED25519}"),
            format!(" \t\r {ED25519}"),
            ",".to_owned(),
            "=".to_owned(),
            "ssh-ed25519".to_owned(),
            "ssh-ed25519 =".to_owned(),
            "ssh-ed25519 ====".to_owned(),
            "ssh-ed25519 A".to_owned(),
            "-cert-v01@openssh.com AAAA".to_owned(),
            "x-cert-v01@openssh.com AAAAAA==".to_owned(),
            "\u{0}\u{feff}é\u{10ffff} ssh-rsa ½".to_owned(),
            format!("environment=\"{}\" {ED25519}", "é=".repeat(1000)),
            "\n\n\n#\n  #x\n\r\n".to_owned(),
        ];
        for input in &inputs {
            let parsed = AuthorizedKeys::parse(input);
            for e in &parsed.entries {
                let _ = e.options.allows_source(ip("10.0.0.1"), Some("host"));
                let _ = e.options.allows_source(ip("::1"), None);
                let _ = e.options.expired(0);
            }
            for s in &parsed.skipped {
                assert!(s.reason.len() < 200, "{:?}", s.reason);
            }
            let _ = parse_authorized_keys(input);
        }
        // The quoted from= of stars is kept and allows everyone.
        let parsed = AuthorizedKeys::parse(&inputs[4]);
        assert!(parsed.entries[0]
            .options
            .allows_source(ip("10.0.0.1"), None));
        assert!(!AuthorizedKeys::parse(&inputs[6]).entries[0]
            .options
            .allows_source(ip("10.0.0.1"), Some("a")));
        // More than OpenSSH's 1024 environment options on one line are refused.
        let env = (0..MAX_ENVIRONMENT + 1)
            .map(|i| format!("environment=\"V{i}=x\""))
            .collect::<Vec<_>>()
            .join(",");
        assert!(refused(&env).contains("too many"));
    }
}
