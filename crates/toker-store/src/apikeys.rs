//! API keys for toker-api: only a hash of each secret is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// The public part of the key, unique.
    pub key_id: String,
    /// The salted Argon2id hash of the secret part, as toker-api made it; the secret itself
    /// is never stored.
    pub secret_hash: String,
    /// The key's role as toker-api names it (`admin`, `member`); opaque to the store.
    pub role: String,
    /// A label for people, e.g. `frontend` (`toker apikey create --label`).
    pub label: Option<String>,
}

/// A stored key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKeyRecord {
    /// The public part of the key.
    pub key_id: String,
    /// The salted Argon2id hash of the secret part, as toker-api made it; the secret itself
    /// is never stored.
    pub secret_hash: String,
    /// The key's role as toker-api named it (`admin`, `member`).
    pub role: String,
    /// A label for people, e.g. `frontend` (`toker apikey create --label`).
    pub label: Option<String>,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was revoked (UTC), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}
