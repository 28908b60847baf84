//! The router: the routes of every module behind the shared layers.

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
use crate::problem::{Problem, ProblemKind, problem_for_bare_errors};
use crate::routes::{admin, connect, health, insights, me, profiles};
use crate::state::AppState;

/// The header that carries each request's id (set if the client sent none, echoed back).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The API's router over `state`: `/v1/…` behind API-key authentication and the per-key
/// rate limit; `/healthz`, `/readyz` and `/openapi.json` open. Every response carries an
/// `x-request-id`; every error is problem+json; bodies over the limit get 413; requests
/// over the timeout get 503; each request is logged (method, path, status, latency, key
/// id, request id — never the key itself or a body). `POST /v1/vectorize` is exempt from
/// the timeout: a refit of a large corpus takes as long as it takes.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let timed = from_fn_with_state(config.request_timeout, timeout);
    let authenticated = Router::new()
        .merge(profiles::routes())
        .merge(insights::routes())
        .merge(admin::routes())
        .merge(me::routes())
        .route_layer(timed.clone())
        .merge(admin::long_running_routes())
        .route_layer(from_fn_with_state(state.clone(), authenticate));
    let limits = BodyLimits::new(config.body_limit, state.connector().config().export_limit);
    let app = Router::new()
        .merge(health::routes().route_layer(timed))
        .merge(connect::routes(config.request_timeout))
        .merge(authenticated)
        .fallback(unknown_route)
        .with_state(state);
    let layers = ServiceBuilder::new()
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
