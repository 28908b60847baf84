//! `toker-store` owns persistence: the Diesel schema, the embedded migrations for SQLite and
//! PostgreSQL, and the `Store` with CRUD, bulk ingest and vector persistence.
//!
//! It must not contain business rules beyond the database's constraints.
