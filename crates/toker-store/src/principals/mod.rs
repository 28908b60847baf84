//! People who connected a social account through toker-api: principals, the platform
//! accounts they connected (with their platform tokens), their sessions, and the
//! single-use OAuth states of connects in progress.
//!
//! A principal's id is also the `owner` of their profiles, so [`Store::delete_principal`]
//! erases their profiles (links, vectors, orphaned videos), accounts, tokens, sessions and
//! states in one transaction. The store never sees a secret in the clear: sessions and
//! states are looked up by a hash of their value, and platform tokens are ciphertext that
//! the API encrypts and decrypts; the store only keeps them consistent.
//!
//! Who may own what is the API's rule: [`Store::connect_account`] reads what is stored
//! about the account, asks the caller's `decide` which principal gets it and whether they
//! proved it ([`Placement`]), and writes the principal, the profile, the account and a
//! session in the same transaction.
//!
//! An account has at most one profile others see (the account's), and any number of
//! unproven copies, one per uploader, each private to its uploader (see
//! [`toker_model::Listing::unproven`]). An account row means its principal proved the account
//! (an OAuth connect); an unproven upload writes only its uploader's copy.

use std::fmt;
use std::str::FromStr;

pub(crate) mod rows;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use toker_model::{Platform, Profile};

use crate::backend::dispatch;
use crate::connection::Transactions;
use crate::error::StoreError;
use crate::jobs::{Enqueued, NewJob};
use crate::profiles::Written;
use crate::store::Store;

/// How a platform account was connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountMethod {
    /// Through the platform's OAuth consent: the platform vouched for the account.
    OAuth,
    /// By uploading the account's data export: nobody vouched for it.
    Export,
}

impl AccountMethod {
    /// The stored name: `oauth` or `export`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AccountMethod::OAuth => "oauth",
            AccountMethod::Export => "export",
        }
    }
}

impl fmt::Display for AccountMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountMethod {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "oauth" => Ok(AccountMethod::OAuth),
            "export" => Ok(AccountMethod::Export),
            other => Err(StoreError::Invalid {
                record: "principal account".to_owned(),
                message: format!("method {other:?}: expected oauth or export"),
            }),
        }
    }
}

/// A principal: a person who connected at least one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalRecord {
    /// The principal's id; also the `owner` of their profiles.
    pub id: String,
    /// When they first connected.
    pub created_at: DateTime<Utc>,
}

/// A platform account's tokens as stored: ciphertext the caller made, and their lifetimes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AccountTokens {
    /// The access token, sealed by toker-api: the store never sees it in the clear.
    pub access_token: Option<Vec<u8>>,
    /// When the access token expires.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// The encrypted refresh token (or long-lived token).
    pub refresh_token: Option<Vec<u8>>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// The scopes granted.
    pub scope: Option<String>,
}

impl fmt::Debug for AccountTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |t: &Option<Vec<u8>>| t.as_ref().map(|b| format!("<{} bytes>", b.len()));
        f.debug_struct("AccountTokens")
            .field("access_token", &shown(&self.access_token))
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_token", &shown(&self.refresh_token))
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A connected platform account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The profile's `user_id` on that platform.
    pub user_id: String,
    /// The principal it belongs to.
    pub principal_id: String,
    /// The handle when it was last connected or refreshed.
    pub username: String,
    /// How it was connected.
    pub method: AccountMethod,
    /// Its platform tokens (encrypted), if any were granted.
    pub tokens: AccountTokens,
    /// When it was first connected.
    pub created_at: DateTime<Utc>,
    /// When it was last connected or its tokens renewed.
    pub updated_at: DateTime<Utc>,
}

/// The stored profile of an account: its id and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileOwner {
    /// The profile's row id.
    pub id: i64,
    /// Its owner (a principal id, an API key id, or none).
    pub owner: Option<String>,
}

/// What is stored about an account when someone connects it: what `decide` judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountClaim {
    /// The account's stored profile (the one others see) with the same
    /// `platform:user_id`, if any; unproven copies are not part of a claim.
    pub profile: Option<ProfileOwner>,
    /// The connected account row, if any.
    pub account: Option<AccountRecord>,
}

