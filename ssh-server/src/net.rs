//! Socket setup shared by the adapters (tokio, smol, blocking): listening
//! sockets for IPv4, IPv6 or both with a backlog and an exclusive-bind option, the
//! per-connection TCP options, and [`ServerOptions`], which gathers them with the
//! admission rules. Everything here is std sockets; each adapter hands the listeners
//! to its runtime.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use crate::admission::{AddressPattern, AdmissionPolicy};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// Which address families to listen on (reference: UseIPv6 0 / 1 / 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
    /// Both: one dual-stack socket for a wildcard address, or the IPv4 and IPv6
    /// loopback addresses on the same port for a loopback address.
    Both,
}

/// Where and how to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenOptions {
    /// Address and port; port 0 picks an ephemeral port.
    pub addr: SocketAddr,
    /// Address families.
    pub family: IpFamily,
    /// Pending connections the kernel queues (reference: ConnectionBacklog), default 1024.
    pub backlog: i32,
    /// Refuse to share the port: no SO_REUSEADDR or SO_REUSEPORT (reference:
    /// BindExclusively). When false, SO_REUSEADDR is set so a restarted server can
    /// bind while old connections linger.
    pub exclusive: bool,
}

/// Options applied to every accepted connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOptions {
    /// Disable Nagle's algorithm (reference: TcpNoDelay), default true.
    pub nodelay: bool,
    /// TCP keepalive: idle time before the first probe (reference: KeepAliveTime).
    pub keepalive_time: Option<Duration>,
    /// TCP keepalive: time between probes (reference: KeepAliveInterval).
    pub keepalive_interval: Option<Duration>,
    /// Receive buffer size (reference: InBufferSize); None keeps the system's.
    pub recv_buffer: Option<usize>,
    /// Send buffer size (reference: OutBufferSize); None keeps the system's.
    pub send_buffer: Option<usize>,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            nodelay: true,
            keepalive_time: None,
            keepalive_interval: None,
            recv_buffer: None,
            send_buffer: None,
        }
    }
}

impl TcpOptions {
    /// Apply to an accepted socket (any type that exposes its descriptor).
    pub fn apply<S: std::os::fd::AsFd>(&self, socket: &S) -> io::Result<()> {
        let s = SockRef::from(socket);
        s.set_tcp_nodelay(self.nodelay)?;
        if self.keepalive_time.is_some() || self.keepalive_interval.is_some() {
            let mut k = TcpKeepalive::new();
            if let Some(t) = self.keepalive_time {
                k = k.with_time(t);
            }
            if let Some(i) = self.keepalive_interval {
                k = k.with_interval(i);
            }
            s.set_tcp_keepalive(&k)?;
        }
        if let Some(n) = self.recv_buffer {
            s.set_recv_buffer_size(n)?;
        }
        if let Some(n) = self.send_buffer {
            s.set_send_buffer_size(n)?;
        }
        Ok(())
    }
}

/// Acknowledge the bytes received so far at once instead of on the delayed-ACK timer
/// (TCP_QUICKACK on Linux; nothing elsewhere). Adapters call it after reads during the
/// handshake: a client whose Nagle algorithm holds its next message (ECDH init after
/// KEXINIT, service request after NEWKEYS) until that ACK would otherwise stall
/// 40 ms each time, since the server has nothing of its own to send back.
pub fn ack_now<S: std::os::fd::AsFd>(socket: &S) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    SockRef::from(socket).set_tcp_quickack(true)?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = socket;
    Ok(())
}

/// The local address of an accepted socket (any type that exposes its descriptor).
pub fn local_addr<S: std::os::fd::AsFd>(socket: &S) -> io::Result<SocketAddr> {
    SockRef::from(socket)
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))
}

/// Everything an adapter's `Server::bind` takes besides the protocol config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Listening sockets.
    pub listen: ListenOptions,
    /// Per-connection TCP options.
    pub tcp: TcpOptions,
    /// Who may connect and how many at once.
    pub admission: AdmissionPolicy,
}

