//! Load benchmark of the REST API (part of `cargo xtask bench`; not a test).
//!
//! Seeds N generated profiles through the store's ingest (skipped when the database already
//! holds them), vectorizes, serves on a local port, then drives concurrent
//! `GET /v1/profiles/{id}` and `GET /v1/profiles/{id}/matches?top=10` for a few seconds
//! each and prints throughput and p50/p99 latency. The baseline, measured in the same run,
//! is the same profile reads done in-process on one thread (`Store::get_profile` plus JSON
//! encoding): the API's figure against it is the price of HTTP, auth and the pool.
//!
//! ```text
//! cargo run --release -p toker-api --example bench_api -- \
//!     [--profiles N] [--database URL] [--reuse-vectors] [--seconds S] [--concurrency C] \
//!     [--seed S] [--replicas R] [--json]
//! ```
//! `--replicas R` serves from R servers on the same database (each with its own runtime, as
//! R `toker serve` processes would be) and spreads the requests over them, for the
//! throughput of replicas on one PostgreSQL.
//! Without `--database` a temporary SQLite file is used. `--reuse-vectors` serves the
//! vectors already in the database (as `cargo xtask bench` does after `toker vectorize`)
//! instead of vectorizing again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use toker_api::{Role, ServeConfig, create_api_key};
use toker_collect::vectorize_store;
use toker_model::Listing;
use toker_model::ValidationRules;
use toker_processing::{VectorizerConfig, Vocabulary, prepare_profile};
use toker_store::{IngestItem, IngestOptions, Store};

struct Args {
    profiles: u64,
    database: Option<String>,
    seconds: u64,
    concurrency: usize,
    seed: u64,
    json: bool,
    reuse_vectors: bool,
    replicas: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        profiles: 10_000,
        database: None,
        seconds: 5,
        concurrency: 8,
        seed: 42,
        json: false,
        reuse_vectors: false,
        replicas: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name} must be a whole number, got {v:?}"))
        };
        match flag.as_str() {
            "--profiles" => args.profiles = number("--profiles", value("--profiles")?)?,
            "--database" => args.database = Some(value("--database")?),
            "--seconds" => args.seconds = number("--seconds", value("--seconds")?)?,
            "--concurrency" => {
                args.concurrency =
                    usize::try_from(number("--concurrency", value("--concurrency")?)?)
                        .map_err(|e| e.to_string())?;
            }
            "--seed" => args.seed = number("--seed", value("--seed")?)?,
            "--json" => args.json = true,
            "--reuse-vectors" => args.reuse_vectors = true,
            "--replicas" => {
                args.replicas = usize::try_from(number("--replicas", value("--replicas")?)?)
                    .map_err(|e| e.to_string())?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; expected --profiles N, --database URL, \
                     --reuse-vectors, --seconds S, --concurrency C, --seed S, --replicas R, \
                     --json"
                ));
            }
        }
    }
    if args.profiles == 0 || args.seconds == 0 || args.concurrency == 0 || args.replicas == 0 {
        return Err(
            "--profiles, --seconds, --concurrency and --replicas must be at least 1".to_owned(),
        );
    }
    Ok(args)
}

/// Stores `count` generated profiles (all platforms, in rotation) unless they are there.
fn seed(
    store: &mut Store,
    count: u64,
    seed: u64,
) -> Result<(u64, f64), Box<dyn std::error::Error>> {
    let stored = store.count_profiles(&Listing::default())?;
    if stored >= count {
        return Ok((0, 0.0));
    }
    let rules = ValidationRules::default();
    let started = Instant::now();
    let items = toker_sources::fake::generate_many(None, seed, count).filter_map(|person| {
        let raw = person.raw;
        let label = raw.profile.user_id.clone();
        prepare_profile(raw.platform, raw.profile, raw.raw, &rules)
            .ok()
            .map(|p| IngestItem {
                label,
                platform: p.platform,
                profile: p.profile,
                raw: p.raw,
                owner: None,
            })
    });
    let report = store.ingest(items, &IngestOptions::default(), &mut |_| {})?;
    Ok((report.created, started.elapsed().as_secs_f64()))
}

struct Outcome {
    name: &'static str,
    requests: usize,
    errors: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Outcome {
    fn from_latencies(
        name: &'static str,
        mut latencies: Vec<Duration>,
        errors: usize,
        seconds: f64,
    ) -> Outcome {
        latencies.sort_unstable();
        let pick = |q: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i].as_secs_f64() * 1000.0
        };
        Outcome {
            name,
            requests: latencies.len(),
            errors,
            seconds,
            p50_ms: pick(0.50),
            p99_ms: pick(0.99),
        }
    }

    fn throughput(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// `concurrency` clients each sending requests back to back for `seconds`.
async fn drive(
    name: &'static str,
    client: &reqwest::Client,
    urls: Arc<Vec<String>>,
    key: &str,
    concurrency: usize,
    seconds: u64,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let urls = Arc::clone(&urls);
        let auth = format!("Bearer {key}");
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            // xorshift64: a cheap, reproducible spread over the ids.
            let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1);
            while Instant::now() < deadline {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let url = &urls[(state % urls.len() as u64) as usize];
                let sent = Instant::now();
                let ok = match client.get(url).header("authorization", &auth).send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            latencies.extend(l);
            errors += e;
        }
    }
    Outcome::from_latencies(name, latencies, errors, started.elapsed().as_secs_f64())
}

