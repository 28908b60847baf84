//! `toker worker`: runs the queued jobs of the `--database` (toker-collect's `run_worker`)
//! until SIGTERM or ctrl-c, which give the running jobs back to the queue; with `--once`,
//! until nothing is due. It runs every kind of job the API queues (toker-api's
//! `jobs::runners`: refreshes of connected accounts, with the `TOKER_SECRET_KEY` and
//! `TOKER_CONNECT_*` settings `toker serve` reads) and vector refits. With
//! `--metrics-bind` it also serves its own `/metrics`, `/healthz` and `/readyz`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use toker_api::{AppState, ServeConfig};
use toker_collect::jobs::WorkerOptions;

use crate::cli::WorkerArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &mut Ctx, args: &WorkerArgs) -> CliResult {
    if args.concurrency == 0 || args.lease_seconds < 3 || args.poll_interval_ms == 0 {
        return Err(CliError::usage(
            "worker: --concurrency and --poll-interval-ms must be at least 1, --lease-seconds at least 3",
        ));
    }
    // Opened (and migrated) once here, so that the worker's connections find the tables.
    ctx.store()?;
    let url = ctx.global.database.clone();
    // The runners need what a server knows (connect settings, rules), on one connection.
    // One pooled connection for the runners' budget checks, one more for scrapes.
    let config = ServeConfig {
        database_url: url.clone(),
        min_likes: args.rules.min_likes,
        pool_size: Some(1 + usize::from(args.metrics_bind.is_some())),
        workers: Some(0),
        refresh_period: args.schedule.period(),
        refit_drift: args.schedule.refit_drift(),
        metrics_open: args.metrics_open,
        ..ServeConfig::default()
    };
    // Checked before anything is queued: a bad share is the command's error, not a job's.
    config.validate()?;
    let state = AppState::open(config)?;
    let (period, drift) = (state.config().refresh_period, state.config().refit_drift);
    toker_api::jobs::start_schedules(ctx.store()?, period, drift)?;
    let runners = toker_api::jobs::runners(&state);
    let open = toker_api::jobs::opener(&url);
    let options = WorkerOptions {
        name: format!(
            "{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned()),
            std::process::id()
        ),
        concurrency: args.concurrency,
        lease: Duration::from_secs(args.lease_seconds),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        once: args.once,
        observer: Some(toker_api::jobs::observer(&state)),
        ..WorkerOptions::default()
    };
    let quiet = ctx.global.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(async move {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        if let Some(bind) = &args.metrics_bind {
            let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
                CliError::runtime(format!("worker: cannot bind --metrics-bind {bind}: {e}"))
            })?;
            if !quiet {
                // On stderr, so that scripts can wait for it; stdout stays clean.
                let addr = listener
                    .local_addr()
                    .map_err(|e| CliError::runtime(e.to_string()))?;
                eprintln!("toker: serving worker metrics on http://{addr}");
            }
            let mut stopped = stopping.clone();
            tokio::spawn(toker_api::serve_operations(state, listener, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }));
        }
        tokio::spawn(async move {
            termination().await;
            let _ = stop.send(true);
        });
        Ok::<_, CliError>(
            toker_collect::jobs::run_worker(open, Arc::new(runners), options, stopping).await?,
        )
    })?;
    if ctx.json() {
        ctx.out.json(&report)?;
    } else if !ctx.global.quiet {
        writeln!(
            ctx.out,
            "Ran {} job(s): {} succeeded, {} failed attempt(s), {} given back, {} taken over",
            report.succeeded + report.failed + report.released + report.lost,
            report.succeeded,
            report.failed,
            report.released,
            report.lost
        )?;
    }
    Ok(())
}

/// Ctrl-c or (on Unix) SIGTERM; never ends if neither can be listened for.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
