//! The load tool: the same workloads against our server, OpenSSH's sshd and a minimal
//! russh server in one run, alternating servers, printing Markdown tables for
//! BENCHMARKS.md. It starts every server itself on loopback. With `--baseline DIR`
//! (a directory holding an `ours-bench-server` built from another commit) it also runs
//! that build as server `base`, started and driven exactly like ours, for A/B runs.
//!
//! ```sh
//! cargo build --release -p ssh-bench --bins --examples
//! target/release/loadtest [--size BYTES] [--secs S] [--only bulk,forward,handshakes,idle,scale,channels,hostkeys]
//!                         [--servers ours,sshd,russh,base] [--idle 1000,10000] [--scale N] [--channels 100,1000]
//!                         [--ciphers aes128-gcm@openssh.com,...] [--baseline DIR]
//! ```

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh_bench::client::Client;
use ssh_bench::procfs;
use ssh_bench::raw::RawSealer;
use ssh_bench::servers::{self, Keys, Kind, Running};
use ssh_proto::{CipherAlg, ClientConfig, MacAlg, PrivateKey};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Opts {
    size: u64,
    secs: f64,
    only: Vec<String>,
    servers: Vec<Kind>,
    idle: Vec<usize>,
    scale: usize,
    channels: Vec<usize>,
    /// Bulk suites to run (cipher names); empty means all.
    ciphers: Vec<String>,
    /// Directory holding the `ours-bench-server` of another commit, run as `base`.
    baseline: Option<PathBuf>,
}

fn parse() -> Opts {
    let mut o = Opts {
        size: 2_000_000_000,
        secs: 5.0,
        only: ["bulk", "handshakes", "idle", "scale", "channels"]
            .map(String::from)
            .to_vec(),
        servers: vec![Kind::Ours, Kind::Sshd, Kind::Russh],
        idle: vec![1000, 10_000],
        scale: 100_000,
        channels: vec![100, 1000],
        ciphers: Vec::new(),
        baseline: None,
    };
    let mut servers_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().expect("a value after the option");
        match a.as_str() {
            "--size" => o.size = v().parse().expect("bytes"),
            "--secs" => o.secs = v().parse().expect("seconds"),
            "--only" => o.only = v().split(',').map(String::from).collect(),
            "--servers" => {
                servers_given = true;
                o.servers = v()
                    .split(',')
                    .map(|s| match s {
                        "ours" => Kind::Ours,
                        "sshd" => Kind::Sshd,
                        "russh" => Kind::Russh,
                        "base" => Kind::Base,
                        _ => panic!("unknown server {s}"),
                    })
                    .collect()
            }
            "--idle" => o.idle = v().split(',').map(|n| n.parse().expect("count")).collect(),
            "--scale" => o.scale = v().parse().expect("count"),
            "--ciphers" => o.ciphers = v().split(',').map(String::from).collect(),
            "--baseline" => o.baseline = Some(v().into()),
            "--channels" => {
                o.channels = v().split(',').map(|n| n.parse().expect("count")).collect()
            }
            _ => {
                eprintln!("unknown option {a}; see the doc comment at the top of loadtest.rs");
                std::process::exit(2)
            }
        }
    }
    if o.baseline.is_some() && !servers_given {
        o.servers.push(Kind::Base);
    }
    if o.baseline.is_none() && o.servers.contains(&Kind::Base) {
        eprintln!("server base needs --baseline DIR (a directory holding ours-bench-server)");
        std::process::exit(2)
    }
    o
}

/// The OpenSSH client's options for a server.
fn ssh_args(keys: &Keys, s: &Running, cipher: &str, mac: Option<&str>) -> Vec<String> {
    let mut a: Vec<String> = [
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
    ]
    .map(String::from)
    .to_vec();
    a.push(format!("Ciphers={cipher}"));
    if let Some(m) = mac {
        a.push("-o".into());
        a.push(format!("MACs={m}"));
    }
    a.push("-i".into());
    a.push(keys.user_key.display().to_string());
    a.push("-p".into());
    a.push(s.addr.port().to_string());
    a.push("root@127.0.0.1".into());
    a
}

