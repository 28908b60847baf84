//! `GET /metrics` for Prometheus ([`crate::metrics`]): an admin key's by default, since it
//! names the routes served and counts requests, jobs and waits; open to anyone who can
//! reach the server with [`crate::ServeConfig::metrics_open`] (a scraper on a private
//! network), then limited per client address.

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use crate::auth::Principal;
use crate::connect::session::authenticate;
use crate::limits::{check_address, timeout};
use crate::metrics::{CONTENT_TYPE, Scrape};
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;

/// The route, behind the admin key or, when open, the per-address limit; under the
/// request timeout either way.
pub(crate) fn routes(state: &AppState, request_timeout: Duration) -> Router<AppState> {
    let timed = from_fn_with_state(request_timeout, timeout);
    if state.config().metrics_open {
        Router::new()
            .route("/metrics", get(open_metrics))
            .route_layer(timed)
            .route_layer(from_fn_with_state(state.clone(), limit_open))
    } else {
        Router::new()
            .route("/metrics", get(metrics))
            .route_layer(timed)
            .route_layer(from_fn_with_state(state.clone(), authenticate))
    }
}

#[derive(OpenApi)]
#[openapi(paths(metrics))]
pub(crate) struct Doc;

/// The server's metrics in the Prometheus text format 0.0.4 (admin only, unless the server
/// runs with `--metrics-open`): requests by route template, method and status (a counter
/// and a latency histogram), jobs by kind and state, job outcomes, platform waits, and the
/// database pool's connections.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 429, description = "An open `/metrics` asked too often from this address", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, Problem> {
    principal.require_admin()?;
    Ok(scrape(&state).await)
}

/// `/metrics` without a key ([`crate::ServeConfig::metrics_open`]).
async fn open_metrics(State(state): State<AppState>) -> Response {
    scrape(&state).await
}

/// 429 once a client address has scraped an open `/metrics` too often.
async fn limit_open(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(refused) = check_address(
        state.metrics_limiter(),
        request.extensions(),
        "scrapes of /metrics",
    ) {
        return refused.into_response();
    }
    next.run(request).await
}

/// Reads the job table's counts on a pooled connection (off the async threads) and writes
/// the exposition. A job table that cannot be read leaves its gauges out
/// (`toker_jobs_readable 0`) rather than the whole answer: the request numbers matter most
/// when the database is failing.
async fn scrape(state: &AppState) -> Response {
    // Taken before the scrape borrows a connection, so that it does not count itself.
    let pool = state.pool().usage();
    let jobs = match state.db(|store| Ok(store.count_jobs_by_kind()?)).await {
        Ok(jobs) => Some(jobs),
        Err(problem) => {
            tracing::warn!(error = %problem.detail, "metrics could not read the job table");
            None
        }
    };
    let body = state.metrics().render(&Scrape { jobs, pool });
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}
