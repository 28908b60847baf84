//! Importing a file of profiles in Toker's JSON format (a JSON array or JSON Lines, as
//! `toker export` writes them): every record judged by `toker_processing::prepare`, the
//! valid ones stored through the store's batched ingest.
//!
//! [`ImportMode::AllOrNothing`] reads the input twice: a first pass validates every record
//! (streaming, constant memory) and stores nothing if one is rejected; only then the second
//! pass stores. [`ImportMode::KeepGoing`] stores the valid records in one pass and reports
//! the rejected ones.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Seek};

use serde::Serialize;
use toker_model::{Platform, ValidationRules};
use toker_processing::prepare::{Rejected, prepare};
use toker_processing::records::{Position, RecordError, RecordReader};
use toker_store::{IngestItem, IngestOptions, IngestOutcome, IngestReport, Store, Written};

use crate::CollectError;

/// Whether a rejected record keeps the others from being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Store nothing unless every record is valid (the input is read twice).
    #[default]
    AllOrNothing,
    /// Store the valid records and report the rejected ones (one pass).
    KeepGoing,
}

/// How to import records.
#[derive(Debug, Clone)]
pub struct RecordsImport<'a> {
    /// The platform of records that do not name theirs.
    pub platform: Option<Platform>,
    /// The rules every record must meet.
    pub rules: &'a ValidationRules,
    /// Batch size and whether existing profiles are replaced.
    pub ingest: IngestOptions,
    /// Whether one rejected record stops all.
    pub mode: ImportMode,
}

/// A record that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    /// Where it was in the input (`record 3 (line 4)`).
    pub record: String,
    /// `platform:user_id` when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What was wrong, one entry per violation (`path: message`).
    pub reasons: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct RecordsReport {
    /// The store's counts (all zero when nothing was stored).
    pub store: IngestReport,
    /// Records whose profile already existed (without upsert), left as they are.
    pub duplicates: Vec<SkippedRecord>,
    /// Records rejected before reaching the store.
    pub rejected: Vec<SkippedRecord>,
}

/// Imports the records of `input` into `store` (see the module docs); `on_outcome` hears
/// each record stored (e.g. to move a progress bar).
///
/// ```
/// use std::io::Cursor;
/// use toker_collect::{ImportMode, RecordsImport, import_records};
/// use toker_model::ValidationRules;
/// use toker_store::{IngestOptions, Store};
///
/// let mut store = Store::open(":memory:")?;
/// let rules = ValidationRules::default();
/// let options = RecordsImport {
///     platform: None,
///     rules: &rules,
///     ingest: IngestOptions::default(),
///     mode: ImportMode::AllOrNothing,
/// };
/// // The second record has fewer likes than the rules ask for (100): nothing is stored.
/// let input = Cursor::new(concat!(
///     r#"{"platform":"tiktok","user_id":"1","username":"a","number_of_likes":150,"liked_videos":[],"shared_videos":[]}"#,
///     "\n",
///     r#"{"platform":"tiktok","user_id":"2","username":"b","number_of_likes":1,"liked_videos":[],"shared_videos":[]}"#,
/// ));
/// let report = import_records(&mut store, input, &options, &mut |_| {})?;
/// assert_eq!(report.rejected.len(), 1);
/// assert_eq!(report.store.created, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CollectError::Unreadable`] when the input cannot be read on (truncated, junk between
/// records, I/O; in the checking pass also a record that is not JSON): batches committed
/// before stay. [`CollectError::Store`] when the database fails.
pub fn import_records<R: Read + Seek>(
    store: &mut Store,
    mut input: R,
    options: &RecordsImport<'_>,
    on_outcome: &mut dyn FnMut(&IngestOutcome),
) -> Result<RecordsReport, CollectError> {
    if options.mode == ImportMode::AllOrNothing {
        let rejected = check_all(reader(&mut input)?, options)?;
        if !rejected.is_empty() {
            return Ok(RecordsReport {
                rejected,
                ..RecordsReport::default()
            });
        }
    }
    let rejected = RefCell::new(Vec::new());
    let failure = RefCell::new(None);
    let items = reader(&mut input)?
        .map_while(|record| match record {
            Err(e @ RecordError::Malformed { position, .. }) => {
                rejected.borrow_mut().push(SkippedRecord {
                    record: position.to_string(),
                    key: None,
                    reasons: vec![e.to_string()],
                });
                Some(None)
            }
            Err(fatal) => {
                *failure.borrow_mut() = Some(fatal);
                None
            }
            Ok((position, value)) => match prepare(value, options.platform, options.rules) {
                Ok(prepared) => Some(Some(IngestItem {
                    label: position.to_string(),
                    platform: prepared.platform,
                    profile: prepared.profile,
                    raw: prepared.raw,
                    owner: None,
                })),
                Err(why) => {
                    rejected.borrow_mut().push(skipped(position, None, &why));
                    Some(None)
                }
            },
        })
        .flatten();
    let mut duplicates = Vec::new();
    let store_report = store.ingest(items, &options.ingest, &mut |outcome| {
        on_outcome(&outcome);
        if let Written::Duplicate(id) = outcome.result {
            duplicates.push(SkippedRecord {
                record: outcome.label,
                reasons: vec![format!("{} already exists (id {id})", outcome.key)],
                key: Some(outcome.key),
            });
        }
    })?;
    if let Some(error) = failure.into_inner() {
        return Err(CollectError::Unreadable {
            error,
            checking: false,
        });
    }
    Ok(RecordsReport {
        store: store_report,
        duplicates,
        rejected: rejected.into_inner(),
    })
}

/// A fresh record reader from the start of the input.
fn reader<R: Read + Seek>(input: &mut R) -> Result<RecordReader<impl BufRead>, CollectError> {
    input.rewind().map_err(|e| CollectError::Unreadable {
        error: RecordError::Io(e),
        checking: false,
    })?;
    Ok(RecordReader::new(BufReader::with_capacity(1 << 16, input)))
}

/// Reads and validates every record without storing anything; returns the rejected ones.
fn check_all(
    records: RecordReader<impl BufRead>,
    options: &RecordsImport<'_>,
) -> Result<Vec<SkippedRecord>, CollectError> {
    let mut rejected = Vec::new();
    for record in records {
        let (position, value) = record.map_err(|error| CollectError::Unreadable {
            error,
            checking: true,
        })?;
        let key = record_key(&value, options.platform);
        if let Err(why) = prepare(value, options.platform, options.rules) {
            rejected.push(skipped(position, key, &why));
        }
    }
    Ok(rejected)
}

fn record_key(value: &serde_json::Value, platform: Option<Platform>) -> Option<String> {
    let user_id = value.get("user_id")?.as_str()?;
    let platform = value
        .get("platform")
        .and_then(|p| p.as_str())
        .map(str::to_owned)
        .or_else(|| platform.map(|p| p.to_string()))?;
    Some(format!("{platform}:{user_id}"))
}

fn skipped(position: Position, key: Option<String>, why: &Rejected) -> SkippedRecord {
    SkippedRecord {
        record: position.to_string(),
        key,
        reasons: why
            .violations()
            .iter()
            .map(|v| format!("{}: {}", v.path, v.message))
            .collect(),
    }
}
