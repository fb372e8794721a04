//! OpenSSH `authorized_keys` files.

use super::public::PublicKey;
use crate::error::ConfigError;

/// Parse an OpenSSH `authorized_keys` file into its keys (options are ignored for now).
pub fn parse_authorized_keys(text: &str) -> Result<Vec<PublicKey>, ConfigError> {
    let mut keys = Vec::new();
    for entry in ssh_key::AuthorizedKeys::new(text) {
        let entry = entry.map_err(|_| ConfigError("malformed authorized_keys line"))?;
        let blob = entry
            .public_key()
            .to_bytes()
            .map_err(|_| ConfigError("authorized key cannot be encoded"))?;
        keys.push(
            PublicKey::from_blob(&blob).map_err(|_| ConfigError("malformed authorized key"))?,
        );
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