impl ServerOptions {
    /// Listen on `addr` with defaults: its own family, backlog 1024, SO_REUSEADDR,
    /// nodelay, at most 1000 connections, every address allowed.
    pub fn listen_on(addr: SocketAddr) -> Self {
        ServerOptions {
            listen: ListenOptions {
                addr,
                family: if addr.is_ipv4() {
                    IpFamily::V4
                } else {
                    IpFamily::V6
                },
                backlog: 1024,
                exclusive: false,
            },
            tcp: TcpOptions::default(),
            admission: AdmissionPolicy::default(),
        }
    }

    /// Set the address families.
    pub fn family(mut self, f: IpFamily) -> Self {
        self.listen.family = f;
        self
    }

    /// Set the listen backlog.
    pub fn backlog(mut self, n: i32) -> Self {
        self.listen.backlog = n;
        self
    }

    /// Bind exclusively (no port sharing).
    pub fn exclusive(mut self, on: bool) -> Self {
        self.listen.exclusive = on;
        self
    }

    /// Set the TCP options for accepted connections.
    pub fn tcp(mut self, t: TcpOptions) -> Self {
        self.tcp = t;
        self
    }

    /// Set the maximum number of live connections (1..=100000).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.admission.max_connections = n;
        self
    }

    /// Allow only addresses matching the given patterns (plus any added later).
    pub fn allow(mut self, pattern: AddressPattern) -> Self {
        self.admission.allowed.push(pattern);
        self
    }

    /// Refuse addresses matching `pattern`.
    pub fn block(mut self, pattern: AddressPattern) -> Self {
        self.admission.blocked.push(pattern);
        self
    }
}

fn socket_for(addr: SocketAddr, opts: &ListenOptions, v6only: Option<bool>) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(only) = v6only {
        s.set_only_v6(only)?;
    }
    if !opts.exclusive {
        s.set_reuse_address(true)?;
    }
    s.set_nonblocking(false)?;
    s.bind(&addr.into())?;
    s.listen(opts.backlog)?;
    Ok(s)
}

/// The addresses `opts` asks for, each with its IPV6_V6ONLY setting.
fn plan(opts: &ListenOptions) -> io::Result<Vec<(SocketAddr, Option<bool>)>> {
    let port = opts.addr.port();
    let ip = opts.addr.ip();
    let v4 = |a: Ipv4Addr| SocketAddr::new(IpAddr::V4(a), port);
    let v6 = |a: Ipv6Addr| SocketAddr::new(IpAddr::V6(a), port);
    let wrong = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} does not fit the address {ip}"),
        )
    };
    Ok(match (opts.family, ip) {
        (IpFamily::V4, IpAddr::V4(_)) => vec![(opts.addr, None)],
        (IpFamily::V4, IpAddr::V6(a)) if a.is_unspecified() => {
            vec![(v4(Ipv4Addr::UNSPECIFIED), None)]
        }
        (IpFamily::V4, IpAddr::V6(a)) if a.is_loopback() => vec![(v4(Ipv4Addr::LOCALHOST), None)],
        (IpFamily::V4, _) => return Err(wrong("IPv4 only")),
        (IpFamily::V6, IpAddr::V6(_)) => vec![(opts.addr, Some(true))],
        (IpFamily::V6, IpAddr::V4(a)) if a.is_unspecified() => {
            vec![(v6(Ipv6Addr::UNSPECIFIED), Some(true))]
        }
        (IpFamily::V6, IpAddr::V4(a)) if a.is_loopback() => {
            vec![(v6(Ipv6Addr::LOCALHOST), Some(true))]
        }
        (IpFamily::V6, _) => return Err(wrong("IPv6 only")),
        (IpFamily::Both, ip) if ip.is_unspecified() => {
            vec![(v6(Ipv6Addr::UNSPECIFIED), Some(false))]
        }
        (IpFamily::Both, ip) if ip.is_loopback() => vec![
            (v4(Ipv4Addr::LOCALHOST), None),
            (v6(Ipv6Addr::LOCALHOST), Some(true)),
        ],
        (IpFamily::Both, IpAddr::V6(_)) => vec![(opts.addr, Some(false))],
        (IpFamily::Both, IpAddr::V4(_)) => vec![(opts.addr, None)],
    })
}

