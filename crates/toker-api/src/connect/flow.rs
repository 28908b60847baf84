//! The part every way of connecting shares: judging the profile, deciding who owns the
//! account, storing it all in one transaction, and the answer.
//!
//! Who may own an account (the API's rule; the store applies it atomically):
//! - OAuth proves the account. A person who connects it becomes (or, signed in, stays)
//!   its principal, taking over an unowned profile of it; an account another person
//!   proved is theirs (409 for a signed-in third party, who has just proved it too;
//!   without a session, connecting it again signs that person in). The proof holds even
//!   when the platform's data alone makes no storable profile (Instagram's API has no
//!   likes count): then the person's own upload of the account, if any, becomes its
//!   profile, or they upload their export next.
//! - An export upload proves nothing. It is stored as the uploader's unproven copy,
//!   private to them, whoever else uploaded or holds the account: it never blocks,
//!   replaces or reveals anyone's data, and the answer is the same whether or not the
//!   account is stored. Only a person who proved the account uploads into its profile.
//! - A profile an API client (a key) stored stays that client's: a proven person is told
//!   so (409).

use chrono::{DateTime, Utc};
use serde::Serialize;
use toker_model::{Platform, Violation};
use toker_processing::{Prepared, Rejected, prepare_profile, summarize};
use toker_sources::oauth::{OAuthProfile, TokenReach};
use toker_sources::{RawProfile, Warnings};
use toker_store::{
    AccountClaim, AccountMethod, AccountTokens, ConnectAccount, ConnectedAccount, NewSession,
    Placement, Store, StoredProfile, Written,
};
use utoipa::ToSchema;

use super::session::{PRINCIPAL_PREFIX, new_principal_id, new_session};
use crate::dto::{PlatformDoc, SummaryResponse};
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

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
    #[schema(value_type = PlatformDoc)]
    pub(crate) platform: Platform,
    /// The person's id on the platform (the profile's `user_id`).
    pub(crate) user_id: String,
    /// Their handle.
    pub(crate) username: String,
    /// `oauth` (the platform vouched for it) or `export` (an uploaded data export).
    #[schema(value_type = String)]
    pub(crate) method: AccountMethod,
    /// Whether this person proved the account (connected it with OAuth). An unproven
    /// upload is private to its uploader: nobody else sees it or matches with it.
    pub(crate) proven: bool,
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

/// What a connect or upload did to the person's profile of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConnectOutcome {
    /// The profile was stored for the first time.
    Created,
    /// The stored profile was replaced.
    Updated,
    /// The account is proven, without data for a profile of its own.
    Proven,
}

/// The answer to a successful connect.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectResponse {
    /// The person's principal id (the owner of their profiles).
    pub(crate) principal: String,
    /// Whether this connect created the principal.
    pub(crate) new_principal: bool,
    /// `created` or `updated`: what happened to the profile; `proven` when the connect
    /// proved the account without data for a profile (then `profile` is the person's
    /// upload it unlocked, if any).
    pub(crate) outcome: ConnectOutcome,
    /// The account this connect or upload attached to the principal.
    pub(crate) account: AccountDoc,
    /// The person's stored profile of the account, summarized; absent when they have none
    /// yet (see `next`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) profile: Option<SummaryResponse>,
    /// What is left to do, if anything (e.g. prove the account, or upload the export).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
    /// The new session (absent when the request was already signed in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<SessionDoc>,
    /// What the source noticed (e.g. items it could not read), counted per kind with the
    /// first few examples.
    pub(crate) warnings: Vec<WarningDoc>,
}

/// One kind of warning: how often it happened, and its first messages.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WarningDoc {
    /// What kind of thing was worked around, e.g. `item_unnamed` or `list_truncated`.
    pub(crate) kind: String,
    /// How many times.
    pub(crate) count: u64,
    /// The first few messages (at most three), each naming the file and key.
    pub(crate) examples: Vec<String>,
}

