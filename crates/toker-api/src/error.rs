//! The errors of this crate's library functions, and how each becomes a [`Problem`].

use toker_processing::ProcessingError;
use toker_store::StoreError;

use crate::problem::{Problem, ProblemKind};

/// What can go wrong serving the API or managing its keys. Each message is whole: a
/// variant that wraps another error prints it, and does not offer it again as its
/// `source`, so that a chain printer shows it once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The database refused or failed an operation.
    #[error("database: {0}")]
    Store(StoreError),
    /// Vectorizing or matching refused the stored data.
    #[error("processing: {0}")]
    Processing(ProcessingError),
    /// The server could not listen on the configured address.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address from the configuration.
        addr: String,
        /// Why the operating system refused.
        error: std::io::Error,
    },
    /// Serving connections failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
    /// A configuration value is out of range.
    #[error("configuration: {field}: {message}")]
    Config {
        /// The setting at fault.
        field: &'static str,
        /// What was expected and what was given.
        message: String,
    },
    /// A role name that is neither `admin` nor `member`.
    #[error("unknown role {given:?}: expected admin or member")]
    UnknownRole {
        /// The name that was given.
        given: String,
    },
    /// Hashing a new API key's secret failed.
    #[error("api key {key_id}: cannot hash the secret: {message}")]
    KeyHash {
        /// The key being created.
        key_id: String,
        /// What the hasher said.
        message: String,
    },
    /// A database task stopped without an answer (it panicked or was cancelled).
    #[error("a database task did not finish: {0}")]
    Task(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<ProcessingError> for ApiError {
    fn from(e: ProcessingError) -> Self {
        ApiError::Processing(e)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => {
                Problem::new(ProblemKind::NotFound, format!("{what} does not exist"))
            }
            StoreError::Duplicate { key, .. } => Problem::new(
                ProblemKind::Conflict,
                format!("a profile {key} is already stored"),
            ),
            StoreError::Invalid { record, message } => Problem::validation(
                format!("{record}: {message}"),
                vec![toker_model::Violation {
                    path: "$".to_owned(),
                    message: format!("{record}: {message}"),
                }],
            ),
            StoreError::Busy { .. } => Problem::new(
                ProblemKind::Unavailable,
                "the database is busy with another write; retry shortly",
            )
            .with_retry_after(1),
            StoreError::CommitRefused { .. } => Problem::new(
                ProblemKind::Timeout,
                "the request passed the server's time limit before its change was saved; nothing was changed",
            ),
            StoreError::Connection { .. } => Problem::new(
                ProblemKind::Unavailable,
                "the database cannot be reached; retry later",
            )
            .with_retry_after(5),
            other => internal(&other),
        }
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Store(e) => Problem::from(e),
            other => internal(&other),
        }
    }
}

/// A 500 whose detail does not expose internals; the cause goes to the log, which carries
/// the request id that the client also sees.
/// A database error is logged without the values it may carry (a user id, a hashtag):
/// logs never hold profile contents ([`StoreError::without_values`]).
pub(crate) fn internal(cause: &(dyn std::error::Error + 'static)) -> Problem {
    let store = cause.downcast_ref::<StoreError>().or_else(|| {
        cause.downcast_ref::<ApiError>().and_then(|e| match e {
            ApiError::Store(e) => Some(e),
            _ => None,
        })
    });
    match store {
        Some(e) => tracing::error!(error = %e.without_values(), "request failed"),
        None => tracing::error!(error = %cause, "request failed"),
    }
    Problem::new(
        ProblemKind::Internal,
        "the server failed to answer; the log has the cause under this response's x-request-id",
    )
}
