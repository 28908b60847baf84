//! `/v1/me`: what Toker holds on the signed-in person (a session from connecting an
//! account), all of it exportable as JSON and erasable in one transaction, and a refresh
//! of their profiles with the platform tokens they granted.
//!
//! Refreshing is toker-collect's [`refresh_account`] for each connected account, run as a
//! queued job ([`crate::jobs`]); this module only says what it came to, in the person's
//! words.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;
use toker_collect::{CollectError, CollectReport, RefreshOutcome, RefreshRequest, refresh_account};
use toker_model::Listing;
use toker_model::{Platform, Profile};
use toker_store::{AccountMethod, AccountRecord, PrincipalErasure, Store, StoreError};
use utoipa::{OpenApi, ToSchema};

use crate::connect::fetch::{Patience, api_settings, unusable};
use crate::connect::session::{SESSION_COOKIE, Session, set_cookie};
use crate::dto::{PlatformDoc, ProfileDoc, ProfileListItem};
use crate::extract::ApiQuery;
use crate::jobs::{enqueue_refresh, wait_bound, wait_for_end};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::routes::jobs::{JobDoc, WaitQuery, job_answer};
use crate::state::AppState;

crate::openapi::problem_response!(NotSignedIn, 401, "Not signed in");
crate::openapi::problem_response!(NotAPerson, 403, "An API key, not a person");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me).delete(erase))
        .route("/v1/me/export", get(export))
        .route("/v1/me/refresh", post(refresh))
        .route("/v1/me/session", delete(sign_out))
}

#[derive(OpenApi)]
#[openapi(
    paths(me, export, erase, refresh, sign_out),
    components(schemas(
        MeResponse,
        MeAccount,
        MeExport,
        ExportedProfile,
        ExportedVector,
        ExportedSession,
        ErasureResponse,
        RefreshReport,
        RefreshResult,
        RefreshStatus,
        ItemsDoc
    )),
    modifiers(&SessionSchemes)
)]
pub(crate) struct Doc;

/// Declares the `session` (cookie) and `session_token` (bearer) schemes of signed-in
/// people.
struct SessionSchemes;

impl utoipa::Modify for SessionSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The HttpOnly session cookie a connect or an export upload sets. Role `session`: \
                 the person sees, refreshes, exports and erases only their own data (`/v1/me`, \
                 and reading, matching or deleting their own profiles); every operation that \
                 does not list this scheme answers 403.",
            ))),
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("tks_<token>".to_owned());
        bearer.description = Some(
            "A session token from a connect with `session=bearer`, as `Authorization: Bearer \
             <token>`; the same role `session` as the cookie."
                .to_owned(),
        );
        components.add_security_scheme("session_token", SecurityScheme::Http(bearer));
    }
}

/// A connected account, without its tokens.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MeAccount {
    /// The platform the account is on.
    #[schema(value_type = PlatformDoc)]
    platform: Platform,
    /// The person's id there (the profile's `user_id`).
    user_id: String,
    /// Their handle.
    username: String,
    /// `oauth` or `export`.
    #[schema(value_type = String)]
    method: AccountMethod,
    /// When it was first connected.
    connected_at: DateTime<Utc>,
    /// When it was last connected or its tokens renewed.
    updated_at: DateTime<Utc>,
    /// Whether Toker holds a token to refresh it (`POST /v1/me/refresh`).
    refreshable: bool,
    /// When the access token expires (it is renewed on refresh when a refresh token is held).
    access_expires_at: Option<DateTime<Utc>>,
}

impl From<&AccountRecord> for MeAccount {
    fn from(a: &AccountRecord) -> Self {
        MeAccount {
            platform: a.platform,
            user_id: a.user_id.clone(),
            username: a.username.clone(),
            method: a.method,
            connected_at: a.created_at,
            updated_at: a.updated_at,
            refreshable: a.tokens.access_token.is_some() || a.tokens.refresh_token.is_some(),
            access_expires_at: a.tokens.access_expires_at,
        }
    }
}

/// The signed-in person.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MeResponse {
    /// Their principal id: the owner of their profiles.
    principal: String,
    /// When they first connected.
    created_at: DateTime<Utc>,
    /// This session's end.
    session_expires_at: DateTime<Utc>,
    /// Their connected accounts.
    accounts: Vec<MeAccount>,
    /// Their stored profiles.
    profiles: Vec<ProfileListItem>,
}

