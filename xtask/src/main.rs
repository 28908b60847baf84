//! `cargo xtask`: Toker's automation — CI, migrations, benchmarks and releases.
//!
//! It is a development tool only: nothing at run time needs it, and it is never published.
//! Each command lives in its own module; this file only dispatches.

mod bench;
mod ci;
mod demo;
mod fleet;
mod fuzz;
mod migrate;
mod release;
mod schemathesis;
mod supply;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  ci [--quick] [--install-tools]
                             fmt, layering, supply chain, clippy -D warnings, tests (both
                             backends), feature matrix, docs, example, bench 10k, release dry-run
  migrate <run|revert|redo|status|new NAME> [--database URL]
                             manage the store's migrations (DATABASE_URL honoured)
  bench [--profiles 10000,100000] [--backend sqlite|postgres] [--json FILE]
                             end-to-end benchmark, each figure beside a same-run baseline
  bench-fleet [--accounts 300] [--workers 1,2,4] [--backend sqlite|postgres] [--delay-ms 20]
                             refreshes per second by 1, 2 and 4 `toker worker` processes
                             against the platform replay (one JSON line per run)
  supply-chain [--install-tools]
                             licenses, bans, sources (deny.toml); advisories with cargo-deny
  demo-platforms [--bind ADDR] [--public-url URL]
                             replay TikTok, X and Instagram (consent, tokens, data) from the
                             fixtures, for trying the connect flow against `toker serve`
  schemathesis [--max-examples N]
                             every Schemathesis check of the served OpenAPI document
                             against `toker serve` (Python venv under the target dir)
  fuzz [--time S] [TARGET...]
                             coverage-guided fuzzing (cargo-fuzz, installed if missing): seeds
                             each corpus from the fixtures, runs each target S s (default 60)
  release <major|minor|patch|X.Y.Z> [--dry-run] [--skip-ci]
                             bump, changelog, package, dist tarball + SHA-256, tag (no push)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "ci" => ci::run(rest),
        "migrate" => migrate::run(rest),
        "demo-platforms" => demo::run_demo(rest),
        "bench" => bench::run(rest),
        "bench-fleet" => fleet::run_fleet(rest),
        "supply-chain" => supply::check(rest.iter().any(|a| a == "--install-tools")),
        "fuzz" => fuzz::run(rest),
        "release" => release::run(rest),
        "schemathesis" => schemathesis::run(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
