//! `/v1/connect/{platform}`: connecting a social account (how people sign in;
//! [`crate::connect`]).
//!
//! 1. `GET /v1/connect/{platform}` sends the browser to the platform's consent page with a
//!    random single-use `state` (10 minutes) and PKCE where the platform takes it. It
//!    writes nothing: the state, the PKCE verifier, the signed-in principal and the session
//!    mode travel sealed (XChaCha20-Poly1305 under the server key) in an `HttpOnly` cookie
//!    that also binds the state to this browser.
//! 2. `GET /v1/connect/{platform}/callback?code&state` (the platform sends the browser
//!    back): opens the cookie, checks that it carries this state and has not expired,
//!    exchanges the code, remembers the state as used (the only write, made once the
//!    platform accepted the code, and purged after expiry; a replay is refused), reads the
//!    person's data with their token, validates it, stores it and answers with the
//!    profile's summary and a session.
//! 3. `POST /v1/connect/{platform}/export`: the same for a person who uploads their data
//!    export (a zip, streamed to a temporary file, size-limited) instead.
//!
//! These routes need no API key; signing in is what they do. A request that is already
//! signed in adds the account to that person. Each is rate limited per client address
//! (start and callback share one budget, uploads have their own), and uploads are also
//! bounded server-wide: so many at once, so many bytes spooled at once.

use std::str::FromStr;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Path, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use toker_model::Platform;
use toker_processing::{Rejected, prepare_profile};
use toker_sources::http::Secret;
use toker_sources::oauth::{OAuthError, uses_pkce};
use toker_sources::{RawProfile, SourceError, import_export_with_limits};
use toker_store::{AccountMethod, NewOAuthState};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::connect::App;
use crate::connect::crypto::{hash, pkce_challenge, random_token};
use crate::connect::fetch::fetch_profile;
use crate::connect::flow::{
    AccountDoc, ConnectOutcome, ConnectResponse, Connecting, SessionDoc, SessionMode, Stored,
    WarningDoc, invalid_upload, rejected, store,
};
use crate::connect::session::{SESSION_COOKIE, optional, set_cookie};
use crate::dto::{ExportArchiveDoc, PlatformDoc, SessionModeDoc};
use crate::extract::ApiQuery;
use crate::limits::{UploadTicket, check_address, timeout};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::state::AppState;
use toker_collect::tokens::TokenCipher as Cipher;

/// Random characters of a `state` (about 256 bits).
const STATE_LEN: usize = 43;
/// Random characters of a PKCE verifier (RFC 7636 allows 43 to 128).
const VERIFIER_LEN: usize = 64;
/// The longest an export upload (receiving, reading, storing) may take.
pub(crate) const UPLOAD_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Used connect states are kept this long after they expire (then purged); expired ones
/// are refused by their cookie's own expiry.
const STATE_MEMORY: chrono::Duration = chrono::Duration::days(1);
/// The associated data of the sealed connect cookie.
const PENDING_CONTEXT: &str = "connect-state";

/// What a connect start seals into the browser's binding cookie: everything its callback
/// needs, so that a start stores nothing.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The platform the connect was started for.
    platform: Platform,
    /// The `state` sent to the platform.
    state: String,
    /// The PKCE code verifier, for platforms that take one.
    verifier: Option<String>,
    /// The principal signed in when the connect started.
    principal: Option<String>,
    /// `cookie` or `bearer`.
    session: String,
    /// When the state stops being accepted (Unix milliseconds).
    expires_at: i64,
}

impl Pending {
    fn seal(&self, cipher: &Cipher) -> Result<String, Problem> {
        let text = serde_json::to_string(self).map_err(|e| crate::error::internal(&e))?;
        Ok(cipher.seal_text(&text, PENDING_CONTEXT))
    }

    fn open(cipher: &Cipher, value: &str) -> Option<Pending> {
        let text = cipher.open_text(value, PENDING_CONTEXT).ok()?;
        serde_json::from_str(text.expose()).ok()
    }
}

