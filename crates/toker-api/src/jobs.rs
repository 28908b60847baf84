//! The API's long work, handed to the store's job queue and run by toker-collect's worker:
//! a person's refresh reads the platforms in a worker, not inside their request, so no
//! request holds a database connection across platform I/O; an uploaded export is read
//! and stored by a worker too ([`IMPORT_EXPORT`]). A request queues the job and
//! answers `202 Accepted` with it (`GET /v1/jobs/{id}` follows it); with `?wait=N` it
//! first waits up to `N` seconds for the job to end, reading the job back now and then
//! on a pooled connection it gives back in between.
//!
//! `toker serve` runs workers in-process on the same job table ([`ServeConfig::workers`],
//! so a single machine on SQLite needs nothing else); `toker worker` processes elsewhere
//! run the same [`runners`].
//!
//! **Schedules.** Every OAuth-connected account is refreshed once per
//! [`ServeConfig::refresh_period`] (default a day), planned in the job table, never in a
//! process's memory: when a person's refresh ends, its runner queues the next one a period
//! later (±10 %, so that runs spread out), in the transaction that ends it. People no
//! refresh is planned for yet (newly connected, or a database from before schedules) are
//! found by the [`PLAN`] job, which plans each a first run at a random point within one
//! period and queues itself again; [`start_schedules`] queues it when a worker starts.
//! The planner also queues a refit ([`VECTORIZE`]) once the share of profiles written
//! since the vocabulary was fitted passes [`ServeConfig::refit_drift`] (default 0.2).
//! Dedup keys keep one planned job per person, one planner and one queued refit however
//! many workers run.
//!
//! [`ServeConfig::workers`]: crate::ServeConfig::workers
//! [`ServeConfig::refresh_period`]: crate::ServeConfig::refresh_period
//! [`ServeConfig::refit_drift`]: crate::ServeConfig::refit_drift

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde_json::{Value, json};
use toker_collect::jobs::{
    JobFailure, JobObserver, JobRunner, OpenStore, Planned, VECTORIZE, VectorizeRunner,
    WorkerOptions, WorkerReport, run_worker,
};
use toker_collect::{CollectError, VocabularyVectorizer};
use toker_processing::VectorizerConfig;
use toker_store::{Claimed, Job, ProfileVectorizer, Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::OutcomeCounter;
use crate::problem::Problem;
use crate::routes::me::refresh_all;
use crate::state::AppState;

/// The kind of a refresh of one person's connected accounts; its payload is
/// `{"principal": "<id>"}` and its result the refresh report (`POST /v1/me/refresh`).
pub const REFRESH: &str = "refresh";

/// The kind of an uploaded export's import; its payload is `{"platform": "…",
/// "principal": "<id>", "new_principal": bool}` (whether the upload signed them up), its
/// input the zip and its result the connect's answer (`POST /v1/connect/{platform}/export`).
pub const IMPORT_EXPORT: &str = "import-export";

/// The kind of the planner of schedules ([`start_schedules`]); its result is
/// `{"planned": n, "refit_queued": bool}`.
pub const PLAN: &str = "plan-refreshes";

/// How many attempts a refresh gets before it is a dead letter.
const REFRESH_ATTEMPTS: u32 = 3;

/// How often the planner looks for people without a planned refresh (at most; a shorter
/// refresh period makes it look every half period).
const PLAN_EVERY: Duration = Duration::from_secs(300);

/// People planned per transaction by the planner (one transaction per batch).
const PLAN_BATCH: u32 = 500;

/// The longest `?wait=` honoured, in seconds (also kept under the request timeout).
pub(crate) const MAX_WAIT_SECONDS: u64 = 25;

/// The runners of every kind of job the API queues, and of the vector refit, over
/// `state`'s connect settings and validation rules.
#[must_use]
pub fn runners(state: &AppState) -> HashMap<String, Arc<dyn JobRunner>> {
    let mut runners: HashMap<String, Arc<dyn JobRunner>> = HashMap::new();
    runners.insert(REFRESH.to_owned(), Arc::new(RefreshRunner(state.clone())));
    runners.insert(PLAN.to_owned(), Arc::new(PlanRunner(state.clone())));
    runners.insert(
        IMPORT_EXPORT.to_owned(),
        Arc::new(ImportExportRunner(state.clone())),
    );
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

/// Counts the outcomes of the jobs a worker ends in `state`'s metrics (what its
/// `/metrics` tells as `toker_job_outcomes_total`).
#[must_use]
pub fn observer(state: &AppState) -> Arc<dyn JobObserver> {
    Arc::new(OutcomeCounter(Arc::clone(state.metrics())))
}

/// Starts a worker of `concurrency` slots over `state`'s database with [`runners`], until
/// `shutdown` turns `true` (running jobs are then given back to the queue). Its job
/// outcomes are counted for `/metrics`.
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
        observer: Some(observer(state)),
        ..WorkerOptions::default()
    };
    let open = opener(&state.config().database_url);
    let runners = Arc::new(runners(state));
    let (period, drift) = (state.config().refresh_period, state.config().refit_drift);
    tokio::spawn(async move {
        let opening = Arc::clone(&open);
        let started =
            tokio::task::spawn_blocking(move || start_schedules(&mut opening()?, period, drift))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        if let Err(e) = started {
            tracing::error!(error = %e, "could not queue the planner of refreshes");
        }
        run_worker(open, runners, options, shutdown).await
    })
}