/// Wait until the server has no child processes left (sessions reaped), so its
/// children's CPU time has been added to its own.
fn settle(s: &Running) {
    let t = Instant::now();
    while !procfs::descendants(s.pid()).is_empty() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
}

struct BulkRow {
    server: Kind,
    mbps: f64,
    cpu_per_gb: f64,
    /// The kernel's share of the server's CPU time.
    system_share: f64,
}

/// One OpenSSH transfer of `size` bytes; (MB/s, server CPU seconds per GB, the
/// kernel's share of that CPU time).
/// Read the child's stdout to its end (`down`) or write `size` zero bytes to its
/// stdin and close it; the bytes moved.
fn move_through(child: &mut std::process::Child, down: bool, size: u64) -> Result<u64, BoxError> {
    let mut moved = 0u64;
    if down {
        let mut out = child.stdout.take().ok_or("stdout")?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = out.read(&mut buf)?;
            if n == 0 {
                break;
            }
            moved += n as u64;
        }
    } else {
        let mut inp = child.stdin.take().ok_or("stdin")?;
        let buf = vec![0u8; 256 * 1024];
        while moved < size {
            let k = (size - moved).min(buf.len() as u64) as usize;
            inp.write_all(&buf[..k])?;
            moved += k as u64;
        }
    }
    Ok(moved)
}

fn bulk_once(
    keys: &Keys,
    s: &Running,
    cipher: &str,
    mac: Option<&str>,
    down: bool,
    memory: bool,
    size: u64,
) -> Result<(f64, f64, f64), BoxError> {
    let command = match (down, memory) {
        (true, false) => format!("head -c {size} /dev/zero"),
        (true, true) => format!("zero {size}"),
        (false, false) => "cat > /dev/null".into(),
        (false, true) => "sink".into(),
    };
    settle(s);
    let (user0, system0) = procfs::cpu_user_system(s.pid());
    let t = Instant::now();
    let mut child = Command::new("ssh")
        .args(ssh_args(keys, s, cipher, mac))
        .arg(&command)
        .stdin(if down { Stdio::null() } else { Stdio::piped() })
        .stdout(Stdio::piped())
        .spawn()?;
    let got = move_through(&mut child, down, size)?;
    let status = child.wait()?;
    let secs = t.elapsed().as_secs_f64();
    if !status.success() || got != size {
        return Err(format!(
            "{} {command}: status {status}, {got} of {size} bytes",
            s.kind.name()
        )
        .into());
    }
    settle(s);
    let (user1, system1) = procfs::cpu_user_system(s.pid());
    let (user, system) = (user1 - user0, system1 - system0);
    let cpu = user + system;
    let share = if cpu > 0.0 { system / cpu } else { 0.0 };
    Ok((size as f64 / secs / 1e6, cpu / (size as f64 / 1e9), share))
}

const BULK_SUITES: &[(&str, Option<&str>)] = &[
    ("chacha20-poly1305@openssh.com", None),
    ("aes128-gcm@openssh.com", None),
    ("aes256-gcm@openssh.com", None),
    ("aes128-ctr", Some("hmac-sha2-256-etm@openssh.com")),
];

/// The suite's algorithms in our types.
fn suite_algs(cipher: &str, mac: Option<&str>) -> (CipherAlg, Option<MacAlg>) {
    let c = CipherAlg::from_name(cipher).expect("a cipher we speak");
    let m = mac.map(|m| MacAlg::from_name(m).expect("a MAC we speak"));
    (c, m)
}

