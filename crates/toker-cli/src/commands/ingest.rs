//! The bulk storing path of `create --count`: hand made-up profiles to the store's batched
//! ingest, with a progress bar and a per-record report, and the report `import` prints
//! too. (`import` stores through toker-collect's `import_records`; `fetch` and
//! `import-export` store one profile through toker-collect.)

use std::cell::RefCell;

use serde_json::{Value, json};
use toker_store::{IngestItem, IngestOptions, IngestReport, Written};

use crate::commands::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::progress;

/// A record that was not stored, and why.
pub(crate) type Skipped = toker_collect::SkippedRecord;

/// What a bulk run did.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// The store's counts.
    pub(crate) store: IngestReport,
    /// Records that already existed (without `--upsert`).
    pub(crate) duplicates: Vec<Skipped>,
    /// Records rejected before reaching the store.
    pub(crate) rejected: Vec<Skipped>,
}

impl Report {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "created": self.store.created,
            "updated": self.store.updated,
            "duplicates": self.store.duplicates,
            "rejected": self.rejected.len(),
            "batches": self.store.batches,
            "duplicate_records": self.duplicates,
            "rejected_records": self.rejected,
        })
    }

    /// ` (2 already existed and were left as they are: HINT)` or nothing.
    pub(crate) fn duplicates_note(&self, hint: &str) -> String {
        match self.store.duplicates {
            0 => String::new(),
            n => format!(" ({n} already existed and were left as they are: {hint})"),
        }
    }
}

/// Stores `items` in batches as new profiles (existing ones are reported as duplicates). The first `Err` item stops the run: batches committed before
/// it stay (each is whole), the rest is not written, and the error is returned.
pub(crate) fn run<I>(
    ctx: &mut Ctx,
    items: I,
    len: Option<u64>,
    message: &str,
    batch_size: usize,
) -> CliResult<Report>
where
    I: Iterator<Item = Result<IngestItem, CliError>>,
{
    let bar = progress(len, message, ctx.progress());
    let failure: RefCell<Option<CliError>> = RefCell::new(None);
    let items = items.map_while(|item| match item {
        Ok(item) => Some(item),
        Err(e) => {
            *failure.borrow_mut() = Some(e);
            None
        }
    });
    let mut duplicates = Vec::new();
    let options = IngestOptions {
        batch_size,
        upsert: false,
    };
    let store_report = ctx.store()?.ingest(items, &options, &mut |outcome| {
        bar.inc(1);
        if let Written::Duplicate(id) = outcome.result {
            duplicates.push(Skipped {
                record: outcome.label,
                reasons: vec![format!("{} already exists (id {id})", outcome.key)],
                key: Some(outcome.key),
            });
        }
    });
    bar.finish_and_clear();
    let store_report = store_report?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    Ok(Report {
        store: store_report,
        duplicates,
        rejected: Vec::new(),
    })
}