/// Bind the listening sockets `opts` asks for (blocking mode; adapters switch them
/// to their runtime). With two sockets and port 0 both get the same ephemeral port.
pub fn bind(opts: &ListenOptions) -> io::Result<Vec<TcpListener>> {
    let plan = plan(opts)?;
    for _attempt in 0..16 {
        let mut out: Vec<TcpListener> = Vec::new();
        let mut port = opts.addr.port();
        let mut retry = false;
        for &(mut addr, v6only) in &plan {
            addr.set_port(port);
            match socket_for(addr, opts, v6only) {
                Ok(s) => {
                    let l: TcpListener = s.into();
                    port = l.local_addr()?.port();
                    out.push(l);
                }
                // The ephemeral port from the first socket is taken in the other
                // family: start over with a new one.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && opts.addr.port() == 0 => {
                    retry = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if !retry {
            return Ok(out);
        }
    }
    Err(io::ErrorKind::AddrInUse.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    fn opts(addr: &str, family: IpFamily) -> ListenOptions {
        ServerOptions::listen_on(addr.parse().unwrap())
            .family(family)
            .listen
    }

    #[test]
    fn both_families_on_loopback_share_one_ephemeral_port() {
        let ls = bind(&opts("127.0.0.1:0", IpFamily::Both)).unwrap();
        assert_eq!(ls.len(), 2);
        let (a, b) = (ls[0].local_addr().unwrap(), ls[1].local_addr().unwrap());
        assert_eq!(a.port(), b.port());
        assert!(a.is_ipv4() && b.is_ipv6());
        TcpStream::connect(("::1", b.port())).unwrap();
        TcpStream::connect(("127.0.0.1", a.port())).unwrap();
    }

    #[test]
    fn dual_stack_wildcard_accepts_ipv4_and_ipv6() {
        let ls = bind(&opts("[::]:0", IpFamily::Both)).unwrap();
        assert_eq!(ls.len(), 1);
        let port = ls[0].local_addr().unwrap().port();
        TcpStream::connect(("127.0.0.1", port)).unwrap();
        TcpStream::connect(("::1", port)).unwrap();
    }

    #[test]
    fn single_family_sockets_refuse_the_other() {
        let ls = bind(&opts("[::]:0", IpFamily::V6)).unwrap();
        let port = ls[0].local_addr().unwrap().port();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        let ls4 = bind(&opts("0.0.0.0:0", IpFamily::V4)).unwrap();
        assert!(ls4[0].local_addr().unwrap().is_ipv4());
        assert!(bind(&opts("10.1.2.3:0", IpFamily::V6)).is_err());
    }

    #[test]
    fn exclusive_bind_keeps_the_port_from_others() {
        let mut o = opts("127.0.0.1:0", IpFamily::V4);
        o.exclusive = true;
        let ls = bind(&o).unwrap();
        let addr = ls[0].local_addr().unwrap();
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_reuse_address(true).unwrap();
        s.set_reuse_port(true).unwrap();
        assert!(s.bind(&addr.into()).is_err());
    }

    #[test]
    fn ack_now_asks_for_an_immediate_ack() {
        let ls = bind(&opts("127.0.0.1:0", IpFamily::V4)).unwrap();
        let c = TcpStream::connect(ls[0].local_addr().unwrap()).unwrap();
        ack_now(&c).unwrap();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert!(SockRef::from(&c).tcp_quickack().unwrap());
    }

    #[test]
    fn tcp_options_apply_to_a_stream() {
        let ls = bind(&opts("127.0.0.1:0", IpFamily::V4)).unwrap();
        let c = TcpStream::connect(ls[0].local_addr().unwrap()).unwrap();
        let t = TcpOptions {
            nodelay: true,
            keepalive_time: Some(Duration::from_secs(30)),
            keepalive_interval: Some(Duration::from_secs(5)),
            recv_buffer: Some(256 * 1024),
            send_buffer: Some(256 * 1024),
        };
        t.apply(&c).unwrap();
        let r = SockRef::from(&c);
        assert!(r.tcp_nodelay().unwrap());
        assert!(r.keepalive().unwrap());
        assert_eq!(r.tcp_keepalive_time().unwrap(), Duration::from_secs(30));
        assert!(r.recv_buffer_size().unwrap() >= 256 * 1024);
    }
}
