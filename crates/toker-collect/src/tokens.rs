//! Platform tokens at rest: the server key (`TOKER_SECRET_KEY`), the AEAD that keeps
//! tokens (and other short secrets) encrypted, and the sealing of an account's tokens for
//! its row.
//!
//! Values are sealed with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): a random
//! 192-bit nonce per value, so nonces never repeat under one key, and associated data that
//! names the row and field the value belongs to, so a ciphertext copied to another
//! account or field does not open. Stored layout: version byte `1` ‖ nonce ‖ ciphertext.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use rand::RngExt;
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::PlatformTokens;
use toker_store::AccountTokens;

/// The environment variable that holds the server key.
pub const SECRET_KEY_ENV: &str = "TOKER_SECRET_KEY";

/// The first byte of every sealed value: the layout version.
const SEALED_V1: u8 = 1;
/// XChaCha20's nonce length.
const NONCE_LEN: usize = 24;

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
pub struct OpenError {
    what: String,
    why: &'static str,
}

/// Seals and opens values under the server key.
#[derive(Clone)]
pub struct TokenCipher {
    aead: XChaCha20Poly1305,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(XChaCha20Poly1305)")
    }
}

impl TokenCipher {
    /// The cipher of `key`.
    #[must_use]
    pub fn new(key: &SecretKey) -> Self {
        TokenCipher {
            aead: XChaCha20Poly1305::new((&key.0).into()),
        }
    }

    /// Encrypts `secret`, bound to `context` (e.g. `platform-token|x|123|refresh`).
    #[must_use]
    pub fn seal(&self, secret: &Secret, context: &str) -> Vec<u8> {
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
    ///
    /// # Errors
    /// [`OpenError`] naming the context (never the value) when the value is not in the
    /// sealed layout, was sealed with another key or context, or was altered.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Secret, OpenError> {
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

    /// Seals `text` for a value that travels as text (e.g. a cookie): the sealed layout,
    /// base64url without padding.
    #[must_use]
    pub fn seal_text(&self, text: &str, context: &str) -> String {
        Base64UrlUnpadded::encode_string(&self.seal(&Secret::new(text), context))
    }

    /// Opens a value [`TokenCipher::seal_text`] made with the same key and `context`.
    ///
    /// # Errors
    /// As [`TokenCipher::open`], and when the value is not base64url.
    pub fn open_text(&self, value: &str, context: &str) -> Result<Secret, OpenError> {
        let sealed = Base64UrlUnpadded::decode_vec(value).map_err(|_| OpenError {
            what: context.to_owned(),
            why: "it is not base64url",
        })?;
        self.open(&sealed, context)
    }

    /// Seals a platform's tokens for the account's row (each bound to its account and
    /// field), with their lifetimes counted from now.
    #[must_use]
    pub fn seal_tokens(
        &self,
        platform: Platform,
        user_id: &str,
        tokens: &PlatformTokens,
    ) -> AccountTokens {
        let now = Utc::now();
        let at = |d: Option<std::time::Duration>| {
            d.and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| now + d)
        };
        AccountTokens {
            access_token: Some(self.seal(
                &tokens.access_token,
                &token_context(platform, user_id, TokenField::Access),
            )),
            access_expires_at: at(tokens.expires_in),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| self.seal(t, &token_context(platform, user_id, TokenField::Refresh))),
            refresh_expires_at: at(tokens.refresh_expires_in),
            scope: tokens.scope.clone(),
        }
    }

    /// Opens one of an account's sealed tokens; `None` when none is held or it does not
    /// open (which is logged, without the value).
    #[must_use]
    pub fn open_token(
        &self,
        sealed: Option<&[u8]>,
        platform: Platform,
        user_id: &str,
        field: TokenField,
    ) -> Option<Secret> {
        let sealed = sealed?;
        match self.open(sealed, &token_context(platform, user_id, field)) {
            Ok(secret) => Some(secret),
            Err(e) => {
                tracing::error!(error = %e, "a stored platform token does not open");
                None
            }
        }
    }
}

/// Which of an account's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenField {
    /// The access token.
    Access,
    /// The refresh token.
    Refresh,
}

impl TokenField {
    const fn as_str(self) -> &'static str {
        match self {
            TokenField::Access => "access",
            TokenField::Refresh => "refresh",
        }
    }
}

/// The associated data a platform token is sealed with: its account and field.
fn token_context(platform: Platform, user_id: &str, field: TokenField) -> String {
    format!("platform-token|{platform}|{user_id}|{}", field.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let cipher = TokenCipher::new(&SecretKey::random());
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
            TokenCipher::new(&SecretKey::random())
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
    fn text_round_trips_and_refuses_tampering() {
        let cipher = TokenCipher::new(&SecretKey::random());
        let value = cipher.seal_text("{\"state\":\"abc\"}", "connect-state");
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let opened = cipher.open_text(&value, "connect-state").unwrap();
        assert_eq!(opened.expose(), "{\"state\":\"abc\"}");
        assert!(cipher.open_text(&value, "other").is_err());
        assert!(cipher.open_text("not base64!", "connect-state").is_err());
        let mut altered = value.into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(cipher.open_text(&altered, "connect-state").is_err());
    }

    #[test]
    fn an_accounts_tokens_open_only_for_their_account_and_field() {
        let cipher = TokenCipher::new(&SecretKey::random());
        let tokens = PlatformTokens {
            access_token: Secret::new("access-1"),
            expires_in: Some(std::time::Duration::from_secs(3600)),
            refresh_token: Some(Secret::new("refresh-1")),
            refresh_expires_in: None,
            scope: Some("user.info.basic".into()),
            account_id: None,
        };
        let sealed = cipher.seal_tokens(Platform::X, "42", &tokens);
        assert!(sealed.access_expires_at.is_some_and(|at| at > Utc::now()));
        assert_eq!(sealed.refresh_expires_at, None);
        let access = sealed.access_token.as_deref();
        let opened = cipher.open_token(access, Platform::X, "42", TokenField::Access);
        assert_eq!(
            opened.map(|s| s.expose().to_owned()).as_deref(),
            Some("access-1")
        );
        assert!(
            cipher
                .open_token(access, Platform::X, "43", TokenField::Access)
                .is_none()
        );
        assert!(
            cipher
                .open_token(access, Platform::X, "42", TokenField::Refresh)
                .is_none()
        );
        assert!(
            cipher
                .open_token(None, Platform::X, "42", TokenField::Access)
                .is_none()
        );
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
}
