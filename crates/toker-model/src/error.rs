//! The model's error type.

use crate::platform::UnknownPlatform;
use crate::validate::ValidationError;

/// What can go wrong turning text into a profile.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The text is not JSON (or is cut short); the message says where.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is a profile that breaks one or more rules.
    #[error("invalid profile: {0}")]
    Invalid(#[from] ValidationError),
    /// A platform name Toker does not know.
    #[error(transparent)]
    UnknownPlatform(#[from] UnknownPlatform),
}
