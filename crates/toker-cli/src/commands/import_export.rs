//! `toker import-export`: a platform's personal data-export archive, through the same
//! validate → clean → store path as every other source. Importing the same archive again
//! replaces the profile with identical content; a newer archive updates it.

use std::io::Write;

use serde_json::json;
use toker_processing::prepare::prepare_profile;
use toker_sources::import_export;
use toker_store::Upserted;

use crate::cli::ImportExportArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::progress;

pub(crate) fn run(ctx: &mut Ctx, args: &ImportExportArgs) -> CliResult {
    let bar = progress(None, "Reading the export", ctx.progress());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let raw = import_export(args.platform, &args.path);
    bar.finish_and_clear();
    let raw = raw?;
    if !ctx.global.quiet && !ctx.json() {
        for warning in &raw.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let label = format!("{} export {}", args.platform, args.path.display());
    let warnings = raw.warnings;
    let prepared = prepare_profile(raw.platform, raw.profile, raw.raw, &ctx.rules())
        .map_err(|rejected| CliError::rejected(&label, &rejected))?;
    let (id, outcome) =
        ctx.store()?
            .upsert_profile(prepared.platform, &prepared.profile, &prepared.raw, None)?;
    let outcome = match outcome {
        Upserted::Created => "created",
        Upserted::Updated => "updated",
    };
    let p = &prepared.profile;
    if ctx.json() {
        ctx.out.json(&json!({
            "id": id,
            "platform": prepared.platform,
            "user_id": p.user_id,
            "username": p.username,
            "outcome": outcome,
            "liked_videos": p.liked_videos.len(),
            "shared_videos": p.shared_videos.len(),
            "warnings": warnings,
        }))?;
    } else {
        writeln!(
            ctx.out,
            "Imported {label}: profile {id} {} (@{}) {outcome}, {} liked and {} shared video(s)",
            prepared.key(),
            p.username,
            p.liked_videos.len(),
            p.shared_videos.len()
        )?;
    }
    Ok(())
}
