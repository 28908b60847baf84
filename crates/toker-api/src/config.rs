//! The server's settings: where to listen, which database, and the protective limits.

use std::time::Duration;

use toker_model::DEFAULT_MIN_LIKES;

use crate::ApiError;
use crate::connect::ConnectConfig;

/// The default [`ServeConfig::auth_failures_per_minute`].
pub(crate) const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 30;

/// Everything `toker serve` configures. [`ServeConfig::default`] is a safe local setup:
/// `127.0.0.1:8080`, `./toker.db`, no CORS, 1 MiB bodies, 600 requests per minute per key,
/// 30 failed sign-ins per minute per client address, 30 s per request, 100 likes minimum,
/// 10 s to send a request's head, 60 s idle connections, at most 1,024 connections (fewer
/// if the open-files limit needs it), heavy request work on as many threads as cores.
#[derive(Debug, Clone, PartialEq)]
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
    /// Failed sign-ins (missing, malformed, unknown or wrong key or session) per minute
    /// allowed per client address (a token bucket); beyond it the address gets 429 with
    /// `Retry-After` before any database work, except for credentials this server already
    /// verified. `None` disables the limit.
    pub auth_failures_per_minute: Option<u32>,
    /// A request header that carries the client's address, set by a reverse proxy in front
    /// of the server (e.g. `x-forwarded-for`, `x-real-ip`); its last address is the client
    /// the per-address limits meter. Set it only when every request comes through that
    /// proxy (clients could send it themselves otherwise). `None`: the peer's address.
    pub client_ip_header: Option<String>,
    /// The longest a request may take before it is answered with 503 (`POST /v1/vectorize`
    /// is exempt: a refit takes as long as the corpus needs).
    pub request_timeout: Duration,
    /// The least `number_of_likes` a profile needs to be stored (the CLI's `--min-likes`).
    pub min_likes: u64,
    /// Database connections kept open; `None` picks 4 for SQLite files and PostgreSQL
    /// (1 for `:memory:`, whose connections would each see a different database).
    pub pool_size: Option<usize>,
    /// How often the cached match index checks whether the stored vocabulary or vectors
    /// changed through another process (a `toker vectorize`, a profile written or deleted
    /// by another replica or a worker); a refit or a profile write through this process's
    /// API is seen at once.
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
    /// The longest a client may take to send a request's head (request line and headers):
    /// counted from the connection's opening for its first request and from the first byte
    /// for later ones. A connection that has not sent a whole head by then is closed.
    pub header_read_timeout: Duration,
    /// The longest a connection may stay open with no request in progress (waiting for
    /// the next request, or a client that stopped reading its response) before it is closed.
    pub idle_timeout: Duration,
    /// The most connections served at once; beyond it new connections are answered 503
    /// and closed at once, while the open ones keep being served. Lowered when the
    /// process's open-files limit (`ulimit -n`) minus [`ServeConfig::fd_reserve`] is smaller.
    pub max_connections: usize,
    /// File descriptors never given to client connections: the database, upload spool
    /// files and requests to the platforms need them even when the connection cap is reached.
    pub fd_reserve: usize,
    /// Job slots run inside the server (refreshes and refits queued by requests, see
    /// [`crate::jobs`]); `None` picks 1, or 0 for `:memory:` (a worker's own connections
    /// would each see another database). 0 leaves the queue to `toker worker` processes.
    pub workers: Option<usize>,
    /// Whether the rate limits hold for all the processes on the database together
    /// (counted in it every second by each process) rather than for each process;
    /// `None` shares them on PostgreSQL, where replicas run, and not on SQLite.
    pub shared_limits: Option<bool>,
    /// How often every OAuth-connected account is refreshed by the workers (each run
    /// planned in the job table when the last one ends, within ±10 % of it); zero plans
    /// no refreshes (a person's own still run).
    pub refresh_period: Duration,
    /// The drift (the share of profiles written since the vocabulary was fitted, see
    /// `toker_store::Stats::drift`) past which the planner of schedules queues a refit as
    /// a job; `None` never does (refits are then only asked for).
    pub refit_drift: Option<f64>,
    /// Whether `GET /metrics` answers without a key (for a scraper on a private network;
    /// limited per client address then); `false` (the default) asks for an admin key.
    pub metrics_open: bool,
}

