//! The part every way of connecting shares: judging the profile, deciding who owns the
//! account, storing it all in one transaction, and the answer.
//!
//! Who may own an account (the API's rule; the store applies it atomically):
//! - OAuth proves the account. A person who connects it becomes (or, signed in, stays)
//!   its principal, taking it over from an unproven export claim or an unowned profile;
//!   an account another person proved is theirs (409 for a signed-in third party; without
//!   a session, connecting it again signs that person in).
//! - An export upload proves nothing. It may store an account nobody holds yet, or update
//!   one the signed-in uploader already holds; anything else is 409, and the person who
//!   really owns the account can prove it by connecting with OAuth.
//! - A profile an API client (a key) stored stays that client's: 409.

use chrono::{DateTime, Utc};
use serde::Serialize;
use toker_model::{Platform, Violation};
use toker_processing::{Prepared, Rejected, summarize};
use toker_sources::http::Secret;
use toker_sources::oauth::PlatformTokens;
use toker_store::{
    AccountClaim, AccountMethod, AccountTokens, ConnectAccount, StoredProfile, Upserted,
};
use utoipa::ToSchema;

use super::crypto::Cipher;
use super::session::{PRINCIPAL_PREFIX, new_principal_id, new_session};
use crate::dto::{PlatformDoc, SummaryResponse};
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// The associated data a platform token is sealed with: its account and field.
pub(crate) fn token_context(platform: Platform, user_id: &str, field: &str) -> String {
    format!("platform-token|{platform}|{user_id}|{field}")
}

/// Seals a platform's tokens for the account's row.
pub(crate) fn seal_tokens(
    cipher: &Cipher,
    platform: Platform,
    user_id: &str,
    tokens: &PlatformTokens,
) -> AccountTokens {
    let now = Utc::now();
    let at = |d: Option<std::time::Duration>| {
        d.and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| now + d)
    };
    AccountTokens {
        access_token: Some(cipher.seal(
            &tokens.access_token,
            &token_context(platform, user_id, "access"),
        )),
        access_expires_at: at(tokens.expires_in),
        refresh_token: tokens
            .refresh_token
            .as_ref()
            .map(|t| cipher.seal(t, &token_context(platform, user_id, "refresh"))),
        refresh_expires_at: at(tokens.refresh_expires_in),
        scope: tokens.scope.clone(),
    }
}

/// How the connecting client wants its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionMode {
    /// A `Set-Cookie` (browsers).
    Cookie,
    /// The token in the JSON answer, once (non-browser clients).
    Bearer,
}

impl SessionMode {
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, Problem> {
        match value.map(str::trim) {
            None | Some("" | "cookie") => Ok(SessionMode::Cookie),
            Some("bearer") => Ok(SessionMode::Bearer),
            Some(other) => Err(Problem::new(
                ProblemKind::BadRequest,
                format!("session must be cookie or bearer, got {other:?}"),
            )),
        }
    }

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            SessionMode::Cookie => "cookie",
            SessionMode::Bearer => "bearer",
        }
    }
}

/// The connected account, as answered.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccountDoc {
    /// The platform.
    #[schema(value_type = PlatformDoc)]
    pub(crate) platform: Platform,
    /// The person's id on the platform (the profile's `user_id`).
    pub(crate) user_id: String,
    /// Their handle.
    pub(crate) username: String,
    /// `oauth` (the platform vouched for it) or `export` (an uploaded data export).
    #[schema(value_type = String)]
    pub(crate) method: AccountMethod,
}

/// The session a connect opened.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionDoc {
    /// When it expires.
    pub(crate) expires_at: DateTime<Utc>,
    /// The bearer session token, only when the connect asked for `session=bearer`; shown
    /// once. Browsers get an `HttpOnly` cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
}

/// The answer to a successful connect.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectResponse {
    /// The person's principal id (the owner of their profiles).
    pub(crate) principal: String,
    /// Whether this connect created the principal.
    pub(crate) new_principal: bool,
    /// `created` or `updated`: what happened to the profile.
    pub(crate) outcome: String,
    /// The account connected.
    pub(crate) account: AccountDoc,
    /// The stored profile's summary.
    pub(crate) profile: SummaryResponse,
    /// The new session (absent when the request was already signed in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<SessionDoc>,
    /// What the source noticed (e.g. items it could not read).
    pub(crate) warnings: Vec<String>,
}

/// What was stored, and the session to hand out.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) response: ConnectResponse,
    /// The new session's token, for the cookie or the body.
    pub(crate) session_token: Option<String>,
    pub(crate) created: bool,
}

