//! The API's integration tests, one binary: the router in-process on both backends, the
//! connect flow against the platform replay, limits, logs, the socket server and its signals,
//! the web pages (in-process, and in a real browser).
#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;
mod connect_support;

mod api;
mod browser;
mod claims;
mod connect;
mod connect_logs;
mod heavy;
mod jobs;
mod limits;
mod logs;
mod metrics;
mod openapi;
mod replicas;
mod request_ids;
mod sigterm;
mod socket;
mod vectors;
mod web;
