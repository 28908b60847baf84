// Principals, their accounts, sessions and OAuth states.
//
// Included once per backend by `crate::backend`; `Conn` is that backend's connection and
// `profile_queries` its compiled profile queries.

use diesel::prelude::*;
use toker_model::{Platform, Profile};

use super::Conn;
use super::profiles as profile_queries;
use crate::columns::{DbPlatformText, DbTime, db_time};
use crate::error::{Found, StoreError, db, db_insert};
use crate::principals::rows::{AccountDbRow, SessionDbRow, StateDbRow};
use crate::principals::{
    AccountClaim, AccountMethod, AccountRecord, AccountTokens, ConnectAccount,
    ConnectedAccount, NewOAuthState, NewSession, Placement, PrincipalErasure,
    PrincipalRecord, ProfileOwner, SessionRecord, StateUse,
};
use crate::profiles::{OnConflict, Written};
use crate::profiles::rows::PreparedProfile;
use crate::schema::{jobs, oauth_states, principal_accounts, principals, profiles, sessions};
use crate::vectors::ProfileVectorizer;

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

pub(crate) fn get_principal(c: &mut Conn, id: &str) -> Result<Option<PrincipalRecord>, StoreError> {
    principals::table
        .find(id)
        .select((principals::id, principals::created_at))
        .first::<(String, DbTime)>(c)
        .found(format!("loading principal {id}"))
        .map(|row| {
            row.map(|(id, created_at)| PrincipalRecord {
                id,
                created_at: created_at.0,
            })
        })
}

fn account_row(
    c: &mut Conn,
    platform: Platform,
    user_id: &str,
) -> Result<Option<AccountDbRow>, StoreError> {
    principal_accounts::table
        .find((platform.as_str(), user_id))
        .select(AccountDbRow::as_select())
        .first(c)
        .found(format!("loading account {platform}:{user_id}"))
}

pub(crate) fn get_account(
    c: &mut Conn,
    platform: Platform,
    user_id: &str,
) -> Result<Option<AccountRecord>, StoreError> {
    account_row(c, platform, user_id)?
        .map(AccountDbRow::record)
        .transpose()
}

pub(crate) fn list_accounts(
    c: &mut Conn,
    principal_id: &str,
) -> Result<Vec<AccountRecord>, StoreError> {
    principal_accounts::table
        .filter(principal_accounts::principal_id.eq(principal_id))
        .order((principal_accounts::platform, principal_accounts::user_id))
        .select(AccountDbRow::as_select())
        .load(c)
        .map_err(db(format!("listing the accounts of principal {principal_id}")))?
        .into_iter()
        .map(AccountDbRow::record)
        .collect()
}

fn profile_owner(
    c: &mut Conn,
    platform: Platform,
    user_id: &str,
) -> Result<Option<ProfileOwner>, StoreError> {
    profiles::table
        .filter(profiles::platform.eq(platform.as_str()))
        .filter(profiles::user_id.eq(user_id))
        .filter(profiles::unproven_by.eq(""))
        .select((profiles::id, profiles::owner))
        .first::<(i64, Option<String>)>(c)
        .found(format!("loading the owner of profile {platform}:{user_id}"))
        .map(|row| row.map(|(id, owner)| ProfileOwner { id, owner }))
}

/// The id of `principal_id`'s unproven copy of the account, if they uploaded one.
fn unproven_copy(
    c: &mut Conn,
    platform: Platform,
    user_id: &str,
    principal_id: &str,
) -> Result<Option<i64>, StoreError> {
    profiles::table
        .filter(profiles::platform.eq(platform.as_str()))
        .filter(profiles::user_id.eq(user_id))
        .filter(profiles::unproven_by.eq(principal_id))
        .select(profiles::id)
        .first::<i64>(c)
        .found(format!("looking up the unproven copy of {platform}:{user_id}"))
}

/// Writes `profile` as the account's profile (`unproven_by` None) or as a principal's
/// unproven copy; returns its id and what happened.
fn write_profile(
    c: &mut Conn,
    platform: Platform,
    (profile, raw): (&Profile, &serde_json::Value),
    owner: &str,
    unproven_by: Option<&str>,
    now: DbTime,
    vectorizer: Option<&dyn ProfileVectorizer>,
) -> Result<Written, StoreError> {
    let mut prepared = PreparedProfile::new(platform, profile, raw, Some(owner), None, now)?;
    prepared.row.unproven_by = unproven_by.unwrap_or("");
    profile_queries::write_profiles(c, std::slice::from_ref(&prepared), OnConflict::Replace, vectorizer)?
        .pop()
        .ok_or_else(|| StoreError::Invalid {
            record: prepared.record.clone(),
            message: "the database reported no row for it".to_owned(),
        })
}

