// API keys (only hashes of secrets are stored).
//
// Included once per backend by `crate::backend`; `super::Conn` is that backend's connection.

use diesel::prelude::*;

use super::Conn;
use crate::apikeys::{ApiKeyRecord, NewApiKey};
use crate::error::{Found, StoreError, db, db_insert};
use crate::apikeys::rows::ApiKeyDbRow;
use crate::columns::DbTime;
use crate::schema::api_keys;

fn record(row: ApiKeyDbRow) -> ApiKeyRecord {
    ApiKeyRecord {
        key_id: row.key_id,
        secret_hash: row.secret_hash,
        role: row.role,
        label: row.label,
        created_at: row.created_at.0,
        revoked_at: row.revoked_at.map(|t| t.0),
    }
}

/// Stores a new key; an existing `key_id` is [`StoreError::AlreadyExists`].
pub(crate) fn create_api_key(c: &mut Conn, key: &NewApiKey) -> Result<(), StoreError> {
    let row = ApiKeyDbRow {
        key_id: key.key_id.clone(),
        secret_hash: key.secret_hash.clone(),
        role: key.role.clone(),
        label: key.label.clone(),
        created_at: DbTime::now(),
        revoked_at: None,
    };
    diesel::insert_into(api_keys::table)
        .values(&row)
        .execute(c)
        .map(drop)
        .map_err(db_insert(format!("creating api key {}", key.key_id), || {
            format!("api key {}", key.key_id)
        }))
}

/// The key with this id.
pub(crate) fn get_api_key(c: &mut Conn, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    api_keys::table
        .find(key_id)
        .select(ApiKeyDbRow::as_select())
        .first(c)
        .found(format!("loading api key {key_id}"))
        .map(|row| row.map(record))
}

/// Every key, oldest first.
pub(crate) fn list_api_keys(c: &mut Conn) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let rows: Vec<ApiKeyDbRow> = api_keys::table
        .order((api_keys::created_at, api_keys::key_id))
        .select(ApiKeyDbRow::as_select())
        .load(c)
        .map_err(db("listing api keys"))?;
    Ok(rows.into_iter().map(record).collect())
}

/// Marks a key revoked (a key revoked before keeps its first revocation time).
pub(crate) fn revoke_api_key(c: &mut Conn, key_id: &str) -> Result<(), StoreError> {
    let context = || format!("revoking api key {key_id}");
    let exists: Option<String> = api_keys::table
        .find(key_id)
        .select(api_keys::key_id)
        .first(c)
        .found(context())?;
    if exists.is_none() {
        return Err(StoreError::NotFound {
            what: format!("api key {key_id}"),
        });
    }
    diesel::update(
        api_keys::table
            .find(key_id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(DbTime::now())))
    .execute(c)
    .map(drop)
    .map_err(db(context()))
}
