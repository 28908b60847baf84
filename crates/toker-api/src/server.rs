//! Serving the router on a socket, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

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
}

/// Opens the database (running migrations) and binds the configured address.
///
/// # Errors
/// [`ApiError::Config`] for an unusable setting, [`ApiError::Store`] if the database
/// cannot be opened, [`ApiError::Bind`] if the address cannot be bound.
pub async fn bind(config: ServeConfig) -> Result<Server, ApiError> {
    config.validate()?;
    let bind = config.bind.clone();
    let state = tokio::task::spawn_blocking(move || AppState::open(config))
        .await
        .map_err(|e| ApiError::Task(e.to_string()))??;
    let listener = TcpListener::bind(&bind)
        .await
        .map_err(|source| ApiError::Bind {
            addr: bind.clone(),
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ApiError::Bind { addr: bind, source })?;
    Ok(Server {
        listener,
        state,
        local_addr,
    })
}

/// Serves until `shutdown` completes, SIGTERM arrives or ctrl-c is pressed; then stops
/// accepting connections and lets in-flight requests finish (bounded by the request
/// timeout) before returning.
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

    /// Serves until `shutdown`, SIGTERM or ctrl-c (see [`serve`]).
    ///
    /// # Errors
    /// [`ApiError::Serve`] if serving fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiError> {
        let drain_limit = self.state.config().request_timeout + DRAIN_GRACE;
        tracing::info!(
            addr = %self.local_addr,
            backend = ?self.state.pool().backend(),
            "toker api listening"
        );
        // Signal handlers are installed before the first connection is accepted.
        let signals = termination_signal()?;
        let (stopping_tx, mut stopping_rx) = watch::channel(false);
        let stop = async move {
            tokio::select! {
                () = shutdown => tracing::info!("shutdown requested"),
                () = signals => tracing::info!("termination signal received"),
            }
            let _ = stopping_tx.send(true);
        };
        let app = router(self.state);
        // The peer address goes into every request (`ConnectInfo`): the per-address limits
        // of what is reachable without credentials key on it.
        let serving = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop);
        let deadline = async move {
            // Waits for the stop, then for the drain limit; never ends before a stop.
            while !*stopping_rx.borrow_and_update() {
                if stopping_rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(drain_limit).await;
        };
        tokio::select! {
            served = serving => served.map_err(ApiError::Serve)?,
            () = deadline => tracing::warn!(
                "in-flight requests still running {} s after shutdown; stopping anyway",
                drain_limit.as_secs()
            ),
        }
        tracing::info!("toker api stopped");
        Ok(())
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
