//! `toker import`: profiles from a JSON array or JSON Lines file (or stdin), through
//! toker-collect's `import_records` (all or nothing by default; with `--keep-going` the
//! valid records are stored and the rejected ones reported).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use toker_collect::{CollectError, ImportMode, RecordsImport, import_records};
use toker_store::IngestOptions;

use crate::cli::ImportArgs;
use crate::commands::Ctx;
use crate::commands::ingest::Report;
use crate::error::{CliError, CliResult};
use crate::output::progress;

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
    let options = RecordsImport {
        platform: args.platform,
        rules: &rules,
        ingest: IngestOptions {
            batch_size: usize::try_from(args.batch_size).unwrap_or(1000),
            upsert: args.upsert,
        },
        mode: if args.keep_going {
            ImportMode::KeepGoing
        } else {
            ImportMode::AllOrNothing
        },
    };
    let show = ctx.progress();
    let mut bar = None;
    let imported = import_records(ctx.store()?, &input.file, &options, &mut |_| {
        bar.get_or_insert_with(|| progress(None, "Importing", show))
            .inc(1);
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let imported = imported.map_err(|e| match e {
        CollectError::Unreadable { .. } => CliError::validation(format!("{}: {e}", input.name)),
        other => CliError::from(other),
    })?;
    let report = Report {
        store: imported.store,
        duplicates: imported.duplicates,
        rejected: imported.rejected,
    };
    print_report(ctx, &input, &report)?;
    if report.rejected.is_empty() {
        Ok(())
    } else if options.mode == ImportMode::AllOrNothing {
        Err(CliError::validation(format!(
            "{}: {} record(s) rejected, nothing stored (fix them, or pass --keep-going to store the valid ones)",
            input.name,
            report.rejected.len()
        )))
    } else {
        Err(CliError::validation(format!(
            "{}: {} record(s) rejected and not stored; the {} valid one(s) were stored",
            input.name,
            report.rejected.len(),
            report.store.created + report.store.updated
        )))
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
}
