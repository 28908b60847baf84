//! `/v1/connect/{platform}`: connecting a social account (the seed's user flow).
//!
//! 1. `GET /v1/connect/{platform}` sends the browser to the platform's consent page with a
//!    random single-use `state` (10 minutes; bound to this browser by a cookie) and PKCE
//!    where the platform takes it.
//! 2. `GET /v1/connect/{platform}/callback?code&state` (the platform sends the browser
//!    back): checks the state, exchanges the code, reads the person's data with their
//!    token, validates it, stores it and answers with the profile's summary and a session.
//! 3. `POST /v1/connect/{platform}/export`: the same for a person who uploads their data
//!    export (a zip, streamed to a temporary file, size-limited) instead.
//!
//! These routes need no API key; signing in is what they do. A request that is already
//! signed in adds the account to that person.

use std::str::FromStr;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use toker_model::Platform;
use toker_processing::prepare_profile;
use toker_sources::http::Secret;
use toker_sources::oauth::{OAuthError, uses_pkce};
use toker_sources::{RawProfile, SourceError, import_export};
use toker_store::{AccountMethod, NewOAuthState, StateUse};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::connect::crypto::{hash, pkce_challenge, random_token};
use crate::connect::fetch::fetch_profile;
use crate::connect::flow::{
    AccountDoc, ConnectResponse, SessionDoc, SessionMode, Stored, invalid_upload, rejected,
    seal_tokens, store, verifier_context,
};
use crate::connect::session::{SESSION_COOKIE, optional, set_cookie};
use crate::connect::{App, STATE_TTL};
use crate::dto::PlatformDoc;
use crate::extract::ApiQuery;
use crate::limits::timeout;
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::state::AppState;

/// Random characters of a `state` and of the browser-binding cookie (about 256 bits).
const STATE_LEN: usize = 43;
/// Random characters of a PKCE verifier (RFC 7636 allows 43 to 128).
const VERIFIER_LEN: usize = 64;
/// The longest an export upload (receiving, reading, storing) may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Connect states are kept this long after they expire, to tell "expired" from "unknown".
const STATE_MEMORY: chrono::Duration = chrono::Duration::days(1);

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
    components(schemas(ConnectResponse, AccountDoc, SessionDoc, StartResponse))
)]
pub(crate) struct Doc;

