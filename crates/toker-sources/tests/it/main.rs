//! The sources' integration tests, one binary: API clients over real HTTP against a
//! replay, export importers on the fixtures, the fake source, feature gating.
#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod api_support;
mod export_support;

mod api_http;
mod api_instagram;
mod api_tiktok;
mod api_x;
mod export_archive;
mod export_instagram;
mod export_limits;
mod export_tiktok;
mod export_x;
mod fake;
mod features;
mod oauth;