/// CPU seconds per GB of the bare aws-lc-rs primitive for a suite on this machine now
/// (32 KiB buffers, 1 GiB, this thread's CPU time in microseconds from getrusage).
fn raw_cipher_secs_per_gb(cipher: &str, mac: Option<&str>) -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    const BUF: usize = 32 * 1024;
    const TOTAL: usize = 1 << 30;
    let thread_cpu = || {
        getrusage(UsageWho::RUSAGE_THREAD)
            .map(|u| {
                let (a, b) = (u.user_time(), u.system_time());
                (a.tv_sec() + b.tv_sec()) as f64 + (a.tv_usec() + b.tv_usec()) as f64 / 1e6
            })
            .unwrap_or(0.0)
    };
    let (c, m) = suite_algs(cipher, mac);
    let raw = RawSealer::new(c, m).expect("raw primitive");
    let mut buf = vec![0u8; BUF];
    let t0 = thread_cpu();
    let mut sink = 0u8;
    for _ in 0..TOTAL / BUF {
        sink ^= raw.seal(&mut buf);
    }
    std::hint::black_box(sink);
    (thread_cpu() - t0) / (TOTAL as f64 / 1e9)
}

fn bulk(o: &Opts, keys: &Keys, running: &[Running]) {
    println!("\n### Raw cipher cost on this machine in this run (aws-lc-rs, one core)\n");
    println!("| suite | raw primitive CPU s/GB |");
    println!("| --- | --- |");
    let mut raw = Vec::new();
    let suites: Vec<(&str, Option<&str>)> = BULK_SUITES
        .iter()
        .filter(|(c, _)| o.ciphers.is_empty() || o.ciphers.iter().any(|w| w == c))
        .copied()
        .collect();
    for (cipher, mac) in &suites {
        let r = raw_cipher_secs_per_gb(cipher, *mac);
        println!(
            "| {cipher}{} | {r:.3} |",
            mac.map(|m| format!(" + {m}")).unwrap_or_default()
        );
        raw.push(r);
    }
    println!(
        "\n### Bulk transfer, OpenSSH client, {} bytes each\n",
        o.size
    );
    println!("| cipher | direction | source | server | MB/s | server CPU s/GB | of it kernel | user CPU / raw cipher | ours / best peer (MB/s; CPU) |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for ((cipher, mac), raw) in suites.iter().zip(raw) {
        let label = match mac {
            Some(m) => format!("{cipher} + {m}"),
            None => cipher.to_string(),
        };
        for down in [true, false] {
            for memory in [false, true] {
                let mut rows = Vec::new();
                for s in running {
                    if memory && !s.kind.serves_from_memory() {
                        continue;
                    }
                    match bulk_once(keys, s, cipher, *mac, down, memory, o.size) {
                        Ok((mbps, cpu_per_gb, system_share)) => rows.push(BulkRow {
                            server: s.kind,
                            mbps,
                            cpu_per_gb,
                            system_share,
                        }),
                        Err(e) => eprintln!("bulk {label} {}: {e}", s.kind.name()),
                    }
                }
                let ours = rows.iter().find(|r| r.server == Kind::Ours);
                let peers = rows.iter().filter(|r| r.server.is_peer());
                let best_mbps = peers.clone().map(|r| r.mbps).fold(0.0, f64::max);
                let best_cpu = peers.map(|r| r.cpu_per_gb).fold(f64::INFINITY, f64::min);
                for r in &rows {
                    let ratio = match (r.server, ours) {
                        (Kind::Ours, Some(u)) if best_mbps > 0.0 => {
                            format!("{:.2}; {:.2}", u.mbps / best_mbps, u.cpu_per_gb / best_cpu)
                        }
                        _ => String::new(),
                    };
                    println!(
                        "| {label} | {} | {} | {} | {:.0} | {:.3} | {:.0}% | {:.2} | {ratio} |",
                        if down { "down" } else { "up" },
                        if memory { "memory" } else { "process" },
                        r.server.name(),
                        r.mbps,
                        r.cpu_per_gb,
                        r.system_share * 100.0,
                        r.cpu_per_gb * (1.0 - r.system_share) / raw,
                    );
                }
            }
        }
    }
}

