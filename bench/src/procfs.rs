//! A server's CPU time and memory from /proc: the process and, for servers that fork
//! (sshd), all its descendants.

use std::fs;

/// Clock ticks per second for /proc/<pid>/stat times (Linux's USER_HZ, 100 on every
/// mainstream architecture).
const TICKS_PER_SECOND: f64 = 100.0;

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the rest follows its closing ')'.
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// CPU seconds of `pid` and its waited-for children (utime + stime + cutime + cstime).
/// Children that have exited and been reaped are included; live ones are not.
pub fn cpu_seconds(pid: u32) -> f64 {
    let (user, system) = cpu_user_system(pid);
    user + system
}

/// As [`cpu_seconds`], split into user and system (kernel) time.
pub fn cpu_user_system(pid: u32) -> (f64, f64) {
    let Some(f) = stat_fields(pid) else {
        return (0.0, 0.0);
    };
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (
        (field(11) + field(13)) as f64 / TICKS_PER_SECOND,
        (field(12) + field(14)) as f64 / TICKS_PER_SECOND,
    )
}

/// The pids of `pid`'s descendants.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if let Some(ppid) = stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                    parent_of.push((p, ppid));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, parent) in &parent_of {
            if parent == p {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

fn status_kib(pid: u32, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Proportional set size (shared pages divided among their users) of `pid` and all
/// its descendants, in KiB: the fair measure for a server that forks per connection.
pub fn tree_pss_kib(pid: u32) -> u64 {
    std::iter::once(pid)
        .chain(descendants(pid))
        .map(|p| {
            fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("Pss:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                })
                .unwrap_or(0)
        })
        .sum()
}

/// Resident memory of `pid` and all its descendants, in KiB.
pub fn tree_rss_kib(pid: u32) -> u64 {
    std::iter::once(pid)
        .chain(descendants(pid))
        .map(|p| status_kib(p, "VmRSS:"))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_has_memory_and_cpu_time() {
        let me = std::process::id();
        let spin: u64 = (0..5_000_000u64).map(|i| i ^ (i >> 3)).sum();
        assert!(spin > 0);
        assert!(tree_rss_kib(me) > 100);
        assert!(tree_pss_kib(me) > 100);
        assert!(cpu_seconds(me) >= 0.0);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(descendants(me).contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
