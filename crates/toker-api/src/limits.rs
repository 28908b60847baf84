//! Protective limits: token-bucket rate limits (per key, and per client address for what
//! is reachable without credentials), the export upload gate (uploads at once and bytes
//! spooled at once), a per-request timeout whose answer never contradicts the database,
//! and a bounded pool for CPU-heavy work.
//!
//! **Across replicas.** Each process meters requests with its own token buckets; with
//! [`ServeConfig::shared_limits`] (on by default for PostgreSQL) the processes on one
//! database also hold each limit for the whole service. Every [`SYNC_EVERY`] a process
//! adds the requests it let through to the current minute's counters in the database
//! (toker-store's `rate_windows`, by a digest of the key or address) and reads the keys
//! over the limit there; a key over it is refused by every process until the minute ends.
//! A replica's own burst is cut by its bucket at once, another replica's after at most one
//! sync, so N replicas let a key through at most the limit plus what N processes pass in
//! one second.
//!
//! [`ServeConfig::shared_limits`]: crate::ServeConfig::shared_limits

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderName};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::ApiError;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// A token bucket per key: `per_minute` requests in a burst, refilled continuously at
/// `per_minute` per minute. Memory is one small entry per key that made a request; past
/// [`MAX_BUCKETS`] keys, buckets that have refilled (the same as no bucket) are dropped.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: Option<u32>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// The name of its counters in the database.
    scope: &'static str,
    /// Whether the limit is shared with the other processes ([`spawn_sync`]).
    sharing: AtomicBool,
    shared: Mutex<Shared>,
}

/// What a limiter shares with the other processes, by key digest.
#[derive(Debug, Default)]
struct Shared {
    /// Requests let through since the last sync.
    pending: HashMap<String, u64>,
    /// Keys over the limit in the whole service, refused until then (Unix seconds).
    blocked: HashMap<String, i64>,
}

/// How often a process adds its counts to the shared ones and learns the keys over.
pub(crate) const SYNC_EVERY: Duration = Duration::from_secs(1);

/// The window of the shared counters: the limits are per minute.
const WINDOW_S: i64 = 60;

/// Most keys a limiter adds to the shared counters per sync (the busiest ones), and most
/// keys over the limit it learns: bounded work and memory under a flood from many
/// addresses, each of which its own bucket still meters.
const MAX_SYNCED: usize = 2_000;

/// How many buckets a limiter keeps before it drops the refilled ones (and, if all are in
/// use, starts over: memory stays bounded under a flood from many addresses).
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens this bucket holds at `now`: what it had, refilled at `per_second` since
    /// it was last touched, at most `capacity`.
    fn refilled(&self, now: Instant, per_second: f64, capacity: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * per_second).min(capacity)
    }
}

