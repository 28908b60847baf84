//! `toker import`: profiles from a JSON array or JSON Lines file (or stdin).
//!
//! By default the import is all or nothing: a first pass reads and validates every record
//! (streaming, constant memory) and only an input without a rejected record is stored, in
//! batched transactions. With `--keep-going` valid records are stored in one pass and the
//! rejected ones are reported.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use toker_model::Platform;
use toker_processing::prepare::{Rejected, prepare};
use toker_processing::records::{Position, RecordError, RecordReader};
use toker_store::IngestItem;

use crate::cli::ImportArgs;
use crate::commands::Ctx;
use crate::commands::ingest::{self, Report, Skipped};
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &mut Ctx, args: &ImportArgs) -> CliResult {
    let input = Input::open(&args.input)?;
    match input.first_byte()? {
        None => {
            // Not an error (a script may import whatever a day produced), but never silent.
            eprintln!("warning: {} holds no records: nothing imported", input.name);
        }
        Some(b'[' | b'{') => {}
        Some(_) => {
            return Err(CliError::validation(format!(
                "{} is not JSON: `toker import` reads a JSON array or JSON Lines, as `toker \
                 export --format json` or `--format jsonl` writes them (a CSV export summarises \
                 each profile's lists and cannot be imported back); nothing stored",
                input.name
            )));
        }
    }
    let rules = args.rules.rules();
    let batch_size = usize::try_from(args.batch_size).unwrap_or(1000);

    if !args.keep_going {
        let rejected = check_all(&input, args.platform, &rules)?;
        if !rejected.is_empty() {
            let report = Report {
                rejected,
                ..Report::default()
            };
            print_report(ctx, &input, &report)?;
            return Err(CliError::validation(format!(
                "{}: {} record(s) rejected, nothing stored (fix them, or pass --keep-going to store the valid ones)",
                input.name,
                report.rejected.len()
            )));
        }
    }

    let rejected = RefCell::new(Vec::new());
    let reader = input.reader()?;
    let items = reader.filter_map(|record| match record {
        Err(e) => match unreadable(&input.name, e) {
            Ok(skipped) => {
                rejected.borrow_mut().push(skipped);
                None
            }
            Err(fatal) => Some(Err(fatal)),
        },
        Ok((position, value)) => match prepare(value, args.platform, &rules) {
            Ok(prepared) => Some(Ok(IngestItem {
                label: position.to_string(),
                platform: prepared.platform,
                profile: prepared.profile,
                raw: prepared.raw,
                owner: None,
            })),
            Err(why) => {
                rejected.borrow_mut().push(skipped(position, None, &why));
                None
            }
        },
    });
    let mut report = ingest::run(ctx, items, None, args.upsert, "Importing", batch_size)?;
    report.rejected = rejected.into_inner();
    print_report(ctx, &input, &report)?;
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(CliError::validation(format!(
            "{}: {} record(s) rejected and not stored; the {} valid one(s) were stored",
            input.name,
            report.rejected.len(),
            report.store.created + report.store.updated
        )))
    }
}

/// Reads and validates every record without storing anything; returns the rejected ones.
fn check_all(
    input: &Input,
    platform: Option<Platform>,
    rules: &toker_model::ValidationRules,
) -> CliResult<Vec<Skipped>> {
    let mut rejected = Vec::new();
    for record in input.reader()? {
        let (position, value) = record
            .map_err(|e| CliError::validation(format!("{}: {e}; nothing stored", input.name)))?;
        let key = record_key(&value, platform);
        if let Err(why) = prepare(value, platform, rules) {
            rejected.push(skipped(position, key, &why));
        }
    }
    Ok(rejected)
}

