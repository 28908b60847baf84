//! The command line: every command, flag and help text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use toker_model::Platform;
use toker_sources::ImportLimits;

/// Collect, validate, store and match people's social-media activity.
#[derive(Debug, Parser)]
#[command(
    name = "toker",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = TOP_AFTER_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What `toker --help` ends with: a quick start and the exit codes.
const TOP_AFTER_HELP: &str = "\
Quick start:
  toker create tiktok --count 200 --seed 1   200 fake TikTok profiles in ./toker.db
  toker vectorize                            fit the vectors
  toker match 1 --top 5                      who is most like profile 1, and why

Exit codes:
  0  ok
  1  runtime error (database, network, file)
  2  usage error (a wrong flag or argument)
  3  input rejected by validation: nothing stored, or with `import --keep-going`
     only the valid records stored";

/// Flags every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Database: a SQLite path (`./toker.db`), `sqlite://PATH` or `postgres://…`.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "./toker.db",
        hide_env_values = true
    )]
    pub(crate) database: String,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

/// The validation rule of the commands that store profiles they judge.
#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// The least number of likes given (`number_of_likes`) a profile needs to be stored.
    #[arg(long, default_value_t = toker_model::DEFAULT_MIN_LIKES, value_name = "N")]
    pub(crate) min_likes: u64,
}

