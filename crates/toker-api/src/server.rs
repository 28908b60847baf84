//! Serving the router on a socket: HTTP/1.1 connections under a header-read timeout, an
//! idle timeout and a connection cap, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::config::ServeConfig;
use crate::state::AppState;
use crate::{ApiError, router};

/// How long in-flight requests may run on after a shutdown signal, beyond the request
/// timeout, before the server stops anyway (a client that never finishes sending).
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// A bound, not yet serving, server: lets the caller learn the port before serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    local_addr: SocketAddr,
    max_connections: usize,
}

/// Opens the database (running migrations) and binds the configured address.
///
/// # Errors
/// [`ApiError::Config`] for an unusable setting, [`ApiError::Store`] if the database
/// cannot be opened, [`ApiError::Bind`] if the address cannot be bound.
pub async fn bind(config: ServeConfig) -> Result<Server, ApiError> {
    config.validate()?;
    let bind = config.bind.clone();
    let max_connections = connection_cap(&config);
    let state = tokio::task::spawn_blocking(move || AppState::open(config))
        .await
        .map_err(|e| ApiError::Task(e.to_string()))??;
    let listener = TcpListener::bind(&bind)
        .await
        .map_err(|error| ApiError::Bind {
            addr: bind.clone(),
            error,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|error| ApiError::Bind { addr: bind, error })?;
    Ok(Server {
        listener,
        state,
        local_addr,
        max_connections,
    })
}

/// Serves until `shutdown` completes, SIGTERM arrives or ctrl-c is pressed; then stops
/// accepting connections and lets in-flight requests finish (bounded by the request
/// timeout) before returning. Connections are HTTP/1.1; one that sends no complete request
/// head within the header-read timeout, or stays idle longer than the idle timeout, is
/// closed, and beyond the connection cap new connections get 503 and are closed.
///
/// # Errors
/// As [`bind`], and [`ApiError::Serve`] if serving fails.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    bind(config).await?.run(shutdown).await
}

impl Server {
    /// The address actually bound (useful with port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The state the server serves.
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The most connections this server serves at once: [`ServeConfig::max_connections`],
    /// lowered if the open-files limit minus [`ServeConfig::fd_reserve`] is smaller.
    #[must_use]
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Serves until `shutdown`, SIGTERM or ctrl-c (see [`serve`]).
    ///
    /// # Errors
    /// [`ApiError::Serve`] if the signal handlers cannot be installed.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiError> {
        let config = self.state.config();
        let drain_limit = config.request_timeout + DRAIN_GRACE;
        let timeouts = Timeouts::of(config);
        tracing::info!(
            addr = %self.local_addr,
            backend = ?self.state.pool().backend(),
            max_connections = self.max_connections,
            "toker api listening"
        );
        // Signal handlers are installed before the first connection is accepted.
        let signals = termination_signal()?;
        let (stopping_tx, stopping_rx) = watch::channel(false);
        let stop = async move {
            tokio::select! {
                () = shutdown => tracing::info!("shutdown requested"),
                () = signals => tracing::info!("termination signal received"),
            }
            let _ = stopping_tx.send(true);
        };
        let workers = config.effective_workers();
        let (stop_workers, workers_stopping) = watch::channel(false);
        let worker = (workers > 0)
            .then(|| crate::jobs::spawn_workers(&self.state, workers, workers_stopping));
        let shared_limits = config
            .shared_limits
            .unwrap_or(self.state.pool().backend() == toker_store::Backend::Postgres);
        let limits = shared_limits
            .then(|| crate::limits::spawn_sync(self.state.clone(), stopping_rx.clone()));
        let app = router(self.state);
        let serving = accept_loop(
            self.listener,
            app,
            self.max_connections,
            timeouts,
            stop,
            stopping_rx.clone(),
        );
        let mut stopping = stopping_rx;
        let deadline = async move {
            // Waits for the stop, then for the drain limit; never ends before a stop.
            while !*stopping.borrow_and_update() {
                if stopping.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(drain_limit).await;
        };
        tokio::select! {
            () = serving => {}
            () = deadline => tracing::warn!(
                "in-flight requests still running {} s after shutdown; stopping anyway",
                drain_limit.as_secs()
            ),
        }
        if let Some(worker) = worker {
            // Running jobs go back to the queue; another process resumes them.
            let _ = stop_workers.send(true);
            match worker.await {
                Ok(Ok(report)) => tracing::info!(?report, "in-process worker stopped"),
                Ok(Err(e)) => tracing::error!(error = %e, "the in-process worker failed"),
                Err(e) => tracing::error!(error = %e, "the in-process worker panicked"),
            }
        }
        if let Some(limits) = limits {
            // The stop has been sent: the sync ends after its current round.
            let _ = limits.await;
        }
        tracing::info!("toker api stopped");
        Ok(())
    }
}

/// Serves the operations routes of `state` (`/healthz`, `/readyz`, `/metrics`; see
/// [`ServeConfig::metrics_open`]) on `listener` until `shutdown`, with the server's
/// connection cap and timeouts: the endpoint of a process that runs jobs and serves no
/// API (`toker worker --metrics-bind`), whose job outcomes and platform waits are its own.
pub async fn serve_operations(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let config = state.config();
    let timeouts = Timeouts::of(config);
    let cap = connection_cap(config);
    let app = crate::app::operations_router(state);
    let (stopping_tx, stopping_rx) = watch::channel(false);
    let stop = async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
    };
    accept_loop(listener, app, cap, timeouts, stop, stopping_rx).await;
}