/// A record that is not valid JSON becomes a rejection (reading goes on at the next
/// record); an input that cannot be read on (truncated, junk between records, I/O) is an
/// error that ends the import (exit 3: nothing stored unless `--keep-going` had stored
/// earlier batches).
fn unreadable(name: &str, e: RecordError) -> CliResult<Skipped> {
    match e {
        RecordError::Malformed { position, .. } => Ok(Skipped {
            record: position.to_string(),
            key: None,
            reasons: vec![e.to_string()],
        }),
        fatal => Err(CliError::validation(format!("{name}: {fatal}"))),
    }
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

fn skipped(position: Position, key: Option<String>, why: &Rejected) -> Skipped {
    Skipped {
        record: position.to_string(),
        key,
        reasons: why
            .violations()
            .iter()
            .map(|v| format!("{}: {}", v.path, v.message))
            .collect(),
    }
}

fn print_report(ctx: &mut Ctx, input: &Input, report: &Report) -> CliResult {
    if ctx.json() {
        ctx.out.json(&report.to_json())?;
        return Ok(());
    }
    for r in &report.rejected {
        let key = r
            .key
            .as_deref()
            .map(|k| format!(" {k}"))
            .unwrap_or_default();
        eprintln!(
            "{}: {}{key} rejected: {}",
            input.name,
            r.record,
            r.reasons.join("; ")
        );
    }
    writeln!(
        ctx.out,
        "Imported {}: {} created, {} updated, {} duplicate(s), {} rejected{}",
        input.name,
        report.store.created,
        report.store.updated,
        report.store.duplicates,
        report.rejected.len(),
        report.duplicates_note("use --upsert to replace them")
    )?;
    Ok(())
}

/// The input: a file (read twice when validating first) or stdin (spooled to a temporary
/// file so that it can be read twice).
struct Input {
    name: String,
    file: File,
    // Keeps the spool file alive as long as the input.
    _spool: Option<tempfile::TempPath>,
}

impl Input {
    fn open(path: &Path) -> CliResult<Self> {
        if path.as_os_str() == "-" {
            let mut spool = tempfile::NamedTempFile::new()
                .map_err(|e| CliError::runtime(format!("cannot create a temporary file: {e}")))?;
            io::copy(&mut io::stdin().lock(), &mut spool)
                .map_err(|e| CliError::runtime(format!("cannot read standard input: {e}")))?;
            let (file, path) = spool.into_parts();
            return Ok(Input {
                name: "<stdin>".to_owned(),
                file,
                _spool: Some(path),
            });
        }
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|e| CliError::runtime(format!("cannot read {name}: {e}")))?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CliError::usage(format!(
                "{name} is a directory: give a JSON or JSON Lines file (for a platform's data export use `toker import-export`)"
            )));
        }
        Ok(Input {
            name,
            file,
            _spool: None,
        })
    }

    /// The input's first byte that is not white space (`None`: no records at all).
    fn first_byte(&self) -> CliResult<Option<u8>> {
        let mut reader = self.raw_reader()?;
        loop {
            let buf = reader
                .fill_buf()
                .map_err(|e| CliError::runtime(format!("cannot read {}: {e}", self.name)))?;
            if buf.is_empty() {
                return Ok(None);
            }
            // A UTF-8 byte order mark is white space here, as the record reader skips it.
            let skip = buf
                .iter()
                .position(|b| !b.is_ascii_whitespace() && ![0xEF, 0xBB, 0xBF].contains(b));
            match skip {
                Some(i) => return Ok(Some(buf[i])),
                None => {
                    let n = buf.len();
                    reader.consume(n);
                }
            }
        }
    }

    /// A fresh buffered reader from the start of the input.
    fn raw_reader(&self) -> CliResult<BufReader<File>> {
        let mut file = self
            .file
            .try_clone()
            .map_err(|e| CliError::runtime(format!("cannot read {}: {e}", self.name)))?;
        io::Seek::rewind(&mut file)
            .map_err(|e| CliError::runtime(format!("cannot read {}: {e}", self.name)))?;
        Ok(BufReader::with_capacity(1 << 16, file))
    }

    /// A fresh reader from the start of the input.
    fn reader(&self) -> CliResult<RecordReader<impl BufRead>> {
        Ok(RecordReader::new(self.raw_reader()?))
    }
}
