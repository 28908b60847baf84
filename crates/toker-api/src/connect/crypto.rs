//! The connect flow's random values (states, cookies, session tokens, PKCE verifiers),
//! their stored hashes, and the PKCE challenge. The server key and the sealing of tokens
//! are toker-collect's ([`toker_collect::tokens`]).

use base64ct::{Base64UrlUnpadded, Encoding};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Letters and digits: every random value is URL- and cookie-safe as it is.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

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
    fn random_tokens_and_hashes() {
        let a = random_token(43);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, random_token(43));
        assert_eq!(hash("abc").len(), 64);
    }
}