/// The connection cap for `config`: its `max_connections`, lowered so that `fd_reserve`
/// descriptors stay free under the process's open-files limit (when it can be read).
fn connection_cap(config: &ServeConfig) -> usize {
    let Some(files) = open_files_limit() else {
        return config.max_connections;
    };
    let allowed = files.saturating_sub(config.fd_reserve).max(1);
    if allowed < config.max_connections {
        tracing::warn!(
            max_connections = config.max_connections,
            open_files_limit = files,
            fd_reserve = config.fd_reserve,
            "serving at most {allowed} connections: the open-files limit (ulimit -n) minus \
             fd_reserve leaves no room for max_connections"
        );
        return allowed;
    }
    config.max_connections
}

/// The soft limit on open files of this process (Linux: `/proc/self/limits`); `None`
/// when unknown or unlimited.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How long a connection may take to send a request's head, and stay idle.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header: Duration,
    idle: Duration,
}

impl Timeouts {
    fn of(config: &ServeConfig) -> Self {
        Timeouts {
            header: config.header_read_timeout,
            idle: config.idle_timeout,
        }
    }
}

/// What a rejected connection is told before it is closed.
fn busy_response(cap: usize) -> Vec<u8> {
    let problem = crate::problem::Problem::new(
        crate::problem::ProblemKind::Unavailable,
        format!(
            "the server is serving its maximum of {cap} connections (max_connections); \
             try again shortly"
        ),
    );
    let body = serde_json::to_vec(&problem.body()).unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n",
        crate::problem::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    response.extend(body);
    response
}

/// Accepts connections until `stop` completes, serving at most `cap` at once (the rest get
/// [`busy_response`] and are closed); then closes the listener and waits until every
/// connection has finished (each closes once its request in flight is answered).
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    cap: usize,
    timeouts: Timeouts,
    stop: impl Future<Output = ()>,
    stopping: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(cap));
    let busy = busy_response(cap);
    let mut last_refusal_logged: Option<Instant> = None;
    let mut refused: u64 = 0;
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Non-blocking: a client that does not read cannot hold the accept loop.
            let _ = stream.try_write(&busy);
            drop(stream);
            refused += 1;
            if last_refusal_logged.is_none_or(|at| at.elapsed() >= REFUSAL_LOG_INTERVAL) {
                tracing::warn!(
                    max_connections = cap,
                    refused,
                    "connection limit reached; refusing new connections"
                );
                last_refusal_logged = Some(Instant::now());
                refused = 0;
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            remote,
            app.clone(),
            timeouts,
            stopping.clone(),
            permit,
        ));
    }
    drop(listener);
    // Each connection holds a permit until it ends: all of them back means all ended.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// How often a full server logs that it refuses connections (with how many since).
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// After an accept error other than a client's own (e.g. no file descriptor left), waits a
/// little so that the loop does not spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one HTTP/1.1 connection until the client closes it, it breaks the timeouts, or
/// the server stops (then it closes after the request in flight).
async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let in_flight = Activity::request_started(&activity);
            request.extensions_mut().insert(ConnectInfo(remote));
            let response = app.clone().oneshot(request.map(axum::body::Body::new));
            async move {
                let response = response.await;
                drop(in_flight);
                response
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        // The head's deadline is kept below (hyper's would also cut idle connections).
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        if !draining && *stopping.borrow_and_update() {
            draining = true;
            connection.as_mut().graceful_shutdown();
        }
        let check = match activity.deadline(timeouts) {
            Some(deadline) => deadline,
            // A request is in flight; its own timeout applies. Look again later.
            None => Instant::now() + timeouts.header.min(timeouts.idle),
        };
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if !draining => {
                if changed.is_err() {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(check.into()) => {
                if activity.deadline(timeouts).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!("closing a connection that sent no request in time");
                    return;
                }
            }
        }
    }
}

/// What a connection is doing, for its timeouts: times are milliseconds since it opened,
/// plus one (0 = not set).
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Requests whose response is not ready yet.
    in_flight: AtomicUsize,
    /// When the head being read began (the opening, for the first request).
    head_started: AtomicU64,
    /// When the last request in flight was answered.
    answered: AtomicU64,
    /// When bytes were last written to the client.
    written: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(1),
            answered: AtomicU64::new(0),
            written: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// A head was read and handed to the router; the returned guard ends the request.
    fn request_started(this: &Arc<Activity>) -> InFlight {
        this.in_flight.fetch_add(1, Ordering::SeqCst);
        this.head_started.store(0, Ordering::SeqCst);
        InFlight(Arc::clone(this))
    }

    fn read(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            let _ = self.head_started.compare_exchange(
                0,
                self.now(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    fn wrote(&self) {
        self.written.store(self.now(), Ordering::SeqCst);
    }

    /// When the connection is to be closed unless something happens first; `None` while
    /// a request is in flight. A head must be complete `header` after it began (writes
    /// of an earlier response still going on postpone that); a connection with no head
    /// begun is closed `idle` after its last answer or write.
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let written = self.written.load(Ordering::SeqCst);
        let head = self.head_started.load(Ordering::SeqCst);
        let (since, limit) = if head > 0 {
            (head.max(written), timeouts.header)
        } else {
            (
                self.answered.load(Ordering::SeqCst).max(written),
                timeouts.idle,
            )
        };
        Some(self.opened + Duration::from_millis(since.saturating_sub(1)) + limit)
    }
}

/// A request in flight on a connection; dropping it marks the answer.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            activity.answered.store(activity.now(), Ordering::SeqCst);
            activity.head_started.store(0, Ordering::SeqCst);
        }
    }
}

/// A client socket that records its reads and writes in its connection's [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Completes on ctrl-c or (on Unix) SIGTERM.
fn termination_signal() -> Result<impl Future<Output = ()> + Send + 'static, ApiError> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ApiError::Serve)?;
    Ok(async move {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}