/// The answer to a profile that breaks the rules: every violation, and for too few likes,
/// what the person can do.
pub(crate) fn rejected(
    platform: Platform,
    rejected: &Rejected,
    min_likes: u64,
    via_export: bool,
) -> Problem {
    let violations = rejected.violations();
    let too_few = violations.iter().any(|v| v.path == "number_of_likes");
    let name = platform.display_name();
    let detail = match (too_few, via_export) {
        (true, false) => format!(
            "Toker needs at least {min_likes} likes you gave to build your profile, and the {name} API did not show that many{}; nothing was stored. Upload your {name} data export instead: POST /v1/connect/{platform}/export with the .zip you download from {name}'s \"Download your data\"",
            if platform == Platform::Instagram {
                " (it does not tell which posts you liked)"
            } else {
                ""
            }
        ),
        (true, true) => format!(
            "Toker needs at least {min_likes} likes you gave to build your profile, and this {name} export shows fewer; nothing was stored. Come back when you have liked more, or connect another platform"
        ),
        (false, _) => format!(
            "your {name} data breaks {} rule(s) Toker checks; nothing was stored",
            violations.len()
        ),
    };
    Problem::validation(detail, violations)
}

/// Stores a validated profile for the person who connected it (see the module docs for
/// who may own it), with the account's sealed tokens and, unless `signed_in`, a new session.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store(
    state: &AppState,
    prepared: Prepared,
    method: AccountMethod,
    tokens: Option<AccountTokens>,
    signed_in: Option<String>,
    mode: SessionMode,
    warnings: Vec<String>,
) -> Result<Stored, Problem> {
    let ttl = state.connector().config().session_ttl;
    let (token, session) = if signed_in.is_some() {
        (None, None)
    } else {
        let (token, session) = new_session(ttl);
        (Some(token), Some(session))
    };
    let platform = prepared.platform;
    let expires_at = session.as_ref().map(|s| s.expires_at);
    let (done, stored) = state
        .db(move |store| {
            let account = ConnectAccount {
                platform,
                profile: &prepared.profile,
                raw: &prepared.raw,
                method,
                tokens,
                session,
            };
            let mut decide =
                |claim: &AccountClaim| owner_for(platform, claim, method, signed_in.as_deref());
            let done = store.connect_account(&account, &mut decide)??;
            let stored = store.get_profile(done.profile_id)?;
            Ok((done, stored))
        })
        .await?;
    tracing::info!(
        %platform,
        principal = %done.principal_id,
        profile_id = done.profile_id,
        method = %method,
        "account connected"
    );
    let created = done.profile == Upserted::Created;
    Ok(Stored {
        response: ConnectResponse {
            principal: done.principal_id,
            new_principal: done.new_principal,
            outcome: if created { "created" } else { "updated" }.to_owned(),
            account: AccountDoc {
                platform,
                user_id: stored.profile.user_id.clone(),
                username: stored.profile.username.clone(),
                method,
            },
            profile: summary(&stored),
            session: expires_at.map(|expires_at| SessionDoc {
                expires_at,
                token: token.clone().filter(|_| mode == SessionMode::Bearer),
            }),
            warnings,
        },
        session_token: token,
        created,
    })
}

/// A stored profile's summary, as the `/summary` route answers it.
pub(crate) fn summary(stored: &StoredProfile) -> SummaryResponse {
    SummaryResponse::new(stored, summarize(&stored.profile))
}

/// Which principal gets the account, or why nobody new may (see the module docs).
fn owner_for(
    platform: Platform,
    claim: &AccountClaim,
    method: AccountMethod,
    signed_in: Option<&str>,
) -> Result<String, Problem> {
    let proven = method == AccountMethod::OAuth;
    let name = platform.display_name();
    let fresh = || signed_in.map_or_else(new_principal_id, str::to_owned);
    let conflict = |detail: String| Err(Problem::new(ProblemKind::Conflict, detail));
    if let Some(account) = &claim.account {
        if Some(account.principal_id.as_str()) == signed_in {
            return Ok(account.principal_id.clone());
        }
        return match (proven, account.method) {
            (true, AccountMethod::OAuth) if signed_in.is_none() => Ok(account.principal_id.clone()),
            (true, AccountMethod::OAuth) => conflict(format!(
                "this {name} account is connected to another Toker identity; sign out (or erase that identity with DELETE /v1/me while signed in as it) before connecting it here"
            )),
            (true, AccountMethod::Export) => Ok(fresh()),
            (false, _) => conflict(format!(
                "this {name} account is already connected by someone else; if it is yours, prove it by connecting with {name} (GET /v1/connect/{platform})"
            )),
        };
    }
    match &claim.profile {
        None => Ok(fresh()),
        Some(profile) => match profile.owner.as_deref() {
            Some(owner) if Some(owner) == signed_in => Ok(owner.to_owned()),
            None if proven => Ok(fresh()),
            Some(owner) if proven && owner.starts_with(PRINCIPAL_PREFIX) => Ok(fresh()),
            _ => conflict(format!(
                "a profile of this {name} account is already stored by another client of this server; ask its operator to remove it"
            )),
        },
    }
}

