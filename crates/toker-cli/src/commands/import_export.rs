//! `toker import-export`: a platform's personal data-export archive, through the same
//! validate → clean → store path as every other source. Importing the same archive again
//! replaces the profile with identical content; a newer archive updates it.

use toker_sources::import_export;

use crate::cli::ImportExportArgs;
use crate::commands::{Ctx, ingest};
use crate::error::CliResult;
use crate::output::progress;

pub(crate) fn run(ctx: &mut Ctx, args: &ImportExportArgs) -> CliResult {
    let bar = progress(None, "Reading the export", ctx.progress());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let raw = import_export(args.platform, &args.path);
    bar.finish_and_clear();
    let label = format!("{} export {}", args.platform, args.path.display());
    ingest::store_one(ctx, &label, "Imported", raw?)
}