/// Creates principal `id`.
pub(crate) fn create_principal(c: &mut Conn, id: &str, now: DbTime) -> Result<(), StoreError> {
    diesel::insert_into(principals::table)
        .values((principals::id.eq(id), principals::created_at.eq(now)))
        .execute(c)
        .map(drop)
        .map_err(db_insert(format!("creating principal {id}"), || {
            format!("principal {id}")
        }))
}

pub(crate) fn connect_account<R>(
    c: &mut Conn,
    account: &ConnectAccount<'_>,
    decide: &mut dyn FnMut(&AccountClaim) -> Result<Placement, R>,
    vectorizer: Option<&dyn ProfileVectorizer>,
    only_for: Option<&str>,
) -> Result<Result<ConnectedAccount, R>, StoreError> {
    let (platform, user_id) = (account.platform, account.user_id);
    if let Some((profile, _)) = account.profile
        && profile.user_id != user_id
    {
        return Err(StoreError::Invalid {
            record: format!("account {platform}:{user_id}"),
            message: format!("its profile names another user id, {:?}", profile.user_id),
        });
    }
    let existing = account_row(c, platform, user_id)?;
    let claim = AccountClaim {
        profile: profile_owner(c, platform, user_id)?,
        account: existing.clone().map(AccountDbRow::record).transpose()?,
    };
    let (principal_id, proven) = match decide(&claim) {
        Ok(Placement::Proven(id)) => (id, true),
        Ok(Placement::Unproven(id)) => (id, false),
        Err(refusal) => return Ok(Err(refusal)),
    };
    let now = DbTime::now();
    let new_principal = get_principal(c, &principal_id)?.is_none();
    if let Some(only_for) = only_for {
        if only_for != principal_id {
            return Err(StoreError::Invalid {
                record: format!("account {platform}:{user_id}"),
                message: format!("connected for principal {only_for}, not {principal_id}"),
            });
        }
        if new_principal {
            return Err(StoreError::NotFound {
                what: format!("principal {principal_id}"),
            });
        }
    }
    if new_principal {
        create_principal(c, &principal_id, now)?;
    }

    let copy = unproven_copy(c, platform, user_id, &principal_id)?;
    let (profile_id, written) = match (account.profile, proven) {
        (Some(profile), false) => {
            let written = write_profile(c, platform, profile, &principal_id, Some(&principal_id), now, vectorizer)?;
            (Some(written.id()), Some(written))
        }
        (Some(profile), true) => {
            let written = write_profile(c, platform, profile, &principal_id, None, now, vectorizer)?;
            if let Some(copy) = copy {
                profile_queries::delete_profile(c, copy)?;
            }
            (Some(written.id()), Some(written))
        }
        (None, true) => match copy {
            // The proof unlocks the upload: it becomes the account's profile.
            Some(copy) => {
                if let Some(stored) = claim.profile.as_ref().filter(|p| p.id != copy) {
                    profile_queries::delete_profile(c, stored.id)?;
                }
                diesel::update(profiles::table.find(copy))
                    .set((
                        profiles::unproven_by.eq(""),
                        profiles::owner.eq(Some(principal_id.as_str())),
                        profiles::updated_at.eq(now),
                    ))
                    .execute(c)
                    .map_err(db(format!("proving profile {copy}")))?;
                // Its vector, if any, is now among those others may match.
                super::vectors::bump_vector_writes(c)?;
                (Some(copy), None)
            }
            None => {
                let held = claim
                    .profile
                    .as_ref()
                    .filter(|p| p.owner.as_deref() == Some(principal_id.as_str()));
                (held.map(|p| p.id), None)
            }
        },
        (None, false) => {
            return Err(StoreError::Invalid {
                record: format!("account {platform}:{user_id}"),
                message: "an unproven connect needs a profile to store".to_owned(),
            });
        }
    };

    if proven {
        write_account_row(c, account, existing.as_ref(), &principal_id, now)?;
    }
    if let Some(session) = &account.session {
        create_session(c, &principal_id, session)?;
    }
    Ok(Ok(ConnectedAccount {
        principal_id,
        new_principal,
        proven,
        profile_id,
        profile: written,
    }))
}

