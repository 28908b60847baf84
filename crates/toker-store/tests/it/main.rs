//! The store's integration tests, one binary: every behaviour on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod budgets;
mod checkpoints;
mod concurrency;
mod erasure;
mod jobs;
mod migrations;
mod principals;
mod processes;
mod roundtrip;
mod store;
mod vector_writes;
