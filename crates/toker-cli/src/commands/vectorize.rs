//! `toker vectorize`: fit the vocabulary over every stored profile and store every
//! profile's vector with it (toker-collect's `vectorize_store`, the same refit the REST
//! API's `POST /v1/vectorize` runs).

use std::io::Write;
use std::time::Instant;

use serde_json::json;
use toker_model::Listing;
use toker_processing::VectorizerConfig;

use crate::cli::VectorizeArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::progress;

pub(crate) fn run(ctx: &mut Ctx, args: &VectorizeArgs) -> CliResult {
    let started = Instant::now();
    let config = VectorizerConfig {
        min_df: args.min_df,
        max_features: u32::try_from(args.max_features).unwrap_or(u32::MAX),
        ..VectorizerConfig::default()
    };
    config
        .validate()
        .map_err(|e| CliError::usage(format!("vectorize: {e}")))?;
    if ctx.store()?.count_profiles(&Listing::default())? == 0 {
        return Err(CliError::runtime(
            "there are no profiles to vectorize: add some with `toker create` or `toker import`",
        ));
    }
    let bar = progress(None, "Vectorizing", ctx.progress());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let report = toker_collect::vectorize_store(ctx.store()?, config);
    bar.finish_and_clear();
    let report = report?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json() {
        ctx.out.json(&json!({
            "profiles": report.profiles,
            "features": report.features,
            "vocabulary_version": report.vocabulary_version,
            "seconds": seconds,
        }))?;
    } else {
        writeln!(
            ctx.out,
            "Vectorized {} profile(s) over {} feature(s) (vocabulary {}) in {seconds:.2} s",
            report.profiles, report.features, report.vocabulary_version
        )?;
    }
    Ok(())
}
