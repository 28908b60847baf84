//! Probes for orchestrators (no key needed) and the OpenAPI document.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use utoipa::OpenApi;

use crate::dto::Health;
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi_json))
}

#[derive(OpenApi)]
#[openapi(paths(healthz, readyz, openapi_json), components(schemas(Health)))]
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
    })
}

/// The database answers: the server can take traffic.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    state
        .db(|store| {
            store.ping().map_err(|e| {
                tracing::warn!(error = %e, "readiness check failed");
                Problem::new(ProblemKind::Unavailable, "the database does not answer")
                    .with_retry_after(5)
            })
        })
        .await?;
    Ok(Json(Health {
        status: "ready".to_owned(),
        connect: Some(state.connector().status()),
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
