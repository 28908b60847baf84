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
    /// The export (a `.zip`, its unpacked folder or a single file) could not be opened.
    #[error("{platform} export {}: {message}", .archive.display())]
    ExportUnreadable {
        /// The platform whose export it is.
        platform: Platform,
        /// The path that was given.
        archive: std::path::PathBuf,
        /// What went wrong and what the person can do.
        message: String,
    },
    /// A file the importer needs is not in the export.
    #[error("{platform} export {}: no {wanted} in it{hint}", .archive.display())]
    ExportFileMissing {
        /// The platform whose export it is.
        platform: Platform,
        /// The path that was given.
        archive: std::path::PathBuf,
        /// The file(s) looked for, e.g. "`user_data.json` or `user_data_tiktok.json`".
        wanted: String,
        /// A hint starting with "; " (or empty), e.g. which export format to ask for.
        hint: String,
    },
    /// A file in the export cannot be read or does not have the expected shape.
    #[error("{platform} export {}: {file}: {}{message}", .archive.display(), key_prefix(.key.as_deref()))]
    ExportFileInvalid {
        /// The platform whose export it is.
        platform: Platform,
        /// The path that was given.
        archive: std::path::PathBuf,
        /// The file's path inside the export, e.g. `data/like.js`.
        file: String,
        /// The JSON key (path) that is missing or malformed, when one is to blame.
        key: Option<String>,
        /// What was expected and what was found.
        message: String,
    },
    // -- fake source errors go below this line --
    /// A user reference that no profile can be made for (empty, with spaces, too long).
    #[error("{platform}: {user:?} is not a usable user reference: expected {expected}")]
    InvalidUserRef {
        /// The platform.
        platform: Platform,
        /// The reference as given.
        user: String,
        /// What a usable reference looks like.
        expected: &'static str,
    },
}

/// "key `a.b`: " for an error message, or nothing.
fn key_prefix(key: Option<&str>) -> String {
    key.map(|k| format!("key `{k}`: ")).unwrap_or_default()
}
