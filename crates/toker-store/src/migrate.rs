//! The embedded migrations: applied when a store opens, and managed by hand with
//! [`Migrator`] (what `cargo xtask migrate` drives).

use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;

use crate::backend::dispatch;
use crate::connection::{Backend, Conn, connect};
use crate::error::StoreError;
use crate::schema::__diesel_schema_migrations;

/// One embedded migration and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationState {
    /// The migration's folder name, e.g. `2025-11-25-120000_create_profiles_and_videos`.
    pub name: String,
    /// Whether it is applied.
    pub applied: bool,
}

/// Applies, reverts and lists the embedded migrations of one database by hand.
///
/// [`crate::Store::open`] applies pending migrations by itself; this is for developers.
pub struct Migrator {
    conn: Conn,
    url: String,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Migrator {
    /// Opens the database without applying anything.
    ///
    /// # Errors
    /// As [`crate::Store::open`].
    pub fn connect(url: &str) -> Result<Migrator, StoreError> {
        let (conn, url) = connect(url)?;
        Ok(Migrator { conn, url })
    }

    /// The backend of the database being migrated.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// The database URL, password hidden.
    #[must_use]
    pub fn url_redacted(&self) -> &str {
        &self.url
    }

    /// Every embedded migration, oldest first, and whether it is applied.
    ///
    /// # Errors
    /// [`StoreError::Migration`] if the applied ones cannot be read.
    pub fn status(&mut self) -> Result<Vec<MigrationState>, StoreError> {
        let pending = pending(&mut self.conn)?;
        let mut all = dispatch!(&self.conn, |c, q| names(c, &q::MIGRATIONS)?);
        all.sort();
        Ok(all
            .into_iter()
            .map(|name| MigrationState {
                applied: !pending.contains(&name),
                name,
            })
            .collect())
    }

    /// Applies every pending migration; returns their versions.
    ///
    /// # Errors
    /// [`StoreError::Migration`] naming the migration that failed (nothing of it is kept).
    pub fn run(&mut self) -> Result<Vec<String>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::locked(c, |c| {
            let done = c
                .run_pending_migrations(q::MIGRATIONS)
                .map_err(migration_error)?;
            Ok(done.iter().map(ToString::to_string).collect())
        }))
    }

    /// Reverts the last applied migration; returns its version.
    ///
    /// # Errors
    /// [`StoreError::Migration`] if none is applied or its `down.sql` fails.
    pub fn revert(&mut self) -> Result<String, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::locked(c, |c| {
            c.revert_last_migration(q::MIGRATIONS)
                .map(|v| v.to_string())
                .map_err(migration_error)
        }))
    }

    /// Reverts the last applied migration and applies it again; returns its version.
    ///
    /// # Errors
    /// As [`Migrator::revert`] and [`Migrator::run`].
    pub fn redo(&mut self) -> Result<String, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::locked(c, |c| {
            c.revert_last_migration(q::MIGRATIONS)
                .map_err(migration_error)?;
            c.run_next_migration(q::MIGRATIONS)
                .map(|v| v.to_string())
                .map_err(migration_error)
        }))
    }
}

fn migration_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

/// The names of a backend's migrations (`_conn` only fixes the backend).
fn names<C: Connection>(
    _conn: &C,
    source: &impl MigrationSource<C::Backend>,
) -> Result<Vec<String>, StoreError> {
    Ok(source
        .migrations()
        .map_err(migration_error)?
        .iter()
        .map(|m| m.name().to_string())
        .collect())
}

/// The embedded migrations the database lacks, read without taking a write lock
/// (Diesel's harness would first `CREATE TABLE IF NOT EXISTS` its bookkeeping table).
fn pending(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
    dispatch!(conn, |c, q| {
        // A database never migrated has no such table: then everything is pending.
        let applied: Vec<String> = __diesel_schema_migrations::table
            .select(__diesel_schema_migrations::version)
            .load(c)
            .unwrap_or_default();
        Ok(names(c, &q::MIGRATIONS)?
            .into_iter()
            .filter(|name| {
                let version = name.split('_').next().unwrap_or_default().replace('-', "");
                !applied.contains(&version)
            })
            .collect())
    })
}

