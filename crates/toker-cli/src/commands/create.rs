//! `toker create`: profiles from the fake-data source, through the same validate → clean →
//! store path as every other source.

use std::io::Write;

use serde_json::json;
use toker_processing::prepare::prepare_profile;
use toker_sources::fake::{FakeSource, generate_many};
use toker_sources::{RawProfile, Source, UserRef};
use toker_store::IngestItem;

use crate::cli::CreateArgs;
use crate::commands::{Ctx, ingest};
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &mut Ctx, args: CreateArgs) -> CliResult {
    let seed = args.seed.unwrap_or_else(rand::random);
    match args.count {
        Some(count) => create_many(ctx, &args, seed, count),
        None => create_one(ctx, &args, seed),
    }
}

fn create_one(ctx: &mut Ctx, args: &CreateArgs, seed: u64) -> CliResult {
    let source = FakeSource::new(args.platform, seed)?;
    let raw = match &args.user_id {
        Some(user_id) => block_on(source.fetch(&UserRef::new(user_id.clone())))??,
        None => source.generate(0).raw,
    };
    let RawProfile {
        platform,
        profile,
        raw,
        ..
    } = raw;
    let prepared = prepare_profile(platform, profile, raw, &args.rules.rules())
        .map_err(|rejected| CliError::rejected(&format!("{platform} profile"), &rejected))?;
    let key = prepared.key();
    let username = prepared.profile.username.clone();
    let id =
        ctx.store()?
            .create_profile(prepared.platform, &prepared.profile, &prepared.raw, None)?;
    if ctx.json() {
        ctx.out.json(&json!({
            "id": id,
            "platform": prepared.platform,
            "user_id": prepared.profile.user_id,
            "username": username,
            "seed": seed.to_string(),
        }))?;
    } else {
        writeln!(ctx.out, "Created profile {id}: {key} (@{username})")?;
    }
    Ok(())
}

fn create_many(ctx: &mut Ctx, args: &CreateArgs, seed: u64, count: u64) -> CliResult {
    let rules = args.rules.rules();
    let platform = args.platform;
    toker_sources::ensure_enabled(platform)?;
    let items = generate_many(Some(platform), seed, count).enumerate().map(
        move |(index, fake)| -> Result<IngestItem, CliError> {
            let RawProfile {
                platform,
                profile,
                raw,
                ..
            } = fake.raw;
            let label = format!("fake profile {}", index + 1);
            let prepared = prepare_profile(platform, profile, raw, &rules)
                .map_err(|rejected| CliError::rejected(&label, &rejected))?;
            Ok(IngestItem {
                label,
                platform: prepared.platform,
                profile: prepared.profile,
                raw: prepared.raw,
                owner: None,
            })
        },
    );
    let report = ingest::run(ctx, items, Some(count), "Creating", 1000)?;
    if ctx.json() {
        let mut value = report.to_json();
        value["seed"] = json!(seed.to_string());
        ctx.out.json(&value)?;
    } else {
        writeln!(
            ctx.out,
            "Created {} {platform} profiles (seed {seed}){}",
            report.store.created,
            report.duplicates_note(
                "the same --seed makes the same people; choose another to create new ones"
            )
        )?;
    }
    Ok(())
}

/// Runs a future to completion on a small runtime (the sources are async).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> CliResult<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
