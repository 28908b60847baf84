//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.
//!
//! fmt → layering by absence → clippy (all targets, all features, `-D warnings`) →
//! tests (all features; PostgreSQL started if installed and down) → the sources' feature
//! matrix (each platform alone compiles) → docs without warnings → the `embed` example →
//! a short Schemathesis pass over the OpenAPI document → the benchmark at 10,000 profiles
//! on the dev build.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[cfg(test)]
use crate::util::workspace_root;
use crate::util::{cargo, in_ci, output, run as sh};

/// The local PostgreSQL every developer machine and CI has.
const PG_ADDR: &str = "127.0.0.1:5432";

/// Runs the whole CI (`cargo xtask ci [--quick]`).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let postgres = prepare_postgres()?;
    let features: Vec<String> = if postgres {
        vec!["--all-features".to_owned()]
    } else {
        all_features_but_postgres()
    };

    let mut phases = Phases::default();
    phases.run(
        "fmt",
        || sh(cargo().args(["fmt", "--all", "--", "--check"])),
    )?;
    phases.run("layering", check_layering)?;
    phases.run("supply chain", || {
        crate::supply::check(args.iter().any(|a| a == "--install-tools"))
    })?;
    phases.run("clippy", || {
        sh(cargo()
            .args(["clippy", "--workspace", "--all-targets"])
            .args(&features)
            .args(["--", "-D", "warnings"]))
    })?;
    phases.run("tests", || {
        sh(cargo().args(["test", "--workspace"]).args(&features))
    })?;
    if !quick {
        phases.run("feature matrix", source_feature_matrix)?;
        phases.run("docs", || {
            sh(cargo()
                .args(["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"))
        })?;
        // What a Rust project embedding the crates does, end to end. Built with the test
        // run's features, in the one build the benchmark below reuses.
        phases.run("embed example", || {
            sh(cargo()
                .args(["build", "--workspace", "--bins", "--examples"])
                .args(&features))?;
            let root = crate::util::workspace_root();
            sh(
                Command::new(crate::util::target_dir().join("debug/examples/embed"))
                    .current_dir(&root),
            )
        })?;
        // The served OpenAPI document against the server, on the binary just built.
        phases.run("schemathesis", || crate::schemathesis::run(&[]))?;
        // The benchmark runs at a small size on the dev build (a release build of the whole
        // tree would not fit CI's time budget): figures printed, not judged.
        phases.run("dev benchmark", || {
            crate::bench::run_with_features(
                &["--profiles", "10000", "--dev"].map(str::to_owned),
                Some(&features),
            )
        })?;
    }
    phases.report();
    eprintln!("\nxtask ci: all checks passed");
    Ok(())
}

/// The wall time of each CI phase, printed at the end (and so far, when one fails).
#[derive(Default)]
struct Phases(Vec<(&'static str, std::time::Duration)>);

impl Phases {
    fn run(
        &mut self,
        name: &'static str,
        phase: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let started = std::time::Instant::now();
        let result = phase();
        self.0.push((name, started.elapsed()));
        if result.is_err() {
            self.report();
        }
        result.map_err(|e| format!("{name}: {e}"))
    }

    fn report(&self) {
        eprintln!("\nxtask ci: phase times");
        let mut total = std::time::Duration::ZERO;
        for (name, took) in &self.0 {
            total += *took;
            eprintln!("  {name:<16} {:>6.1} s", took.as_secs_f64());
        }
        eprintln!("  {:<16} {:>6.1} s", "total", total.as_secs_f64());
    }
}

/// Makes sure PostgreSQL is reachable and libpq is there to build the `postgres` feature.
///
/// Returns whether the PostgreSQL backend is tested. Outside CI a machine without a server
/// or without libpq skips it with a loud warning; with `CI=true` that is a failure.
fn prepare_postgres() -> Result<bool, String> {
    if !libpq_available() {
        return skip_or_fail("libpq (the PostgreSQL client library) is not installed");
    }
    if !pg_reachable() {
        start_postgres();
    }
    if pg_reachable() {
        Ok(true)
    } else {
        skip_or_fail(&format!("no PostgreSQL server answers on {PG_ADDR}"))
    }
}

fn skip_or_fail(why: &str) -> Result<bool, String> {
    if in_ci() {
        return Err(format!(
            "{why}; CI=true requires the PostgreSQL backend to be tested"
        ));
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         WARNING: {why}.\n\
         The PostgreSQL backend is NOT built or tested in this run.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    Ok(false)
}

fn pg_reachable() -> bool {
    PG_ADDR
        .parse::<SocketAddr>()
        .ok()
        .and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .is_some()
}

fn libpq_available() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "libpq"])
        .status()
        .is_ok_and(|s| s.success())
        || Path::new("/usr/include/postgresql/libpq-fe.h").exists()
}

