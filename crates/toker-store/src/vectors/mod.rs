//! Profile vectors and the vocabulary that produced them, and the [`ProfileVectorizer`]
//! through which every profile write also stores the written profile's vector.
//!
//! The store knows no TF-IDF (it must not depend on toker-processing): the layer above
//! installs a vectorizer ([`Store::set_vectorizer`]; toker-collect's
//! `VocabularyVectorizer` is the one Toker uses). Each profile write then reads the stored
//! vocabulary's version inside its transaction and, when there is one, stores the vector
//! the vectorizer makes for every profile it wrote, in that same transaction: a profile
//! and its vector are committed together or not at all. Without a stored vocabulary there
//! is nothing to store (the first refit makes every vector). Without a vectorizer, the
//! stale vectors of replaced profiles are deleted instead, so that a stored vector is
//! always the transform of the stored profile under the stored vocabulary.
//!
//! Every transaction that changes the stored vectors also counts itself in the database's
//! one-row vector write marker ([`Store::vector_write_marker`]), so that another process
//! holding vectors it read (an API replica's match index) sees cheaply that they changed.

pub(crate) mod rows;

use std::sync::Arc;

use serde::Serialize;
use toker_model::{Platform, Profile};

use crate::backend::dispatch;
use crate::connection::Transactions;
use crate::error::{BusyReason, StoreError};
use crate::store::Store;

/// A vocabulary (the vectorizer's model), stored with the vectors it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VocabularyRecord {
    /// Its version; every stored vector names it.
    pub version: String,
    /// The serialized vocabulary (opaque to the store).
    pub json: String,
}

/// A sparse profile vector: feature indices and their weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredVector {
    /// The profile it describes.
    pub profile_id: i64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// Feature indices into the vocabulary.
    pub indices: Vec<u32>,
    /// Weights, one per index.
    pub values: Vec<f32>,
}

/// The stored vocabulary as a write hands it to a [`ProfileVectorizer`]: always its
/// version; its JSON only when the vectorizer asked for it ([`Vectorized::NeedsJson`]),
/// so that a write does not read a large vocabulary the vectorizer holds already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VocabularyRef<'a> {
    /// The stored vocabulary's version ([`VocabularyRecord::version`]).
    pub version: &'a str,
    /// Its JSON ([`VocabularyRecord::json`]), when asked for.
    pub json: Option<&'a str>,
}

/// One profile's vector as a [`ProfileVectorizer`] makes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorParts {
    /// Feature indices into the vocabulary, strictly increasing.
    pub indices: Vec<u32>,
    /// Weights, one per index.
    pub values: Vec<f32>,
}

/// What a [`ProfileVectorizer`] answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Vectorized {
    /// One vector per profile, in order.
    Vectors(Vec<VectorParts>),
    /// It does not hold this version: the store calls it again with the JSON.
    NeedsJson,
}

/// Makes the vectors of profiles under a stored vocabulary, for the profile writes of a
/// [`Store`] (see the module docs). Called inside the write's transaction, possibly more
/// than once for one write (PostgreSQL retries a transaction that lost a race).
pub trait ProfileVectorizer: Send + Sync {
    /// The vectors of `profiles`, one per profile in order, under `vocabulary`; or
    /// [`Vectorized::NeedsJson`] when `vocabulary.json` is `None` and it does not hold
    /// that version.
    ///
    /// # Errors
    /// A message saying why the stored vocabulary cannot be used (corrupt, another
    /// format): the write fails with it and nothing is stored.
    fn vectorize(
        &self,
        vocabulary: VocabularyRef<'_>,
        profiles: &[&Profile],
    ) -> Result<Vectorized, String>;
}

/// The blobs a vector is stored as: little-endian `u32` indices and `f32` weights.
pub(crate) fn encode_vector(v: &StoredVector) -> Result<(Vec<u8>, Vec<u8>), crate::StoreError> {
    if v.indices.len() != v.values.len() {
        return Err(crate::StoreError::Invalid {
            record: format!("vector of profile {}", v.profile_id),
            message: format!(
                "{} indices but {} values: expected one value per index",
                v.indices.len(),
                v.values.len()
            ),
        });
    }
    let indices = v.indices.iter().flat_map(|i| i.to_le_bytes()).collect();
    let values = v.values.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok((indices, values))
}

/// A vector read back from its blobs.
pub(crate) fn decode_vector(
    profile_id: i64,
    platform: Platform,
    indices: &[u8],
    values: &[u8],
) -> Result<StoredVector, crate::StoreError> {
    let corrupt = |what: &str| crate::StoreError::Invalid {
        record: format!("vector of profile {profile_id}"),
        message: format!(
            "the stored {what} are corrupt (length not a multiple of 4 bytes or unequal)"
        ),
    };
    if indices.len() % 4 != 0 || values.len() != indices.len() {
        return Err(corrupt("indices or values"));
    }
    let words = |bytes: &[u8]| -> Vec<[u8; 4]> {
        bytes
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect()
    };
    Ok(StoredVector {
        profile_id,
        platform,
        indices: words(indices).into_iter().map(u32::from_le_bytes).collect(),
        values: words(values).into_iter().map(f32::from_le_bytes).collect(),
    })
}