/// Queues the planner of scheduled refreshes and due refits, due now (nothing if it is
/// queued already, or if `period` is zero and `refit_drift` `None`).
///
/// # Errors
/// [`StoreError`] if the job cannot be queued.
pub fn start_schedules(
    store: &mut Store,
    period: Duration,
    refit_drift: Option<f64>,
) -> Result<(), StoreError> {
    if !plans_anything(period, refit_drift) {
        return Ok(());
    }
    store.enqueue_job(&planner_at(Utc::now()).as_new())?;
    Ok(())
}

/// Whether the planner has anything to do: refreshes to plan or refits to queue.
fn plans_anything(period: Duration, refit_drift: Option<f64>) -> bool {
    !period.is_zero() || refit_drift.is_some()
}

/// The planner's job, due at `at`.
fn planner_at(at: DateTime<Utc>) -> Planned {
    Planned {
        kind: PLAN.to_owned(),
        payload: json!({}),
        owner: None,
        max_attempts: 3,
        run_after: at,
        dedup_key: Some(PLAN.to_owned()),
    }
}

/// A refresh of `principal`'s accounts, due at `at`.
fn refresh_at(principal: &str, at: DateTime<Utc>) -> Planned {
    Planned {
        kind: REFRESH.to_owned(),
        payload: json!({ "principal": principal }),
        owner: Some(principal.to_owned()),
        max_attempts: REFRESH_ATTEMPTS,
        run_after: at,
        dedup_key: Some(refresh_key(principal)),
    }
}

/// The key that keeps one refresh per person unfinished.
fn refresh_key(principal: &str) -> String {
    format!("{REFRESH}:{principal}")
}

/// `now + period × factor`, the factor drawn from `range`.
fn jittered(now: DateTime<Utc>, period: Duration, range: std::ops::Range<f64>) -> DateTime<Utc> {
    let factor = rand::rng().random_range(range);
    let offset = chrono::Duration::from_std(period.mul_f64(factor)).unwrap_or_default();
    now.checked_add_signed(offset).unwrap_or(now)
}

/// Plans a first refresh for every person with an OAuth account and none planned, each at
/// a random point within one period; queues a refit when the corpus drifted past
/// [`ServeConfig::refit_drift`](crate::ServeConfig::refit_drift) since the last one; then
/// queues itself again.
struct PlanRunner(AppState);

