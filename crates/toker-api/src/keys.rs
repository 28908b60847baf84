//! API keys: `tok_<key_id>_<secret>`, shown once; only a salted Argon2id hash of the secret
//! is stored.
//!
//! The key id is public (it names the key in `toker apikey list`, in logs and as the owner
//! of the profiles the key creates); the secret never leaves the request that carries it.
//! Verifying Argon2 costs milliseconds by design, so a key verified once is remembered as a
//! SHA-256 digest of its secret: later requests compare digests, and still read the key's
//! row, so that a revocation takes effect on the very next request. Any other secret, for
//! a known or an unknown key id alike, costs one Argon2 run.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

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
    /// A person signed in by connecting an account or uploading an export (never a key):
    /// sees, refreshes, exports and erases only their own data; may not create, replace
    /// or generate profiles, nor read server-wide numbers.
    Session,
}

impl Role {
    /// The stored name: `admin` or `member`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Session => "session",
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
/// fails, [`ApiError::UnknownRole`] for [`Role::Session`] (sessions are not keys).
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
    if role == Role::Session {
        return Err(ApiError::UnknownRole {
            given: role.as_str().to_owned(),
        });
    }
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
/// and which session tokens (by their stored hash) were found live; counts Argon2 runs.
///
/// Every secret that is not the remembered one costs one Argon2 run, whether its key id
/// exists or not (an unknown id is verified against a fixed dummy hash), so that timing
/// tells nothing about which ids exist. How many runs a client can cause is bounded per
/// client address before any of this (see `crate::auth`), never per key id: key ids are
/// public, and a bound per id would let anyone lock the right secret out.
#[derive(Debug, Default)]
pub(crate) struct VerifiedKeys {
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
    sessions: Mutex<HashSet<String>>,
    argon2_runs: AtomicU64,
}

/// The most keys (and sessions) remembered; beyond it the memory starts over.
const VERIFIED_CAPACITY: usize = 10_000;

/// A fixed Argon2id hash (of a random secret nobody knows) that unknown key ids are
/// verified against, so that they cost what a known id with a wrong secret costs.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret: String = random_chars(&mut rand::rng(), b"abcdefghijklmnop", SECRET_LEN);
        hash_secret("dummy", &secret).unwrap_or_default()
    })
}

impl VerifiedKeys {
    /// Whether `secret` is the secret of `record`; `None` (no such key id) is verified
    /// against a dummy hash and is never right. Revocation is the caller's check, after
    /// this (so that revoked ids cost the same too). Argon2 runs unless `secret` is the
    /// one remembered for the stored hash.
    pub(crate) fn verify(&self, record: Option<&ApiKeyRecord>, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(record) = record {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((hash, known)) = verified.get(&record.key_id) {
                if *hash == record.secret_hash && constant_time_eq(known, &digest) {
                    return true;
                }
            }
        }
        let stored: &str = match record {
            Some(r) => &r.secret_hash,
            None => dummy_hash(),
        };
        let parsed = PasswordHash::new(stored);
        if parsed.is_err() {
            if let Some(record) = record {
                tracing::error!(key_id = %record.key_id, "stored api key hash is not a PHC string");
            }
        }
        let dummy = PasswordHash::new(dummy_hash());
        let Ok(parsed) = parsed.or(dummy) else {
            return false;
        };
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let right = Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok();
        let Some(record) = record.filter(|_| right) else {
            return false;
        };
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(record.key_id.clone(), (record.secret_hash.clone(), digest));
        true
    }

    /// Whether `secret` is the secret remembered for `key_id` (no database, no Argon2):
    /// such a request is not held to its address's failure budget.
    pub(crate) fn remembers(&self, key_id: &str, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified
            .get(key_id)
            .is_some_and(|(_, known)| constant_time_eq(known, &digest))
    }

    /// Remembers a session token (by its stored hash) that was found live.
    pub(crate) fn remember_session(&self, token_hash: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= VERIFIED_CAPACITY {
            sessions.clear();
        }
        sessions.insert(token_hash.to_owned());
    }

    /// Whether a session token (by its stored hash) was found live before.
    pub(crate) fn remembers_session(&self, token_hash: &str) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.contains(token_hash)
    }

    /// How many times Argon2 ran.
    #[cfg(test)]
    pub(crate) fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
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
        assert!(!cache.verify(Some(&a), &"t".repeat(SECRET_LEN)));
        assert!(cache.verify(Some(&a), &secret));
        assert!(cache.remembers(&a.key_id, &secret));
        assert!(!cache.remembers(&a.key_id, &"t".repeat(SECRET_LEN)));
        // Now remembered: still only the right secret passes.
        assert!(cache.verify(Some(&a), &secret));
        assert!(!cache.verify(Some(&a), &"t".repeat(SECRET_LEN)));
        // A new hash for the same id (a re-created key) is verified afresh.
        assert!(!cache.verify(Some(&record("u".repeat(SECRET_LEN).as_str())), &secret));
    }

    #[test]
    fn wrong_secrets_never_lock_out_the_right_one() {
        let secret = "s".repeat(SECRET_LEN);
        let key = record(&secret);
        let cache = VerifiedKeys::default();
        for _ in 0..20 {
            assert!(!cache.verify(Some(&key), &"t".repeat(SECRET_LEN)));
        }
        assert!(
            cache.verify(Some(&key), &secret),
            "never seen before, still right"
        );
    }

    #[test]
    fn unknown_ids_cost_an_argon2_run_like_wrong_secrets_do() {
        let secret = "s".repeat(SECRET_LEN);
        let key = record(&secret);
        let cache = VerifiedKeys::default();
        assert!(!cache.verify(None, &secret));
        assert_eq!(
            cache.argon2_runs(),
            1,
            "an unknown id runs Argon2 (the dummy hash)"
        );
        assert!(!cache.verify(Some(&key), &"t".repeat(SECRET_LEN)));
        assert_eq!(
            cache.argon2_runs(),
            2,
            "a known id with a wrong secret, too"
        );
        assert!(cache.verify(Some(&key), &secret));
        assert!(!cache.verify(Some(&key), &"t".repeat(SECRET_LEN)));
        assert_eq!(
            cache.argon2_runs(),
            4,
            "a wrong secret for a remembered key is not answered from memory"
        );
        assert!(cache.verify(Some(&key), &secret));
        assert_eq!(cache.argon2_runs(), 4, "the remembered secret is");
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!("Admin".parse::<Role>().unwrap(), Role::Admin);
        assert_eq!(" member".parse::<Role>().unwrap(), Role::Member);
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("admin or member"), "{err}");
        assert!(
            "session".parse::<Role>().is_err(),
            "no key has the session role"
        );
    }
}