/// A session to create: only a hash of its token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// A hash of the session token (the token itself is never stored).
    pub token_hash: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// The SHA-256 of the session token (`tks_…`); the token itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    /// The principal it authenticates.
    pub principal_id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// An account to connect: the profile to store and what to keep about the account.
#[derive(Debug, Clone)]
pub struct ConnectAccount<'a> {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The account's id on the platform (the profile's `user_id`, when there is one).
    pub user_id: &'a str,
    /// Its handle.
    pub username: &'a str,
    /// The validated, cleaned profile and the raw JSON it came from; `None` when the
    /// connect proves the account but its data alone makes no storable profile (e.g.
    /// Instagram's API has no likes count). Then the principal's unproven copy of the
    /// account, if they uploaded one, becomes the account's profile.
    pub profile: Option<(&'a Profile, &'a Value)>,
    /// How it was connected. An account row keeps `oauth` when the same principal later
    /// uploads an export.
    pub method: AccountMethod,
    /// New tokens; `None` keeps the stored ones when the account stays with its principal
    /// (and stores none when it changes principal).
    pub tokens: Option<AccountTokens>,
    /// A session to open for the principal that gets the account.
    pub session: Option<NewSession>,
}

/// Where `decide` puts a connect (see [`Store::connect_account`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The principal proved the account (now, or earlier with the same principal): the
    /// profile is the account's, the one others see; the account row is theirs; their
    /// unproven copy of it, now superseded, goes.
    Proven(String),
    /// Nobody vouched: the profile is the principal's unproven copy, private to them.
    /// Nothing else of the account (its profile, its row, other uploaders' copies) is
    /// touched.
    Unproven(String),
}

/// What [`Store::connect_account`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    /// The principal that owns the account and profile now.
    pub principal_id: String,
    /// Whether that principal was created by this call.
    pub new_principal: bool,
    /// Whether the principal holds the account's proof ([`Placement::Proven`]).
    pub proven: bool,
    /// The principal's profile of the account: the one written, or for a connect without
    /// a profile the upload it unlocked (or the account's profile they already had).
    /// `None` when they have none.
    pub profile_id: Option<i64>,
    /// Whether the connect's profile was created or replaced; `None` when it carried none.
    pub profile: Option<Written>,
}

