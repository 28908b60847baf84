//! The SQL, written once and compiled for each backend's connection type.
//!
//! Diesel's `#[derive(MultiConnection)]` would give one connection type for both
//! backends, but it supports no `ON CONFLICT` clause, which upserts (and the bulk ingest)
//! are built on. So each file under `queries/` is included once per backend, in a module
//! where `Conn` names that backend's connection; [`crate::connection::dispatch`] picks the
//! module at run time. The code is identical for both, only the types differ.

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

/// Declares the query modules for one backend.
macro_rules! queries_for {
    ($conn:ty) => {
        /// This backend's connection.
        pub(crate) type Conn = $conn;

        /// Profiles: batched writes, whole reads, listing, deleting, stats.
        pub(crate) mod profiles {
            include!("queries/profiles.rs");
        }

        /// Profile vectors and their vocabulary.
        pub(crate) mod vectors {
            include!("queries/vectors.rs");
        }

        /// API keys.
        pub(crate) mod apikeys {
            include!("queries/apikeys.rs");
        }
    };
}

/// The queries compiled for SQLite.
pub(crate) mod sqlite {
    queries_for!(diesel::SqliteConnection);
}

/// The queries compiled for PostgreSQL.
#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    queries_for!(diesel::PgConnection);
}