impl RateLimiter {
    /// A limiter of `per_minute` requests per key (`None`: unlimited) whose shared
    /// counters are named `scope`.
    pub(crate) fn new(scope: &'static str, per_minute: Option<u32>) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
            scope,
            sharing: AtomicBool::new(false),
            shared: Mutex::new(Shared::default()),
        }
    }

    /// The digest `key` is shared by, when the limit is shared.
    fn digest(&self, key: &str) -> Option<String> {
        self.sharing.load(Ordering::Relaxed).then(|| {
            let hash = Sha256::digest(key.as_bytes());
            hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
        })
    }

    /// The whole seconds until `digest` is let through again, if the service refuses it.
    fn blocked(&self, digest: &str) -> Option<u64> {
        let now = Utc::now().timestamp();
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared
            .blocked
            .get(digest)
            .filter(|until| **until > now)
            .map(|until| (until - now).unsigned_abs())
    }

    /// Counts a request let through, for the next sync.
    fn note(&self, digest: String) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if shared.pending.len() < MAX_BUCKETS || shared.pending.contains_key(&digest) {
            *shared.pending.entry(digest).or_default() += 1;
        }
    }

    /// The counts since the last sync, the busiest first, at most [`MAX_SYNCED`].
    fn drain(&self) -> Vec<(String, u64)> {
        let pending = std::mem::take(
            &mut self
                .shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pending,
        );
        let mut counts: Vec<(String, u64)> = pending.into_iter().collect();
        counts.sort_unstable_by_key(|c| std::cmp::Reverse(c.1));
        counts.truncate(MAX_SYNCED);
        counts
    }

    /// Refuses `digests` until `until` (Unix seconds); forgets the refusals that ended.
    fn block(&self, digests: Vec<String>, until: i64) {
        let now = Utc::now().timestamp();
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.blocked.retain(|_, u| *u > now);
        for digest in digests {
            shared.blocked.insert(digest, until);
        }
    }

    /// Takes one token for `key`; when none is left, the whole seconds until one is.
    pub(crate) fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    /// Whether `key` has a token left, without taking it; when none is, the whole seconds
    /// until one is.
    pub(crate) fn peek(&self, key: &str) -> Result<(), u64> {
        self.peek_at(key, Instant::now())
    }

    fn peek_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let Some(per_minute) = self.per_minute else {
            return Ok(());
        };
        if let Some(wait) = self.digest(key).and_then(|d| self.blocked(&d)) {
            return Err(wait);
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bucket) = buckets.get(key) else {
            return Ok(());
        };
        let tokens = bucket.refilled(now, per_second, capacity);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(seconds_until_one(tokens, per_second))
        }
    }

    /// Drops the buckets that have refilled by `now`; if none has, all of them.
    fn prune(buckets: &mut HashMap<String, Bucket>, per_second: f64, capacity: f64, now: Instant) {
        buckets.retain(|_, b| b.refilled(now, per_second, capacity) < capacity);
        if buckets.len() >= MAX_BUCKETS {
            buckets.clear();
        }
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let Some(per_minute) = self.per_minute else {
            return Ok(());
        };
        let digest = self.digest(key);
        if let Some(wait) = digest.as_deref().and_then(|d| self.blocked(d)) {
            return Err(wait);
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            Self::prune(&mut buckets, per_second, capacity, now);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens = bucket.refilled(now, per_second, capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            drop(buckets);
            if let Some(digest) = digest {
                self.note(digest);
            }
            Ok(())
        } else {
            Err(seconds_until_one(bucket.tokens, per_second))
        }
    }
}

/// Adds every shared limiter's counts to the database's and refuses the keys the whole
/// service has let through up to the limit this minute.
///
/// # Errors
/// [`ApiError`] when the database cannot be written or read (the counts of that sync are
/// lost; the buckets still hold each process's share).
pub(crate) async fn sync_shared(state: &AppState) -> Result<(), ApiError> {
    let now = Utc::now().timestamp();
    let window = now - now.rem_euclid(WINDOW_S);
    for limiter in state.limiters() {
        let Some(limit) = limiter.per_minute else {
            continue;
        };
        let counts = limiter.drain();
        let scope = limiter.scope;
        let over = state
            .pool()
            .run(move |store| {
                if !counts.is_empty() {
                    store.add_rate_counts(scope, window, &counts)?;
                }
                #[allow(clippy::cast_possible_truncation)] // MAX_SYNCED fits
                store
                    .rate_keys_over(scope, window, u64::from(limit), MAX_SYNCED as u32)
                    .map_err(ApiError::from)
            })
            .await?;
        limiter.block(over, window + WINDOW_S);
    }
    Ok(())
}

/// Shares `state`'s rate limits with the other processes on its database, syncing every
/// [`SYNC_EVERY`] until `stopping` turns true.
pub(crate) fn spawn_sync(state: AppState, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    for limiter in state.limiters() {
        limiter.sharing.store(true, Ordering::Relaxed);
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SYNC_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(error) = sync_shared(&state).await {
                        tracing::warn!(%error, "could not share the rate limits with the other replicas");
                    }
                }
                changed = stopping.changed() => {
                    if changed.is_err() || *stopping.borrow() {
                        break;
                    }
                }
            }
        }
    })
}

/// The whole seconds until a bucket with `tokens` has one again.
fn seconds_until_one(tokens: f64, per_second: f64) -> u64 {
    let wait = (1.0 - tokens) / per_second;
    // A float in (0, 60]; the cast cannot truncate anything that matters.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let wait = wait.ceil().max(1.0) as u64;
    wait
}

/// The client address of a request, as [`client_addresses`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) String);

