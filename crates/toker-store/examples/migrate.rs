//! Manages the store's embedded migrations by hand; `cargo xtask migrate` runs it.
//!
//! `cargo run -p toker-store [--features postgres] --example migrate -- \
//!     <run|revert|redo|status> [--database URL]` (default: `DATABASE_URL`, then
//! `./toker.db`).

use std::process::ExitCode;

use toker_store::{Migrator, StoreError};

const USAGE: &str = "usage: migrate <run|revert|redo|status> [--database URL]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, url)) = parse(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(&command, &url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("migrate {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Option<(String, String)> {
    let mut command = None;
    let mut url = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--database" {
            url = Some(rest.next()?.clone());
        } else if let Some(value) = arg.strip_prefix("--database=") {
            url = Some(value.to_owned());
        } else if command.is_none() && !arg.starts_with('-') {
            command = Some(arg.clone());
        } else {
            return None;
        }
    }
    let url = url
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "./toker.db".to_owned());
    Some((command?, url))
}

fn run(command: &str, url: &str) -> Result<(), StoreError> {
    let mut migrator = Migrator::connect(url)?;
    let db = migrator.url_redacted().to_owned();
    match command {
        "run" => {
            let applied = migrator.run()?;
            if applied.is_empty() {
                println!("{db}: up to date");
            }
            for version in applied {
                println!("{db}: applied {version}");
            }
        }
        "revert" => println!("{db}: reverted {}", migrator.revert()?),
        "redo" => println!("{db}: redid {}", migrator.redo()?),
        "status" => {
            for m in migrator.status()? {
                let mark = if m.applied { "applied" } else { "pending" };
                println!("{mark:8} {}", m.name);
            }
        }
        other => {
            return Err(StoreError::Migration(format!(
                "unknown command {other:?}; {USAGE}"
            )));
        }
    }
    Ok(())
}
