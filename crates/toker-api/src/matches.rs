//! The match index, built from the stored vectors and shared by every request.
//!
//! Building it reads every stored vector, so it is cached: a request uses the cached index
//! unless its check is older than `match_refresh`, in which case one request reads the
//! database's vector write marker ([`toker_store::Store::vector_write_marker`], one row)
//! and the stored vocabulary's version, and rebuilds only if either changed (others keep
//! using the old index meanwhile). Every transaction that changes the stored vectors, in
//! any process on the database, moves the marker: a refit, a profile written with its
//! vector, a profile or principal deleted, an upload proven. So a profile created,
//! replaced or deleted by another process (another `toker serve` replica, a `toker worker`
//! refresh, `toker create` beside a server) is in or out of this process's index within
//! `match_refresh` of its commit. The marker is read before the vectors, so a write
//! committed while they are read makes the next check rebuild again.
//!
//! Writes through this process need not wait for the check: a refit through the API
//! invalidates the cache at once, and so does a profile write that stored a vector (the
//! pool counts them, [`crate::StorePool::vector_writes`]), so a profile created through
//! `POST /v1/profiles` is among others' matches here at once. A match answer reads its
//! matches' rows when it answers and leaves out those gone, so a profile deleted by any
//! process is never served as a match, even by an index built before the delete.
//!
//! Only the profiles others may see are indexed, so an unproven upload never appears among
//! anyone's matches; its vector is kept beside the index, for its uploader's own queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use toker_model::Platform;
use toker_processing::{MatchIndex, SparseVector, Vocabulary};
use toker_store::{Store, StoredVector};

use crate::ApiError;
use crate::problem::Problem;
use crate::state::AppState;

/// A match index and the vocabulary that made its vectors.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) version: String,
    /// The pool's [`crate::StorePool::vector_writes`] when the vectors were read.
    writes: u64,
    /// The database's vector write marker, read before the vectors.
    marker: u64,
    /// The profiles others may see.
    pub(crate) index: MatchIndex,
    /// The vectors of unproven uploads, by profile id: queries, never matches.
    pub(crate) unproven: HashMap<i64, (Platform, SparseVector)>,
    /// The vocabulary the vectors were made with: it scores a profile stored after the
    /// refit on the fly.
    pub(crate) vocabulary: Vocabulary,
}

#[derive(Debug)]
pub(crate) struct MatchCache {
    refresh: Duration,
    current: RwLock<Option<Arc<Snapshot>>>,
    checked_at: Mutex<Option<Instant>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl MatchCache {
    pub(crate) fn new(refresh: Duration) -> Self {
        MatchCache {
            refresh,
            current: RwLock::new(None),
            checked_at: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Forgets when the index was last checked, so the next request re-reads the version.
    pub(crate) fn invalidate(&self) {
        *self
            .checked_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn is_fresh(&self) -> bool {
        self.checked_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < self.refresh)
    }
}

impl AppState {
    /// The current match index, or `None` if nothing was ever vectorized.
    pub(crate) async fn match_snapshot(&self) -> Result<Option<Arc<Snapshot>>, Problem> {
        let cache = self.matches();
        let written = |s: &Option<Arc<Snapshot>>| {
            s.as_ref()
                .is_some_and(|s| s.writes != self.pool().vector_writes())
        };
        let current = cache.current();
        if current.is_some() && cache.is_fresh() && !written(&current) {
            return Ok(current);
        }
        let _guard = match cache.refreshing.try_lock() {
            Ok(guard) => guard,
            // Someone else is checking: use what we have, or wait for the first index.
            Err(_) if current.is_some() => return Ok(current),
            Err(_) => cache.refreshing.lock().await,
        };
        let current = cache.current();
        if current.is_some() && cache.is_fresh() && !written(&current) {
            return Ok(current);
        }
        // Read before the vectors, so that a write committed meanwhile rebuilds again.
        let writes = self.pool().vector_writes();
        let known = current
            .as_ref()
            .filter(|s| s.writes == writes)
            .map(|s| (s.version.clone(), s.marker));
        let rebuilt = self
            .db(move |store| {
                let known = known.as_ref().map(|(v, m)| (v.as_str(), *m));
                Ok(load_snapshot(store, known, writes)?)
            })
            .await?;
        *cache
            .checked_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        match rebuilt {
            Reload::Unchanged => Ok(current),
            Reload::Empty => {
                *cache
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                Ok(None)
            }
            Reload::Built(snapshot) => {
                tracing::info!(
                    version = %snapshot.version,
                    profiles = snapshot.index.len(),
                    "match index built"
                );
                *cache
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&snapshot));
                Ok(Some(snapshot))
            }
        }
    }
}

enum Reload {
    Unchanged,
    Empty,
    Built(Arc<Snapshot>),
}

/// Reads the stored vocabulary and vectors into an index, unless the vocabulary's version
/// and the vector write marker are `known` (nothing changed since they were read).
/// The marker is read first, so that a write committed while the vectors are read leaves
/// the snapshot with an older marker than the database's: the next check rebuilds. The
/// vocabulary's version is read again after the vectors: if a refit committed in between,
/// the read is repeated so that vocabulary and vectors always belong together.
fn load_snapshot(
    store: &mut Store,
    known: Option<(&str, u64)>,
    writes: u64,
) -> Result<Reload, ApiError> {
    for _ in 0..3 {
        let marker = store.vector_write_marker()?;
        let Some(version) = store.vocabulary_version()? else {
            return Ok(Reload::Empty);
        };
        if known == Some((version.as_str(), marker)) {
            return Ok(Reload::Unchanged);
        }
        let Some(record) = store.load_vocabulary()? else {
            return Ok(Reload::Empty);
        };
        let vectors = store.load_vectors(None)?;
        let unproven = store.load_unproven_vectors()?;
        if store.vocabulary_version()?.as_deref() != Some(record.version.as_str()) {
            continue;
        }
        let vocabulary = Vocabulary::from_json(&record.json)?;
        let entries = vectors
            .into_iter()
            .map(|v: StoredVector| {
                let vector = SparseVector::from_parts(v.indices, v.values)?;
                Ok((v.profile_id, v.platform, vector))
            })
            .collect::<Result<Vec<_>, toker_processing::ProcessingError>>()?;
        let index = MatchIndex::new(&vocabulary, entries)?;
        let unproven = unproven
            .into_iter()
            .map(|v| {
                let vector = SparseVector::from_parts(v.indices, v.values)?;
                Ok((v.profile_id, (v.platform, vector)))
            })
            .collect::<Result<HashMap<_, _>, toker_processing::ProcessingError>>()?;
        return Ok(Reload::Built(Arc::new(Snapshot {
            version: record.version,
            writes,
            marker,
            index,
            unproven,
            vocabulary,
        })));
    }
    Err(ApiError::Task(
        "the stored vocabulary kept changing while the match index was read".to_owned(),
    ))
}