/// Puts every request's [`ClientAddress`] in its extensions: the last address in the
/// trusted header (`ServeConfig::client_ip_header`, what the nearest reverse proxy saw)
/// when one is configured and present, else the peer's IP address as the server recorded
/// it (`ConnectInfo`, which [`crate::Server`] provides). Without either, every request is
/// one client, `unknown`: never unlimited.
pub(crate) async fn client_addresses(
    State(header): State<Option<HeaderName>>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = header.as_ref().and_then(|name| {
        request
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse::<IpAddr>().ok())
            .next_back()
    });
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let address = forwarded
        .or(peer)
        .map_or_else(|| "unknown".to_owned(), address_key);
    request.extensions_mut().insert(ClientAddress(address));
    next.run(request).await
}

/// How an address is metered: an IPv4 address as it is, an IPv6 address by its /64
/// network (which one client usually holds whole).
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The client address a request is metered by (see [`client_addresses`]).
pub(crate) fn client_address(extensions: &Extensions) -> String {
    extensions
        .get::<ClientAddress>()
        .map_or_else(|| "unknown".to_owned(), |a| a.0.clone())
}

/// Answers 429 (with `Retry-After`) when the client address has used up `limiter`'s
/// budget; `what` names the budget in the answer.
pub(crate) fn check_address(
    limiter: &RateLimiter,
    extensions: &Extensions,
    what: &str,
) -> Result<(), Problem> {
    let client = client_address(extensions);
    limiter.check(&client).map_err(|retry_after| {
        let limit = limiter.per_minute.unwrap_or_default();
        Problem::new(
            ProblemKind::RateLimited,
            format!(
                "this address has used up its {what} for now (the limit is {limit} per minute)"
            ),
        )
        .with_retry_after(retry_after)
    })
}

/// How many export uploads may be received at once, and how many bytes they may hold in
/// temporary files together.
#[derive(Debug)]
pub(crate) struct UploadGate {
    slots: Arc<Semaphore>,
    max_uploads: usize,
    spooled: Arc<AtomicU64>,
    spool_limit: u64,
}

/// One admitted upload: its slot and the spool bytes it holds, given back when dropped.
#[derive(Debug)]
pub(crate) struct UploadTicket {
    _slot: OwnedSemaphorePermit,
    spooled: Arc<AtomicU64>,
    spool_limit: u64,
    held: u64,
}

/// Seconds a refused upload is told to wait.
const UPLOAD_RETRY_AFTER: u64 = 5;

impl UploadGate {
    pub(crate) fn new(max_uploads: usize, spool_limit: u64) -> Self {
        UploadGate {
            slots: Arc::new(Semaphore::new(max_uploads)),
            max_uploads,
            spooled: Arc::new(AtomicU64::new(0)),
            spool_limit,
        }
    }

    /// A slot for one upload, or 503 naming the limit when all are taken.
    pub(crate) fn admit(&self) -> Result<UploadTicket, Problem> {
        let slot = Arc::clone(&self.slots).try_acquire_owned().map_err(|_| {
            Problem::new(
                ProblemKind::Unavailable,
                format!(
                    "the server is receiving as many export uploads as it takes at once ({}); try again shortly",
                    self.max_uploads
                ),
            )
            .with_retry_after(UPLOAD_RETRY_AFTER)
        })?;
        Ok(UploadTicket {
            _slot: slot,
            spooled: Arc::clone(&self.spooled),
            spool_limit: self.spool_limit,
            held: 0,
        })
    }

    /// Bytes held in temporary files by the uploads in progress.
    #[cfg(test)]
    pub(crate) fn spooled(&self) -> u64 {
        self.spooled.load(Ordering::Relaxed)
    }
}

impl UploadTicket {
    /// Reserves `bytes` more of the spool for this upload, or 503 naming the budget when
    /// the uploads in progress hold too much already.
    pub(crate) fn reserve(&mut self, bytes: u64) -> Result<(), Problem> {
        let limit = self.spool_limit;
        let reserved = self
            .spooled
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= limit)
            });
        if reserved.is_err() {
            return Err(Problem::new(
                ProblemKind::Unavailable,
                format!(
                    "the uploads in progress hold the server's upload spool budget of {limit} bytes; try again shortly"
                ),
            )
            .with_retry_after(UPLOAD_RETRY_AFTER));
        }
        self.held += bytes;
        Ok(())
    }
}

