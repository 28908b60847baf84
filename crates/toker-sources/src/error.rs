//! The sources' error type.

use toker_model::Platform;

/// What can go wrong getting a profile from a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The platform's module was not compiled in.
    #[error("{platform} support is not compiled in: rebuild with the cargo feature `{feature}`")]
    FeatureDisabled {
        /// The platform asked for.
        platform: Platform,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// The person could not be found on the platform.
    #[error("{platform}: user {user:?} not found")]
    UserNotFound {
        /// The platform.
        platform: Platform,
        /// The reference that was looked up.
        user: String,
    },
    /// A source was configured wrongly (missing token, bad URL, bad option).
    #[error("{platform}: {message}")]
    Config {
        /// The platform.
        platform: Platform,
        /// What is wrong and what to set.
        message: String,
    },
    // -- HTTP client errors (API clients) go below this line --

    // -- data-export importer errors go below this line --

    // -- fake source errors go below this line --
}