/// The signed-in person: their accounts and profiles.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "The signed-in person", body = MeResponse),
        NotSignedIn,
        NotAPerson,
    ),
    security(("session" = []), ("session_token" = []))
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<MeResponse>, Problem> {
    let id = session.principal_id.clone();
    let (principal, accounts, rows) = state
        .db(move |store| {
            let principal = store.get_principal(&id)?.ok_or_else(signed_out)?;
            let accounts = store.list_accounts(&id)?;
            let rows = store.list_profiles(&Listing::owner(id))?;
            Ok((principal, accounts, rows))
        })
        .await?;
    Ok(Json(MeResponse {
        principal: principal.id,
        created_at: principal.created_at,
        session_expires_at: session.expires_at,
        accounts: accounts.iter().map(MeAccount::from).collect(),
        profiles: rows.into_iter().map(ProfileListItem::from).collect(),
    }))
}

fn signed_out() -> Problem {
    Problem::new(
        ProblemKind::Unauthenticated,
        "this session's person no longer exists; connect an account to sign in again",
    )
}

/// A stored vector.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExportedVector {
    /// Feature indices in the vocabulary.
    indices: Vec<u32>,
    /// Their weights.
    values: Vec<f32>,
}

/// A profile with everything stored about it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExportedProfile {
    /// The profile's id.
    id: i64,
    /// Its platform.
    #[schema(value_type = PlatformDoc)]
    platform: Platform,
    /// When it was first stored.
    created_at: DateTime<Utc>,
    /// When it was last replaced.
    updated_at: DateTime<Utc>,
    /// The validated, cleaned profile.
    #[schema(value_type = ProfileDoc)]
    profile: Profile,
    /// The data it was built from, as received.
    #[schema(value_type = Object)]
    raw_json: serde_json::Value,
    /// Its interest vector, if computed.
    vector: Option<ExportedVector>,
}

/// A session, without its token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExportedSession {
    /// When it was opened.
    created_at: DateTime<Utc>,
    /// When it ends.
    expires_at: DateTime<Utc>,
    /// Whether it is the one this request came with.
    current: bool,
}

/// Everything Toker holds on the person (tokens are held but never shown).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MeExport {
    /// Their principal id.
    principal: String,
    /// When they first connected.
    created_at: DateTime<Utc>,
    /// When this export was made.
    exported_at: DateTime<Utc>,
    /// Their accounts.
    accounts: Vec<MeAccount>,
    /// Their sessions.
    sessions: Vec<ExportedSession>,
    /// Their profiles, whole, with raw data and vectors.
    profiles: Vec<ExportedProfile>,
    /// The vocabulary version the vectors belong to.
    vocabulary_version: Option<String>,
}

/// Everything Toker holds on the signed-in person, as one JSON document.
#[utoipa::path(
    get,
    path = "/v1/me/export",
    tag = "me",
    responses(
        (status = 200, description = "All of it (a download)", body = MeExport),
        NotSignedIn,
    ),
    security(("session" = []), ("session_token" = []))
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, Problem> {
    let id = session.principal_id.clone();
    let current = session.token_hash.clone();
    let document = state
        .db(move |store| {
            let principal = store.get_principal(&id)?.ok_or_else(signed_out)?;
            let accounts = store.list_accounts(&id)?;
            let sessions = store.list_sessions(&id)?;
            let stored = store.load_profiles(&Listing::owner(id.clone()))?;
            let mut profiles = Vec::with_capacity(stored.len());
            for p in stored {
                let vector = store.load_vector(p.id)?.map(|v| ExportedVector {
                    indices: v.indices,
                    values: v.values,
                });
                profiles.push(ExportedProfile {
                    id: p.id,
                    platform: p.platform,
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                    profile: p.profile,
                    raw_json: p.raw_json,
                    vector,
                });
            }
            let vocabulary_version = store.load_vocabulary()?.map(|v| v.version);
            Ok(MeExport {
                principal: principal.id,
                created_at: principal.created_at,
                exported_at: Utc::now(),
                accounts: accounts.iter().map(MeAccount::from).collect(),
                sessions: sessions
                    .into_iter()
                    .map(|s| ExportedSession {
                        current: s.token_hash == current,
                        created_at: s.created_at,
                        expires_at: s.expires_at,
                    })
                    .collect(),
                profiles,
                vocabulary_version,
            })
        })
        .await?;
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"toker-export.json\""),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// What `DELETE /v1/me` erased.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErasureResponse {
    /// The principal that no longer exists.
    principal: String,
    /// Rows erased, by kind.
    #[schema(value_type = Object)]
    erased: PrincipalErasure,
}

