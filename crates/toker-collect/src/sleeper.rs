//! Rate-limit and backoff waits that tell someone how long is left.

use std::time::Duration;

use async_trait::async_trait;
use toker_sources::http::{Sleeper, Wait};

/// A [`Sleeper`] that reports each wait with the time left, once per tick (a second by
/// default) and once more at its end (with zero left), on the tokio clock — so a paused
/// test clock applies and a dropped future (Ctrl-C) ends the wait at once.
///
/// A progress bar, for instance, shows [`describe_wait`] of each report.
pub struct ReportingSleeper<F> {
    report: F,
    tick: Duration,
}

impl<F> std::fmt::Debug for ReportingSleeper<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportingSleeper")
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl<F> ReportingSleeper<F>
where
    F: Fn(&Wait, Duration) + Send + Sync,
{
    /// Reports through `report(wait, time_left)`.
    pub fn new(report: F) -> Self {
        ReportingSleeper {
            report,
            tick: Duration::from_secs(1),
        }
    }

    /// Reports every `tick` instead of every second (at least a millisecond).
    #[must_use]
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick.max(Duration::from_millis(1));
        self
    }
}

#[async_trait]
impl<F> Sleeper for ReportingSleeper<F>
where
    F: Fn(&Wait, Duration) + Send + Sync,
{
    async fn sleep(&self, wait: &Wait) {
        tracing::info!("{wait}");
        let end = tokio::time::Instant::now() + wait.duration;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            (self.report)(wait, left);
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(self.tick)).await;
        }
    }
}

/// `x: rate limited, waiting for the reset: 14 min 30 s left (GET /2/users/me, retry 1)`.
#[must_use]
pub fn describe_wait(wait: &Wait, left: Duration) -> String {
    format!(
        "{}: {}: {} left ({}, retry {})",
        wait.platform,
        wait.reason.describe(),
        human(left),
        wait.endpoint,
        wait.retry
    )
}

/// `2 h 5 min`, `14 min 30 s`, `9 s` (rounded up to the second).
fn human(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use toker_model::Platform;
    use toker_sources::http::WaitReason;

    use super::*;

    fn wait(secs: u64) -> Wait {
        Wait {
            platform: Platform::X,
            endpoint: "GET /2/users/me".to_owned(),
            reason: WaitReason::RateLimit,
            duration: Duration::from_secs(secs),
            retry: 1,
        }
    }

    #[test]
    fn waits_read_as_reason_and_time_left() {
        assert_eq!(
            describe_wait(&wait(901), Duration::from_secs(870)),
            "x: rate limited, waiting for the reset: 14 min 30 s left (GET /2/users/me, retry 1)"
        );
        assert_eq!(human(Duration::from_millis(8_200)), "9 s");
        assert_eq!(human(Duration::from_secs(7_500)), "2 h 5 min");
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_left_is_reported_every_tick_until_zero() {
        let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
        let log = Arc::clone(&seen);
        let sleeper = ReportingSleeper::new(move |_: &Wait, left: Duration| {
            log.lock().unwrap().push(left.as_secs());
        })
        .with_tick(Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        sleeper.sleep(&wait(150)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(150));
        assert_eq!(*seen.lock().unwrap(), [150, 90, 30, 0]);
    }
}
