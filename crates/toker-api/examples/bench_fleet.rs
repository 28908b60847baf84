//! The job queue's throughput against the platform replay (`cargo xtask bench-fleet` runs
//! it): `--accounts` connected X accounts, each with a refresh due, drained by `W` `toker
//! worker --once` processes, for each `W` of `--workers`, each time on a new database. The
//! replay answers every request after `--delay-ms`, like a platform far away.
//!
//! Usage: `bench_fleet --toker PATH [--accounts 300] [--workers 1,2,4]
//! [--backend sqlite|postgres] [--delay-ms 20]`; one JSON object per line on stdout.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use toker_collect::tokens::{SecretKey, TokenCipher};
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::PlatformTokens;
use toker_store::Store;
use toker_store::testing::{TestDb, connect_synthetic_accounts, queue_synthetic_refreshes};
use toker_testkit::replay::{Replay, SYNTHETIC_X, synthetic_x_id};

const SECRET_KEY: &str = "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978";

struct Options {
    toker: String,
    accounts: u64,
    workers: Vec<usize>,
    postgres: bool,
    delay: Duration,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        toker: String::new(),
        accounts: 300,
        workers: vec![1, 2, 4],
        postgres: false,
        delay: Duration::from_millis(20),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what} must be a whole number, got {value:?}"))
        };
        match arg.as_str() {
            "--toker" => value.clone_into(&mut options.toker),
            "--accounts" => options.accounts = number("--accounts")?,
            "--delay-ms" => options.delay = Duration::from_millis(number("--delay-ms")?),
            "--workers" => {
                options.workers = value
                    .split(',')
                    .map(|w| w.trim().parse::<usize>().ok().filter(|&w| w > 0))
                    .collect::<Option<_>>()
                    .ok_or_else(|| format!("--workers takes counts like 1,2,4, got {value:?}"))?;
            }
            "--backend" => {
                options.postgres = match value.as_str() {
                    "sqlite" => false,
                    "postgres" => true,
                    other => return Err(format!("--backend is sqlite or postgres, got {other:?}")),
                };
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.toker.is_empty() {
        return Err("--toker PATH (the toker binary the workers run) is required".to_owned());
    }
    Ok(options)
}

/// Seeds a new database and drains it with `workers` processes; the seconds it took.
fn drain(options: &Options, replay: &Replay, workers: usize) -> Result<f64, String> {
    let db = if options.postgres {
        TestDb::postgres().ok_or("PostgreSQL is not reachable")?
    } else {
        TestDb::sqlite()
    };
    let mut store = Store::open(&db.url).map_err(|e| e.to_string())?;
    let cipher = TokenCipher::new(&SecretKey::from_hex(SECRET_KEY)?);
    connect_synthetic_accounts(
        &mut store,
        options.accounts,
        synthetic_x_id,
        |i, user_id| {
            let tokens = PlatformTokens {
                access_token: Secret::new(format!("{SYNTHETIC_X}{i}")),
                expires_in: Some(Duration::from_secs(7200)),
                refresh_token: None,
                refresh_expires_in: None,
                scope: Some("tweet.read users.read like.read offline.access".to_owned()),
                account_id: None,
            };
            cipher.seal_tokens(Platform::X, user_id, &tokens)
        },
    );
    queue_synthetic_refreshes(&mut store, options.accounts);
    let started = Instant::now();
    let children: Vec<_> = (0..workers)
        .map(|_| {
            Command::new(&options.toker)
                .env_remove("TOKER_LOG")
                .envs(replay.env("http://127.0.0.1:9"))
                .env("TOKER_SECRET_KEY", SECRET_KEY)
                .args(["-q", "--database", &db.url, "worker", "--once"])
                .args(["--poll-interval-ms", "20", "--refresh-minutes", "0"])
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", options.toker))
        })
        .collect::<Result<_, _>>()?;
    for mut child in children {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("a worker failed: {status}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let counts = store
        .count_jobs(Some("refresh"))
        .map_err(|e| e.to_string())?;
    if counts.succeeded != options.accounts {
        return Err(format!(
            "{} of {} refreshes succeeded: {counts:?}",
            counts.succeeded, options.accounts
        ));
    }
    Ok(seconds)
}

fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("bench_fleet: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench_fleet: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let replay = runtime.block_on(Replay::start("127.0.0.1:0"));
    replay.set_delay(options.delay);
    for &workers in &options.workers {
        let requests_before = replay.log().len();
        match drain(&options, &replay, workers) {
            Ok(seconds) => {
                let requests = replay.log().len() - requests_before;
                println!(
                    "{{\"workers\":{workers},\"accounts\":{},\"seconds\":{seconds:.3},\"refreshes_per_second\":{:.2},\"platform_requests\":{requests},\"overlaps\":{}}}",
                    options.accounts,
                    options.accounts as f64 / seconds,
                    replay.overlaps()
                );
            }
            Err(e) => {
                eprintln!("bench_fleet: with {workers} worker(s): {e}");
                std::process::exit(1);
            }
        }
    }
}