/// The exec each server runs per handshake: from memory where it can, else a process.
fn handshake_command(kind: Kind) -> &'static str {
    if kind.serves_from_memory() {
        "zero 0"
    } else {
        "true"
    }
}

async fn handshakes_in_process(
    s: &Running,
    cfg: Arc<ClientConfig>,
    key: Arc<PrivateKey>,
    concurrency: usize,
    secs: f64,
) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (cfg, key, done, errors) = (cfg.clone(), key.clone(), done.clone(), errors.clone());
        let (addr, cmd, kind) = (s.addr, handshake_command(s.kind), s.kind);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let r = async {
                    let mut c = Client::login(addr, cfg.clone(), "root", &key).await?;
                    c.exec(cmd).await?;
                    c.close().await;
                    Ok::<_, std::io::Error>(())
                }
                .await;
                match r {
                    Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("handshake with {} failed: {e}", kind.name());
                        }
                        0
                    }
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed),
    )
}

fn handshakes_openssh(keys: &Keys, s: &Running, concurrency: usize, secs: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let t = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let args = ssh_args(keys, s, "chacha20-poly1305@openssh.com", None);
    let cmd = handshake_command(s.kind);
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let (args, done) = (args.clone(), done.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let ok = Command::new("ssh")
                        .args(&args)
                        .arg(cmd)
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success());
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for th in threads {
        let _ = th.join();
    }
    done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

fn client_config() -> Arc<ClientConfig> {
    let mut c = ClientConfig::default();
    c.transport.algorithms.ciphers = vec![CipherAlg::ChaCha20Poly1305];
    c.transport.algorithms.macs = vec![MacAlg::HmacSha256Etm];
    c.transport.limits.max_channels = 4000;
    Arc::new(c)
}

/// Server CPU seconds (its reaped children included) since `before`.
fn server_cpu_since(s: &Running, before: f64) -> f64 {
    settle(s);
    let (user, system) = procfs::cpu_user_system(s.pid());
    user + system - before
}

fn server_cpu_now(s: &Running) -> f64 {
    let (user, system) = procfs::cpu_user_system(s.pid());
    user + system
}

/// One server's handshake figures.
struct RateRow {
    kind: Kind,
    rate: f64,
    errors: u64,
    /// Server CPU milliseconds per completed connection.
    cpu_ms: f64,
}

/// A loopback TCP server that discards what it receives (`up`) or sends `size` zero
/// bytes and closes (`down`); the port.
fn forward_target(down: bool, size: u64) -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            std::thread::spawn(move || {
                if down {
                    let buf = vec![0u8; 256 * 1024];
                    let mut left = size;
                    while left > 0 {
                        let n = left.min(buf.len() as u64) as usize;
                        if c.write_all(&buf[..n]).is_err() {
                            return;
                        }
                        left -= n as u64;
                    }
                } else {
                    let _ = std::io::copy(&mut c, &mut std::io::sink());
                }
            });
        }
    });
    Ok(port)
}

