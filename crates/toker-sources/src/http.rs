//! The shared HTTP layer of the API clients: timeouts, retries with backoff, rate limits.
//!
//! - [`ApiConfig`]: base URL, credentials (as [`Secret`]s, never printed), timeout, item
//!   bound, retry and wait bounds; [`ApiConfig::from_env`] reads `TOKER_<PLATFORM>_…`.
//! - Every request goes through one loop: a per-request timeout; on 429 with a reset
//!   (`Retry-After`, X's `x-rate-limit-reset`) a wait until the reset + 1 s, bounded by
//!   [`ApiConfig::max_wait`] (else [`SourceError::RateLimited`] saying when to retry);
//!   exponential backoff with jitter on throttling without a reset, 5xx, timeouts and
//!   connection errors, at most [`ApiConfig::max_retries`] times; no retry on other 4xx;
//!   one retry of an unreadable success body. Waits go through a [`Sleeper`] (tokio time by
//!   default, so a paused clock applies).
//! - With a [`SharedBudget`] ([`ApiConfig::budget`]) each request first spends one of the
//!   app's budget shared with other processes, waiting while it is spent, and a rate
//!   limit the platform announces pauses the app for all of them.
//! - [`ApiClient`] gives page-level access (a collector can checkpoint after each page);
//!   [`collect`] reads everything into one [`crate::RawProfile`].
//! - [`api_source`] / [`api_client`] build the client for a platform, or say which cargo
//!   feature is missing.
// Each platform uses part of the shared machinery: only the full build sees all of it used.
#![cfg_attr(
    not(all(feature = "tiktok", feature = "x", feature = "instagram")),
    allow(dead_code, unused_imports)
)]

mod budget;
mod config;
mod paging;
pub(crate) mod parse;
mod retry;

use std::sync::Arc;

use toker_model::Platform;

pub use budget::{Budget, SharedBudget};
pub use config::{ApiConfig, Secret, default_base_url, env};
pub use paging::{Account, ApiClient, Listing, Page, PageRequest, collect};
pub(crate) use retry::{Body, Call, Hints, Http, Reply, Verdict};
pub use retry::{Sleeper, TokioSleeper, Wait, WaitReason};

use crate::error::SourceError;
use crate::registry::ensure_enabled;
use crate::source::Source;

/// Implements [`Source`] for an API client (`fetch` is [`collect`] up to its item bound)
/// and gives it `with_sleeper`, which sets the sleeper of its `http` field.
#[allow(unused_macros)]
macro_rules! impl_source_for_api_client {
    ($client:ty, $platform:expr) => {
        impl $client {
            /// Uses `sleeper` for rate-limit and backoff waits.
            #[must_use]
            pub fn with_sleeper(
                mut self,
                sleeper: std::sync::Arc<dyn $crate::http::Sleeper>,
            ) -> Self {
                self.http.set_sleeper(sleeper);
                self
            }
        }

        #[async_trait::async_trait]
        impl $crate::source::Source for $client {
            fn platform(&self) -> toker_model::Platform {
                $platform
            }

            fn kind(&self) -> $crate::source::SourceKind {
                $crate::source::SourceKind::Api
            }

            async fn fetch(
                &self,
                user: &$crate::source::UserRef,
            ) -> Result<$crate::source::RawProfile, $crate::error::SourceError> {
                let max_items = $crate::http::ApiClient::max_items(self);
                $crate::http::collect(self, user, max_items).await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use impl_source_for_api_client;

/// The [`ApiClient`] methods every client answers alike, for its `impl ApiClient` block:
/// `profile_from_raw` is the platform module's function of that name, `max_items` the
/// client's `config.max_items`.
#[allow(unused_macros)]
macro_rules! api_client_shared_methods {
    () => {
        fn profile_from_raw(
            &self,
            raw: &serde_json::Value,
        ) -> Result<$crate::source::RawProfile, $crate::error::SourceError> {
            profile_from_raw(raw)
        }

        fn max_items(&self) -> Option<u64> {
            self.config.max_items
        }
    };
}
#[allow(unused_imports)]
pub(crate) use api_client_shared_methods;

/// The API source for `platform` (what `toker fetch` uses), waiting on the tokio clock.
///
/// # Errors
/// [`SourceError::FeatureDisabled`] when the platform's feature is off;
/// [`SourceError::Config`] when credentials are missing or the base URL is unusable.
pub fn api_source(platform: Platform, config: ApiConfig) -> Result<Box<dyn Source>, SourceError> {
    Ok(api_client(platform, config, Arc::new(TokioSleeper))?)
}

/// The API client for `platform`, with page-level access and a chosen [`Sleeper`] (e.g. one
/// that shows rate-limit waits on a progress line).
///
/// # Errors
/// As [`api_source`]; also [`SourceError::Config`] when `config` is for another platform.
#[cfg_attr(
    not(any(feature = "tiktok", feature = "x", feature = "instagram")),
    allow(unused_variables)
)]
pub fn api_client(
    platform: Platform,
    config: ApiConfig,
    sleeper: Arc<dyn Sleeper>,
) -> Result<Box<dyn ApiClient>, SourceError> {
    ensure_enabled(platform)?;
    if config.platform != platform {
        return Err(SourceError::Config {
            platform,
            message: format!("the API configuration given is for {}", config.platform),
        });
    }
    #[allow(unreachable_patterns, unused_variables)]
    match platform {
        #[cfg(feature = "tiktok")]
        Platform::TikTok => Ok(Box::new(
            crate::tiktok::api::TikTokApi::new(config)?.with_sleeper(sleeper),
        )),
        #[cfg(feature = "x")]
        Platform::X => Ok(Box::new(
            crate::x::api::XApi::new(config)?.with_sleeper(sleeper),
        )),
        #[cfg(feature = "instagram")]
        Platform::Instagram => Ok(Box::new(
            crate::instagram::api::InstagramApi::new(config)?.with_sleeper(sleeper),
        )),
        other => Err(SourceError::FeatureDisabled {
            platform: other,
            feature: crate::registry::feature_of(other),
        }),
    }
}
