//! The server's settings: where to listen, which database, and the protective limits.

use std::time::Duration;

use toker_model::DEFAULT_MIN_LIKES;

use crate::ApiError;
use crate::connect::ConnectConfig;

/// Everything `toker serve` configures. [`ServeConfig::default`] is a safe local setup:
/// `127.0.0.1:8080`, `./toker.db`, no CORS, 1 MiB bodies, 600 requests per minute per key,
/// 30 s per request, 100 likes minimum, heavy request work on as many threads as cores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The socket address to listen on, e.g. `127.0.0.1:8080` (`:0` picks a free port).
    pub bind: String,
    /// The database URL or path, as `Store::open` reads it.
    pub database_url: String,
    /// Browser origins allowed to call the API (CORS), e.g. `https://app.example`; empty
    /// sends no CORS headers, `*` allows any origin.
    pub cors_origins: Vec<String>,
    /// The largest request body accepted, in bytes; larger bodies get 413.
    pub body_limit: usize,
    /// Requests per minute allowed per API key (a token bucket of this size, refilled
    /// continuously); `None` disables the limit. Beyond it: 429 with `Retry-After`.
    pub rate_limit_per_minute: Option<u32>,
    /// The longest a request may take before it is answered with 503 (`POST /v1/vectorize`
    /// is exempt: a refit takes as long as the corpus needs).
    pub request_timeout: Duration,
    /// The least `number_of_likes` a profile needs to be stored (the CLI's `--min-likes`).
    pub min_likes: u64,
    /// Database connections kept open; `None` picks 4 for SQLite files and PostgreSQL
    /// (1 for `:memory:`, whose connections would each see a different database).
    pub pool_size: Option<usize>,
    /// How often the cached match index checks whether the stored vocabulary changed (a
    /// `toker vectorize` run by another process); a refit through the API is seen at once.
    pub match_refresh: Duration,
    /// How many requests may do CPU-heavy work (parsing, validating and cleaning a body,
    /// importing an export) at once, on threads apart from those that answer requests;
    /// `None` picks the number of CPU cores.
    pub cpu_jobs: Option<usize>,
    /// How long a request waits for a free slot of `cpu_jobs` before it is answered 503
    /// with `Retry-After`.
    pub cpu_wait: Duration,
    /// Connecting social accounts (`/v1/connect`, `/v1/me`): the key that seals platform
    /// tokens, the platforms' app credentials, limits. `None` reads them from the
    /// environment when the state opens (`TOKER_SECRET_KEY`, `TOKER_CONNECT_*`; see
    /// [`ConnectConfig::from_env`]); without a key connecting is disabled.
    pub connect: Option<ConnectConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: "127.0.0.1:8080".to_owned(),
            database_url: "./toker.db".to_owned(),
            cors_origins: Vec::new(),
            body_limit: 1024 * 1024,
            rate_limit_per_minute: Some(600),
            request_timeout: Duration::from_secs(30),
            min_likes: DEFAULT_MIN_LIKES,
            pool_size: None,
            match_refresh: Duration::from_secs(5),
            cpu_jobs: None,
            cpu_wait: Duration::from_secs(5),
            connect: None,
        }
    }
}

impl ServeConfig {
    /// A default configuration over `database_url`.
    #[must_use]
    pub fn for_database(database_url: impl Into<String>) -> Self {
        ServeConfig {
            database_url: database_url.into(),
            ..ServeConfig::default()
        }
    }

    /// Checks that every setting is usable.
    ///
    /// # Errors
    /// [`ApiError::Config`] naming the first setting out of range.
    pub fn validate(&self) -> Result<(), ApiError> {
        let bad = |field, message: &str| {
            Err(ApiError::Config {
                field,
                message: message.to_owned(),
            })
        };
        if self.body_limit == 0 {
            return bad("body_limit", "must be at least 1 byte");
        }
        if self.rate_limit_per_minute == Some(0) {
            return bad(
                "rate_limit_per_minute",
                "must be at least 1 (or unset to disable the limit)",
            );
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be longer than zero");
        }
        if let Some(connect) = &self.connect {
            connect.validate()?;
        }
        if self.cpu_jobs == Some(0) {
            return bad(
                "cpu_jobs",
                "must be at least 1 (or unset for the number of cores)",
            );
        }
        if self.pool_size == Some(0) {
            return bad("pool_size", "must be at least 1 connection");
        }
        for origin in &self.cors_origins {
            if origin != "*" && axum::http::HeaderValue::from_str(origin).is_err() {
                return Err(ApiError::Config {
                    field: "cors_origins",
                    message: format!("{origin:?} is not a valid origin"),
                });
            }
        }
        Ok(())
    }

    /// How many requests may do CPU-heavy work at once: `cpu_jobs`, else the cores.
    #[must_use]
    pub fn effective_cpu_jobs(&self) -> usize {
        self.cpu_jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        })
    }

    /// The pool size to use for this database.
    #[must_use]
    pub fn effective_pool_size(&self) -> usize {
        match self.pool_size {
            Some(n) => n,
            None if self.database_url.trim() == ":memory:" => 1,
            None => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_limits_are_not() {
        assert!(ServeConfig::default().validate().is_ok());
        let err = ServeConfig {
            body_limit: 0,
            ..ServeConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("body_limit"), "{err}");
        let err = ServeConfig {
            cors_origins: vec!["bad\norigin".into()],
            ..ServeConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("cors_origins"), "{err}");
    }

    #[test]
    fn in_memory_databases_get_one_connection() {
        assert_eq!(
            ServeConfig::for_database(":memory:").effective_pool_size(),
            1
        );
        assert_eq!(ServeConfig::for_database("a.db").effective_pool_size(), 4);
    }
}
