//! Benchmark of toker-processing on deterministic clustered profiles: the fake source's
//! people (`--data fake`, the default) or this crate's simpler synthetic ones
//! (`--data synthetic`).
//!
//! ```text
//! cargo run --release -p toker-processing --example bench_processing -- --profiles 100000 [--json]
//!   [--queries 100] [--all-pairs-sample 2000] [--seed 1] [--data fake|synthetic]
//! ```
//!
//! Measures, in one process:
//! - clean: `clean_profile` over every profile (not part of "vectorize"); profiles are
//!   made and cleaned 10k at a time, once for fitting and once for transforming, so peak
//!   memory is that of the vectors and the index, not of 100k profiles;
//! - vectorize: `Vocabulary::fit_transform` over all profiles loaded in memory (one pass;
//!   checked to equal the two-pass result bit for bit; run last), and beside it the two
//!   streamed passes: fitting (`VocabularyBuilder::add_all` + `finish`) then
//!   `transform_all`; wall and CPU time (the machine may be shared);
//! - index: building the `MatchIndex`;
//! - single query: `MatchIndex::top_k(id, 10)`, median over `--queries` profiles;
//! - baseline: the same queries by a naive loop (`SparseVector::cosine` against every
//!   vector, then a sort), also checked to give the same top-10 ids;
//! - all-pairs top-10: `MatchIndex::all_top_k(10)` when N ≤ the sample size, otherwise
//!   `MatchIndex::top_k_many` over `--all-pairs-sample` evenly spread profiles (same
//!   parallel code path), extrapolated linearly to N (stated in the output);
//! - peak RSS (VmHWM from /proc/self/status) after the matching steps (vectors + index +
//!   one chunk of profiles), and again after loading every profile for `fit_transform`;
//!   and the index's own size.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

use std::time::{Duration, Instant};

use toker_model::{Platform, Profile};
use toker_processing::{
    MatchIndex, SparseVector, VectorizerConfig, Vocabulary, VocabularyBuilder, clean_profile,
};
use toker_sources::fake::FakeSource;

/// Where the profiles come from.
#[derive(Clone, Copy, PartialEq)]
enum Data {
    /// `toker_sources::fake`, rotating over the platforms (person i on platform i mod 3).
    Fake,
    /// `tests/common/synthetic.rs`: simpler, no dependency on toker-sources.
    Synthetic,
}

