//! Bulk ingest: many profiles, streamed, committed in batches, each record's outcome reported.

use std::collections::HashMap;

use serde::Serialize;
use toker_model::{Platform, Profile};

use crate::error::StoreError;
use crate::profiles::rows::{DbTime, PreparedProfile};
use crate::profiles::{OnConflict, Written, profile_key};
use crate::store::Store;

/// One profile to ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestItem {
    /// Where it came from, for messages (e.g. `line 12`).
    pub label: String,
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The profile, validated and cleaned (`toker_processing::prepare`).
    pub profile: Profile,
    /// The raw JSON it was parsed from.
    pub raw: serde_json::Value,
    /// Who stores it, if anyone.
    pub owner: Option<String>,
}

/// How to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Profiles per transaction (default 1000; 0 is taken as 1).
    pub batch_size: usize,
    /// Replace existing profiles (else they are reported as duplicates and left alone).
    pub upsert: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_size: 1000,
            upsert: false,
        }
    }
}

/// What happened to one record, reported once its batch is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    /// The [`IngestItem::label`] of the record.
    pub label: String,
    /// `platform:user_id`.
    pub key: String,
    /// What was done.
    pub result: Written,
}

/// Totals of an ingest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// New profiles.
    pub created: u64,
    /// Replaced profiles.
    pub updated: u64,
    /// Records skipped as duplicates.
    pub duplicates: u64,
    /// Committed transactions.
    pub batches: u64,
}

impl Store {
    /// Stores many profiles: reads `items` lazily, `opts.batch_size` at a time, and commits
    /// each batch in one transaction, so memory stays bounded and an interrupted ingest
    /// leaves only whole profiles. `on_outcome` hears of every record, in input order,
    /// once its batch is committed.
    ///
    /// A key already stored is a [`Written::Duplicate`] (left alone) unless
    /// `opts.upsert`, which replaces it. A key repeated within the input is a duplicate of
    /// its first occurrence, or with `opts.upsert` replaces it (the last one wins).
    ///
    /// # Errors
    /// The first error stops the ingest; batches committed before it stay.
    /// [`StoreError::Invalid`] names the record (e.g. a count above `i64::MAX`).
    pub fn ingest<I>(
        &mut self,
        items: I,
        opts: &IngestOptions,
        on_outcome: &mut dyn FnMut(IngestOutcome),
    ) -> Result<IngestReport, StoreError>
    where
        I: IntoIterator<Item = IngestItem>,
    {
        let batch_size = opts.batch_size.max(1);
        let mut items = items.into_iter();
        let mut report = IngestReport::default();
        let mut batch: Vec<IngestItem> = Vec::with_capacity(batch_size.min(16_384));
        loop {
            batch.clear();
            batch.extend(items.by_ref().take(batch_size));
            if batch.is_empty() {
                return Ok(report);
            }
            let results = self.ingest_batch(&batch, opts.upsert, report.batches + 1)?;
            report.batches += 1;
            for (item, result) in batch.drain(..).zip(results) {
                match result {
                    Written::Created(_) => report.created += 1,
                    Written::Updated(_) => report.updated += 1,
                    Written::Duplicate(_) => report.duplicates += 1,
                    // An ingest writes without comparing: it never reports this.
                    Written::Unchanged(_) => {}
                }
                on_outcome(IngestOutcome {
                    key: profile_key(item.platform, &item.profile.user_id),
                    label: item.label,
                    result,
                });
            }
        }
    }

    /// Writes one batch in one transaction; one result per item.
    fn ingest_batch(
        &mut self,
        batch: &[IngestItem],
        upsert: bool,
        number: u64,
    ) -> Result<Vec<Written>, StoreError> {
        let now = DbTime::now();
        // For each key: its first occurrence, and the occurrence whose content is written
        // (the first, or with upsert the last).
        let mut keys: HashMap<(Platform, &str), (usize, usize)> = HashMap::new();
        for (i, item) in batch.iter().enumerate() {
            keys.entry((item.platform, item.profile.user_id.as_str()))
                .and_modify(|(_, written)| {
                    if upsert {
                        *written = i;
                    }
                })
                .or_insert((i, i));
        }
        let mut slot = vec![usize::MAX; batch.len()];
        let mut prepared = Vec::with_capacity(keys.len());
        for (i, item) in batch.iter().enumerate() {
            let (_, written) = keys[&(item.platform, item.profile.user_id.as_str())];
            if written == i {
                slot[i] = prepared.len();
                prepared.push(PreparedProfile::new(
                    item.platform,
                    &item.profile,
                    &item.raw,
                    item.owner.as_deref(),
                    Some(&item.label),
                    now,
                )?);
            }
        }
        let context = match (batch.first(), batch.last()) {
            (Some(first), Some(last)) => format!(
                "ingesting batch {number} ({} … {})",
                first.label, last.label
            ),
            _ => format!("ingesting batch {number}"),
        };
        let written = self.write_profiles(&context, &prepared, OnConflict::upsert(upsert))?;
        Ok(batch
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let (first, writer) = keys[&(item.platform, item.profile.user_id.as_str())];
                let result = written[slot[writer]];
                match (i == first, upsert) {
                    (true, _) => result,
                    (false, true) => Written::Updated(result.id()),
                    (false, false) => Written::Duplicate(result.id()),
                }
            })
            .collect())
    }
}
