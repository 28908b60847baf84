//! What Toker learned about a profile: its summary and the people most like it.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use toker_model::Platform;
use toker_processing::{CATEGORY_PREFIX, HASHTAG_PREFIX, ProcessingError, summarize};
use toker_store::StoreError;
use utoipa::{IntoParams, OpenApi};

use crate::auth::Principal;
use crate::dto::{MatchItem, MatchesResponse, PlatformDoc, Ranked, SharedFeature, SummaryResponse};
use crate::extract::{ApiQuery, ProfileId};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::routes::{may_see, rows_by_id, visible_row};
use crate::state::AppState;

/// The most matches one request returns.
pub(crate) const MAX_TOP: usize = 100;
/// Matches returned when `top` is not given.
pub(crate) const DEFAULT_TOP: usize = 10;
/// Extra candidates asked of the index, to fill `top` when some matched profiles were
/// deleted since the last refit.
const SLACK: usize = 5;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/profiles/{id}/summary", get(summary))
        .route("/v1/profiles/{id}/matches", get(matches))
}

#[derive(OpenApi)]
#[openapi(
    paths(summary, matches),
    components(schemas(SummaryResponse, Ranked, MatchesResponse, MatchItem, SharedFeature))
)]
pub(crate) struct Doc;

/// The top categories and hashtags of a profile, with its counts.
#[utoipa::path(
    get,
    path = "/v1/profiles/{id}/summary",
    tag = "insights",
    params(("id" = i64, Path, description = "The profile's id")),
    responses(
        (status = 200, description = "The summary", body = SummaryResponse),
        (status = 404, description = "No such profile, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn summary(
    State(state): State<AppState>,
    principal: Principal,
    ProfileId(id): ProfileId,
) -> Result<Json<SummaryResponse>, Problem> {
    state
        .db(move |store| match store.get_profile(id) {
            Ok(p) if may_see(&principal, p.owner.as_deref(), p.unproven) => {
                let summary = summarize(&p.profile);
                Ok(Json(SummaryResponse::new(&p, summary)))
            }
            Ok(_) | Err(StoreError::NotFound { .. }) => Err(Problem::profile_not_found(id)),
            Err(e) => Err(e.into()),
        })
        .await
}

/// Query of the matches.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MatchParams {
    /// How many matches, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    top: Option<usize>,
    /// Only people of this platform.
    #[param(value_type = Option<PlatformDoc>)]
    platform: Option<Platform>,
}

/// The people most similar to a profile, by cosine similarity of their interest vectors.
///
/// Other people appear with public fields only: id, platform, username, score and the
/// features shared with the query.
#[utoipa::path(
    get,
    path = "/v1/profiles/{id}/matches",
    tag = "insights",
    params(("id" = i64, Path, description = "The query profile's id"), MatchParams),
    responses(
        (status = 200, description = "The best matches", body = MatchesResponse),
        (status = 404, description = "No such profile, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "No vectors yet, or none for this profile: vectorize first", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn matches(
    State(state): State<AppState>,
    principal: Principal,
    ProfileId(id): ProfileId,
    ApiQuery(params): ApiQuery<MatchParams>,
) -> Result<Json<MatchesResponse>, Problem> {
    let top = params.top.unwrap_or(DEFAULT_TOP);
    if !(1..=MAX_TOP).contains(&top) {
        return Err(Problem::new(
            ProblemKind::BadRequest,
            format!("top must be between 1 and {MAX_TOP}, got {top}"),
        ));
    }
    let snapshot = state.match_snapshot().await?;
    state
        .db(move |store| {
            visible_row(store, &principal, id)?;
            let Some(snapshot) = snapshot else {
                return Err(not_vectorized(
                    "no vectors are stored yet: an admin runs POST /v1/vectorize (or `toker vectorize`)",
                ));
            };
            let found = match snapshot.index.top_k(id, top + SLACK, params.platform) {
                Ok(found) => found,
                // The caller's own unproven upload: its vector queries the index.
                Err(ProcessingError::UnknownProfile { .. })
                    if snapshot.unproven.contains_key(&id) =>
                {
                    let (_, vector) = &snapshot.unproven[&id];
                    snapshot.index.top_k_vector(vector, top + SLACK, params.platform)
                }
                Err(ProcessingError::UnknownProfile { .. }) => {
                    return Err(not_vectorized(&format!(
                        "profile {id} was stored after the last vectorize; an admin runs POST /v1/vectorize"
                    )));
                }
                Err(e) => return Err(crate::error::internal(&e)),
            };
            // Profiles deleted since the refit are skipped (the next best take their
            // place); names are read now, so they are current.
            let mut matches = Vec::with_capacity(top);
            let mut candidates = found.into_iter().peekable();
            while matches.len() < top && candidates.peek().is_some() {
                let batch: Vec<_> = candidates.by_ref().take(top - matches.len()).collect();
                let mut rows = rows_by_id(store, batch.iter().map(|m| m.id))?;
                for m in batch {
                    // Deleted since, or (indexed before a migration) an unproven upload.
                    let Some(row) = rows.remove(&m.id).filter(|r| !r.unproven) else {
                        continue;
                    };
                    matches.push(MatchItem {
                        id: m.id,
                        platform: m.platform,
                        username: row.username,
                        score: m.score,
                        features: m.features.into_iter().map(shared_feature).collect(),
                    });
                }
            }
            Ok(Json(MatchesResponse {
                id,
                vocabulary_version: snapshot.version.clone(),
                matches,
            }))
        })
        .await
}

fn not_vectorized(detail: &str) -> Problem {
    Problem::new(ProblemKind::NotVectorized, detail)
}

fn shared_feature((term, contribution): (String, f32)) -> SharedFeature {
    let (kind, name) = if let Some(name) = term.strip_prefix(CATEGORY_PREFIX) {
        ("category", name)
    } else if let Some(name) = term.strip_prefix(HASHTAG_PREFIX) {
        ("hashtag", name)
    } else {
        ("feature", term.as_str())
    };
    SharedFeature {
        kind: kind.to_owned(),
        name: name.to_owned(),
        contribution,
    }
}
