//! Throw-away databases for tests (feature `test-support`): a SQLite file in a temporary
//! folder, or a fresh PostgreSQL database that is dropped afterwards.
//!
//! PostgreSQL tests read the server's URL from `TOKER_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Without a server they are skipped with a
//! loud warning, unless `CI=true`, where a missing server is a failure.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::connection::Backend;

/// The PostgreSQL server tests use when `TOKER_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to open it with.
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    /// A new SQLite file in a temporary folder, removed on drop.
    ///
    /// # Panics
    /// If no temporary folder can be made.
    #[must_use]
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder for the test database");
        let url = dir.path().join("toker.db").to_string_lossy().into_owned();
        TestDb {
            url,
            kind: Kind::Sqlite(dir),
        }
    }

    /// A new, empty PostgreSQL database, dropped on drop; `None` (with a loud warning) if
    /// no server answers or the `postgres` feature is off.
    ///
    /// # Panics
    /// If `CI=true` and there is no server (CI must test both backends).
    #[must_use]
    pub fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("TOKER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let name = format!(
            "toker_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        match create_database(&admin_url, &name) {
            Ok(url) => Some(TestDb {
                url,
                kind: Kind::Postgres { admin_url, name },
            }),
            Err(why) => {
                let why = format!(
                    "PostgreSQL tests skipped: {why} (server {})",
                    crate::connection::redact(&admin_url)
                );
                assert!(!in_ci(), "{why}; CI=true requires PostgreSQL");
                eprintln!(
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     WARNING: {why}\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                None
            }
        }
    }

    /// The backend of this database.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite(_) => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        }
    }
}

fn in_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true" | "1" | "TRUE" | "True")
    )
}

/// `url` with its database name replaced.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(feature = "postgres")]
fn create_database(admin_url: &str, name: &str) -> Result<String, String> {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    let mut admin = PgConnection::establish(admin_url).map_err(|e| e.to_string())?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .map_err(|e| format!("cannot create database {name}: {e}"))?;
    Ok(with_database(admin_url, name))
}

#[cfg(not(feature = "postgres"))]
fn create_database(_admin_url: &str, _name: &str) -> Result<String, String> {
    Err("toker-store was built without the `postgres` feature".to_owned())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Kind::Postgres { admin_url, name } = &self.kind {
            use diesel::connection::SimpleConnection;
            use diesel::{Connection, PgConnection};
            let dropped = PgConnection::establish(admin_url).and_then(|mut admin| {
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
            });
            if let Err(e) = dropped {
                eprintln!("warning: could not drop test database {name}: {e}");
            }
        }
    }
}

/// Queues a job of `kind` with an empty payload, due now, and returns its id.
///
/// # Panics
/// If the store refuses it.
pub fn enqueue_due(store: &mut crate::Store, kind: &str, max_attempts: u32) -> i64 {
    let payload = serde_json::json!({});
    let job = crate::NewJob {
        kind,
        payload: &payload,
        input: None,
        owner: None,
        max_attempts,
        run_after: chrono::Utc::now(),
        dedup_key: None,
    };
    match store.enqueue_job(&job) {
        Ok(enqueued) => enqueued.job.id,
        Err(e) => panic!("queueing a {kind} job: {e}"),
    }
}

/// Connects `n` X accounts, one person each (principal `usr_<i>`, account id
/// `user_id(i)`, handle `synth_<i>`, no profile yet) with the tokens `seal(i, user_id)`
/// makes: a fleet of workers' accounts ([`queue_synthetic_refreshes`] queues their load).
///
/// # Panics
/// If the store refuses an account.
pub fn connect_synthetic_accounts(
    store: &mut crate::Store,
    n: u64,
    user_id: impl Fn(u64) -> String,
    seal: impl Fn(u64, &str) -> crate::AccountTokens,
) {
    for i in 0..n {
        let (id, username, principal) = (user_id(i), format!("synth_{i}"), format!("usr_{i}"));
        let account = crate::ConnectAccount {
            platform: toker_model::Platform::X,
            user_id: &id,
            username: &username,
            profile: None,
            method: crate::AccountMethod::OAuth,
            tokens: Some(seal(i, &id)),
            session: None,
        };
        let placed = store.connect_account(&account, &mut |_| {
            Ok::<_, ()>(crate::Placement::Proven(principal.clone()))
        });
        assert!(matches!(placed, Ok(Ok(_))), "connecting account {i}");
    }
}

/// Queues a refresh of each of the `n` people [`connect_synthetic_accounts`] connected,
/// as `POST /v1/me/refresh` does (kind `refresh`, due now, key `refresh:usr_<i>`,
/// 5 attempts).
///
/// # Panics
/// If the store refuses a job.
pub fn queue_synthetic_refreshes(store: &mut crate::Store, n: u64) {
    for i in 0..n {
        let principal = format!("usr_{i}");
        let payload = serde_json::json!({ "principal": principal });
        let key = format!("refresh:{principal}");
        let job = crate::NewJob {
            kind: "refresh",
            payload: &payload,
            input: None,
            owner: Some(&principal),
            max_attempts: 5,
            run_after: chrono::Utc::now(),
            dedup_key: Some(&key),
        };
        if let Err(e) = store.enqueue_job(&job) {
            panic!("queueing the refresh of account {i}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h?sslmode=disable", "t2"),
            "postgres://u@h/t2?sslmode=disable"
        );
    }
}
