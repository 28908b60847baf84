//! API keys: `tok_<key_id>_<secret>`, shown once; only a salted Argon2id hash of the secret
//! is stored.
//!
//! The key id is public (it names the key in `toker apikey list`, in logs and as the owner
//! of the profiles the key creates); the secret never leaves the request that carries it.
//! Verifying Argon2 costs milliseconds by design, so a key verified once is remembered as a
//! SHA-256 digest of its secret: later requests compare digests, and still read the key's
//! row, so that a revocation takes effect on the very next request.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngExt;
use sha2::{Digest, Sha256};
use toker_store::{ApiKeyRecord, NewApiKey, Store};

use crate::ApiError;

/// The prefix of every key, so that leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "tok_";
/// The length of a key id (lower-case letters and digits).
pub const KEY_ID_LEN: usize = 12;
/// The length of a key secret (letters and digits: about 238 bits).
pub const SECRET_LEN: usize = 40;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees and changes every profile; may refit the vectors.
    Admin,
    /// Sees and changes only the profiles it created.
    Member,
}

impl Role {
    /// The stored name: `admin` or `member`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(ApiError::UnknownRole {
                given: s.to_owned(),
            }),
        }
    }
}

/// Creates a key: stores its id, role, label and the hash of its secret, and returns the
/// full key (to show once; it cannot be recovered) with the stored record.
///
/// # Errors
/// [`ApiError::Store`] if the database refuses the key, [`ApiError::KeyHash`] if hashing
/// fails.
pub fn create_api_key(
    store: &mut Store,
    role: Role,
    label: Option<&str>,
) -> Result<(String, ApiKeyRecord), ApiError> {
    let mut rng = rand::rng();
    let key_id: String = random_chars(
        &mut rng,
        b"abcdefghijklmnopqrstuvwxyz0123456789",
        KEY_ID_LEN,
    );
    let secret: String = random_chars(
        &mut rng,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        SECRET_LEN,
    );
    let secret_hash = hash_secret(&key_id, &secret)?;
    store.create_api_key(&NewApiKey {
        key_id: key_id.clone(),
        secret_hash,
        role: role.as_str().to_owned(),
        label: label.map(str::to_owned),
    })?;
    let record = store
        .get_api_key(&key_id)?
        .ok_or_else(|| toker_store::StoreError::NotFound {
            what: format!("api key {key_id} (just created)"),
        })?;
    Ok((format!("{KEY_PREFIX}{key_id}_{secret}"), record))
}

/// Every key, revoked ones included (their `revoked_at` is set). Secrets are not stored,
/// so none can be shown.
///
/// # Errors
/// [`ApiError::Store`] if the database fails.
pub fn list_api_keys(store: &mut Store) -> Result<Vec<ApiKeyRecord>, ApiError> {
    Ok(store.list_api_keys()?)
}

/// Revokes a key by its id (or by the full key, whose id is taken); its next request gets
/// 401. The profiles it created stay, owned by its id.
///
/// # Errors
/// [`ApiError::Store`] with `NotFound` if no such key exists.
pub fn revoke_api_key(store: &mut Store, key_id_or_key: &str) -> Result<(), ApiError> {
    let key_id = parse_key(key_id_or_key).map_or(key_id_or_key, |(id, _)| id);
    Ok(store.revoke_api_key(key_id)?)
}

