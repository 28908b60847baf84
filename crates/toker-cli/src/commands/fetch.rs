//! `toker fetch`: a person's profile from the platform's official API, through the same
//! validate → clean → store path as every other source. Credentials come from the
//! environment (`TOKER_X_TOKEN`, `TOKER_INSTAGRAM_TOKEN`, `TOKER_TIKTOK_CLIENT_KEY` +
//! `TOKER_TIKTOK_CLIENT_SECRET`) and are never printed or stored.

use toker_sources::{ApiConfig, UserRef, api_source};

use crate::cli::FetchArgs;
use crate::commands::create::block_on;
use crate::commands::{Ctx, ingest};
use crate::error::CliResult;
use crate::output::progress;

pub(crate) fn run(ctx: &mut Ctx, args: &FetchArgs) -> CliResult {
    let mut config = ApiConfig::from_env(args.platform)?;
    config.max_items = args.max_items;
    let source = api_source(args.platform, config)?;
    let bar = progress(
        None,
        &format!("Fetching {} from {}", args.user, args.platform),
        ctx.progress(),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let fetched = block_on(source.fetch(&UserRef::new(args.user.clone())));
    bar.finish_and_clear();
    let label = format!("{} profile of {}", args.platform, args.user);
    ingest::store_one(ctx, &label, "Fetched", fetched??)
}
