//! Opening a database from its URL: the backend choice, SQLite's settings, migrations on
//! open, and the transactions every write goes through.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::error::{BUSY_TIMEOUT_MS, StoreError};

/// The database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A SQLite file (or `:memory:`).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// An open connection of either backend.
pub(crate) enum Conn {
    Sqlite(SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(diesel::PgConnection),
}

/// What a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A SQLite path, `file:` URI or `:memory:`.
    Sqlite(String),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Location {
    /// Reads `./toker.db`, `sqlite://path`, `sqlite:path`, `:memory:`,
    /// `postgres://…` or `postgresql://…`.
    pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StoreError::Connection {
                url: String::new(),
                message: "the database URL is empty".to_owned(),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(Location::Sqlite(path.to_owned()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreError::Connection {
                url: redact(url),
                message: format!(
                    "unsupported database kind {scheme:?}: expected a file path, \
                     sqlite://PATH or postgres://USER@HOST/DB"
                ),
            });
        }
        Ok(Location::Sqlite(url.to_owned()))
    }

    /// The path of a SQLite file that does not exist (`None` for PostgreSQL, in-memory
    /// databases, `file:` URIs and files that exist).
    pub(crate) fn missing_sqlite_file(&self) -> Option<String> {
        match self {
            Location::Sqlite(path)
                if path != ":memory:"
                    && !path.starts_with("file:")
                    && !Path::new(path).exists() =>
            {
                Some(path.clone())
            }
            _ => None,
        }
    }
}

/// The URL with its password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return redact_query_password(url);
    };
    let userinfo = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => userinfo.to_owned(),
    };
    redact_query_password(&format!("{scheme}://{userinfo}@{host}{tail}"))
}

/// libpq also takes `?password=…`.
fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// Opens a connection without migrating; returns it with the redacted URL.
pub(crate) fn connect(url: &str) -> Result<(Conn, String), StoreError> {
    match Location::parse(url)? {
        Location::Sqlite(path) => {
            let shown = path.clone();
            connect_sqlite(&path).map(|c| (Conn::Sqlite(c), shown))
        }
        Location::Postgres(url) => connect_postgres(&url),
    }
}

fn connect_sqlite(path: &str) -> Result<SqliteConnection, StoreError> {
    let fail = |message: String| StoreError::Connection {
        url: path.to_owned(),
        message,
    };
    let in_memory = path == ":memory:" || path.contains("mode=memory");
    if !in_memory && !path.starts_with("file:") {
        if let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
            && !parent.is_dir()
        {
            return Err(fail(format!(
                "the folder {} does not exist",
                parent.display()
            )));
        }
        if Path::new(path).is_dir() {
            return Err(fail("it is a folder, not a database file".to_owned()));
        }
    }
    let mut conn = SqliteConnection::establish(path).map_err(|e| fail(e.to_string()))?;
    // busy_timeout first: switching to WAL may itself wait for another process.
    let mut pragmas = format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};");
    if !in_memory {
        pragmas.push_str("PRAGMA journal_mode = WAL;");
    }
    // FULL: a committed transaction survives a power cut too; costs one fsync per commit.
    // A 64 MiB page cache keeps a bulk-ingest batch's index pages from spilling.
    // secure_delete: deleted rows are overwritten with zeros, not left in free space (an
    // erased person must not be readable from the file; see `Conn::scrub_after_erasure`).
    pragmas.push_str(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; \
         PRAGMA secure_delete = ON;",
    );
    conn.batch_execute(&pragmas)
        .map_err(|e| match StoreError::db("setting up SQLite", e) {
            busy @ StoreError::Busy { .. } => busy,
            other => fail(other.to_string()),
        })?;
    Ok(conn)
}

#[cfg(feature = "postgres")]
fn connect_postgres(url: &str) -> Result<(Conn, String), StoreError> {
    let shown = redact(url);
    let conn = diesel::PgConnection::establish(url).map_err(|e| {
        let mut message = e.to_string().trim().to_owned();
        if message.contains("does not exist") && message.contains("database") {
            message.push_str(" (create it first, e.g. `createdb -h HOST -U USER NAME`, or name an existing one in the URL)");
        }
        StoreError::Connection {
            url: shown.clone(),
            message,
        }
    })?;
    Ok((Conn::Postgres(conn), shown))
}

#[cfg(not(feature = "postgres"))]
fn connect_postgres(_url: &str) -> Result<(Conn, String), StoreError> {
    Err(StoreError::FeatureDisabled {
        feature: "postgres",
    })
}

impl Conn {
    /// The backend of this connection.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// After an erasure has committed: on SQLite, checkpoints the write-ahead log into the
    /// database file and truncates it (`wal_checkpoint(TRUNCATE)`), so the pages that
    /// `secure_delete` zeroed replace the old ones in the file and the log's older copies
    /// of the erased rows are gone. Best effort: the erasure itself has committed, so a
    /// checkpoint that other connections' readers keep from completing (after the busy
    /// timeout) is logged, not reported; the next checkpoint completes it. PostgreSQL
    /// needs its operator instead (`VACUUM`, WAL and backup retention; docs/SECURITY.md).
    pub(crate) fn scrub_after_erasure(&mut self) {
        #[derive(QueryableByName)]
        struct Checkpoint {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            busy: i32,
        }
        match self {
            Conn::Sqlite(c) => {
                match diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .get_result::<Checkpoint>(c)
                {
                    Ok(Checkpoint { busy: 0 }) => {}
                    Ok(_) => tracing::warn!(
                        "the checkpoint after an erasure could not finish (readers kept it \
                         busy); the next checkpoint overwrites the erased rows"
                    ),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "the checkpoint after an erasure failed; the next checkpoint \
                         overwrites the erased rows"
                    ),
                }
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => {}
        }
    }
}

