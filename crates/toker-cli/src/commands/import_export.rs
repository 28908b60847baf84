//! `toker import-export`: a platform's personal data-export archive, through the same
//! validate → clean → store path as every other source. Importing the same archive again
//! changes nothing (reported `unchanged`); a newer archive of the same account replaces
//! the profile, reporting which items are new, updated or removed (toker-collect).

use toker_collect::import_archive_with_limits;

use crate::cli::ImportExportArgs;
use crate::commands::Ctx;
use crate::commands::fetch::{Stored, print_stored};
use crate::error::{CliError, CliResult};
use crate::output::progress;

pub(crate) fn run(ctx: &mut Ctx, args: &ImportExportArgs) -> CliResult {
    let bar = progress(None, "Reading the export", ctx.progress());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let rules = args.rules.rules();
    let limits = args.limits();
    let imported = import_archive_with_limits(
        ctx.store()?,
        args.platform,
        &args.path,
        &rules,
        None,
        &limits,
    );
    bar.finish_and_clear();
    let report = imported.map_err(|e| match e {
        toker_collect::CollectError::Rejected { .. } => {
            CliError::validation(format!("{e} (see --min-likes for the likes minimum)"))
        }
        toker_collect::CollectError::Source(e) => CliError::from(e),
        toker_collect::CollectError::Store(e) => CliError::from(e),
        other => CliError::runtime(other.to_string()),
    })?;
    let label = format!("{} export {}", args.platform, args.path.display());
    print_stored(
        ctx,
        &Stored {
            verb: "Imported",
            label: &label,
            profile: &report.profile,
            items: &report.items,
            items_by_list: serde_json::to_value(report.items_by_list)?,
            warnings: report.warnings.lines(),
            warnings_json: serde_json::to_value(&report.warnings)?,
        },
        None,
    )
}