impl RulesArgs {
    /// The validation rules these flags ask for.
    pub(crate) fn rules(&self) -> toker_model::ValidationRules {
        toker_model::ValidationRules::with_min_likes(self.min_likes)
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create profiles from the fake-data source, validate, clean and store them.
    Create(CreateArgs),
    /// List stored profiles (one summary line each).
    List(ListArgs),
    /// Show every stored profile in full.
    Listfull(ListArgs),
    /// Show one profile in full: `toker show 12` or `toker show tiktok:123456`.
    Show(ShowArgs),
    /// Delete profiles (their links and vectors; videos liked by others stay).
    Delete(DeleteArgs),
    /// Import profiles from a JSON array or JSON Lines file (`-` for stdin).
    Import(ImportArgs),
    /// Fetch a person's profile from the platform's official API (token from the environment).
    #[command(after_help = FETCH_AFTER_HELP)]
    Fetch(FetchArgs),
    /// Import a platform's "download your data" archive (the .zip or its folder).
    ImportExport(ImportExportArgs),
    /// Export stored profiles as JSON, JSON Lines or CSV.
    Export(ExportArgs),
    /// Fit the vocabulary over all stored profiles and store every profile's vector.
    Vectorize(VectorizeArgs),
    /// Find the profiles most similar to one profile.
    Match(MatchArgs),
    /// Counts of what is stored.
    Stats,
    /// Serve the REST API (see `toker apikey` for keys).
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Run the database's queued jobs until SIGTERM or ctrl-c (or, with --once, until none is due).
    Worker(WorkerArgs),
    /// Manage the REST API's keys.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

/// What `toker fetch --help` ends with: the environment it reads.
const FETCH_AFTER_HELP: &str = "\
Environment (tokens are never printed):
  TOKER_X_TOKEN                  X: the person's OAuth 2.0 user access token
  TOKER_INSTAGRAM_TOKEN          Instagram: the person's user access token (Instagram Login)
  TOKER_TIKTOK_CLIENT_KEY        TikTok: the Research API client key ...
  TOKER_TIKTOK_CLIENT_SECRET     ... and secret (liked videos)
  TOKER_TIKTOK_TOKEN             TikTok: the person's user access token (their own counts)
  TOKER_<PLATFORM>_API_URL       the API base URL (default: the platform's)
  TOKER_API_TIMEOUT              seconds per HTTP request
  TOKER_API_MAX_WAIT             the longest rate-limit wait before stopping, in seconds
  TOKER_API_MAX_RETRIES          retries of a failing request";

/// What `toker serve --help` ends with: the environment of the connect flow.
const SERVE_AFTER_HELP: &str = "\
Environment of the connect flow (people connecting their accounts):
  TOKER_SECRET_KEY                        64 hex digits sealing platform tokens (`openssl rand -hex 32`);
                                          required once any platform has credentials
  TOKER_PUBLIC_URL                        this server's public base URL (default: http:// + --bind)
  TOKER_CONNECT_<PLATFORM>_CLIENT_ID      a platform app's client id (TikTok: client key) ...
  TOKER_CONNECT_<PLATFORM>_CLIENT_SECRET  ... and secret; a platform without both is disabled
  TOKER_CONNECT_<PLATFORM>_AUTHORIZE_URL, _TOKEN_URL, _GRAPH_URL (Instagram)
                                          the platform's OAuth endpoints (default: production)
  TOKER_<PLATFORM>_API_URL                the platform's data API base URL
  TOKER_CONNECT_EXPORT_LIMIT              the largest data export upload, in bytes (256 MiB)
  TOKER_CONNECT_EXPORT_MAX_UNPACKED       the most bytes an uploaded export may unpack to (1 GiB)
  TOKER_CONNECT_EXPORT_MAX_RATIO          the highest compression ratio of an uploaded zip (100)
  TOKER_CONNECT_EXPORT_MAX_ITEMS          the most items read from one list of an export (100000)
  TOKER_CONNECT_RATE_LIMIT                connect starts and callbacks a minute per client address (30)
  TOKER_CONNECT_UPLOAD_RATE_LIMIT         export uploads a minute per client address (10)
  TOKER_CONNECT_MAX_UPLOADS               export uploads received at once, server-wide (4)
  TOKER_CONNECT_UPLOAD_SPOOL              bytes all uploads may hold in temporary files (512 MiB)
  TOKER_COOKIE_SECURE=false               cookies without `Secure`, for plain-http development only
`cargo xtask demo-platforms --print-env` prints a working set for the local replay.";

/// Rejects an empty (or blank) value, as a usage error.
fn non_empty(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The platform: tiktok, instagram or x (alias twitter).
    pub(crate) platform: Platform,
    /// The user id to create (default: a generated one).
    #[arg(long, conflicts_with = "count", value_parser = non_empty)]
    pub(crate) user_id: Option<String>,
    /// How many profiles to create in one batched ingest.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
    /// Seed of the fake data (same seed, same profiles; default: random).
    #[arg(long, value_name = "S")]
    pub(crate) seed: Option<u64>,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this platform.
    #[arg(long)]
    pub(crate) platform: Option<Platform>,
    /// At most this many profiles.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<u64>,
    /// Skip this many profiles first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) offset: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A row id (`12`) or `platform:user_id` (`tiktok:123456`).
    pub(crate) profile: String,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Row ids or `platform:user_id` references.
    #[arg(required = true)]
    pub(crate) profiles: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The file to read, or `-` for standard input.
    pub(crate) input: PathBuf,
    /// The platform of records that carry no `"platform"` key (a record whose own key
    /// names another platform is rejected).
    #[arg(long)]
    pub(crate) platform: Option<Platform>,
    /// Replace profiles that already exist instead of reporting them as duplicates.
    #[arg(long)]
    pub(crate) upsert: bool,
    /// Store the valid records even when others are rejected (default: all or nothing).
    #[arg(long)]
    pub(crate) keep_going: bool,
    /// Profiles per transaction.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub(crate) batch_size: u64,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// The platform: tiktok, instagram or x.
    pub(crate) platform: Platform,
    /// The person: a username or id (`me` for the token's owner on X and Instagram).
    #[arg(long, value_name = "NAME_OR_ID")]
    pub(crate) user: String,
    /// Read at most this many items of each list (liked, reposted, posts).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_items: Option<u64>,
    /// Continue the person's unfinished run from its last committed page (it keeps its own
    /// --max-items; a new run when there is none).
    #[arg(long, conflicts_with_all = ["restart", "since_last", "max_items"])]
    pub(crate) resume: bool,
    /// Abandon the person's unfinished run (its committed pages stay) and start over.
    #[arg(long, conflicts_with = "since_last")]
    pub(crate) restart: bool,
    /// Ask only for what is new since the last complete run: each list up to the first page
    /// of items already collected then (older items are kept).
    #[arg(long)]
    pub(crate) since_last: bool,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ImportExportArgs {
    /// The platform the archive comes from: tiktok, instagram or x.
    pub(crate) platform: Platform,
    /// The archive as downloaded (`.zip`), its unpacked folder, or its main data file.
    pub(crate) path: PathBuf,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
    /// The most bytes the export may unpack to (every file's uncompressed size).
    #[arg(long, value_name = "BYTES", default_value_t = ImportLimits::default().archive.max_unpacked_bytes)]
    pub(crate) max_unpacked_bytes: u64,
    /// The highest compression ratio a zip (or a file in it) may have; zip bombs exceed it.
    #[arg(long, value_name = "RATIO", default_value_t = ImportLimits::default().archive.max_ratio, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_ratio: u64,
    /// The most items read from one list (liked posts, shares, posts); the rest are skipped
    /// with a warning.
    #[arg(long, value_name = "N", default_value_t = ImportLimits::default().max_items_per_list)]
    pub(crate) max_items: usize,
}

impl ImportExportArgs {
    /// The import limits: the defaults with the flags applied.
    pub(crate) fn limits(&self) -> ImportLimits {
        let mut limits = ImportLimits::default();
        limits.archive.max_unpacked_bytes = self.max_unpacked_bytes;
        limits.archive.max_ratio = self.max_ratio;
        limits.max_items_per_list = self.max_items;
        limits
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// One row per profile (counts and video counts; lists are summarised).
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub(crate) format: ExportFormat,
    /// Only this platform.
    #[arg(long)]
    pub(crate) platform: Option<Platform>,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VectorizeArgs {
    /// Ignore features that occur in fewer profiles than this.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) min_df: u32,
    /// Keep at most this many features (the most frequent).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub(crate) max_features: usize,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// How many jobs to run at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) concurrency: usize,
    /// How long a job's lease lasts (renewed every third of it); a killed worker's job is
    /// taken over once it expires.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) lease_seconds: u64,
    /// How long to wait when no job is due.
    #[arg(long = "poll-interval-ms", default_value_t = 1000, value_name = "MS")]
    pub(crate) poll_interval_ms: u64,
    /// Exit when no job is due (drain the queue; for tests and cron).
    #[arg(long)]
    pub(crate) once: bool,
    /// Serve this worker's `/metrics` (its job outcomes and platform waits, the queue),
    /// `/healthz` and `/readyz` on this address, e.g. `127.0.0.1:9464`.
    #[arg(long, env = "TOKER_WORKER_METRICS_BIND", value_name = "ADDR")]
    pub(crate) metrics_bind: Option<String>,
    /// Serve `/metrics` without a key (for a scraper on a private network); by default it
    /// needs an admin key.
    #[arg(long, env = "TOKER_METRICS_OPEN", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) metrics_open: bool,
    #[command(flatten)]
    pub(crate) schedule: ScheduleArgs,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

/// How often connected accounts are refreshed (`serve`, `worker`).
#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    /// Refresh every OAuth-connected account every this many minutes (planned in the
    /// database, ±10 %); 0 plans none.
    #[arg(
        long = "refresh-minutes",
        default_value_t = 1440,
        env = "TOKER_REFRESH_MINUTES",
        value_name = "MINUTES"
    )]
    pub(crate) refresh_minutes: u64,
    /// Queue a refit of the vectors once this share of the profiles was written since the
    /// last one (checked every few minutes, one refit at a time); 0 never does.
    #[arg(
        long = "refit-drift",
        default_value_t = toker_store::REFIT_ADVISED_DRIFT,
        env = "TOKER_REFIT_DRIFT",
        value_name = "SHARE"
    )]
    pub(crate) refit_drift: f64,
}

impl ScheduleArgs {
    /// The refresh period.
    pub(crate) fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.refresh_minutes.saturating_mul(60))
    }

