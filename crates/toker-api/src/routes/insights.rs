//! What Toker learned about a profile: its summary and the people most like it.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use toker_model::Listing;
use toker_model::Platform;
use toker_processing::{CATEGORY_PREFIX, HASHTAG_PREFIX, ProcessingError, summarize};
use toker_store::StoreError;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Principal;
use crate::connect::session::Session;
use crate::dto::{MatchItem, MatchesResponse, PlatformDoc, Ranked, SharedFeature, SummaryResponse};
use crate::extract::{ApiQuery, ProfileId};
use crate::matches::Snapshot;
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::routes::me::{NotAPerson, NotSignedIn};
use crate::routes::profiles::NoSuchProfile;
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
        .route("/v1/me/matches", get(my_matches))
}

#[derive(OpenApi)]
#[openapi(
    paths(summary, matches, my_matches),
    components(schemas(
        SummaryResponse,
        Ranked,
        MatchesResponse,
        MatchItem,
        SharedFeature,
        MyMatchesResponse,
        MyProfileMatches
    ))
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
        NoSuchProfile,
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
        NoSuchProfile,
        (status = 409, description = "No vectors are stored yet: an admin vectorizes first (after that, every stored profile is stored with its vector)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn matches(
    State(state): State<AppState>,
    principal: Principal,
    ProfileId(id): ProfileId,
    ApiQuery(params): ApiQuery<MatchParams>,
) -> Result<Json<MatchesResponse>, Problem> {
    let top = checked_top(params.top)?;
    let snapshot = state.match_snapshot().await?;
    state
        .db(move |store| {
            visible_row(store, &principal, id)?;
            let Some(snapshot) = snapshot else {
                return Err(not_vectorized(
                    "no vectors are stored yet: an admin runs POST /v1/vectorize (or `toker vectorize`)",
                ));
            };
            let found = best_matches(store, &snapshot, id, top, params.platform)?;
            Ok(Json(MatchesResponse {
                id,
                vocabulary_version: snapshot.version.clone(),
                vectorized_now: found.vectorized_now,
                matches: found.matches,
            }))
        })
        .await
}

/// The best matches of one profile, and how they were found.
pub(crate) struct Found {
    /// Best first, public fields only.
    pub(crate) matches: Vec<MatchItem>,
    /// The profile had no stored vector (written by a process without a vectorizer): its
    /// vector was made now, with the stored vocabulary.
    pub(crate) vectorized_now: bool,
    /// The profile's vector has no feature at all (no category or hashtag the vocabulary
    /// knows): nobody can match it.
    pub(crate) no_interests: bool,
}

/// The `top` people most like profile `id` (which the caller may see) from `snapshot`.
/// Every profile write stores the profile's vector, so a profile is normally in the
/// snapshot's index; one without a stored vector (written by a process without a
/// vectorizer) is scored on the fly with the snapshot's vocabulary, as `toker match` does.
pub(crate) fn best_matches(
    store: &mut toker_store::Store,
    snapshot: &Snapshot,
    id: i64,
    top: usize,
    platform: Option<Platform>,
) -> Result<Found, Problem> {
    let (found, vectorized_now, no_interests) =
        match snapshot.index.top_k(id, top + SLACK, platform) {
            Ok(found) => {
                // Only a profile without matches can have an empty vector: read it then.
                let empty = found.is_empty()
                    && store.load_vector(id)?.is_some_and(|v| v.indices.is_empty());
                (found, false, empty)
            }
            // The caller's own unproven upload: its vector queries the index.
            Err(ProcessingError::UnknownProfile { .. }) if snapshot.unproven.contains_key(&id) => {
                let (_, vector) = &snapshot.unproven[&id];
                let found = snapshot.index.top_k_vector(vector, top + SLACK, platform);
                (found, false, vector.is_empty())
            }
            // No stored vector (or not yet in this snapshot): scored now.
            Err(ProcessingError::UnknownProfile { .. }) => {
                let stored = store.get_profile(id)?;
                let vector = snapshot.vocabulary.transform(&stored.profile);
                let found = snapshot
                    .index
                    .top_k_vector(&vector, top + SLACK + 1, platform)
                    .into_iter()
                    .filter(|m| m.id != id)
                    .collect();
                (found, true, vector.is_empty())
            }
            Err(e) => return Err(crate::error::internal(&e)),
        };
    // Profiles deleted since the refit are skipped (the next best take their place);
    // names are read now, so they are current.
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
    Ok(Found {
        matches,
        vectorized_now,
        no_interests,
    })
}

