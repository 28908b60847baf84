//! toker-collect's integration tests, one binary: resumable collection against a scripted
//! client, account refreshes against the platform replay, record imports.
#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod collect;
mod jobs;
mod records;
mod refresh;