/// The connect routes: the start and the callback within the request timeout, the export
/// upload within [`UPLOAD_TIMEOUT`] (or the request timeout, if longer).
pub(crate) fn routes(request_timeout: Duration) -> Router<AppState> {
    let timed = from_fn_with_state(request_timeout, timeout);
    let upload = from_fn_with_state(request_timeout.max(UPLOAD_TIMEOUT), timeout);
    Router::new()
        .route("/v1/connect/{platform}", get(start))
        .route("/v1/connect/{platform}/callback", get(callback))
        .route_layer(timed)
        .merge(
            Router::new()
                .route("/v1/connect/{platform}/export", post(upload_export))
                .route_layer(upload),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(start, callback, upload_export),
    components(schemas(
        ConnectResponse,
        ConnectOutcome,
        AccountDoc,
        SessionDoc,
        StartResponse,
        SessionModeDoc,
        ExportArchiveDoc,
        WarningDoc
    ))
)]
pub(crate) struct Doc;

/// The platform a `{platform}` path segment names; an unknown one is a 404 listing the
/// three.
fn platform_of(name: &str) -> Result<Platform, Problem> {
    Platform::from_str(name).map_err(|_| {
        Problem::new(
            ProblemKind::NotFound,
            format!("no platform {name:?}: connect tiktok, instagram or x"),
        )
    })
}

/// The platform a connect start or callback names, once the client address may make one
/// more of them (429 when it has used up its allowance, then 404 for an unknown name).
fn connect_platform(
    state: &AppState,
    extensions: &Extensions,
    name: &str,
) -> Result<Platform, Problem> {
    check_address(
        state.connect_limiter(),
        extensions,
        "connect starts and callbacks",
    )?;
    platform_of(name)
}

/// The enabled platform's runtime, or 404 saying why it is disabled.
fn app_of(state: &AppState, platform: Platform) -> Result<&App, Problem> {
    state.connector().app(platform).map_err(|why| {
        Problem::new(
            ProblemKind::ConnectDisabled,
            format!(
                "connecting with {} is not enabled on this server ({why}); GET /readyz lists what is",
                platform.display_name()
            ),
        )
    })
}

/// The cookie that binds a connect's `state` to the browser that started it.
fn binding_cookie(platform: Platform) -> String {
    format!("toker_connect_{platform}")
}

fn binding_path(platform: Platform) -> String {
    format!("/v1/connect/{platform}")
}

/// Query of the connect start.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StartParams {
    /// `cookie` (default: an `HttpOnly` session cookie) or `bearer` (the session token in
    /// the callback's JSON, for non-browser clients).
    #[param(value_type = Option<SessionModeDoc>)]
    session: Option<String>,
}

/// Where the browser goes next.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StartResponse {
    /// The platform's consent page (also the `Location` header).
    authorize_url: String,
}

/// Starts connecting an account: redirects to the platform's consent page.
#[utoipa::path(
    get,
    path = "/v1/connect/{platform}",
    tag = "connect",
    params(("platform" = PlatformDoc, Path, description = "The platform to connect"), StartParams),
    responses(
        (status = 302, description = "To the platform's consent page (`Location`); sets the `HttpOnly` cookie that carries the connect sealed and binds it to this browser (nothing is stored)", body = StartResponse),
        (status = 404, description = "Unknown platform, or connecting with it is not enabled", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "This client address used up its connect starts and callbacks for now (`Retry-After`)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<StartParams>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let platform = connect_platform(&state, &extensions, &name)?;
    let mode = SessionMode::parse(params.session.as_deref())?;
    let app = app_of(&state, platform)?;
    let cipher = state
        .connector()
        .cipher()
        .ok_or_else(|| Problem::new(ProblemKind::ConnectDisabled, "no key"))?;
    let signed_in = optional(&state, &headers).await?;
    let state_value = random_token(STATE_LEN);
    let verifier = uses_pkce(platform).then(|| random_token(VERIFIER_LEN));
    let challenge = verifier.as_deref().map(pkce_challenge);
    let ttl = state.connector().config().state_ttl;
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10));
    let binding = Pending {
        platform,
        state: state_value.clone(),
        verifier,
        principal: signed_in.map(|s| s.principal_id),
        session: mode.as_str().to_owned(),
        expires_at: expires_at.timestamp_millis(),
    }
    .seal(cipher)?;
    let url = app.oauth.authorize_url(&state_value, challenge.as_deref());
    let mut response = (
        StatusCode::FOUND,
        Json(StartResponse {
            authorize_url: url.clone(),
        }),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&url).map_err(|_| {
            Problem::new(
                ProblemKind::Internal,
                "the authorize URL is not a valid header",
            )
        })?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::SET_COOKIE,
        set_cookie(
            &binding_cookie(platform),
            &binding,
            &binding_path(platform),
            ttl.as_secs().max(1),
            state.connector().secure_cookies(),
        ),
    );
    Ok(response)
}

