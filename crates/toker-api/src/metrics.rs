//! What `GET /metrics` tells, in the Prometheus text exposition format 0.0.4: counters and
//! a latency histogram of the requests answered (by matched route template, so that the
//! series stay few), the outcomes of the jobs the in-process workers ran, the platforms'
//! rate-limit and backoff waits, and at scrape time the job table's counts and the pool's
//! connections.
//!
//! Written by hand rather than with a metrics crate: the format is a few lines of text,
//! half of the numbers are read at scrape time (the job table, the pool), and the
//! well-kept `prometheus-client` crate writes OpenMetrics text, not the 0.0.4 format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use toker_collect::jobs::{JobObserver, Outcome};
use toker_model::Platform;
use toker_sources::http::{Sleeper, Wait, WaitReason};
use toker_store::{JobCounts, JobState};

use crate::pool::PoolUsage;

/// The content type of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `route` of a request that matched no route (so that probing paths makes no series).
const UNMATCHED: &str = "unmatched";

/// The upper bounds of the latency histogram's buckets, in seconds (1 ms to 10 s).
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The numbers counted as the server runs; shared by the request layer, the workers'
/// observer and the platform clients' sleeper.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    http: Mutex<BTreeMap<HttpKey, Latencies>>,
    outcomes: Mutex<BTreeMap<(String, Outcome), u64>>,
    waits: Mutex<BTreeMap<(Platform, &'static str), Waited>>,
}

