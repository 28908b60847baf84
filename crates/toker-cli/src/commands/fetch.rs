//! `toker fetch`: a person's profile from the platform's official API, collected page by
//! page with a checkpoint after each (toker-collect), through the same validate → clean →
//! store path as every other source. Credentials come from the environment
//! (`TOKER_X_TOKEN`, `TOKER_INSTAGRAM_TOKEN`, `TOKER_TIKTOK_CLIENT_KEY` +
//! `TOKER_TIKTOK_CLIENT_SECRET`) and are never printed or stored.
//!
//! `--resume` continues an unfinished run, `--restart` abandons it, `--since-last` asks
//! only for what is new since the last complete run; a plain fetch refuses while a run is
//! unfinished. Ctrl-C stops between requests; every committed page is kept.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::{Value, json};
use toker_collect::{
    CollectError, CollectReport, CollectRequest, ItemCounts, ProfileReport, Progress,
    ReportingSleeper, Start, StopCause, collect_api, describe_wait,
};
use toker_sources::http::{Listing, Wait};
use toker_sources::{ApiConfig, UserRef, api_client};
use toker_store::CollectionRun;

use crate::cli::FetchArgs;
use crate::commands::Ctx;
use crate::commands::create::block_on;
use crate::error::{CliError, CliResult};
use crate::output::progress;

pub(crate) fn run(ctx: &mut Ctx, args: &FetchArgs) -> CliResult {
    let start = if args.resume {
        Start::Resume
    } else if args.restart {
        Start::Restart
    } else if args.since_last {
        Start::SinceLast
    } else {
        Start::Fresh
    };
    let mut config = ApiConfig::from_env(args.platform)?;
    config.max_items = args.max_items;
    let title = format!("Fetching {} from {}", args.user, args.platform);
    let bar = progress(None, &title, ctx.progress());
    bar.enable_steady_tick(Duration::from_millis(120));
    let notes = !ctx.global.quiet;
    let line = Arc::new(Mutex::new(title.clone()));
    let client = api_client(
        args.platform,
        config,
        Arc::new(wait_reporter(bar.clone(), Arc::clone(&line), notes)),
    )?;
    let user = UserRef::new(args.user.clone());
    let rules = args.rules.rules();
    let request = CollectRequest {
        user: &user,
        start,
        max_items: args.max_items,
        rules: &rules,
        owner: None,
    };
    let mut shown = BarProgress {
        bar: bar.clone(),
        title,
        line,
        notes,
    };
    let store = ctx.store()?;
    let result = block_on(collect_api(
        store,
        client.as_ref(),
        &request,
        &mut shown,
        interrupted(),
    ))?;
    bar.finish_and_clear();
    let resume = format!(
        "`toker fetch {} --user {} --resume`",
        args.platform, args.user
    );
    match result {
        Ok(report) => print_collected(ctx, args, &report),
        Err(e) => Err(failure(ctx, e, &resume)?),
    }
}

/// Completes on Ctrl-C (never, if the handler cannot be installed).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Shows each rate-limit or backoff wait with its reason and the time left on the progress
/// line (or, without a drawn bar, one line on stderr per wait of a second or more).
fn wait_reporter(
    bar: ProgressBar,
    line: Arc<Mutex<String>>,
    notes: bool,
) -> ReportingSleeper<impl Fn(&Wait, Duration) + Send + Sync> {
    ReportingSleeper::new(move |wait: &Wait, left: Duration| {
        if let Some(text) = show_wait(&bar, &line, notes, wait, left) {
            eprintln!("{text}");
        }
    })
}

/// Puts `wait` with the time `left` on a drawn bar's line (restoring the page line at the
/// end); for a hidden bar, returns the one line to print when the wait begins.
fn show_wait(
    bar: &ProgressBar,
    line: &Mutex<String>,
    notes: bool,
    wait: &Wait,
    left: Duration,
) -> Option<String> {
    if bar.is_hidden() {
        let begins = left == wait.duration && left >= Duration::from_secs(1);
        return (notes && begins).then(|| format!("waiting: {}", describe_wait(wait, left)));
    }
    if left.is_zero() {
        let current = line.lock().map(|l| l.clone()).unwrap_or_default();
        bar.set_message(current);
    } else {
        bar.set_message(describe_wait(wait, left));
    }
    None
}

/// Moves the progress bar page by page and prints notes on stderr.
struct BarProgress {
    bar: ProgressBar,
    title: String,
    line: Arc<Mutex<String>>,
    notes: bool,
}

