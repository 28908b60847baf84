//! Error responses as `application/problem+json` (RFC 9457): a stable `type` URI per kind
//! of problem, a `title`, the `status`, a human `detail` and, for validation, every
//! violation with its field path.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use toker_model::Violation;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where the problem `type` URIs live; each kind appends its slug.
pub const PROBLEM_BASE: &str = "https://toker-dev.github.io/toker/problems/";

/// The kinds of problem the API answers with. Each has a stable `type` URI
/// ([`PROBLEM_BASE`] + [`ProblemKind::slug`]), a title and an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A query or path parameter is not what the route expects.
    BadRequest,
    /// The body is not well-formed JSON (or JSON Lines).
    MalformedJson,
    /// The body is JSON but breaks the profile rules; `violations` lists each one.
    Validation,
    /// The request carries no valid API key (missing, unknown, wrong or revoked alike).
    Unauthenticated,
    /// The key is valid but its role may not do this (e.g. a member asking to vectorize).
    Forbidden,
    /// No such resource, or not one the caller may see.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The write conflicts with stored data (e.g. the platform and user id are taken).
    Conflict,
    /// Matching needs vectors that have not been computed yet.
    NotVectorized,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body's content type is not one the route reads.
    UnsupportedMediaType,
    /// The key sent more requests than its rate limit allows; see `Retry-After`.
    RateLimited,
    /// The request took longer than the server's timeout.
    Timeout,
    /// The database is busy or unreachable; try again later.
    Unavailable,
    /// Something failed on the server; the logs say what, under the request id.
    Internal,
    /// A connect callback whose `state` is missing, unknown, used, expired or was started
    /// in another browser: start the connect again.
    ConnectState,
    /// The person did not grant access on the platform's consent page.
    ConsentDenied,
    /// The platform refused the authorization code (expired, used): connect again.
    CodeRejected,
    /// The platform failed or refused Toker while connecting an account.
    PlatformUnavailable,
    /// Connecting with this platform (or at all) is not enabled on this server.
    ConnectDisabled,
}

impl ProblemKind {
    /// Every kind, for documentation and tests.
    pub const ALL: [ProblemKind; 20] = [
        ProblemKind::BadRequest,
        ProblemKind::MalformedJson,
        ProblemKind::Validation,
        ProblemKind::Unauthenticated,
        ProblemKind::Forbidden,
        ProblemKind::NotFound,
        ProblemKind::MethodNotAllowed,
        ProblemKind::Conflict,
        ProblemKind::NotVectorized,
        ProblemKind::PayloadTooLarge,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::RateLimited,
        ProblemKind::Timeout,
        ProblemKind::Unavailable,
        ProblemKind::Internal,
        ProblemKind::ConnectState,
        ProblemKind::ConsentDenied,
        ProblemKind::CodeRejected,
        ProblemKind::PlatformUnavailable,
        ProblemKind::ConnectDisabled,
    ];

    /// The last segment of the `type` URI, e.g. `validation`.
    #[must_use]
    pub const fn slug(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "bad-request",
            ProblemKind::MalformedJson => "malformed-json",
            ProblemKind::Validation => "validation",
            ProblemKind::Unauthenticated => "unauthenticated",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::Conflict => "conflict",
            ProblemKind::NotVectorized => "not-vectorized",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::RateLimited => "rate-limited",
            ProblemKind::Timeout => "timeout",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::Internal => "internal",
            ProblemKind::ConnectState => "connect-state",
            ProblemKind::ConsentDenied => "consent-denied",
            ProblemKind::CodeRejected => "code-rejected",
            ProblemKind::PlatformUnavailable => "platform-unavailable",
            ProblemKind::ConnectDisabled => "connect-disabled",
        }
    }

    /// The stable `type` URI of this kind: [`PROBLEM_BASE`] and the kind's slug.
    #[must_use]
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }

    /// A short, fixed summary of the kind.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "Bad request parameter",
            ProblemKind::MalformedJson => "Malformed JSON",
            ProblemKind::Validation => "Invalid profile",
            ProblemKind::Unauthenticated => "Authentication required",
            ProblemKind::Forbidden => "Not allowed for this key's role",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::Conflict => "Conflict with stored data",
            ProblemKind::NotVectorized => "Vectors not computed yet",
            ProblemKind::PayloadTooLarge => "Request body too large",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::RateLimited => "Too many requests",
            ProblemKind::Timeout => "Request timed out",
            ProblemKind::Unavailable => "Service unavailable",
            ProblemKind::Internal => "Internal server error",
            ProblemKind::ConnectState => "Connect link not valid",
            ProblemKind::ConsentDenied => "Access not granted",
            ProblemKind::CodeRejected => "Authorization code refused",
            ProblemKind::PlatformUnavailable => "Platform failed",
            ProblemKind::ConnectDisabled => "Connecting not enabled",
        }
    }

    /// The HTTP status every problem of this kind answers with.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadRequest
            | ProblemKind::MalformedJson
            | ProblemKind::ConnectState
            | ProblemKind::CodeRejected => StatusCode::BAD_REQUEST,
            ProblemKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden | ProblemKind::ConsentDenied => StatusCode::FORBIDDEN,
            ProblemKind::NotFound | ProblemKind::ConnectDisabled => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::Conflict | ProblemKind::NotVectorized => StatusCode::CONFLICT,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Timeout | ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::PlatformUnavailable => StatusCode::BAD_GATEWAY,
        }
    }

    /// The kind for a bare error status produced outside the handlers (by axum or a
    /// tower layer), so that every error the API sends is problem+json.
    #[must_use]
    pub fn from_status(status: StatusCode) -> ProblemKind {
        match status {
            StatusCode::UNAUTHORIZED => ProblemKind::Unauthenticated,
            StatusCode::FORBIDDEN => ProblemKind::Forbidden,
            StatusCode::NOT_FOUND => ProblemKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemKind::MethodNotAllowed,
            StatusCode::CONFLICT => ProblemKind::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemKind::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemKind::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ProblemKind::Validation,
            StatusCode::TOO_MANY_REQUESTS => ProblemKind::RateLimited,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ProblemKind::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => ProblemKind::Unavailable,
            StatusCode::BAD_GATEWAY => ProblemKind::PlatformUnavailable,
            s if s.is_client_error() => ProblemKind::BadRequest,
            _ => ProblemKind::Internal,
        }
    }
}