/// The baseline: the same reads in-process, on one thread, for `seconds`.
fn in_process_reads(
    store: &mut Store,
    ids: &[i64],
    seconds: u64,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    while Instant::now() < deadline && !ids.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let id = ids[(state % ids.len() as u64) as usize];
        let sent = Instant::now();
        let stored = store.get_profile(id)?;
        std::hint::black_box(serde_json::to_vec(&stored)?);
        latencies.push(sent.elapsed());
    }
    Ok(Outcome::from_latencies(
        "in_process_read",
        latencies,
        0,
        started.elapsed().as_secs_f64(),
    ))
}

/// A server running on its own thread and runtime.
struct Running {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<Result<(), String>>,
}

fn start_server(database: &str) -> Result<Running, Box<dyn std::error::Error>> {
    let config = ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        rate_limit_per_minute: None,
        ..ServeConfig::for_database(database.to_owned())
    };
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let server = toker_api::bind(config).await.map_err(|e| e.to_string())?;
            let _ = addr_tx.send(server.local_addr());
            server
                .run(async {
                    let _ = stop_rx.await;
                })
                .await
                .map_err(|e| e.to_string())
        })
    });
    let addr = addr_rx.recv().map_err(|_| "the server did not start")?;
    Ok(Running { addr, stop, thread })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().map_err(|e| format!("bench_api: {e}"))?;
    let temp = tempfile::tempdir()?;
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| temp.path().join("bench.db").to_string_lossy().into_owned());

    let mut store = Store::open(&database)?;
    let (seeded, seed_seconds) = seed(&mut store, args.profiles, args.seed)?;
    let started = Instant::now();
    let features = if args.reuse_vectors {
        let record = store
            .load_vocabulary()?
            .ok_or("--reuse-vectors: the database holds no vectors; run `toker vectorize`")?;
        u64::try_from(Vocabulary::from_json(&record.json)?.len())?
    } else {
        vectorize_store(&mut store, VectorizerConfig::default())?.features
    };
    let vectorize_seconds = started.elapsed().as_secs_f64();
    let (key, _) = create_api_key(&mut store, Role::Admin, Some("bench_api"))?;
    let ids: Vec<i64> = store
        .list_profiles(&Listing {
            limit: Some(args.profiles),
            ..Listing::default()
        })?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let baseline = in_process_reads(&mut store, &ids, args.seconds)?;
    drop(store);
    if !args.json {
        eprintln!(
            "bench_api: {} profiles ({seeded} seeded in {seed_seconds:.1} s), vectorized in {vectorize_seconds:.1} s ({} features)",
            ids.len(),
            features
        );
    }

    // Each server gets its own runtime (and threads), as it would in `toker serve`.
    let mut servers = Vec::new();
    for _ in 0..args.replicas {
        servers.push(start_server(&database)?);
    }
    let addrs: Vec<std::net::SocketAddr> = servers.iter().map(|s| s.addr).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcomes = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .build()?;
        // Request i goes to replica i mod R.
        let base = |i: usize| format!("http://{}", addrs[i % addrs.len()]);
        let profile_urls: Arc<Vec<String>> = Arc::new(
            ids.iter()
                .enumerate()
                .map(|(i, id)| format!("{}/v1/profiles/{id}", base(i)))
                .collect(),
        );
        let match_urls: Arc<Vec<String>> = Arc::new(
            ids.iter()
                .enumerate()
                .map(|(i, id)| format!("{}/v1/profiles/{id}/matches?top=10", base(i)))
                .collect(),
        );
        // Warm-up: builds the match index and opens connections.
        drive(
            "warm-up",
            &client,
            Arc::clone(&match_urls),
            &key,
            args.concurrency,
            1,
        )
        .await;
        let reads = drive(
            "get_profile",
            &client,
            profile_urls,
            &key,
            args.concurrency,
            args.seconds,
        )
        .await;
        let matches = drive(
            "matches_top10",
            &client,
            match_urls,
            &key,
            args.concurrency,
            args.seconds,
        )
        .await;
        Ok::<_, reqwest::Error>(vec![baseline, reads, matches])
    })?;
    for server in servers {
        let _ = server.stop.send(());
        server
            .thread
            .join()
            .map_err(|_| "the server thread panicked")??;
    }

    if args.json {
        let scenarios: Vec<_> = outcomes
            .iter()
            .map(|o| {
                json!({ "name": o.name, "requests": o.requests, "errors": o.errors,
                        "seconds": o.seconds, "throughput_per_s": o.throughput(),
                        "p50_ms": o.p50_ms, "p99_ms": o.p99_ms })
            })
            .collect();
        println!(
            "{}",
            json!({ "profiles": ids.len(), "seeded": seeded, "seed_seconds": seed_seconds,
                    "vectorize_seconds": vectorize_seconds, "features": features,
                    "concurrency": args.concurrency, "replicas": args.replicas,
                    "scenarios": scenarios })
        );
    } else {
        println!(
            "{:<14} {:>10} {:>12} {:>10} {:>10} {:>8}",
            "scenario", "requests", "req/s", "p50 ms", "p99 ms", "errors"
        );
        for o in &outcomes {
            println!(
                "{:<14} {:>10} {:>12.1} {:>10.2} {:>10.2} {:>8}",
                o.name,
                o.requests,
                o.throughput(),
                o.p50_ms,
                o.p99_ms,
                o.errors
            );
        }
    }
    Ok(())
}
