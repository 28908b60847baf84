//! Protective limits: a per-key rate limit and a per-request timeout.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// Answers 503 (problem+json) when the rest of the stack takes longer than the timeout.
/// Database work already started in a blocking task finishes in the background.
pub(crate) async fn timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            ProblemKind::Timeout,
            format!(
                "the request took longer than the server's limit of {} ms",
                limit.as_millis()
            ),
        )
        .into_response(),
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
