//! The smallest useful smol server: password login, exec answers with the command.
use smol::io::AsyncWriteExt;
use ssh_proto::*;
use ssh_smol::{ChannelContext, ChannelStream, Handler, Server, ServerOptions};
struct Echo;
impl Handler<ChannelStream> for Echo {
    type ChannelState = ();
    async fn auth(&self, r: AuthRequest) -> AuthDecision {
        matches!(&r.method, AuthMethod::Password { password: p, .. } if p.expose() == "demo").into()
    }
    async fn channel_request(&self, ctx: ChannelContext<()>, req: ChannelRequest) -> bool {
        let ChannelRequest::Exec { command } = req else { return false };
        let Some(mut s) = ctx.take_stream() else { return false };
        smol::spawn(async move {
            let _ = s.write_all(&[&command[..], b"\n"].concat()).await;
            s.exit(0);
        })
        .detach();
        true
    }
}
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ServerConfig::builder().host_key(PrivateKey::generate_ed25519(&SystemRng)?);
    let options = ServerOptions::listen_on("127.0.0.1:2222".parse()?);
    let server = smol::block_on(Server::bind(options, config.build()?.into(), Echo))?;
    Ok(smol::block_on(server.run())?)
}