struct Args {
    data: Data,
    profiles: usize,
    json: bool,
    queries: usize,
    all_pairs_sample: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        profiles: 100_000,
        json: false,
        queries: 100,
        all_pairs_sample: 2_000,
        seed: 1,
        data: Data::Fake,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|e| format!("{name} {v:?}: {e}"))
        };
        match arg.as_str() {
            "--profiles" => args.profiles = value("--profiles")? as usize,
            "--queries" => args.queries = value("--queries")? as usize,
            "--all-pairs-sample" => args.all_pairs_sample = value("--all-pairs-sample")? as usize,
            "--seed" => args.seed = value("--seed")?,
            "--data" => {
                args.data = match it.next().as_deref() {
                    Some("fake") => Data::Fake,
                    Some("synthetic") => Data::Synthetic,
                    other => {
                        return Err(format!("--data: expected fake or synthetic, got {other:?}"));
                    }
                }
            }
            "--json" => args.json = true,
            "-h" | "--help" => {
                return Err(
                    "usage: bench_processing [--profiles N] [--json] [--queries Q] \
                            [--all-pairs-sample S] [--seed S] [--data fake|synthetic]"
                        .to_owned(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if args.profiles < 2 || args.queries == 0 || args.all_pairs_sample == 0 {
        return Err("--profiles must be ≥ 2, --queries and --all-pairs-sample ≥ 1".to_owned());
    }
    Ok(args)
}

/// Peak resident set size in bytes (VmHWM), if the kernel reports it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time used by this process so far (user + system, all threads), from
/// /proc/self/stat; zero where unavailable. On a loaded machine wall time overstates the
/// work of a multi-threaded step; CPU time does not.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the ")" that ends the command name: utime and stime are the 12th and
    // 13th, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The naive baseline: cosine against every other vector, sort, keep 10.
fn naive_top_k(vectors: &[SparseVector], query: usize, k: usize) -> Vec<(i64, f32)> {
    let q = &vectors[query];
    let mut scored: Vec<(i64, f32)> = vectors
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != query)
        .map(|(i, v)| (i as i64, q.cosine(v)))
        .filter(|&(_, s)| s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let n = args.profiles;
    let k = 10;
    let fake_sources: Vec<FakeSource> = Platform::ALL
        .iter()
        .map(|&p| FakeSource::new(p, args.seed).expect("every platform is enabled for the bench"))
        .collect();
    let person = |i: u64| -> (Platform, Profile) {
        match args.data {
            Data::Fake => {
                let raw = fake_sources[(i % 3) as usize].generate(i).raw;
                (raw.platform, raw.profile)
            }
            Data::Synthetic => {
                let p = synthetic::person(args.seed, i);
                (p.platform, p.profile)
            }
        }
    };

    // Profiles are made and cleaned CHUNK at a time, twice (once to fit, once to
    // transform), as `toker vectorize` pages through the store: memory holds the vectors,
    // not 100k profiles. Generating and cleaning are timed apart from vectorizing.
    const CHUNK: usize = 10_000;
    let (mut generate, mut clean, mut fit, mut transform) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut chunk = |start: usize| {
        let t = Instant::now();
        let people = (start..(start + CHUNK).min(n))
            .map(|i| person(i as u64))
            .collect::<Vec<_>>();
        generate += t.elapsed();
        let t = Instant::now();
        let profiles: Vec<_> = people
            .into_iter()
            .map(|(platform, profile)| (platform, clean_profile(profile)))
            .collect();
        clean += t.elapsed();
        profiles
    };
    let mut two_pass_cpu = Duration::ZERO;
    let mut builder = VocabularyBuilder::new(VectorizerConfig::default()).unwrap();
    for start in (0..n).step_by(CHUNK) {
        let profiles: Vec<_> = chunk(start).into_iter().map(|(_, p)| p).collect();
        let (t, cpu) = (Instant::now(), cpu_time());
        builder.add_all(&profiles);
        fit += t.elapsed();
        two_pass_cpu += cpu_time() - cpu;
    }
    let t = Instant::now();
    let vocabulary = builder.finish();
    fit += t.elapsed();
    let mut vectors = Vec::with_capacity(n);
    let mut platforms = Vec::with_capacity(n);
    for start in (0..n).step_by(CHUNK) {
        let (p, profiles): (Vec<_>, Vec<_>) = chunk(start).into_iter().unzip();
        platforms.extend(p);
        let (t, cpu) = (Instant::now(), cpu_time());
        vectors.extend(vocabulary.transform_all(&profiles));
        transform += t.elapsed();
        two_pass_cpu += cpu_time() - cpu;
    }
    let (generate, clean) = (generate / 2, clean / 2);

    let two_pass = fit + transform;
    let nnz: usize = vectors.iter().map(SparseVector::len).sum();

    let t = Instant::now();
    let entries = vectors
        .iter()
        .zip(&platforms)
        .enumerate()
        .map(|(i, (v, p))| (i as i64, *p, v.clone()))
        .collect();
    let index = MatchIndex::new(&vocabulary, entries).unwrap();
    let build = t.elapsed();

    // Queries spread evenly over the profiles.
    let queries: Vec<usize> = (0..args.queries.min(n))
        .map(|i| i * n / args.queries.min(n))
        .collect();
    let mut indexed = Vec::with_capacity(queries.len());
    let mut naive = Vec::with_capacity(queries.len());
    let mut agree = 0;
    for &q in &queries {
        let t = Instant::now();
        let fast = index.top_k(q as i64, k, None).unwrap();
        indexed.push(t.elapsed());
        let t = Instant::now();
        let slow = naive_top_k(&vectors, q, k);
        naive.push(t.elapsed());
        // The index pre-normalises vectors, so scores may differ from the naive ones in
        // the last bits (and near-ties swap): compare the scores rank by rank.
        agree += usize::from(
            fast.len() == slow.len()
                && fast
                    .iter()
                    .zip(&slow)
                    .all(|(f, s)| (f.score - s.1).abs() < 1e-5),
        );
    }
    let query = median(indexed);
    let baseline = median(naive);

    let sample = args.all_pairs_sample.min(n);
    let t = Instant::now();
    let cpu = cpu_time();
    let answered = if sample >= n {
        index.all_top_k(k, None).len()
    } else {
        let ids: Vec<i64> = (0..sample).map(|i| (i * n / sample) as i64).collect();
        index.top_k_many(&ids, k, None).unwrap().len()
    };
    let measured = t.elapsed();
    let measured_cpu = cpu_time() - cpu;
    let all_pairs = measured.as_secs_f64() * n as f64 / answered as f64;
    let extrapolated = answered < n;

    let peak = peak_rss();

    // The one-pass path, over every profile held in memory (as `toker vectorize` has them
    // once loaded); measured last, so that the peak above is that of vectors + index.
    let all: Vec<Profile> = (0..n).map(|i| clean_profile(person(i as u64).1)).collect();
    let (t, cpu) = (Instant::now(), cpu_time());
    let (vocabulary_once, vectors_once) =
        Vocabulary::fit_transform(&all, VectorizerConfig::default()).unwrap();
    let vectorize = t.elapsed();
    let vectorize_cpu = cpu_time() - cpu;
    let same_bits = vocabulary_once == vocabulary
        && vectors_once.len() == vectors.len()
        && vectors_once.iter().zip(&vectors).all(|(a, b)| {
            a.indices() == b.indices()
                && a.values()
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(b.values().iter().map(|x| x.to_bits()))
        });
    assert!(
        same_bits,
        "fit_transform must equal fit + transform bit for bit"
    );
    let peak_with_profiles = peak_rss();
    let index_bytes = index.heap_bytes();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);

    if args.json {
        let json = serde_json::json!({
            "profiles": n,
            "data": if args.data == Data::Fake { "fake" } else { "synthetic" },
            "seed": args.seed,
            "threads": threads,
            "features": vocabulary.len(),
            "nonzeros": nnz,
            "generate_s": generate.as_secs_f64(),
            "clean_s": clean.as_secs_f64(),
            "fit_s": fit.as_secs_f64(),
            "transform_s": transform.as_secs_f64(),
            "two_pass_vectorize_s": two_pass.as_secs_f64(),
            "vectorize_s": vectorize.as_secs_f64(),
            "vectorize_profiles_per_s": n as f64 / vectorize.as_secs_f64(),
            "vectorize_cpu_s": vectorize_cpu.as_secs_f64(),
            "two_pass_vectorize_cpu_s": two_pass_cpu.as_secs_f64(),
            "index_build_s": build.as_secs_f64(),
            "query_top10_median_ms": ms(query),
            "naive_query_top10_median_ms": ms(baseline),
            "query_speedup_vs_naive": baseline.as_secs_f64() / query.as_secs_f64(),
            "queries": queries.len(),
            "queries_agreeing_with_naive": agree,
            "all_pairs_top10_s": all_pairs,
            "all_pairs_extrapolated": extrapolated,
            "all_pairs_queries_measured": answered,
            "all_pairs_measured_s": measured.as_secs_f64(),
            "all_pairs_measured_cpu_s": measured_cpu.as_secs_f64(),
            "all_pairs_top10_cpu_s": measured_cpu.as_secs_f64() * n as f64 / answered as f64,
            "naive_all_pairs_estimate_s": baseline.as_secs_f64() * n as f64,
            "peak_rss_bytes": peak,
            "peak_rss_with_all_profiles_bytes": peak_with_profiles,
            "index_bytes": index_bytes,
        });
        println!("{}", serde_json::to_string_pretty(&json).unwrap());
        return;
    }
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "toker-processing benchmark: {n} {} profiles (seed {}), {threads} threads",
        if args.data == Data::Fake {
            "fake"
        } else {
            "synthetic"
        },
        args.seed
    );
    println!(
        "  vocabulary: {} features, {nnz} non-zeros ({:.1} per profile)",
        vocabulary.len(),
        nnz as f64 / n as f64
    );
    println!("{:<34} {:>14} {:>16}", "step", "time", "note");
    println!(
        "{:<34} {:>11.3} s",
        "generate (per pass, not counted)",
        generate.as_secs_f64()
    );
    println!("{:<34} {:>11.3} s", "clean (per pass)", clean.as_secs_f64());
    println!("{:<34} {:>11.3} s", "fit vocabulary", fit.as_secs_f64());
    println!("{:<34} {:>11.3} s", "transform", transform.as_secs_f64());
    println!(
        "{:<34} {:>11.3} s {:>13.0}/s  ({:.2} s CPU)",
        "two passes = fit + transform",
        two_pass.as_secs_f64(),
        n as f64 / two_pass.as_secs_f64(),
        two_pass_cpu.as_secs_f64()
    );
    println!(
        "{:<34} {:>11.3} s {:>13.0}/s  ({:.2} s CPU)",
        "vectorize (fit_transform, 1 pass)",
        vectorize.as_secs_f64(),
        n as f64 / vectorize.as_secs_f64(),
        vectorize_cpu.as_secs_f64()
    );
    println!(
        "{:<34} {:>11.3} s",
        "build match index",
        build.as_secs_f64()
    );
    println!(
        "{:<34} {:>11.3} ms {:>12}",
        "top-10 query (median)",
        ms(query),
        format!("{} queries", queries.len())
    );
    println!(
        "{:<34} {:>11.3} ms {:>11.1}x",
        "baseline: naive per-pair loop",
        ms(baseline),
        baseline.as_secs_f64() / query.as_secs_f64()
    );
    println!(
        "  index and baseline agree on {agree}/{} queries",
        queries.len()
    );
    println!(
        "{:<34} {:>11.3} s  {}",
        "all-pairs top-10",
        all_pairs,
        if extrapolated {
            format!(
                "extrapolated from {answered} queries in {:.3} s",
                measured.as_secs_f64()
            )
        } else {
            "measured".to_owned()
        }
    );
    println!(
        "{:<34} {:>11.3} s  (estimate: baseline median x N)",
        "all-pairs by the naive loop",
        baseline.as_secs_f64() * n as f64
    );
    match (peak, peak_with_profiles) {
        (Some(b), Some(all)) => {
            println!("{:<34} {:>11.1} MiB", "peak RSS: vectors + index", mib(b));
            println!(
                "{:<34} {:>11.1} MiB",
                "peak RSS: + all profiles loaded",
                mib(all)
            );
        }
        _ => println!("{:<34} {:>14}", "peak RSS", "unavailable"),
    }
    println!(
        "{:<34} {:>11.1} MiB",
        "match index size",
        mib(index_bytes as u64)
    );
}