/// Erases everything Toker holds on the signed-in person, in one transaction: their
/// profiles (with links, vectors and videos nobody else has), accounts and tokens,
/// sessions and connects in progress. Signs them out.
#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "Erased", body = ErasureResponse),
        NotSignedIn,
    ),
    security(("session" = []), ("session_token" = []))
)]
pub(crate) async fn erase(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, Problem> {
    let id = session.principal_id.clone();
    let erased = state
        .db(move |store| match store.delete_principal(&id) {
            Ok(erased) => Ok(erased),
            Err(StoreError::NotFound { .. }) => Err(signed_out()),
            Err(e) => Err(e.into()),
        })
        .await?;
    if erased.profiles > 0 {
        state.matches().invalidate();
    }
    tracing::info!(principal = %session.principal_id, profiles = erased.profiles, "principal erased");
    let mut response = Json(ErasureResponse {
        principal: session.principal_id,
        erased,
    })
    .into_response();
    clear_session_cookie(&state, &mut response);
    Ok(response)
}

/// Ends this session (signs out); the person's data stays.
#[utoipa::path(
    delete,
    path = "/v1/me/session",
    tag = "me",
    responses(
        (status = 204, description = "Signed out"),
        NotSignedIn,
    ),
    security(("session" = []), ("session_token" = []))
)]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, Problem> {
    let hash = session.token_hash.clone();
    state
        .db(move |store| Ok(store.delete_session(&hash)?))
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_session_cookie(&state, &mut response);
    Ok(response)
}

/// Makes `response` clear the session cookie (the person is signed out).
fn clear_session_cookie(state: &AppState, response: &mut Response) {
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            "",
            "/",
            0,
            state.connector().secure_cookies(),
        ),
    );
}

/// What a refresh did to one account.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefreshResult {
    /// The platform of the refreshed account.
    #[schema(value_type = PlatformDoc)]
    platform: Platform,
    /// The account's id there.
    user_id: String,
    /// `updated`, `unchanged`, `skipped` (connected by an export), `rejected` (the new data
    /// breaks the rules; the stored profile stays), `reconnect` (the platform refused the
    /// stored token) or `failed`.
    outcome: RefreshStatus,
    /// The stored profile's id, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_id: Option<i64>,
    /// The liked and shared videos compared with those stored before.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<ItemsDoc>,
    /// What to know or do.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// What a refresh did to one account, as answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RefreshStatus {
    /// The profile was read and changed (or stored for the first time).
    Updated,
    /// The profile was read and is as stored.
    Unchanged,
    /// Not read: the account was connected by an export, or the platform's API does not
    /// show what the profile is built from.
    Skipped,
    /// The new data breaks the rules; the stored profile stays.
    Rejected,
    /// The platform refused the stored token: connect again.
    Reconnect,
    /// The refresh failed; try again later.
    Failed,
}

/// How a refresh changed the stored videos.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemsDoc {
    /// Videos not stored before.
    new: u64,
    /// Videos stored before with other counts or tags.
    updated: u64,
    /// Videos stored exactly so.
    unchanged: u64,
    /// Stored videos the platform no longer lists.
    removed: u64,
}

/// What a refresh did: a refresh job's result.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefreshReport {
    /// One result per connected account.
    accounts: Vec<RefreshResult>,
}

/// Queues a refresh of the signed-in person's OAuth-connected accounts (each re-fetched
/// with its stored tokens, an expired token renewed first, each changed profile updated)
/// and answers the job: `202` while it is queued or running, `200` once it ended, its
/// `result` then one entry per account. A refresh already queued or running is the one
/// answered. `wait` waits up to that many seconds for it to end first.
#[utoipa::path(
    post,
    path = "/v1/me/refresh",
    tag = "me",
    params(WaitQuery),
    responses(
        (status = 202, description = "Queued or running: follow it at the Location (GET /v1/jobs/{id})", body = JobDoc),
        (status = 200, description = "Ended within the wait; `result` is a RefreshReport", body = JobDoc),
        (status = 400, description = "A wait that is not a whole number of seconds", body = ProblemBody, content_type = "application/problem+json"),
        NotSignedIn,
    ),
    security(("session" = []), ("session_token" = []))
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Response, Problem> {
    let wait = wait_bound(&state, query.wait);
    let job = enqueue_refresh(&state, &session.principal_id).await?;
    let job = wait_for_end(&state, job, wait).await?;
    Ok(job_answer(job))
}

/// Refreshes every account of `principal` on `store`, one after the other (the
/// [`REFRESH`](crate::jobs::REFRESH) job); also says whether any profile changed.
pub(crate) async fn refresh_all(
    store: &mut Store,
    state: &AppState,
    principal: &str,
) -> Result<(RefreshReport, bool), StoreError> {
    let accounts = store.list_accounts(principal)?;
    let mut results = Vec::with_capacity(accounts.len());
    let mut changed = false;
    for account in accounts {
        let (platform, user_id) = (account.platform, account.user_id.clone());
        let refreshed = refresh_one(store, state, principal, &account).await;
        changed |= matches!(refreshed, Ok(Ok(RefreshOutcome::Updated(_))));
        results.push(refresh_result(platform, user_id, refreshed));
    }
    Ok((RefreshReport { accounts: results }, changed))
}

