//! The durable job queue: work handed from the API (or a schedule) to the workers that run
//! it, in the `jobs` table of the same database.
//!
//! A job is [`JobState::Queued`] until a worker claims it ([`Store::claim_job`]), which
//! makes it [`JobState::Running`] under a [`Lease`]: the worker's name, the attempt number
//! and an expiry the worker pushes forward while it runs ([`Store::renew_lease`]). A lease
//! that expires (its worker died or hung) makes the job claimable again, as a new attempt.
//! Every change a worker makes afterwards ([`Store::renew_lease`], [`Store::finish_job`],
//! [`Store::release_job`]) is conditional on still holding that lease, so a worker whose
//! job was taken over cannot overwrite what the new holder does.
//!
//! Claiming is one statement: `UPDATE jobs … WHERE id = (SELECT id … LIMIT 1) RETURNING …`,
//! on PostgreSQL with `FOR UPDATE SKIP LOCKED` in the sub-select (concurrent claimers skip
//! each other's rows instead of waiting), on SQLite in an immediate transaction (one
//! writer at a time). Either way two claimers never get the same job.
//!
//! A job ends [`JobState::Succeeded`] with a result, [`JobState::Failed`] (a failure that
//! retrying cannot mend), or, after a retryable failure, goes back to the queue for a later
//! attempt until its `max_attempts` are spent, when it ends [`JobState::Dead`] with the
//! last reason. A job whose lease expired on its last attempt is dead too. How long to wait
//! before a retry is the caller's ([`JobEnd::Retry`]).
//!
//! A job may carry a `dedup_key`: at most one unfinished job has a given key. Enqueueing a
//! key that is queued already returns that job (moved earlier if the new one is due
//! sooner), which is how a planned refresh and a person's "refresh now" stay one job.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub(crate) mod rows;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::backend::dispatch;
use crate::connection::Transactions;
use crate::error::StoreError;
use crate::store::Store;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (from its `run_after`).
    Queued,
    /// Claimed by a worker that holds its lease.
    Running,
    /// Done, with a result.
    Succeeded,
    /// Ended by a failure that retrying cannot mend.
    Failed,
    /// Every attempt failed (or its worker vanished on the last one): a dead letter.
    Dead,
}

impl JobState {
    /// Every state, in the order above.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Dead,
    ];

    /// The name stored in the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
        }
    }

    /// Whether the job has ended (nothing will run it again).
    #[must_use]
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Dead
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown job state {s:?}: expected one of queued, running, succeeded, \
                     failed, dead"
                )
            })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// What to do (e.g. `refresh`); the workers' vocabulary, not the store's.
    pub kind: &'a str,
    /// The job's parameters.
    pub payload: &'a Value,
    /// A file the job reads (e.g. an uploaded export), kept until the job ends.
    pub input: Option<&'a [u8]>,
    /// The principal the job is for, who may see it; erased with them.
    pub owner: Option<&'a str>,
    /// How many attempts before the job is dead (at least 1).
    pub max_attempts: u32,
    /// Not claimed before this time.
    pub run_after: DateTime<Utc>,
    /// At most one unfinished job has this key.
    pub dedup_key: Option<&'a str>,
}

/// A job, as stored (its input file is not read: see [`Claimed::input`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// The job's id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// The job's parameters.
    pub payload: Value,
    /// Whether the job carries an input file (dropped when it ends).
    pub has_input: bool,
    /// The principal the job is for.
    pub owner: Option<String>,
    #[allow(missing_docs, reason = "the name says it all")]
    pub state: JobState,
    /// Attempts started so far (claims).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Not claimed before this time.
    pub run_after: DateTime<Utc>,
    /// The worker holding (or last holding) the lease.
    pub lease_owner: Option<String>,
    /// When the current lease expires.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The worker's last report of its progress.
    pub progress: Option<Value>,
    /// What the job came to, when it succeeded.
    pub result: Option<Value>,
    /// The last failure's reason.
    pub error: Option<String>,
    /// The key that keeps it unique among unfinished jobs.
    pub dedup_key: Option<String>,
    #[allow(missing_docs, reason = "the name says it all")]
    pub created_at: DateTime<Utc>,
    #[allow(missing_docs, reason = "the name says it all")]
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What [`Store::enqueue_job`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    /// The job (the one already queued with the same `dedup_key`, if any).
    pub job: Job,
    /// Whether this call created it.
    pub created: bool,
}