/// What the platform sends the browser back with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackParams {
    /// The authorization code (on consent).
    code: Option<String>,
    /// The state issued by the connect start (a callback without one is refused).
    #[param(required = true, min_length = 1)]
    state: Option<String>,
    /// The platform's error code (e.g. `access_denied` when the person said no).
    error: Option<String>,
    /// The platform's words about the error.
    error_description: Option<String>,
    /// Instagram's reason (e.g. `user_denied`).
    error_reason: Option<String>,
}

/// The end of a connect: checks the state, exchanges the code, fetches, validates and
/// stores the person's data, and signs them in.
#[utoipa::path(
    get,
    path = "/v1/connect/{platform}/callback",
    tag = "connect",
    params(("platform" = PlatformDoc, Path, description = "The platform being connected"), CallbackParams),
    responses(
        (status = 201, description = "Connected: the profile was stored; a session cookie (or, for `session=bearer`, the token in `session.token`)", body = ConnectResponse),
        (status = 200, description = "Connected again: the stored profile was updated; or the account is proven without data for a profile (`outcome` `proven`, e.g. Instagram, whose API has no likes): the person's upload of it, if any, is now its profile", body = ConnectResponse),
        (status = 400, description = "Missing, unknown, used, expired or foreign `state`; or the platform refused the code (e.g. expired)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The person did not grant access", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Unknown platform, or connecting with it is not enabled", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The account belongs to someone else here", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The profile breaks the rules (other than too few likes, which still proves the account)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 502, description = "The platform failed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "This client address used up its connect starts and callbacks for now (`Retry-After`)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<CallbackParams>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let platform = connect_platform(&state, &extensions, &name)?;
    let app = app_of(&state, platform)?;
    let used = open_state(&state, platform, &params, &headers)?;
    // The state is spent from here on: every answer clears its cookie.
    let clear = set_cookie(
        &binding_cookie(platform),
        "",
        &binding_path(platform),
        0,
        state.connector().secure_cookies(),
    );
    let answer = finish(&state, app, platform, params, used).await;
    let mut response = match answer {
        Ok((stored, mode)) => connected(&state, stored, mode),
        Err(problem) => problem.into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    Ok(response)
}

/// The connect a callback finishes, from its cookie: checked, not yet spent.
struct UsedState {
    state_hash: String,
    expires_at: chrono::DateTime<Utc>,
    verifier: Option<Secret>,
    principal_id: Option<String>,
    mode: SessionMode,
}

/// Opens the browser's binding cookie and checks that it carries this callback's state
/// for this platform and has not expired (no database work: replays are refused when the
/// state is spent, see [`spend_state`]).
fn open_state(
    state: &AppState,
    platform: Platform,
    params: &CallbackParams,
    headers: &HeaderMap,
) -> Result<UsedState, Problem> {
    let start_again = format!("start again at GET /v1/connect/{platform}");
    let bad = |what: String| Problem::new(ProblemKind::ConnectState, what);
    let Some(value) = params.state.as_deref().filter(|s| !s.is_empty()) else {
        return Err(bad(format!(
            "the callback has no state, so Toker cannot tell it belongs to a connect it started; {start_again}"
        )));
    };
    let cookie_name = binding_cookie(platform);
    let Some(cookie) = crate::connect::session::cookie(headers, &cookie_name) else {
        return Err(bad(format!(
            "this browser did not start a {platform} connect (its {cookie_name} cookie is missing; cookies may be blocked); {start_again}"
        )));
    };
    let cipher = state
        .connector()
        .cipher()
        .ok_or_else(|| Problem::new(ProblemKind::ConnectDisabled, "no key"))?;
    let Some(pending) = Pending::open(cipher, &cookie) else {
        return Err(bad(format!(
            "the {cookie_name} cookie is not one this server set (altered, or the server key changed); {start_again}"
        )));
    };
    if pending.platform != platform {
        return Err(bad(format!(
            "this state was issued for {}, not {platform}; {start_again}",
            pending.platform
        )));
    }
    if hash(&pending.state) != hash(value) {
        return Err(bad(format!(
            "the state is not one this server issued to this browser (a forged link, or a connect started in another browser); {start_again}"
        )));
    }
    let expires_at =
        chrono::DateTime::from_timestamp_millis(pending.expires_at).unwrap_or_default();
    if expires_at <= Utc::now() {
        let minutes = state.connector().config().state_ttl.as_secs().div_ceil(60);
        return Err(bad(format!(
            "this connect link expired (they last {minutes} minutes); {start_again}"
        )));
    }
    Ok(UsedState {
        state_hash: hash(value),
        expires_at,
        verifier: pending.verifier.map(Secret::new),
        principal_id: pending.principal,
        mode: SessionMode::parse(Some(&pending.session))?,
    })
}

/// Refuses a state that a callback already used, and one started by a person who has
/// been erased since, before anything is sent to the platform.
async fn refuse_spent(
    state: &AppState,
    platform: Platform,
    used: &UsedState,
) -> Result<(), Problem> {
    let lookup = used.state_hash.clone();
    let principal = used.principal_id.clone();
    let (known, erased) = state
        .db(move |store| {
            let known = store.oauth_state_known(&lookup)?;
            let erased = match &principal {
                Some(id) => store.get_principal(id)?.is_none(),
                None => false,
            };
            Ok((known, erased))
        })
        .await?;
    if known {
        return Err(already_used(platform));
    }
    if erased {
        return Err(Problem::new(
            ProblemKind::ConnectState,
            format!(
                "the person signed in when this connect started no longer exists; start again at GET /v1/connect/{platform}"
            ),
        ));
    }
    Ok(())
}

fn already_used(platform: Platform) -> Problem {
    Problem::new(
        ProblemKind::ConnectState,
        format!(
            "this connect link was already used; each works once; start again at GET /v1/connect/{platform}"
        ),
    )
}

/// Remembers the state as used (once the platform accepted its code, so that only real
/// consents write), purging used states long expired; a second use is refused.
async fn spend_state(
    state: &AppState,
    platform: Platform,
    used: &UsedState,
) -> Result<(), Problem> {
    let record = NewOAuthState {
        state_hash: used.state_hash.clone(),
        platform,
        browser_hash: String::new(),
        code_verifier: None,
        principal_id: None,
        session_mode: used.mode.as_str().to_owned(),
        expires_at: used.expires_at,
    };
    let first = state
        .db(move |store| {
            store.purge_expired_sessions_and_states(Utc::now() - STATE_MEMORY)?;
            Ok(store.spend_oauth_state(&record, Utc::now())?)
        })
        .await?;
    if first {
        Ok(())
    } else {
        Err(already_used(platform))
    }
}

async fn finish(
    state: &AppState,
    app: &App,
    platform: Platform,
    params: CallbackParams,
    used: UsedState,
) -> Result<(Stored, SessionMode), Problem> {
    let name = platform.display_name();
    if let Some(error) = params.error.as_deref().filter(|e| !e.is_empty()) {
        let said = params
            .error_description
            .as_deref()
            .or(params.error_reason.as_deref())
            .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
            .unwrap_or_default();
        let error: String = error.chars().take(64).collect();
        return Err(Problem::new(
            ProblemKind::ConsentDenied,
            format!(
                "{name} says access was not granted ({error}{said}); nothing was stored. To connect, start again at GET /v1/connect/{platform} and approve, or upload your data export at POST /v1/connect/{platform}/export"
            ),
        ));
    }
    let Some(code) = params.code.filter(|c| !c.is_empty()).map(Secret::new) else {
        return Err(Problem::new(
            ProblemKind::ConnectState,
            format!(
                "the callback carries neither a code nor an error; start again at GET /v1/connect/{platform}"
            ),
        ));
    };
    refuse_spent(state, platform, &used).await?;
    let tokens = app
        .oauth
        .exchange_code(&code, used.verifier.as_ref())
        .await
        .map_err(|e| oauth_problem(platform, &e))?;
    drop(code);
    spend_state(state, platform, &used).await?;
    let raw = fetch_profile(state.connector(), app, &tokens.access_token).await?;
    let (user_id, username) = (raw.profile.user_id.clone(), raw.profile.username.clone());
    let warnings = raw.warnings.clone();
    // The platform vouched for the account: a profile too few likes keep from being stored
    // (Instagram's API has none) still proves it.
    let prepared = match judge(state, raw).await? {
        Ok(prepared) => Some(prepared),
        Err(r) if r.violations().iter().all(|v| v.path == "number_of_likes") => None,
        Err(r) => {
            return Err(rejected(
                platform,
                &r,
                state.rules().min_likes,
                AccountMethod::OAuth,
            ));
        }
    };
    let cipher = state
        .connector()
        .cipher()
        .ok_or_else(|| Problem::new(ProblemKind::ConnectDisabled, "no key to keep tokens"))?;
    let sealed = cipher.seal_tokens(platform, &user_id, &tokens);
    let connecting = Connecting {
        platform,
        user_id,
        username,
        prepared,
        method: AccountMethod::OAuth,
        tokens: Some(sealed),
        warnings,
    };
    let stored = store(state, connecting, used.principal_id, used.mode).await?;
    Ok((stored, used.mode))
}

/// Validates and cleans a fetched or imported profile; the caller decides what a
/// rejection means. Runs in the bounded CPU pool (a profile can hold tens of thousands of
/// videos).
async fn judge(
    state: &AppState,
    raw: RawProfile,
) -> Result<Result<toker_processing::Prepared, Rejected>, Problem> {
    let platform = raw.platform;
    let rules = state.rules().clone();
    state
        .cpu(move || Ok(prepare_profile(platform, raw.profile, raw.raw, &rules)))
        .await
}

/// An OAuth step's failure as the answer to the person.
fn oauth_problem(platform: Platform, error: &OAuthError) -> Problem {
    let name = platform.display_name();
    match error {
        OAuthError::CodeRejected { .. } => Problem::new(
            ProblemKind::CodeRejected,
            format!(
                "{name} refused the authorization code ({error}); codes expire within minutes and work once: start again at GET /v1/connect/{platform}"
            ),
        ),
        OAuthError::Source(source) => crate::connect::fetch::unusable(platform, source),
        other => {
            tracing::error!(%platform, error = %other, "the platform's token step failed");
            Problem::new(
                ProblemKind::PlatformUnavailable,
                format!(
                    "{name} did not complete the sign-in ({other}); nothing was stored: try again later"
                ),
            )
        }
    }
}

/// The answer to a stored connect: 201 or 200, the session cookie (or token in the body).
fn connected(state: &AppState, stored: Stored, mode: SessionMode) -> Response {
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(stored.response)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let (Some(token), SessionMode::Cookie) = (stored.session_token, mode) {
        let ttl = state.connector().config().session_ttl.as_secs();
        headers.append(
            header::SET_COOKIE,
            set_cookie(
                SESSION_COOKIE,
                &token,
                "/",
                ttl,
                state.connector().secure_cookies(),
            ),
        );
    }
    response
}

/// Query of the export upload.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    /// `cookie` (default) or `bearer`: how a new session is handed out.
    #[param(value_type = Option<SessionModeDoc>)]
    session: Option<String>,
}

/// Connects an account from its data export: the `.zip` the platform's "Download your
/// data" gives, as the raw request body (`application/zip`).
#[utoipa::path(
    post,
    path = "/v1/connect/{platform}/export",
    tag = "connect",
    params(("platform" = PlatformDoc, Path, description = "The platform the export is from"), ExportParams),
    request_body(
        description = "The export archive (`application/x-zip-compressed` is read too)",
        content(
            (ExportArchiveDoc = "application/zip"),
            (ExportArchiveDoc = "application/octet-stream")
        )
    ),
    responses(
        (status = 201, description = "Stored; signed in (unless already). Unless the signed-in person proved the account, it is their private copy (`account.proven` false): the answer is the same whether or not anyone else stored the account", body = ConnectResponse),
        (status = 200, description = "Updated the signed-in person's stored profile (or private copy)", body = ConnectResponse),
        (status = 409, description = "Only for a person who proved the account: its profile is held by an API client here", body = ProblemBody, content_type = "application/problem+json"),
        (status = 400, description = "An empty or broken-off upload, or a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Unknown platform, or connecting accounts is not enabled", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the server's export limit, or unpacking to more than its limits allow (total size, compression ratio: a zip bomb is refused before it is decompressed); the detail names the limit and its value", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Not a zip", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a readable export, or too few likes", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "This client address used up its export uploads for now (`Retry-After`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The server is receiving as many uploads, or holding as many spooled bytes, as it takes at once (`Retry-After`; the detail names the limit)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security((), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn upload_export(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
    request: Request,
) -> Result<Response, Problem> {
    check_address(
        state.upload_limiter(),
        request.extensions(),
        "export uploads",
    )?;
    let platform = platform_of(&name)?;
    let mode = SessionMode::parse(params.session.as_deref())?;
    if state.connector().cipher().is_none() {
        return Err(Problem::new(
            ProblemKind::ConnectDisabled,
            "connecting accounts is not enabled on this server (no TOKER_SECRET_KEY); GET /readyz says so",
        ));
    }
    check_zip_type(request.headers())?;
    let ticket = state.uploads().admit()?;
    let signed_in = optional(&state, request.headers()).await?;
    let limit = state.connector().config().export_limit;
    let limits = state.connector().config().import_limits;
    let upload = receive(request.into_body(), limit, ticket).await?;
    let raw = state
        .cpu(move || {
            let result = import_export_with_limits(platform, &upload.path, &limits);
            drop(upload);
            result.map_err(|e| export_problem(platform, &e))
        })
        .await?;
    let warnings = raw.warnings.clone();
    let prepared = judge(&state, raw)
        .await?
        .map_err(|r| rejected(platform, &r, state.rules().min_likes, AccountMethod::Export))?;
    let connecting = Connecting {
        platform,
        user_id: prepared.profile.user_id.clone(),
        username: prepared.profile.username.clone(),
        prepared: Some(prepared),
        method: AccountMethod::Export,
        tokens: None,
        warnings,
    };
    let stored = store(&state, connecting, signed_in.map(|s| s.principal_id), mode).await?;
    Ok(connected(&state, stored, mode))
}

fn check_zip_type(headers: &HeaderMap) -> Result<(), Problem> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/zip" | "application/x-zip-compressed" | "application/octet-stream") => {
            Ok(())
        }
        other => Err(Problem::new(
            ProblemKind::UnsupportedMediaType,
            format!(
                "send the export .zip as the body with content type application/zip, got {}",
                other.unwrap_or("none")
            ),
        )),
    }
}

