//! Running the store's job queue: [`run_worker`] claims due jobs, hands each to the
//! [`JobRunner`] of its kind, keeps its lease renewed while it runs and ends it as the
//! runner says: succeeded with a result, failed for good ([`JobFailure::Permanent`]), or
//! back to the queue after an exponential backoff ([`JobFailure::Retry`]) until its
//! attempts are spent and it is a dead letter. How claims, leases and dead letters behave
//! is the store's (`toker_store`'s `jobs` module docs).
//!
//! On shutdown a worker stops claiming, cancels the job it runs at its next wait (a
//! collection commits each page with its checkpoint, so nothing read is lost) and gives it
//! back to the queue without counting the attempt. A worker killed outright loses nothing
//! either: its lease expires and another worker takes the job as a new attempt. A worker
//! that finds its lease taken over (it stalled past the lease, e.g. a paused process)
//! cancels the job the same way and leaves it to the new holder.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use toker_processing::VectorizerConfig;
use toker_store::{Claimed, Job, JobEnd, JobState, NewJob, Store, StoreError};
use tokio::sync::{Notify, watch};

use crate::error::CollectError;
use crate::vectorize::vectorize_store;

/// The kind of a store-wide vector refit ([`VectorizeRunner`]).
pub const VECTORIZE: &str = "vectorize";

/// Why a job's attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// Worth another attempt later (a platform or database that failed for now).
    Retry(String),
    /// Another attempt would fail the same way (a bad payload, a rejected profile).
    Permanent(String),
}

/// What runs the jobs of one kind.
#[async_trait(?Send)]
pub trait JobRunner: Send + Sync {
    /// Runs one attempt of `job` on `store` (a connection of its own; the call runs on a
    /// blocking thread inside the tokio runtime, so store calls may block). The future
    /// may be dropped at any await point when the worker shuts down.
    ///
    /// # Errors
    /// [`JobFailure`]: how the attempt failed.
    async fn run(&self, store: &mut Store, job: &Claimed) -> Result<Value, JobFailure>;

    /// The job to queue when this attempt ends as `outcome` (the next run of a schedule),
    /// in the same transaction that ends it; none by default. A `next` with this job's
    /// `dedup_key` is free to take it once this one ended; after a retryable failure the
    /// job itself is queued again under its key, and `next` then only moves it earlier.
    fn next(&self, _job: &Job, _outcome: &Result<Value, JobFailure>) -> Option<Planned> {
        None
    }
}

/// A job to queue ([`JobRunner::next`]): an owned [`NewJob`].
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// What to do.
    pub kind: String,
    /// Its parameters.
    pub payload: Value,
    /// Who it is for.
    pub owner: Option<String>,
    /// Attempts before it is dead.
    pub max_attempts: u32,
    /// Not claimed before this time.
    pub run_after: DateTime<Utc>,
    /// At most one unfinished job has this key.
    pub dedup_key: Option<String>,
}

impl Planned {
    /// As the store queues it.
    #[must_use]
    pub fn as_new(&self) -> NewJob<'_> {
        NewJob {
            kind: &self.kind,
            payload: &self.payload,
            input: None,
            owner: self.owner.as_deref(),
            max_attempts: self.max_attempts,
            run_after: self.run_after,
            dedup_key: self.dedup_key.as_deref(),
        }
    }
}

/// Refits the vocabulary over the whole store ([`vectorize_store`]).
#[derive(Debug, Clone)]
pub struct VectorizeRunner(pub VectorizerConfig);

#[async_trait(?Send)]
impl JobRunner for VectorizeRunner {
    async fn run(&self, store: &mut Store, _job: &Claimed) -> Result<Value, JobFailure> {
        match vectorize_store(store, self.0) {
            Ok(report) => serde_json::to_value(report)
                .map_err(|e| JobFailure::Permanent(format!("the report cannot be told: {e}"))),
            Err(CollectError::Processing(e)) => Err(JobFailure::Permanent(e.to_string())),
            Err(e) => Err(JobFailure::Retry(e.to_string())),
        }
    }
}

/// Opens a store connection for a worker (e.g. with the vectorizer installed).
pub type OpenStore = Arc<dyn Fn() -> Result<Store, StoreError> + Send + Sync>;

/// How an attempt of a job ended, as the worker that ran it saw it ([`JobObserver`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The job succeeded.
    Succeeded,
    /// The job failed for good ([`JobFailure::Permanent`], or no runner for its kind).
    Failed,
    /// The attempt failed and the job is queued again for a later one.
    Retry,
    /// The last attempt failed: the job is a dead letter.
    Dead,
    /// Given back to the queue at shutdown, the attempt not counted.
    Released,
    /// Another worker took the job's lease over before this one ended it.
    Lost,
}

