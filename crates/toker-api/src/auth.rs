//! Authentication (`Authorization: Bearer <key>`) and the per-owner access rules.
//!
//! The principal of a request is its key: the key id owns the profiles the key creates.
//! A member reads, lists, replaces and deletes only its own profiles; any other id answers
//! 404 exactly as a missing one does, so that ids reveal nothing. An admin sees all.
//! A session (a person who connected an account or uploaded an export) is a principal of
//! its own role, [`Role::Session`]: it reads, refreshes, exports and erases only its own
//! data, and gets 403 on every route that takes a [`KeyPrincipal`] (creating, replacing or
//! generating profiles, server-wide numbers, refits).
//!
//! Failed sign-ins are metered per client address before any database work: an address
//! that used up its budget of failures gets 429 at once, unless its credential is one this
//! server verified before (so a neighbour's flood does not lock out a working key).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::keys::{Role, parse_key};
use crate::limits::client_address;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// Who is calling: the key's id and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key id; also the owner of the profiles this key creates.
    pub key_id: String,
    /// What the key may do.
    pub role: Role,
}

impl Principal {
    /// Whether this principal may see a profile with `owner`.
    #[must_use]
    pub fn can_access(&self, owner: Option<&str>) -> bool {
        self.role == Role::Admin || owner == Some(self.key_id.as_str())
    }

    /// The owner filter for listing: `None` (all) for an admin, its own id for a member
    /// or a session.
    #[must_use]
    pub fn owner_filter(&self) -> Option<String> {
        match self.role {
            Role::Admin => None,
            Role::Member | Role::Session => Some(self.key_id.clone()),
        }
    }

    /// 403 unless the principal is an admin.
    ///
    /// # Errors
    /// [`ProblemKind::Forbidden`] for a member or a session.
    pub fn require_admin(&self) -> Result<(), Problem> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Member | Role::Session => Err(Problem::new(
                ProblemKind::Forbidden,
                "this operation needs an admin key",
            )),
        }
    }

    /// 403 for a session: the operation needs an API key (admin or member).
    ///
    /// # Errors
    /// [`ProblemKind::Forbidden`] for a session.
    pub fn require_key(&self) -> Result<(), Problem> {
        match self.role {
            Role::Admin | Role::Member => Ok(()),
            Role::Session => Err(Problem::new(
                ProblemKind::Forbidden,
                "a signed-in person may only see, refresh, export and erase their own data \
                 (GET /v1/me, GET /v1/profiles, POST /v1/me/refresh, GET /v1/me/export, \
                 DELETE /v1/me); this operation needs an API key",
            )),
        }
    }
}

/// The principal of a request made with an API key (admin or member). Routes that create,
/// replace or generate profiles or read server-wide numbers take it, so a session gets 403
/// before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPrincipal(pub(crate) Principal);

impl<S: Send + Sync> FromRequestParts<S> for KeyPrincipal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require_key()?;
        Ok(KeyPrincipal(principal))
    }
}

/// 429 before any database work when `client` has used up its budget of failed sign-ins,
/// unless `remembered` (the credential was verified before by this server).
pub(crate) fn check_failure_budget(
    state: &AppState,
    client: &str,
    remembered: bool,
) -> Result<(), Problem> {
    if remembered {
        return Ok(());
    }
    state.auth_failures().peek(client).map_err(|retry_after| {
        let limit = state.config().auth_failures_per_minute.unwrap_or_default();
        Problem::new(
            ProblemKind::RateLimited,
            format!(
                "too many failed sign-ins from this address (the limit is {limit} per minute); try again later"
            ),
        )
        .with_retry_after(retry_after)
    })
}

/// Counts one failed sign-in (missing, malformed, unknown or wrong credential) of `client`.
pub(crate) fn record_failure(state: &AppState, client: &str) {
    let _ = state.auth_failures().check(client);
}

/// Checks the client address's failure budget, then the bearer key, then the key's rate
/// limit; puts the [`Principal`] in the request's extensions for the handlers. Every
/// failure is the same 401 (or 429 once the address used up its failures).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = client_address(request.extensions());
    let key = bearer(&request);
    let parsed = key.as_deref().and_then(parse_key);
    let remembered = parsed.is_some_and(|(id, secret)| state.keys().remembers(id, secret));
    if let Err(refused) = check_failure_budget(&state, &client, remembered) {
        return refused.into_response();
    }
    let Some((key_id, secret)) = parsed.map(|(id, s)| (id.to_owned(), s.to_owned())) else {
        record_failure(&state, &client);
        return Problem::unauthenticated().into_response();
    };
    drop(key);
    let principal = match state.verify_key(key_id, secret).await {
        Ok(Some(principal)) => principal,
        Ok(None) => {
            record_failure(&state, &client);
            return Problem::unauthenticated().into_response();
        }
        Err(problem) => return problem.into_response(),
    };
    tracing::Span::current().record("key_id", principal.key_id.as_str());
    if let Err(retry_after) = state.rate_limiter().check(&principal.key_id) {
        return Problem::new(
            ProblemKind::RateLimited,
            "this key has used up its requests for now",
        )
        .with_retry_after(retry_after)
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(Problem::unauthenticated)
    }
}
