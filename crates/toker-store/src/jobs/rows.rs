//! Diesel's view of the `jobs` table.

use diesel::prelude::*;

use super::Job;
use crate::checkpoints::rows::json_out;
use crate::columns::DbTime;
use crate::error::StoreError;
use crate::schema::jobs;

/// A job row without its input file (read only by a claim). The claim reads it by name
/// from its `RETURNING` clause, hence `QueryableByName`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub(crate) struct JobDbRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) payload: String,
    pub(crate) owner: Option<String>,
    pub(crate) state: String,
    pub(crate) attempts: i32,
    pub(crate) max_attempts: i32,
    pub(crate) run_after: DbTime,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_expires_at: Option<DbTime>,
    pub(crate) progress: Option<String>,
    pub(crate) result: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) dedup_key: Option<String>,
    pub(crate) created_at: DbTime,
    pub(crate) updated_at: DbTime,
    pub(crate) finished_at: Option<DbTime>,
}

/// The columns of [`JobDbRow`], for a hand-written `RETURNING`.
pub(crate) const JOB_COLUMNS: &str = "id, kind, payload, owner, state, attempts, max_attempts, \
     run_after, lease_owner, lease_expires_at, progress, result, error, dedup_key, created_at, \
     updated_at, finished_at";

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = jobs, treat_none_as_default_value = false)]
pub(crate) struct NewJobRow<'a> {
    pub(crate) kind: &'a str,
    pub(crate) payload: String,
    pub(crate) input: Option<&'a [u8]>,
    pub(crate) owner: Option<&'a str>,
    pub(crate) state: &'static str,
    pub(crate) attempts: i32,
    pub(crate) max_attempts: i32,
    pub(crate) run_after: DbTime,
    pub(crate) dedup_key: Option<&'a str>,
    pub(crate) created_at: DbTime,
    pub(crate) updated_at: DbTime,
}

impl JobDbRow {
    pub(crate) fn job(self, has_input: bool) -> Result<Job, StoreError> {
        let record = format!("job {}", self.id);
        let json = |what: &str, text: Option<String>| {
            text.map(|t| json_out(&record, what, &t)).transpose()
        };
        Ok(Job {
            payload: json_out(&record, "payload", &self.payload)?,
            progress: json("progress", self.progress)?,
            result: json("result", self.result)?,
            state: self.state.parse().map_err(|message| StoreError::Invalid {
                record: record.clone(),
                message,
            })?,
            id: self.id,
            kind: self.kind,
            has_input,
            owner: self.owner,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            max_attempts: u32::try_from(self.max_attempts).unwrap_or_default(),
            run_after: self.run_after.0,
            lease_owner: self.lease_owner,
            lease_expires_at: self.lease_expires_at.map(|t| t.0),
            error: self.error,
            dedup_key: self.dedup_key,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            finished_at: self.finished_at.map(|t| t.0),
        })
    }
}
