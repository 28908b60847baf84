//! `toker stats`: counts of what is stored.

use std::io::Write;

use crate::commands::Ctx;
use crate::error::CliResult;

pub(crate) fn run(ctx: &mut Ctx) -> CliResult {
    let stats = ctx.store()?.stats()?;
    if ctx.json() {
        ctx.out.json(&stats)?;
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
    Ok(())
}
