//! The web pages for people: the reference client of the API, rendered by the server with
//! `maud` (compiled templates that escape everything they insert) over the same library
//! calls the API handlers make, mounted by the same router. No JavaScript; one stylesheet,
//! embedded in the binary and served at [`STYLESHEET_PATH`].
//!
//! - `/` ([`start`]): what Toker keeps, why, how long and how to erase it; one "Connect
//!   with …" link per platform enabled here (as `/readyz` reports) and an export upload
//!   form per platform, with the steps to get the archive.
//! - `/me` ([`me`]): the connected accounts, the profile summary with its top categories
//!   and hashtags as an SVG chart ([`chart`]), and the actions: refresh, download
//!   (`/v1/me/export`), erase (confirmed at `/me/erase`) and sign out.
//! - `/me/matches` ([`matches`]): the people most like the person (public match fields).
//! - `POST /upload/{platform}` ([`upload`]): a data export sent as a form, then `/me`.
//!
//! Every answer of these routes carries a Content-Security-Policy without inline scripts or
//! styles, and every state-changing form a CSRF token ([`csrf`]). A problem the API
//! would answer as `application/problem+json` becomes a page with the same title and
//! detail and what to do next ([`problem`]); the connect start and callback do the same
//! for a browser (one that asks for `text/html`), and a callback that signed the person in
//! sends the browser on to `/me` (one that failed, to `/problem`), so no code or state
//! stays in the address bar.
//! Sessions are the cookie the connect flow sets, with the session role's limits: the
//! `/me` pages go through the same authentication as `/v1/me`.

mod chart;
pub(crate) mod csrf;
mod layout;
mod matches;
mod me;
mod problem;
mod start;
mod upload;

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::connect::session::authenticate;
use crate::limits::timeout;
use crate::problem::is_problem;
use crate::state::AppState;

/// Where the stylesheet is served (one fixed path; its content is in the binary).
pub(crate) const STYLESHEET_PATH: &str = "/assets/toker.css";

/// The stylesheet, embedded at compile time.
const STYLESHEET: &str = include_str!("toker.css");

/// The Content-Security-Policy of every page: nothing but this origin's stylesheet and
/// images, forms only to this origin, no scripts at all, no framing.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page routes: `/`, the stylesheet and the upload open (signing in is what an
/// upload may do), the `/me` pages behind the session authentication of `/v1/me`.
pub(crate) fn routes(state: &AppState, request_timeout: Duration) -> Router<AppState> {
    let timed = from_fn_with_state(request_timeout, timeout);
    let signed_in = Router::new()
        .route("/me", get(me::page))
        .route("/me/matches", get(matches::page))
        .route("/me/erase", get(me::confirm_erase).post(me::erase))
        .route("/me/refresh", post(me::refresh))
        .route("/me/jobs/{id}", get(me::job))
        .route("/me/sign-out", post(me::sign_out))
        .route_layer(from_fn_with_state(state.clone(), authenticate));
    let upload_timeout = request_timeout.max(crate::routes::connect::UPLOAD_TIMEOUT);
    Router::new()
        .route("/", get(start::page))
        .route(STYLESHEET_PATH, get(stylesheet))
        .route(problem::PROBLEM_PATH, get(problem::carried))
        .merge(signed_in)
        .route_layer(timed)
        .merge(
            Router::new()
                .route("/upload/{platform}", post(upload::upload))
                .route_layer(from_fn_with_state(upload_timeout, timeout)),
        )
        .layer(from_fn(pages))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The layer of every page route: a problem becomes its page, and every answer gets the
/// page security headers.
async fn pages(request: Request, next: Next) -> Response {
    let visitor = visitor(request.headers());
    let response = next.run(request).await;
    let mut response = if is_problem(&response) || is_bare_error(&response) {
        problem::page(response, visitor).await
    } else {
        response
    };
    secure(response.headers_mut());
    response
}

/// The layer of the connect start and callback: for a browser (a `GET` that asks for
/// `text/html`), a problem becomes its page and a callback that connected the account
/// goes on to `/me` (keeping the session cookie it sets); API clients see no change.
pub(crate) async fn for_browsers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let browser = request.method() == Method::GET && wants_html(request.headers());
    let callback = request.uri().path().ends_with("/callback");
    let visitor = visitor(request.headers());
    let response = next.run(request).await;
    if !browser {
        return response;
    }
    let mut response = if callback && is_problem(&response) {
        // Shown at /problem, so that the callback's address (its code and state) goes.
        problem::carry(&state, response).await
    } else if is_problem(&response) {
        problem::page(response, visitor).await
    } else if callback && response.status().is_success() {
        see_other_keeping_cookies("/me", &response)
    } else {
        return response;
    };
    secure(response.headers_mut());
    response
}

/// `303 See Other` to `location`, with the `Set-Cookie` headers of `from`.
pub(crate) fn see_other_keeping_cookies(location: &'static str, from: &Response) -> Response {
    let mut response = see_other(location);
    for cookie in from.headers().get_all(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// `303 See Other` to `location` (after a form: the browser then loads it with `GET`).
pub(crate) fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The headers every page carries: the policy, no sniffing, no referrer (a page's address
/// never leaves it), no framing, and no caching of what may be personal.
fn secure(headers: &mut HeaderMap) {
    let html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if html {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Whether the request asks for HTML by name (a browser's navigation does; `*/*` does not).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// Who the request is from by whether it carries a session cookie (not checked: for the
/// navigation shown).
fn visitor(headers: &HeaderMap) -> layout::Visitor {
    if crate::connect::session::cookie(headers, crate::connect::SESSION_COOKIE).is_some() {
        layout::Visitor::SignedIn
    } else {
        layout::Visitor::Anonymous
    }
}

/// An error status without a problem body (from an extractor or a layer).
fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error()) && !is_page(response)
}

/// Whether `response` is a page (an error page is one too: it is not turned into
/// problem+json).
pub(crate) fn is_page(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// A page of a signed-in person (their navigation and sign-out form in the frame).
pub(crate) fn signed_in_page(title: &str, body: maud::Markup, csrf: &csrf::Csrf) -> Response {
    following_page(title, body, csrf, None)
}

/// [`signed_in_page`] that the browser loads again after `look_again` seconds, if given
/// (a page that follows work under way, without a script).
pub(crate) fn following_page(
    title: &str,
    body: maud::Markup,
    csrf: &csrf::Csrf,
    look_again: Option<u32>,
) -> Response {
    let frame = layout::Frame {
        signed_in: true,
        csrf: Some(csrf.token()),
        look_again,
    };
    html(StatusCode::OK, layout::page(frame, title, body), csrf)
}

/// A page as the answer: HTML, with the CSRF cookie when it was made for this page.
pub(crate) fn html(status: StatusCode, markup: maud::Markup, csrf: &csrf::Csrf) -> Response {
    let mut response = (status, axum::response::Html(markup.into_string())).into_response();
    csrf.set_cookie(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_navigations_that_name_html_are_browsers() {
        let mut headers = HeaderMap::new();
        assert!(!wants_html(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!wants_html(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert!(wants_html(&headers));
    }

    #[test]
    fn the_policy_allows_no_script_and_no_inline_style() {
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        secure(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    }
}