fn random_chars(rng: &mut impl rand::Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

fn hash_secret(key_id: &str, secret: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let fail = |message: String| ApiError::KeyHash {
        key_id: key_id.to_owned(),
        message,
    };
    let salt = SaltString::encode_b64(&salt).map_err(|e| fail(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| fail(e.to_string()))
}

/// Splits `tok_<key_id>_<secret>` into its id and secret; `None` for anything else.
#[must_use]
pub fn parse_key(key: &str) -> Option<(&str, &str)> {
    let (key_id, secret) = key.strip_prefix(KEY_PREFIX)?.split_once('_')?;
    let id_ok = key_id.len() == KEY_ID_LEN
        && key_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let secret_ok = secret.len() == SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    (id_ok && secret_ok).then_some((key_id, secret))
}

/// Remembers which (key id, stored hash) pairs were verified, as digests of their secrets,
/// and how many wrong secrets each key id got recently.
#[derive(Debug, Default)]
pub(crate) struct VerifiedKeys {
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

/// The most keys remembered in each map; beyond it the memory starts over (keys are few).
const VERIFIED_CAPACITY: usize = 10_000;
/// Argon2 runs at most this many times per key id and [`FAILURE_WINDOW`] for wrong
/// secrets: key ids are not secret, and each wrong guess would otherwise cost the server
/// an Argon2 run. A key already verified is compared by digest and is not affected.
const MAX_FAILURES: u32 = 10;
/// See [`MAX_FAILURES`].
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

impl VerifiedKeys {
    /// Whether `secret` is the secret of `record` (which must not be revoked: the caller
    /// checks). Runs Argon2 only the first time a secret is seen for a stored hash.
    pub(crate) fn verify(&self, record: &ApiKeyRecord, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((hash, known)) = verified.get(&record.key_id) {
                if *hash == record.secret_hash {
                    return constant_time_eq(known, &digest);
                }
            }
        }
        if self.too_many_failures(&record.key_id) {
            return false;
        }
        let Ok(parsed) = PasswordHash::new(&record.secret_hash) else {
            tracing::error!(key_id = %record.key_id, "stored api key hash is not a PHC string");
            return false;
        };
        if Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_err()
        {
            self.record_failure(&record.key_id);
            return false;
        }
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(record.key_id.clone(), (record.secret_hash.clone(), digest));
        true
    }
}

impl VerifiedKeys {
    fn too_many_failures(&self, key_id: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures
            .get(key_id)
            .is_some_and(|(since, n)| since.elapsed() < FAILURE_WINDOW && *n >= MAX_FAILURES)
    }

    fn record_failure(&self, key_id: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= VERIFIED_CAPACITY {
            failures.clear();
        }
        let entry = failures
            .entry(key_id.to_owned())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(secret: &str) -> ApiKeyRecord {
        ApiKeyRecord {
            key_id: "abcdefghijkl".into(),
            secret_hash: hash_secret("abcdefghijkl", secret).unwrap(),
            role: "member".into(),
            label: None,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        }
    }

    #[test]
    fn keys_parse_only_in_their_exact_shape() {
        let secret = "A".repeat(SECRET_LEN);
        let key = format!("tok_abcdefghij12_{secret}");
        assert_eq!(parse_key(&key), Some(("abcdefghij12", secret.as_str())));
        assert_eq!(parse_key(&key[1..]), None);
        assert_eq!(parse_key(&format!("tok_ABCDEFGHIJ12_{secret}")), None);
        assert_eq!(parse_key(&format!("tok_abcdefghij12_{secret}x")), None);
        assert_eq!(
            parse_key(&format!("tok_abcdefghij12_{}!", &secret[1..])),
            None
        );
        assert_eq!(parse_key("tok_"), None);
    }

    #[test]
    fn hashes_are_salted_and_verify_only_the_right_secret() {
        let secret = "s".repeat(SECRET_LEN);
        let a = record(&secret);
        let b = record(&secret);
        assert_ne!(a.secret_hash, b.secret_hash, "same secret, different salt");
        assert!(!a.secret_hash.contains(&secret));
        let cache = VerifiedKeys::default();
        assert!(!cache.verify(&a, &"t".repeat(SECRET_LEN)));
        assert!(cache.verify(&a, &secret));
        // Now remembered: still only the right secret passes.
        assert!(cache.verify(&a, &secret));
        assert!(!cache.verify(&a, &"t".repeat(SECRET_LEN)));
        // A new hash for the same id (a re-created key) is verified afresh.
        assert!(!cache.verify(&record("u".repeat(SECRET_LEN).as_str()), &secret));
    }

    #[test]
    fn wrong_secrets_stop_costing_argon2_runs_but_a_verified_key_still_works() {
        let secret = "s".repeat(SECRET_LEN);
        let key = record(&secret);
        let cache = VerifiedKeys::default();
        assert!(cache.verify(&key, &secret), "verified once, remembered");
        for _ in 0..MAX_FAILURES {
            assert!(!cache.verify(&key, &"t".repeat(SECRET_LEN)));
        }
        assert!(
            cache.verify(&key, &secret),
            "the remembered key is compared by digest"
        );

        let fresh = record(&secret);
        let cache = VerifiedKeys::default();
        for _ in 0..MAX_FAILURES {
            assert!(!cache.verify(&fresh, &"t".repeat(SECRET_LEN)));
        }
        assert!(cache.too_many_failures(&fresh.key_id));
        assert!(
            !cache.verify(&fresh, &secret),
            "no Argon2 run while the window lasts"
        );
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!("Admin".parse::<Role>().unwrap(), Role::Admin);
        assert_eq!(" member".parse::<Role>().unwrap(), Role::Member);
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("admin or member"), "{err}");
    }
}
