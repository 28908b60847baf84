//! [`VocabularyVectorizer`]: the [`ProfileVectorizer`] Toker installs on its stores, so
//! that every profile write also stores the profile's TF-IDF vector under the stored
//! vocabulary, in the write's transaction (toker-store's `vectors` module says how).
//!
//! It lives here because the store must not depend on toker-processing, and every caller
//! that writes profiles (the CLI, the API, the collectors) sits on top of this crate.

use std::sync::{Arc, PoisonError, RwLock};

use toker_model::Profile;
use toker_processing::Vocabulary;
use toker_store::{ProfileVectorizer, Store, VectorParts, Vectorized, VocabularyRef};

/// Makes profile vectors with the stored vocabulary, exactly as
/// [`Vocabulary::transform`] does (bit for bit), so that a vector stored with its profile
/// equals the one a refit over the same vocabulary would store.
///
/// It keeps the last vocabulary it parsed, by version, so a write reads and parses the
/// stored vocabulary only when it changed (after a refit); one vectorizer can be shared
/// by every connection of a pool.
#[derive(Debug, Default)]
pub struct VocabularyVectorizer {
    current: RwLock<Option<Arc<Vocabulary>>>,
}

impl VocabularyVectorizer {
    /// A vectorizer holding no vocabulary yet.
    #[must_use]
    pub fn new() -> Self {
        VocabularyVectorizer::default()
    }

    /// A shared vectorizer installed on `store` ([`Store::set_vectorizer`]); returns it,
    /// to install on further stores (e.g. the other connections of a pool).
    pub fn install(store: &mut Store) -> Arc<VocabularyVectorizer> {
        let vectorizer = Arc::new(VocabularyVectorizer::new());
        store.set_vectorizer(Some(Arc::clone(&vectorizer) as Arc<dyn ProfileVectorizer>));
        vectorizer
    }

    fn held(&self, version: &str) -> Option<Arc<Vocabulary>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|v| v.version() == version)
            .cloned()
    }
}

impl ProfileVectorizer for VocabularyVectorizer {
    fn vectorize(
        &self,
        vocabulary: VocabularyRef<'_>,
        profiles: &[&Profile],
    ) -> Result<Vectorized, String> {
        let held = match (self.held(vocabulary.version), vocabulary.json) {
            (Some(held), _) => held,
            (None, None) => return Ok(Vectorized::NeedsJson),
            (None, Some(json)) => {
                let parsed = Vocabulary::from_json(json)
                    .map_err(|e| format!("the stored vocabulary cannot be read ({e})"))?;
                if parsed.version() != vocabulary.version {
                    return Err(format!(
                        "its JSON holds version {}, not {}",
                        parsed.version(),
                        vocabulary.version
                    ));
                }
                let parsed = Arc::new(parsed);
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    Some(Arc::clone(&parsed));
                parsed
            }
        };
        Ok(Vectorized::Vectors(
            profiles
                .iter()
                .map(|p| {
                    let (indices, values) = held.transform(p).into_parts();
                    VectorParts { indices, values }
                })
                .collect(),
        ))
    }
}
