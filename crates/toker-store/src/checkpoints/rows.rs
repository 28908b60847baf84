//! Diesel's view of the checkpoint tables, and the conversions of their columns.

use diesel::prelude::*;
use serde_json::Value;

use super::{Checkpoint, CollectionRun, CommittedPage, Marker};
use crate::columns::{DbPlatform, DbTime};
use crate::error::StoreError;
use crate::schema::{
    collection_checkpoints, collection_markers, collection_pages, collection_runs,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = collection_runs)]
pub(crate) struct RunDbRow {
    pub(crate) id: i64,
    pub(crate) platform: DbPlatform,
    pub(crate) subject: String,
    pub(crate) mode: String,
    pub(crate) status: String,
    pub(crate) max_items: Option<i64>,
    pub(crate) account_json: String,
    pub(crate) base_json: Option<String>,
    pub(crate) result_json: Option<String>,
    pub(crate) stop_reason: Option<String>,
    pub(crate) pages: i64,
    pub(crate) items: i64,
    pub(crate) started_at: DbTime,
    pub(crate) updated_at: DbTime,
    pub(crate) finished_at: Option<DbTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = collection_runs, treat_none_as_default_value = false)]
pub(crate) struct NewRunRow<'a> {
    pub(crate) platform: &'static str,
    pub(crate) subject: &'a str,
    pub(crate) mode: &'static str,
    pub(crate) status: &'static str,
    pub(crate) max_items: Option<i64>,
    pub(crate) account_json: String,
    pub(crate) base_json: Option<String>,
    pub(crate) result_json: Option<String>,
    pub(crate) stop_reason: Option<&'a str>,
    pub(crate) pages: i64,
    pub(crate) items: i64,
    pub(crate) started_at: DbTime,
    pub(crate) updated_at: DbTime,
    pub(crate) finished_at: Option<DbTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = collection_checkpoints,
    treat_none_as_default_value = false,
    treat_none_as_null = true
)]
pub(crate) struct CheckpointDbRow {
    pub(crate) run_id: i64,
    pub(crate) listing: String,
    pub(crate) state: String,
    pub(crate) next_cursor: Option<String>,
    pub(crate) pages: i32,
    pub(crate) items: i64,
    pub(crate) updated_at: DbTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = collection_pages, treat_none_as_default_value = false)]
pub(crate) struct PageDbRow {
    pub(crate) run_id: i64,
    pub(crate) listing: String,
    pub(crate) seq: i32,
    pub(crate) cursor: Option<String>,
    pub(crate) next_cursor: Option<String>,
    pub(crate) item_count: i64,
    pub(crate) raw_json: String,
    pub(crate) committed_at: DbTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = collection_markers)]
pub(crate) struct MarkerDbRow {
    pub(crate) platform: String,
    pub(crate) subject: String,
    pub(crate) run_id: i64,
    pub(crate) raw_json: String,
    pub(crate) completed_at: DbTime,
}

pub(crate) fn invalid(record: impl Into<String>, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        record: record.into(),
        message: message.into(),
    }
}

pub(crate) fn json_in(record: &str, what: &str, value: &Value) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| invalid(record, format!("{what} cannot be serialized: {e}")))
}

pub(crate) fn json_out(record: &str, what: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| invalid(record, format!("its stored {what} is not JSON: {e}")))
}

pub(crate) fn count_in(record: &str, what: &str, n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| invalid(record, format!("{what}: {n} is too large to store")))
}

pub(crate) fn count_out(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

impl RunDbRow {
    pub(crate) fn record(&self) -> String {
        format!(
            "collection run {} ({}:{})",
            self.id, self.platform.0, self.subject
        )
    }

    pub(crate) fn into_run(self) -> Result<CollectionRun, StoreError> {
        let record = self.record();
        let parse = |what: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| json_out(&record, what, t))
                .transpose()
        };
        Ok(CollectionRun {
            id: self.id,
            platform: self.platform.0,
            mode: self.mode.parse().map_err(|m: String| invalid(&record, m))?,
            status: self
                .status
                .parse()
                .map_err(|m: String| invalid(&record, m))?,
            max_items: self.max_items.map(count_out),
            account: json_out(&record, "account", &self.account_json)?,
            base: parse("base profile", &self.base_json)?,
            result: parse("result profile", &self.result_json)?,
            stop_reason: self.stop_reason,
            pages: count_out(self.pages),
            items: count_out(self.items),
            started_at: self.started_at.0,
            updated_at: self.updated_at.0,
            finished_at: self.finished_at.map(|t| t.0),
            subject: self.subject,
        })
    }
}

impl CheckpointDbRow {
    pub(crate) fn into_checkpoint(self) -> Result<Checkpoint, StoreError> {
        let state = self.state.parse().map_err(|m: String| {
            invalid(
                format!("checkpoint of run {} list {}", self.run_id, self.listing),
                m,
            )
        })?;
        Ok(Checkpoint {
            state,
            next_cursor: self.next_cursor,
            pages: u32::try_from(self.pages).unwrap_or_default(),
            items: count_out(self.items),
            updated_at: self.updated_at.0,
            listing: self.listing,
        })
    }
}

impl PageDbRow {
    pub(crate) fn into_page(self) -> Result<CommittedPage, StoreError> {
        let record = format!(
            "page {} of list {} of collection run {}",
            self.seq, self.listing, self.run_id
        );
        Ok(CommittedPage {
            raw: json_out(&record, "page", &self.raw_json)?,
            seq: u32::try_from(self.seq).unwrap_or_default(),
            cursor: self.cursor,
            next_cursor: self.next_cursor,
            item_count: count_out(self.item_count),
            committed_at: self.committed_at.0,
            listing: self.listing,
        })
    }
}

impl MarkerDbRow {
    pub(crate) fn into_marker(self) -> Result<Marker, StoreError> {
        let record = format!("collection marker of {}:{}", self.platform, self.subject);
        Ok(Marker {
            platform: self
                .platform
                .parse()
                .map_err(|e: toker_model::UnknownPlatform| invalid(&record, e.to_string()))?,
            raw: json_out(&record, "raw profile", &self.raw_json)?,
            run_id: self.run_id,
            completed_at: self.completed_at.0,
            subject: self.subject,
        })
    }
}
