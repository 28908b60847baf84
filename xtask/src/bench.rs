//! `cargo xtask bench`: the end-to-end benchmark. Every figure stands beside a baseline
//! measured in the same run, on the same machine, so ratios are comparable across machines.
//!
//! Steps, per size: generate fake profiles (fixed seed) to JSONL with the release `toker`;
//! ingest them with `toker import` (profiles/s, peak RSS) beside the store's hand-written
//! prepared-statement loop (the ceiling); `toker vectorize`; `toker match` end to end; and
//! the processing benchmark (in-process fit/transform, single-query top-10 against a naive
//! per-pair loop, all-pairs top-10); and the REST API under load (`toker-api`'s `bench_api`
//! over the same database: profile reads against the same reads in-process, matches); and
//! the pipeline a user would write instead, `xtask/bench/python_stack.py` (json + sqlite3 +
//! scikit-learn) on the same file, skipped with a note when Python or scikit-learn is
//! missing (`pip install scikit-learn`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{cargo, run as sh};

const USAGE: &str = "usage: cargo xtask bench [--profiles 10000,100000] [--backend sqlite|postgres] [--json FILE] [--dev]";

struct Options {
    sizes: Vec<u64>,
    postgres: bool,
    json: Option<PathBuf>,
    /// Build with the dev profile (CI's smoke run: figures printed, not representative).
    dev: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        sizes: vec![10_000],
        postgres: false,
        json: None,
        dev: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--profiles" => {
                options.sizes = value()?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .replace('_', "")
                            .parse::<u64>()
                            .ok()
                            .filter(|n| *n >= 100)
                            .ok_or_else(|| format!("--profiles: {s:?} is not a count ≥ 100"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--backend" => {
                options.postgres = match value()?.as_str() {
                    "sqlite" => false,
                    "postgres" => true,
                    other => {
                        return Err(format!("--backend: {other:?}: expected sqlite or postgres"));
                    }
                }
            }
            "--json" => options.json = Some(PathBuf::from(value()?)),
            "--dev" => options.dev = true,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// One measured figure (with its unit) and, where there is one, its baseline.
struct Row {
    size: u64,
    what: &'static str,
    value: f64,
    unit: &'static str,
    baseline: Option<(&'static str, f64)>,
    target: Option<String>,
}

/// Runs the benchmark.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    run_with_features(args, None)
}

/// Runs the benchmark, building with `cargo_features` (CI passes the feature flags its
/// tests were built with, so the build reuses their artifacts) instead of the defaults.
pub(crate) fn run_with_features(
    args: &[String],
    cargo_features: Option<&[String]>,
) -> Result<(), String> {
    let options = parse(args)?;
    let features: Vec<String> = match cargo_features {
        Some(features) => features.to_vec(),
        None if options.postgres => vec!["--all-features".to_owned()],
        None => Vec::new(),
    };
    let profile = if options.dev { "dev" } else { "release" };
    // One build of every binary and example the run needs (toker, the store's ceiling,
    // the processing and API benchmarks), with one feature set.
    sh(cargo()
        .args([
            "build",
            "--profile",
            profile,
            "--workspace",
            "--bins",
            "--examples",
        ])
        .args(&features))?;
    if options.dev {
        eprintln!("bench: DEV BUILD (--dev): a smoke run, the figures are not representative");
    }
    let bin = crate::util::target_dir().join(if options.dev { "debug" } else { "release" });
    let toker = bin.join("toker");
    let scratch = tempdir()?;
    let mut rows = Vec::new();
    for &size in &options.sizes {
        eprintln!("\n== {size} profiles ==");
        let data = scratch.join(format!("profiles-{size}.jsonl"));
        generate(&toker, &scratch, size, &data)?;

        let database = database_url(&scratch, "import", size, options.postgres)?;
        let ingest = timed(
            Command::new(&toker)
                .args(["-q", "--database", &database, "import"])
                .arg(&data),
        )?;
        let rate = size as f64 / ingest.seconds;
        // The hand-written ceiling, on the same backend (a new database of its own).
        let ceiling_db = database_url(&scratch, "ceiling", size, options.postgres)?;
        let ceiling = timed(
            Command::new(bin.join("examples/ingest_ceiling"))
                .args(["--database", &ceiling_db])
                .arg(&data),
        )?;
        let ceiling_rate = size as f64 / ceiling.seconds;
        rows.push(Row {
            size,
            what: "ingest (toker import)",
            value: rate,
            unit: "profiles/s",
            baseline: Some(("prepared-statement loop", ceiling_rate)),
            target: Some(format!(
                "≥ 20000/s: {}; ≥ 0.5× ceiling: {}",
                at_least(rate, 20_000.0),
                at_least(rate / ceiling_rate, 0.5)
            )),
        });
        if let Some(kib) = ingest.peak_kib {
            let mib = kib as f64 / 1024.0;
            rows.push(Row {
                size,
                what: "ingest peak RSS",
                value: mib,
                unit: "MiB",
                baseline: None,
                target: Some(format!("< 300 MiB: {}", at_most(mib, 300.0))),
            });
        }
        let vectorize =
            timed(Command::new(&toker).args(["-q", "--database", &database, "vectorize"]))?;
        // Its floor: reading every stored profile once (what vectorizing must do first).
        let read_all = timed(Command::new(&toker).args([
            "-q",
            "--database",
            &database,
            "export",
            "--format",
            "jsonl",
        ]))?;
        rows.push(Row {
            size,
            what: "vectorize (toker vectorize, end to end)",
            value: vectorize.seconds,
            unit: "s",
            baseline: Some(("reading every profile (toker export)", read_all.seconds)),
            target: None,
        });
        let mut cli_match = Vec::new();
        for id in [1, size / 2, size] {
            let t = timed(Command::new(&toker).args([
                "-q",
                "--database",
                &database,
                "match",
                &id.to_string(),
                "--top",
                "10",
            ]))?;
            cli_match.push(t.seconds * 1000.0);
        }
        let match_ms = median(&mut cli_match);
        rows.push(Row {
            size,
            what: "toker match --top 10 (process start to exit)",
            value: match_ms,
            unit: "ms",
            baseline: None,
            target: None,
        });
        let api_seconds = if options.dev { "1" } else { "4" };
        let api = crate::util::output(
            Command::new(bin.join("examples/bench_api"))
                .args(["--database", &database, "--reuse-vectors", "--json"])
                .args(["--profiles", &size.to_string(), "--seconds", api_seconds]),
        )?;
        rows.extend(
            api_rows(&api)?
                .into_iter()
                .map(|(what, value, unit, baseline, target)| Row {
                    size,
                    what,
                    value,
                    unit,
                    baseline,
                    target,
                }),
        );
        match python_stack(&data, &scratch, size)? {
            PythonStack::Ran(py) => {
                rows.extend(python_rows(size, &py, rate, vectorize.seconds, match_ms))
            }
            PythonStack::Missing(why) => {
                eprintln!("bench: the Python stack baseline is skipped: {why}");
            }
        }
        let processing = processing_bench(&bin.join("examples/bench_processing"), size)?;
        rows.extend(
            processing
                .into_iter()
                .map(|(what, value, unit, baseline)| Row {
                    size,
                    what,
                    value,
                    unit,
                    baseline,
                    target: None,
                }),
        );
    }
    print_table(&rows, options.dev);
    if let Some(path) = &options.json {
        std::fs::write(path, to_json(&rows, options.postgres))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Fake profiles over the three platforms, fixed seeds, as JSON Lines.
fn generate(toker: &Path, scratch: &Path, size: u64, out: &Path) -> Result<(), String> {
    let db = scratch.join(format!("generate-{size}.db"));
    let db = db.display().to_string();
    let third = size / 3;
    for (platform, count, seed) in [
        ("tiktok", size - 2 * third, "1"),
        ("instagram", third, "2"),
        ("x", third, "3"),
    ] {
        sh(Command::new(toker)
            .args(["-q", "--database", &db, "create", platform, "--count"])
            .arg(count.to_string())
            .args(["--seed", seed]))?;
    }
    sh(Command::new(toker)
        .args(["-q", "--database", &db, "export", "--format", "jsonl", "-o"])
        .arg(out))
}

fn database_url(scratch: &Path, name: &str, size: u64, postgres: bool) -> Result<String, String> {
    if !postgres {
        return Ok(scratch
            .join(format!("{name}-{size}.db"))
            .display()
            .to_string());
    }
    let admin = std::env::var("TOKER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| crate::util::PG_TEST_URL.to_owned());
    let database = format!("toker_bench_{name}_{size}");
    for sql in [
        format!("DROP DATABASE IF EXISTS {database}"),
        format!("CREATE DATABASE {database}"),
    ] {
        sh(Command::new("psql").args([admin.as_str(), "-q", "-c", &sql]))?;
    }
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Ok(format!("{base}/{database}"))
}

struct Timing {
    seconds: f64,
    peak_kib: Option<u64>,
}

/// Runs a command to completion, measuring wall time and (with GNU time) peak RSS.
fn timed(cmd: &mut Command) -> Result<Timing, String> {
    let gnu_time = Path::new("/usr/bin/time");
    let mut run = if gnu_time.exists() {
        let mut wrapped = Command::new(gnu_time);
        wrapped
            .args(["-f", "TOKER_PEAK_KIB=%M"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        wrapped
    } else {
        let mut plain = Command::new(cmd.get_program());
        plain.args(cmd.get_args());
        plain
    };
    let line = format!("{cmd:?}");
    eprintln!("$ {line}");
    let started = Instant::now();
    let out = run
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not start {line}: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{line} failed ({}): {}", out.status, stderr.trim()));
    }
    let peak_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("TOKER_PEAK_KIB="))
        .and_then(|v| v.trim().parse().ok());
    Ok(Timing { seconds, peak_kib })
}

/// What the Python stack baseline measured, or why it did not run.
enum PythonStack {
    Ran(PythonFigures),
    Missing(String),
}

/// The figures `python_stack.py` prints.
#[derive(Debug, PartialEq)]
struct PythonFigures {
    import_rate: f64,
    vectorize_s: f64,
    query_ms: f64,
}

/// The scikit-learn the baseline installs into its own virtualenv when the Python on the
/// PATH lacks it (the version the figures in docs/PERFORMANCE.md were measured with).
const SCIKIT_LEARN: &str = "scikit-learn==1.9.1";

/// A Python that imports scikit-learn and numpy: `$PYTHON` or `python3` if it does, else
/// the benchmark's own virtualenv with [`SCIKIT_LEARN`] (installed from PyPI once). A
/// missing Python or a failed install skips the baseline with the reason, except under
/// `CI=true`, where the baseline must run.
fn python_with_sklearn() -> Result<Result<PathBuf, String>, String> {
    let has_sklearn = |python: &Path| {
        Command::new(python)
            .args(["-c", "import sklearn, numpy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let Some(python) = crate::util::python() else {
        let why = "no python3 on the PATH (set PYTHON to one)".to_owned();
        return if crate::util::in_ci() {
            Err(why)
        } else {
            Ok(Err(why))
        };
    };
    if has_sklearn(&python) {
        return Ok(Ok(python));
    }
    let venv_python = |venv: &Path| venv.join("bin/python");
    match crate::util::venv(&python, "bench-venv", &[SCIKIT_LEARN], |venv| {
        has_sklearn(&venv_python(venv))
    }) {
        Ok(venv) => Ok(Ok(venv_python(&venv))),
        Err(e) if crate::util::in_ci() => Err(e),
        Err(e) => Ok(Err(format!("scikit-learn could not be installed ({e})"))),
    }
}

/// Runs `xtask/bench/python_stack.py` on the benchmark's file, if a Python with
/// scikit-learn is there or can be installed.
fn python_stack(data: &Path, scratch: &Path, size: u64) -> Result<PythonStack, String> {
    let python = match python_with_sklearn()? {
        Ok(python) => python,
        Err(why) => return Ok(PythonStack::Missing(why)),
    };
    let script = crate::util::workspace_root().join("xtask/bench/python_stack.py");
    let db = scratch.join(format!("python-{size}.db"));
    let _ = std::fs::remove_file(&db);
    eprintln!(
        "$ {} {} {} {}",
        python.display(),
        script.display(),
        data.display(),
        db.display()
    );
    let out = crate::util::output(Command::new(&python).arg(&script).arg(data).arg(&db))?;
    parse_python(&out, size).map(PythonStack::Ran)
}

fn parse_python(json: &str, size: u64) -> Result<PythonFigures, String> {
    let number = |key: &str| {
        json_number(json, key).ok_or_else(|| format!("python_stack.py printed no {key}: {json}"))
    };
    Ok(PythonFigures {
        import_rate: size as f64 / number("import_s")?,
        vectorize_s: number("vectorize_s")?,
        query_ms: number("query_median_ms")?,
    })
}

/// Toker's figures beside the Python stack's, step by step.
fn python_rows(
    size: u64,
    py: &PythonFigures,
    rate: f64,
    vectorize_s: f64,
    match_ms: f64,
) -> Vec<Row> {
    let row = |what, value, unit, name, baseline| Row {
        size,
        what,
        value,
        unit,
        baseline: Some((name, baseline)),
        target: None,
    };
    vec![
        row(
            "import vs the Python stack",
            rate,
            "profiles/s",
            "json + sqlite3 (Python)",
            py.import_rate,
        ),
        row(
            "vectorize vs the Python stack",
            vectorize_s,
            "s",
            "sqlite3 + scikit-learn TF-IDF",
            py.vectorize_s,
        ),
        row(
            "toker match (process) vs a Python query",
            match_ms,
            "ms",
            "scikit-learn top-10, in memory",
            py.query_ms,
        ),
    ]
}

type Measured = (&'static str, f64, &'static str, Option<(&'static str, f64)>);

/// Runs the processing benchmark and reads its JSON figures.
fn processing_bench(exe: &Path, size: u64) -> Result<Vec<Measured>, String> {
    let out =
        crate::util::output(Command::new(exe).args(["--profiles", &size.to_string(), "--json"]))?;
    let number = |key: &str| -> Option<f64> { json_number(&out, key) };
    let mut rows = Vec::new();
    if let Some(v) = number("vectorize_s") {
        rows.push(("vectorize in-process (fit + transform)", v, "s", None));
    }
    if let Some(v) = number("query_top10_median_ms") {
        rows.push((
            "single query top-10 (median)",
            v,
            "ms",
            number("naive_query_top10_median_ms").map(|b| ("naive per-pair loop", b)),
        ));
    }
    if let Some(v) = number("all_pairs_top10_s") {
        rows.push((
            "all-pairs top-10 (extrapolated when large)",
            v,
            "s",
            number("naive_all_pairs_estimate_s").map(|b| ("naive loop, estimated", b)),
        ));
    }
    if let Some(v) = number("peak_rss_bytes") {
        rows.push((
            "processing peak RSS (vectors + index)",
            v / 1_048_576.0,
            "MiB",
            None,
        ));
    }
    if rows.is_empty() {
        return Err(format!(
            "{}: no figures in its output: {out}",
            exe.display()
        ));
    }
    Ok(rows)
}

type ApiRow = (
    &'static str,
    f64,
    &'static str,
    Option<(&'static str, f64)>,
    Option<String>,
);

/// The rows of `bench_api --json`: each scenario's throughput and p99 against the targets
/// of the REST API issue (profile reads ≥ 2,000 req/s with p99 < 20 ms, matches ≥ 300
/// req/s with p99 < 50 ms); profile reads beside the in-process baseline.
fn api_rows(json: &str) -> Result<Vec<ApiRow>, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("bench_api --json: {e}: {json}"))?;
    let scenario = |name: &str| {
        value["scenarios"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name))
            .map(|s| {
                let n = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
                (n("throughput_per_s"), n("p99_ms"), n("errors"))
            })
            .ok_or_else(|| format!("bench_api --json has no {name:?} scenario: {json}"))
    };
    let (base_rate, _, _) = scenario("in_process_read")?;
    let mut rows = Vec::new();
    for (name, what, what_p99, min_rate, max_p99, baseline) in [
        (
            "get_profile",
            "API GET /v1/profiles/{id}",
            "API GET /v1/profiles/{id} p99",
            2000.0,
            20.0,
            Some(("in-process read, 1 thread", base_rate)),
        ),
        (
            "matches_top10",
            "API GET …/matches?top=10",
            "API GET …/matches?top=10 p99",
            300.0,
            50.0,
            None,
        ),
    ] {
        let (rate, p99, errors) = scenario(name)?;
        if errors > 0.0 {
            return Err(format!("bench_api: {errors} failed {name} requests"));
        }
        rows.push((
            what,
            rate,
            "req/s",
            baseline,
            Some(format!("≥ {min_rate}/s: {}", at_least(rate, min_rate))),
        ));
        rows.push((
            what_p99,
            p99,
            "ms",
            None,
            Some(format!("< {max_p99} ms: {}", at_most(p99, max_p99))),
        ));
    }
    Ok(rows)
}

/// The number after `"key":` in a flat JSON object.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let start = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// "met", or by how much a figure that must reach `target` falls short of it.
fn at_least(value: f64, target: f64) -> String {
    if value >= target {
        "met".to_owned()
    } else {
        format!("MISSED, {:.2}× of it", value / target)
    }
}

/// "met", or by how much a figure that must stay under `limit` exceeds it.
fn at_most(value: f64, limit: f64) -> String {
    if value < limit {
        "met".to_owned()
    } else {
        format!("MISSED, {:.2}× of it", value / limit)
    }
}

/// Prints the figures; a dev build's (`--dev`, a smoke run) without the targets' verdicts,
/// which only a release build can be judged by.
fn print_table(rows: &[Row], dev: bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:>8}  {:<46} {:>14}  {:<32} target",
        "profiles", "measure", "value", "baseline (same run)"
    );
    for r in rows {
        let baseline = r.baseline.map_or_else(String::new, |(name, b)| {
            if matches!(r.unit, "s" | "ms") {
                // A time: say how many times faster than the baseline.
                let speedup = b / r.value;
                if speedup >= 1.0 {
                    format!("{name}: {b:.2} ({speedup:.1}× faster)")
                } else {
                    format!("{name}: {b:.2} ({:.1}× slower)", 1.0 / speedup)
                }
            } else {
                format!("{name}: {b:.2} ({:.2}× of it)", r.value / b)
            }
        });
        let _ = writeln!(
            out,
            "{:>8}  {:<46} {:>9.2} {:<4}  {:<32} {}",
            r.size,
            r.what,
            r.value,
            r.unit,
            baseline,
            match (r.target.as_deref(), dev) {
                (Some(_), true) => "(dev build: not judged)",
                (Some(target), false) => target,
                (None, _) => "",
            }
        );
    }
    print!("{out}");
}

fn to_json(rows: &[Row], postgres: bool) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            let baseline = r.baseline.map_or_else(
                || "null".to_owned(),
                |(name, b)| format!("{{\"name\":{name:?},\"value\":{b},\"ratio\":{}}}", r.value / b),
            );
            format!(
                "{{\"profiles\":{},\"measure\":{:?},\"value\":{},\"unit\":{:?},\"baseline\":{baseline},\"target\":{}}}",
                r.size,
                r.what,
                r.value,
                r.unit,
                r.target.as_ref().map_or_else(|| "null".to_owned(), |t| format!("{t:?}"))
            )
        })
        .collect();
    format!(
        "{{\"backend\":\"{}\",\"rows\":[{}]}}\n",
        if postgres { "postgres" } else { "sqlite" },
        items.join(",")
    )
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("toker-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_read_from_flat_objects() {
        let json = r#"{"a": 1.5, "query_top10_median_ms":0.25e1,"b":-3}"#;
        assert_eq!(json_number(json, "a"), Some(1.5));
        assert_eq!(json_number(json, "query_top10_median_ms"), Some(2.5));
        assert_eq!(json_number(json, "b"), Some(-3.0));
        assert_eq!(json_number(json, "missing"), None);
    }

    #[test]
    fn api_figures_are_read_and_judged_against_their_targets() {
        let json = r#"{"profiles":10,"scenarios":[
            {"name":"in_process_read","throughput_per_s":8000.0,"p99_ms":0.3,"errors":0},
            {"name":"get_profile","throughput_per_s":2400.0,"p99_ms":12.0,"errors":0},
            {"name":"matches_top10","throughput_per_s":250.0,"p99_ms":30.0,"errors":0}]}"#;
        let rows = api_rows(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].1, 2400.0);
        assert_eq!(rows[0].3, Some(("in-process read, 1 thread", 8000.0)));
        assert!(rows[0].4.as_deref().is_some_and(|t| t.ends_with("met")));
        assert!(
            rows[2]
                .4
                .as_deref()
                .is_some_and(|t| t.ends_with("MISSED, 0.83× of it")),
            "250 < 300"
        );
        assert!(rows[3].4.as_deref().is_some_and(|t| t.ends_with("met")));
        let failed = json.replace(r#""p99_ms":30.0,"errors":0"#, r#""p99_ms":30.0,"errors":3"#);
        assert!(
            api_rows(&failed).is_err(),
            "failed requests fail the benchmark"
        );
        assert!(api_rows(r#"{"scenarios":[]}"#).is_err());
    }

    #[test]
    fn the_python_stack_figures_become_rows_beside_tokers() {
        let json = r#"{"profiles": 1000, "import_s": 2.0, "vectorize_s": 0.5, "query_median_ms": 4.0, "peak_rss_kib": 1}"#;
        let py = parse_python(json, 1000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            py,
            PythonFigures {
                import_rate: 500.0,
                vectorize_s: 0.5,
                query_ms: 4.0
            }
        );
        let rows = python_rows(1000, &py, 2000.0, 0.25, 8.0);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].baseline, Some(("json + sqlite3 (Python)", 500.0)));
        assert_eq!(rows[1].value, 0.25);
        assert_eq!(rows[2].baseline.map(|b| b.1), Some(4.0));
        assert!(parse_python(r#"{"import_s": 1}"#, 10).is_err());
    }

    #[test]
    fn sizes_and_backend_are_parsed_and_checked() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let o = parse(&args("--profiles 10_000,100000 --backend postgres"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.sizes, [10_000, 100_000]);
        assert!(o.postgres);
        assert!(parse(&args("--profiles 5")).is_err());
        assert!(parse(&args("--backend mysql")).is_err());
        assert!(parse(&args("--json")).is_err());
    }
}