/// Starts the local cluster the way the machine's docs say, if it is installed.
fn start_postgres() {
    let Ok(versions) = std::fs::read_dir("/etc/postgresql") else {
        return;
    };
    for version in versions.flatten() {
        let version = version.file_name().to_string_lossy().into_owned();
        eprintln!("starting PostgreSQL {version} (it was down)");
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &version, "main", "start"])
            .status();
    }
    for _ in 0..20 {
        if pg_reachable() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `--features a,b,…` naming every feature of every package except `postgres`.
fn all_features_but_postgres() -> Vec<String> {
    vec![
        "--features".to_owned(),
        "toker-cli/tiktok,toker-cli/instagram,toker-cli/x".to_owned(),
    ]
}

/// Each platform feature alone, and none, must compile, tests included. (The tests
/// themselves ran above with every feature on; checking, not re-running them, keeps CI in
/// its time budget.)
fn source_feature_matrix() -> Result<(), String> {
    for features in ["", "tiktok", "instagram", "x"] {
        let mut cmd = cargo();
        cmd.args([
            "check",
            "-p",
            "toker-sources",
            "--all-targets",
            "--no-default-features",
        ]);
        if !features.is_empty() {
            cmd.args(["--features", features]);
        }
        sh(&mut cmd)?;
    }
    Ok(())
}

/// Layering by absence: lower crates must not pull in what belongs higher up.
fn check_layering() -> Result<(), String> {
    let rules: [(&str, &[&str]); 4] = [
        (
            "toker-model",
            &[
                "diesel",
                "reqwest",
                "tokio",
                "ndarray",
                "toker-sources",
                "toker-store",
            ],
        ),
        (
            "toker-processing",
            &["diesel", "reqwest", "tokio", "toker-sources", "toker-store"],
        ),
        (
            "toker-sources",
            &["diesel", "toker-store", "toker-processing", "axum"],
        ),
        (
            "toker-store",
            &["reqwest", "axum", "toker-sources", "toker-processing"],
        ),
    ];
    for (krate, banned) in rules {
        let tree = output(cargo().args([
            "tree",
            "-p",
            krate,
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--all-features",
        ]))?;
        for dep in banned {
            if tree.lines().any(|l| l.split(' ').next() == Some(dep)) {
                return Err(format!(
                    "layering: {krate} depends on {dep}, which it must not (docs/ARCHITECTURE.md)"
                ));
            }
        }
    }
    // Only toker-store talks to diesel directly; nothing depends on the CLI.
    for (krate, allowed) in [
        ("diesel", &["diesel_migrations", "toker-store"][..]),
        ("toker-cli", &[][..]),
    ] {
        let dependents = output(cargo().args([
            "tree",
            "--workspace",
            "--all-features",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--depth",
            "1",
            "--invert",
            krate,
        ]))?;
        for line in dependents.lines().skip(1) {
            let name = line.split(' ').next().unwrap_or_default();
            if !name.is_empty() && !allowed.contains(&name) {
                return Err(format!(
                    "layering: {name} depends directly on {krate}, which it must not (docs/ARCHITECTURE.md)"
                ));
            }
        }
    }
    eprintln!("layering: ok (model, processing, sources and store keep their dependencies down)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every crate's root file starts with a `//!` doc saying what it owns (an invariant of
    /// docs/ARCHITECTURE.md).
    #[test]
    fn every_crate_root_starts_with_a_crate_doc() {
        let root = workspace_root();
        let mut roots = vec![root.join("xtask/src/main.rs")];
        for entry in std::fs::read_dir(root.join("crates")).unwrap() {
            let dir = entry.unwrap().path();
            for file in ["src/lib.rs", "src/main.rs"] {
                if dir.join(file).exists() {
                    roots.push(dir.join(file));
                }
            }
        }
        assert!(roots.len() >= 6, "found only {roots:?}");
        for file in roots {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.starts_with("//!"),
                "{} lacks a //! crate doc",
                file.display()
            );
        }
    }

    #[test]
    fn architecture_doc_names_every_crate() {
        let root = workspace_root();
        let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
        for entry in std::fs::read_dir(root.join("crates")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                doc.contains(&name),
                "docs/ARCHITECTURE.md does not describe {name}"
            );
        }
    }
}