/// A worker's hold on a running job: every later change is conditional on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: i64,
    /// The worker that claimed it.
    pub worker: String,
    /// Which attempt this claim is (1 for the first).
    pub attempt: u32,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The job, as it is now (running, its attempt counted).
    pub job: Job,
    /// Its input file, if it has one.
    pub input: Option<Vec<u8>>,
    /// The lease to renew, finish or release it with.
    pub lease: Lease,
}

/// How a job's attempt ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JobEnd<'a> {
    /// Done, with this result.
    Succeeded(&'a Value),
    /// Failed in a way retrying cannot mend: the job ends [`JobState::Failed`].
    Failed(&'a str),
    /// Failed; try again after `after` unless this was the last attempt, which makes the
    /// job [`JobState::Dead`].
    Retry {
        /// Why.
        error: &'a str,
        /// How long to wait before the next attempt.
        after: Duration,
    },
}

/// How many jobs are in each state (for a kind, or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    #[allow(missing_docs, reason = "the name says it all")]
    pub queued: u64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub running: u64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub succeeded: u64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub failed: u64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub dead: u64,
}

impl JobCounts {
    /// The count of `state`.
    #[must_use]
    pub const fn of(&self, state: JobState) -> u64 {
        match state {
            JobState::Queued => self.queued,
            JobState::Running => self.running,
            JobState::Succeeded => self.succeeded,
            JobState::Failed => self.failed,
            JobState::Dead => self.dead,
        }
    }

    /// Adds `n` jobs in `state`.
    pub(crate) fn add(&mut self, state: JobState, n: u64) {
        let count = match state {
            JobState::Queued => &mut self.queued,
            JobState::Running => &mut self.running,
            JobState::Succeeded => &mut self.succeeded,
            JobState::Failed => &mut self.failed,
            JobState::Dead => &mut self.dead,
        };
        *count += n;
    }
}

/// `t + d`, saturating at the end of time.
pub(crate) fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Which row lock a backend's claim takes in its sub-select.
pub(crate) trait ClaimLock {
    /// Appended to the claim's sub-select.
    const LOCK: &'static str;
}

impl ClaimLock for diesel::SqliteConnection {
    // One writer at a time: the immediate transaction is the lock.
    const LOCK: &'static str = "";
}

#[cfg(feature = "postgres")]
impl ClaimLock for diesel::PgConnection {
    const LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
}

