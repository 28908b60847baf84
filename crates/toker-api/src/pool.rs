//! A small pool of blocking [`Store`] connections for async handlers.
//!
//! A `Store` is one Diesel connection: `Send` but not `Sync`, and every call blocks. The
//! pool hands a connection to one `spawn_blocking` task at a time: a semaphore queues
//! callers fairly, the task owns the connection while it runs and gives it back after. A
//! task that panics loses its connection; the next caller opens a fresh one.

use std::sync::{Arc, Mutex, PoisonError};

use toker_store::{Backend, Store};
use tokio::sync::Semaphore;

use crate::ApiError;

/// Connections to one database, shared by all requests.
#[derive(Clone)]
pub struct StorePool {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    backend: Backend,
    idle: Mutex<Vec<Store>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for StorePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorePool")
            .field("backend", &self.inner.backend)
            .field("size", &self.inner.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl StorePool {
    /// Opens `size` connections to `url` (running migrations once, on the first). Blocks:
    /// call it before the runtime starts or inside `spawn_blocking`.
    ///
    /// # Errors
    /// [`ApiError::Store`] if the database cannot be opened.
    pub fn open(url: &str, size: usize) -> Result<Self, ApiError> {
        let size = size.max(1);
        let first = Store::open(url)?;
        let backend = first.backend();
        let mut idle = Vec::with_capacity(size);
        idle.push(first);
        for _ in 1..size {
            idle.push(Store::open(url)?);
        }
        Ok(StorePool {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                backend,
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(size)),
            }),
        })
    }

    /// The backend (SQLite or PostgreSQL) that the pool's database URL chose.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Runs blocking database work on a pooled connection, off the async threads.
    ///
    /// # Errors
    /// The work's own error; [`ApiError::Store`] if a replacement connection cannot be
    /// opened; [`ApiError::Task`] if the work panicked.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<ApiError> + Send + 'static,
    {
        // The semaphore is never closed, so acquiring only fails if it were.
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|e| E::from(ApiError::Task(e.to_string())))?;
        let inner = Arc::clone(&self.inner);
        let joined = tokio::task::spawn_blocking(move || {
            // The task keeps the permit: a request answered (timed out) before its work
            // ends does not let another connection open beside the busy one.
            let _permit = permit;
            let pooled = inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut store = match pooled {
                Some(store) => store,
                None => Store::open(&inner.url).map_err(|e| E::from(ApiError::Store(e)))?,
            };
            let result = work(&mut store);
            inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(store);
            result
        })
        .await;
        joined.map_err(|e| E::from(ApiError::Task(e.to_string())))?
    }
}