impl Outcome {
    /// Every outcome, in the order above.
    pub const ALL: [Outcome; 6] = [
        Outcome::Succeeded,
        Outcome::Failed,
        Outcome::Retry,
        Outcome::Dead,
        Outcome::Released,
        Outcome::Lost,
    ];

    /// A short lowercase name (`succeeded`, `failed`, `retry`, `dead`, `released`, `lost`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
            Outcome::Released => "released",
            Outcome::Lost => "lost",
        }
    }
}

/// Told of every attempt a worker ends (e.g. to count outcomes for monitoring); called on
/// the worker's task, so it must return at once.
pub trait JobObserver: Send + Sync {
    /// An attempt of a job of `kind` ended as `outcome`.
    fn ended(&self, kind: &str, outcome: Outcome);
}

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// The worker's name in the leases it takes (unique among the running workers, e.g.
    /// `host:pid`).
    pub name: String,
    /// How many jobs it runs at once (each on its own store connection).
    pub concurrency: usize,
    /// How long a lease lasts; it is renewed every third of it.
    pub lease: Duration,
    /// How long to wait when nothing is due.
    pub poll_interval: Duration,
    /// Stop when nothing is due instead of waiting (drain the queue and exit).
    pub once: bool,
    /// The wait before the first retry; it doubles with each attempt (at most an hour).
    pub retry_base: Duration,
    /// Wakes an idle slot before its poll interval ends (e.g. the server that queued a job
    /// in the same process calls `notify_one`).
    pub wake: Option<Arc<Notify>>,
    /// Told of every attempt's outcome; `None` tells no one.
    pub observer: Option<Arc<dyn JobObserver>>,
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("name", &self.name)
            .field("concurrency", &self.concurrency)
            .field("lease", &self.lease)
            .field("poll_interval", &self.poll_interval)
            .field("once", &self.once)
            .field("retry_base", &self.retry_base)
            .field("wake", &self.wake.is_some())
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl WorkerOptions {
    /// Tells the observer, if any, that an attempt of a `kind` job ended as `outcome`.
    fn observe(&self, kind: &str, outcome: Outcome) {
        if let Some(observer) = &self.observer {
            observer.ended(kind, outcome);
        }
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            name: format!("worker-{}", std::process::id()),
            concurrency: 1,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            once: false,
            retry_base: Duration::from_secs(30),
            wake: None,
            observer: None,
        }
    }
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkerReport {
    /// Jobs that succeeded.
    pub succeeded: u64,
    /// Attempts that failed (retried later, failed for good or dead).
    pub failed: u64,
    /// Jobs given back to the queue at shutdown.
    pub released: u64,
    /// Jobs whose lease another worker took over before this one ended them.
    pub lost: u64,
}

impl WorkerReport {
    fn add(&mut self, other: WorkerReport) {
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.released += other.released;
        self.lost += other.lost;
    }
}

/// The wait before attempt `attempt + 1`: `base`, doubled per attempt, at most an hour.
#[must_use]
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(Duration::from_secs(3600))
}

