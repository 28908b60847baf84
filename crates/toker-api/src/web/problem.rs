//! Problems as pages: the API's problem (its title and detail, word for word, and every
//! violation) with what to do next. The status and the `Retry-After` and `Set-Cookie`
//! headers stay as the API set them.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::layout::{Frame, Visitor, page as frame_page};
use crate::connect::session::{cookie, set_cookie};
use crate::problem::{PROBLEM_BASE, PROBLEM_JSON, Problem, ProblemKind};
use crate::state::AppState;

/// Where a problem of a connect callback is shown to a browser.
pub(crate) const PROBLEM_PATH: &str = "/problem";
/// The cookie that carries it there (sealed; one minute, read once).
const PROBLEM_COOKIE: &str = "toker_problem";
/// The associated data it is sealed with.
const PROBLEM_CONTEXT: &str = "web-problem";

/// The largest problem body read back (they are a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// What a problem body says.
#[derive(Debug, Default, Deserialize)]
struct Said {
    #[serde(rename = "type", default)]
    type_uri: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    violations: Option<Vec<SaidViolation>>,
}

#[derive(Debug, Deserialize)]
struct SaidViolation {
    path: String,
    message: String,
}

/// A problem as it travels to [`PROBLEM_PATH`].
#[derive(Debug, Serialize, Deserialize)]
struct Carried {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// A callback's problem for a browser: `303` to [`PROBLEM_PATH`], the problem sealed in a
/// cookie (so that another site cannot make Toker show words of its own), the callback's
/// own cookies kept. Without the server key, the page is shown where it is.
pub(crate) async fn carry(state: &AppState, response: Response) -> Response {
    let Some(cipher) = state.connector().cipher() else {
        return page(response, Visitor::Anonymous).await;
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let carried = Carried {
        status: parts.status.as_u16(),
        retry_after: parts
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let text = serde_json::to_string(&carried).unwrap_or_default();
    let mut answer = super::see_other(PROBLEM_PATH);
    for value in parts.headers.get_all(header::SET_COOKIE) {
        answer
            .headers_mut()
            .append(header::SET_COOKIE, value.clone());
    }
    answer.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            PROBLEM_COOKIE,
            &cipher.seal_text(&text, PROBLEM_CONTEXT),
            PROBLEM_PATH,
            60,
            state.connector().secure_cookies(),
        ),
    );
    answer
}

/// `GET /problem`: the problem [`carry`] sent here, once (the page layer renders it).
pub(crate) async fn carried(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let carried = state.connector().cipher().and_then(|cipher| {
        let sealed = cookie(&headers, PROBLEM_COOKIE)?;
        let text = cipher.open_text(&sealed, PROBLEM_CONTEXT).ok()?;
        serde_json::from_str::<Carried>(text.expose()).ok()
    });
    let mut response = match carried {
        Some(c) => {
            let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut r = (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], c.body).into_response();
            if let Some(v) = c.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        None => Problem::new(
            ProblemKind::NotFound,
            "there is no problem to show here: a connect's problem is shown once, right after it",
        )
        .into_response(),
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            PROBLEM_COOKIE,
            "",
            PROBLEM_PATH,
            0,
            state.connector().secure_cookies(),
        ),
    );
    response
}

