//! Refitting the vocabulary and vectors over every stored profile: what `toker vectorize`
//! and `POST /v1/vectorize` run.

use serde::Serialize;
use toker_model::Listing;
use toker_processing::{VectorizerConfig, VocabularyBuilder};
use toker_store::{Store, StoredProfile, StoredVector, VocabularyRecord};

use crate::CollectError;

/// How many profiles are read per query, bounding memory while reading the corpus.
const PAGE: u64 = 2_000;

/// What a refit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VectorizeReport {
    /// How many profiles the vocabulary was fitted on: those others may see (unproven
    /// uploads get a vector but do not shape the vocabulary).
    pub profiles: u64,
    /// How many features the vocabulary kept.
    pub features: u64,
    /// The version of the vocabulary just fitted, stored with every new vector.
    pub vocabulary_version: String,
}

/// Fits a vocabulary over every stored profile others may see, then stores it with one
/// vector per profile (unproven uploads too, for their uploaders' own matches), replacing
/// the previous ones in one transaction.
///
/// Profiles are read a page at a time (twice: once to fit, once to transform); profiles
/// stored while this runs wait for the next refit. It blocks and uses every core for the
/// transform: async callers run it on a blocking thread.
///
/// ```
/// use toker_collect::vectorize_store;
/// use toker_processing::VectorizerConfig;
/// use toker_store::Store;
///
/// let mut store = Store::open(":memory:")?;
/// let report = vectorize_store(&mut store, VectorizerConfig::default())?;
/// assert_eq!((report.profiles, report.features), (0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CollectError::Processing`] for a bad setting, [`CollectError::Store`] if the
/// database fails.
pub fn vectorize_store(
    store: &mut Store,
    config: VectorizerConfig,
) -> Result<VectorizeReport, CollectError> {
    let mut builder = VocabularyBuilder::new(config)?;
    let mut last_id = None;
    for_each_page(store, None, |page| {
        for p in &page {
            if !p.unproven {
                builder.add(&p.profile);
            }
            last_id = Some(p.id);
        }
    })?;
    let profiles = builder.documents();
    let vocabulary = builder.finish();
    let mut vectors = Vec::new();
    if let Some(last_id) = last_id {
        for_each_page(store, Some(last_id), |page| {
            let (keys, profiles): (Vec<_>, Vec<_>) = page
                .into_iter()
                .map(|p| ((p.id, p.platform), p.profile))
                .unzip();
            let made = vocabulary.transform_all(&profiles);
            vectors.extend(
                keys.into_iter()
                    .zip(made)
                    .map(|((profile_id, platform), v)| {
                        let (indices, values) = v.into_parts();
                        StoredVector {
                            profile_id,
                            platform,
                            indices,
                            values,
                        }
                    }),
            );
        })?;
    }
    let record = VocabularyRecord {
        version: vocabulary.version().to_owned(),
        json: vocabulary.to_json(),
    };
    store.save_vectors(&record, &mut vectors.into_iter())?;
    Ok(VectorizeReport {
        profiles,
        features: vocabulary.len() as u64,
        vocabulary_version: record.version,
    })
}

/// Calls `visit` with each page of stored profiles in id order, up to `last_id`.
fn for_each_page(
    store: &mut Store,
    last_id: Option<i64>,
    mut visit: impl FnMut(Vec<StoredProfile>),
) -> Result<(), CollectError> {
    let mut after_id = None;
    loop {
        let mut page = store.load_profiles(&Listing {
            limit: Some(PAGE),
            after_id,
            unproven: true,
            ..Listing::default()
        })?;
        if let Some(last_id) = last_id {
            page.retain(|p| p.id <= last_id);
        }
        let Some(last) = page.last() else {
            return Ok(());
        };
        after_id = Some(last.id);
        let full = page.len() as u64 == PAGE;
        visit(page);
        if !full {
            return Ok(());
        }
    }
}
