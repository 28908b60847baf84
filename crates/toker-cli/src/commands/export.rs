//! `toker export`: stored profiles as JSON, JSON Lines or CSV, page by page (constant
//! memory). JSON and JSON Lines records carry `platform` beside the profile's fields, so an
//! export imports back unchanged.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use serde_json::{Value, json};
use toker_model::Listing;
use toker_processing::summarize;
use toker_store::StoredProfile;

use crate::cli::{ExportArgs, ExportFormat};
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::progress;

/// Profiles loaded per page.
const PAGE: u64 = 500;

/// The CSV columns before the profile's counts.
const CSV_BEFORE_COUNTS: [&str; 6] = [
    "id",
    "platform",
    "user_id",
    "username",
    "user_pseudo",
    "verified",
];

/// The CSV columns after the profile's counts.
const CSV_AFTER_COUNTS: [&str; 6] = [
    "liked_videos",
    "shared_videos",
    "top_categories",
    "top_hashtags",
    "created_at",
    "updated_at",
];

/// The CSV header: the counts are the model's ([`toker_model::Profile::COUNT_NAMES`]).
fn csv_header() -> Vec<&'static str> {
    CSV_BEFORE_COUNTS
        .into_iter()
        .chain(toker_model::Profile::COUNT_NAMES)
        .chain(CSV_AFTER_COUNTS)
        .collect()
}

pub(crate) fn run(ctx: &mut Ctx, args: &ExportArgs) -> CliResult {
    let total = ctx.store()?.count_profiles(&Listing {
        platform: args.platform,
        ..Listing::default()
    })?;
    let bar = progress(
        Some(total),
        "Exporting",
        ctx.progress() && args.output.is_some(),
    );
    let mut file = match &args.output {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|e| {
            CliError::runtime(format!("cannot write {}: {e}", path.display()))
        })?)),
        None => None,
    };
    let mut written = 0u64;
    let mut after_id = None;
    let mut first = true;
    loop {
        let page = ctx.store()?.load_profiles(&Listing {
            platform: args.platform,
            limit: Some(PAGE),
            after_id,
            ..Listing::default()
        })?;
        let Some(last) = page.last() else { break };
        after_id = Some(last.id);
        let mut chunk: Vec<u8> = Vec::new();
        let mut csv_rows = csv::Writer::from_writer(Vec::new());
        if first {
            match args.format {
                ExportFormat::Json => chunk.extend_from_slice(b"["),
                ExportFormat::Csv => csv_rows.write_record(csv_header()).map_err(csv_error)?,
                ExportFormat::Jsonl => {}
            }
        }
        for stored in &page {
            match args.format {
                ExportFormat::Json => {
                    if !first {
                        chunk.extend_from_slice(b",\n");
                    } else {
                        chunk.extend_from_slice(b"\n");
                    }
                    serde_json::to_writer(&mut chunk, &record(stored))?;
                }
                ExportFormat::Jsonl => {
                    serde_json::to_writer(&mut chunk, &record(stored))?;
                    chunk.push(b'\n');
                }
                ExportFormat::Csv => csv_rows.write_record(csv_row(stored)).map_err(csv_error)?,
            }
            first = false;
            written += 1;
        }
        let mut csv_bytes = csv_rows
            .into_inner()
            .map_err(|e| CliError::runtime(format!("cannot write CSV: {e}")))?;
        chunk.append(&mut csv_bytes);
        emit(ctx, file.as_mut(), &chunk)?;
        bar.inc(page.len() as u64);
    }
    let tail: &[u8] = match (args.format, first) {
        (ExportFormat::Json, true) => b"[]\n",
        (ExportFormat::Json, false) => b"\n]\n",
        (ExportFormat::Csv, true) => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(csv_header()).map_err(csv_error)?;
            let header = w
                .into_inner()
                .map_err(|e| CliError::runtime(e.to_string()))?;
            emit(ctx, file.as_mut(), &header)?;
            b""
        }
        _ => b"",
    };
    emit(ctx, file.as_mut(), tail)?;
    bar.finish_and_clear();
    if let (Some(mut f), Some(path)) = (file, &args.output) {
        f.flush()
            .map_err(|e| CliError::runtime(format!("cannot write {}: {e}", path.display())))?;
        if ctx.json() {
            ctx.out
                .json(&json!({"exported": written, "file": path.display().to_string()}))?;
        } else if !ctx.global.quiet {
            eprintln!("Exported {written} profile(s) to {}", path.display());
        }
    }
    Ok(())
}

fn emit(ctx: &mut Ctx, file: Option<&mut BufWriter<File>>, bytes: &[u8]) -> io::Result<()> {
    match file {
        Some(f) => f.write_all(bytes),
        None => ctx.out.write_all(bytes),
    }
}

/// The exported record: `platform` then the profile's own fields.
fn record(stored: &StoredProfile) -> Value {
    let mut value = json!({ "platform": stored.platform });
    if let (Some(map), Ok(Value::Object(fields))) =
        (value.as_object_mut(), serde_json::to_value(&stored.profile))
    {
        map.extend(fields);
    }
    value
}

fn csv_row(stored: &StoredProfile) -> Vec<String> {
    let p = &stored.profile;
    let n = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let summary = summarize(p);
    let names = |items: &[(String, u32)]| {
        items
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    let mut row = vec![
        stored.id.to_string(),
        stored.platform.to_string(),
        p.user_id.clone(),
        p.username.clone(),
        p.user_pseudo.clone().unwrap_or_default(),
        p.verified.map(|v| v.to_string()).unwrap_or_default(),
    ];
    row.extend(p.counts().into_iter().map(|(_, count)| n(count)));
    row.extend([
        p.liked_videos.len().to_string(),
        p.shared_videos.len().to_string(),
        names(&summary.top_categories),
        names(&summary.top_hashtags),
        stored.created_at.to_rfc3339(),
        stored.updated_at.to_rfc3339(),
    ]);
    row
}

fn csv_error(e: csv::Error) -> CliError {
    CliError::runtime(format!("cannot write CSV: {e}")).caused_by(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_columns_follow_the_model() {
        let header = csv_header();
        let counts = &header[CSV_BEFORE_COUNTS.len()..header.len() - CSV_AFTER_COUNTS.len()];
        assert_eq!(counts, toker_model::Profile::COUNT_NAMES);
    }
}