/// Writes the account row of a proven connect: the principal's now. It keeps `oauth` and
/// the tokens when the same principal connects again without new ones (e.g. an upload).
fn write_account_row(
    c: &mut Conn,
    account: &ConnectAccount<'_>,
    existing: Option<&AccountDbRow>,
    principal_id: &str,
    now: DbTime,
) -> Result<(), StoreError> {
    let (platform, user_id) = (account.platform, account.user_id);
    let kept = existing.filter(|row| row.principal_id == principal_id);
    let method = match (account.method, kept) {
        (AccountMethod::Export, Some(row)) => row.method.clone(),
        (method, _) => method.as_str().to_owned(),
    };
    let tokens = match (&account.tokens, kept) {
        (Some(tokens), _) => tokens.clone(),
        (None, Some(row)) => AccountTokens {
            access_token: row.access_token.clone(),
            access_expires_at: row.access_expires_at.map(|t| t.0),
            refresh_token: row.refresh_token.clone(),
            refresh_expires_at: row.refresh_expires_at.map(|t| t.0),
            scope: row.scope.clone(),
        },
        (None, None) => AccountTokens::default(),
    };
    let row = AccountDbRow {
        platform: DbPlatformText(platform),
        user_id: user_id.to_owned(),
        principal_id: principal_id.to_owned(),
        username: account.username.to_owned(),
        method,
        access_token: tokens.access_token,
        access_expires_at: tokens.access_expires_at.map(db_time),
        refresh_token: tokens.refresh_token,
        refresh_expires_at: tokens.refresh_expires_at.map(db_time),
        scope: tokens.scope,
        created_at: existing.map_or(now, |r| r.created_at),
        updated_at: now,
    };
    let context = || format!("storing account {platform}:{user_id}");
    if existing.is_some() {
        diesel::update(principal_accounts::table.find((platform.as_str(), user_id)))
            .set(&row)
            .execute(c)
            .map_err(db(context()))?;
    } else {
        diesel::insert_into(principal_accounts::table)
            .values(&row)
            .execute(c)
            .map_err(db(context()))?;
    }
    Ok(())
}

pub(crate) fn update_tokens(
    c: &mut Conn,
    platform: Platform,
    user_id: &str,
    tokens: &AccountTokens,
) -> Result<(), StoreError> {
    let updated = diesel::update(principal_accounts::table.find((platform.as_str(), user_id)))
        .set((
            principal_accounts::access_token.eq(&tokens.access_token),
            principal_accounts::access_expires_at.eq(tokens.access_expires_at.map(db_time)),
            principal_accounts::refresh_token.eq(&tokens.refresh_token),
            principal_accounts::refresh_expires_at.eq(tokens.refresh_expires_at.map(db_time)),
            principal_accounts::scope.eq(&tokens.scope),
            principal_accounts::updated_at.eq(DbTime::now()),
        ))
        .execute(c)
        .map_err(db(format!("renewing the tokens of account {platform}:{user_id}")))?;
    if updated == 0 {
        return Err(StoreError::NotFound {
            what: format!("account {platform}:{user_id}"),
        });
    }
    Ok(())
}

pub(crate) fn create_session(
    c: &mut Conn,
    principal_id: &str,
    session: &NewSession,
) -> Result<(), StoreError> {
    if get_principal(c, principal_id)?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("principal {principal_id}"),
        });
    }
    let row = SessionDbRow {
        token_hash: session.token_hash.clone(),
        principal_id: principal_id.to_owned(),
        created_at: DbTime::now(),
        expires_at: db_time(session.expires_at),
    };
    diesel::insert_into(sessions::table)
        .values(&row)
        .execute(c)
        .map(drop)
        .map_err(db_insert(
            format!("opening a session for principal {principal_id}"),
            || format!("a session of principal {principal_id} with this token"),
        ))
}

pub(crate) fn get_session(c: &mut Conn, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
    sessions::table
        .find(token_hash)
        .select(SessionDbRow::as_select())
        .first(c)
        .found("loading a session")
        .map(|row| row.map(SessionDbRow::record))
}

pub(crate) fn list_sessions(
    c: &mut Conn,
    principal_id: &str,
) -> Result<Vec<SessionRecord>, StoreError> {
    sessions::table
        .filter(sessions::principal_id.eq(principal_id))
        .order((sessions::created_at, sessions::token_hash))
        .select(SessionDbRow::as_select())
        .load(c)
        .map(|rows| rows.into_iter().map(SessionDbRow::record).collect())
        .map_err(db(format!("listing the sessions of principal {principal_id}")))
}

pub(crate) fn delete_session(c: &mut Conn, token_hash: &str) -> Result<bool, StoreError> {
    diesel::delete(sessions::table.find(token_hash))
        .execute(c)
        .map(|n| n > 0)
        .map_err(db("ending a session"))
}