    /// The drift that queues a refit, `None` for never (`--refit-drift 0`).
    pub(crate) fn refit_drift(&self) -> Option<f64> {
        (self.refit_drift != 0.0).then_some(self.refit_drift)
    }
}

#[derive(Debug, Args)]
pub(crate) struct MatchArgs {
    /// A row id or `platform:user_id`.
    pub(crate) profile: String,
    /// How many matches.
    #[arg(long, default_value_t = 10, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(crate) top: u64,
    /// Only match profiles of this platform.
    #[arg(long)]
    pub(crate) platform: Option<Platform>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (`:0` for a free port).
    #[arg(
        long,
        default_value = "127.0.0.1:8080",
        env = "TOKER_BIND",
        value_name = "ADDR"
    )]
    pub(crate) bind: String,
    /// A browser origin allowed to call the API (CORS); repeat for several, `*` for any.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub(crate) cors_origins: Vec<String>,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub(crate) body_limit: usize,
    /// Requests per minute allowed per API key (0 = no limit).
    #[arg(long, default_value_t = 600, value_name = "N")]
    pub(crate) rate_limit: u32,
    /// Failed sign-ins per minute allowed per client address before it gets 429, checked
    /// before any database lookup (0 = no limit).
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub(crate) auth_failure_limit: u32,
    /// A header set by a reverse proxy that carries the client's address (e.g.
    /// `x-forwarded-for`; its last address counts), for the per-address limits. Only when
    /// every request comes through that proxy; by default the peer's address counts.
    #[arg(long, env = "TOKER_CLIENT_IP_HEADER", value_name = "HEADER")]
    pub(crate) client_ip_header: Option<String>,
    /// The longest a request may take, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) request_timeout: u64,
    /// How many requests may do heavy work (parsing and judging bodies, importing
    /// exports) at once; default: the number of CPU cores.
    #[arg(long, env = "TOKER_CPU_JOBS", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) cpu_jobs: Option<u64>,
    /// Queued jobs (refreshes, refits) run at once inside the server; 0 leaves them to
    /// `toker worker` processes. Default: 1 (0 for `:memory:`).
    #[arg(long, env = "TOKER_WORKERS", value_name = "N", value_parser = clap::value_parser!(u64).range(0..=64))]
    pub(crate) workers: Option<u64>,
    #[command(flatten)]
    pub(crate) schedule: ScheduleArgs,
    /// The longest a client may take to send a request's head, in seconds.
    #[arg(long, default_value_t = 10, env = "TOKER_HEADER_READ_TIMEOUT", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) header_read_timeout: u64,
    /// How long a connection may stay open with no request in progress, in seconds.
    #[arg(long, default_value_t = 60, env = "TOKER_IDLE_TIMEOUT", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout: u64,
    /// The most connections served at once (fewer if the open-files limit minus
    /// --fd-reserve is smaller); beyond it new connections get 503.
    #[arg(
        long,
        default_value_t = 1024,
        env = "TOKER_MAX_CONNECTIONS",
        value_name = "N"
    )]
    pub(crate) max_connections: usize,
    /// File descriptors kept free of client connections (database, uploads, platforms).
    #[arg(
        long,
        default_value_t = 128,
        env = "TOKER_FD_RESERVE",
        value_name = "N"
    )]
    pub(crate) fd_reserve: usize,
    /// Serve `GET /metrics` without a key (for a scraper on a private network); by default
    /// it needs an admin key.
    #[arg(long, env = "TOKER_METRICS_OPEN", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) metrics_open: bool,
    #[command(flatten)]
    pub(crate) rules: RulesArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApikeyCommand {
    /// Create a key and print it once (only a salted hash is stored).
    Create {
        /// What the key may do: admin (everything) or member (only its own profiles).
        #[arg(long, value_parser = ["admin", "member"])]
        role: String,
        /// A label to recognise the key by.
        #[arg(long)]
        label: Option<String>,
    },
    /// List keys (ids, roles, labels; never secrets).
    List,
    /// Revoke a key by its id (or the whole key).
    Revoke {
        /// The key id shown by `toker apikey list`.
        key: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
