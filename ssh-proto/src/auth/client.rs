//! The client side of user authentication.

use crate::error::Error;
use crate::keys::{cert_algorithm, Certificate, PrivateKey};
use crate::secret::SecretString;
use crate::wire::message::{AuthMethodData, Message};

use super::signed_data;

#[derive(Debug, Default)]
pub(crate) struct ClientAuth {
    pub(crate) service_requested: bool,
    pub(crate) service_accepted: bool,
    pub(crate) user: Option<String>,
    pub(crate) authenticated: bool,
    /// Requests made before the service was accepted.
    pub(crate) held: Vec<Message>,
}

impl ClientAuth {
    pub(crate) fn none(&self, user: &str) -> Message {
        Message::UserauthRequest {
            user: user.into(),
            service: "ssh-connection".into(),
            method: AuthMethodData::None,
        }
    }

    pub(crate) fn password(&self, user: &str, password: SecretString) -> Message {
        Message::UserauthRequest {
            user: user.into(),
            service: "ssh-connection".into(),
            method: AuthMethodData::Password {
                password,
                new_password: None,
            },
        }
    }

    pub(crate) fn publickey(
        &self,
        session_id: &[u8],
        user: &str,
        key: &PrivateKey,
        algorithm: &str,
        certificate: Option<&Certificate>,
    ) -> Result<Message, Error> {
        if !key.signature_algorithms().contains(&algorithm) {
            return Err(Error::Config("the key does not sign with that algorithm"));
        }
        let sig_alg = algorithm;
        let (algorithm, blob) = match certificate {
            Some(c) if &c.key == key.public_key() => (cert_algorithm(sig_alg), c.to_blob()),
            Some(_) => return Err(Error::Config("the certificate is for another key")),
            None => (sig_alg.to_string(), key.public_key().to_blob()),
        };
        let data = signed_data(session_id, user, "ssh-connection", &algorithm, &blob, None);
        let signature = key.sign(sig_alg, &data)?;
        Ok(Message::UserauthRequest {
            user: user.into(),
            service: "ssh-connection".into(),
            method: AuthMethodData::PublicKey {
                algorithm,
                blob,
                host_key: None,
                signature: Some(signature),
            },
        })
    }
}