/// `response` (a problem, or a bare error status) as its page, framed for `visitor` (as
/// [`Visitor::Anonymous`] when the problem is that the session is not valid).
pub(crate) async fn page(response: Response, visitor: Visitor) -> Response {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let mut said: Said = serde_json::from_slice(&bytes).unwrap_or_default();
    let kind = ProblemKind::ALL
        .into_iter()
        .find(|k| said.type_uri.strip_prefix(PROBLEM_BASE) == Some(k.slug()))
        .unwrap_or_else(|| ProblemKind::from_status(status));
    if said.title.is_empty() {
        kind.title().clone_into(&mut said.title);
    }
    if said.detail.is_empty() {
        said.detail = status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_owned();
    }
    let retry_after = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let visitor = if kind == ProblemKind::Unauthenticated {
        Visitor::Anonymous
    } else {
        visitor
    };
    let markup = render(kind, &said, retry_after, visitor);
    let mut answer = (status, axum::response::Html(markup.into_string())).into_response();
    for name in [header::RETRY_AFTER, header::SET_COOKIE] {
        for value in parts.headers.get_all(&name) {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    if status == StatusCode::UNAUTHORIZED {
        answer
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    answer
}

fn render(kind: ProblemKind, said: &Said, retry_after: Option<u64>, visitor: Visitor) -> Markup {
    let frame = Frame {
        signed_in: visitor == Visitor::SignedIn,
        csrf: None,
        look_again: None,
    };
    let body = html! {
        div.panel.problem role="alert" {
            p { (said.detail) }
            @if let Some(violations) = said.violations.as_ref().filter(|v| !v.is_empty()) {
                p { "What Toker checked:" }
                ul {
                    @for v in violations {
                        li { code { (v.path) } ": " (v.message) }
                    }
                }
            }
        }
        h2 { "What to do next" }
        (next_steps(kind, &said.detail, retry_after))
        p.muted { "Problem type: " code { (kind.slug()) } }
    };
    frame_page(frame, &said.title, body)
}

/// What the person can do about a problem of `kind`.
fn next_steps(kind: ProblemKind, detail: &str, retry_after: Option<u64>) -> Markup {
    let too_few_likes = detail.contains("likes you gave");
    // The API said the export itself shows too few: another export will not help.
    let export_too_few = too_few_likes && detail.contains("export shows fewer");
    html! {
        ul {
            @match kind {
                ProblemKind::ConsentDenied => {
                    li { "Nothing was stored. To connect, go back to the " a href="/" { "start page" }
                         " and approve the access on the platform's page." }
                    li { "Or upload your data export instead: " a href="/#upload" { "Upload your data export" } "." }
                }
                ProblemKind::Validation if export_too_few => {
                    li { "Like more posts on that platform and upload a newer export later, or "
                         a href="/" { "connect another platform" } "." }
                }
                ProblemKind::Validation if too_few_likes => {
                    li { "Upload your data export, which shows every like you gave: "
                         a href="/#upload" { "Upload your data export" } "." }
                    li { "Or " a href="/" { "connect another platform" } "." }
                }
                ProblemKind::Validation | ProblemKind::PayloadTooLarge | ProblemKind::UnsupportedMediaType => {
                    li { "Check that you chose the .zip file exactly as the platform gave it (not unpacked, not renamed from another format), and that it is from the platform you picked." }
                    li { a href="/#upload" { "Upload your data export again" } "." }
                }
                ProblemKind::RateLimited | ProblemKind::Unavailable | ProblemKind::Timeout => {
                    li {
                        @if let Some(seconds) = retry_after {
                            "Wait " (seconds) " second" @if seconds != 1 { "s" } ", then try again."
                        } @else {
                            "Wait a moment, then try again."
                        }
                    }
                    li { a href="/" { "Back to the start page" } }
                }
                ProblemKind::Unauthenticated => {
                    li { "Sign in by connecting an account or uploading a data export on the "
                         a href="/" { "start page" } "." }
                }
                ProblemKind::ConnectState | ProblemKind::CodeRejected => {
                    li { "Start again from the " a href="/" { "start page" } "; each connect link works once and for a few minutes." }
                }
                _ => {
                    li { a href="/" { "Back to the start page" } }
                    li { a href="/me" { "Your page" } " (if you are signed in)" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_pages_escape_what_the_platform_said() {
        let said = Said {
            type_uri: ProblemKind::ConsentDenied.type_uri(),
            title: ProblemKind::ConsentDenied.title().to_owned(),
            detail: "X says access was not granted (access_denied: <script>alert(1)</script>)"
                .to_owned(),
            violations: None,
        };
        let page =
            render(ProblemKind::ConsentDenied, &said, None, Visitor::Anonymous).into_string();
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("Access not granted"), "{page}");
        assert!(page.contains("approve the access"), "{page}");
    }
}