impl Store {
    /// Installs the vectorizer every later profile write of this store uses to store the
    /// written profiles' vectors with them (see the module docs); `None` removes it.
    pub fn set_vectorizer(&mut self, vectorizer: Option<Arc<dyn ProfileVectorizer>>) {
        self.vectorizer = vectorizer;
    }

    /// The installed vectorizer, if any.
    #[must_use]
    pub fn vectorizer(&self) -> Option<&Arc<dyn ProfileVectorizer>> {
        self.vectorizer.as_ref()
    }

    /// Replaces every stored vector and the vocabulary, in one transaction; returns how
    /// many vectors were stored.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a vector naming no stored profile,
    /// [`StoreError::Invalid`] for a vector whose indices and values differ in length.
    pub fn save_vectors(
        &mut self,
        vocabulary: &VocabularyRecord,
        vectors: &mut dyn Iterator<Item = StoredVector>,
    ) -> Result<u64, StoreError> {
        let context = format!("saving vectors of vocabulary {}", vocabulary.version);
        // The iterator cannot be replayed, so this transaction is not retried.
        let mut vectors = Some(vectors);
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            match vectors.take() {
                Some(v) => q::vectors::save_vectors(c, vocabulary, v),
                None => Err(StoreError::Busy {
                    context: None,
                    reason: BusyReason::NotReplayable,
                }),
            }
        }))
    }

    /// The vocabulary of the stored vectors, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn load_vocabulary(&mut self) -> Result<Option<VocabularyRecord>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::vectors::load_vocabulary(c))
    }

    /// The stored vocabulary's version, if one is stored: what [`Store::load_vocabulary`]
    /// would name, without reading the vocabulary itself.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn vocabulary_version(&mut self) -> Result<Option<String>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::vectors::vocabulary_stamp(c))
            .map(|stamp| stamp.map(|(version, _)| version))
    }

    /// The database's vector write marker: how many committed transactions, of any
    /// process, changed the stored vectors or which profiles' vectors others may match (a
    /// refit, a profile written with its vector or losing a stale one, a profile or a
    /// principal deleted with their vectors, an upload proven). Each such transaction
    /// counts once, however many rows it wrote; reads never move it. One indexed read of
    /// one row, so a process holding vectors it read can check cheaply whether they are
    /// still current: read the marker before the vectors, and read them again when it
    /// moved.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn vector_write_marker(&mut self) -> Result<u64, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::vectors::vector_write_marker(c))
    }

    /// Every stored vector (of one platform) of a profile others may see, by profile id:
    /// the vectors of unproven uploads are left out (see [`Store::load_unproven_vectors`]).
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt vector.
    pub fn load_vectors(
        &mut self,
        platform: Option<Platform>,
    ) -> Result<Vec<StoredVector>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::vectors::load_vectors(
            c, platform, false
        ))
    }

    /// The stored vectors of unproven uploads (private copies, see [`toker_model::Listing::unproven`]),
    /// by profile id: what their uploaders query matches with, never matched by others.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt vector.
    pub fn load_unproven_vectors(&mut self) -> Result<Vec<StoredVector>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::vectors::load_vectors(
            c, None, true
        ))
    }

    /// One profile's vector, if it has one.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt vector.
    pub fn load_vector(&mut self, profile_id: i64) -> Result<Option<StoredVector>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::vectors::load_vector(
            c, profile_id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_bit_for_bit() {
        let v = StoredVector {
            profile_id: 3,
            platform: Platform::X,
            indices: vec![0, 7, u32::MAX],
            values: vec![0.5, -0.0, f32::MIN_POSITIVE],
        };
        let (i, x) = encode_vector(&v).unwrap();
        let back = decode_vector(3, Platform::X, &i, &x).unwrap();
        assert_eq!(back.indices, v.indices);
        let bits = |xs: &[f32]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.values), bits(&v.values));
    }

    #[test]
    fn unequal_lengths_are_rejected() {
        let v = StoredVector {
            profile_id: 9,
            platform: Platform::X,
            indices: vec![1, 2],
            values: vec![1.0],
        };
        let msg = encode_vector(&v).unwrap_err().to_string();
        assert!(
            msg.starts_with("vector of profile 9: 2 indices but 1 values"),
            "{msg}"
        );
        assert!(decode_vector(9, Platform::X, &[1, 2, 3], &[1, 2, 3]).is_err());
    }
}
