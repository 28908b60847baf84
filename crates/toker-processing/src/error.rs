//! The errors of this crate: bad stored vectors, bad vocabularies, bad settings.

/// Why a processing step refused its input.
///
/// Every variant names the record or field at fault and what was expected, so a caller can
/// print it as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProcessingError {
    /// A sparse vector's `indices` and `values` differ in length.
    #[error(
        "sparse vector: indices and values must have the same length, got {indices} indices and {values} values"
    )]
    LengthMismatch {
        /// How many indices were given.
        indices: usize,
        /// How many values were given.
        values: usize,
    },
    /// A sparse vector's indices are not strictly increasing (unsorted or repeated).
    #[error(
        "sparse vector: indices must be strictly increasing, got indices[{position}] = {index} after {previous}"
    )]
    UnsortedIndices {
        /// The position of the offending index.
        position: usize,
        /// The index before it.
        previous: u32,
        /// The index that is not greater than `previous`.
        index: u32,
    },
    /// A sparse vector holds NaN or an infinity.
    #[error("sparse vector: values[{position}] must be finite, got {value}")]
    NonFiniteValue {
        /// The position of the offending value.
        position: usize,
        /// The value that is NaN or infinite.
        value: f32,
    },
    /// A stored vector uses a feature that the vocabulary does not have.
    #[error(
        "profile {id}: vector feature index {index} is outside the vocabulary of {features} features (was it made with another vocabulary version?)"
    )]
    FeatureOutOfRange {
        /// The profile the vector belongs to.
        id: i64,
        /// The offending feature index.
        index: u32,
        /// How many features the vocabulary has.
        features: usize,
    },
    /// Two vectors handed to a match index carry the same profile id.
    #[error("match index: profile id {id} is given more than once")]
    DuplicateProfile {
        /// The repeated id.
        id: i64,
    },
    /// A query names a profile that the match index does not hold.
    #[error("match index: no vector for profile id {id} (run `toker vectorize` first?)")]
    UnknownProfile {
        /// The id that was asked for.
        id: i64,
    },
    /// A vectorizer setting is out of range.
    #[error("vectorizer config: {field}: {message}")]
    InvalidConfig {
        /// The setting at fault.
        field: &'static str,
        /// What was expected and what was given.
        message: String,
    },
    /// A stored vocabulary has a format version that this build cannot read.
    #[error(
        "vocabulary: format {found:?} is not supported, this build reads {expected:?}; re-run `toker vectorize` to rebuild the vocabulary and vectors"
    )]
    UnsupportedVocabularyFormat {
        /// The format the JSON declares (empty if it declares none).
        found: String,
        /// The format this build writes and reads.
        expected: &'static str,
    },
    /// A stored vocabulary is not well-formed.
    #[error("vocabulary: {0}")]
    InvalidVocabulary(String),
}
