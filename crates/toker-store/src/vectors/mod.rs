//! Profile vectors and the vocabulary that produced them.

pub(crate) mod rows;

use serde::Serialize;
use toker_model::Platform;

use crate::backend::dispatch;
use crate::connection::Transactions;
use crate::error::StoreError;
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
                    message: format!(
                        "{context}: the database asked to retry the transaction, which cannot \
                         replay the vectors; run it again"
                    ),
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

    /// The stored vectors of unproven uploads (private copies, see [`ListQuery::unproven`]),
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
