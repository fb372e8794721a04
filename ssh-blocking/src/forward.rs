//! Port forwarding helpers: connect a `direct-tcpip` channel (`ssh -L`, `-D`, `-W`,
//! ProxyJump) to its target and copy both ways, a thread per direction.

use std::io;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::ChannelStream;

/// How long a forward's connect may take before the channel is refused.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to a forward's target (`host` may be a name or an address; each address
/// it resolves to is tried in turn).
pub fn connect_tcp(host: &str, port: u32) -> io::Result<TcpStream> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "port out of range"))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Copy both ways between `channel` and `tcp` until both directions have ended: the
/// client's EOF shuts the socket's write side, the socket's end sends EOF on the
/// channel, then the channel closes. Blocks; the target-to-client direction runs on
/// a thread of its own. Returns the bytes moved (client to target, target to client).
pub fn pump_tcp(mut channel: ChannelStream, tcp: TcpStream) -> io::Result<(u64, u64)> {
    let mut rd = tcp.try_clone()?;
    let out = channel.writer();
    let down = std::thread::spawn(move || {
        let n = out.send_from(&mut rd);
        out.control().eof();
        n
    });
    let mut wr = tcp;
    let up = channel.recv_to(&mut wr);
    let _ = wr.shutdown(Shutdown::Write);
    let down = down
        .join()
        .map_err(|_| io::Error::other("forwarding thread panicked"))?;
    channel.control().close();
    Ok((up?, down?))
}
