//! Authentication (`Authorization: Bearer <key>`) and the per-owner access rules.
//!
//! The principal of a request is its key: the key id owns the profiles the key creates.
//! A member reads, lists, replaces and deletes only its own profiles; any other id answers
//! 404 exactly as a missing one does, so that ids reveal nothing. An admin sees all.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::keys::{Role, parse_key};
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

    /// The owner filter for listing: `None` (all) for an admin, its own id for a member.
    #[must_use]
    pub fn owner_filter(&self) -> Option<String> {
        match self.role {
            Role::Admin => None,
            Role::Member => Some(self.key_id.clone()),
        }
    }

    /// 403 unless the principal is an admin.
    ///
    /// # Errors
    /// [`ProblemKind::Forbidden`] for a member.
    pub fn require_admin(&self) -> Result<(), Problem> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Member => Err(Problem::new(
                ProblemKind::Forbidden,
                "this operation needs an admin key",
            )),
        }
    }
}

/// Checks the bearer key, then the key's rate limit; puts the [`Principal`] in the
/// request's extensions for the handlers. Every failure is the same 401.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(key) = bearer(&request) else {
        return Problem::unauthenticated().into_response();
    };
    let Some((key_id, secret)) = parse_key(&key) else {
        return Problem::unauthenticated().into_response();
    };
    let (key_id, secret) = (key_id.to_owned(), secret.to_owned());
    drop(key);
    let principal = match state.verify_key(key_id, secret).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return Problem::unauthenticated().into_response(),
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