impl BarProgress {
    fn show(&self, message: String) {
        if let Ok(mut line) = self.line.lock() {
            line.clone_from(&message);
        }
        self.bar.set_message(message);
    }
}

impl Progress for BarProgress {
    fn started(&mut self, run: &CollectionRun, resumed: bool) {
        if resumed {
            self.bar.set_position(run.pages);
            self.show(format!(
                "{}: resuming run {} after {} committed page(s)",
                self.title, run.id, run.pages
            ));
        }
    }

    fn page(&mut self, listing: Listing, page: u32, items: u64) {
        self.bar.inc(1);
        self.show(format!(
            "{}: {listing} page {page}, {items} item(s)",
            self.title
        ));
    }

    fn note(&mut self, message: &str) {
        if self.notes {
            self.bar.suspend(|| eprintln!("note: {message}"));
        }
    }
}

/// The error to end with, after printing what the run committed (`--json`: its report).
fn failure(ctx: &mut Ctx, e: CollectError, resume: &str) -> CliResult<CliError> {
    let report = match &e {
        CollectError::Stopped {
            report: Some(r), ..
        }
        | CollectError::Rejected {
            report: Some(r), ..
        } => Some(r.as_ref()),
        _ => None,
    };
    if let (true, Some(report)) = (ctx.json(), report) {
        ctx.out.json(&report_json(report))?;
    }
    Ok(match e {
        CollectError::Unfinished { .. } => {
            CliError::runtime(format!("{e} ({resume}, or `--restart`)"))
        }
        CollectError::Stopped {
            report: Some(_),
            ref cause,
        } => {
            // An interruption says so itself; a failure says what failed.
            let what = match cause {
                StopCause::Interrupted => "",
                _ => "stopped: ",
            };
            CliError::runtime(format!("{what}{e} ({resume})"))
        }
        CollectError::Rejected { .. } => {
            CliError::validation(format!("{e} (see --min-likes for the likes minimum)"))
        }
        CollectError::Corrupt { .. } => CliError::runtime(format!(
            "{e}: start over with `--restart` (its committed pages stay in the profile)"
        )),
        CollectError::Source(source) => CliError::from(source),
        CollectError::Store(store) => CliError::from(store),
        other => CliError::runtime(other.to_string()),
    })
}

fn print_collected(ctx: &mut Ctx, args: &FetchArgs, report: &CollectReport) -> CliResult {
    let label = format!("{} profile of {}", args.platform, args.user);
    let Some(profile) = &report.profile else {
        return Err(CliError::runtime(format!(
            "{label}: the run ended without storing a profile"
        )));
    };
    let run = run_json(report);
    let summary = run_summary(report);
    print_stored(
        ctx,
        &Stored {
            verb: "Fetched",
            label: &label,
            profile,
            items: &report.items,
            items_by_list: serde_json::to_value(report.items_by_list)?,
            warnings: report.warnings.clone(),
            warnings_json: json!(report.warnings),
        },
        Some(("run", run, summary)),
    )
}

/// `run 3 complete: 2 page(s) read, 3 resumed from its checkpoint; …`.
fn run_summary(report: &CollectReport) -> String {
    let mut text = format!(
        "run {} complete: {} page(s) read",
        report.run_id, report.pages_fetched
    );
    if report.resumed {
        text.push_str(&format!(
            ", {} committed before (not asked for again)",
            report.pages_resumed
        ));
    }
    text.push_str(if report.marker_moved {
        "; every page read: the next --since-last run starts here"
    } else {
        "; not every page read (--max-items): the --since-last marker stays where it was"
    });
    text
}

/// A stored profile, as `fetch` and `import-export` report it.
pub(crate) struct Stored<'a> {
    /// `Fetched` or `Imported`.
    pub(crate) verb: &'a str,
    /// What was read, e.g. `tiktok profile of mila.reyes`.
    pub(crate) label: &'a str,
    pub(crate) profile: &'a ProfileReport,
    pub(crate) items: &'a ItemCounts,
    pub(crate) items_by_list: Value,
    /// The warnings as lines for stderr.
    pub(crate) warnings: Vec<String>,
    /// The warnings as `--json` shows them.
    pub(crate) warnings_json: Value,
}

