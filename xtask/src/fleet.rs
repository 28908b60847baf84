//! `cargo xtask bench-fleet`: the job queue's throughput, refreshes per second with 1, 2
//! and 4 `toker worker` processes against the platform replay (toker-api's `bench_fleet`
//! example), on a release build. Not part of CI: its figures go to docs/PERFORMANCE.md.

use std::process::Command;

use crate::util::{cargo, run, target_dir};

/// Builds `toker` and the example (with PostgreSQL support for `--backend postgres`),
/// then runs the example with `args` (see its usage) and the built `toker`.
pub(crate) fn run_fleet(args: &[String]) -> Result<(), String> {
    let postgres = args
        .windows(2)
        .any(|w| w[0] == "--backend" && w[1] == "postgres");
    let mut build = cargo();
    build.args(["build", "--release", "-p", "toker-cli", "--bin", "toker"]);
    build.args(["-p", "toker-api", "--example", "bench_fleet"]);
    if postgres {
        build.args(["--features", "toker-cli/postgres,toker-api/postgres"]);
    }
    run(&mut build)?;
    let bin = target_dir().join("release");
    run(Command::new(bin.join("examples/bench_fleet"))
        .arg("--toker")
        .arg(bin.join("toker"))
        .args(args))
}
