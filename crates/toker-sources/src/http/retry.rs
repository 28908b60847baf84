//! Sending one API request: timeouts, rate-limit waits, backoff with jitter, error mapping.
//!
//! The platform decides what a response means (a [`Verdict`]); this module decides what to
//! do about it, with the same bounds everywhere.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use serde_json::Value;
use toker_model::Platform;

use super::budget::SharedBudget;
use super::config::{ApiConfig, Secret};
use crate::error::SourceError;

/// The longest single backoff delay.
const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// How much of a non-JSON body goes into an error message.
const SNIPPET_CHARS: usize = 160;

/// Why a client is about to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// The platform's rate-limit window is spent; waiting for its reset.
    RateLimit,
    /// The platform throttles without saying for how long; backing off.
    Throttled,
    /// The server failed (5xx or a transient error); backing off.
    ServerError,
    /// The request timed out; backing off.
    Timeout,
    /// The connection failed; backing off.
    Connection,
    /// A success response could not be read; trying once more.
    Unreadable,
    /// The app's request budget shared with other processes is spent or paused.
    Budget,
}

impl WaitReason {
    /// A short phrase for progress lines.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            WaitReason::RateLimit => "rate limited, waiting for the reset",
            WaitReason::Throttled => "throttled, backing off",
            WaitReason::ServerError => "server error, retrying",
            WaitReason::Timeout => "timed out, retrying",
            WaitReason::Connection => "connection failed, retrying",
            WaitReason::Unreadable => "unreadable response, retrying",
            WaitReason::Budget => "the app's shared request budget is spent, waiting",
        }
    }
}

/// A wait the client is about to make, handed to the [`Sleeper`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The platform being called.
    pub platform: Platform,
    /// The endpoint, e.g. `GET /2/users/me`.
    pub endpoint: String,
    /// Why.
    pub reason: WaitReason,
    /// How long.
    pub duration: Duration,
    /// The retry this wait precedes (1 for the first).
    pub retry: u32,
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} ({} s, retry {})",
            self.platform,
            self.endpoint,
            self.reason.describe(),
            self.duration.as_secs_f64().ceil(),
            self.retry
        )
    }
}

/// Performs the waits. The default, [`TokioSleeper`], sleeps on the tokio clock (so a
/// paused test clock applies); a CLI can wrap it to show the reason and time left, and a
/// test can record the waits instead.
#[async_trait]
pub trait Sleeper: Send + Sync {
    /// Waits `wait.duration`.
    async fn sleep(&self, wait: &Wait);
}

/// Logs each wait and sleeps with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, wait: &Wait) {
        tracing::info!("{wait}");
        tokio::time::sleep(wait.duration).await;
    }
}

/// A response, fully read, for a platform to judge.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The platform called.
    pub platform: Platform,
    /// The endpoint, e.g. `GET /2/users/me`.
    pub endpoint: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as received, not yet decoded.
    pub body: Vec<u8>,
    /// The server's clock (its `Date` header), else ours: rate-limit resets are relative to it.
    pub now: SystemTime,
}