/// The path's platform.
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
        (status = 302, description = "To the platform's consent page (`Location`); sets the cookie that binds the state to this browser", body = StartResponse),
        (status = 404, description = "Unknown platform, or connecting with it is not enabled", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<StartParams>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let platform = platform_of(&name)?;
    let mode = SessionMode::parse(params.session.as_deref())?;
    let app = app_of(&state, platform)?;
    let cipher = state
        .connector()
        .cipher()
        .ok_or_else(|| Problem::new(ProblemKind::ConnectDisabled, "no key"))?;
    let signed_in = optional(&state, &headers).await?;
    let state_value = random_token(STATE_LEN);
    let browser = random_token(STATE_LEN);
    let state_hash = hash(&state_value);
    let verifier = uses_pkce(platform).then(|| Secret::new(random_token(VERIFIER_LEN)));
    let challenge = verifier.as_ref().map(|v| pkce_challenge(v.expose()));
    let ttl = chrono::Duration::from_std(STATE_TTL).unwrap_or(chrono::Duration::minutes(10));
    let record = NewOAuthState {
        code_verifier: verifier
            .as_ref()
            .map(|v| cipher.seal(v, &verifier_context(&state_hash))),
        state_hash,
        platform,
        browser_hash: hash(&browser),
        principal_id: signed_in.map(|s| s.principal_id),
        session_mode: mode.as_str().to_owned(),
        expires_at: Utc::now() + ttl,
    };
    state
        .db(move |store| {
            store.purge_expired_sessions_and_states(Utc::now() - STATE_MEMORY)?;
            Ok(store.create_oauth_state(&record)?)
        })
        .await?;
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
            &browser,
            &binding_path(platform),
            STATE_TTL.as_secs(),
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
    /// The state issued by the connect start.
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
        (status = 200, description = "Connected again: the stored profile was updated", body = ConnectResponse),
        (status = 400, description = "Unknown, used, expired or foreign `state`; or the platform refused the code (e.g. expired)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The person did not grant access", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The account belongs to someone else here", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The profile breaks the rules (e.g. too few likes; the detail says what to do)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 502, description = "The platform failed", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<CallbackParams>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let platform = platform_of(&name)?;
    let app = app_of(&state, platform)?;
    let used = use_state(&state, platform, &params, &headers).await?;
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

/// The state checked and spent.
struct UsedState {
    verifier: Option<Secret>,
    principal_id: Option<String>,
    mode: SessionMode,
}

async fn use_state(
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
    let Some(browser) = crate::connect::session::cookie(headers, &binding_cookie(platform)) else {
        return Err(bad(format!(
            "this browser did not start a {platform} connect (its {} cookie is missing; cookies may be blocked); {start_again}",
            binding_cookie(platform)
        )));
    };
    let state_hash = hash(value);
    let browser_hash = hash(&browser);
    let now = Utc::now();
    let lookup = state_hash.clone();
    let used = state
        .db(move |store| Ok(store.consume_oauth_state(&lookup, &browser_hash, now)?))
        .await?;
    let record = match used {
        StateUse::Unknown => {
            return Err(bad(format!(
                "the state is not one this server issued (or it expired more than a day ago); {start_again}"
            )));
        }
        StateUse::Refused(record) => {
            let why = if record.consumed_at.is_some() {
                "this connect link was already used; each works once"
            } else if record.expires_at <= now {
                "this connect link expired (they last 10 minutes)"
            } else {
                "this connect was started in another browser"
            };
            return Err(bad(format!("{why}; {start_again}")));
        }
        StateUse::Consumed(record) => record,
    };
    if record.platform != platform {
        return Err(bad(format!(
            "this state was issued for {}, not {platform}; {start_again}",
            record.platform
        )));
    }
    let verifier = match (&record.code_verifier, state.connector().cipher()) {
        (Some(sealed), Some(cipher)) => Some(
            cipher
                .open(sealed, &verifier_context(&state_hash))
                .map_err(|e| crate::error::internal(&e))?,
        ),
        _ => None,
    };
    Ok(UsedState {
        verifier,
        principal_id: record.principal_id,
        mode: SessionMode::parse(Some(&record.session_mode))?,
    })
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
    let tokens = app
        .oauth
        .exchange_code(&code, used.verifier.as_ref())
        .await
        .map_err(|e| oauth_problem(platform, &e))?;
    drop(code);
    let raw = fetch_profile(state.connector(), app, &tokens.access_token).await?;
    let prepared = judge(state, raw.clone(), false).await?;
    let cipher = state
        .connector()
        .cipher()
        .ok_or_else(|| Problem::new(ProblemKind::ConnectDisabled, "no key to keep tokens"))?;
    let sealed = seal_tokens(cipher, platform, &prepared.profile.user_id, &tokens);
    let stored = store(
        state,
        prepared,
        AccountMethod::OAuth,
        Some(sealed),
        used.principal_id,
        used.mode,
        raw.warnings,
    )
    .await?;
    Ok((stored, used.mode))
}

/// Validates and cleans a fetched or imported profile.
/// Runs in the bounded CPU pool (a profile can hold tens of thousands of videos).
async fn judge(
    state: &AppState,
    raw: RawProfile,
    via_export: bool,
) -> Result<toker_processing::Prepared, Problem> {
    let platform = raw.platform;
    let rules = state.rules().clone();
    state
        .cpu(move || {
            prepare_profile(platform, raw.profile, raw.raw, &rules)
                .map_err(|r| rejected(platform, &r, rules.min_likes, via_export))
        })
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
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    /// `cookie` (default) or `bearer`: how a new session is handed out.
    session: Option<String>,
}

/// Connects an account from its data export: the `.zip` the platform's "Download your
/// data" gives, as the raw request body (`application/zip`).
#[utoipa::path(
    post,
    path = "/v1/connect/{platform}/export",
    tag = "connect",
    params(("platform" = PlatformDoc, Path, description = "The platform the export is from"), ExportParams),
    request_body(content = Vec<u8>, description = "The export archive", content_type = "application/zip"),
    responses(
        (status = 201, description = "Stored; signed in (unless already)", body = ConnectResponse),
        (status = 200, description = "Updated the signed-in person's stored profile", body = ConnectResponse),
        (status = 409, description = "The account is held by someone else here", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the server's export limit", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Not a zip", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a readable export, or too few likes", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security((), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn upload_export(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
    request: Request,
) -> Result<Response, Problem> {
    let platform = platform_of(&name)?;
    let mode = SessionMode::parse(params.session.as_deref())?;
    if state.connector().cipher().is_none() {
        return Err(Problem::new(
            ProblemKind::ConnectDisabled,
            "connecting accounts is not enabled on this server (no TOKER_SECRET_KEY); GET /readyz says so",
        ));
    }
    let signed_in = optional(&state, request.headers()).await?;
    check_zip_type(request.headers())?;
    let limit = state.connector().config().export_limit;
    let upload = receive(request.into_body(), limit).await?;
    let raw = state
        .cpu(move || {
            let result = import_export(platform, &upload.path);
            drop(upload);
            result.map_err(|e| export_problem(platform, &e))
        })
        .await?;
    let prepared = judge(&state, raw.clone(), true).await?;
    let stored = store(
        &state,
        prepared,
        AccountMethod::Export,
        None,
        signed_in.map(|s| s.principal_id),
        mode,
        raw.warnings,
    )
    .await?;
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

/// An upload on disk, removed when dropped.
struct Upload {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

/// Streams the body to a temporary file, refusing it past `limit` bytes (early by its
/// `Content-Length`, else as soon as the stream passes the limit).
async fn receive(mut body: Body, limit: u64) -> Result<Upload, Problem> {
    let too_large = || {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the export is larger than this server's limit of {limit} bytes"),
        )
    };
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
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
    Ok(Upload { _dir: dir, path })
}

/// An export that cannot be read, named without the temporary path.
fn export_problem(platform: Platform, error: &SourceError) -> Problem {
    match error {
        SourceError::FeatureDisabled { .. } => {
            Problem::new(ProblemKind::ConnectDisabled, error.to_string())
        }
        SourceError::ExportUnreadable { message, .. } => invalid_upload(platform, message.clone()),
        SourceError::ExportFileMissing { .. } | SourceError::ExportFileInvalid { .. } => {
            let text = error.to_string();
            // "<platform> export <temp path>: …" → what follows the path.
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            invalid_upload(platform, message.to_owned())
        }
        other => crate::error::internal(other),
    }
}