/// A series of requests: the route template, the method and the status.
type HttpKey = (String, &'static str, u16);

#[derive(Debug, Default)]
struct Latencies {
    count: u64,
    sum: f64,
    /// Requests per bucket (not cumulative), the last past every bound.
    buckets: [u64; BUCKETS.len() + 1],
}

#[derive(Debug, Default, Clone, Copy)]
struct Waited {
    count: u64,
    seconds: f64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Metrics {
    /// Counts one answered request.
    pub(crate) fn record_request(&self, route: &str, method: &Method, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        let mut http = lock(&self.http);
        let key = (route.to_owned(), method_label(method), status);
        let series = http.entry(key).or_default();
        series.count += 1;
        series.sum += seconds;
        series.buckets[bucket] += 1;
    }

    fn record_outcome(&self, kind: &str, outcome: Outcome) {
        *lock(&self.outcomes)
            .entry((kind.to_owned(), outcome))
            .or_default() += 1;
    }

    fn record_wait_started(&self, platform: Platform, reason: &'static str) {
        lock(&self.waits)
            .entry((platform, reason))
            .or_default()
            .count += 1;
    }

    fn record_waited(&self, platform: Platform, reason: &'static str, waited: Duration) {
        lock(&self.waits)
            .entry((platform, reason))
            .or_default()
            .seconds += waited.as_secs_f64();
    }

    /// The exposition: the counted numbers, then `scrape`'s.
    pub(crate) fn render(&self, scrape: &Scrape) -> String {
        let mut out = String::new();
        self.render_http(&mut out);
        self.render_jobs(&mut out, scrape.jobs.as_deref());
        self.render_waits(&mut out);
        render_pool(&mut out, scrape.pool);
        out
    }

    fn render_http(&self, out: &mut String) {
        let http = lock(&self.http);
        header(
            out,
            "toker_http_requests_total",
            "counter",
            "HTTP requests answered, by matched route template, method and status.",
        );
        for ((route, method, status), series) in http.iter() {
            let labels = http_labels(route, method, *status);
            let _ = writeln!(
                out,
                "toker_http_requests_total{{{labels}}} {}",
                series.count
            );
        }
        header(
            out,
            "toker_http_request_duration_seconds",
            "histogram",
            "Time to answer a request (to its response head), by route, method and status.",
        );
        for ((route, method, status), series) in http.iter() {
            let labels = http_labels(route, method, *status);
            let mut cumulative = 0;
            let bounds = BUCKETS
                .iter()
                .map(f64::to_string)
                .chain(["+Inf".to_owned()]);
            for (bound, n) in bounds.zip(series.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "toker_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let name = "toker_http_request_duration_seconds";
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", series.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", series.count);
        }
    }

    fn render_jobs(&self, out: &mut String, jobs: Option<&[(String, JobCounts)]>) {
        header(
            out,
            "toker_jobs_readable",
            "gauge",
            "1 if this scrape could read the job table (toker_jobs is absent otherwise).",
        );
        let _ = writeln!(out, "toker_jobs_readable {}", u8::from(jobs.is_some()));
        header(
            out,
            "toker_jobs",
            "gauge",
            "Jobs in the job table, by kind and state.",
        );
        for (kind, counts) in jobs.unwrap_or_default() {
            for state in JobState::ALL {
                let labels = labels(&[("kind", kind.as_str()), ("state", state.as_str())]);
                let _ = writeln!(out, "toker_jobs{{{labels}}} {}", counts.of(state));
            }
        }
        header(
            out,
            "toker_job_outcomes_total",
            "counter",
            "Job attempts ended by this server's workers, by kind and outcome.",
        );
        for ((kind, outcome), n) in lock(&self.outcomes).iter() {
            let labels = labels(&[("kind", kind.as_str()), ("outcome", outcome.as_str())]);
            let _ = writeln!(out, "toker_job_outcomes_total{{{labels}}} {n}");
        }
    }

    fn render_waits(&self, out: &mut String) {
        let waits = lock(&self.waits);
        header(
            out,
            "toker_platform_waits_total",
            "counter",
            "Rate-limit and backoff waits before a platform call, by platform and reason.",
        );
        for ((platform, reason), waited) in waits.iter() {
            let labels = labels(&[("platform", platform.as_str()), ("reason", *reason)]);
            let _ = writeln!(
                out,
                "toker_platform_waits_total{{{labels}}} {}",
                waited.count
            );
        }
        header(
            out,
            "toker_platform_wait_seconds_total",
            "counter",
            "Seconds spent in those waits, by platform and reason.",
        );
        for ((platform, reason), waited) in waits.iter() {
            let labels = labels(&[("platform", platform.as_str()), ("reason", *reason)]);
            let _ = writeln!(
                out,
                "toker_platform_wait_seconds_total{{{labels}}} {}",
                waited.seconds
            );
        }
    }
}

/// What a scrape reads at the time: the job table's counts by kind (`None` when it could
/// not be read) and the pool's connections.
#[derive(Debug)]
pub(crate) struct Scrape {
    pub(crate) jobs: Option<Vec<(String, JobCounts)>>,
    pub(crate) pool: PoolUsage,
}

fn render_pool(out: &mut String, pool: PoolUsage) {
    header(
        out,
        "toker_db_pool_connections",
        "gauge",
        "Database connections of the request pool, by state.",
    );
    let _ = writeln!(
        out,
        "toker_db_pool_connections{{state=\"idle\"}} {}",
        pool.idle
    );
    let _ = writeln!(
        out,
        "toker_db_pool_connections{{state=\"in_use\"}} {}",
        pool.in_use
    );
    header(
        out,
        "toker_db_pool_max_connections",
        "gauge",
        "The most database connections the request pool holds.",
    );
    let _ = writeln!(out, "toker_db_pool_max_connections {}", pool.max);
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The labels of a series of requests.
fn http_labels(route: &str, method: &str, status: u16) -> String {
    labels(&[
        ("route", route),
        ("method", method),
        ("status", &status.to_string()),
    ])
}

/// `a="x",b="y"`, each value escaped as the format says (backslash, quote, newline).
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

/// The method as a label: the standard ones by name, any other as `other` (a client's
/// made-up methods make no series).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

/// The request layer: counts each answered request under its matched route template (or
/// `unmatched`), its method and its status, with the time to its response head.
pub(crate) async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.record_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Counts the workers' job outcomes ([`toker_collect::jobs::WorkerOptions::observer`]).
#[derive(Debug)]
pub(crate) struct OutcomeCounter(pub(crate) Arc<Metrics>);

impl JobObserver for OutcomeCounter {
    fn ended(&self, kind: &str, outcome: Outcome) {
        self.0.record_outcome(kind, outcome);
    }
}

/// A [`Sleeper`] that counts each wait and the time spent in it (also when the wait is
/// cut short: its future dropped), then waits as `inner` does.
pub(crate) struct CountingSleeper {
    pub(crate) inner: Arc<dyn Sleeper>,
    pub(crate) metrics: Arc<Metrics>,
}

impl std::fmt::Debug for CountingSleeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingSleeper").finish_non_exhaustive()
    }
}

/// Adds the time waited when the wait ends or is dropped.
struct WaitTimer<'a> {
    metrics: &'a Metrics,
    platform: Platform,
    reason: &'static str,
    started: tokio::time::Instant,
}

