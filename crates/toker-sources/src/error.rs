//! The sources' error type.

use toker_model::Platform;

/// What can go wrong getting a profile from a source.
///
/// Every variant names the `platform` it is about. The API variants name the `endpoint`
/// called, as `METHOD /path` without the query (e.g. `GET /2/users/me`), and, where the
/// platform answered, its HTTP `status`; those fields carry no docs of their own.
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
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        /// The reference that was looked up.
        user: String,
    },
    /// A source was configured wrongly (missing token, bad URL, bad option).
    #[error("{platform}: {message}")]
    Config {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        /// What is wrong and what to set.
        message: String,
    },
    // -- HTTP client errors (API clients) go below this line --
    /// The platform rejected the credentials (expired, revoked or wrong): no retry.
    #[error("{platform}: {endpoint}: token rejected ({status}): {message}; {hint}")]
    TokenRejected {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        #[allow(missing_docs, reason = "described on SourceError")]
        status: u16,
        /// The platform's words (with its request id).
        message: String,
        /// What to do, naming the setting that holds the credential.
        hint: String,
    },
    /// The token lacks a permission, or the person keeps the data private: no retry.
    #[error("{platform}: {endpoint}: permission denied ({status}): {message}; {hint}")]
    PermissionDenied {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        #[allow(missing_docs, reason = "described on SourceError")]
        status: u16,
        /// The platform's words.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Rate limited for longer than the client may wait, or still limited after every retry.
    #[error("{platform}: {endpoint}: rate limited: {message}")]
    RateLimited {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        /// How long until the limit resets, when the platform said.
        retry_after: Option<std::time::Duration>,
        /// What happened and when to retry.
        message: String,
    },
    /// A daily quota or a plan's usage cap is spent: nothing helps before it resets.
    #[error("{platform}: {endpoint}: {message}")]
    QuotaExceeded {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        /// Which quota, and when it resets.
        message: String,
    },
    /// The app's shared request budget could not be consulted (its database failed), so
    /// nothing was sent.
    #[error("{platform}: {endpoint}: the shared request budget {app:?} cannot be read: {message}")]
    Budget {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        /// The app whose budget it is.
        app: String,
        /// What failed.
        message: String,
    },
    /// The platform refused the request as invalid (a 4xx other than auth and rate limits).
    #[error("{platform}: {endpoint}: request rejected ({status}): {message}")]
    RequestRejected {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        #[allow(missing_docs, reason = "described on SourceError")]
        status: u16,
        /// The platform's words.
        message: String,
    },
    /// The server kept failing (5xx, gateway pages, transient errors) after every retry.
    #[error(
        "{platform}: {endpoint}: server error ({status}) after {attempts} attempts: {message}; \
         the platform is having trouble, try again later"
    )]
    ServerError {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        /// The last HTTP status.
        status: u16,
        /// Requests sent.
        attempts: u32,
        /// The platform's words, or the start of a non-JSON body.
        message: String,
    },
    /// No complete answer within the timeout, after every retry.
    #[error(
        "{platform}: {endpoint}: no answer within {} s after {attempts} attempts; check the \
         network, or allow more time (TOKER_API_TIMEOUT)", .timeout.as_secs_f64()
    )]
    Timeout {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        /// The per-request timeout.
        timeout: std::time::Duration,
        /// Requests sent.
        attempts: u32,
    },
    /// The connection failed after every retry.
    #[error(
        "{platform}: {endpoint}: connection failed after {attempts} attempts: {message}; check \
         the network and the API URL"
    )]
    Connection {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        #[allow(missing_docs, reason = "described on SourceError")]
        endpoint: String,
        /// Requests sent.
        attempts: u32,
        /// The transport's words.
        message: String,
    },
    /// A response (or stored raw payload) that cannot be read: cut, not JSON, wrong shape.
    #[error("{platform}: {endpoint}: unreadable response: {message}")]
    BadResponse {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        /// The endpoint (or the raw-profile key).
        endpoint: String,
        /// What is wrong.
        message: String,
    },
    /// Pagination went wrong (a cursor came back again): stopped instead of looping.
    #[error("{platform}: {listing} pages: {message}")]
    Pagination {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        /// The list being read (`liked`, `reposted`, `posts`).
        listing: &'static str,
        /// What happened.
        message: String,
    },

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
    /// The export breaks a size bound ([`crate::ArchiveLimits`], [`crate::ImportLimits`]):
    /// too large unpacked, compressed too well (a zip bomb), or one file or item too large.
    /// Nothing was imported.
    #[error("{platform} export {}: {}{message} (limit `{limit}` = {value})", .archive.display(), file_prefix(.file.as_deref()))]
    ExportTooLarge {
        /// The platform whose export it is.
        platform: Platform,
        /// The path that was given.
        archive: std::path::PathBuf,
        /// The file inside that broke it, when one did.
        file: Option<String>,
        /// The limit's name, e.g. `max_unpacked_bytes` or `max_ratio`.
        limit: &'static str,
        /// The limit's value.
        value: u64,
        /// What was found.
        message: String,
    },

    // -- fake source errors go below this line --
    /// A user reference that no profile can be made for (empty, with spaces, too long).
    #[error("{platform}: {user:?} is not a usable user reference: expected {expected}")]
    InvalidUserRef {
        #[allow(missing_docs, reason = "described on SourceError")]
        platform: Platform,
        /// The reference as given.
        user: String,
        /// What a usable reference looks like.
        expected: &'static str,
    },
}

/// "file: " for an error message, or nothing.
fn file_prefix(file: Option<&str>) -> String {
    file.map(|f| format!("{f}: ")).unwrap_or_default()
}

/// "key `a.b`: " for an error message, or nothing.
fn key_prefix(key: Option<&str>) -> String {
    key.map(|k| format!("key `{k}`: ")).unwrap_or_default()
}
