//! `toker vectorize`: fit the vocabulary over every stored profile, then store every
//! profile's vector with the vocabulary (one transaction replaces the previous set).

use std::io::Write;
use std::time::Instant;

use serde_json::json;
use toker_processing::{VectorizerConfig, VocabularyBuilder};
use toker_store::{ListQuery, StoredProfile, StoredVector, VocabularyRecord};

use crate::cli::VectorizeArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::progress;

/// Profiles loaded per page.
const PAGE: u64 = 1000;

pub(crate) fn run(ctx: &mut Ctx, args: &VectorizeArgs) -> CliResult {
    let started = Instant::now();
    let config = VectorizerConfig {
        min_df: args.min_df,
        max_features: u32::try_from(args.max_features).unwrap_or(u32::MAX),
        ..VectorizerConfig::default()
    };
    let mut builder =
        VocabularyBuilder::new(config).map_err(|e| CliError::usage(format!("vectorize: {e}")))?;
    let total = ctx.store()?.count_profiles(&ListQuery::default())?;
    if total == 0 {
        return Err(CliError::runtime(
            "there are no profiles to vectorize: add some with `toker create` or `toker import`",
        ));
    }
    // Two streaming passes: fit the vocabulary, then transform (memory: the vectors only).
    let bar = progress(Some(total * 2), "Vectorizing", ctx.progress());
    for_each_page(ctx, |page| {
        for stored in page {
            builder.add(&stored.profile);
        }
        bar.inc(page.len() as u64);
    })?;
    let vocabulary = builder.finish();
    let mut vectors = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for_each_page(ctx, |page| {
        for stored in page {
            let (indices, values) = vocabulary.transform(&stored.profile).into_parts();
            vectors.push(StoredVector {
                profile_id: stored.id,
                platform: stored.platform,
                indices,
                values,
            });
        }
        bar.inc(page.len() as u64);
    })?;
    bar.finish_and_clear();
    let record = VocabularyRecord {
        version: vocabulary.version().to_owned(),
        json: vocabulary.to_json(),
    };
    let stored = ctx
        .store()?
        .save_vectors(&record, &mut vectors.into_iter())?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json() {
        ctx.out.json(&json!({
            "profiles": stored,
            "features": vocabulary.len(),
            "vocabulary_version": vocabulary.version(),
            "seconds": seconds,
        }))?;
    } else {
        writeln!(
            ctx.out,
            "Vectorized {stored} profile(s) over {} feature(s) (vocabulary {}) in {seconds:.2} s",
            vocabulary.len(),
            vocabulary.version()
        )?;
    }
    Ok(())
}

fn for_each_page(ctx: &mut Ctx, mut visit: impl FnMut(&[StoredProfile])) -> CliResult {
    let mut after_id = None;
    loop {
        let page = ctx.store()?.load_profiles(&ListQuery {
            limit: Some(PAGE),
            after_id,
            ..ListQuery::default()
        })?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after_id = Some(last.id);
        visit(&page);
    }
}