impl Reply {
    /// A header's value, if present and text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or why it is not.
    pub(crate) fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let kind = self.header("content-type").unwrap_or("no content type");
            format!(
                "body is not valid JSON ({e}; {kind}, {} bytes)",
                self.body.len()
            )
        })
    }

    /// The start of the body, for messages about bodies that are not the platform's JSON.
    pub(crate) fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut out: String = flat.chars().take(SNIPPET_CHARS).collect();
        if flat.chars().count() > SNIPPET_CHARS {
            out.push('…');
        }
        out
    }

    /// How long the platform asks to wait: `Retry-After` (seconds or an HTTP date), else
    /// X's `x-rate-limit-reset` (Unix seconds) plus one second. `None` without either.
    pub(crate) fn reset_wait(&self) -> Option<Duration> {
        if let Some(v) = self.header("retry-after") {
            let v = v.trim();
            if let Ok(secs) = v.parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
            if let Ok(at) = httpdate::parse_http_date(v) {
                return Some(at.duration_since(self.now).unwrap_or_default());
            }
        }
        let reset = self
            .header("x-rate-limit-reset")?
            .trim()
            .parse::<u64>()
            .ok()?;
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
        Some(at.duration_since(self.now).unwrap_or_default() + Duration::from_secs(1))
    }

    /// Whether X-style headers say the window is spent (`x-rate-limit-remaining: 0`).
    fn window_spent(&self) -> bool {
        self.header("x-rate-limit-remaining").map(str::trim) == Some("0")
    }

    /// Whether the status is a success.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a platform makes of a response.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Success: the parsed body.
    Done(Value),
    /// A rate limit with a known reset: wait this long, then resend the same request.
    WaitFor {
        /// How long.
        wait: Duration,
        /// The platform's words.
        message: String,
    },
    /// Throttled without a known reset: back off exponentially.
    Throttled {
        /// The platform's words.
        message: String,
    },
    /// Server trouble (5xx, gateway pages, transient errors): back off, bounded.
    Transient {
        /// The platform's words.
        message: String,
    },
    /// A success status with a body that cannot be read: retry once.
    Unreadable {
        /// Why.
        message: String,
    },
    /// Fail now, without retrying.
    Fail(SourceError),
    /// A quota or usage cap is spent: fail now, and pause the app's shared budget for
    /// `pause` so that no other process spends requests on it before it resets.
    Exhausted {
        /// What to report.
        error: SourceError,
        /// Until the quota resets (or until it is worth asking again).
        pause: Duration,
    },
}

/// How a platform judges replies.
pub(crate) type Classify = fn(&Reply) -> Verdict;

/// What to tell the person when the platform refuses them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hints<'a> {
    /// For a rejected token: what to reconnect and which setting to update.
    pub token: &'a str,
    /// For a permission error: which scope or permission is missing, or that the data is
    /// private.
    pub permission: &'a str,
}

impl Verdict {
    /// Wait for the reset the reply announces, else back off.
    pub(crate) fn wait_or_throttle(reply: &Reply, message: String) -> Verdict {
        match reply.reset_wait() {
            Some(wait) => Verdict::WaitFor { wait, message },
            None => Verdict::Throttled { message },
        }
    }

    /// The verdict for an error the platform did not name precisely: by HTTP status.
    pub(crate) fn by_status(reply: &Reply, message: String, hints: Hints<'_>) -> Verdict {
        let (platform, endpoint, status) = (reply.platform, reply.endpoint.clone(), reply.status);
        match status {
            401 => Verdict::Fail(SourceError::TokenRejected {
                platform,
                endpoint,
                status,
                message,
                hint: hints.token.to_owned(),
            }),
            403 => Verdict::Fail(SourceError::PermissionDenied {
                platform,
                endpoint,
                status,
                message,
                hint: hints.permission.to_owned(),
            }),
            429 => Verdict::wait_or_throttle(reply, message),
            s if s >= 500 => Verdict::Transient { message },
            s if (200..300).contains(&s) => Verdict::Unreadable { message },
            _ => Verdict::Fail(SourceError::RequestRejected {
                platform,
                endpoint,
                status,
                message,
            }),
        }
    }

    /// The reply's JSON body, or (a body that is not JSON) the verdict of [`Verdict::not_json`].
    pub(crate) fn json_body(reply: &Reply, hints: Hints<'_>) -> Result<Value, Verdict> {
        reply
            .json()
            .map_err(|message| Verdict::not_json(reply, message, hints))
    }