/// An upload on disk, removed when dropped (and then its slot and spool bytes freed).
struct Upload {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    _ticket: UploadTicket,
}

/// Streams the body to a temporary file, refusing it past `limit` bytes (early by its
/// `Content-Length`, else as soon as the stream passes the limit) or past the server's
/// spool budget (the bytes are reserved as they arrive, the declared length up front).
async fn receive(mut body: Body, limit: u64, mut ticket: UploadTicket) -> Result<Upload, Problem> {
    let too_large = || {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the export is larger than this server's limit of {limit} bytes"),
        )
    };
    let declared = body.size_hint().lower();
    if declared > limit {
        return Err(too_large());
    }
    ticket.reserve(declared)?;
    let mut reserved = declared;
    let dir = tempfile::Builder::new()
        .prefix("toker-upload-")
        .tempdir()
        .map_err(|e| crate::error::internal(&e))?;
    let path = dir.path().join("export.zip");
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| crate::error::internal(&e))?;
    let mut received = 0u64;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| {
            Problem::new(
                ProblemKind::BadRequest,
                format!("the upload broke off: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received += data.len() as u64;
        if received > limit {
            return Err(too_large());
        }
        if received > reserved {
            ticket.reserve(received - reserved)?;
            reserved = received;
        }
        file.write_all(&data)
            .await
            .map_err(|e| crate::error::internal(&e))?;
    }
    file.flush().await.map_err(|e| crate::error::internal(&e))?;
    if received == 0 {
        return Err(Problem::new(
            ProblemKind::BadRequest,
            "the request body is empty; send the export .zip",
        ));
    }
    Ok(Upload {
        _dir: dir,
        path,
        _ticket: ticket,
    })
}

/// An export that cannot be read, named without the temporary path.
fn export_problem(platform: Platform, error: &SourceError) -> Problem {
    match error {
        SourceError::FeatureDisabled { .. } => {
            Problem::new(ProblemKind::ConnectDisabled, error.to_string())
        }
        SourceError::ExportUnreadable { message, .. } => invalid_upload(platform, message.clone()),
        SourceError::ExportTooLarge {
            file,
            limit,
            value,
            message,
            ..
        } => Problem::new(
            ProblemKind::PayloadTooLarge,
            format!(
                "this {} export breaks the server's limit `{limit}` = {value}: {}{message}; \
                 nothing was stored",
                platform.display_name(),
                file.as_deref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default()
            ),
        ),
        SourceError::ExportFileMissing { .. } | SourceError::ExportFileInvalid { .. } => {
            let text = error.to_string();
            // "<platform> export <temp path>: …" → what follows the path.
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            invalid_upload(platform, message.to_owned())
        }
        other => crate::error::internal(other),
    }
}
