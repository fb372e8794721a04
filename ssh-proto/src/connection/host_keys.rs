//! Host key rotation (OpenSSH's PROTOCOL, "hostkeys-00@openssh.com"): after
//! authentication the server announces all its host keys, and proves on request that
//! it holds their private halves, so a client (UpdateHostKeys) can learn new keys.

use bytes::{Bytes, BytesMut};

use crate::config::ServerConfig;
use crate::error::Error;
use crate::keys::PrivateKey;
use crate::wire::message::Message;
use crate::wire::{Reader, Writer};

/// The announcement's global request name.
pub(crate) const ANNOUNCE: &str = "hostkeys-00@openssh.com";
/// The proof request's name.
pub(crate) const PROVE: &str = "hostkeys-prove-00@openssh.com";
/// Most keys a client may ask us to prove at once (we hold only a handful).
const MAX_PROVE: usize = 16;

/// The global request listing every host key (want-reply false).
pub(crate) fn announcement(config: &ServerConfig) -> Message {
    let mut data = BytesMut::new();
    let mut w = Writer::new(&mut data);
    for k in &config.host_keys {
        w.string(&k.public_key().to_blob());
    }
    Message::GlobalRequest {
        name: ANNOUNCE.into(),
        want_reply: false,
        data: data.freeze(),
    }
}

/// The answer to a proof request for the key blobs in `data`: REQUEST_SUCCESS with a
/// signature per key, in order, over (string PROVE, string session id, string key), or
/// REQUEST_FAILURE when a key is not ours or the request is malformed. RSA keys sign
/// with the negotiated algorithm when it is an RSA one, else rsa-sha2-512.
pub(crate) fn prove(
    config: &ServerConfig,
    session_id: &[u8],
    negotiated_host_alg: &str,
    data: &[u8],
) -> Result<Message, Error> {
    let mut r = Reader::new(data);
    let mut keys: Vec<&PrivateKey> = Vec::new();
    while r.remaining() > 0 {
        let Ok(blob) = r.string() else {
            return Ok(Message::RequestFailure);
        };
        let ours = config
            .host_keys
            .iter()
            .find(|k| k.public_key().to_blob() == blob);
        match ours {
            // Each key once: a client cannot make us sign one key many times.
            Some(k) if keys.len() < MAX_PROVE && !keys.iter().any(|o| std::ptr::eq(*o, k)) => {
                keys.push(k)
            }
            _ => return Ok(Message::RequestFailure),
        }
    }
    // Under a certificate host key type the proof uses the certificate's base
    // algorithm (rsa-sha2-256-cert-v01@openssh.com proves with rsa-sha2-256).
    let negotiated_host_alg =
        crate::keys::base_algorithm(negotiated_host_alg).unwrap_or(negotiated_host_alg);
    let mut out = BytesMut::new();
    for k in keys {
        let algs = k.signature_algorithms();
        let alg = if algs.contains(&negotiated_host_alg) {
            negotiated_host_alg
        } else {
            algs[0]
        };
        let blob = k.public_key().to_blob();
        let mut signed = BytesMut::new();
        Writer::new(&mut signed)
            .utf8(PROVE)
            .string(session_id)
            .string(&blob);
        let sig = k.sign(alg, &signed).map_err(|e| Error::Config(e.0))?;
        Writer::new(&mut out).string(&sig);
    }
    Ok(Message::RequestSuccess {
        data: Bytes::from(out),
    })
}
