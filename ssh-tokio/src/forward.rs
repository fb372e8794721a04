//! Port forwarding helpers: connect a `direct-tcpip` channel (`ssh -L`, `-D`, `-W`,
//! ProxyJump) to its target and copy both ways.

use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::ChannelStream;

/// How long a forward's connect may take before the channel is refused.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to a forward's target (`host` may be a name or an address).
pub async fn connect_tcp(host: &str, port: u32) -> io::Result<TcpStream> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "port out of range"))?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port)))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Copy both ways between `channel` and `tcp` until both directions have ended: the
/// client's EOF shuts the socket's write side, the socket's end sends EOF on the
/// channel, then the channel closes. Each direction copies once (a read into a
/// buffer that is then sent whole) with backpressure from the channel window and the
/// socket. Returns the bytes moved (client to target, target to client).
pub async fn pump_tcp(mut channel: ChannelStream, tcp: TcpStream) -> io::Result<(u64, u64)> {
    let (mut rd, mut wr) = tcp.into_split();
    let mut out = channel.stdout();
    let control = channel.control();
    let up = async {
        let n = channel.recv_to(&mut wr).await;
        let _ = wr.shutdown().await;
        n
    };
    let down = async {
        let n = out.send_from(&mut rd).await;
        out.control().eof();
        n
    };
    let (up, down) = tokio::join!(up, down);
    control.close();
    Ok((up?, down?))
}
