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
//!    export (a zip, streamed to a temporary file, size-limited) instead; a worker imports
//!    it as a queued job ([`crate::connect::upload`]), and the answer is that job.
//!
//! These routes need no API key; signing in is what they do. A request that is already
//! signed in adds the account to that person. Each is rate limited per client address
//! (start and callback share one budget, uploads have their own), and uploads are also
//! bounded server-wide: so many at once, so many bytes spooled at once.

use std::str::FromStr;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::{OAuthError, uses_pkce};
use toker_store::{AccountMethod, NewOAuthState};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::connect::App;
use crate::connect::crypto::{hash, pkce_challenge, random_token};
use crate::connect::fetch::fetch_profile;
use crate::connect::flow::{
    AccountDoc, ConnectOutcome, ConnectResponse, Connecting, SessionDoc, SessionMode, Stored,
    WarningDoc, judge, rejected, store,
};
use crate::connect::session::{SESSION_COOKIE, optional, set_cookie};
use crate::connect::upload::queue_import;
use crate::dto::{ExportArchiveDoc, PlatformDoc, SessionModeDoc};
use crate::extract::ApiQuery;
use crate::jobs::{wait_bound, wait_for_end};
use crate::limits::{check_address, timeout};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::routes::jobs::{JobDoc, job_answer_as};
use crate::state::AppState;
use toker_collect::tokens::TokenCipher as Cipher;

crate::openapi::problem_response!(
    ConnectNotEnabled,
    404,
    "Unknown platform, or connecting with it is not enabled"
);
crate::openapi::problem_response!(
    ConnectRateLimited,
    429,
    "This client address used up its connect starts and callbacks for now (`Retry-After`)"
);

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
        WarningDoc,
        UploadAccepted
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
        ConnectNotEnabled,
        ConnectRateLimited,
    ),
    security(())
)]
pub(crate) async fn start(connect: Connect<StartParams>) -> Result<Response, Problem> {
    let mode = SessionMode::parse(connect.params.session.as_deref())?;
    let Connect {
        state,
        platform,
        headers,
        ..
    } = connect;
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

/// A connect start or callback: its query `P` (400 when it is not one), then the platform
/// it names, once the client address may make one more of them (429 when it has used up
/// its allowance, then 404 for an unknown name), and the request's headers.
pub(crate) struct Connect<P> {
    state: AppState,
    platform: Platform,
    params: P,
    headers: HeaderMap,
}

impl<P: DeserializeOwned + Send> FromRequestParts<AppState> for Connect<P> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Path(name) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::new(ProblemKind::BadRequest, e.body_text()))?;
        let ApiQuery(params) = ApiQuery::<P>::from_request_parts(parts, state).await?;
        check_address(
            state.connect_limiter(),
            &parts.extensions,
            "connect starts and callbacks",
        )?;
        Ok(Connect {
            state: state.clone(),
            platform: platform_of(&name)?,
            params,
            headers: parts.headers.clone(),
        })
    }
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
        ConnectNotEnabled,
        (status = 409, description = "The account belongs to someone else here", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The profile breaks the rules (other than too few likes, which still proves the account)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 502, description = "The platform failed", body = ProblemBody, content_type = "application/problem+json"),
        ConnectRateLimited,
    ),
    security(())
)]
pub(crate) async fn callback(connect: Connect<CallbackParams>) -> Result<Response, Problem> {
    let Connect {
        state,
        platform,
        params,
        headers,
    } = connect;
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

/// Query of the export upload.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    /// `cookie` (default) or `bearer`: how a new session is handed out.
    #[param(value_type = Option<SessionModeDoc>)]
    session: Option<String>,
    /// Seconds to wait for the import to end before answering (default 0); longer waits
    /// are cut to 25 s, and to half the server's request timeout.
    wait: Option<u64>,
}

/// The answer to an export upload: its import job, and the session it opened.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UploadAccepted {
    /// The import job (`kind` `import-export`); once it succeeded, its `result` is a
    /// ConnectResponse (without a session), and if it failed, `error` says what is wrong
    /// with the export (nothing was stored).
    #[serde(flatten)]
    job: JobDoc,
    /// The new session (absent when the upload was already signed in): with it the
    /// uploader follows the job at `GET /v1/jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<SessionDoc>,
}

/// The answer to a stored connect: 201 or 200, the session cookie (or token in the body).
fn connected(state: &AppState, stored: Stored, mode: SessionMode) -> Response {
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(stored.response)).into_response();
    hand_out(state, &mut response, stored.session_token.as_deref(), mode);
    response
}

/// Makes `response` private, and sets the session cookie of a new session `token` when
/// the client asked for a cookie (a bearer client finds the token in the body).
fn hand_out(state: &AppState, response: &mut Response, token: Option<&str>, mode: SessionMode) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let (Some(token), SessionMode::Cookie) = (token, mode) {
        headers.append(header::SET_COOKIE, session_cookie(state, token));
    }
}

/// The `Set-Cookie` of session `token`.
pub(crate) fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let ttl = state.connector().config().session_ttl.as_secs();
    set_cookie(
        SESSION_COOKIE,
        token,
        "/",
        ttl,
        state.connector().secure_cookies(),
    )
}

/// Connects an account from its data export: the `.zip` the platform's "Download your
/// data" gives, as the raw request body (`application/zip`). The upload is checked and
/// queued as an import job (a worker reads, validates and stores it); an uploader who is
/// not signed in is signed up with it, and follows the job with the session it hands out.
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
        (status = 202, description = "Queued: follow the import at the Location (GET /v1/jobs/{id}); signed in (unless already) with a session cookie, or for `session=bearer` the token in `session.token`. Unless the signed-in person proved the account, what it stores is their private copy (`account.proven` false in the result): the result is the same whether or not anyone else stored the account", body = UploadAccepted),
        (status = 200, description = "The import ended within the wait: `result` (succeeded) is a ConnectResponse; `error` (failed) names what is wrong with the export (unreadable, over a limit, too few likes, or, for a person who proved the account, its profile held by an API client here)", body = UploadAccepted),
        (status = 400, description = "An empty or broken-off upload, or a bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        ConnectNotEnabled,
        (status = 413, description = "Larger than the server's export limit, or a zip whose index unpacks to more than its limits allow (total size, compression ratio: a zip bomb is refused before it is decompressed); the detail names the limit and its value", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Not a zip", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a zip archive, or a damaged one", body = ProblemBody, content_type = "application/problem+json"),
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
    let (parts, body) = request.into_parts();
    let platform = upload_platform(&state, &name, &parts)?;
    let mode = SessionMode::parse(params.session.as_deref())?;
    let wait = wait_bound(&state, params.wait);
    let queued = queue_import(&state, platform, &parts.headers, body).await?;
    let job = wait_for_end(&state, queued.job, wait).await?;
    let token = queued.session.as_ref().map(|(token, _)| token.clone());
    let session = queued.session.map(|(token, expires_at)| SessionDoc {
        expires_at,
        token: Some(token).filter(|_| mode == SessionMode::Bearer),
    });
    let mut response = job_answer_as(job, |job| UploadAccepted { job, session });
    hand_out(&state, &mut response, token.as_deref(), mode);
    Ok(response)
}

/// The platform `name` an export upload is for, once the client address may make one more
/// upload (429 when it has used up its allowance, then 404 for an unknown name).
pub(crate) fn upload_platform(
    state: &AppState,
    name: &str,
    parts: &Parts,
) -> Result<Platform, Problem> {
    check_address(state.upload_limiter(), &parts.extensions, "export uploads")?;
    platform_of(name)
}
