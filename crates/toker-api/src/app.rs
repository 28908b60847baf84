//! The router: the routes of every module behind the shared layers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::connect::session::authenticate;
use crate::connect::{BodyLimits, limit_body};
use crate::limits::{client_addresses, timeout};
use crate::metrics::count_requests;
use crate::problem::{Problem, ProblemKind, problem_for_bare_errors};
use crate::routes::{admin, connect, health, insights, jobs, me, metrics, profiles};
use crate::state::AppState;

/// The header that carries each request's id (set if the client sent none, echoed back).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client request id kept; see [`keep_only_safe_request_id`].
const MAX_REQUEST_ID_LEN: usize = 64;

/// The API's router over `state`: `/v1/…` behind API-key authentication and the per-key
/// rate limit; `/healthz`, `/readyz` and `/openapi.json` open; `/metrics` an admin key's
/// unless `metrics_open`. Every request is counted for `/metrics` under its matched route
/// template, method and status. Every response carries an `x-request-id` (the client's if
/// it is 1 to 64 of `A-Z a-z 0-9 . _ -`, else a generated one); every error is
/// problem+json; bodies over the limit get 413; requests
/// over the timeout get 503; each request is logged (method, path, status, latency, key
/// id, request id — never the key itself or a body). `POST /v1/vectorize` is exempt from
/// the timeout: a refit of a large corpus takes as long as it takes.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let counted = Arc::clone(state.metrics());
    let timed = from_fn_with_state(config.request_timeout, timeout);
    let authenticated = Router::new()
        .merge(profiles::routes())
        .merge(insights::routes())
        .merge(admin::routes())
        .merge(me::routes())
        .merge(jobs::routes())
        .route_layer(timed.clone())
        .merge(admin::long_running_routes())
        .route_layer(from_fn_with_state(state.clone(), authenticate));
    let limits = BodyLimits::new(config.body_limit, state.connector().config().export_limit);
    let app = Router::new()
        .merge(health::routes().route_layer(timed))
        .merge(metrics::routes(&state, config.request_timeout))
        .merge(
            connect::routes(config.request_timeout)
                .layer(from_fn_with_state(state.clone(), crate::web::for_browsers)),
        )
        .merge(crate::web::routes(&state, config.request_timeout))
        .merge(authenticated)
        .fallback(unknown_route)
        .with_state(state);
    let layers = ServiceBuilder::new()
        .layer(from_fn_with_state(counted, count_requests))
        .map_request(keep_only_safe_request_id)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(from_fn_with_state(
            config.client_ip_header(),
            client_addresses,
        ))
        .option_layer(cors(&config.cors_origins))
        .layer(from_fn(problem_for_bare_errors))
        .layer(from_fn_with_state(limits, limit_body))
        .layer(RequestBodyLimitLayer::new(limits.ceiling()))
        .layer(DefaultBodyLimit::max(config.body_limit));
    app.layer(layers)
}

/// The operations router of a process that serves no API (`toker worker`): `/healthz`,
/// `/readyz` and `/metrics` (an admin key's unless `metrics_open`, as on a server), each
/// request counted and every error problem+json.
pub(crate) fn operations_router(state: AppState) -> Router {
    let config = state.config().clone();
    let counted = Arc::clone(state.metrics());
    let timed = from_fn_with_state(config.request_timeout, timeout);
    Router::new()
        .merge(health::routes().route_layer(timed))
        .merge(metrics::routes(&state, config.request_timeout))
        .fallback(unknown_route)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(counted, count_requests))
                .layer(from_fn_with_state(
                    config.client_ip_header(),
                    client_addresses,
                ))
                .layer(from_fn(problem_for_bare_errors))
                .layer(DefaultBodyLimit::max(config.body_limit)),
        )
}

async fn unknown_route(request: Request) -> Problem {
    Problem::new(
        ProblemKind::NotFound,
        format!(
            "no route {} {}; GET /openapi.json lists them",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Removes a client's `x-request-id` unless it is exactly one id of 1 to 64 characters
/// out of `A-Z a-z 0-9 . _ -`, so that the id layer generates one instead: the id is
/// logged and echoed, and a free-form one could forge log fields (newlines, quotes) or
/// bloat every log line.
fn keep_only_safe_request_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let mut ids = headers.get_all(&REQUEST_ID).iter();
    let safe = match (ids.next(), ids.next()) {
        (None, _) => return request,
        (Some(id), None) => is_safe_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !safe {
        headers.remove(&REQUEST_ID);
    }
    request
}

fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The span of a request: only the method, the path (no query: it may name people) and
/// the request id; the authentication layer adds the key id.
fn request_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
        key_id = tracing::field::Empty,
    )
}

fn log_response(response: &Response, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "response"
    );
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::LOCATION])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::is_safe_request_id;

    #[test]
    fn request_ids_are_plain_tokens_of_at_most_64_characters() {
        for ok in ["abc-123", "a", "A.b_c-9", &"x".repeat(64)] {
            assert!(is_safe_request_id(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "a b",
            "a\"b",
            "a\nb",
            "a=b",
            "é",
            "a/b",
        ] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad:?}");
        }
    }
}