/// The most [`ServeConfig::workers`] accepted.
pub(crate) const MAX_WORKERS: usize = 64;

/// The largest [`ServeConfig::max_connections`] accepted.
pub(crate) const MAX_CONNECTIONS_CEILING: usize = 1_000_000;

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: "127.0.0.1:8080".to_owned(),
            database_url: "./toker.db".to_owned(),
            cors_origins: Vec::new(),
            body_limit: 1024 * 1024,
            rate_limit_per_minute: Some(600),
            auth_failures_per_minute: Some(DEFAULT_AUTH_FAILURES_PER_MINUTE),
            client_ip_header: None,
            request_timeout: Duration::from_secs(30),
            min_likes: DEFAULT_MIN_LIKES,
            pool_size: None,
            match_refresh: Duration::from_secs(2),
            cpu_jobs: None,
            cpu_wait: Duration::from_secs(5),
            connect: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            fd_reserve: 128,
            workers: None,
            shared_limits: None,
            refresh_period: Duration::from_secs(24 * 3600),
            refit_drift: Some(toker_store::REFIT_ADVISED_DRIFT),
            metrics_open: false,
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
        if self.auth_failures_per_minute == Some(0) {
            return bad(
                "auth_failures_per_minute",
                "must be at least 1 (or unset to disable the limit)",
            );
        }
        if let Some(name) = &self.client_ip_header {
            if axum::http::HeaderName::from_bytes(name.trim().as_bytes()).is_err() {
                return Err(ApiError::Config {
                    field: "client_ip_header",
                    message: format!("{name:?} is not a header name"),
                });
            }
        }
        if self.refit_drift.is_some_and(|d| !(d > 0.0 && d <= 1.0)) {
            return bad(
                "refit_drift",
                "must be a share above 0 and at most 1 (or unset for no automatic refit)",
            );
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be longer than zero");
        }
        if self.header_read_timeout.is_zero() {
            return bad("header_read_timeout", "must be longer than zero");
        }
        if self.idle_timeout.is_zero() {
            return bad("idle_timeout", "must be longer than zero");
        }
        if !(1..=MAX_CONNECTIONS_CEILING).contains(&self.max_connections) {
            return bad("max_connections", "must be between 1 and 1000000");
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
        if self.workers.is_some_and(|n| n > 0) && self.database_url.trim() == ":memory:" {
            return bad(
                "workers",
                "must be 0 for a :memory: database (a worker's connections would each see \
                 another database)",
            );
        }
        if self.workers.is_some_and(|n| n > MAX_WORKERS) {
            return bad("workers", "must be at most 64");
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

    /// The trusted client address header, if one is configured (and valid).
    #[must_use]
    pub(crate) fn client_ip_header(&self) -> Option<axum::http::HeaderName> {
        self.client_ip_header
            .as_deref()
            .and_then(|n| axum::http::HeaderName::from_bytes(n.trim().as_bytes()).ok())
    }

    /// How many requests may do CPU-heavy work at once: `cpu_jobs`, else the cores.
    #[must_use]
    pub fn effective_cpu_jobs(&self) -> usize {
        self.cpu_jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        })
    }

    /// The job slots to run in the server.
    #[must_use]
    pub fn effective_workers(&self) -> usize {
        match self.workers {
            Some(n) => n,
            None if self.database_url.trim() == ":memory:" => 0,
            None => 1,
        }
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
        let err = ServeConfig {
            client_ip_header: Some("x forwarded".into()),
            ..ServeConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("client_ip_header"), "{err}");
        let proxied = ServeConfig {
            client_ip_header: Some(" X-Real-IP ".into()),
            ..ServeConfig::default()
        };
        assert!(proxied.validate().is_ok());
        assert_eq!(proxied.client_ip_header().unwrap().as_str(), "x-real-ip");
        for (config, field) in [
            (
                ServeConfig {
                    header_read_timeout: Duration::ZERO,
                    ..ServeConfig::default()
                },
                "header_read_timeout",
            ),
            (
                ServeConfig {
                    idle_timeout: Duration::ZERO,
                    ..ServeConfig::default()
                },
                "idle_timeout",
            ),
            (
                ServeConfig {
                    max_connections: 0,
                    ..ServeConfig::default()
                },
                "max_connections",
            ),
        ] {
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
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
