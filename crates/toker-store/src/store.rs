//! The [`Store`]: one connection to SQLite or PostgreSQL. Its reads and writes, each in
//! one transaction, are in the feature modules (`profiles`, `vectors`, `apikeys`,
//! `checkpoints`, `principals`); this is opening, the backend and the busy timeout.

use crate::backend::dispatch;
use crate::connection::{Backend, Conn, connect};
use crate::error::StoreError;
use crate::migrate::migrate_on_open;

/// A connection to Toker's database, SQLite or PostgreSQL, chosen by URL.
///
/// Every write is one transaction: a profile is stored whole or not at all. On SQLite,
/// writing transactions start with `BEGIN IMMEDIATE` and wait up to 5 s for another
/// writer before failing with [`StoreError::Busy`]; on PostgreSQL, serialization failures
/// and deadlocks are retried a few times.
pub struct Store {
    conn: Conn,
    url: String,
    /// Makes the vectors stored with each profile write (`crate::vectors`).
    pub(crate) vectorizer: Option<std::sync::Arc<dyn crate::vectors::ProfileVectorizer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.url)
            .field("vectorizer", &self.vectorizer.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    ///
    /// `url` is a SQLite path (`./toker.db`), `sqlite://PATH`, `:memory:`, or
    /// `postgres://…`/`postgresql://…` (feature `postgres`). SQLite runs in WAL mode with
    /// a busy timeout and foreign keys on.
    ///
    /// # Errors
    /// [`StoreError::Connection`] if the database cannot be opened,
    /// [`StoreError::FeatureDisabled`] for PostgreSQL without the feature,
    /// [`StoreError::Migration`] if the schema cannot be brought up to date.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let (mut conn, url) = connect(url)?;
        migrate_on_open(&mut conn)?;
        Ok(Store {
            conn,
            url,
            vectorizer: None,
        })
    }

    /// As [`Store::open`], but a SQLite file that does not exist yet is an error instead
    /// of a new, empty database: for readers, where a mistyped path should say so.
    ///
    /// # Errors
    /// [`StoreError::Connection`] naming the missing file, and as [`Store::open`].
    pub fn open_existing(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = crate::connection::Location::parse(url)?.missing_sqlite_file() {
            return Err(StoreError::Connection {
                url: path,
                message: "the database file does not exist (nothing has been stored there; \
                          check the path, or create profiles first)"
                    .to_owned(),
            });
        }
        Store::open(url)
    }

    /// The connection, for the store's other modules (e.g. `checkpoints`).
    pub(crate) fn conn_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// The connection and the installed vectorizer, for the profile writes.
    pub(crate) fn conn_and_vectorizer(
        &mut self,
    ) -> (&mut Conn, Option<&dyn crate::vectors::ProfileVectorizer>) {
        (&mut self.conn, self.vectorizer.as_deref())
    }

    /// Which backend this store talks to.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// The database URL, password hidden.
    #[must_use]
    pub fn url_redacted(&self) -> String {
        self.url.clone()
    }

    /// How long a write waits for another writer's lock before failing with
    /// [`StoreError::Busy`]: SQLite's busy timeout (5 s by default), PostgreSQL's
    /// `lock_timeout` (by default it waits as long as it takes).
    ///
    /// # Errors
    /// [`StoreError::Database`] if the setting is refused.
    pub fn set_busy_timeout(&mut self, timeout: std::time::Duration) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        let ms = timeout.as_millis();
        let sql = match self.backend() {
            Backend::Sqlite => format!("PRAGMA busy_timeout = {ms}"),
            // 0 would mean "wait forever" to PostgreSQL
            Backend::Postgres => format!("SET lock_timeout = {}", ms.max(1)),
        };
        dispatch!(&mut self.conn, |c, _q| c.batch_execute(&sql))
            .map_err(|e| StoreError::db("setting the busy timeout", e))
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// [`StoreError::Database`] if it does not.
    pub fn ping(&mut self) -> Result<(), StoreError> {
        dispatch!(&mut self.conn, |c, q| q::profiles::ping(c))
    }
}