/// An OAuth state to remember until its callback (only hashes of the state and of the
/// browser's cookie are stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOAuthState {
    /// The SHA-256 of the `state` parameter; the state itself is never stored.
    pub state_hash: String,
    /// The platform being connected.
    pub platform: Platform,
    /// A hash of the cookie that binds the state to the browser that started it.
    pub browser_hash: String,
    /// The encrypted PKCE code verifier, for platforms that take one.
    pub code_verifier: Option<Vec<u8>>,
    /// The principal already signed in when the connect started, if any.
    pub principal_id: Option<String>,
    /// How the callback hands out the session (opaque to the store, e.g. `cookie`).
    pub session_mode: String,
    /// When the state stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// A stored OAuth state.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthStateRecord {
    /// The SHA-256 of the `state` parameter; the state itself is never stored.
    pub state_hash: String,
    /// The platform being connected.
    pub platform: Platform,
    /// A hash of the browser-binding cookie.
    pub browser_hash: String,
    /// The encrypted PKCE code verifier.
    pub code_verifier: Option<Vec<u8>>,
    /// The principal signed in when the connect started.
    pub principal_id: Option<String>,
    /// How the session is handed out.
    pub session_mode: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When its callback used it, if one did.
    pub consumed_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for OAuthStateRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthStateRecord")
            .field("platform", &self.platform)
            .field("principal_id", &self.principal_id)
            .field("session_mode", &self.session_mode)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("consumed_at", &self.consumed_at)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`Store::consume_oauth_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateUse {
    /// No state with this hash is stored.
    Unknown,
    /// This call used the state: it is now consumed.
    Consumed(OAuthStateRecord),
    /// The state exists but was not used by this call: already consumed, expired, or bound
    /// to another browser (the record says which).
    Refused(OAuthStateRecord),
}

/// How much [`Store::delete_principal`] erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PrincipalErasure {
    /// Profiles (with their links, vectors and orphaned videos).
    pub profiles: u64,
    /// Connected accounts (with their tokens).
    pub accounts: u64,
    /// Sessions signed out by the erasure.
    pub sessions: u64,
    /// OAuth states of connects in progress.
    pub oauth_states: u64,
    /// Their jobs (queued, running or ended), with the files they carried (e.g. an
    /// uploaded export).
    pub jobs: u64,
}

impl Store {
    /// The principal with this id, if stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn get_principal(&mut self, id: &str) -> Result<Option<PrincipalRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::principals::get_principal(c, id))
    }

    /// Connects an account in one transaction: reads what is stored about it (the
    /// account's profile with the same `platform:user_id` and the account row), asks
    /// `decide` which principal gets it and how ([`Placement`]), then creates that
    /// principal if new and:
    ///
    /// - [`Placement::Proven`]: upserts the account's profile owned by the principal (and
    ///   drops their unproven copy), or, without a profile, makes their unproven copy the
    ///   account's profile (replacing the one stored); upserts the account row;
    /// - [`Placement::Unproven`]: upserts the principal's unproven copy, nothing else;
    ///
    /// and opens the session. When `decide` refuses, nothing is written and its refusal is
    /// returned as the inner `Err`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a profile the database cannot hold, or an unproven
    /// connect without a profile; [`StoreError::Busy`]; [`StoreError::Database`].
    pub fn connect_account<R>(
        &mut self,
        account: &ConnectAccount<'_>,
        decide: &mut dyn FnMut(&AccountClaim) -> Result<Placement, R>,
    ) -> Result<Result<ConnectedAccount, R>, StoreError> {
        self.connect(account, decide, None)
    }

    /// [`Store::connect_account`] for `principal_id`, who is stored already (e.g. the
    /// uploader a queued import runs for) and whom `decide` must name: when they are no
    /// longer stored (erased meanwhile), nothing is written, so that an erased person's
    /// data never comes back.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a principal that is not stored;
    /// [`StoreError::Invalid`] when `decide` names another; as [`Store::connect_account`]
    /// otherwise.
    pub fn connect_account_for<R>(
        &mut self,
        principal_id: &str,
        account: &ConnectAccount<'_>,
        decide: &mut dyn FnMut(&AccountClaim) -> Result<Placement, R>,
    ) -> Result<Result<ConnectedAccount, R>, StoreError> {
        self.connect(account, decide, Some(principal_id))
    }

    /// [`Store::connect_account`]; with `existing`, only for that stored principal.
    fn connect<R>(
        &mut self,
        account: &ConnectAccount<'_>,
        decide: &mut dyn FnMut(&AccountClaim) -> Result<Placement, R>,
        existing: Option<&str>,
    ) -> Result<Result<ConnectedAccount, R>, StoreError> {
        let context = format!(
            "connecting account {}:{}",
            account.platform, account.user_id
        );
        let (conn, vectorizer) = self.conn_and_vectorizer();
        dispatch!(conn, |c, q| c.write(&context, |c| {
            q::principals::connect_account(c, account, decide, vectorizer, existing)
        }))
    }

    /// Creates principal `principal_id` with its first session and queues `job` (owned by
    /// them, say), all in one transaction: a person's first request that hands work to a
    /// worker (an export upload) signs them in and lets them follow the job.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] for a principal id or session token hash that is
    /// taken; as [`Store::enqueue_job`] for the job (then nothing is written).
    pub fn create_principal_with_job(
        &mut self,
        principal_id: &str,
        session: &NewSession,
        job: &NewJob<'_>,
    ) -> Result<Enqueued, StoreError> {
        let context = format!(
            "signing up principal {principal_id} with a {} job",
            job.kind
        );
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::principals::create_principal(c, principal_id, crate::columns::DbTime::now())?;
            q::principals::create_session(c, principal_id, session)?;
            q::jobs::enqueue(c, job)
        }))
    }

    /// The connected account `platform:user_id`, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt row.
    pub fn get_account(
        &mut self,
        platform: Platform,
        user_id: &str,
    ) -> Result<Option<AccountRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::principals::get_account(
            c, platform, user_id
        ))
    }

    /// Every account of a principal, by platform and user id.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt row.
    pub fn list_accounts(&mut self, principal_id: &str) -> Result<Vec<AccountRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::principals::list_accounts(
            c,
            principal_id
        ))
    }

    /// Replaces an account's tokens (after a refresh) and its handle.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the account is not stored.
    pub fn update_account_tokens(
        &mut self,
        platform: Platform,
        user_id: &str,
        tokens: &AccountTokens,
    ) -> Result<(), StoreError> {
        let context = format!("renewing the tokens of account {platform}:{user_id}");
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::principals::update_tokens(c, platform, user_id, tokens)
        }))
    }

    /// Opens a session for an existing principal.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the principal is not stored;
    /// [`StoreError::AlreadyExists`] if the token hash is taken.
    pub fn create_session(
        &mut self,
        principal_id: &str,
        session: &NewSession,
    ) -> Result<(), StoreError> {
        let context = format!("opening a session for principal {principal_id}");
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::principals::create_session(c, principal_id, session)
        }))
    }

    /// The session with this token hash, expired or not.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn get_session(&mut self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::principals::get_session(
            c, token_hash
        ))
    }

    /// Every session of a principal, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn list_sessions(&mut self, principal_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::principals::list_sessions(
            c,
            principal_id
        ))
    }

    /// Ends a session; whether it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn delete_session(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c.write("ending a session", |c| {
            q::principals::delete_session(c, token_hash)
        }))
    }

    /// Remembers an OAuth state until its callback.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the state hash is taken.
    pub fn create_oauth_state(&mut self, state: &NewOAuthState) -> Result<(), StoreError> {
        let context = format!("remembering a {} connect state", state.platform);
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| q::principals::create_state(c, state)))
    }

    /// Uses an OAuth state: atomically marks it consumed if it is stored, not yet
    /// consumed, not expired at `now` and bound to `browser_hash`; otherwise says why not.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Busy`].
    pub fn consume_oauth_state(
        &mut self,
        state_hash: &str,
        browser_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<StateUse, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c
            .write("using a connect state", |c| {
                q::principals::consume_state(c, state_hash, browser_hash, now)
            }))
    }

    /// Remembers a connect state as used at `at` (for a connect whose state travels
    /// sealed in the browser's cookie, so that it was never stored before its callback):
    /// `true` if this call used it, `false` if it was already stored (a replay). Atomic:
    /// of two concurrent calls with one state hash, one gets `true`.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Busy`].
    pub fn spend_oauth_state(
        &mut self,
        state: &NewOAuthState,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c
            .write("using a connect state", |c| {
                q::principals::spend_state(c, state, at)
            }))
    }

    /// Whether a connect state with this hash is stored (used, or in progress).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn oauth_state_known(&mut self, state_hash: &str) -> Result<bool, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::principals::state_known(
            c, state_hash
        ))
    }

    /// Forgets OAuth states that expired before `before`, and sessions that expired
    /// before it; returns how many rows went.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Busy`].
    pub fn purge_expired_sessions_and_states(
        &mut self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c
            .write("forgetting expired sessions and connect states", |c| {
                q::principals::purge(c, before)
            }))
    }

    /// Erases a principal and everything they own, in one transaction: their profiles
    /// (with links, vectors and videos no other profile has), accounts with their tokens,
    /// sessions, OAuth states and jobs (with their inputs). On SQLite the erased rows are
    /// then overwritten in the database file and its log as well (secure delete and a
    /// checkpoint).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if no such principal is stored (nothing is erased).
    pub fn delete_principal(&mut self, id: &str) -> Result<PrincipalErasure, StoreError> {
        let context = format!("erasing principal {id}");
        let erased = dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| q::principals::delete_principal(c, id)))?;
        self.conn_mut().scrub_after_erasure();
        Ok(erased)
    }
}