/// A check run right before each writing transaction commits.
type CommitGuard = std::rc::Rc<dyn Fn() -> Result<(), String>>;

thread_local! {
    static COMMIT_GUARD: std::cell::RefCell<Option<CommitGuard>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `work` with `guard` asked right before every writing transaction that `work` runs
/// on this thread commits: `Err(reason)` rolls the transaction back and the write fails
/// with [`StoreError::CommitRefused`]. The API passes a request's deadline this way, so a
/// request answered with an error never commits afterwards. Guards nest (the innermost
/// applies) and are removed when `work` returns or panics.
pub fn with_commit_guard<R>(
    guard: impl Fn() -> Result<(), String> + 'static,
    work: impl FnOnce() -> R,
) -> R {
    struct Restore(Option<CommitGuard>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            COMMIT_GUARD.with(|g| *g.borrow_mut() = previous);
        }
    }
    let previous = COMMIT_GUARD.with(|g| g.borrow_mut().replace(std::rc::Rc::new(guard)));
    let _restore = Restore(previous);
    work()
}

/// Asks this thread's commit guard, if any, whether the transaction may commit.
fn check_commit_guard() -> Result<(), StoreError> {
    let guard = COMMIT_GUARD.with(|g| g.borrow().clone());
    match guard.map_or(Ok(()), |guard| guard()) {
        Ok(()) => Ok(()),
        Err(reason) => Err(StoreError::CommitRefused {
            context: None,
            reason,
        }),
    }
}

/// A backend's way of running a transaction that writes, and one that only reads.
pub(crate) trait Transactions: Sized {
    /// Runs `f` in a transaction that writes: SQLite `BEGIN IMMEDIATE` (so it never fails
    /// half-way with `SQLITE_BUSY_SNAPSHOT`); PostgreSQL retries serialization failures
    /// and deadlocks a bounded number of times.
    fn write<T>(
        &mut self,
        context: &str,
        f: impl FnMut(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;

    /// Runs `f` in a transaction that sees one consistent snapshot.
    fn read<T>(
        &mut self,
        context: &str,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
}

impl Transactions for SqliteConnection {
    fn write<T>(
        &mut self,
        context: &str,
        mut f: impl FnMut(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.immediate_transaction(|c| {
            let done = f(c)?;
            check_commit_guard()?;
            Ok::<T, StoreError>(done)
        })
        .map_err(|e| e.in_context(context))
    }

    fn read<T>(
        &mut self,
        context: &str,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(f).map_err(|e| e.in_context(context))
    }
}

/// How often a PostgreSQL transaction is tried before a serialization failure or
/// deadlock is reported.
#[cfg(feature = "postgres")]
const PG_ATTEMPTS: u32 = 5;

#[cfg(feature = "postgres")]
impl Transactions for diesel::PgConnection {
    fn write<T>(
        &mut self,
        context: &str,
        mut f: impl FnMut(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 1;
        loop {
            let attempt_result = self.transaction(|c| {
                let done = f(c)?;
                check_commit_guard()?;
                Ok::<T, StoreError>(done)
            });
            match attempt_result {
                Err(e) if e.is_retryable() && attempt < PG_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "retrying transaction: {context}");
                    std::thread::sleep(std::time::Duration::from_millis(10 << attempt));
                    attempt += 1;
                }
                result => return result.map_err(|e| e.in_context(context)),
            }
        }
    }

    fn read<T>(
        &mut self,
        context: &str,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.build_transaction()
            .read_only()
            .repeatable_read()
            .run(f)
            .map_err(|e| e.in_context(context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            Location::parse("./toker.db").unwrap(),
            Location::Sqlite("./toker.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/a.db").unwrap(),
            Location::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(
            Location::parse(":memory:").unwrap(),
            Location::Sqlite(":memory:".into())
        );
        assert!(matches!(
            Location::parse("postgresql://u@h/db").unwrap(),
            Location::Postgres(_)
        ));
        let err = Location::parse("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mysql") && !err.contains("secret"), "{err}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://bob:hunter2@db:5432/toker"),
            "postgres://bob:***@db:5432/toker"
        );
        assert_eq!(
            redact("postgres://bob@db/toker?password=hunter2&sslmode=require"),
            "postgres://bob@db/toker?password=***&sslmode=require"
        );
        assert_eq!(redact("./toker.db"), "./toker.db");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_without_the_feature_names_it() {
        let err = connect("postgres://u@h/db").err().unwrap();
        assert!(matches!(
            err,
            StoreError::FeatureDisabled {
                feature: "postgres"
            }
        ));
    }
}
