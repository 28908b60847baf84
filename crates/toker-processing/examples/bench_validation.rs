//! How the cost of judging one hostile request body grows with its size: JSON parsing,
//! validation (`parse_profile`) and cleaning (`clean_profile`), as `prepare` runs them for
//! every profile the API or the CLI receives.
//!
//! ```text
//! cargo run --release -p toker-processing --example bench_validation -- [--limit 1048576]
//!   [--sizes 5000,10000,20000,36000] [--repeat 3] [--kinds typed-id,slot,unique,dup]
//!   [--worst true|false]
//! ```
//!
//! Bodies (each a profile with `number_of_likes` 150 and `n` liked videos):
//! - `typed-id`: every video's `video_id` is a number (a type error, then the rule "must
//!   be a non-empty string" on the same path, which must be filtered against the type
//!   errors);
//! - `slot`: every video is the number `0` (the smallest item that is an error);
//! - `unique`: valid videos with distinct ids (de-duplication by `video_id`);
//! - `dup`: valid videos, each id twice (merging).
//!
//! For each kind it prints the time of the given sizes (the scaling curve: linear code
//! doubles when `n` doubles), then the largest body of that kind under `--limit` bytes
//! and its CPU time (user + system of this thread, from `/proc/thread-self/stat`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::time::Instant;

use toker_model::{Platform, ValidationRules};

#[derive(Clone, Copy)]
enum Kind {
    TypedId,
    Slot,
    Unique,
    Dup,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::TypedId, Kind::Slot, Kind::Unique, Kind::Dup];

    fn name(self) -> &'static str {
        match self {
            Kind::TypedId => "typed-id",
            Kind::Slot => "slot",
            Kind::Unique => "unique",
            Kind::Dup => "dup",
        }
    }

    fn item(self, i: usize, out: &mut String) {
        match self {
            Kind::TypedId => write!(out, r#"{{"video_id":{i}}}"#).unwrap(),
            Kind::Slot => out.push('0'),
            Kind::Unique => write!(out, r#"{{"video_id":"{i}"}}"#).unwrap(),
            Kind::Dup => write!(out, r#"{{"video_id":"{}"}}"#, i / 2).unwrap(),
        }
    }
}

/// The body of `n` videos of `kind`.
fn body(kind: Kind, n: usize) -> String {
    let mut out =
        String::from(r#"{"user_id":"1","username":"u","number_of_likes":150,"liked_videos":["#);
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        kind.item(i, &mut out);
    }
    out.push_str("]}");
    out
}

/// The most videos of `kind` whose body fits `limit` bytes.
fn largest(kind: Kind, limit: usize) -> usize {
    let (mut lo, mut hi) = (0usize, limit);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if body(kind, mid).len() <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// This thread's CPU time so far, in seconds (clock ticks of 10 ms).
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15, i.e. indexes 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Parses and prepares `text` once; wall and CPU seconds, and how many violations.
fn judge(text: &str, rules: &ValidationRules) -> (f64, f64, usize) {
    let cpu = thread_cpu();
    let start = Instant::now();
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let outcome = toker_processing::prepare(value, Some(Platform::TikTok), rules);
    let wall = start.elapsed().as_secs_f64();
    let violations = outcome.err().map_or(0, |r| r.violations().len());
    (wall, thread_cpu() - cpu, violations)
}

fn main() {
    let mut limit = 1024 * 1024;
    let mut sizes = vec![5_000, 10_000, 20_000, 36_000];
    let mut repeat = 3;
    let mut kinds: Vec<Kind> = Kind::ALL.to_vec();
    let mut worst = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().expect("every flag takes a value");
        match arg.as_str() {
            "--limit" => limit = value.parse().unwrap(),
            "--sizes" => sizes = value.split(',').map(|s| s.parse().unwrap()).collect(),
            "--repeat" => repeat = value.parse().unwrap(),
            "--kinds" => {
                kinds = value
                    .split(',')
                    .map(|k| {
                        *Kind::ALL
                            .iter()
                            .find(|kind| kind.name() == k)
                            .expect("a known kind")
                    })
                    .collect();
            }
            "--worst" => worst = value.parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    let rules = ValidationRules::default();
    for kind in kinds {
        for &n in &sizes {
            let text = body(kind, n);
            let best = (0..repeat)
                .map(|_| judge(&text, &rules))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            println!(
                "{:<9} n={n:>7} bytes={:>8} wall={:>8.4}s violations={}",
                kind.name(),
                text.len(),
                best.0,
                best.2
            );
        }
        if !worst {
            continue;
        }
        let n = largest(kind, limit);
        let text = body(kind, n);
        let (wall, cpu, violations) = judge(&text, &rules);
        println!(
            "{:<9} worst under {limit} bytes: n={n} bytes={} wall={wall:.4}s cpu={cpu:.2}s violations={violations}",
            kind.name(),
            text.len()
        );
    }
}
