//! CSRF protection of the page forms: a signed double-submit token. The browser holds a
//! random value in the `HttpOnly; SameSite=Lax` cookie [`CSRF_COOKIE`]; every form that
//! changes something carries it sealed under the server key (XChaCha20-Poly1305, bound to
//! [`CONTEXT`]) in its [`CSRF_FIELD`] field. A request is served only when the field opens
//! to the cookie's value: another site can neither read the cookie nor make a token
//! without the key, and a cookie planted from elsewhere has no token that matches it.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;

use crate::connect::crypto::random_token;
use crate::connect::session::{Session, cookie, set_cookie};
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// The cookie that holds this browser's CSRF value.
pub(crate) const CSRF_COOKIE: &str = "toker_csrf";
/// The form field that carries the token.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// The associated data the token is sealed with.
const CONTEXT: &str = "web-csrf";
/// Random characters of the cookie's value.
const VALUE_LEN: usize = 32;
/// How long the cookie lasts (a page open longer asks to be reloaded).
const MAX_AGE_SECS: u64 = 12 * 3600;

/// This browser's CSRF value and a token for the page's forms.
#[derive(Debug)]
pub(crate) struct Csrf {
    value: String,
    token: String,
    fresh: bool,
    secure: bool,
}

impl Csrf {
    /// The token to put in a form's [`CSRF_FIELD`].
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Sets the cookie on `response` when it was made for this page.
    pub(crate) fn set_cookie(&self, response: &mut Response) {
        if self.fresh {
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(CSRF_COOKIE, &self.value, "/", MAX_AGE_SECS, self.secure),
            );
        }
    }
}

impl FromRequestParts<AppState> for Csrf {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let held = cookie(&parts.headers, CSRF_COOKIE).filter(|v| well_formed(v));
        let fresh = held.is_none();
        let value = held.unwrap_or_else(|| random_token(VALUE_LEN));
        let token = match state.connector().cipher() {
            Some(cipher) => cipher.seal_text(&value, CONTEXT),
            // Without the server key nothing can be signed in or uploaded; a plain
            // double-submit still stops a form from another site.
            None => value.clone(),
        };
        Ok(Csrf {
            value,
            token,
            fresh,
            secure: state.connector().secure_cookies(),
        })
    }
}

fn well_formed(value: &str) -> bool {
    value.len() == VALUE_LEN && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Refuses a form whose token is missing or does not open to this browser's cookie.
pub(crate) fn check(
    state: &AppState,
    headers: &HeaderMap,
    sent: Option<&str>,
) -> Result<(), Problem> {
    let held = cookie(headers, CSRF_COOKIE).filter(|v| well_formed(v));
    let sent = sent.map(str::trim).filter(|s| !s.is_empty());
    let matches = match (held, sent) {
        (Some(held), Some(sent)) => match state.connector().cipher() {
            Some(cipher) => cipher
                .open_text(sent, CONTEXT)
                .is_ok_and(|opened| opened.expose() == held),
            None => sent == held,
        },
        _ => false,
    };
    if matches { Ok(()) } else { Err(refused()) }
}

/// The answer to a form without a valid token.
pub(crate) fn refused() -> Problem {
    Problem::new(
        ProblemKind::BadRequest,
        "this form's safety token is missing or does not belong to this browser (the page \
         was open for a long time, cookies are blocked, or the form came from another site); \
         nothing was changed: reload the page and try again",
    )
}

/// The form body of the small forms (a token and nothing else).
#[derive(Debug, serde::Deserialize)]
struct TokenForm {
    /// The [`CSRF_FIELD`].
    csrf: Option<String>,
}

/// A small form (`application/x-www-form-urlencoded`, a token and nothing else) whose
/// token was checked: as an extractor it refuses the request otherwise.
#[derive(Debug)]
pub(crate) struct CheckedForm;

impl FromRequest<AppState> for CheckedForm {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Problem> {
        let headers = request.headers().clone();
        let sent = Form::<TokenForm>::from_request(request, state)
            .await
            .ok()
            .and_then(|Form(form)| form.csrf);
        check(state, &headers, sent.as_deref())?;
        Ok(CheckedForm)
    }
}

/// A signed-in person's small form, its token checked: their session and this page's
/// CSRF token (for the page the answer shows).
#[derive(Debug)]
pub(crate) struct SignedInForm {
    pub(crate) session: Session,
    pub(crate) csrf: Csrf,
}

impl FromRequest<AppState> for SignedInForm {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Problem> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let csrf = Csrf::from_request_parts(&mut parts, state).await?;
        CheckedForm::from_request(Request::from_parts(parts, body), state).await?;
        Ok(SignedInForm { session, csrf })
    }
}