/// A refit queued because the corpus drifted: one at a time however many planners look.
fn due_refit(at: DateTime<Utc>) -> Planned {
    Planned {
        kind: VECTORIZE.to_owned(),
        payload: json!({ "reason": "drift" }),
        owner: None,
        max_attempts: 3,
        run_after: at,
        dedup_key: Some(VECTORIZE.to_owned()),
    }
}

#[async_trait(?Send)]
impl JobRunner for PlanRunner {
    async fn run(&self, store: &mut Store, _job: &Claimed) -> Result<Value, JobFailure> {
        let period = self.0.config().refresh_period;
        let mut planned = 0u64;
        if !period.is_zero() {
            loop {
                let people = store
                    .principals_without_job(&refresh_key(""), PLAN_BATCH)
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
                let now = Utc::now();
                let planned_runs: Vec<Planned> = people
                    .iter()
                    .map(|principal| refresh_at(principal, jittered(now, period, 0.0..1.0)))
                    .collect();
                let jobs: Vec<_> = planned_runs.iter().map(Planned::as_new).collect();
                store
                    .enqueue_jobs(&jobs)
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
                planned += people.len() as u64;
                if people.len() < PLAN_BATCH as usize {
                    break;
                }
            }
        }
        let mut refit_queued = false;
        if let Some(threshold) = self.0.config().refit_drift {
            let drift = store
                .drift()
                .map_err(|e| JobFailure::Retry(e.to_string()))?;
            if drift.is_some_and(|d| d > threshold) {
                store
                    .enqueue_job(&due_refit(Utc::now()).as_new())
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
                refit_queued = true;
            }
        }
        Ok(json!({ "planned": planned, "refit_queued": refit_queued }))
    }

    fn next(&self, _job: &Job, _outcome: &Result<Value, JobFailure>) -> Option<Planned> {
        let config = self.0.config();
        let period = config.refresh_period;
        if !plans_anything(period, config.refit_drift) {
            return None;
        }
        let every = if period.is_zero() {
            PLAN_EVERY
        } else {
            PLAN_EVERY.min(period / 2).max(Duration::from_secs(1))
        };
        Some(planner_at(jittered(Utc::now(), every, 1.0..1.1)))
    }
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

    /// The next scheduled refresh, a period later, unless schedules are off or none of
    /// the person's accounts can be refreshed (connected by exports only).
    fn next(&self, job: &Job, outcome: &Result<Value, JobFailure>) -> Option<Planned> {
        let period = self.0.config().refresh_period;
        let principal = job.payload.get("principal").and_then(Value::as_str)?;
        if period.is_zero() {
            return None;
        }
        if let Ok(report) = outcome {
            let accounts = report["accounts"].as_array()?;
            if accounts.iter().all(|a| a["outcome"] == "skipped") {
                return None;
            }
        }
        Some(refresh_at(
            principal,
            jittered(Utc::now(), period, 0.9..1.1),
        ))
    }
}

/// Imports an uploaded export for the payload's principal
/// ([`crate::connect::upload::import`]).
struct ImportExportRunner(AppState);

#[async_trait(?Send)]
impl JobRunner for ImportExportRunner {
    async fn run(&self, store: &mut Store, job: &Claimed) -> Result<Value, JobFailure> {
        let answer = crate::connect::upload::import(&self.0, store, job).await?;
        // This worker's connection is not the pool's: tell the match index.
        self.0.matches().invalidate();
        Ok(answer)
    }
}

/// Queues a refresh of `principal`'s accounts, or finds the one already queued or running.
pub(crate) async fn enqueue_refresh(state: &AppState, principal: &str) -> Result<Job, Problem> {
    let owner = principal.to_owned();
    let job = state
        .db(move |store| {
            let enqueued = store.enqueue_job(&refresh_at(&owner, Utc::now()).as_new())?;
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