/// What refreshing an account came to: the library's outcome or error, or why the server
/// could not try.
type Refreshed = Result<Result<RefreshOutcome, CollectError>, Problem>;

/// Refreshes one account ([`refresh_account`]) with a background job's patience.
async fn refresh_one(
    store: &mut Store,
    state: &AppState,
    principal: &str,
    account: &AccountRecord,
) -> Refreshed {
    let platform = account.platform;
    let connector = state.connector();
    let (Some(cipher), Ok(app)) = (connector.cipher(), connector.app(platform)) else {
        return Err(Problem::new(
            ProblemKind::ConnectDisabled,
            format!(
                "connecting with {} is not enabled on this server",
                platform.display_name()
            ),
        ));
    };
    let (api, research) = api_settings(connector, app, Patience::Background);
    let request = RefreshRequest {
        account,
        cipher,
        oauth: &app.oauth,
        api: &api,
        research: research.as_ref(),
        rules: state.rules(),
        owner: Some(principal),
        sleeper: Some(connector.sleeper()),
    };
    Ok(refresh_account(store, &request).await)
}

/// The answer for one account: its outcome, and what to know or do in the person's words.
fn refresh_result(platform: Platform, user_id: String, refreshed: Refreshed) -> RefreshResult {
    let name = platform.display_name();
    let skip = |outcome: RefreshStatus, detail: String| RefreshResult {
        platform,
        user_id: user_id.clone(),
        outcome,
        profile_id: None,
        items: None,
        detail: Some(detail),
    };
    let export_hint =
        format!("upload a newer {name} export to update it (POST /v1/connect/{platform}/export)");
    let error = match refreshed {
        Err(problem) => return skip(RefreshStatus::Failed, problem.detail),
        Ok(Ok(RefreshOutcome::Updated(report))) => {
            return collected(platform, user_id, RefreshStatus::Updated, &report);
        }
        Ok(Ok(RefreshOutcome::Unchanged(report))) => {
            return collected(platform, user_id, RefreshStatus::Unchanged, &report);
        }
        Ok(Ok(RefreshOutcome::ConnectedByExport)) => {
            return skip(
                RefreshStatus::Skipped,
                format!("connected by a data export: {export_hint}"),
            );
        }
        Ok(Ok(RefreshOutcome::LikesNotShown)) => {
            return skip(
                RefreshStatus::Skipped,
                format!(
                    "the {name} API does not show the likes you gave, which your profile is built from: upload a newer {name} data export to update it (POST /v1/connect/{platform}/export)"
                ),
            );
        }
        Ok(Ok(_)) => {
            return skip(
                RefreshStatus::Failed,
                format!("the refresh from {name} failed"),
            );
        }
        Ok(Err(e)) => e,
    };
    match error {
        CollectError::AccessRevoked { error, .. } => skip(
            RefreshStatus::Reconnect,
            format!(
                "{name} no longer accepts the access you granted ({error}): connect again at GET /v1/connect/{platform}"
            ),
        ),
        CollectError::Renewal { error, .. } => skip(
            RefreshStatus::Failed,
            format!("{name} did not renew the access ({error}); try again later"),
        ),
        CollectError::Source(e) => skip(RefreshStatus::Failed, unusable(platform, &e).detail),
        CollectError::Store(e) => skip(RefreshStatus::Failed, Problem::from(e).detail),
        e @ CollectError::Rejected { .. } => skip(
            RefreshStatus::Rejected,
            format!(
                "the new {name} data breaks the rules ({e}); the stored profile stays as it was"
            ),
        ),
        e @ CollectError::Stopped { .. } => skip(
            RefreshStatus::Failed,
            format!(
                "{name} stopped the refresh ({e}); what was read is kept, and the next refresh resumes from there"
            ),
        ),
        other => skip(
            RefreshStatus::Failed,
            format!("the refresh from {name} failed ({other})"),
        ),
    }
}

/// The answer for an account that was collected.
fn collected(
    platform: Platform,
    user_id: String,
    outcome: RefreshStatus,
    report: &CollectReport,
) -> RefreshResult {
    RefreshResult {
        platform,
        user_id,
        outcome,
        profile_id: report.profile.as_ref().map(|p| p.id),
        items: Some(ItemsDoc {
            new: report.items.new,
            updated: report.items.updated,
            unchanged: report.items.unchanged,
            removed: report.items.removed,
        }),
        detail: None,
    }
}