impl Drop for UploadTicket {
    fn drop(&mut self) {
        self.spooled.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// Bounds CPU-heavy work (parsing, validating and cleaning bodies, importing exports): it
/// runs on blocking threads, never on the async runtime's, and at most `jobs` at once.
/// A job that finds every slot taken waits up to `wait`, then is answered 503 with
/// `Retry-After`. A slot is held until the work ends, even if its request was answered
/// (timed out) before.
#[derive(Debug)]
pub(crate) struct CpuPool {
    permits: Arc<Semaphore>,
    jobs: usize,
    wait: Duration,
}

impl CpuPool {
    pub(crate) fn new(jobs: usize, wait: Duration) -> Self {
        let jobs = jobs.max(1);
        CpuPool {
            permits: Arc::new(Semaphore::new(jobs)),
            jobs,
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a slot is free.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, Problem>
    where
        F: FnOnce() -> Result<T, Problem> + Send + 'static,
        T: Send + 'static,
    {
        let acquire = Arc::clone(&self.permits).acquire_owned();
        let permit = match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(closed)) => return Err(crate::error::internal(&closed)),
            Err(_) => {
                return Err(Problem::new(
                    ProblemKind::Unavailable,
                    format!(
                        "the server is busy: all {} slots for heavy request work (cpu_jobs) stayed taken for {} ms (cpu_wait); retry shortly",
                        self.jobs,
                        self.wait.as_millis()
                    ),
                )
                .with_retry_after(1));
            }
        };
        let joined = tokio::task::spawn_blocking(move || {
            let _slot = permit;
            work()
        })
        .await;
        joined.map_err(|e| crate::error::internal(&e))?
    }
}

tokio::task_local! {
    /// The deadline of the request being handled (set by [`timeout`]).
    static DEADLINE: Arc<Deadline>;
}

/// A request's deadline, shared by the timeout and the request's database work, so that
/// exactly one of them wins: either a write commits first (then the request runs to its
/// own answer), or the timeout answers first (then no write of the request commits).
#[derive(Debug)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
    phase: Mutex<Phase>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing committed, not answered.
    Open,
    /// A write committed: the request must answer what it did.
    Committed,
    /// The timeout answered: nothing may commit any more.
    Answered,
}

impl Deadline {
    fn new(limit: Duration) -> Self {
        Deadline {
            at: Instant::now() + limit,
            limit,
            phase: Mutex::new(Phase::Open),
        }
    }

