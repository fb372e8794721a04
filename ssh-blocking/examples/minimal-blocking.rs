//! The smallest useful blocking server: password login, exec answers with the command.
use ssh_blocking::{ChannelContext, Handler, Server, ServerOptions};
use ssh_proto::*;
use std::io::Write;
struct Echo;
impl Handler for Echo {
    type ChannelState = ();
    fn auth(&self, r: AuthRequest) -> AuthDecision {
        matches!(&r.method, AuthMethod::Password { password: p, .. } if p.expose() == "demo").into()
    }
    fn channel_request(&self, ctx: ChannelContext<()>, req: ChannelRequest) -> bool {
        let ChannelRequest::Exec { command } = req else { return false };
        let Some(mut s) = ctx.take_stream() else { return false };
        std::thread::spawn(move || {
            let _ = s.write_all(&[&command[..], b"\n"].concat());
            s.exit(0);
        });
        true
    }
}
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ServerConfig::builder().host_key(PrivateKey::generate_ed25519(&SystemRng)?);
    let options = ServerOptions::listen_on("127.0.0.1:2222".parse()?);
    Ok(Server::bind(options, config.build()?.into(), Echo)?.run()?)
}
