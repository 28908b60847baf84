//! Probes for orchestrators (no key needed) and the OpenAPI document.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use utoipa::OpenApi;

use crate::dto::{Health, QueueStatus};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi_json))
}

#[derive(OpenApi)]
#[openapi(
    paths(healthz, readyz, openapi_json),
    components(schemas(Health, QueueStatus))
)]
pub(crate) struct Doc;

/// The process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "Alive", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        connect: None,
        queue: None,
    })
}

/// The database answers and its job table can be read: the server can take traffic. Tells
/// which platforms people can connect and how many jobs are queued, running and dead.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer, or its job table cannot be read", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    let counts = state
        .db(|store| {
            store
                .ping()
                .and_then(|()| store.count_jobs(None))
                .map_err(|e| {
                    tracing::warn!(error = %e, "readiness check failed");
                    Problem::new(
                        ProblemKind::Unavailable,
                        "the database does not answer, or its job table cannot be read",
                    )
                    .with_retry_after(5)
                })
        })
        .await?;
    Ok(Json(Health {
        status: "ready".to_owned(),
        connect: Some(state.connector().status()),
        queue: Some(QueueStatus {
            queued: counts.queued,
            running: counts.running,
            dead: counts.dead,
        }),
    }))
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub(crate) async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::openapi_for(state.rules()))
}