impl WarningDoc {
    pub(crate) fn list(warnings: &Warnings) -> Vec<WarningDoc> {
        warnings
            .iter()
            .map(|w| WarningDoc {
                kind: w.kind.as_str().to_owned(),
                count: w.count,
                examples: w.examples.clone(),
            })
            .collect()
    }
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
/// what the person can do (which depends on where the data came from: the platform's API
/// for `OAuth`, the person's export for `Export`).
pub(crate) fn rejected(
    platform: Platform,
    rejected: &Rejected,
    min_likes: u64,
    from: AccountMethod,
) -> Problem {
    let violations = rejected.violations();
    let too_few = violations.iter().any(|v| v.path == "number_of_likes");
    let name = platform.display_name();
    let detail = match (too_few, from == AccountMethod::Export) {
        (true, false) => format!(
            "Toker needs at least {min_likes} likes you gave to build your profile, and the {name} API did not show that many{}; nothing was stored. Upload your {name} data export instead: POST /v1/connect/{platform}/export with the .zip you download from {name}'s \"Download your data\"",
            if token_reach(platform) == TokenReach::NoLikes {
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

/// Validates and cleans a fetched or imported profile; the caller decides what a
/// rejection means. Runs in the bounded CPU pool (a profile can hold tens of thousands of
/// videos).
pub(crate) async fn judge(
    state: &AppState,
    raw: RawProfile,
) -> Result<Result<Prepared, Rejected>, Problem> {
    let platform = raw.platform;
    let rules = state.rules().clone();
    state
        .cpu(move || Ok(prepare_profile(platform, raw.profile, raw.raw, &rules)))
        .await
}

/// The account a connect is about, and what it brings.
#[derive(Debug)]
pub(crate) struct Connecting {
    pub(crate) platform: Platform,
    /// The account's id on the platform.
    pub(crate) user_id: String,
    /// Its handle.
    pub(crate) username: String,
    /// The validated profile; `None` for an OAuth proof whose data makes none.
    pub(crate) prepared: Option<Prepared>,
    pub(crate) method: AccountMethod,
    pub(crate) tokens: Option<AccountTokens>,
    /// What the source noticed, counted per kind.
    pub(crate) warnings: Warnings,
}

/// Stores what a connect brings for the person who connected it (see the module docs for
/// who may own it), with the account's sealed tokens and, unless `signed_in`, a new session.
pub(crate) async fn store(
    state: &AppState,
    connecting: Connecting,
    signed_in: Option<String>,
    mode: SessionMode,
) -> Result<Stored, Problem> {
    let ttl = state.connector().config().session_ttl;
    let (token, session) = if signed_in.is_some() {
        (None, None)
    } else {
        let (token, session) = new_session(ttl);
        (Some(token), Some(session))
    };
    let expires_at = session.as_ref().map(|s| s.expires_at);
    let answer = Answer::new(state, &connecting);
    let (done, stored) = state
        .db(move |store| write(store, connecting, signed_in.as_deref(), session, true))
        .await?;
    let created = done.profile.is_some_and(Written::created);
    let session = expires_at.map(|expires_at| SessionDoc {
        expires_at,
        token: token.clone().filter(|_| mode == SessionMode::Bearer),
    });
    Ok(Stored {
        response: answer.response(done, stored.as_ref(), session),
        session_token: token,
        created,
    })
}

/// Stores what an uploaded export brings for `principal` on `store` (a worker's
/// connection), as [`store`] does for a signed-in person; nothing if `principal` is no
/// longer stored (erased meanwhile: [`Problem`] of kind not found).
pub(crate) fn store_for(
    store: &mut Store,
    state: &AppState,
    connecting: Connecting,
    principal: &str,
) -> Result<ConnectResponse, Problem> {
    let answer = Answer::new(state, &connecting);
    let (done, stored) = write(store, connecting, Some(principal), None, true)?;
    Ok(answer.response(done, stored.as_ref(), None))
}

/// Writes a connect in one transaction and reads back the person's profile of the
/// account; `for_stored` when `signed_in` is a principal who must still be stored.
fn write(
    store: &mut Store,
    connecting: Connecting,
    signed_in: Option<&str>,
    session: Option<NewSession>,
    for_stored: bool,
) -> Result<(ConnectedAccount, Option<StoredProfile>), Problem> {
    let Connecting {
        platform,
        user_id,
        username,
        prepared,
        method,
        tokens,
        warnings: _,
    } = connecting;
    let account = ConnectAccount {
        platform,
        user_id: &user_id,
        username: &username,
        profile: prepared.as_ref().map(|p| (&p.profile, &p.raw)),
        method,
        tokens,
        session,
    };
    let mut decide = |claim: &AccountClaim| place(platform, claim, method, signed_in);
    let done = match signed_in.filter(|_| for_stored) {
        Some(principal) => store.connect_account_for(principal, &account, &mut decide)??,
        None => store.connect_account(&account, &mut decide)??,
    };
    let stored = done
        .profile_id
        .map(|id| store.get_profile(id))
        .transpose()?;
    tracing::info!(
        %platform,
        principal = %done.principal_id,
        profile_id = done.profile_id,
        method = %method,
        proven = done.proven,
        "account connected"
    );
    Ok((done, stored))
}

/// What the answer to a connect needs besides what was written.
struct Answer {
    platform: Platform,
    method: AccountMethod,
    /// The account's id and handle as the connect named them.
    shown: (String, String),
    warnings: Vec<WarningDoc>,
    /// Whether connecting with the platform is enabled (proving an upload is possible).
    provable: bool,
    min_likes: u64,
}

impl Answer {
    fn new(state: &AppState, connecting: &Connecting) -> Answer {
        Answer {
            platform: connecting.platform,
            method: connecting.method,
            shown: (connecting.user_id.clone(), connecting.username.clone()),
            warnings: WarningDoc::list(&connecting.warnings),
            provable: state.connector().app(connecting.platform).is_ok(),
            min_likes: state.rules().min_likes,
        }
    }

    fn response(
        self,
        done: ConnectedAccount,
        stored: Option<&StoredProfile>,
        session: Option<SessionDoc>,
    ) -> ConnectResponse {
        let platform = self.platform;
        let outcome = match done.profile {
            Some(Written::Created(_)) => ConnectOutcome::Created,
            // A connect upserts: its profile is new or replaced, never left alone.
            Some(Written::Updated(_) | Written::Unchanged(_) | Written::Duplicate(_)) => {
                ConnectOutcome::Updated
            }
            None => ConnectOutcome::Proven,
        };
        let next = if !done.proven {
            Some(unproven_next(platform, self.provable))
        } else if stored.is_none() {
            Some(proof_only_next(platform, self.min_likes))
        } else {
            None
        };
        let (user_id, username) = match stored {
            Some(stored) => (
                stored.profile.user_id.clone(),
                stored.profile.username.clone(),
            ),
            None => self.shown,
        };
        ConnectResponse {
            principal: done.principal_id,
            new_principal: done.new_principal,
            outcome,
            account: AccountDoc {
                platform,
                user_id,
                username,
                method: self.method,
                proven: done.proven,
            },
            profile: stored.map(summary),
            next,
            session,
            warnings: self.warnings,
        }
    }
}

/// A stored profile's summary, as the `/summary` route answers it.
pub(crate) fn summary(stored: &StoredProfile) -> SummaryResponse {
    SummaryResponse::new(stored, summarize(&stored.profile))
}

/// Which principal gets the account and whether they proved it, or why not (see the
/// module docs).
fn place(
    platform: Platform,
    claim: &AccountClaim,
    method: AccountMethod,
    signed_in: Option<&str>,
) -> Result<Placement, Problem> {
    let name = platform.display_name();
    let fresh = || signed_in.map_or_else(new_principal_id, str::to_owned);
    // Who proved the account, if anyone (rows of older versions may record an export).
    let holder = claim
        .account
        .as_ref()
        .filter(|a| a.method == AccountMethod::OAuth)
        .map(|a| a.principal_id.as_str());
    let principal = if method == AccountMethod::OAuth {
        match (holder, signed_in) {
            (Some(holder), None) => holder.to_owned(),
            (Some(holder), Some(me)) if holder != me => {
                return Err(Problem::new(
                    ProblemKind::Conflict,
                    format!(
                        "this {name} account is connected to another Toker identity; sign out (or erase that identity with DELETE /v1/me while signed in as it) before connecting it here"
                    ),
                ));
            }
            _ => fresh(),
        }
    } else {
        match signed_in {
            Some(me) if holder == Some(me) => me.to_owned(),
            // Unproven: the uploader's own copy, whatever else is stored.
            _ => return Ok(Placement::Unproven(fresh())),
        }
    };
    match claim.profile.as_ref().and_then(|p| p.owner.as_deref()) {
        Some(owner) if owner != principal && !owner.starts_with(PRINCIPAL_PREFIX) => {
            Err(Problem::new(
                ProblemKind::Conflict,
                format!(
                    "a profile of this {name} account is already stored by another client of this server; ask its operator to remove it"
                ),
            ))
        }
        _ => Ok(Placement::Proven(principal)),
    }
}

/// What an unproven upload's uploader can do next (`provable`: connecting with the
/// platform is enabled).
fn unproven_next(platform: Platform, provable: bool) -> String {
    let name = platform.display_name();
    if provable {
        format!(
            "this profile is private to you: nobody else sees it or matches with it until you prove the {name} account is yours by connecting it (GET /v1/connect/{platform}) while signed in as now"
        )
    } else {
        format!(
            "this profile is private to you: nobody else sees it or matches with it, since this server cannot check that the {name} account is yours (connecting with {name} is not enabled here)"
        )
    }
}

/// What the person's token lets Toker read on `platform`.
fn token_reach(platform: Platform) -> TokenReach {
    OAuthProfile::of(platform).token_reach
}

/// What a person who proved an account without data for a profile can do next.
fn proof_only_next(platform: Platform, min_likes: u64) -> String {
    let name = platform.display_name();
    let why = if token_reach(platform) == TokenReach::NoLikes {
        format!("the {name} API does not tell which posts you liked")
    } else {
        format!("the {name} API did not show the {min_likes} likes you gave that Toker needs")
    };
    format!(
        "your {name} account is proven, but {why}: upload your {name} data export (POST /v1/connect/{platform}/export, the .zip from {name}'s \"Download your data\") while signed in as now to build your profile"
    )
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
    fn oauth_proves_and_exports_are_private_copies_unless_proven() {
        use AccountMethod::{Export, OAuth};
        let place = |c: &AccountClaim, m, s| place(Platform::X, c, m, s);
        let proven = |r: Result<Placement, Problem>| match r.unwrap() {
            Placement::Proven(p) => p,
            other => panic!("{other:?}"),
        };
        let unproven = |r: Result<Placement, Problem>| match r.unwrap() {
            Placement::Unproven(p) => p,
            other => panic!("{other:?}"),
        };
        let refused = |r: Result<Placement, Problem>| r.unwrap_err().kind;
        // Nothing stored: OAuth proves for a new principal; an upload is a private copy.
        assert!(proven(place(&claim(None, None), OAuth, None)).starts_with("usr_"));
        assert_eq!(
            unproven(place(&claim(None, None), Export, Some("usr_me"))),
            "usr_me"
        );
        // Proven by someone: they sign in again; a signed-in third party is refused;
        // anyone else's upload is their own private copy, never a refusal.
        let held = claim(Some(account("usr_a", OAuth)), Some(Some("usr_a")));
        assert_eq!(proven(place(&held, OAuth, None)), "usr_a");
        assert_eq!(
            refused(place(&held, OAuth, Some("usr_b"))),
            ProblemKind::Conflict
        );
        assert!(unproven(place(&held, Export, None)).starts_with("usr_"));
        assert_eq!(unproven(place(&held, Export, Some("usr_b"))), "usr_b");
        assert_eq!(proven(place(&held, Export, Some("usr_a"))), "usr_a");
        // A row of an older version that records an export proves nothing.
        let claimed = claim(Some(account("usr_c", Export)), Some(Some("usr_c")));
        let taker = proven(place(&claimed, OAuth, None));
        assert!(taker.starts_with("usr_") && taker != "usr_c");
        assert_eq!(unproven(place(&claimed, Export, Some("usr_c"))), "usr_c");
        // A key's profile stays the key's (a proven person is told); an unowned one goes
        // to a proven person; an upload is a private copy beside either.
        let keyed = claim(None, Some(Some("abcdefghijkl")));
        assert_eq!(refused(place(&keyed, OAuth, None)), ProblemKind::Conflict);
        assert!(unproven(place(&keyed, Export, None)).starts_with("usr_"));
        let unowned = claim(None, Some(None));
        assert!(proven(place(&unowned, OAuth, None)).starts_with("usr_"));
        assert!(unproven(place(&unowned, Export, None)).starts_with("usr_"));
    }
}
