//! Profile vectors and the vocabulary that produced them.

use serde::Serialize;
use toker_model::Platform;

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