/// One broken rule in a [`Problem`]: the field path and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProblemViolation {
    /// The field path, e.g. `liked_videos[3].likes`; `$` for the whole document.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl From<Violation> for ProblemViolation {
    fn from(v: Violation) -> Self {
        ProblemViolation {
            path: v.path,
            message: v.message,
        }
    }
}

/// An error response: rendered as `application/problem+json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// What kind of problem (type URI, title, status).
    pub kind: ProblemKind,
    /// What went wrong in this request, for a human.
    pub detail: String,
    /// For [`ProblemKind::Validation`]: every violation with its path.
    pub violations: Vec<ProblemViolation>,
    /// Seconds after which retrying makes sense (`Retry-After`).
    pub retry_after: Option<u64>,
}

/// The JSON body of a [`Problem`], as documented in the OpenAPI description.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code, repeated in the body as RFC 9457 has it.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// For validation problems: every violation with its field path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<ProblemViolation>>,
}

impl Problem {
    /// A problem of `kind` with a detail.
    #[must_use]
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            detail: detail.into(),
            violations: Vec::new(),
            retry_after: None,
        }
    }

    /// A validation problem listing every violation.
    #[must_use]
    pub fn validation(detail: impl Into<String>, violations: Vec<Violation>) -> Self {
        Problem {
            violations: violations.into_iter().map(ProblemViolation::from).collect(),
            ..Problem::new(ProblemKind::Validation, detail)
        }
    }

    /// 401 with no hint about which part of the credentials failed.
    #[must_use]
    pub fn unauthenticated() -> Self {
        Problem::new(
            ProblemKind::Unauthenticated,
            "send a valid API key as `Authorization: Bearer <key>`",
        )
    }

    /// 404 for a profile id that does not exist or is not the caller's (the same answer
    /// either way, so that ids do not reveal other people's profiles).
    #[must_use]
    pub fn profile_not_found(id: i64) -> Self {
        Problem::new(ProblemKind::NotFound, format!("no profile with id {id}"))
    }

    /// Sets `Retry-After`.
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The body as sent.
    #[must_use]
    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            type_uri: self.kind.type_uri(),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            violations: (self.kind == ProblemKind::Validation).then(|| self.violations.clone()),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.title(), self.detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.kind == ProblemKind::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Whether a response already carries a problem+json body.
pub(crate) fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// Turns the bare error responses that axum and tower layers produce (405, 413 from the
/// body limit, …) into problem+json, keeping their headers (e.g. `Allow`); a page (an error
/// page of [`crate::web`]) stays a page.
pub(crate) async fn problem_for_bare_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_problem(&response)
        || crate::web::is_page(&response)
    {
        return response;
    }
    let kind = ProblemKind::from_status(status);
    let detail = match kind {
        ProblemKind::MethodNotAllowed => {
            let allow = response
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            format!("this route does not accept that method; allowed: {allow}")
        }
        ProblemKind::PayloadTooLarge => "the request body exceeds the server's limit".to_owned(),
        ProblemKind::Timeout => "the request took longer than the server's timeout".to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    };
    let mut problem = Problem::new(kind, detail).into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !problem.headers().contains_key(name)
        {
            problem.headers_mut().append(name.clone(), value.clone());
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_slug_and_an_error_status() {
        let mut slugs: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        for kind in ProblemKind::ALL {
            assert!(kind.status().as_u16() >= 400, "{kind:?}");
            assert!(kind.type_uri().starts_with("https://"), "{kind:?}");
        }
    }

    #[test]
    fn bare_statuses_map_back_to_their_kind() {
        for kind in ProblemKind::ALL {
            let back = ProblemKind::from_status(kind.status());
            assert_eq!(back.status(), kind.status(), "{kind:?}");
        }
    }

    #[test]
    fn validation_bodies_list_violations_and_others_do_not() {
        let p = Problem::validation(
            "profile rejected",
            vec![Violation {
                path: "number_of_likes".into(),
                message: "must be at least 100, got 5".into(),
            }],
        );
        let body = serde_json::to_value(p.body()).unwrap();
        assert_eq!(body["status"], 422);
        assert_eq!(body["violations"][0]["path"], "number_of_likes");
        let body = serde_json::to_value(Problem::unauthenticated().body()).unwrap();
        assert!(body.get("violations").is_none());
        assert_eq!(body["type"], format!("{PROBLEM_BASE}unauthenticated"));
    }
}