    /// The verdict for a body that is not JSON (gateway pages, cut bodies): a success is
    /// unreadable (retried once), anything else is judged by status with the body's start.
    pub(crate) fn not_json(reply: &Reply, parse_error: String, hints: Hints<'_>) -> Verdict {
        if reply.is_success() {
            Verdict::Unreadable {
                message: parse_error,
            }
        } else {
            let message = format!(
                "HTTP {}, not {}'s JSON: {}",
                reply.status,
                reply.platform.display_name(),
                reply.snippet()
            );
            Verdict::by_status(reply, message, hints)
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// No body.
    None,
    /// A JSON body.
    Json(Value),
    /// A form body (`application/x-www-form-urlencoded`). Values may be secrets.
    Form(Vec<(&'static str, Secret)>),
}

/// One request, resent as is on retries (same cursor).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// `GET` or `POST`.
    pub method: reqwest::Method,
    /// The path below the base URL, e.g. `/2/users/me`, also used in messages.
    pub path: String,
    /// Query parameters (never secrets: they may end up in logs).
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    /// The bearer token, if any.
    pub bearer: Option<Secret>,
    /// HTTP Basic credentials (user, password), e.g. an OAuth client id and secret.
    pub basic: Option<(Secret, Secret)>,
    /// Query parameters that are secrets (Instagram's token endpoints take them so):
    /// never logged, and kept out of error messages.
    pub secret_query: Vec<(&'static str, Secret)>,
}

impl Call {
    /// A `GET` of `path`.
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Call {
            method: reqwest::Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: Body::None,
            bearer: None,
            basic: None,
            secret_query: Vec::new(),
        }
    }

    /// A `POST` to `path` with `body`.
    pub(crate) fn post(path: impl Into<String>, body: Body) -> Self {
        Call {
            method: reqwest::Method::POST,
            path: path.into(),
            query: Vec::new(),
            body,
            bearer: None,
            basic: None,
            secret_query: Vec::new(),
        }
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// Adds a query parameter whose value is a secret.
    pub(crate) fn secret_query(mut self, name: &'static str, value: Secret) -> Self {
        self.secret_query.push((name, value));
        self
    }

    /// Sets HTTP Basic credentials.
    pub(crate) fn basic(mut self, user: Secret, password: Secret) -> Self {
        self.basic = Some((user, password));
        self
    }

    /// Sets the bearer token.
    pub(crate) fn bearer(mut self, token: &Secret) -> Self {
        self.bearer = Some(token.clone());
        self
    }

    /// `METHOD /path`, as errors name it.
    pub(crate) fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The shared HTTP client of one platform's API client.
pub(crate) struct Http {
    client: reqwest::Client,
    platform: Platform,
    base: String,
    timeout: Duration,
    max_retries: u32,
    max_wait: Duration,
    backoff_base: Duration,
    sleeper: Arc<dyn Sleeper>,
    /// Set when a success said the rate-limit window is spent: no request before then.
    pause_until: Mutex<Option<tokio::time::Instant>>,
    /// The app's budget shared with other processes, if any.
    budget: Option<SharedBudget>,
    /// The setting `base` comes from, named when it cannot be reached.
    setting: String,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("platform", &self.platform)
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

/// What went wrong on the way (no response at all).
enum TransportFailure {
    Timeout,
    Connection(String),
}

impl Http {
    /// A client for `config`'s platform and base URL.
    pub(crate) fn new(config: &ApiConfig) -> Result<Self, SourceError> {
        config.check_base_url("the API base URL")?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("toker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Config {
                platform: config.platform,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Http {
            client,
            platform: config.platform,
            base: config.base().to_owned(),
            timeout: config.timeout,
            max_retries: config.max_retries,
            max_wait: config.max_wait,
            backoff_base: config.backoff_base,
            sleeper: Arc::new(TokioSleeper),
            pause_until: Mutex::new(None),
            budget: config.budget.clone(),
            setting: super::config::env::api_url(config.platform),
        })
    }

    /// Names the setting the base URL comes from, for connection errors (default: the
    /// platform's `TOKER_<PLATFORM>_API_URL`).
    pub(crate) fn set_setting(&mut self, setting: String) {
        self.setting = setting;
    }

    /// Replaces the sleeper.
    pub(crate) fn set_sleeper(&mut self, sleeper: Arc<dyn Sleeper>) {
        self.sleeper = sleeper;
    }

    /// Sends `call` until `classify` accepts the reply, a bound is reached, or it fails.
    pub(crate) async fn send(&self, call: &Call, classify: Classify) -> Result<Value, SourceError> {
        let endpoint = call.endpoint();
        let (mut transient, mut throttled, mut waits, mut unreadable) = (0u32, 0u32, 0u32, 0u32);
        let mut attempts = 0u32;
        loop {
            self.respect_pause(&endpoint, waits + 1).await?;
            self.spend_budget(&endpoint, waits + 1).await?;
            attempts += 1;
            let reply = match self.once(call, &endpoint).await {
                Ok(reply) => reply,
                Err(failure) => {
                    let (reason, error) = match failure {
                        TransportFailure::Timeout => (
                            WaitReason::Timeout,
                            SourceError::Timeout {
                                platform: self.platform,
                                endpoint: endpoint.clone(),
                                timeout: self.timeout,
                                attempts,
                            },
                        ),
                        TransportFailure::Connection(message) => (
                            WaitReason::Connection,
                            SourceError::Connection {
                                platform: self.platform,
                                endpoint: endpoint.clone(),
                                attempts,
                                message: format!(
                                    "{message} (the URL {} is set by {})",
                                    self.base, self.setting
                                ),
                            },
                        ),
                    };
                    if transient >= self.max_retries {
                        return Err(error);
                    }
                    transient += 1;
                    self.backoff(&endpoint, reason, transient).await;
                    continue;
                }
            };
            self.note_window(&reply).await;
            match classify(&reply) {
                Verdict::Done(value) => return Ok(value),
                Verdict::Fail(error) => return Err(error),
                Verdict::Exhausted { error, pause } => {
                    self.pause_budget(pause).await;
                    return Err(error);
                }
                Verdict::WaitFor { wait, message } => {
                    self.pause_budget(wait).await;
                    if wait > self.max_wait {
                        return Err(self.too_long(&endpoint, wait, reply.now, &message));
                    }
                    if waits >= self.max_retries {
                        return Err(SourceError::RateLimited {
                            platform: self.platform,
                            endpoint,
                            retry_after: Some(wait),
                            message: format!(
                                "{message}; still limited after {waits} waits: retry later"
                            ),
                        });
                    }
                    waits += 1;
                    self.wait(&endpoint, WaitReason::RateLimit, wait, waits)
                        .await;
                }
                Verdict::Throttled { message } => {
                    if throttled >= self.max_retries {
                        return Err(SourceError::RateLimited {
                            platform: self.platform,
                            endpoint,
                            retry_after: None,
                            message: format!(
                                "{message}; still throttled after {attempts} attempts: \
                                 wait a few minutes and retry"
                            ),
                        });
                    }
                    throttled += 1;
                    // No reset was announced: the app's other processes back off with
                    // this one rather than each finding the limit on its own.
                    let wait = backoff_delay(self.backoff_base, throttled);
                    self.pause_budget(wait).await;
                    self.wait(&endpoint, WaitReason::Throttled, wait, throttled)
                        .await;
                }
                Verdict::Transient { message } => {
                    if transient >= self.max_retries {
                        return Err(SourceError::ServerError {
                            platform: self.platform,
                            endpoint,
                            status: reply.status,
                            attempts,
                            message,
                        });
                    }
                    transient += 1;
                    self.backoff(&endpoint, WaitReason::ServerError, transient)
                        .await;
                }
                Verdict::Unreadable { message } => {
                    if unreadable >= 1 {
                        return Err(SourceError::BadResponse {
                            platform: self.platform,
                            endpoint,
                            message: format!("{message} (twice)"),
                        });
                    }
                    unreadable += 1;
                    self.backoff(&endpoint, WaitReason::Unreadable, 1).await;
                }
            }
        }
    }

    /// One attempt: send, read the whole body.
    async fn once(&self, call: &Call, endpoint: &str) -> Result<Reply, TransportFailure> {
        let url = format!("{}{}", self.base, call.path);
        let mut request = self.client.request(call.method.clone(), &url);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if !call.secret_query.is_empty() {
            let pairs: Vec<(&str, &str)> = call
                .secret_query
                .iter()
                .map(|(k, v)| (*k, v.expose()))
                .collect();
            request = request.query(&pairs);
        }
        if let Some(token) = &call.bearer {
            request = request.bearer_auth(token.expose());
        }
        if let Some((user, password)) = &call.basic {
            request = request.basic_auth(user.expose(), Some(password.expose()));
        }
        request = match &call.body {
            Body::None => request,
            Body::Json(value) => request.json(value),
            Body::Form(fields) => {
                let pairs: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.expose())).collect();
                request.form(&pairs)
            }
        };
        tracing::debug!(platform = %self.platform, endpoint, "request");
        // Without the URL: its query may carry a secret.
        let response = request
            .send()
            .await
            .map_err(|e| transport_failure(&e.without_url()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_failure(&e.without_url()))?
            .to_vec();
        let now = headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .unwrap_or_else(SystemTime::now);
        tracing::debug!(platform = %self.platform, endpoint, status, bytes = body.len(), "response");
        Ok(Reply {
            platform: self.platform,
            endpoint: endpoint.to_owned(),
            status,
            headers,
            body,
            now,
        })
    }

    /// Remembers a spent window (`x-rate-limit-remaining: 0` on a success), and tells the
    /// shared budget.
    async fn note_window(&self, reply: &Reply) {
        if reply.is_success() && reply.window_spent() {
            if let Some(wait) = reply.reset_wait() {
                let until = tokio::time::Instant::now() + wait;
                if let Ok(mut pause) = self.pause_until.lock() {
                    *pause = Some(until);
                }
                self.pause_budget(wait).await;
            }
        }
    }

    /// Pauses the shared budget's app for `wait`, if there is a shared budget.
    async fn pause_budget(&self, wait: Duration) {
        if let Some(shared) = &self.budget {
            shared.budget.pause(&shared.app, wait).await;
        }
    }

    /// Spends one request of the shared budget, waiting while it is spent or paused, or
    /// fails when that would take longer than the allowed wait.
    async fn spend_budget(&self, endpoint: &str, retry: u32) -> Result<(), SourceError> {
        let Some(shared) = &self.budget else {
            return Ok(());
        };
        let mut waited = Duration::ZERO;
        loop {
            let wait =
                shared
                    .budget
                    .spend(&shared.app)
                    .await
                    .map_err(|message| SourceError::Budget {
                        platform: self.platform,
                        endpoint: endpoint.to_owned(),
                        app: shared.app.clone(),
                        message,
                    })?;
            let Some(wait) = wait else {
                return Ok(());
            };
            if waited + wait > self.max_wait {
                return Err(self.too_long(
                    endpoint,
                    wait,
                    SystemTime::now(),
                    &format!(
                        "the request budget of {} shared by Toker's processes is spent",
                        shared.app
                    ),
                ));
            }
            waited += wait;
            self.wait(endpoint, WaitReason::Budget, wait, retry).await;
        }
    }

    /// Waits out a spent window before sending, or fails if that is too long.
    async fn respect_pause(&self, endpoint: &str, retry: u32) -> Result<(), SourceError> {
        let until = self.pause_until.lock().ok().and_then(|mut p| p.take());
        let Some(until) = until else { return Ok(()) };
        let wait = until.saturating_duration_since(tokio::time::Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        if wait > self.max_wait {
            return Err(self.too_long(
                endpoint,
                wait,
                SystemTime::now(),
                "the rate-limit window is spent (x-rate-limit-remaining: 0)",
            ));
        }
        self.wait(endpoint, WaitReason::RateLimit, wait, retry)
            .await;
        Ok(())
    }

    /// The error for a rate-limit wait longer than allowed.
    fn too_long(
        &self,
        endpoint: &str,
        wait: Duration,
        now: SystemTime,
        message: &str,
    ) -> SourceError {
        let at = httpdate::fmt_http_date(now + wait);
        SourceError::RateLimited {
            platform: self.platform,
            endpoint: endpoint.to_owned(),
            retry_after: Some(wait),
            message: format!(
                "{message}; the limit resets in {} s (at {at}), longer than the allowed wait \
                 of {} s: retry after {at}, or allow a longer wait ({})",
                wait.as_secs(),
                self.max_wait.as_secs(),
                super::config::env::MAX_WAIT
            ),
        }
    }

    /// Backs off before retry number `retry` (1-based).
    async fn backoff(&self, endpoint: &str, reason: WaitReason, retry: u32) {
        let wait = backoff_delay(self.backoff_base, retry);
        self.wait(endpoint, reason, wait, retry).await;
    }

    async fn wait(&self, endpoint: &str, reason: WaitReason, duration: Duration, retry: u32) {
        let wait = Wait {
            platform: self.platform,
            endpoint: endpoint.to_owned(),
            reason,
            duration,
            retry,
        };
        self.sleeper.sleep(&wait).await;
    }
}

fn transport_failure(e: &reqwest::Error) -> TransportFailure {
    if e.is_timeout() {
        TransportFailure::Timeout
    } else {
        // Walk the source chain: reqwest's own message is often just "error sending request".
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        TransportFailure::Connection(message)
    }
}

/// `base * 2^(retry-1)`, capped at a minute, times a random factor in [0.5, 1] (jitter, so
/// many clients do not retry in step).
pub(crate) fn backoff_delay(base: Duration, retry: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let capped = exp.min(BACKOFF_CAP);
    capped.mul_f64(rand::random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(headers: &[(&'static str, &str)], now: u64) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Reply {
            platform: Platform::X,
            endpoint: "GET /x".to_owned(),
            status: 429,
            headers: map,
            body: b"<html>\n  <p>gateway   timeout</p></html>".to_vec(),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(now),
        }
    }

    #[test]
    fn reset_wait_reads_x_reset_plus_one_second() {
        let r = reply(&[("x-rate-limit-reset", "1795574700")], 1_795_573_800);
        assert_eq!(r.reset_wait(), Some(Duration::from_secs(901)));
    }

    #[test]
    fn reset_wait_prefers_retry_after_in_seconds_or_as_a_date() {
        let r = reply(
            &[("retry-after", "30"), ("x-rate-limit-reset", "1795574700")],
            1_795_573_800,
        );
        assert_eq!(r.reset_wait(), Some(Duration::from_secs(30)));
        let r = reply(
            &[("retry-after", "Wed, 25 Nov 2026 02:31:00 GMT")],
            1_795_573_800,
        );
        assert_eq!(r.reset_wait(), Some(Duration::from_secs(60)));
        let r = reply(&[], 1_795_573_800);
        assert_eq!(r.reset_wait(), None);
    }

    #[test]
    fn reset_in_the_past_means_no_wait_beyond_the_margin() {
        let r = reply(&[("x-rate-limit-reset", "100")], 200);
        assert_eq!(r.reset_wait(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn snippet_flattens_whitespace() {
        assert_eq!(
            reply(&[], 0).snippet(),
            "<html> <p>gateway timeout</p></html>"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(2);
        for retry in 1..=8u32 {
            let full = (base * 2u32.pow(retry - 1)).min(BACKOFF_CAP);
            for _ in 0..20 {
                let d = backoff_delay(base, retry);
                assert!(
                    d <= full && d >= full / 2,
                    "retry {retry}: {d:?} vs {full:?}"
                );
            }
        }
        assert!(backoff_delay(base, 1000) <= BACKOFF_CAP);
    }
}