/// Forwarding: `size` bytes through `ssh -W` (a direct-tcpip channel, as -L makes)
/// to a loopback target, up (client to target) and down, per server; MB/s and server
/// CPU s/GB.
fn forward(o: &Opts, keys: &Keys, running: &[Running]) -> Result<(), BoxError> {
    // A cipher all three servers offer (russh has no aes128-gcm).
    let cipher = "aes256-gcm@openssh.com";
    println!(
        "\n### Forwarding through ssh -W ({cipher}), {} MB each way\n",
        o.size / 1_000_000
    );
    println!("| direction | server | MB/s | server CPU s/GB | ours / best peer (MB/s; CPU) |");
    println!("| --- | --- | --- | --- | --- |");
    for down in [false, true] {
        let target = forward_target(down, o.size)?;
        let mut rows = Vec::new();
        for s in running {
            settle(s);
            let before = server_cpu_now(s);
            let t = Instant::now();
            let mut child = Command::new("ssh")
                .args(ssh_args(keys, s, cipher, None))
                .args(["-W", &format!("127.0.0.1:{target}")])
                .stdin(if down { Stdio::null() } else { Stdio::piped() })
                .stdout(Stdio::piped())
                .spawn()?;
            let moved = move_through(&mut child, down, o.size)?;
            let _ = child.wait();
            let secs = t.elapsed().as_secs_f64();
            let cpu = server_cpu_since(s, before);
            rows.push((
                s.kind,
                moved as f64 / secs / 1e6,
                cpu / (moved as f64 / 1e9),
            ));
        }
        let peers = rows.iter().filter(|r| r.0.is_peer());
        let best = peers.clone().map(|r| r.1).fold(0.0, f64::max);
        let best_cpu = peers.map(|r| r.2).fold(f64::INFINITY, f64::min);
        for (kind, rate, cpu) in &rows {
            let ratio = if *kind == Kind::Ours && best > 0.0 {
                format!("{:.2}; {:.2}", rate / best, cpu / best_cpu)
            } else {
                String::new()
            };
            let dir = if down { "down" } else { "up" };
            println!(
                "| {dir} | {} | {rate:.0} | {cpu:.3} | {ratio} |",
                kind.name()
            );
        }
    }
    Ok(())
}

