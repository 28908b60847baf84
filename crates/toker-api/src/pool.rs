//! A small pool of blocking [`Store`] connections for async handlers.
//!
//! A `Store` is one Diesel connection: `Send` but not `Sync`, and every call blocks. The
//! pool hands a connection to one `spawn_blocking` task at a time: a semaphore queues
//! callers fairly, the task owns the connection while it runs and gives it back after. A
//! task that panics loses its connection; the next caller opens a fresh one.
//!
//! Every connection carries the pool's one [`VocabularyVectorizer`], so a profile written
//! through the API is stored with its vector (matchable at once). The pool counts the
//! tasks that stored vectors, once they returned (their transactions committed): the
//! match index rebuilds when that count moved ([`StorePool::vector_writes`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use toker_collect::VocabularyVectorizer;
use toker_model::Profile;
use toker_store::{Backend, ProfileVectorizer, Store, Vectorized, VocabularyRef};
use tokio::sync::Semaphore;

use crate::ApiError;

/// The pool's connections at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections free for the next request.
    pub idle: usize,
    /// Connections lent to work in progress.
    pub in_use: usize,
    /// The most connections the pool holds.
    pub max: usize,
}

/// Connections to one database, shared by all requests.
#[derive(Clone)]
pub struct StorePool {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    backend: Backend,
    idle: Mutex<Vec<Pooled>>,
    permits: Arc<Semaphore>,
    /// The most connections (permits) the pool holds.
    size: usize,
    vectorizer: Arc<VocabularyVectorizer>,
    /// Tasks that stored vectors, counted after they returned.
    vector_writes: AtomicU64,
}

/// A connection and the vectorizer installed on it, which notes that it made vectors.
struct Pooled {
    store: Store,
    noting: Arc<NotingVectorizer>,
}

/// The pool's vectorizer, remembering that this connection stored vectors.
struct NotingVectorizer {
    shared: Arc<VocabularyVectorizer>,
    made: AtomicBool,
}

impl ProfileVectorizer for NotingVectorizer {
    fn vectorize(
        &self,
        vocabulary: VocabularyRef<'_>,
        profiles: &[&Profile],
    ) -> Result<Vectorized, String> {
        self.made.store(true, Ordering::Relaxed);
        self.shared.vectorize(vocabulary, profiles)
    }
}

impl Inner {
    fn open(&self) -> Result<Pooled, ApiError> {
        Pooled::open(&self.url, &self.vectorizer)
    }
}

impl Pooled {
    fn open(url: &str, shared: &Arc<VocabularyVectorizer>) -> Result<Pooled, ApiError> {
        let mut store = Store::open(url)?;
        let noting = Arc::new(NotingVectorizer {
            shared: Arc::clone(shared),
            made: AtomicBool::new(false),
        });
        store.set_vectorizer(Some(Arc::clone(&noting) as Arc<dyn ProfileVectorizer>));
        Ok(Pooled { store, noting })
    }
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
        let vectorizer = Arc::new(VocabularyVectorizer::new());
        let first = Pooled::open(url, &vectorizer)?;
        let backend = first.store.backend();
        let mut idle = Vec::with_capacity(size);
        idle.push(first);
        for _ in 1..size {
            idle.push(Pooled::open(url, &vectorizer)?);
        }
        Ok(StorePool {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                backend,
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(size)),
                size,
                vectorizer,
                vector_writes: AtomicU64::new(0),
            }),
        })
    }

    /// The backend (SQLite or PostgreSQL) that the pool's database URL chose.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// How many connections are free and how many are lent to work now (a connection is
    /// lent from when its work is admitted until the work returns).
    #[must_use]
    pub fn usage(&self) -> PoolUsage {
        let idle = self.inner.permits.available_permits().min(self.inner.size);
        PoolUsage {
            idle,
            in_use: self.inner.size - idle,
            max: self.inner.size,
        }
    }

    /// How many tasks stored profile vectors so far (counted once they returned): the
    /// match index is rebuilt when this moved since it was built.
    #[must_use]
    pub fn vector_writes(&self) -> u64 {
        self.inner.vector_writes.load(Ordering::Acquire)
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
            let mut pooled = match pooled {
                Some(pooled) => pooled,
                None => inner.open().map_err(E::from)?,
            };
            let result = work(&mut pooled.store);
            // The work's transactions are over: what it stored is visible to others now.
            if pooled.noting.made.swap(false, Ordering::Relaxed) {
                inner.vector_writes.fetch_add(1, Ordering::AcqRel);
            }
            inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(pooled);
            result
        })
        .await;
        joined.map_err(|e| E::from(ApiError::Task(e.to_string())))?
    }
}
