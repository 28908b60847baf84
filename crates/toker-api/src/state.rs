//! What every handler shares: the database pool, the validation rules, the key cache, the
//! rate limiter, the cached match index and the numbers `/metrics` tells.

use std::sync::Arc;

use toker_model::ValidationRules;
use toker_sources::http::TokioSleeper;
use toker_store::Store;
use tokio::sync::Notify;

use crate::ApiError;
use crate::auth::Principal;
use crate::config::ServeConfig;
use crate::connect::{ConnectConfig, Connector};
use crate::keys::{Role, VerifiedKeys};
use crate::limits::{CpuPool, Deadline, RateLimiter, UploadGate};
use crate::matches::MatchCache;
use crate::metrics::{CountingSleeper, Metrics};
use crate::pool::StorePool;
use crate::problem::Problem;

/// Scrapes per minute an open `/metrics` answers per client address (a scraper asks a few
/// times a minute).
const METRICS_OPEN_PER_MINUTE: u32 = 60;

/// The shared state of the API: cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: ServeConfig,
    pool: StorePool,
    rules: ValidationRules,
    keys: Arc<VerifiedKeys>,
    rate_limiter: RateLimiter,
    auth_failures: RateLimiter,
    connect_limiter: RateLimiter,
    upload_limiter: RateLimiter,
    uploads: UploadGate,
    cpu: CpuPool,
    matches: MatchCache,
    connector: Connector,
    /// Wakes the in-process worker when a request queued a job.
    jobs_queued: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// Scrapes of an open `/metrics` per client address.
    metrics_limiter: RateLimiter,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pool", &self.inner.pool)
            .field("rules", &self.inner.rules)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the database pool for `config` (running migrations). Blocks: call it before
    /// the runtime starts or inside `spawn_blocking` ([`crate::serve`] does).
    ///
    /// # Errors
    /// [`ApiError::Config`] for an unusable setting, [`ApiError::Store`] if the database
    /// cannot be opened.
    pub fn open(mut config: ServeConfig) -> Result<Self, ApiError> {
        if config.connect.is_none() {
            config.connect = Some(ConnectConfig::from_env()?);
        }
        config.validate()?;
        let pool = StorePool::open(&config.database_url, config.effective_pool_size())?;
        Ok(AppState::with_pool(config, pool))
    }

    /// State over an already open pool (`config.connect` `None` leaves connecting disabled
    /// here; [`AppState::open`] reads it from the environment).
    #[must_use]
    pub fn with_pool(config: ServeConfig, pool: StorePool) -> Self {
        let connect = config.connect.clone().unwrap_or_default();
        let metrics = Arc::new(Metrics::default());
        let sleeper = Arc::new(CountingSleeper {
            inner: Arc::new(TokioSleeper),
            metrics: Arc::clone(&metrics),
        });
        AppState {
            inner: Arc::new(Inner {
                connector: Connector::new(&connect, &config.bind, sleeper)
                    .with_budget(pool.clone()),
                rules: ValidationRules::with_min_likes(config.min_likes),
                rate_limiter: RateLimiter::new("key", config.rate_limit_per_minute),
                auth_failures: RateLimiter::new("auth-failures", config.auth_failures_per_minute),
                connect_limiter: RateLimiter::new("connect", connect.rate_limit_per_minute),
                upload_limiter: RateLimiter::new("upload", connect.upload_rate_limit_per_minute),
                uploads: UploadGate::new(
                    connect.max_concurrent_uploads.max(1),
                    connect.upload_spool_limit,
                ),
                cpu: CpuPool::new(config.effective_cpu_jobs(), config.cpu_wait),
                matches: MatchCache::new(config.match_refresh),
                keys: Arc::new(VerifiedKeys::default()),
                jobs_queued: Arc::new(Notify::new()),
                metrics,
                metrics_limiter: RateLimiter::new("metrics", Some(METRICS_OPEN_PER_MINUTE)),
                pool,
                config,
            }),
        }
    }

    /// What an in-process worker waits on between polls: notified when a request queues
    /// a job.
    #[must_use]
    pub fn jobs_queued(&self) -> &Arc<Notify> {
        &self.inner.jobs_queued
    }

    /// The configuration the state was opened with.
    #[must_use]
    pub fn config(&self) -> &ServeConfig {
        &self.inner.config
    }

    /// The pool of store connections that handlers borrow from.
    #[must_use]
    pub fn pool(&self) -> &StorePool {
        &self.inner.pool
    }

    /// The validation rules every incoming profile is judged by.
    #[must_use]
    pub fn rules(&self) -> &ValidationRules {
        &self.inner.rules
    }

    pub(crate) fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.rate_limiter
    }

    /// Failed sign-ins per client address.
    pub(crate) fn auth_failures(&self) -> &RateLimiter {
        &self.inner.auth_failures
    }

    /// Connect starts and callbacks per client address.
    pub(crate) fn connect_limiter(&self) -> &RateLimiter {
        &self.inner.connect_limiter
    }

    /// Export uploads per client address.
    /// The limits shared with the other processes on the database
    /// ([`crate::limits::spawn_sync`]).
    pub(crate) fn limiters(&self) -> [&RateLimiter; 5] {
        [
            &self.inner.rate_limiter,
            &self.inner.auth_failures,
            &self.inner.connect_limiter,
            &self.inner.upload_limiter,
            &self.inner.metrics_limiter,
        ]
    }

    pub(crate) fn upload_limiter(&self) -> &RateLimiter {
        &self.inner.upload_limiter
    }

    /// Export uploads at once, and their spooled bytes.
    pub(crate) fn uploads(&self) -> &UploadGate {
        &self.inner.uploads
    }

    /// The verified keys and sessions (and the Argon2 run count).
    pub(crate) fn keys(&self) -> &VerifiedKeys {
        &self.inner.keys
    }

    /// What `/metrics` tells.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Scrapes of an open `/metrics` per client address.
    pub(crate) fn metrics_limiter(&self) -> &RateLimiter {
        &self.inner.metrics_limiter
    }

    pub(crate) fn matches(&self) -> &MatchCache {
        &self.inner.matches
    }

    /// The connect flow: key, enabled platforms, settings.
    pub(crate) fn connector(&self) -> &Connector {
        &self.inner.connector
    }

    /// Runs blocking database work on a pooled connection (see [`StorePool::run`]).
    ///
    /// Under the request timeout, the work does not start once the deadline has passed,
    /// and its writes commit only while the request has not been answered
    /// ([`Deadline::may_commit`]); otherwise they roll back.
    pub(crate) async fn db<T, F>(&self, work: F) -> Result<T, Problem>
    where
        F: FnOnce(&mut Store) -> Result<T, Problem> + Send + 'static,
        T: Send + 'static,
    {
        let Some(deadline) = Deadline::current() else {
            return self.inner.pool.run(work).await;
        };
        deadline.check_open()?;
        self.inner
            .pool
            .run(move |store| {
                let guard = Arc::clone(&deadline);
                toker_store::with_commit_guard(move || guard.may_commit(), || work(store))
            })
            .await
    }

    /// Runs CPU-heavy work (parsing, validating, cleaning, importing) on a blocking
    /// thread, at most [`ServeConfig::cpu_jobs`] at once (see [`CpuPool::run`]).
    pub(crate) async fn cpu<T, F>(&self, work: F) -> Result<T, Problem>
    where
        F: FnOnce() -> Result<T, Problem> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.cpu.run(work).await
    }

    /// The principal of a key, or `None` if the key is unknown, revoked or wrong (each
    /// costs the same Argon2 run; see [`VerifiedKeys`]).
    pub(crate) async fn verify_key(
        &self,
        key_id: String,
        secret: String,
    ) -> Result<Option<Principal>, Problem> {
        let keys = Arc::clone(&self.inner.keys);
        self.db(move |store| {
            let record = store.get_api_key(&key_id)?;
            let right = keys.verify(record.as_ref(), &secret);
            let Some(record) = record.filter(|r| right && r.revoked_at.is_none()) else {
                return Ok(None);
            };
            let Ok(role) = record.role.parse::<Role>() else {
                tracing::error!(key_id = %record.key_id, "stored api key has an unknown role");
                return Ok(None);
            };
            Ok(Some(Principal {
                key_id: record.key_id,
                role,
            }))
        })
        .await
    }
}
