//! `cargo xtask fuzz`: coverage-guided fuzzing of what parses untrusted bytes, with
//! cargo-fuzz and libFuzzer.
//!
//! The targets live in `fuzz/` (outside the workspace: they build with cargo-fuzz's
//! instrumentation flags, on the stable compiler through `RUSTC_BOOTSTRAP=1`). Each corpus
//! `fuzz/corpus/<target>/` is seeded from the test fixtures and `examples/` before the run
//! and keeps what libFuzzer adds; crashes land in `fuzz/artifacts/<target>/`, libFuzzer's
//! full output in `fuzz/artifacts/<target>/fuzz.log`. Neither is committed.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{cargo, run as sh, workspace_root};

const USAGE: &str = "usage: cargo xtask fuzz [--time SECONDS] [TARGET...]";

/// Every target, in the order they run.
const TARGETS: [&str; 5] = [
    "parse_profile",
    "import_tiktok",
    "import_x",
    "import_instagram",
    "api_bodies",
];

/// Seconds per target unless `--time` says otherwise.
const DEFAULT_SECONDS: u64 = 60;

/// What libFuzzer reported for one target.
#[derive(Debug, Default)]
struct Outcome {
    executions: Option<u64>,
    per_second: Option<u64>,
    peak_rss_mb: Option<u64>,
    corpus: usize,
    /// The input that crashed (or timed out, or ran out of memory), if any.
    finding: Option<String>,
}

/// Runs the command.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (seconds, targets) = parse(args)?;
    ensure_cargo_fuzz()?;
    let root = workspace_root();
    eprintln!("fuzz: building {} target(s)", targets.len());
    let mut build = fuzz_command();
    build.args(["build", "--sanitizer", "none"]);
    if targets.len() == 1 {
        build.args(&targets);
    }
    sh(&mut build)?;
    let mut results = Vec::new();
    for target in &targets {
        let corpus = root.join("fuzz/corpus").join(target);
        let seeds = seed(target, &corpus)?;
        eprintln!("fuzz: {target}: {seeds} seed(s) in {}", corpus.display());
        let outcome = run_target(target, &corpus, seconds)?;
        results.push((target.clone(), outcome));
    }
    eprintln!("\nfuzz: {seconds} s per target");
    eprintln!(
        "{:<18} {:>12} {:>9} {:>8} {:>9}  finding",
        "target", "executions", "exec/s", "corpus", "peak MB"
    );
    let show = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    for (target, o) in &results {
        eprintln!(
            "{target:<18} {:>12} {:>9} {:>8} {:>9}  {}",
            show(o.executions),
            show(o.per_second),
            o.corpus,
            show(o.peak_rss_mb),
            o.finding.as_deref().unwrap_or("none")
        );
    }
    let found: Vec<String> = results
        .iter()
        .filter_map(|(target, o)| {
            o.finding.as_ref().map(|path| {
                format!("{target}: {path} (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none {target} {path})")
            })
        })
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!("findings:\n  {}", found.join("\n  ")))
    }
}

fn parse(args: &[String]) -> Result<(u64, Vec<String>), String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--time needs a number of seconds\n{USAGE}"))?;
                seconds = value.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                    format!("--time must be a positive number of seconds, got {value:?}")
                })?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            name if TARGETS.contains(&name) => targets.push(name.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz target or option {other:?}; targets: {}\n{USAGE}",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|&t| t.to_owned()).collect();
    }
    Ok((seconds, targets))
}

