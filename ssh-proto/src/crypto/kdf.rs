//! Opening passphrase-protected OpenSSH key files: bcrypt-pbkdf (the `bcrypt-pbkdf`
//! crate) turns the passphrase into an AES-CTR key and IV (aws-lc-rs).

use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;
use zeroize::Zeroizing;

/// Most bcrypt-pbkdf rounds a key file may ask for (OpenSSH writes 16 by default; each
/// round costs about a millisecond, so this bounds the work a hostile file can cause).
pub(crate) const MAX_BCRYPT_ROUNDS: u32 = 1024;

/// Decrypt, in place, the private section of a key file protected with `cipher`
/// (`aes128-ctr`, `aes192-ctr` or `aes256-ctr`) under a bcrypt-pbkdf key from
/// `passphrase`, `salt` and `rounds`. None for another cipher, too many rounds, or a
/// failure of the primitives.
pub(crate) fn decrypt_key_file(
    cipher: &str,
    passphrase: &[u8],
    salt: &[u8],
    rounds: u32,
    data: &mut [u8],
) -> Option<()> {
    let (alg, key_len) = match cipher {
        "aes128-ctr" => (&AES_128, 16),
        "aes192-ctr" => (&AES_192, 24),
        "aes256-ctr" => (&AES_256, 32),
        _ => return None,
    };
    if rounds == 0 || rounds > MAX_BCRYPT_ROUNDS || data.len() % 16 != 0 {
        return None;
    }
    let mut okm = Zeroizing::new(vec![0u8; key_len + 16]);
    bcrypt_pbkdf::bcrypt_pbkdf(passphrase, salt, rounds, &mut okm).ok()?;
    let (key, iv) = okm.split_at(key_len);
    let mut counter = [0u8; 16];
    counter.copy_from_slice(iv);
    let key = DecryptingKey::ctr(UnboundCipherKey::new(alg, key).ok()?).ok()?;
    key.decrypt(data, DecryptionContext::Iv128(FixedLength::from(counter)))
        .ok()?;
    Some(())
}