/// A one-violation validation problem (e.g. about an upload).
pub(crate) fn invalid_upload(platform: Platform, message: String) -> Problem {
    Problem::validation(
        format!(
            "this is not a {} data export Toker can read; nothing was stored",
            platform.display_name()
        ),
        vec![Violation {
            path: "export".to_owned(),
            message,
        }],
    )
}

/// An opened token, or `None` when absent.
pub(crate) fn open_token(
    cipher: &Cipher,
    sealed: Option<&Vec<u8>>,
    platform: Platform,
    user_id: &str,
    field: &str,
) -> Option<Secret> {
    let sealed = sealed?;
    match cipher.open(sealed, &token_context(platform, user_id, field)) {
        Ok(secret) => Some(secret),
        Err(e) => {
            tracing::error!(error = %e, "a stored platform token does not open");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use toker_store::{AccountRecord, ProfileOwner};

    use super::*;

    fn account(principal: &str, method: AccountMethod) -> AccountRecord {
        AccountRecord {
            platform: Platform::X,
            user_id: "1".into(),
            principal_id: principal.into(),
            username: "u".into(),
            method,
            tokens: AccountTokens::default(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn claim(account: Option<AccountRecord>, owner: Option<Option<&str>>) -> AccountClaim {
        AccountClaim {
            profile: owner.map(|o| ProfileOwner {
                id: 1,
                owner: o.map(str::to_owned),
            }),
            account,
        }
    }

    #[test]
    fn oauth_proves_and_exports_only_claim_what_nobody_holds() {
        use AccountMethod::{Export, OAuth};
        let ok = |r: Result<String, Problem>| r.unwrap();
        let refused = |r: Result<String, Problem>| r.unwrap_err().kind;
        // Nothing stored: a new principal, or the signed-in one.
        assert!(ok(owner_for(Platform::X, &claim(None, None), OAuth, None)).starts_with("usr_"));
        assert_eq!(
            ok(owner_for(
                Platform::X,
                &claim(None, None),
                Export,
                Some("usr_me")
            )),
            "usr_me"
        );
        // Proven by someone: they sign in again; a third party is refused; exports too.
        let proven = claim(Some(account("usr_a", OAuth)), Some(Some("usr_a")));
        assert_eq!(ok(owner_for(Platform::X, &proven, OAuth, None)), "usr_a");
        assert_eq!(
            refused(owner_for(Platform::X, &proven, OAuth, Some("usr_b"))),
            ProblemKind::Conflict
        );
        assert_eq!(
            refused(owner_for(Platform::X, &proven, Export, None)),
            ProblemKind::Conflict
        );
        assert_eq!(
            ok(owner_for(Platform::X, &proven, Export, Some("usr_a"))),
            "usr_a"
        );
        // An export claim is taken over by whoever proves the account.
        let claimed = claim(Some(account("usr_c", Export)), Some(Some("usr_c")));
        let taker = ok(owner_for(Platform::X, &claimed, OAuth, None));
        assert!(taker.starts_with("usr_") && taker != "usr_c");
        assert_eq!(
            refused(owner_for(Platform::X, &claimed, Export, Some("usr_d"))),
            ProblemKind::Conflict
        );
        // A key's profile stays the key's; an unowned one goes to a proven person only.
        let keyed = claim(None, Some(Some("abcdefghijkl")));
        assert_eq!(
            refused(owner_for(Platform::X, &keyed, OAuth, None)),
            ProblemKind::Conflict
        );
        let unowned = claim(None, Some(None));
        assert!(owner_for(Platform::X, &unowned, OAuth, None).is_ok());
        assert_eq!(
            refused(owner_for(Platform::X, &unowned, Export, None)),
            ProblemKind::Conflict
        );
    }
}