impl Store {
    /// Queues a job. With a `dedup_key` that an unfinished job has already, nothing is
    /// added: that job is returned (its `run_after` moved to the new one's if that is
    /// sooner and it is still queued), with `created: false`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for `max_attempts` 0 or a payload that cannot be stored;
    /// [`StoreError::Busy`]; [`StoreError::Database`] (e.g. an owner that is not stored).
    pub fn enqueue_job(&mut self, job: &NewJob<'_>) -> Result<Enqueued, StoreError> {
        let context = format!("queueing a {} job", job.kind);
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| q::jobs::enqueue(c, job)))
    }

    /// Queues every job of `jobs` in one transaction (each as [`Store::enqueue_job`] does,
    /// dedup keys included), in order: all of them or, on an error, none.
    ///
    /// # Errors
    /// As [`Store::enqueue_job`], for the first job that cannot be queued.
    pub fn enqueue_jobs(&mut self, jobs: &[NewJob<'_>]) -> Result<Vec<Enqueued>, StoreError> {
        let context = format!("queueing {} jobs", jobs.len());
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            jobs.iter().map(|job| q::jobs::enqueue(c, job)).collect()
        }))
    }

    /// The job with this id, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt row.
    pub fn get_job(&mut self, id: i64) -> Result<Option<Job>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::jobs::get(c, id))
    }

    /// Every job of `kind` (or of every kind), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt row.
    pub fn list_jobs(&mut self, kind: Option<&str>) -> Result<Vec<Job>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::jobs::list(c, kind))
    }

    /// The queued and running jobs of `kind` that `owner` owns, oldest first (e.g. the
    /// imports a person's page says are under way).
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt row.
    pub fn unfinished_jobs_of(&mut self, owner: &str, kind: &str) -> Result<Vec<Job>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::jobs::unfinished_of(
            c, owner, kind
        ))
    }

    /// How many jobs (of `kind`, or of every kind) are in each state.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn count_jobs(&mut self, kind: Option<&str>) -> Result<JobCounts, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::jobs::count(c, kind))
    }

    /// How many jobs of each kind are in each state, by kind (in name order; kinds with
    /// no job are absent). One grouped query, for monitoring.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt row.
    pub fn count_jobs_by_kind(&mut self) -> Result<Vec<(String, JobCounts)>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::jobs::count_by_kind(c))
    }

    /// Claims the next job due at `now` for `worker`, with a lease until `now + lease_for`:
    /// the oldest due queued job, or a running one whose lease expired (a new attempt).
    /// Running jobs whose lease expired on their last attempt become dead first. `None`
    /// when nothing is due.
    ///
    /// # Errors
    /// [`StoreError::Busy`]; [`StoreError::Database`]; [`StoreError::Invalid`] for a
    /// corrupt row.
    pub fn claim_job(
        &mut self,
        worker: &str,
        lease_for: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Claimed>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c.write("claiming a job", |c| {
            q::jobs::claim(c, worker, lease_for, now)
        }))
    }

    /// Extends a lease to `now + lease_for`, recording `progress` when given: `false` if
    /// the lease is no longer held (it expired and another worker took the job, or the
    /// job ended), in which case the caller must stop working on it.
    ///
    /// # Errors
    /// [`StoreError::Busy`]; [`StoreError::Database`]; [`StoreError::Invalid`] for a
    /// progress that cannot be stored.
    pub fn renew_lease(
        &mut self,
        lease: &Lease,
        lease_for: Duration,
        progress: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let context = format!("renewing the lease of job {}", lease.job_id);
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::jobs::renew(c, lease, lease_for, progress, now)
        }))
    }

    /// Ends the attempt held by `lease` as `end` says and, in the same transaction,
    /// queues `next` (e.g. the next planned run; its `dedup_key` may be this job's, which
    /// is free once this one is no longer queued). `None` if the lease is no longer held:
    /// nothing is changed, `next` is not queued.
    ///
    /// # Errors
    /// [`StoreError::Busy`]; [`StoreError::Database`]; [`StoreError::Invalid`] for a
    /// result that cannot be stored.
    pub fn finish_job(
        &mut self,
        lease: &Lease,
        end: JobEnd<'_>,
        next: Option<&NewJob<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let context = format!("ending job {}", lease.job_id);
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::jobs::finish(c, lease, end, next, now)
        }))
    }

    /// Up to `limit` principals with an OAuth-connected account and no unfinished job
    /// keyed `{key_prefix}{principal}`: the people a schedule has not planned a job for
    /// yet (ordered by id).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn principals_without_job(
        &mut self,
        key_prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::jobs::principals_without_job(
            c, key_prefix, limit
        ))
    }

    /// Gives a job back to the queue without counting the attempt (a worker shutting
    /// down): `false` if the lease was no longer held.
    ///
    /// # Errors
    /// [`StoreError::Busy`]; [`StoreError::Database`].
    pub fn release_job(&mut self, lease: &Lease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let context = format!("releasing job {}", lease.job_id);
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| q::jobs::release(c, lease, now)))
    }
}
