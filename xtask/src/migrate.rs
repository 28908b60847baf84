//! `cargo xtask migrate run|revert|redo|status|new NAME [--database URL]`.
//!
//! `new` writes an empty up/down pair into both backends' migration folders. The other
//! commands run toker-store's `migrate` example (with the `postgres` feature for a
//! PostgreSQL URL), so that xtask itself stays free of database dependencies. The database
//! is `--database`, else `DATABASE_URL`, else `./toker.db`, relative to where xtask runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::{run as sh, workspace_root};

const USAGE: &str = "usage: cargo xtask migrate <run|revert|redo|status|new NAME> [--database URL]";

/// The backends, each with its own folder under `crates/toker-store/migrations/`.
const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// Runs the migrate command.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let parsed = parse(args)?;
    match parsed.command.as_str() {
        "new" => {
            let name = parsed
                .name
                .ok_or_else(|| format!("new needs a NAME\n{USAGE}"))?;
            let stamp = utc_stamp(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_err(|e| e.to_string())?
                    .as_secs(),
            );
            let root = workspace_root().join("crates/toker-store/migrations");
            for dir in create_migration(&root, &name, &stamp)? {
                eprintln!("created {}", dir.display());
            }
            Ok(())
        }
        "run" | "revert" | "redo" | "status" => {
            if parsed.name.is_some() {
                return Err(format!("{} takes no NAME\n{USAGE}", parsed.command));
            }
            let url = parsed
                .database
                .or_else(|| std::env::var("DATABASE_URL").ok())
                .unwrap_or_else(|| "./toker.db".to_owned());
            sh(&mut example_command(&parsed.command, &url))
        }
        other => Err(format!("unknown migrate command {other:?}\n{USAGE}")),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    command: String,
    name: Option<String>,
    database: Option<String>,
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut words = Vec::new();
    let mut database = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--database" {
            database = Some(
                rest.next()
                    .ok_or_else(|| format!("--database needs a URL\n{USAGE}"))?
                    .clone(),
            );
        } else if let Some(url) = arg.strip_prefix("--database=") {
            database = Some(url.to_owned());
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg:?}\n{USAGE}"));
        } else {
            words.push(arg.clone());
        }
    }
    let mut words = words.into_iter();
    let command = words.next().ok_or_else(|| USAGE.to_owned())?;
    let name = words.next();
    if let Some(extra) = words.next() {
        return Err(format!("unexpected argument {extra:?}\n{USAGE}"));
    }
    Ok(Parsed {
        command,
        name,
        database,
    })
}

/// `cargo run` of toker-store's migrate example, in the caller's folder (relative SQLite
/// paths mean what the caller thinks).
fn example_command(command: &str, url: &str) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    if let Ok(here) = std::env::current_dir() {
        cmd.current_dir(here);
    }
    cmd.args(["run", "--quiet", "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .args(["-p", "toker-store", "--example", "migrate"]);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        cmd.args(["--features", "postgres"]);
    }
    cmd.args(["--", command, "--database", url]);
    cmd
}

/// Creates `<stamp>_<name>/{up,down}.sql` under each backend's folder.
fn create_migration(root: &Path, name: &str, stamp: &str) -> Result<Vec<PathBuf>, String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(format!(
            "migration name {name:?} must be lower-case letters, digits and _ (e.g. add_user_index)"
        ));
    }
    let mut created = Vec::new();
    for backend in BACKENDS {
        let dir = root.join(backend).join(format!("{stamp}_{name}"));
        if dir.exists() {
            return Err(format!("{} already exists", dir.display()));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for (file, what) in [("up.sql", "applies"), ("down.sql", "reverts")] {
            let text = format!("-- {name} ({backend}): what this migration {what}.\n");
            std::fs::write(dir.join(file), text)
                .map_err(|e| format!("cannot write {}: {e}", dir.join(file).display()))?;
        }
        created.push(dir);
    }
    Ok(created)
}

/// Diesel's migration stamp `YYYY-MM-DD-HHMMSS` of a UTC Unix time.
fn utc_stamp(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn stamps_are_diesels_format_in_utc() {
        assert_eq!(utc_stamp(0), "1970-01-01-000000");
        assert_eq!(utc_stamp(1_764_072_180), "2025-11-25-120300");
        assert_eq!(utc_stamp(951_782_400), "2000-02-29-000000");
    }

    #[test]
    fn arguments_are_parsed_with_database_in_either_form() {
        let p = parse(&args("status --database postgres://u@h/db")).unwrap();
        assert_eq!(p.command, "status");
        assert_eq!(p.database.as_deref(), Some("postgres://u@h/db"));
        let p = parse(&args("new add_index --database=./x.db")).unwrap();
        assert_eq!(p.name.as_deref(), Some("add_index"));
        assert_eq!(p.database.as_deref(), Some("./x.db"));
        assert!(parse(&args("run --force")).is_err());
        assert!(parse(&args("new a b")).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn postgres_urls_build_with_the_postgres_feature() {
        let line = |cmd: &Command| {
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let pg = line(&example_command("run", "postgres://u@h/db"));
        assert!(
            pg.contains(
                "--example migrate --features postgres -- run --database postgres://u@h/db"
            ),
            "{pg}"
        );
        let sqlite = line(&example_command("status", "./toker.db"));
        assert!(!sqlite.contains("--features"), "{sqlite}");
    }

    #[test]
    fn new_creates_an_up_down_pair_per_backend() {
        let root = std::env::temp_dir().join(format!("xtask-migrate-{}", std::process::id()));
        let dirs = create_migration(&root, "add_index", "2025-11-25-120300").unwrap();
        assert_eq!(dirs.len(), 2);
        for backend in BACKENDS {
            let dir = root.join(backend).join("2025-11-25-120300_add_index");
            assert!(dir.join("up.sql").is_file() && dir.join("down.sql").is_file());
        }
        assert!(create_migration(&root, "add_index", "2025-11-25-120300").is_err());
        assert!(create_migration(&root, "Bad Name", "2025-11-25-120301").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