/// The row of a connect state, created now.
fn state_row(state: &NewOAuthState, consumed_at: Option<DbTime>) -> StateDbRow {
    StateDbRow {
        state_hash: state.state_hash.clone(),
        platform: DbPlatformText(state.platform),
        browser_hash: state.browser_hash.clone(),
        code_verifier: state.code_verifier.clone(),
        principal_id: state.principal_id.clone(),
        session_mode: state.session_mode.clone(),
        created_at: DbTime::now(),
        expires_at: db_time(state.expires_at),
        consumed_at,
    }
}

pub(crate) fn create_state(c: &mut Conn, state: &NewOAuthState) -> Result<(), StoreError> {
    let row = state_row(state, None);
    diesel::insert_into(oauth_states::table)
        .values(&row)
        .execute(c)
        .map(drop)
        .map_err(db_insert(
            format!("remembering a {} connect state", state.platform),
            || format!("a {} connect state with this value", state.platform),
        ))
}

pub(crate) fn spend_state(
    c: &mut Conn,
    state: &NewOAuthState,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let row = state_row(state, Some(db_time(at)));
    diesel::insert_into(oauth_states::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(c)
        .map(|n| n > 0)
        .map_err(db("remembering a used connect state"))
}

pub(crate) fn state_known(c: &mut Conn, state_hash: &str) -> Result<bool, StoreError> {
    oauth_states::table
        .find(state_hash)
        .select(oauth_states::state_hash)
        .first::<String>(c)
        .found("looking up a connect state")
        .map(|row| row.is_some())
}

pub(crate) fn consume_state(
    c: &mut Conn,
    state_hash: &str,
    browser_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<StateUse, StoreError> {
    let row: Option<StateDbRow> = oauth_states::table
        .find(state_hash)
        .select(StateDbRow::as_select())
        .first(c)
        .found("loading a connect state")?;
    let Some(row) = row else {
        return Ok(StateUse::Unknown);
    };
    let usable =
        row.consumed_at.is_none() && row.expires_at.0 > now && row.browser_hash == browser_hash;
    if !usable {
        return Ok(StateUse::Refused(row.record()));
    }
    let at = db_time(now);
    diesel::update(oauth_states::table.find(state_hash))
        .set(oauth_states::consumed_at.eq(Some(at)))
        .execute(c)
        .map_err(db("marking a connect state used"))?;
    let mut record = row.record();
    record.consumed_at = Some(at.0);
    Ok(StateUse::Consumed(record))
}

pub(crate) fn purge(c: &mut Conn, before: chrono::DateTime<chrono::Utc>) -> Result<u64, StoreError> {
    let before = db_time(before);
    let states = diesel::delete(oauth_states::table.filter(oauth_states::expires_at.lt(before)))
        .execute(c)
        .map_err(db("forgetting expired connect states"))?;
    let sessions = diesel::delete(sessions::table.filter(sessions::expires_at.lt(before)))
        .execute(c)
        .map_err(db("forgetting expired sessions"))?;
    Ok(count(states) + count(sessions))
}

pub(crate) fn delete_principal(c: &mut Conn, id: &str) -> Result<PrincipalErasure, StoreError> {
    if get_principal(c, id)?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("principal {id}"),
        });
    }
    let profiles = profile_queries::delete_owner(c, id)?;
    let accounts = diesel::delete(
        principal_accounts::table.filter(principal_accounts::principal_id.eq(id)),
    )
    .execute(c)
    .map_err(db(format!("erasing the accounts of principal {id}")))?;
    let sessions = diesel::delete(sessions::table.filter(sessions::principal_id.eq(id)))
        .execute(c)
        .map_err(db(format!("erasing the sessions of principal {id}")))?;
    let oauth_states = diesel::delete(oauth_states::table.filter(oauth_states::principal_id.eq(id)))
        .execute(c)
        .map_err(db(format!("erasing the connect states of principal {id}")))?;
    // Their jobs go with them (the foreign key would take them too), with their inputs.
    let jobs = diesel::delete(jobs::table.filter(jobs::owner.eq(id)))
        .execute(c)
        .map_err(db(format!("erasing the jobs of principal {id}")))?;
    diesel::delete(principals::table.find(id))
        .execute(c)
        .map_err(db(format!("erasing principal {id}")))?;
    Ok(PrincipalErasure {
        profiles,
        accounts: count(accounts),
        sessions: count(sessions),
        oauth_states: count(oauth_states),
        jobs: count(jobs),
    })
}
