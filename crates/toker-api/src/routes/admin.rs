//! Operating the corpus: refitting the vectors (admin) and the database's numbers.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use toker_processing::VectorizerConfig;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Principal;
use crate::dto::StatsResponse;
use crate::extract::JsonBytes;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use toker_collect::vectorize_store;

crate::openapi::problem_response!(NotAnAdmin, 403, "The key is not an admin's");

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/stats", get(stats))
}

/// Routes that may run longer than the request timeout.
pub(crate) fn long_running_routes() -> Router<AppState> {
    Router::new().route("/v1/vectorize", post(vectorize))
}

#[derive(OpenApi)]
#[openapi(
    paths(vectorize, stats),
    components(schemas(VectorizeRequest, VectorizeReport, StatsResponse))
)]
pub(crate) struct Doc;

/// Settings of a refit; every field is optional (the body too).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VectorizeRequest {
    /// Keep a feature only if at least this many profiles carry it (default 2).
    #[schema(minimum = 1, maximum = 4_294_967_295_u32)]
    min_df: Option<u32>,
    /// Keep at most this many features (default: the vectorizer's).
    #[schema(minimum = 1, maximum = 4_294_967_295_u32)]
    max_features: Option<u32>,
}

/// What a refit did ([`toker_collect::VectorizeReport`]).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VectorizeReport {
    /// How many profiles the vocabulary was fitted on: those others may see (unproven
    /// uploads get a vector but do not shape the vocabulary).
    profiles: u64,
    /// How many features the vocabulary kept.
    features: u64,
    /// The version of the vocabulary just fitted, stored with every new vector.
    vocabulary_version: String,
}

impl From<toker_collect::VectorizeReport> for VectorizeReport {
    fn from(r: toker_collect::VectorizeReport) -> Self {
        VectorizeReport {
            profiles: r.profiles,
            features: r.features,
            vocabulary_version: r.vocabulary_version,
        }
    }
}

/// Refits the vocabulary over every stored profile and replaces all vectors (admin only).
#[utoipa::path(
    post,
    path = "/v1/vectorize",
    tag = "admin",
    request_body(content = Option<VectorizeRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "The refit", body = VectorizeReport),
        NotAnAdmin,
        (status = 422, description = "A setting out of range", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn vectorize(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBytes,
) -> Result<Json<VectorizeReport>, Problem> {
    principal.require_admin()?;
    let request = body.optional::<VectorizeRequest>()?.unwrap_or_default();
    let mut config = VectorizerConfig::default();
    if let Some(min_df) = request.min_df {
        config.min_df = min_df;
    }
    if let Some(max_features) = request.max_features {
        config.max_features = max_features;
    }
    config.validate().map_err(|e| {
        Problem::validation(
            "vectorizer settings out of range",
            vec![toker_model::Violation {
                path: "$".to_owned(),
                message: e.to_string(),
            }],
        )
    })?;
    let report = state
        .db(move |store| vectorize_store(store, config).map_err(collect_problem))
        .await?;
    state.matches().invalidate();
    Ok(Json(report.into()))
}

/// What the database holds: profiles (per platform), videos, links, tags, vectors (admin
/// only: the numbers describe everyone's data).
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "admin",
    responses(
        (status = 200, description = "The numbers", body = StatsResponse),
        NotAnAdmin,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn stats(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<StatsResponse>, Problem> {
    principal.require_admin()?;
    let stats = state.db(|store| Ok(store.stats()?)).await?;
    Ok(Json(StatsResponse::from(stats)))
}

/// A refit's failure: the store's as the store's, anything else an internal error.
fn collect_problem(e: toker_collect::CollectError) -> Problem {
    match e {
        toker_collect::CollectError::Store(e) => Problem::from(e),
        other => crate::error::internal(&other),
    }
}
