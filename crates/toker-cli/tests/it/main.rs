//! The `toker` binary's integration tests, one binary: every command run as a user runs it.
#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

#[macro_use]
mod common;

mod cli;
mod collect;
mod fetch;
mod fleet;
mod import_export;
mod replicas;
mod serve;
mod serve_export;
mod worker;