/// Handshakes per host key type: for each type the servers restart with a host key
/// of that type (made by ssh-keygen), then our client and OpenSSH's connect with 8 at
/// a time.
async fn hostkeys(o: &Opts, examples: &Path, key: Arc<PrivateKey>) -> Result<(), BoxError> {
    println!("\n### Handshakes per second by host key type (curve25519, publickey, session, exec, close), concurrency 8, {} s each\n", o.secs);
    println!("| host key | client | concurrency | server | connections/s | errors | server CPU ms per connection | ours / best peer (rate; CPU) |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, kind, bits) in servers::HOST_KEY_TYPES {
        let dir = std::env::temp_dir().join(format!("loadtest-hk-{}-{name}", std::process::id()));
        let keys = Keys::create_with_host_key(&dir, kind, bits)?;
        // Our client logs in with the same user key every run uses.
        std::fs::write(
            keys.dir.join("authorized_keys"),
            key.public_key().to_openssh("bench") + "\n",
        )?;
        std::fs::write(&keys.user_key, key.to_openssh("bench")?)?;
        std::fs::write(
            keys.user_key.with_extension("pub"),
            key.public_key().to_openssh("bench") + "\n",
        )?;
        let mut running = Vec::new();
        for &k in &o.servers {
            running.push(servers::start(k, &keys, examples, o.baseline.as_deref())?);
        }
        for client in ["ours", "OpenSSH ssh"] {
            let mut rows = Vec::new();
            for s in &running {
                settle(s);
                let before = server_cpu_now(s);
                let t = Instant::now();
                let (rate, errors) = if client == "ours" {
                    handshakes_in_process(s, client_config(), key.clone(), 8, o.secs).await
                } else {
                    (handshakes_openssh(&keys, s, 8, o.secs), 0)
                };
                let count = rate * t.elapsed().as_secs_f64();
                let cpu = server_cpu_since(s, before);
                rows.push(RateRow {
                    kind: s.kind,
                    rate,
                    errors,
                    cpu_ms: cpu * 1e3 / count.max(1.0),
                });
            }
            print_rate_rows(&format!("{name} | {client}"), 8, &rows);
        }
        drop(running);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

async fn handshakes(o: &Opts, keys: &Keys, running: &[Running], key: Arc<PrivateKey>) {
    println!("\n### Handshakes per second (connect, curve25519 + ed25519, publickey, session, exec, close), {} s each\n", o.secs);
    println!("| client | concurrency | server | connections/s | errors | server CPU ms per connection | ours / best peer (rate; CPU) |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for conc in [1usize, 2, 8, 64] {
        let mut rows = Vec::new();
        for s in running {
            settle(s);
            let before = server_cpu_now(s);
            let t = Instant::now();
            let (rate, errors) =
                handshakes_in_process(s, client_config(), key.clone(), conc, o.secs).await;
            let count = rate * t.elapsed().as_secs_f64();
            let cpu = server_cpu_since(s, before);
            rows.push(RateRow {
                kind: s.kind,
                rate,
                errors,
                cpu_ms: cpu * 1e3 / count.max(1.0),
            });
        }
        print_rate_rows("in-process (ours)", conc, &rows);
    }
    let mut rows = Vec::new();
    for s in running {
        settle(s);
        let before = server_cpu_now(s);
        let t = Instant::now();
        let rate = handshakes_openssh(keys, s, 8, o.secs);
        let count = rate * t.elapsed().as_secs_f64();
        let cpu = server_cpu_since(s, before);
        rows.push(RateRow {
            kind: s.kind,
            rate,
            errors: 0,
            cpu_ms: cpu * 1e3 / count.max(1.0),
        });
    }
    print_rate_rows("OpenSSH ssh", 8, &rows);
}

fn print_rate_rows(client: &str, conc: usize, rows: &[RateRow]) {
    let ours = rows.iter().find(|r| r.kind == Kind::Ours);
    let peers = rows.iter().filter(|r| r.kind.is_peer());
    let best = peers.clone().map(|r| r.rate).fold(0.0, f64::max);
    let best_cpu = peers.map(|r| r.cpu_ms).fold(f64::INFINITY, f64::min);
    for r in rows {
        let ratio = match (r.kind, ours) {
            (Kind::Ours, Some(u)) if best > 0.0 => {
                format!("{:.2}; {:.2}", u.rate / best, u.cpu_ms / best_cpu)
            }
            _ => String::new(),
        };
        println!(
            "| {client} | {conc} | {} | {:.1} | {} | {:.3} | {ratio} |",
            r.kind.name(),
            r.rate,
            r.errors,
            r.cpu_ms
        );
    }
}

/// Open `n` authenticated idle connections, `parallel` at a time, spreading the local
/// side over loopback addresses 127.0.0.1-16 for ports.
async fn open_many(
    s: &Running,
    n: usize,
    key: Arc<PrivateKey>,
    parallel: usize,
) -> (Vec<Client>, usize) {
    let cfg = client_config();
    let mut clients = Vec::with_capacity(n);
    let mut failures = 0;
    let mut next = 0usize;
    while clients.len() + failures < n {
        let batch = parallel.min(n - clients.len() - failures);
        let mut tasks = Vec::with_capacity(batch);
        for _ in 0..batch {
            let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (next % 16) as u8));
            next += 1;
            let (cfg, key, addr) = (cfg.clone(), key.clone(), s.addr);
            tasks.push(tokio::spawn(async move {
                Client::login_from(Some(ip), addr, cfg, "root", &key).await
            }));
        }
        for t in tasks {
            match t.await {
                Ok(Ok(c)) => clients.push(c),
                _ => failures += 1,
            }
        }
        if failures > n / 10 + 100 {
            break;
        }
    }
    (clients, failures)
}

