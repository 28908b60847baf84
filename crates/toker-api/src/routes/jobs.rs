//! `/v1/jobs/{id}`: long work the API queued ([`crate::jobs`]), owned like everything else:
//! a person sees only their own jobs (any other id answers 404, exactly as a missing one),
//! an admin key sees every job.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toker_store::{Job, JobState};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Principal;
use crate::extract::{ApiQuery, JobId};
use crate::jobs::{wait_bound, wait_for_end};
use crate::problem::{Problem, ProblemBody, ProblemKind};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/jobs/{id}", get(show))
}

#[derive(OpenApi)]
#[openapi(paths(show), components(schemas(JobDoc, JobStateDoc)))]
pub(crate) struct Doc;

/// How long to wait for a job to end before answering.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct WaitQuery {
    /// Seconds to wait for the job to end before answering (default 0); longer waits are
    /// cut to 25 s, and to half the server's request timeout.
    pub(crate) wait: Option<u64>,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobStateDoc {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it.
    Running,
    /// Done: see `result`.
    Succeeded,
    /// Ended by a failure retrying cannot mend: see `error`.
    Failed,
    /// Every attempt failed: see `error`.
    Dead,
}

impl From<JobState> for JobStateDoc {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Queued => JobStateDoc::Queued,
            JobState::Running => JobStateDoc::Running,
            JobState::Succeeded => JobStateDoc::Succeeded,
            JobState::Failed => JobStateDoc::Failed,
            JobState::Dead => JobStateDoc::Dead,
        }
    }
}

/// A queued piece of long work and what it came to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobDoc {
    /// The job's id (`GET /v1/jobs/{id}`).
    id: i64,
    /// What it does: `refresh` (its result is a RefreshReport), `import-export` (an
    /// uploaded export; its result is a ConnectResponse) or `vectorize`.
    kind: String,
    /// Where it is.
    state: JobStateDoc,
    /// Attempts started so far.
    attempts: u32,
    /// Attempts allowed before it is dead.
    max_attempts: u32,
    /// When it was queued.
    created_at: DateTime<Utc>,
    /// When it last changed.
    updated_at: DateTime<Utc>,
    /// When it is (or was) due: later than `created_at` while a retry waits.
    run_after: DateTime<Utc>,
    /// When it ended.
    finished_at: Option<DateTime<Utc>>,
    /// The worker's last report of its progress.
    #[schema(value_type = Option<Object>)]
    progress: Option<Value>,
    /// What it came to, once it succeeded.
    #[schema(value_type = Option<Object>)]
    result: Option<Value>,
    /// The last failure's reason (also while a retry waits).
    error: Option<String>,
}

impl From<Job> for JobDoc {
    fn from(job: Job) -> Self {
        JobDoc {
            id: job.id,
            kind: job.kind,
            state: job.state.into(),
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            created_at: job.created_at,
            updated_at: job.updated_at,
            run_after: job.run_after,
            finished_at: job.finished_at,
            progress: job.progress,
            result: job.result,
            error: job.error,
        }
    }
}

/// `job` as answered: 200 once it ended, 202 while it is queued or running, with its
/// `Location` either way.
pub(crate) fn job_answer(job: Job) -> Response {
    job_answer_as(job, |job| job)
}

/// `job` answered as [`job_answer`] does, in the body `body` makes of it.
pub(crate) fn job_answer_as<T: Serialize>(job: Job, body: impl FnOnce(JobDoc) -> T) -> Response {
    let status = if job.state.is_finished() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let location = HeaderValue::from_str(&format!("/v1/jobs/{}", job.id));
    let mut response = (status, Json(body(JobDoc::from(job)))).into_response();
    if let Ok(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A job, if the caller may see it; `wait` waits up to that many seconds for it to end.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = i64, Path, description = "The job's id"), WaitQuery),
    responses(
        (status = 200, description = "The job, ended", body = JobDoc),
        (status = 202, description = "The job, queued or running", body = JobDoc),
        (status = 404, description = "No such job, or not the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("session" = []), ("session_token" = []))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    JobId(id): JobId,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Response, Problem> {
    let wait = wait_bound(&state, query.wait);
    let job = owned_job(&state, &principal, id).await?;
    let job = wait_for_end(&state, job, wait).await?;
    Ok(job_answer(job))
}

/// Job `id` if `principal` may see it, else 404.
pub(crate) async fn owned_job(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<Job, Problem> {
    let principal = principal.clone();
    state
        .db(move |store| match store.get_job(id)? {
            Some(job) if principal.can_access(job.owner.as_deref()) => Ok(job),
            _ => Err(Problem::new(
                ProblemKind::NotFound,
                format!("no job {id} of yours"),
            )),
        })
        .await
}
