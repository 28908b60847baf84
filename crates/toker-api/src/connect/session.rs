//! Sessions of connected people: a random token (`tks_…`) that the browser keeps in an
//! `HttpOnly; Secure; SameSite=Lax` cookie, or that a non-browser client sends as
//! `Authorization: Bearer tks_…`. Only its SHA-256 is stored.
//!
//! [`authenticate`] replaces the API-key check on the authenticated routes: a session
//! makes the person a [`Principal`] of role [`Role::Session`] whose id owns their profiles
//! (so every per-owner rule of member keys applies, and every route that needs a key
//! answers 403), and adds a [`Session`] for the `/v1/me` routes; anything else goes to
//! the API-key check as before. Failed lookups count against the client address's budget
//! of failed sign-ins, checked before the database is asked.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use toker_store::NewSession;

use super::crypto::{hash, random_token};
use crate::auth::{Principal, check_failure_budget, record_failure};
use crate::keys::Role;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// The cookie that carries the session token.
pub const SESSION_COOKIE: &str = "toker_session";
/// The prefix of session tokens (API keys start with `tok_`).
pub const SESSION_PREFIX: &str = "tks_";
/// Random characters after the prefix (about 256 bits).
const SESSION_SECRET_LEN: usize = 43;
/// The prefix of principal ids (never a key id: those have no `_`).
pub(crate) const PRINCIPAL_PREFIX: &str = "usr_";

/// The session of a connected person, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The principal: also the owner of their profiles.
    pub(crate) principal_id: String,
    /// The stored hash of the token (to end this session).
    pub(crate) token_hash: String,
    /// When it expires.
    pub(crate) expires_at: DateTime<Utc>,
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Session>() {
            Some(session) => Ok(session.clone()),
            None if parts.extensions.get::<Principal>().is_some() => Err(Problem::new(
                ProblemKind::Forbidden,
                "/v1/me is the data of a person who connected an account: sign in with \
                 GET /v1/connect/{platform} (an API key has no /v1/me)",
            )),
            None => Err(not_signed_in()),
        }
    }
}

fn not_signed_in() -> Problem {
    Problem::new(
        ProblemKind::Unauthenticated,
        "sign in first: connect an account (GET /v1/connect/{platform}) and send the session \
         cookie or `Authorization: Bearer <session token>`",
    )
}

/// A new principal id: `usr_` and 16 random lower-case letters and digits.
pub(crate) fn new_principal_id() -> String {
    format!(
        "{PRINCIPAL_PREFIX}{}",
        random_token(16).to_ascii_lowercase()
    )
}

/// A new session token and what to store of it.
pub(crate) fn new_session(ttl: std::time::Duration) -> (String, NewSession) {
    let token = format!("{SESSION_PREFIX}{}", random_token(SESSION_SECRET_LEN));
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30));
    let session = NewSession {
        token_hash: hash(&token),
        expires_at: Utc::now() + ttl,
    };
    (token, session)
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax` (the platform's redirect back is a
/// top-level navigation from another site, which `Strict` would strip), `Secure` unless
/// turned off for plain-http development; `max_age` 0 deletes the cookie.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The session token a request carries: `Authorization: Bearer tks_…`, else the cookie.
/// `None` when it carries none (an API key bearer is not a session token).
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned())?;
        return token.starts_with(SESSION_PREFIX).then_some(token);
    }
    cookie(headers, SESSION_COOKIE)
}

/// The live session of `token`, or `None` if unknown or expired.
pub(crate) async fn lookup(state: &AppState, token: &str) -> Result<Option<Session>, Problem> {
    if !token.starts_with(SESSION_PREFIX)
        || token.len() != SESSION_PREFIX.len() + SESSION_SECRET_LEN
    {
        return Ok(None);
    }
    let token_hash = hash(token);
    let record = state
        .db(move |store| Ok(store.get_session(&token_hash)?))
        .await?;
    let session = record
        .filter(|r| r.expires_at > Utc::now())
        .map(|r| Session {
            principal_id: r.principal_id,
            token_hash: r.token_hash,
            expires_at: r.expires_at,
        });
    if let Some(session) = &session {
        state.keys().remember_session(&session.token_hash);
    }
    Ok(session)
}

/// The session a request carries, if any and live (for the open connect routes, where
/// signing in is optional).
pub(crate) async fn optional(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, Problem> {
    match session_token(headers) {
        Some(token) => lookup(state, &token).await,
        None => Ok(None),
    }
}

/// Authenticates a request by its session (cookie or `Bearer tks_…`) or, failing that,
/// by its API key ([`crate::auth::authenticate`]). A session gives a [`Principal`] of role
/// [`Role::Session`] whose id is the principal's, plus a [`Session`]; the per-key rate
/// limit applies per principal. Every failure is the same 401 (429 once the client
/// address used up its failed sign-ins, before any database lookup).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = session_token(request.headers()) else {
        return crate::auth::authenticate(State(state), request, next).await;
    };
    let client = crate::limits::client_address(request.extensions());
    let remembered = state.keys().remembers_session(&hash(&token));
    if let Err(refused) = check_failure_budget(&state, &client, remembered) {
        return refused.into_response();
    }
    let session = match lookup(&state, &token).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            record_failure(&state, &client);
            return not_signed_in().into_response();
        }
        Err(problem) => return problem.into_response(),
    };
    drop(token);
    tracing::Span::current().record("key_id", session.principal_id.as_str());
    if let Err(retry_after) = state.rate_limiter().check(&session.principal_id) {
        return Problem::new(
            ProblemKind::RateLimited,
            "this session has used up its requests for now",
        )
        .with_retry_after(retry_after)
        .into_response();
    }
    request.extensions_mut().insert(Principal {
        key_id: session.principal_id.clone(),
        role: Role::Session,
    });
    request.extensions_mut().insert(session);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; toker_session=tks_abc ; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tks_abc"));
        assert_eq!(cookie(&headers, "toker"), None);
        assert_eq!(session_token(&headers).as_deref(), Some("tks_abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tok_key"),
        );
        assert_eq!(session_token(&headers), None, "an API key is not a session");
    }

    #[test]
    fn session_cookies_are_http_only_lax_and_secure() {
        let v = set_cookie(SESSION_COOKIE, "tks_x", "/", 60, true);
        let v = v.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
            assert!(v.contains(part), "{v}");
        }
        assert!(
            !set_cookie("c", "v", "/", 0, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let (token, stored) = new_session(std::time::Duration::from_secs(60));
        assert!(token.starts_with(SESSION_PREFIX) && stored.token_hash != token);
        assert!(new_principal_id().starts_with(PRINCIPAL_PREFIX));
    }
}