/// Applies pending migrations when a store opens; an up-to-date database is only read.
pub(crate) fn migrate_on_open(conn: &mut Conn) -> Result<(), StoreError> {
    if pending(conn)?.is_empty() {
        return Ok(());
    }
    dispatch!(conn, |c, q| q::locked(c, |c| {
        c.run_pending_migrations(q::MIGRATIONS)
            .map(|_| ())
            .map_err(migration_error)
    }))
}

const CONTEXT: &str = "migrating the database";

/// SQLite: migrate inside `BEGIN IMMEDIATE`, so concurrent openers wait for each other
/// (Diesel's per-migration transactions nest as savepoints).
pub(crate) fn sqlite_locked<T>(
    c: &mut SqliteConnection,
    f: impl FnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    c.immediate_transaction(f)
        .map_err(|e| e.in_context(CONTEXT))
}

/// PostgreSQL: migrate under a session advisory lock that every toker process shares.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_locked<T>(
    c: &mut diesel::PgConnection,
    f: impl FnOnce(&mut diesel::PgConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    use diesel::connection::SimpleConnection;
    c.batch_execute("SELECT pg_advisory_lock(7236276171)")
        .map_err(|e| StoreError::db(CONTEXT, e))?;
    let result = f(c);
    let unlocked = c
        .batch_execute("SELECT pg_advisory_unlock(7236276171)")
        .map_err(|e| StoreError::db(CONTEXT, e));
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Every released migration, in the order it was released: a new one goes last, on both
/// backends, and its name must sort after every other (the tests below check both).
/// Released names never change: existing databases know their migrations by version.
#[cfg(test)]
const RELEASED: &[&str] = &[
    "2025-11-25-120000_create_profiles_and_videos",
    "2025-11-25-120100_create_vectors",
    "2025-11-25-120200_create_api_keys",
    "2025-11-25-130000_create_collection_checkpoints",
    "2025-11-26-090000_create_principals",
    "2026-11-25-170000_collection_runs_profile",
    "2026-12-02-050000_unproven_uploads",
    "2026-12-02-090000_profile_interests",
    "2026-12-02-180000_jobs",
    "2026-12-03-120000_platform_budgets",
    "2026-12-03-140000_vector_writes",
];

/// Historic exceptions to "dated close to the one released before it":
/// `2026-11-25-170000_collection_runs_profile` was released right after the 2025-11-26
/// migration but dated a year later. Databases know it by that version, so it keeps its
/// name; it still sorts in release order, and every later one is dated after it.
#[cfg(test)]
const MISDATED: &[&str] = &["2026-11-25-170000_collection_runs_profile"];

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(backend: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn date(name: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(&name[..10], "%Y-%m-%d").unwrap()
    }

    #[test]
    fn both_backends_hold_the_released_migrations() {
        let mut released: Vec<String> = RELEASED.iter().map(|s| (*s).to_owned()).collect();
        released.sort();
        for backend in ["sqlite", "postgres"] {
            assert_eq!(
                folder(backend),
                released,
                "migrations/{backend} differs from RELEASED in migrate.rs: a new migration \
                 needs a folder on both backends and its name at the end of RELEASED"
            );
        }
    }

    #[test]
    fn new_migrations_sort_last() {
        for (i, name) in RELEASED.iter().enumerate() {
            assert!(
                RELEASED[..i].iter().all(|before| before < name),
                "{name} sorts before a migration released earlier: Diesel applies pending \
                 migrations in name order, so date a new one after every other"
            );
        }
    }

    #[test]
    fn migrations_are_dated_close_to_the_one_before() {
        // A date far ahead (a mistyped year) would make every later migration, dated
        // correctly, sort before it.
        let jumps: Vec<&str> = RELEASED
            .windows(2)
            .filter(|w| (date(w[1]) - date(w[0])).num_days() > 180)
            .map(|w| w[1])
            .collect();
        assert_eq!(
            jumps, MISDATED,
            "dated far after the migration released before it"
        );
    }
}
