//! `toker serve`: the REST API of toker-api over the `--database`, with `--workers` job
//! slots in-process, until SIGTERM or ctrl-c (in-flight requests finish first, running jobs
//! go back to the queue).

use std::time::Duration;

use toker_api::ServeConfig;

use crate::cli::ServeArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &mut Ctx, args: &ServeArgs) -> CliResult {
    let config = ServeConfig {
        bind: args.bind.clone(),
        database_url: ctx.global.database.clone(),
        cors_origins: args.cors_origins.clone(),
        body_limit: args.body_limit,
        rate_limit_per_minute: (args.rate_limit > 0).then_some(args.rate_limit),
        auth_failures_per_minute: (args.auth_failure_limit > 0).then_some(args.auth_failure_limit),
        client_ip_header: args.client_ip_header.clone(),
        request_timeout: Duration::from_secs(args.request_timeout),
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections,
        fd_reserve: args.fd_reserve,
        min_likes: args.rules.min_likes,
        cpu_jobs: args
            .cpu_jobs
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        refresh_period: args.schedule.period(),
        refit_drift: args.schedule.refit_drift(),
        metrics_open: args.metrics_open,
        workers: args
            .workers
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..ServeConfig::default()
    };
    config.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))?;
    let quiet = ctx.global.quiet;
    runtime.block_on(async move {
        let server = toker_api::bind(config).await?;
        if !quiet {
            // On stderr, so that scripts can wait for it; stdout stays clean.
            eprintln!(
                "toker: serving the REST API on http://{}",
                server.local_addr()
            );
        }
        server.run(std::future::pending()).await
    })?;
    Ok(())
}