/// Runs jobs until `shutdown` turns `true` (or, with [`WorkerOptions::once`], until nothing
/// is due), `concurrency` at a time; jobs of a kind without a runner fail for good.
///
/// # Errors
/// [`CollectError::Store`] when a store cannot be opened, or (with [`WorkerOptions::once`])
/// when claiming or ending a job fails; otherwise such failures are logged and retried.
pub async fn run_worker(
    open: OpenStore,
    runners: Arc<HashMap<String, Arc<dyn JobRunner>>>,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<WorkerReport, CollectError> {
    let slots: Vec<_> = (0..options.concurrency.max(1))
        .map(|slot| {
            let mut options = options.clone();
            if options.concurrency > 1 {
                options.name = format!("{}/{slot}", options.name);
            }
            tokio::spawn(run_slot(
                Arc::clone(&open),
                Arc::clone(&runners),
                options,
                shutdown.clone(),
            ))
        })
        .collect();
    let mut report = WorkerReport::default();
    let mut failure = None;
    for slot in slots {
        match slot.await {
            Ok(Ok(done)) => report.add(done),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    failure.map_or(Ok(report), Err)
}

/// Runs `work` on a blocking thread with `store`, and hands the store back.
async fn blocking<T: Send + 'static>(
    mut store: Store,
    work: impl FnOnce(&mut Store) -> T + Send + 'static,
) -> (Store, T) {
    match tokio::task::spawn_blocking(move || {
        let done = work(&mut store);
        (store, done)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// One job at a time, on a connection for the work and one for its lease.
async fn run_slot(
    open: OpenStore,
    runners: Arc<HashMap<String, Arc<dyn JobRunner>>>,
    options: WorkerOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<WorkerReport, CollectError> {
    let opener = Arc::clone(&open);
    let opened =
        tokio::task::spawn_blocking(move || Ok::<_, StoreError>((opener()?, opener()?))).await;
    let (mut work, mut leases) = match opened {
        Ok(stores) => stores?,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    let mut report = WorkerReport::default();
    loop {
        if *shutdown.borrow() {
            return Ok(report);
        }
        let (name, lease) = (options.name.clone(), options.lease);
        let claimed;
        (leases, claimed) = blocking(leases, move |s| s.claim_job(&name, lease, Utc::now())).await;
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) if options.once => return Err(e.into()),
            Err(e) => {
                // A database that failed for now: try again after the poll interval.
                tracing::warn!(worker = %options.name, error = %e, "could not claim a job");
                None
            }
        };
        let Some(claimed) = claimed else {
            if options.once {
                return Ok(report);
            }
            let woken = async {
                match &options.wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(options.poll_interval) => {}
                () = woken => {}
                _ = shutdown.changed() => {}
            }
            continue;
        };
        let lease = claimed.lease.clone();
        let attempt = lease.attempt;
        let runner = runners.get(&claimed.job.kind).cloned();
        let planner = runner.clone();
        let claimed_job = claimed.job.clone();
        let kind = claimed.job.kind.clone();
        let mut stop = shutdown.clone();
        // Turned `true` when the lease is lost: the runner is cancelled as at shutdown.
        let (lost_tx, mut lost) = watch::channel(false);
        let runtime = tokio::runtime::Handle::current();
        let mut job = tokio::task::spawn_blocking(move || {
            let outcome = match runner {
                None => Some(Err(JobFailure::Permanent(format!(
                    "no runner for jobs of kind {kind:?} in this worker"
                )))),
                Some(runner) => runtime.block_on(async {
                    tokio::select! {
                        done = runner.run(&mut work, &claimed) => Some(done),
                        _ = stop.wait_for(|stopping| *stopping) => None,
                        _ = lost.wait_for(|lost| *lost) => None,
                    }
                }),
            };
            (work, outcome)
        });
        // Renew the lease while the job runs.
        let outcome;
        loop {
            tokio::select! {
                done = &mut job => {
                    let done = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                    (work, outcome) = done;
                    break;
                }
                () = tokio::time::sleep(options.lease / 3) => {
                    let (held, duration) = (lease.clone(), options.lease);
                    let renewed;
                    (leases, renewed) = blocking(leases, move |s| {
                        s.renew_lease(&held, duration, None, Utc::now())
                    })
                    .await;
                    match renewed {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(job = lease.job_id, "lost the lease of a running job; cancelling it");
                            lost_tx.send_replace(true);
                        }
                        Err(e) => tracing::warn!(job = lease.job_id, error = %e, "could not renew a lease"),
                    }
                }
            }
        }
        if outcome.is_none() && *lost_tx.borrow() {
            // Another worker holds the job now: nothing of it is this worker's to end.
            report.lost += 1;
            options.observe(&claimed_job.kind, Outcome::Lost);
            continue;
        }
        let Some(outcome) = outcome else {
            let held = lease.clone();
            let (_, released) = blocking(leases, move |s| s.release_job(&held, Utc::now())).await;
            if released? {
                report.released += 1;
                options.observe(&claimed_job.kind, Outcome::Released);
            }
            return Ok(report);
        };
        let retry_after = backoff(options.retry_base, attempt);
        let next = planner.and_then(|r| r.next(&claimed_job, &outcome));
        let held = lease.clone();
        let ended;
        (leases, ended) = blocking(leases, move |s| {
            let end = match &outcome {
                Ok(result) => JobEnd::Succeeded(result),
                Err(JobFailure::Permanent(error)) => JobEnd::Failed(error),
                Err(JobFailure::Retry(error)) => JobEnd::Retry {
                    error,
                    after: retry_after,
                },
            };
            let next = next.as_ref().map(Planned::as_new);
            s.finish_job(&held, end, next.as_ref(), Utc::now())
                .map(|ended| ended.map(|job| job.state))
        })
        .await;
        let ended = match ended {
            Ok(ended) => ended,
            Err(e) if options.once => return Err(e.into()),
            Err(e) => {
                // Its lease expires and the job is claimed again, as a new attempt.
                tracing::warn!(job = lease.job_id, error = %e, "could not end a job");
                continue;
            }
        };
        let outcome = match ended {
            Some(JobState::Succeeded) => Outcome::Succeeded,
            Some(JobState::Failed) => Outcome::Failed,
            Some(JobState::Dead) => Outcome::Dead,
            Some(JobState::Queued | JobState::Running) => Outcome::Retry,
            None => {
                tracing::warn!(job = lease.job_id, "another worker took the job over");
                Outcome::Lost
            }
        };
        match outcome {
            Outcome::Succeeded => report.succeeded += 1,
            Outcome::Lost => report.lost += 1,
            _ => report.failed += 1,
        }
        options.observe(&claimed_job.kind, outcome);
    }
}