async fn idle(o: &Opts, keys: &Keys, examples: &std::path::Path, key: Arc<PrivateKey>) {
    println!("\n### Idle authenticated connections: server memory (PSS of the server and its processes; a fresh server per row)\n");
    println!("| connections | server | KiB per connection | failures | ours / best peer |");
    println!("| --- | --- | --- | --- | --- |");
    for &n in &o.idle {
        let mut rows = Vec::new();
        for &kind in &o.servers {
            if kind == Kind::Sshd && n > 2000 {
                eprintln!("idle {n}: sshd skipped (one process per connection; see BENCHMARKS.md)");
                continue;
            }
            // A fresh server: memory freed by earlier workloads would hide the growth.
            let Ok(s) = servers::start(kind, keys, examples, o.baseline.as_deref()) else {
                eprintln!("idle {n}: {} did not start", kind.name());
                continue;
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = procfs::tree_pss_kib(s.pid());
            let (clients, failures) = open_many(&s, n, key.clone(), 64).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = procfs::tree_pss_kib(s.pid());
            let per = (after.saturating_sub(before)) as f64 / clients.len().max(1) as f64;
            rows.push((s.kind, per, failures as u64));
            for c in clients {
                c.close().await;
            }
            drop(s);
        }
        let ours = rows.iter().find(|r| r.0 == Kind::Ours).map(|r| r.1);
        let best = rows
            .iter()
            .filter(|r| r.0.is_peer())
            .map(|r| r.1)
            .fold(f64::INFINITY, f64::min);
        for (kind, per, failures) in &rows {
            let ratio = match (kind, ours) {
                (Kind::Ours, Some(u)) if best.is_finite() => format!("{:.2}", u / best),
                _ => String::new(),
            };
            println!(
                "| {n} | {} | {per:.1} | {failures} | {ratio} |",
                kind.name()
            );
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn scale(o: &Opts, running: &[Running], key: Arc<PrivateKey>) {
    println!(
        "\n### Scale: authenticated connections held, each answering a keepalive round trip\n"
    );
    println!("| server | target | held | KiB per connection | keepalive p50 | keepalive p99 | answered |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for s in running {
        if s.kind == Kind::Sshd {
            eprintln!("scale: sshd skipped (one process per connection)");
            continue;
        }
        settle(s);
        let before = procfs::tree_pss_kib(s.pid());
        let t = Instant::now();
        let (clients, failures) = open_many(s, o.scale, key.clone(), 256).await;
        eprintln!(
            "scale {}: {} connections in {:.0} s ({failures} failures)",
            s.kind.name(),
            clients.len(),
            t.elapsed().as_secs_f64()
        );
        let after = procfs::tree_pss_kib(s.pid());
        let held = clients.len();
        // Every connection sends one keepalive at the same time; each round trip is timed.
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                tokio::spawn(async move {
                    let r = c.keepalive().await;
                    (c, r)
                })
            })
            .collect();
        let mut rtts = Vec::new();
        let mut back = Vec::new();
        for t in tasks {
            if let Ok((c, r)) = t.await {
                if let Ok(d) = r {
                    rtts.push(d);
                }
                back.push(c);
            }
        }
        rtts.sort();
        println!(
            "| {} | {} | {held} | {:.1} | {:.1} ms | {:.1} ms | {} |",
            s.kind.name(),
            o.scale,
            after.saturating_sub(before) as f64 / held.max(1) as f64,
            percentile(&rtts, 0.5).as_secs_f64() * 1e3,
            percentile(&rtts, 0.99).as_secs_f64() * 1e3,
            rtts.len()
        );
        for c in back {
            c.close().await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Above this many channels sshd is not run: its time grows with the square of the
/// channel count (300 channels: 75 s of both cores), so 1,000 would take many minutes.
const SSHD_MAX_CHANNELS: usize = 300;

async fn channels(o: &Opts, running: &[Running], key: Arc<PrivateKey>) {
    println!("\n### Many channels: N sessions on one connection, 1 MiB each\n");
    println!("| sessions | server | source | seconds | MiB received | server CPU s | ours / best peer (time; CPU) |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for &n in &o.channels {
        let mut rows = Vec::new();
        for s in running {
            if s.kind == Kind::Sshd && n > SSHD_MAX_CHANNELS {
                eprintln!("many channels: sshd skipped at {n} (over {SSHD_MAX_CHANNELS})");
                continue;
            }
            settle(s);
            let before = server_cpu_now(s);
            let cmd = if s.kind.serves_from_memory() {
                "zero 1048576"
            } else {
                "head -c 1048576 /dev/zero"
            };
            let run = async {
                let mut c = Client::login(s.addr, client_config(), "root", &key).await?;
                let t = Instant::now();
                let bytes = c.exec_many(n, cmd).await?;
                let secs = t.elapsed().as_secs_f64();
                c.close().await;
                Ok::<_, std::io::Error>((secs, bytes))
            };
            let r = match tokio::time::timeout(Duration::from_secs(120), run).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::other("did not finish within 120 s")),
            };
            let cpu = server_cpu_since(s, before);
            match r {
                Ok((secs, bytes)) => rows.push((s.kind, secs, bytes, cpu)),
                Err(e) => println!("| {n} | {} | | failed: {e} | | {cpu:.2} | |", s.kind.name()),
            }
        }
        let ours = rows.iter().find(|r| r.0 == Kind::Ours);
        let peers = rows.iter().filter(|r| r.0.is_peer());
        let best_secs = peers.clone().map(|r| r.1).fold(f64::INFINITY, f64::min);
        let best_cpu = peers.map(|r| r.3).fold(f64::INFINITY, f64::min);
        for (kind, secs, bytes, cpu) in &rows {
            let ratio = match (kind, ours) {
                (Kind::Ours, Some(u)) if best_secs.is_finite() => {
                    format!("{:.2}; {:.2}", u.1 / best_secs, u.3 / best_cpu)
                }
                _ => String::new(),
            };
            println!(
                "| {n} | {} | {} | {secs:.2} | {} | {cpu:.2} | {ratio} |",
                kind.name(),
                if kind.serves_from_memory() {
                    "memory"
                } else {
                    "process"
                },
                bytes >> 20
            );
        }
    }
}

fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let want = hard.max(1 << 20);
        if setrlimit(Resource::RLIMIT_NOFILE, want, want).is_err() {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn main() -> Result<(), BoxError> {
    let o = parse();
    raise_open_file_limit();
    let exe = std::env::current_exe()?;
    let examples: PathBuf = exe
        .parent()
        .map(|d| d.join("examples"))
        .ok_or("no executable directory")?;
    let keys =
        Keys::create(&std::env::temp_dir().join(format!("loadtest-{}", std::process::id())))?;
    let key = Arc::new(PrivateKey::from_openssh(&std::fs::read_to_string(
        &keys.user_key,
    )?)?);
    let mut running = Vec::new();
    for &k in &o.servers {
        running.push(servers::start(k, &keys, &examples, o.baseline.as_deref())?);
        eprintln!(
            "{} listening on {}",
            k.name(),
            running
                .last()
                .map(|r: &Running| r.addr)
                .ok_or("no server")?
        );
    }
    // One client thread: the servers get the other core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let wants = |w: &str| o.only.iter().any(|x| x == w);
    if wants("bulk") {
        bulk(&o, &keys, &running);
    }
    if wants("forward") {
        forward(&o, &keys, &running)?;
    }
    if wants("handshakes") {
        rt.block_on(handshakes(&o, &keys, &running, key.clone()));
    }
    if wants("idle") {
        rt.block_on(idle(&o, &keys, &examples, key.clone()));
    }
    if wants("channels") {
        rt.block_on(channels(&o, &running, key.clone()));
    }
    if wants("scale") {
        rt.block_on(scale(&o, &running, key.clone()));
    }
    drop(running);
    if wants("hostkeys") {
        // Run last, alone: it starts its own servers per host key type.
        rt.block_on(hostkeys(&o, &examples, key.clone()))?;
    }
    let _ = std::fs::remove_dir_all(&keys.dir);
    Ok(())
}
