//! The model's error type.

use crate::platform::UnknownPlatform;
use crate::validate::ValidationError;

/// What can go wrong turning text into a profile. Each message is whole: a wrapped error
/// is printed in it and not offered again as its `source`.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The text is not JSON (or is cut short); the message says where.
    #[error("malformed JSON: {0}")]
    Json(serde_json::Error),
    /// The JSON is a profile that breaks one or more rules.
    #[error("invalid profile: {0}")]
    Invalid(ValidationError),
    /// A platform name Toker does not know.
    #[error(transparent)]
    UnknownPlatform(#[from] UnknownPlatform),
}

impl From<serde_json::Error> for ModelError {
    fn from(e: serde_json::Error) -> Self {
        ModelError::Json(e)
    }
}

impl From<ValidationError> for ModelError {
    fn from(e: ValidationError) -> Self {
        ModelError::Invalid(e)
    }
}