impl Drop for WaitTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .record_waited(self.platform, self.reason, self.started.elapsed());
    }
}

#[async_trait]
impl Sleeper for CountingSleeper {
    async fn sleep(&self, wait: &Wait) {
        let reason = reason_label(wait.reason);
        self.metrics.record_wait_started(wait.platform, reason);
        let _timer = WaitTimer {
            metrics: &self.metrics,
            platform: wait.platform,
            reason,
            started: tokio::time::Instant::now(),
        };
        self.inner.sleep(wait).await;
    }
}

/// The reason of a wait as a label.
fn reason_label(reason: WaitReason) -> &'static str {
    match reason {
        WaitReason::RateLimit => "rate_limit",
        WaitReason::Throttled => "throttled",
        WaitReason::ServerError => "server_error",
        WaitReason::Timeout => "timeout",
        WaitReason::Connection => "connection",
        WaitReason::Unreadable => "unreadable",
        WaitReason::Budget => "budget",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_cumulative_buckets_and_escaped_labels() {
        let metrics = Metrics::default();
        let route = "/v1/profiles/{id}";
        metrics.record_request(route, &Method::GET, 200, Duration::from_millis(3));
        metrics.record_request(route, &Method::GET, 200, Duration::from_secs(20));
        metrics.record_request(
            "/a\"b\\c\nd",
            &Method::from_bytes(b"BREW").unwrap(),
            404,
            Duration::ZERO,
        );
        metrics.record_outcome("vectorize", Outcome::Dead);
        let text = metrics.render(&Scrape {
            jobs: Some(vec![(
                "vectorize".to_owned(),
                JobCounts {
                    queued: 2,
                    ..JobCounts::default()
                },
            )]),
            pool: PoolUsage {
                idle: 3,
                in_use: 1,
                max: 4,
            },
        });
        let series = r#"route="/v1/profiles/{id}",method="GET",status="200""#;
        for line in [
            format!("toker_http_requests_total{{{series}}} 2"),
            format!("toker_http_request_duration_seconds_bucket{{{series},le=\"0.001\"}} 0"),
            format!("toker_http_request_duration_seconds_bucket{{{series},le=\"0.005\"}} 1"),
            format!("toker_http_request_duration_seconds_bucket{{{series},le=\"10\"}} 1"),
            format!("toker_http_request_duration_seconds_bucket{{{series},le=\"+Inf\"}} 2"),
            format!("toker_http_request_duration_seconds_count{{{series}}} 2"),
            r#"toker_http_requests_total{route="/a\"b\\c\nd",method="other",status="404"} 1"#
                .to_owned(),
            r#"toker_jobs{kind="vectorize",state="queued"} 2"#.to_owned(),
            r#"toker_jobs{kind="vectorize",state="dead"} 0"#.to_owned(),
            "toker_jobs_readable 1".to_owned(),
            r#"toker_job_outcomes_total{kind="vectorize",outcome="dead"} 1"#.to_owned(),
            r#"toker_db_pool_connections{state="idle"} 3"#.to_owned(),
            r#"toker_db_pool_connections{state="in_use"} 1"#.to_owned(),
            "toker_db_pool_max_connections 4".to_owned(),
            "# TYPE toker_http_request_duration_seconds histogram".to_owned(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }

    #[tokio::test]
    async fn the_sleeper_counts_waits_and_their_time() {
        let metrics = Arc::new(Metrics::default());
        let sleeper = CountingSleeper {
            inner: Arc::new(toker_sources::http::TokioSleeper),
            metrics: Arc::clone(&metrics),
        };
        let wait = Wait {
            platform: Platform::X,
            endpoint: "GET /2/users/me".to_owned(),
            reason: WaitReason::RateLimit,
            duration: Duration::from_millis(30),
            retry: 1,
        };
        sleeper.sleep(&wait).await;
        sleeper.sleep(&wait).await;
        let text = metrics.render(&Scrape {
            jobs: None,
            pool: PoolUsage {
                idle: 1,
                in_use: 0,
                max: 1,
            },
        });
        let labels = r#"platform="x",reason="rate_limit""#;
        assert!(
            text.contains(&format!("toker_platform_waits_total{{{labels}}} 2\n")),
            "{text}"
        );
        let seconds: f64 = text
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("toker_platform_wait_seconds_total{{{labels}}} "))
            })
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.06..1.0).contains(&seconds), "{text}");
        assert!(text.contains("toker_jobs_readable 0\n"), "{text}");
    }
}
