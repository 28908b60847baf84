//! The API's long work, handed to the store's job queue and run by toker-collect's worker:
//! a person's refresh reads the platforms in a worker, not inside their request, so no
//! request holds a database connection across platform I/O. A request queues the job and
//! answers `202 Accepted` with it (`GET /v1/jobs/{id}` follows it); with `?wait=N` it
//! first waits up to `N` seconds for the job to end, reading the job back now and then
//! on a pooled connection it gives back in between.
//!
//! `toker serve` runs workers in-process on the same job table ([`ServeConfig::workers`],
//! so a single machine on SQLite needs nothing else); `toker worker` processes elsewhere
//! run the same [`runners`].
//!
//! [`ServeConfig::workers`]: crate::ServeConfig::workers

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};
use toker_collect::jobs::{
    JobFailure, JobRunner, OpenStore, VECTORIZE, VectorizeRunner, WorkerOptions, WorkerReport,
    run_worker,
};
use toker_collect::{CollectError, VocabularyVectorizer};
use toker_processing::VectorizerConfig;
use toker_store::{Claimed, Job, NewJob, ProfileVectorizer, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::problem::Problem;
use crate::routes::me::refresh_all;
use crate::state::AppState;

/// The kind of a refresh of one person's connected accounts; its payload is
/// `{"principal": "<id>"}` and its result the refresh report (`POST /v1/me/refresh`).
pub const REFRESH: &str = "refresh";

/// How many attempts a refresh gets before it is a dead letter.
const REFRESH_ATTEMPTS: u32 = 3;

/// The longest `?wait=` honoured, in seconds (also kept under the request timeout).
pub(crate) const MAX_WAIT_SECONDS: u64 = 25;

/// The runners of every kind of job the API queues, and of the vector refit, over
/// `state`'s connect settings and validation rules.
#[must_use]
pub fn runners(state: &AppState) -> HashMap<String, Arc<dyn JobRunner>> {
    let mut runners: HashMap<String, Arc<dyn JobRunner>> = HashMap::new();
    runners.insert(REFRESH.to_owned(), Arc::new(RefreshRunner(state.clone())));
    runners.insert(
        VECTORIZE.to_owned(),
        Arc::new(VectorizeRunner(VectorizerConfig::default())),
    );
    runners
}

/// Opens worker connections to `url`, each storing vectors with one shared vectorizer.
#[must_use]
pub fn opener(url: &str) -> OpenStore {
    let url = url.to_owned();
    let vectorizer = Arc::new(VocabularyVectorizer::default());
    Arc::new(move || {
        let mut store = Store::open(&url)?;
        store.set_vectorizer(Some(Arc::clone(&vectorizer) as Arc<dyn ProfileVectorizer>));
        Ok(store)
    })
}

/// Starts a worker of `concurrency` slots over `state`'s database with [`runners`], until
/// `shutdown` turns `true` (running jobs are then given back to the queue).
#[must_use]
pub fn spawn_workers(
    state: &AppState,
    concurrency: usize,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<Result<WorkerReport, CollectError>> {
    let options = WorkerOptions {
        name: format!("serve-{}", std::process::id()),
        concurrency,
        wake: Some(Arc::clone(state.jobs_queued())),
        ..WorkerOptions::default()
    };
    tokio::spawn(run_worker(
        opener(&state.config().database_url),
        Arc::new(runners(state)),
        options,
        shutdown,
    ))
}

/// Refreshes every connected account of the payload's principal.
struct RefreshRunner(AppState);

#[async_trait(?Send)]
impl JobRunner for RefreshRunner {
    async fn run(&self, store: &mut Store, job: &Claimed) -> Result<Value, JobFailure> {
        let principal = job
            .job
            .payload
            .get("principal")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                JobFailure::Permanent(
                    "the payload names no principal: expected {\"principal\": \"<id>\"}".to_owned(),
                )
            })?;
        let (report, changed) = refresh_all(store, &self.0, principal)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        if changed {
            // This worker's connection is not the pool's: tell the match index.
            self.0.matches().invalidate();
        }
        serde_json::to_value(report)
            .map_err(|e| JobFailure::Permanent(format!("the report cannot be told: {e}")))
    }
}

/// Queues a refresh of `principal`'s accounts, or finds the one already queued or running.
pub(crate) async fn enqueue_refresh(state: &AppState, principal: &str) -> Result<Job, Problem> {
    let owner = principal.to_owned();
    let job = state
        .db(move |store| {
            let payload = json!({ "principal": owner });
            let key = format!("{REFRESH}:{owner}");
            let enqueued = store.enqueue_job(&NewJob {
                kind: REFRESH,
                payload: &payload,
                input: None,
                owner: Some(&owner),
                max_attempts: REFRESH_ATTEMPTS,
                run_after: Utc::now(),
                dedup_key: Some(&key),
            })?;
            Ok(enqueued.job)
        })
        .await?;
    state.jobs_queued().notify_one();
    Ok(job)
}

/// `?wait=` seconds, cut to [`MAX_WAIT_SECONDS`] and half the request timeout (a client
/// that asks for longer gets the job as it is then, and may ask again).
pub(crate) fn wait_bound(state: &AppState, seconds: Option<u64>) -> Duration {
    let most = MAX_WAIT_SECONDS.min(state.config().request_timeout.as_secs() / 2);
    Duration::from_secs(seconds.unwrap_or(0).min(most))
}

/// `job` as it is once it ended, or after `wait` if it has not: read back with a growing
/// pause (50 ms doubling to 500 ms), each read on a pooled connection given back at once.
pub(crate) async fn wait_for_end(
    state: &AppState,
    mut job: Job,
    wait: Duration,
) -> Result<Job, Problem> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(50);
    while !job.state.is_finished() {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
        let id = job.id;
        match state.db(move |store| Ok(store.get_job(id)?)).await? {
            Some(now) => job = now,
            // Erased meanwhile (its owner was): it is as it was last seen.
            None => break,
        }
    }
    Ok(job)
}