/// Prints warnings on stderr and the report on stdout: one line (and an `extra` line), or
/// with `--json` one object (with `extra` under its key).
pub(crate) fn print_stored(
    ctx: &mut Ctx,
    stored: &Stored<'_>,
    extra: Option<(&str, Value, String)>,
) -> CliResult {
    let p = stored.profile;
    if !ctx.global.quiet && !ctx.json() {
        for warning in &stored.warnings {
            eprintln!("warning: {warning}");
        }
    }
    if ctx.json() {
        let mut out = json!({
            "id": p.id,
            "platform": p.key.split(':').next().unwrap_or_default(),
            "user_id": p.user_id,
            "username": p.username,
            "outcome": p.outcome.as_str(),
            "liked_videos": p.liked_videos,
            "shared_videos": p.shared_videos,
            "items": stored.items,
            "items_by_list": stored.items_by_list,
            "warnings": stored.warnings_json,
        });
        if let (Some((key, value, _)), Some(map)) = (extra, out.as_object_mut()) {
            map.insert(key.to_owned(), value);
        }
        ctx.out.json(&out)?;
    } else {
        let i = stored.items;
        writeln!(
            ctx.out,
            "{} {}: profile {} {} (@{}) {}, {} liked and {} shared video(s); items: {} new, {} \
             updated, {} unchanged, {} removed",
            stored.verb,
            stored.label,
            p.id,
            p.key,
            p.username,
            p.outcome.as_str(),
            p.liked_videos,
            p.shared_videos,
            i.new,
            i.updated,
            i.unchanged,
            i.removed
        )?;
        if let Some((_, _, line)) = extra {
            writeln!(ctx.out, "  {line}")?;
        }
    }
    Ok(())
}

/// The `run` object of `--json` output.
fn run_json(report: &CollectReport) -> Value {
    json!({
        "id": report.run_id,
        "mode": report.mode,
        "status": report.status,
        "resumed": report.resumed,
        "marker_moved": report.marker_moved,
        "pages_fetched": report.pages_fetched,
        "pages_resumed": report.pages_resumed,
        "listings": report.listings,
        "stopped": report.stopped,
    })
}

/// The `--json` report of a run that stopped or was rejected.
fn report_json(report: &CollectReport) -> Value {
    json!({
        "run": run_json(report),
        "profile": report.profile,
        "items": report.items,
        "warnings": report.warnings,
    })
}

#[cfg(test)]
mod tests {
    use std::io;

    use indicatif::{ProgressDrawTarget, TermLike};
    use toker_model::Platform;
    use toker_sources::http::WaitReason;

    use super::*;

    /// A terminal that swallows everything (so the bar counts as drawn).
    #[derive(Debug)]
    struct Sink;

    impl TermLike for Sink {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, _: &str) -> io::Result<()> {
            Ok(())
        }
        fn write_str(&self, _: &str) -> io::Result<()> {
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn wait() -> Wait {
        Wait {
            platform: Platform::X,
            endpoint: "GET /2/users/1/liked_tweets".to_owned(),
            reason: WaitReason::RateLimit,
            duration: Duration::from_secs(901),
            retry: 1,
        }
    }

    #[test]
    fn a_drawn_bar_shows_the_reason_and_time_left_then_its_page_line_again() {
        let bar =
            ProgressBar::with_draw_target(None, ProgressDrawTarget::term_like(Box::new(Sink)));
        assert!(!bar.is_hidden());
        let line = Mutex::new("Fetching me from x: liked page 1, 100 item(s)".to_owned());
        let w = wait();
        assert_eq!(
            show_wait(&bar, &line, true, &w, Duration::from_secs(600)),
            None
        );
        assert_eq!(
            bar.message(),
            "x: rate limited, waiting for the reset: 10 min 0 s left \
             (GET /2/users/1/liked_tweets, retry 1)"
        );
        assert_eq!(show_wait(&bar, &line, true, &w, Duration::ZERO), None);
        assert_eq!(
            bar.message(),
            "Fetching me from x: liked page 1, 100 item(s)"
        );
    }

    #[test]
    fn without_a_drawn_bar_a_wait_is_one_line_when_it_begins() {
        let bar = ProgressBar::hidden();
        let line = Mutex::new(String::new());
        let w = wait();
        let first = show_wait(&bar, &line, true, &w, w.duration).unwrap();
        assert!(first.starts_with("waiting: x: rate limited"), "{first}");
        assert!(first.contains("15 min 1 s left"), "{first}");
        assert_eq!(
            show_wait(&bar, &line, true, &w, Duration::from_secs(5)),
            None
        );
        assert_eq!(show_wait(&bar, &line, false, &w, w.duration), None, "-q");
    }
}
