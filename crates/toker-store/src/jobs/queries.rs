// The job queue.
//
// Included once per backend by `crate::backend`; `Conn` is that backend's connection.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::Value;

use super::Conn;
use crate::checkpoints::rows::{invalid, json_in};
use crate::columns::{DbTime, db_time};
use crate::error::{StoreError, db};
use crate::jobs::rows::{JOB_COLUMNS, JobDbRow, NewJobRow};
use crate::jobs::{ClaimLock, Claimed, Enqueued, Job, JobCounts, JobEnd, JobState, Lease, NewJob, after};
use crate::schema::jobs;
use crate::schema::sql_types::UtcTime;

const UNFINISHED: [&str; 2] = ["queued", "running"];

pub(crate) fn get(c: &mut Conn, id: i64) -> Result<Option<Job>, StoreError> {
    jobs::table
        .find(id)
        .select((JobDbRow::as_select(), jobs::input.is_not_null()))
        .first::<(JobDbRow, bool)>(c)
        .optional()
        .map_err(db(format!("loading job {id}")))?
        .map(|(row, has_input)| row.job(has_input))
        .transpose()
}

pub(crate) fn list(c: &mut Conn, kind: Option<&str>) -> Result<Vec<Job>, StoreError> {
    let mut query = jobs::table
        .select((JobDbRow::as_select(), jobs::input.is_not_null()))
        .order(jobs::id)
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(jobs::kind.eq(kind));
    }
    query
        .load::<(JobDbRow, bool)>(c)
        .map_err(db("listing jobs"))?
        .into_iter()
        .map(|(row, has_input)| row.job(has_input))
        .collect()
}

pub(crate) fn unfinished_of(c: &mut Conn, owner: &str, kind: &str) -> Result<Vec<Job>, StoreError> {
    jobs::table
        .filter(jobs::owner.eq(owner))
        .filter(jobs::kind.eq(kind))
        .filter(jobs::state.eq_any(UNFINISHED))
        .select((JobDbRow::as_select(), jobs::input.is_not_null()))
        .order(jobs::id)
        .load::<(JobDbRow, bool)>(c)
        .map_err(db(format!("listing the unfinished {kind} jobs of {owner}")))?
        .into_iter()
        .map(|(row, has_input)| row.job(has_input))
        .collect()
}

pub(crate) fn count(c: &mut Conn, kind: Option<&str>) -> Result<JobCounts, StoreError> {
    let rows: Vec<(String, i64)> = match kind {
        Some(kind) => jobs::table
            .filter(jobs::kind.eq(kind))
            .group_by(jobs::state)
            .select((jobs::state, diesel::dsl::count_star()))
            .load(c),
        None => jobs::table
            .group_by(jobs::state)
            .select((jobs::state, diesel::dsl::count_star()))
            .load(c),
    }
    .map_err(db("counting jobs"))?;
    let mut counts = JobCounts::default();
    for (state, n) in rows {
        let state = state.parse::<JobState>().map_err(|m| invalid("a job", m))?;
        counts.add(state, u64::try_from(n).unwrap_or_default());
    }
    Ok(counts)
}

pub(crate) fn count_by_kind(c: &mut Conn) -> Result<Vec<(String, JobCounts)>, StoreError> {
    let rows: Vec<(String, String, i64)> = jobs::table
        .group_by((jobs::kind, jobs::state))
        .select((jobs::kind, jobs::state, diesel::dsl::count_star()))
        .order((jobs::kind, jobs::state))
        .load(c)
        .map_err(db("counting jobs by kind"))?;
    let mut by_kind: Vec<(String, JobCounts)> = Vec::new();
    for (kind, state, n) in rows {
        let n = u64::try_from(n).unwrap_or_default();
        if by_kind.last().is_none_or(|(last, _)| *last != kind) {
            by_kind.push((kind, JobCounts::default()));
        }
        if let Some((_, counts)) = by_kind.last_mut() {
            let state = state.parse::<JobState>().map_err(|m| invalid("a job", m))?;
            counts.add(state, n);
        }
    }
    Ok(by_kind)
}

/// The unfinished job with this key, if any.
fn unfinished_by_key(c: &mut Conn, key: &str) -> Result<Option<JobDbRow>, StoreError> {
    jobs::table
        .filter(jobs::dedup_key.eq(key))
        .filter(jobs::state.eq_any(UNFINISHED))
        .select(JobDbRow::as_select())
        .first(c)
        .optional()
        .map_err(db(format!("looking up the unfinished job {key:?}")))
}

