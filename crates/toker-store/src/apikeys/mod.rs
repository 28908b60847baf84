//! API keys for toker-api: only a hash of each secret is stored.

pub(crate) mod rows;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::backend::dispatch;
use crate::connection::Transactions;
use crate::error::StoreError;
use crate::store::Store;

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

impl Store {
    /// Stores a new API key (only its secret's hash).
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the key id is taken.
    pub fn create_api_key(&mut self, key: &NewApiKey) -> Result<(), StoreError> {
        let context = format!("creating api key {}", key.key_id);
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| { q::apikeys::create_api_key(c, key) }))
    }

    /// The API key with this id, revoked or not.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn get_api_key(&mut self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::apikeys::get_api_key(c, key_id))
    }

    /// Every API key, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn list_api_keys(&mut self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::apikeys::list_api_keys(c))
    }

    /// Revokes an API key (revoking twice keeps the first time).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub fn revoke_api_key(&mut self, key_id: &str) -> Result<(), StoreError> {
        let context = format!("revoking api key {key_id}");
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| { q::apikeys::revoke_api_key(c, key_id) }))
    }
}
