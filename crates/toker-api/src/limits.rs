//! Protective limits: a per-key rate limit, a per-request timeout whose answer never
//! contradicts the database, and a bounded pool for CPU-heavy work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{Problem, ProblemKind};

/// A token bucket per key: `per_minute` requests in a burst, refilled continuously at
/// `per_minute` per minute. Memory is one small entry per key that made a request.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: Option<u32>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub(crate) fn new(per_minute: Option<u32>) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; when none is left, the whole seconds until one is.
    pub(crate) fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let Some(per_minute) = self.per_minute else {
            return Ok(());
        };
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            // A float in (0, 60]; the cast cannot truncate anything that matters.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Err(wait.ceil().max(1.0) as u64)
        }
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
        let limiter = RateLimiter::new(Some(2));
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
    fn no_limit_allows_everything() {
        let limiter = RateLimiter::new(None);
        for _ in 0..1000 {
            assert_eq!(limiter.check("k"), Ok(()));
        }
    }
}
