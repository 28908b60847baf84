//! Diesel's view of the `api_keys` table.

use diesel::{Insertable, Queryable, Selectable};

use crate::columns::DbTime;
use crate::schema::api_keys;

/// An `api_keys` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
pub(crate) struct ApiKeyDbRow {
    pub(crate) key_id: String,
    pub(crate) secret_hash: String,
    pub(crate) role: String,
    pub(crate) label: Option<String>,
    pub(crate) created_at: DbTime,
    pub(crate) revoked_at: Option<DbTime>,
}
