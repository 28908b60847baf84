//! The connect flow's secrets: the server key (`TOKER_SECRET_KEY`), the AEAD that keeps
//! platform tokens encrypted at rest, random values (states, cookies, session tokens, PKCE
//! verifiers), their stored hashes, and the PKCE challenge.
//!
//! Tokens are sealed with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): a random
//! 192-bit nonce per value, so nonces never repeat under one key, and associated data that
//! names the row and field the value belongs to, so a ciphertext copied to another
//! account or field does not open. Stored layout: version byte `1` ‖ nonce ‖ ciphertext.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngExt;
use sha2::{Digest, Sha256};
use toker_sources::http::Secret;

/// The environment variable that holds the server key.
pub const SECRET_KEY_ENV: &str = "TOKER_SECRET_KEY";

/// The first byte of every sealed value: the layout version.
const SEALED_V1: u8 = 1;
/// XChaCha20's nonce length.
const NONCE_LEN: usize = 24;
/// Letters and digits: every random value is URL- and cookie-safe as it is.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The server's 256-bit key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// Reads a key written as 64 hexadecimal digits (`openssl rand -hex 32`).
    ///
    /// # Errors
    /// What is wrong with the text (never the text itself).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(format!(
                "{SECRET_KEY_ENV} must be 64 hexadecimal digits (32 bytes, e.g. from `openssl rand -hex 32`), got {} characters",
                text.len()
            ));
        }
        let mut key = [0u8; 32];
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |b: u8| char::from(b).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(hi), Some(lo)) => {
                    // Two hex digits make one byte: hi * 16 + lo < 256.
                    key[i] = u8::try_from(hi * 16 + lo).unwrap_or_default();
                }
                _ => {
                    return Err(format!(
                        "{SECRET_KEY_ENV} must be 64 hexadecimal digits; it has other characters"
                    ));
                }
            }
        }
        if key.iter().all(|b| *b == key[0]) {
            return Err(format!(
                "{SECRET_KEY_ENV} is one byte repeated; make a random one with `openssl rand -hex 32`"
            ));
        }
        Ok(SecretKey(key))
    }

    /// A random key (for tests and first runs).
    #[must_use]
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill(&mut key);
        SecretKey(key)
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret ({what}) cannot be decrypted: {why}")]
pub(crate) struct OpenError {
    what: String,
    why: &'static str,
}

/// Seals and opens values under the server key.
#[derive(Clone)]
pub(crate) struct Cipher {
    aead: XChaCha20Poly1305,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(XChaCha20Poly1305)")
    }
}

impl Cipher {
    pub(crate) fn new(key: &SecretKey) -> Self {
        Cipher {
            aead: XChaCha20Poly1305::new((&key.0).into()),
        }
    }

    /// Encrypts `secret`, bound to `context` (e.g. `platform-token|x|123|refresh`).
    pub(crate) fn seal(&self, secret: &Secret, context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: context.as_bytes(),
        };
        // Encryption only fails for messages beyond 256 GiB.
        let sealed = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts a value sealed with the same key and `context`.
    pub(crate) fn open(&self, sealed: &[u8], context: &str) -> Result<Secret, OpenError> {
        let fail = |why| OpenError {
            what: context.to_owned(),
            why,
        };
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(fail("it is empty"));
        };
        if version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(fail("it is not in Toker's sealed layout"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = self
            .aead
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| fail("wrong key (was TOKER_SECRET_KEY changed?) or altered data"))?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| fail("it is not text"))
    }
}

impl Cipher {
    /// Seals `text` for a cookie: the sealed layout, base64url without padding.
    pub(crate) fn seal_cookie(&self, text: &str, context: &str) -> String {
        Base64UrlUnpadded::encode_string(&self.seal(&Secret::new(text), context))
    }

    /// Opens a value [`Cipher::seal_cookie`] made with the same key and `context`.
    pub(crate) fn open_cookie(&self, value: &str, context: &str) -> Result<Secret, OpenError> {
        let sealed = Base64UrlUnpadded::decode_vec(value).map_err(|_| OpenError {
            what: context.to_owned(),
            why: "it is not base64url",
        })?;
        self.open(&sealed, context)
    }
}

/// `len` random letters and digits (each about 5.95 bits).
pub(crate) fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
        .collect()
}

/// The lower-case hex SHA-256 of `value`: how states, cookies and session tokens are
/// stored and looked up.
pub(crate) fn hash(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The PKCE S256 challenge of a verifier: `BASE64URL(SHA256(verifier))` (RFC 7636).
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let cipher = Cipher::new(&SecretKey::random());
        let secret = Secret::new("rft.example-refresh-mila");
        let sealed = cipher.seal(&secret, "platform-token|tiktok|mila|refresh");
        assert!(
            !sealed.windows(7).any(|w| w == b"example"),
            "the ciphertext does not contain the token"
        );
        assert_ne!(
            sealed,
            cipher.seal(&secret, "platform-token|tiktok|mila|refresh"),
            "a fresh nonce each time"
        );
        let opened = cipher
            .open(&sealed, "platform-token|tiktok|mila|refresh")
            .unwrap();
        assert_eq!(opened.expose(), secret.expose());
        let err = cipher
            .open(&sealed, "platform-token|tiktok|other|refresh")
            .unwrap_err();
        assert!(err.to_string().contains("other|refresh"), "{err}");
        assert!(
            Cipher::new(&SecretKey::random())
                .open(&sealed, "platform-token|tiktok|mila|refresh")
                .is_err()
        );
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(
            cipher
                .open(&altered, "platform-token|tiktok|mila|refresh")
                .is_err()
        );
        assert!(cipher.open(&[], "x").is_err());
    }

    #[test]
    fn cookies_round_trip_and_refuse_tampering() {
        let cipher = Cipher::new(&SecretKey::random());
        let value = cipher.seal_cookie("{\"state\":\"abc\"}", "connect-state");
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let opened = cipher.open_cookie(&value, "connect-state").unwrap();
        assert_eq!(opened.expose(), "{\"state\":\"abc\"}");
        assert!(cipher.open_cookie(&value, "other").is_err());
        assert!(cipher.open_cookie("not base64!", "connect-state").is_err());
        let mut altered = value.into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(cipher.open_cookie(&altered, "connect-state").is_err());
    }

    #[test]
    fn keys_are_64_hex_digits_and_never_shown() {
        let key = SecretKey::from_hex(&"0123456789abcdef".repeat(4)).unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
        let err = SecretKey::from_hex("abc").unwrap_err();
        assert!(
            err.contains("64 hexadecimal") && err.contains("got 3"),
            "{err}"
        );
        let err = SecretKey::from_hex(&"zz".repeat(32)).unwrap_err();
        assert!(
            err.contains("other characters") && !err.contains("zz"),
            "{err}"
        );
        assert!(SecretKey::from_hex(&"00".repeat(32)).is_err());
    }

    #[test]
    fn random_tokens_and_hashes() {
        let a = random_token(43);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, random_token(43));
        assert_eq!(hash("abc").len(), 64);
    }
}
