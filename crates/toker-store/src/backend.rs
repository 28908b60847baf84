//! The SQL, written once and compiled for each backend's connection type, and the one
//! macro that picks the backend at run time.
//!
//! Diesel's `#[derive(MultiConnection)]` would give one connection type for both
//! backends, but it supports no `ON CONFLICT` clause, which upserts (and the bulk ingest)
//! are built on. So each feature's `queries.rs` (`profiles/queries.rs`, …) is included
//! once per backend by [`per_backend!`], in a module where `Conn` names that backend's
//! connection; [`dispatch!`] picks the module at run time. The code is identical for
//! both, only the types differ. A new feature's queries go into the list in
//! [`per_backend!`].

use diesel::sql_types::{Nullable, Text};

/// Most bind parameters one statement carries (SQLite's limit is 32766, PostgreSQL's 65535).
pub(crate) const MAX_BINDS: usize = 30_000;

/// Most values in one `IN (…)` list.
pub(crate) const IN_LIST: usize = 10_000;

#[diesel::declare_sql_function]
extern "SQL" {
    /// `coalesce(x, y)`: the first of its arguments that is not null.
    fn coalesce(x: Nullable<Text>, y: Nullable<Text>) -> Nullable<Text>;
}

/// Declares one backend's modules: its connection type, its embedded migrations, its
/// migration lock and every feature's queries.
macro_rules! per_backend {
    ($conn:ty, $migrations:literal, $locked:path) => {
        /// This backend's connection.
        pub(crate) type Conn = $conn;

        /// This backend's schema, embedded at build time.
        pub(crate) const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($migrations);

        /// How this backend keeps concurrent migrators apart.
        pub(crate) use $locked as locked;

        /// Profiles: batched writes, whole reads, listing, deleting, stats.
        pub(crate) mod profiles {
            include!("profiles/queries.rs");
        }

        /// Profile vectors and their vocabulary.
        pub(crate) mod vectors {
            include!("vectors/queries.rs");
        }

        /// API keys.
        pub(crate) mod apikeys {
            include!("apikeys/queries.rs");
        }

        /// Collection runs, checkpoints, pages and markers.
        pub(crate) mod checkpoints {
            include!("checkpoints/queries.rs");
        }

        /// Principals, their accounts, sessions and OAuth states.
        pub(crate) mod principals {
            include!("principals/queries.rs");
        }

        /// The job queue.
        pub(crate) mod jobs {
            include!("jobs/queries.rs");
        }

        /// The platform apps' shared request budgets.
        pub(crate) mod budgets {
            include!("budgets/queries.rs");
        }
    };
}

/// Everything compiled for SQLite.
pub(crate) mod sqlite {
    per_backend!(
        diesel::SqliteConnection,
        "migrations/sqlite",
        crate::migrate::sqlite_locked
    );
}

/// Everything compiled for PostgreSQL.
#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    per_backend!(
        diesel::PgConnection,
        "migrations/postgres",
        crate::migrate::postgres_locked
    );
}

/// Runs `$body` with `$c` bound to the concrete connection of `$conn` (a
/// [`crate::connection::Conn`], by value or reference) and `$q` to that backend's module
/// (`crate::backend::{sqlite, postgres}`: `q::profiles::…`, `q::MIGRATIONS`, …).
macro_rules! dispatch {
    ($conn:expr, |$c:ident, $q:ident| $body:expr) => {
        match $conn {
            $crate::connection::Conn::Sqlite($c) => {
                #[allow(unused_imports)]
                use $crate::backend::sqlite as $q;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::connection::Conn::Postgres($c) => {
                #[allow(unused_imports)]
                use $crate::backend::postgres as $q;
                $body
            }
        }
    };
}
pub(crate) use dispatch;
