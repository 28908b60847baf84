//! `/v1/profiles`: create (one, a batch, or generated), list, read, replace, delete.
//!
//! Every incoming profile goes through `toker_processing::prepare` (platform → validation
//! → cleaning), exactly as the CLI's import does.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use toker_model::Listing;
use toker_model::Platform;
use toker_model::Violation;
use toker_processing::{Prepared, RecordReader, Rejected, prepare, prepare_profile};
use toker_sources::fake::{FakeConfig, FakeSource};
use toker_store::{IngestItem, IngestOptions, StoreError, Written};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{KeyPrincipal, Principal};
use crate::dto::{
    BatchReport, BatchResult, BatchStatus, PlatformDoc, ProfileBatchDoc, ProfileDoc, ProfileList,
    ProfileListItem, ProfileResponse,
};
use crate::extract::{ApiQuery, JsonBytes, ProfileId};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::routes::{
    duplicate_problem, existing_is_visible, may_see, rejected_problem, visible_row,
};
use crate::state::AppState;

crate::openapi::problem_response!(MalformedJson, 400, "Malformed JSON");
crate::openapi::problem_response!(
    NeedsApiKey,
    403,
    "A signed-in person (role `session`): this needs an API key (admin or member)"
);
crate::openapi::problem_response!(NoSuchProfile, 404, "No such profile, or not the caller's");

/// The most profiles one listing page returns.
pub(crate) const MAX_PAGE: u64 = 500;
/// The listing page size when none is asked for.
pub(crate) const DEFAULT_PAGE: u64 = 50;
/// The most profiles one `:generate` call makes.
pub(crate) const MAX_GENERATE: u64 = 1_000;
/// Records per transaction in a batch.
const BATCH_COMMIT: usize = 500;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/profiles", get(list_profiles).post(create_profile))
        .route("/v1/profiles:batch", post(create_batch))
        .route("/v1/profiles:generate", post(generate_profiles))
        .route(
            "/v1/profiles/{id}",
            get(get_profile).put(replace_profile).delete(delete_profile),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create_profile,
        list_profiles,
        create_batch,
        generate_profiles,
        get_profile,
        replace_profile,
        delete_profile
    ),
    components(schemas(
        ProfileDoc,
        ProfileBatchDoc,
        ProfileResponse,
        ProfileList,
        ProfileListItem,
        BatchReport,
        BatchResult,
        BatchStatus,
        GenerateRequest
    ))
)]
pub(crate) struct Doc;

/// Query of the create routes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PlatformQuery {
    /// The profile's platform: needed unless the body names it with a `platform` key
    /// (documented as required, the form that always works).
    #[param(value_type = PlatformDoc, required = true)]
    platform: Option<Platform>,
}

/// Query of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only profiles of this platform.
    #[param(value_type = Option<PlatformDoc>)]
    platform: Option<Platform>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<i64>)]
    cursor: Option<String>,
}

/// What `:generate` makes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateRequest {
    /// The platform of the generated people.
    #[schema(value_type = PlatformDoc)]
    platform: Platform,
    /// How many people, 1 to 1000.
    #[schema(minimum = 1, maximum = 1000)]
    count: u64,
    /// The seed: the same seed, platform and count always make the same people (default 0).
    #[serde(default)]
    #[schema(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)]
    seed: u64,
}

/// Stores one profile, owned by the calling key.
#[utoipa::path(
    post,
    path = "/v1/profiles",
    tag = "profiles",
    params(PlatformQuery),
    request_body(content = ProfileDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored; `Location` names it", body = ProfileResponse),
        MalformedJson,
        (status = 409, description = "The platform and user id are already stored", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The profile breaks the rules; every violation is listed", body = ProblemBody, content_type = "application/problem+json"),
        NeedsApiKey,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create_profile(
    State(state): State<AppState>,
    KeyPrincipal(principal): KeyPrincipal,
    ApiQuery(query): ApiQuery<PlatformQuery>,
    body: JsonBytes,
) -> Result<Response, Problem> {
    let prepared = judge(&state, body, query.platform).await?;
    let stored = state
        .db(move |store| {
            let created = store.create_profile(
                prepared.platform,
                &prepared.profile,
                &prepared.raw,
                Some(&principal.key_id),
            );
            let id = match created {
                Ok(id) => id,
                Err(StoreError::Duplicate { key, id }) => {
                    return Err(duplicate_problem(store, &principal, &key, id));
                }
                Err(e) => return Err(e.into()),
            };
            Ok(store.get_profile(id)?)
        })
        .await?;
    let location = format!("/v1/profiles/{}", stored.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ProfileResponse::from(stored)),
    )
        .into_response())
}

/// Parses and validates one profile's body off the async runtime, against the server's
/// rules: malformed JSON is a 400, a rejected profile the 422 that lists its violations.
async fn judge(
    state: &AppState,
    body: JsonBytes,
    platform: Option<Platform>,
) -> Result<Prepared, Problem> {
    let rules = state.rules().clone();
    state
        .cpu(move || {
            let raw = body.json()?;
            prepare(raw, platform, &rules).map_err(|r| rejected_problem(&r))
        })
        .await
}