    /// The deadline of the request being handled, if it has one.
    pub(crate) fn current() -> Option<Arc<Deadline>> {
        DEADLINE.try_with(Arc::clone).ok()
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asked right before a write commits: `Ok` lets it commit (and from then on the
    /// request is answered by its handler, however long it takes).
    pub(crate) fn may_commit(&self) -> Result<(), String> {
        let mut phase = self.phase();
        match *phase {
            Phase::Committed => Ok(()),
            Phase::Answered => Err(self.passed_reason()),
            Phase::Open if Instant::now() >= self.at => Err(self.passed_reason()),
            Phase::Open => {
                *phase = Phase::Committed;
                Ok(())
            }
        }
    }

    /// Whether new database work may still start: not once the deadline passed with
    /// nothing committed.
    pub(crate) fn check_open(&self) -> Result<(), Problem> {
        let phase = *self.phase();
        match phase {
            Phase::Committed => Ok(()),
            Phase::Open if Instant::now() < self.at => Ok(()),
            _ => Err(self.problem()),
        }
    }

    /// Called by the timeout when the deadline passes: `true` if the request may be
    /// answered 503 now (nothing committed; nothing will).
    fn expire(&self) -> bool {
        let mut phase = self.phase();
        match *phase {
            Phase::Committed => false,
            Phase::Open | Phase::Answered => {
                *phase = Phase::Answered;
                true
            }
        }
    }

    fn passed_reason(&self) -> String {
        format!(
            "the request passed the server's limit of {} ms",
            self.limit.as_millis()
        )
    }

    /// The answer to a request past its deadline.
    pub(crate) fn problem(&self) -> Problem {
        timeout_problem(self.limit)
    }
}

fn timeout_problem(limit: Duration) -> Problem {
    Problem::new(
        ProblemKind::Timeout,
        format!(
            "the request took longer than the server's limit of {} ms; nothing was changed",
            limit.as_millis()
        ),
    )
}

/// Answers 503 (problem+json) when the rest of the stack takes longer than the timeout,
/// unless a write of the request already committed: then the request's own answer is
/// awaited, so that an error answer always means that nothing changed. Database work
/// still running when the 503 goes out is rolled back at its commit ([`Deadline`]).
pub(crate) async fn timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let deadline = Arc::new(Deadline::new(limit));
    let handler = DEADLINE.scope(Arc::clone(&deadline), next.run(request));
    tokio::pin!(handler);
    tokio::select! {
        response = &mut handler => response,
        () = tokio::time::sleep(limit) => {
            if deadline.expire() {
                timeout_problem(limit).into_response()
            } else {
                handler.await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_when_to_retry() {
        let limiter = RateLimiter::new("test", Some(2));
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("k", t0), Ok(()));
        assert_eq!(limiter.check_at("k", t0), Ok(()));
        assert_eq!(limiter.check_at("k", t0), Err(30));
        // Another key has its own bucket.
        assert_eq!(limiter.check_at("other", t0), Ok(()));
        // Half a minute later one token is back.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(limiter.check_at("k", t1), Ok(()));
        assert!(limiter.check_at("k", t1).is_err());
    }

    #[tokio::test]
    async fn requests_over_the_timeout_get_a_503_problem() {
        use axum::Router;
        use axum::middleware::from_fn_with_state;
        use axum::routing::get;
        use tower::ServiceExt;

        let app = Router::new()
            .route("/slow", get(std::future::pending::<&'static str>))
            .route("/fast", get(|| async { "done" }))
            .layer(from_fn_with_state(Duration::from_millis(20), timeout));
        let request = |uri| Request::builder().uri(uri).body(axum::body::Body::empty());
        let slow = app
            .clone()
            .oneshot(request("/slow").unwrap())
            .await
            .unwrap();
        assert_eq!(slow.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(crate::problem::is_problem(&slow));
        let fast = app.oneshot(request("/fast").unwrap()).await.unwrap();
        assert_eq!(fast.status(), axum::http::StatusCode::OK);
    }

    #[test]
    fn peeking_takes_nothing_and_refilled_buckets_are_dropped_under_pressure() {
        let limiter = RateLimiter::new("test", Some(1));
        let t0 = Instant::now();
        assert_eq!(limiter.peek_at("k", t0), Ok(()));
        assert_eq!(limiter.check_at("k", t0), Ok(()));
        assert_eq!(limiter.peek_at("k", t0), Err(60));
        assert_eq!(limiter.peek_at("k", t0), Err(60), "peeking takes no token");
        let mut buckets = HashMap::new();
        buckets.insert(
            "full".to_owned(),
            Bucket {
                tokens: 1.0,
                at: t0,
            },
        );
        buckets.insert(
            "empty".to_owned(),
            Bucket {
                tokens: 0.0,
                at: t0,
            },
        );
        RateLimiter::prune(&mut buckets, 1.0 / 60.0, 1.0, t0);
        assert!(buckets.contains_key("empty") && !buckets.contains_key("full"));
    }

    #[test]
    fn the_upload_gate_counts_slots_and_spooled_bytes() {
        let gate = UploadGate::new(2, 100);
        let mut a = gate.admit().unwrap();
        let mut b = gate.admit().unwrap();
        let full = gate.admit().unwrap_err();
        assert_eq!(full.kind, ProblemKind::Unavailable);
        assert!(full.detail.contains("(2)"), "{}", full.detail);
        a.reserve(60).unwrap();
        let over = b.reserve(41).unwrap_err();
        assert!(over.detail.contains("100 bytes"), "{}", over.detail);
        b.reserve(40).unwrap();
        assert_eq!(gate.spooled(), 100);
        drop(a);
        assert_eq!(gate.spooled(), 40, "a finished upload gives its bytes back");
        assert!(gate.admit().is_ok(), "and its slot");
    }

    #[test]
    fn no_limit_allows_everything() {
        let limiter = RateLimiter::new("test", None);
        for _ in 0..1000 {
            assert_eq!(limiter.check("k"), Ok(()));
        }
    }
}
