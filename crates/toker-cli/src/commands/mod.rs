//! One module per command; this file dispatches and holds what every command shares.

mod apikey;
mod completions;
mod create;
mod delete;
mod export;
mod fetch;
mod import;
mod import_export;
mod ingest;
mod list;
mod matching;
mod serve;
mod show;
mod stats;
mod vectorize;
mod worker;

use toker_model::Platform;
use toker_store::{Store, StoredProfile};

use crate::cli::{ApikeyCommand, Cli, Command, GlobalArgs};
use crate::error::{CliError, CliResult};
use crate::output::Out;

/// What every command gets: the global flags, the output and (lazily) the store.
pub(crate) struct Ctx {
    pub(crate) global: GlobalArgs,
    pub(crate) out: Out,
    store: Option<Store>,
    /// Whether the command only reads what is stored: a SQLite file that does not exist
    /// is then an error (a mistyped `--database`), not a new empty database.
    reads_only: bool,
}

impl Ctx {
    pub(crate) fn json(&self) -> bool {
        self.global.json
    }

    /// Whether to draw progress bars (never with `--json` or `-q`).
    pub(crate) fn progress(&self) -> bool {
        !self.global.json && !self.global.quiet
    }

    /// The store, opened (and migrated) on first use.
    pub(crate) fn store(&mut self) -> CliResult<&mut Store> {
        if self.store.is_none() {
            let open = if self.reads_only {
                Store::open_existing
            } else {
                Store::open
            };
            let mut store = open(&self.global.database).map_err(|e| {
                CliError::runtime(format!(
                    "{e} (set --database or DATABASE_URL to a SQLite path or postgres:// URL)"
                ))
            })?;
            // Every profile the command writes is stored with its vector (matchable at once).
            toker_collect::VocabularyVectorizer::install(&mut store);
            self.store = Some(store);
        }
        self.store
            .as_mut()
            .ok_or_else(|| CliError::runtime("the database is not open"))
    }

    /// Resolves `12` (a row id) or `tiktok:123456` (platform:user_id) to a stored profile.
    pub(crate) fn find(&mut self, reference: &str) -> CliResult<StoredProfile> {
        let reference = reference.trim();
        if let Ok(id) = reference.parse::<i64>() {
            return Ok(self.store()?.get_profile(id)?);
        }
        let Some((platform, user_id)) = reference.split_once(':') else {
            return Err(CliError::usage(format!(
                "profile reference {reference:?}: expected a row id (12) or platform:user_id (tiktok:123456)"
            )));
        };
        let platform: Platform = platform
            .parse()
            .map_err(|e: toker_model::UnknownPlatform| CliError::usage(e.to_string()))?;
        Ok(self.store()?.get_profile_by_key(platform, user_id)?)
    }
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> CliResult {
    let reads_only = matches!(
        cli.command,
        Command::List(_)
            | Command::Listfull(_)
            | Command::Show(_)
            | Command::Delete(_)
            | Command::Export(_)
            | Command::Vectorize(_)
            | Command::Match(_)
            | Command::Stats
            | Command::Apikey(ApikeyCommand::List | ApikeyCommand::Revoke { .. })
    );
    let mut ctx = Ctx {
        global: cli.global,
        out: Out::new(),
        store: None,
        reads_only,
    };
    let result = match cli.command {
        Command::Create(args) => create::run(&mut ctx, args),
        Command::List(args) => list::run(&mut ctx, &args, list::Detail::Summary),
        Command::Listfull(args) => list::run(&mut ctx, &args, list::Detail::Full),
        Command::Show(args) => show::run(&mut ctx, &args),
        Command::Delete(args) => delete::run(&mut ctx, &args),
        Command::Import(args) => import::run(&mut ctx, &args),
        Command::Fetch(args) => fetch::run(&mut ctx, &args),
        Command::ImportExport(args) => import_export::run(&mut ctx, &args),
        Command::Export(args) => export::run(&mut ctx, &args),
        Command::Vectorize(args) => vectorize::run(&mut ctx, &args),
        Command::Match(args) => matching::run(&mut ctx, &args),
        Command::Stats => stats::run(&mut ctx),
        Command::Serve(args) => serve::run(&mut ctx, &args),
        Command::Worker(args) => worker::run(&mut ctx, &args),
        Command::Apikey(command) => apikey::run(&mut ctx, command),
        Command::Completions(args) => completions::run(&mut ctx, &args),
    };
    // Flush what was written even when the command failed half-way.
    let flushed = ctx.out.flush();
    result?;
    flushed.map_err(CliError::from)
}