/// The signed-in person's matches: one entry per profile of theirs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyMatchesResponse {
    /// The vocabulary version of the vectors used (none before the first refit).
    vocabulary_version: Option<String>,
    /// Each of the person's profiles (one per connected account or upload) with its own
    /// matches, in id order.
    profiles: Vec<MyProfileMatches>,
}

/// One of the person's profiles and the people most like it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyProfileMatches {
    /// The profile's id.
    id: i64,
    /// Its platform.
    #[schema(value_type = PlatformDoc)]
    platform: Platform,
    /// The person's handle there.
    username: String,
    /// It had no stored vector: its vector was made for this answer.
    vectorized_now: bool,
    /// Best first, other people's public fields only.
    matches: Vec<MatchItem>,
    /// Why there are no matches, and what would give some (absent when there are).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// The people most like the signed-in person, for each of their profiles.
///
/// Answers right after connecting: the connect stored the profile with its vector under
/// the stored vocabulary (a profile without one is scored on the fly with it). Other
/// people appear with public fields only. A profile without matches carries a `note`
/// saying why (no vectors fitted yet on this server, no interest Toker can match on, or
/// nobody sharing one) and what to do.
#[utoipa::path(
    get,
    path = "/v1/me/matches",
    tag = "me",
    params(MatchParams),
    responses(
        (status = 200, description = "The person's profiles, each with its matches", body = MyMatchesResponse),
        NotSignedIn,
        NotAPerson,
    ),
    security(("session" = []), ("session_token" = []))
)]
pub(crate) async fn my_matches(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(params): ApiQuery<MatchParams>,
) -> Result<Json<MyMatchesResponse>, Problem> {
    let top = checked_top(params.top)?;
    let snapshot = state.match_snapshot().await?;
    let owner = session.principal_id.clone();
    state
        .db(move |store| {
            let rows = store.list_profiles(&Listing::owner(owner))?;
            let mut profiles = Vec::with_capacity(rows.len());
            for row in rows {
                let mut entry = MyProfileMatches {
                    id: row.id,
                    platform: row.platform,
                    username: row.username,
                    vectorized_now: false,
                    matches: Vec::new(),
                    note: None,
                };
                match &snapshot {
                    None => {
                        entry.note = Some(
                            "nobody can be matched yet: this server has not fitted its \
                             interest vectors (its operator runs `toker vectorize` or POST \
                             /v1/vectorize once people are stored)"
                                .to_owned(),
                        );
                    }
                    Some(snapshot) => {
                        let found = best_matches(store, snapshot, row.id, top, params.platform)?;
                        entry.vectorized_now = found.vectorized_now;
                        entry.note = match (found.no_interests, found.matches.is_empty()) {
                            (true, _) => Some(NO_INTERESTS.to_owned()),
                            (false, true) => Some(
                                "nobody here shares an interest with this profile yet".to_owned(),
                            ),
                            (false, false) => None,
                        };
                        entry.matches = found.matches;
                    }
                }
                profiles.push(entry);
            }
            Ok(Json(MyMatchesResponse {
                vocabulary_version: snapshot.as_ref().map(|s| s.version.clone()),
                profiles,
            }))
        })
        .await
}

/// Why a profile without any category or hashtag matches nobody, and what helps.
pub(crate) const NO_INTERESTS: &str = "this profile has no interest Toker can match on (no category or \
     hashtag among its liked and shared posts, and no interest from the platform, that other \
     people have too): connect another platform, or upload a newer data export with more \
     liked posts (an Instagram export also carries the topics Instagram assigns you, under \
     Preferences > Your topics, when they are included)";

/// `top` as asked (default 10), or a 400 outside 1 to 100.
fn checked_top(top: Option<usize>) -> Result<usize, Problem> {
    let top = top.unwrap_or(DEFAULT_TOP);
    if (1..=MAX_TOP).contains(&top) {
        Ok(top)
    } else {
        Err(Problem::new(
            ProblemKind::BadRequest,
            format!("top must be between 1 and {MAX_TOP}, got {top}"),
        ))
    }
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
