//! `toker stats`: counts of what is stored.

use std::io::Write;

use toker_store::REFIT_ADVISED_DRIFT;

use crate::commands::Ctx;
use crate::error::CliResult;

pub(crate) fn run(ctx: &mut Ctx) -> CliResult {
    let stats = ctx.store()?.stats()?;
    let drift = stats.drift();
    let refit_advised = drift.is_some_and(|d| d > REFIT_ADVISED_DRIFT);
    if ctx.json() {
        let mut json = serde_json::to_value(&stats)
            .map_err(|e| crate::error::CliError::runtime(e.to_string()))?;
        json["drift"] = serde_json::json!(drift);
        json["refit_advised"] = serde_json::json!(refit_advised);
        ctx.out.json(&json)?;
        return Ok(());
    }
    writeln!(ctx.out, "Profiles: {}", stats.profiles)?;
    for (platform, n) in &stats.by_platform {
        writeln!(ctx.out, "  {platform}: {n}")?;
    }
    writeln!(ctx.out, "Videos: {}", stats.videos)?;
    writeln!(
        ctx.out,
        "Links: {} liked, {} shared",
        stats.liked_links, stats.shared_links
    )?;
    writeln!(ctx.out, "Tags: {}", stats.tags)?;
    match &stats.vocabulary_version {
        Some(version) => writeln!(ctx.out, "Vectors: {} (vocabulary {version})", stats.vectors)?,
        None => writeln!(ctx.out, "Vectors: none (run `toker vectorize`)")?,
    }
    if let Some(drift) = drift {
        writeln!(
            ctx.out,
            "Drift: {:.1}% of the profiles written since the refit ({}){}",
            drift * 100.0,
            stats.changed_since_refit,
            if refit_advised {
                "; a refit is advised: run `toker vectorize`"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}