pub(crate) fn enqueue(c: &mut Conn, job: &NewJob<'_>) -> Result<Enqueued, StoreError> {
    let record = format!("a {} job", job.kind);
    if job.max_attempts == 0 {
        return Err(invalid(record, "max_attempts is 0: expected at least 1"));
    }
    let max_attempts = i32::try_from(job.max_attempts)
        .map_err(|_| invalid(&record, format!("max_attempts {} is too large", job.max_attempts)))?;
    let now = DbTime::now();
    let run_after = db_time(job.run_after);
    let row = NewJobRow {
        kind: job.kind,
        payload: json_in(&record, "its payload", job.payload)?,
        input: job.input,
        owner: job.owner,
        state: JobState::Queued.as_str(),
        attempts: 0,
        max_attempts,
        run_after,
        dedup_key: job.dedup_key,
        created_at: now,
        updated_at: now,
    };
    // A concurrent enqueue of the same key may win between the look-up and the insert
    // (PostgreSQL): the insert then does nothing and the look-up is tried again.
    for _ in 0..3 {
        if let Some(key) = job.dedup_key
            && let Some(existing) = unfinished_by_key(c, key)?
        {
            if existing.state == JobState::Queued.as_str() && run_after < existing.run_after {
                diesel::update(jobs::table.find(existing.id))
                    .set((jobs::run_after.eq(run_after), jobs::updated_at.eq(now)))
                    .execute(c)
                    .map_err(db(format!("moving job {} earlier", existing.id)))?;
            }
            let job = get(c, existing.id)?.ok_or_else(|| StoreError::NotFound {
                what: format!("job {}", existing.id),
            })?;
            return Ok(Enqueued { job, created: false });
        }
        let inserted = diesel::insert_into(jobs::table)
            .values(&row)
            .on_conflict_do_nothing()
            .returning(JobDbRow::as_returning())
            .get_result::<JobDbRow>(c)
            .optional()
            .map_err(db(format!("queueing {record}")))?;
        if let Some(inserted) = inserted {
            return Ok(Enqueued {
                job: inserted.job(job.input.is_some())?,
                created: true,
            });
        }
    }
    Err(invalid(record, "its dedup_key kept changing hands; try again"))
}

/// The rows `lease` still holds (none if it was taken over or the job ended).
macro_rules! held {
    ($lease:expr) => {{
        let lease: &Lease = $lease;
        jobs::table
            .filter(jobs::id.eq(lease.job_id))
            .filter(jobs::state.eq(JobState::Running.as_str()))
            .filter(jobs::lease_owner.eq(lease.worker.clone()))
            .filter(jobs::attempts.eq(i32::try_from(lease.attempt).unwrap_or(i32::MAX)))
    }};
}

pub(crate) fn claim(
    c: &mut Conn,
    worker: &str,
    lease_for: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, StoreError> {
    let now = db_time(now);
    let expires = db_time(after(now.0, lease_for));
    // A job whose last attempt's worker vanished is a dead letter, not a new attempt.
    diesel::update(
        jobs::table
            .filter(jobs::state.eq(JobState::Running.as_str()))
            .filter(jobs::lease_expires_at.le(now))
            .filter(jobs::attempts.ge(jobs::max_attempts)),
    )
    .set((
        jobs::state.eq(JobState::Dead.as_str()),
        jobs::error.eq("the worker of its last attempt stopped renewing its lease (it was \
                        stopped or lost its database connection)"),
        jobs::input.eq(None::<Vec<u8>>),
        jobs::lease_expires_at.eq(None::<DbTime>),
        jobs::finished_at.eq(Some(now)),
        jobs::updated_at.eq(now),
    ))
    .execute(c)
    .map_err(db("ending jobs whose last lease expired"))?;

    // `$n` parameters, first used in increasing order: PostgreSQL's placeholders, and
    // SQLite's named ones, which it numbers by first use (so both bind the same way).
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
         lease_expires_at = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs \
             WHERE (state = 'queued' AND run_after <= $3) \
                OR (state = 'running' AND lease_expires_at <= $3) \
             ORDER BY run_after, id LIMIT 1{}) \
         RETURNING {JOB_COLUMNS}",
        <Conn as ClaimLock>::LOCK
    );
    let Some(row) = diesel::sql_query(sql)
        .bind::<Text, _>(worker)
        .bind::<UtcTime, _>(expires)
        .bind::<UtcTime, _>(now)
        .get_result::<JobDbRow>(c)
        .optional()
        .map_err(db("claiming the next due job"))?
    else {
        return Ok(None);
    };
    let input = jobs::table
        .find(row.id)
        .select(jobs::input)
        .first::<Option<Vec<u8>>>(c)
        .map_err(db(format!("reading the input of job {}", row.id)))?;
    let job = row.job(input.is_some())?;
    let lease = Lease {
        job_id: job.id,
        worker: worker.to_owned(),
        attempt: job.attempts,
    };
    Ok(Some(Claimed { job, input, lease }))
}