/// Lists the caller's profiles (an admin: everyone's), by id, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/profiles",
    tag = "profiles",
    params(ListParams),
    responses(
        (status = 200, description = "A page of profiles", body = ProfileList),
        (status = 400, description = "A bad parameter", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn list_profiles(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ProfileList>, Problem> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::new(
            ProblemKind::BadRequest,
            format!("limit must be between 1 and {MAX_PAGE}, got {limit}"),
        ));
    }
    let after_id = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                Problem::new(
                    ProblemKind::BadRequest,
                    format!("cursor {c:?} is not one this API returned"),
                )
            })
        })
        .transpose()?;
    let query = Listing {
        platform: params.platform,
        // A caller's own listing shows its unproven uploads too; nobody else's does.
        unproven: principal.owner_filter().is_some(),
        owner: principal.owner_filter(),
        limit: Some(limit + 1),
        offset: 0,
        after_id,
    };
    let mut rows = state
        .db(move |store| Ok(store.list_profiles(&query)?))
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more {
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(Json(ProfileList {
        items: rows.into_iter().map(ProfileListItem::from).collect(),
        next_cursor,
    }))
}

/// Stores many profiles (a JSON array or JSON Lines), each judged on its own.
///
/// A malformed document stores nothing (400), nor does an empty one (422). Otherwise every
/// record gets a result: created, duplicate (already stored; nothing changed) or rejected
/// (with violations).
#[utoipa::path(
    post,
    path = "/v1/profiles:batch",
    tag = "profiles",
    params(("platform" = Option<PlatformDoc>, Query, description = "The platform of profiles that carry no `platform` key of their own (a profile with neither is rejected in the report)")),
    request_body(content = ProfileBatchDoc, description = "A JSON array of profiles, or JSON Lines (`application/x-ndjson`)", content_type = "application/json"),
    responses(
        (status = 200, description = "Per-record results", body = BatchReport),
        (status = 400, description = "Malformed JSON: nothing stored", body = ProblemBody, content_type = "application/problem+json"),
        NeedsApiKey,
        (status = 422, description = "The batch holds no profile (`violations` names `$`): nothing stored", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create_batch(
    State(state): State<AppState>,
    KeyPrincipal(principal): KeyPrincipal,
    ApiQuery(query): ApiQuery<PlatformQuery>,
    body: JsonBytes,
) -> Result<Json<BatchReport>, Problem> {
    let rules = state.rules().clone();
    let records = state
        .cpu(move || {
            let mut records = Vec::new();
            for record in RecordReader::new(&body.0[..]) {
                let (_, raw) =
                    record.map_err(|e| Problem::new(ProblemKind::MalformedJson, e.to_string()))?;
                records.push(prepare(raw, query.platform, &rules));
            }
            Ok(records)
        })
        .await?;
    if records.is_empty() {
        return Err(Problem::validation(
            "the batch holds no profile; nothing was stored",
            vec![Violation {
                path: "$".to_owned(),
                message: "must hold at least one profile (a JSON array or JSON Lines), got none"
                    .to_owned(),
            }],
        ));
    }
    store_records(&state, principal, records).await.map(Json)
}

/// Generates realistic people with the fake source and stores them, owned by the caller.
#[utoipa::path(
    post,
    path = "/v1/profiles:generate",
    tag = "profiles",
    request_body(content = GenerateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Per-profile results", body = BatchReport),
        MalformedJson,
        (status = 422, description = "A bad count or platform", body = ProblemBody, content_type = "application/problem+json"),
        NeedsApiKey,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn generate_profiles(
    State(state): State<AppState>,
    KeyPrincipal(principal): KeyPrincipal,
    body: JsonBytes,
) -> Result<Json<BatchReport>, Problem> {
    let Some(request) = body.optional::<GenerateRequest>()? else {
        return Err(Problem::new(
            ProblemKind::MalformedJson,
            "the request body is empty; send {\"platform\": …, \"count\": …, \"seed\": …}",
        ));
    };
    if !(1..=MAX_GENERATE).contains(&request.count) {
        return Err(Problem::validation(
            "count out of range",
            vec![Violation {
                path: "count".to_owned(),
                message: format!(
                    "must be between 1 and {MAX_GENERATE}, got {}",
                    request.count
                ),
            }],
        ));
    }
    let config = FakeConfig::default().with_min_likes(state.rules().min_likes);
    let source = FakeSource::with_config(request.platform, request.seed, config).map_err(|e| {
        Problem::validation(
            "platform not available",
            vec![Violation {
                path: "platform".to_owned(),
                message: e.to_string(),
            }],
        )
    })?;
    let rules = state.rules().clone();
    let records = state
        .cpu(move || {
            Ok((0..request.count)
                .map(|index| {
                    let person = source.generate(index).raw;
                    prepare_profile(person.platform, person.profile, person.raw, &rules)
                })
                .collect())
        })
        .await?;
    store_records(&state, principal, records).await.map(Json)
}

/// Stores the prepared records in one blocking task (committing every [`BATCH_COMMIT`])
/// and reports each record's fate in input order.
async fn store_records(
    state: &AppState,
    principal: Principal,
    records: Vec<Result<Prepared, Rejected>>,
) -> Result<BatchReport, Problem> {
    let mut report = BatchReport::default();
    let mut items = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        match record {
            Ok(p) => {
                report.results.push(BatchResult {
                    index,
                    status: BatchStatus::Created,
                    key: Some(p.key()),
                    id: None,
                    violations: Vec::new(),
                });
                items.push(IngestItem {
                    label: index.to_string(),
                    platform: p.platform,
                    profile: p.profile,
                    raw: p.raw,
                    owner: Some(principal.key_id.clone()),
                });
            }
            Err(rejected) => {
                report.rejected += 1;
                report.results.push(BatchResult {
                    index,
                    status: BatchStatus::Rejected,
                    key: None,
                    id: None,
                    violations: rejected.violations().into_iter().map(Into::into).collect(),
                });
            }
        }
    }
    if items.is_empty() {
        return Ok(report);
    }
    state
        .db(move |store| {
            let mut outcomes = Vec::new();
            store.ingest(
                items,
                &IngestOptions {
                    batch_size: BATCH_COMMIT,
                    upsert: false,
                },
                &mut |outcome| outcomes.push(outcome),
            )?;
            for outcome in outcomes {
                let Some(result) = outcome
                    .label
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| report.results.get_mut(i))
                else {
                    continue;
                };
                match outcome.result {
                    Written::Created(id) | Written::Updated(id) | Written::Unchanged(id) => {
                        report.created += 1;
                        result.id = Some(id);
                    }
                    Written::Duplicate(id) => {
                        report.duplicates += 1;
                        result.status = BatchStatus::Duplicate;
                        result.id = existing_is_visible(store, &principal, id).then_some(id);
                    }
                }
            }
            Ok(report)
        })
        .await
}

/// One profile, if the caller may see it.
#[utoipa::path(
    get,
    path = "/v1/profiles/{id}",
    tag = "profiles",
    params(("id" = i64, Path, description = "The profile's id")),
    responses(
        (status = 200, description = "The profile", body = ProfileResponse),
        NoSuchProfile,
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
    ProfileId(id): ProfileId,
) -> Result<Json<ProfileResponse>, Problem> {
    let stored = state
        .db(move |store| match store.get_profile(id) {
            Ok(p) if may_see(&principal, p.owner.as_deref(), p.unproven) => Ok(p),
            Ok(_) | Err(StoreError::NotFound { .. }) => Err(Problem::profile_not_found(id)),
            Err(e) => Err(e.into()),
        })
        .await?;
    Ok(Json(ProfileResponse::from(stored)))
}

/// Replaces a profile atomically with a new version of it (same platform).
#[utoipa::path(
    put,
    path = "/v1/profiles/{id}",
    tag = "profiles",
    params(("id" = i64, Path, description = "The profile's id")),
    request_body(content = ProfileDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "The replaced profile", body = ProfileResponse),
        NoSuchProfile,
        (status = 409, description = "The new user id belongs to another stored profile", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The profile breaks the rules", body = ProblemBody, content_type = "application/problem+json"),
        NeedsApiKey,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn replace_profile(
    State(state): State<AppState>,
    KeyPrincipal(principal): KeyPrincipal,
    ProfileId(id): ProfileId,
    body: JsonBytes,
) -> Result<Json<ProfileResponse>, Problem> {
    let reader = principal.clone();
    let platform = state
        .db(move |store| Ok(visible_row(store, &reader, id)?.platform))
        .await?;
    let prepared = judge(&state, body, Some(platform)).await?;
    let stored = state
        .db(move |store| {
            // Again: the profile may have been deleted while the body was judged.
            visible_row(store, &principal, id)?;
            match store.replace_profile(id, &prepared.profile, &prepared.raw) {
                Ok(()) => {}
                Err(StoreError::Duplicate { key, id: other }) => {
                    return Err(duplicate_problem(store, &principal, &key, other));
                }
                Err(StoreError::NotFound { .. }) => return Err(Problem::profile_not_found(id)),
                Err(e) => return Err(e.into()),
            }
            Ok(store.get_profile(id)?)
        })
        .await?;
    Ok(Json(ProfileResponse::from(stored)))
}

/// Deletes a profile and its links (videos other profiles list stay).
#[utoipa::path(
    delete,
    path = "/v1/profiles/{id}",
    tag = "profiles",
    params(("id" = i64, Path, description = "The profile's id")),
    responses(
        (status = 204, description = "Deleted"),
        NoSuchProfile,
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn delete_profile(
    State(state): State<AppState>,
    principal: Principal,
    ProfileId(id): ProfileId,
) -> Result<StatusCode, Problem> {
    state
        .db(move |store| {
            visible_row(store, &principal, id)?;
            match store.delete_profile(id) {
                Ok(()) => Ok(()),
                Err(StoreError::NotFound { .. }) => Err(Problem::profile_not_found(id)),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
