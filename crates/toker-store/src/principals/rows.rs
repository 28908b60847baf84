//! Diesel's view of the principal tables.

use diesel::prelude::*;

use super::{AccountRecord, AccountTokens, OAuthStateRecord, SessionRecord};
use crate::columns::{DbPlatformText, DbTime};
use crate::error::StoreError;
use crate::schema::{oauth_states, principal_accounts, sessions};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = principal_accounts,
    primary_key(platform, user_id),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct AccountDbRow {
    pub(crate) platform: DbPlatformText,
    pub(crate) user_id: String,
    pub(crate) principal_id: String,
    pub(crate) username: String,
    pub(crate) method: String,
    pub(crate) access_token: Option<Vec<u8>>,
    pub(crate) access_expires_at: Option<DbTime>,
    pub(crate) refresh_token: Option<Vec<u8>>,
    pub(crate) refresh_expires_at: Option<DbTime>,
    pub(crate) scope: Option<String>,
    pub(crate) created_at: DbTime,
    pub(crate) updated_at: DbTime,
}

impl AccountDbRow {
    pub(crate) fn record(self) -> Result<AccountRecord, StoreError> {
        Ok(AccountRecord {
            platform: self.platform.0,
            user_id: self.user_id,
            principal_id: self.principal_id,
            username: self.username,
            method: self.method.parse()?,
            tokens: AccountTokens {
                access_token: self.access_token,
                access_expires_at: self.access_expires_at.map(|t| t.0),
                refresh_token: self.refresh_token,
                refresh_expires_at: self.refresh_expires_at.map(|t| t.0),
                scope: self.scope,
            },
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionDbRow {
    pub(crate) token_hash: String,
    pub(crate) principal_id: String,
    pub(crate) created_at: DbTime,
    pub(crate) expires_at: DbTime,
}

impl SessionDbRow {
    pub(crate) fn record(self) -> SessionRecord {
        SessionRecord {
            token_hash: self.token_hash,
            principal_id: self.principal_id,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_states, treat_none_as_default_value = false)]
pub(crate) struct StateDbRow {
    pub(crate) state_hash: String,
    pub(crate) platform: DbPlatformText,
    pub(crate) browser_hash: String,
    pub(crate) code_verifier: Option<Vec<u8>>,
    pub(crate) principal_id: Option<String>,
    pub(crate) session_mode: String,
    pub(crate) created_at: DbTime,
    pub(crate) expires_at: DbTime,
    pub(crate) consumed_at: Option<DbTime>,
}

impl StateDbRow {
    pub(crate) fn record(self) -> OAuthStateRecord {
        OAuthStateRecord {
            state_hash: self.state_hash,
            platform: self.platform.0,
            browser_hash: self.browser_hash,
            code_verifier: self.code_verifier,
            principal_id: self.principal_id,
            session_mode: self.session_mode,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            consumed_at: self.consumed_at.map(|t| t.0),
        }
    }
}