pub(crate) fn renew(
    c: &mut Conn,
    lease: &Lease,
    lease_for: Duration,
    progress: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let record = format!("job {}", lease.job_id);
    let expires = db_time(after(now, lease_for));
    let now = db_time(now);
    let updated = match progress {
        Some(progress) => diesel::update(held!(lease))
            .set((
                jobs::lease_expires_at.eq(Some(expires)),
                jobs::progress.eq(Some(json_in(&record, "its progress", progress)?)),
                jobs::updated_at.eq(now),
            ))
            .execute(c),
        None => diesel::update(held!(lease))
            .set((
                jobs::lease_expires_at.eq(Some(expires)),
                jobs::updated_at.eq(now),
            ))
            .execute(c),
    }
    .map_err(db(format!("renewing the lease of {record}")))?;
    Ok(updated == 1)
}

pub(crate) fn finish(
    c: &mut Conn,
    lease: &Lease,
    end: JobEnd<'_>,
    next: Option<&NewJob<'_>>,
    now: DateTime<Utc>,
) -> Result<Option<Job>, StoreError> {
    let record = format!("job {}", lease.job_id);
    let Some(current) = held!(lease)
        .select(JobDbRow::as_select())
        .first::<JobDbRow>(c)
        .optional()
        .map_err(db(format!("loading {record}")))?
    else {
        return Ok(None);
    };
    let at = db_time(now);
    let (state, result, error, run_after) = match end {
        JobEnd::Succeeded(value) => (
            JobState::Succeeded,
            Some(json_in(&record, "its result", value)?),
            None,
            current.run_after,
        ),
        JobEnd::Failed(error) => (JobState::Failed, None, Some(error), current.run_after),
        JobEnd::Retry { error, after: wait } if current.attempts < current.max_attempts => (
            JobState::Queued,
            None,
            Some(error),
            db_time(after(now, wait)),
        ),
        JobEnd::Retry { error, .. } => (JobState::Dead, None, Some(error), current.run_after),
    };
    let finished = state.is_finished().then_some(at);
    let mut changed = diesel::update(held!(lease))
        .set((
            jobs::state.eq(state.as_str()),
            jobs::result.eq(result),
            jobs::error.eq(error),
            jobs::run_after.eq(run_after),
            jobs::lease_expires_at.eq(None::<DbTime>),
            jobs::finished_at.eq(finished),
            jobs::updated_at.eq(at),
        ))
        .returning((JobDbRow::as_returning(), jobs::input.is_not_null()))
        .get_result::<(JobDbRow, bool)>(c)
        .optional()
        .map_err(db(format!("ending {record}")))?;
    if state.is_finished() && changed.is_some() {
        diesel::update(jobs::table.find(lease.job_id))
            .set(jobs::input.eq(None::<Vec<u8>>))
            .execute(c)
            .map_err(db(format!("dropping the input of {record}")))?;
        if let Some((_, has_input)) = changed.as_mut() {
            *has_input = false;
        }
    }
    let Some((row, has_input)) = changed else {
        return Ok(None);
    };
    if let Some(next) = next {
        enqueue(c, next)?;
    }
    row.job(has_input).map(Some)
}

pub(crate) fn release(c: &mut Conn, lease: &Lease, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let now = db_time(now);
    let updated = diesel::update(held!(lease))
        .set((
            jobs::state.eq(JobState::Queued.as_str()),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::lease_expires_at.eq(None::<DbTime>),
            jobs::run_after.eq(now),
            jobs::updated_at.eq(now),
        ))
        .execute(c)
        .map_err(db(format!("releasing job {}", lease.job_id)))?;
    Ok(updated == 1)
}

/// One principal id (the planner's query).
#[derive(QueryableByName)]
struct PrincipalId {
    #[diesel(sql_type = Text)]
    principal: String,
}

pub(crate) fn principals_without_job(
    c: &mut Conn,
    key_prefix: &str,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    // `$n` parameters as in `claim`.
    let sql = "SELECT DISTINCT a.principal_id AS principal FROM principal_accounts a \
               WHERE a.method = 'oauth' AND NOT EXISTS (SELECT 1 FROM jobs j \
                   WHERE j.dedup_key = $1 || a.principal_id \
                     AND j.state IN ('queued', 'running')) \
               ORDER BY a.principal_id LIMIT $2";
    diesel::sql_query(sql)
        .bind::<Text, _>(key_prefix)
        .bind::<diesel::sql_types::BigInt, _>(i64::from(limit))
        .load::<PrincipalId>(c)
        .map(|rows| rows.into_iter().map(|r| r.principal).collect())
        .map_err(db("finding the people no job is planned for"))
}