/// `cargo fuzz` in the workspace root, allowed to use the nightly flags it needs.
fn fuzz_command() -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    cmd
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let installed = || {
        cargo()
            .args(["fuzz", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !installed() {
        eprintln!(
            "fuzz: cargo-fuzz is not installed; installing it (`cargo install cargo-fuzz --locked`, a few minutes)"
        );
        sh(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Runs one target for `seconds` and reads libFuzzer's final report.
fn run_target(target: &str, corpus: &Path, seconds: u64) -> Result<Outcome, String> {
    let artifacts = workspace_root().join("fuzz/artifacts").join(target);
    fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
    let log_path = artifacts.join("fuzz.log");
    // The targets' scratch files (inputs written as exports, the API's database), on a
    // RAM disk when there is one; removed after the run.
    let shm = Path::new("/dev/shm");
    let scratch = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
    .join(format!("toker-fuzz-{target}-{}", std::process::id()));
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut cmd = fuzz_command();
    cmd.env("TMPDIR", &scratch)
        .args(["run", "--sanitizer", "none", target])
        .arg(corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(["-print_final_stats=1", "-timeout=30", "-rss_limit_mb=2048"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    eprintln!(
        "fuzz: {target}: running {seconds} s (log: {})",
        log_path.display()
    );
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start cargo fuzz run {target}: {e}"))?;
    let mut file =
        fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut log = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !is_progress(&line) {
                eprintln!("  {line}");
            }
            // The log is written as it comes, so a long run can be watched.
            let _ = writeln!(file, "{line}");
            log.push_str(&line);
            log.push('\n');
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
    let _ = fs::remove_dir_all(&scratch);
    let mut outcome = read_report(&log);
    outcome.corpus = fs::read_dir(corpus).map_or(0, Iterator::count);
    if !status.success() && outcome.finding.is_none() {
        if outcome.executions.is_none() {
            return Err(format!(
                "cargo fuzz run {target} failed ({status}) before fuzzing; see {}",
                log_path.display()
            ));
        }
        outcome.finding = Some(format!("(exit {status}; see {})", log_path.display()));
    }
    Ok(outcome)
}

/// Whether a libFuzzer line is progress (coverage, new functions, dictionary) or a notice that every
/// run without a sanitizer prints: kept in the log, not echoed.
fn is_progress(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('#')
        || line.starts_with("INFO:")
        || line.starts_with("NEW_FUNC")
        || line.contains("# Uses: ")
        || line.starts_with("WARNING: Failed to find function \"__sanitizer")
}

/// Reads libFuzzer's final statistics and the path of a reproducer from its output.
fn read_report(log: &str) -> Outcome {
    let mut outcome = Outcome::default();
    let stat = |line: &str, name: &str| {
        line.strip_prefix(name)
            .and_then(|rest| rest.trim_start_matches(':').trim().parse::<u64>().ok())
    };
    for line in log.lines() {
        if let Some(n) = stat(line, "stat::number_of_executed_units") {
            outcome.executions = Some(n);
        } else if let Some(n) = stat(line, "stat::average_exec_per_sec") {
            outcome.per_second = Some(n);
        } else if let Some(n) = stat(line, "stat::peak_rss_mb") {
            outcome.peak_rss_mb = Some(n);
        } else if let Some(rest) = line.strip_prefix('#') {
            // `#123456\tDONE   cov: …`, when the final stats are missing.
            if let Some((count, tail)) = rest.split_once(char::is_whitespace)
                && tail.trim_start().starts_with("DONE")
                && outcome.executions.is_none()
            {
                outcome.executions = count.parse().ok();
            }
        }
        if let Some((_, path)) = line.split_once("Test unit written to ") {
            outcome.finding = Some(path.trim().to_owned());
        }
    }
    outcome
}

/// Writes the seed inputs of `target` into `corpus` (named `seed-…`, rewritten on every
/// run; what libFuzzer added is kept) and returns how many there are.
fn seed(target: &str, corpus: &Path) -> Result<usize, String> {
    fs::create_dir_all(corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let seeds = match target {
        "parse_profile" => profile_seeds(true)?,
        "api_bodies" => api_seeds()?,
        importer => {
            let platform = importer.trim_start_matches("import_");
            export_seeds(
                &workspace_root()
                    .join("crates/toker-testkit/fixtures")
                    .join(platform)
                    .join("export"),
            )?
        }
    };
    for (name, bytes) in &seeds {
        let path = corpus.join(format!("seed-{name}"));
        fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(seeds.len())
}

type Seeds = Vec<(String, Vec<u8>)>;

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// A name for a seed taken from `path` (relative to the workspace, `/` as `_`).
fn seed_name(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace(['/', ' '], "_")
}

/// Profile documents: `examples/profile.json`, each line of `examples/*.jsonl` and the
/// importers' expected profiles; with `api_responses`, the recorded platform API
/// responses too (other JSON shapes).
fn profile_seeds(api_responses: bool) -> Result<Seeds, String> {
    let root = workspace_root();
    let fixtures = root.join("crates/toker-testkit/fixtures");
    let mut seeds = Seeds::new();
    let examples = root.join("examples");
    for path in sorted_entries(&examples)? {
        let bytes = read(&path)?;
        if path.extension().is_some_and(|e| e == "jsonl") {
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if !line.iter().all(u8::is_ascii_whitespace) {
                    seeds.push((format!("{}-{i}", seed_name(&path)), line.to_vec()));
                }
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            seeds.push((seed_name(&path), bytes));
        }
    }
    for platform in sorted_entries(&fixtures)? {
        let mut dirs = vec![platform.join("expected"), platform.join("export/expected")];
        if api_responses {
            dirs.push(platform.join("api"));
        }
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            for path in sorted_entries(&dir)? {
                if path.extension().is_some_and(|e| e == "json") {
                    seeds.push((seed_name(&path), read(&path)?));
                }
            }
        }
    }
    Ok(seeds)
}

/// Bodies for `api_bodies`: each profile for the single-profile routes (first byte 0–2),
/// and each JSON Lines file as JSON Lines and as an array for the batch routes (3–5).
fn api_seeds() -> Result<Seeds, String> {
    let mut seeds = Seeds::new();
    for (name, doc) in profile_seeds(false)? {
        for route in [b'0', b'1', b'2'] {
            let mut body = vec![route];
            body.extend_from_slice(&doc);
            seeds.push((format!("{}-{}", char::from(route), name), body));
        }
    }
    for path in sorted_entries(&workspace_root().join("examples"))? {
        if path.extension().is_some_and(|e| e == "jsonl") {
            let lines = read(&path)?;
            let docs: Vec<&[u8]> = lines
                .split(|&b| b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .collect();
            let mut ndjson = vec![b'4'];
            ndjson.extend_from_slice(&lines);
            seeds.push((format!("4-{}", seed_name(&path)), ndjson));
            for route in [b'3', b'5'] {
                let mut array = vec![route, b'['];
                array.extend_from_slice(&docs.join(&b","[..]));
                array.push(b']');
                seeds.push((format!("{}-{}", char::from(route), seed_name(&path)), array));
            }
        }
    }
    Ok(seeds)
}

/// Exports for an importer: each `.zip` as it is, and each folder as the target's folder
/// input (`path\0content\0…`, see `fuzz/src/lib.rs`).
fn export_seeds(dir: &Path) -> Result<Seeds, String> {
    let mut seeds = Seeds::new();
    for path in sorted_entries(dir)? {
        if path.is_dir() && path.file_name().is_some_and(|n| n != "expected") {
            let mut input = Vec::new();
            for file in files_under(&path)? {
                let rel = file.strip_prefix(&path).unwrap_or(&file);
                input.extend_from_slice(rel.to_string_lossy().as_bytes());
                input.push(0);
                input.extend_from_slice(&read(&file)?);
                input.push(0);
            }
            seeds.push((seed_name(&path), input));
        } else if path.extension().is_some_and(|e| e == "zip") {
            seeds.push((seed_name(&path), read(&path)?));
        }
    }
    Ok(seeds)
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_final_stats_and_reproducers() {
        let log = "#1024\tpulse  cov: 10 ft: 11 corp: 3/40b exec/s: 512 rss: 40Mb\n\
                   #98765\tDONE   cov: 812 ft: 2100 corp: 140/9Kb lim: 400 exec/s: 1646 rss: 61Mb\n\
                   Done 98765 runs in 61 second(s)\n\
                   stat::number_of_executed_units: 98765\n\
                   stat::average_exec_per_sec:     1646\n\
                   stat::new_units_added:          37\n\
                   stat::peak_rss_mb:              61\n";
        let o = read_report(log);
        assert_eq!(o.executions, Some(98765));
        assert_eq!(o.per_second, Some(1646));
        assert_eq!(o.peak_rss_mb, Some(61));
        assert_eq!(o.finding, None);

        let crash = "#500\tNEW    cov: 3\n==1== ERROR: libFuzzer: deadly signal\n\
                     artifact_prefix='/w/fuzz/artifacts/x/'; Test unit written to /w/fuzz/artifacts/x/crash-abc\n";
        let o = read_report(crash);
        assert_eq!(o.finding.as_deref(), Some("/w/fuzz/artifacts/x/crash-abc"));
        assert_eq!(o.executions, None);
    }

    #[test]
    fn every_target_has_seeds() {
        for target in TARGETS {
            let dir = tempfile_dir(target);
            let n = seed(target, &dir).unwrap_or_else(|e| panic!("{target}: {e}"));
            assert!(n >= 3, "{target}: only {n} seeds");
            let _ = fs::remove_dir_all(&dir);
        }
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("toker-xtask-fuzz-{}-{name}", std::process::id()))
    }
}
