//! The store's error type: every message names the record it is about.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist; `what` names it (`profile 42`, `profile tiktok:123`).
    #[error("{what} not found")]
    NotFound {
        /// The record that was looked for.
        what: String,
    },
    /// A profile with this `platform:user_id` is already stored.
    #[error("profile {key} already exists (id {id})")]
    Duplicate {
        /// `platform:user_id`.
        key: String,
        /// The id of the stored profile.
        id: i64,
    },
    /// A record other than a profile already exists (e.g. `api key ab12`).
    #[error("{what} already exists")]
    AlreadyExists {
        /// The record, e.g. `api key ab12`.
        what: String,
    },
    /// The record cannot be stored as it is (e.g. a count above `i64::MAX`).
    #[error("{record}: {message}")]
    Invalid {
        /// The record, e.g. `profile tiktok:123 (line 12)`.
        record: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Another writer held the database, and the transaction could not wait or retry
    /// further.
    #[error("{}{reason}", in_context(.context))]
    Busy {
        /// What the store was doing (`None` when it failed outside any operation).
        context: Option<String>,
        /// What held the transaction up.
        reason: BusyReason,
    },
    /// The database could not be opened or reached.
    #[error("cannot open database {url}: {message}")]
    Connection {
        /// The database URL, password hidden.
        url: String,
        /// The driver's reason, e.g. the file cannot be created or the server refused.
        message: String,
    },
    /// The URL needs a backend this build does not include.
    #[error(
        "this build of toker has no support for this database: rebuild it with the \
         `{feature}` feature (cargo install --path crates/toker-cli --features {feature})"
    )]
    FeatureDisabled {
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// Applying or reverting migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The commit guard of this thread ([`crate::with_commit_guard`]) refused the commit:
    /// the transaction was rolled back and nothing changed.
    #[error("{}not committed: {reason}; the transaction was rolled back", in_context(.context))]
    CommitRefused {
        /// What the store was doing (`None` when it failed outside any operation).
        context: Option<String>,
        /// Why the guard refused (e.g. the request was already answered).
        reason: String,
    },
    /// Any other database error, with what the store was doing. The message is whole
    /// (Diesel's error included), so the error offers no `source`: a chain printer shows
    /// Diesel's message once.
    #[error("{}{error}", in_context(.context))]
    Database {
        /// What the store was doing, naming the record (`creating profile tiktok:123`);
        /// `None` when it failed outside any operation.
        context: Option<String>,
        /// Diesel's error.
        error: DieselError,
    },
}

/// What held a transaction up ([`StoreError::Busy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusyReason {
    /// Another writer held the lock past the busy timeout (5 s unless set otherwise with
    /// [`crate::Store::set_busy_timeout`]).
    Locked,
    /// The database asked to retry a transaction whose input cannot be read twice (the
    /// vectors of [`crate::Store::save_vectors`]).
    NotReplayable,
}

impl std::fmt::Display for BusyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusyReason::Locked => write!(
                f,
                "the database is locked by another writer, which held it past the busy \
                 timeout ({} s unless set otherwise); try again when the other toker process \
                 has finished",
                BUSY_TIMEOUT_MS / 1000
            ),
            BusyReason::NotReplayable => f.write_str(
                "the database asked to retry the transaction, which cannot replay its input; \
                 run it again",
            ),
        }
    }
}

/// `context: `, or nothing without a context (the prefix of a message).
fn in_context(context: &Option<String>) -> String {
    context
        .as_deref()
        .map_or_else(String::new, |context| format!("{context}: "))
}

/// How long SQLite waits for another writer before giving up with [`StoreError::Busy`]
/// (change it with [`crate::Store::set_busy_timeout`]).
pub(crate) const BUSY_TIMEOUT_MS: u64 = 5_000;

/// `map_err` adapter for [`StoreError::db`]: `.map_err(db("loading profile 7"))`.
pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(DieselError) -> StoreError {
    move |e| StoreError::db(context, e)
}

/// `map_err` adapter for an insert: a unique violation is [`StoreError::AlreadyExists`]
/// naming `what()`, any other error as [`db`] with `context`:
/// `.map_err(db_insert("creating api key ab12", || "api key ab12".to_owned()))`.
pub(crate) fn db_insert(
    context: impl Into<String>,
    what: impl FnOnce() -> String,
) -> impl FnOnce(DieselError) -> StoreError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            StoreError::AlreadyExists { what: what() }
        }
        e => StoreError::db(context, e),
    }
}

/// The result of a query for at most one row, in the store's terms.
pub(crate) trait Found<T> {
    /// `Ok(None)` when the query found no row, a database error as [`db`] with `context`:
    /// `table.find(7).first(c).found("loading run 7")`.
    fn found(self, context: impl Into<String>) -> Result<Option<T>, StoreError>;
}

impl<T> Found<T> for diesel::QueryResult<T> {
    fn found(self, context: impl Into<String>) -> Result<Option<T>, StoreError> {
        diesel::OptionalExtension::optional(self).map_err(db(context))
    }
}

impl StoreError {
    /// Wraps a Diesel error with what the store was doing; a lock that stayed taken past
    /// the busy timeout becomes [`StoreError::Busy`].
    pub(crate) fn db(context: impl Into<String>, error: DieselError) -> StoreError {
        StoreError::wrap(Some(context.into()), error)
    }

    fn wrap(context: Option<String>, error: DieselError) -> StoreError {
        if is_busy(&error) {
            return StoreError::Busy {
                context,
                reason: BusyReason::Locked,
            };
        }
        StoreError::Database { context, error }
    }

    /// Adds context to an error raised without it (inside a transaction closure).
    pub(crate) fn in_context(self, context: &str) -> StoreError {
        let told = || Some(context.to_owned());
        match self {
            StoreError::Database {
                context: None,
                error,
            } => StoreError::wrap(told(), error),
            StoreError::Busy {
                context: None,
                reason,
            } => StoreError::Busy {
                context: told(),
                reason,
            },
            StoreError::CommitRefused {
                context: None,
                reason,
            } => StoreError::CommitRefused {
                context: told(),
                reason,
            },
            other => other,
        }
    }

    /// The error for a log line that must not carry stored values: what the store was
    /// doing without the record it names (`creating profile tiktok:123` → `creating
    /// profile`), and the database's message up to its first `:` (PostgreSQL appends the
    /// offending value there, e.g. `invalid input syntax for type bigint: "…"`), with
    /// the table, column and constraint names the database reports.
    #[must_use]
    pub fn without_values(&self) -> String {
        match self {
            StoreError::Database { context, error } => {
                let operation = context.as_deref().map(|context| {
                    context
                        .split_whitespace()
                        .take_while(|w| !w.contains(|c: char| c == ':' || c.is_ascii_digit()))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                let cause = match error {
                    DieselError::DatabaseError(kind, info) => {
                        let message = info.message();
                        let head = message.split(':').next().unwrap_or(message);
                        let mut out = format!("{kind:?}: {head}");
                        for (name, value) in [
                            ("table", info.table_name()),
                            ("column", info.column_name()),
                            ("constraint", info.constraint_name()),
                        ] {
                            if let Some(value) = value {
                                out.push_str(&format!(" ({name} {value})"));
                            }
                        }
                        out
                    }
                    other => {
                        let text = other.to_string();
                        text.split(':').next().unwrap_or_default().to_owned()
                    }
                };
                match operation {
                    Some(operation) => format!("{operation}: {cause}"),
                    None => cause,
                }
            }
            StoreError::Duplicate { .. } => "a profile with this key is already stored".to_owned(),
            StoreError::NotFound { .. } => "a record was not found".to_owned(),
            StoreError::Invalid { .. } => "a record cannot be stored as it is".to_owned(),
            StoreError::CommitRefused { reason, .. } => format!("not committed: {reason}"),
            StoreError::Busy { .. } => "the database is locked by another writer".to_owned(),
            other => other.to_string(),
        }
    }

    /// Whether retrying the whole transaction may succeed (PostgreSQL serialization
    /// failure or deadlock).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database { error, .. } => is_transient(error),
            _ => false,
        }
    }
}

// An error converted by `?` inside a transaction, without context until
// `StoreError::in_context` adds it.
impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        StoreError::wrap(None, error)
    }
}

fn is_busy(e: &DieselError) -> bool {
    // Diesel reports SQLITE_BUSY, and PostgreSQL's lock_timeout (55P03), as unknown
    // database errors with the database's message.
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
        if info.message().contains("database is locked")
            || info.message().contains("database table is locked")
            || info.message().contains("lock timeout"))
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn is_transient(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        // libpq exposes no SQLSTATE through Diesel; 40P01's message is stable in English.
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_record() {
        let e = StoreError::Duplicate {
            key: "tiktok:123".into(),
            id: 7,
        };
        assert_eq!(e.to_string(), "profile tiktok:123 already exists (id 7)");
        let e = StoreError::NotFound {
            what: "profile 42".into(),
        };
        assert_eq!(e.to_string(), "profile 42 not found");
        let e = StoreError::FeatureDisabled {
            feature: "postgres",
        };
        assert!(e.to_string().contains("--features postgres"), "{e}");
    }

    /// Formats an error as a chain printer at the edge does (`anyhow`'s `{:#}`): the
    /// message, then each source's.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut out = e.to_string();
        let mut next = e.source();
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }

    #[test]
    fn a_wrapped_diesel_error_is_printed_once() {
        let cause = DieselError::QueryBuilderError("the cause".into());
        let e = StoreError::db("loading profile 3", cause);
        assert_eq!(e.to_string(), "loading profile 3: the cause");
        let printed = chain(&e);
        assert_eq!(printed.matches("the cause").count(), 1, "{printed}");
        let e: StoreError = DieselError::QueryBuilderError("the cause".into()).into();
        assert_eq!(chain(&e), "the cause");
    }

    #[test]
    fn busy_formats_what_was_locked_and_for_how_long() {
        let e = StoreError::Busy {
            context: None,
            reason: BusyReason::Locked,
        }
        .in_context("creating profile tiktok:1");
        assert!(
            e.to_string()
                .starts_with("creating profile tiktok:1: the database is locked by another writer"),
            "{e}"
        );
        assert!(e.to_string().contains("(5 s unless set otherwise)"), "{e}");
    }

    #[test]
    fn untold_context_is_replaced() {
        let e: StoreError = DieselError::NotFound.into();
        let e = e.in_context("loading profile 3");
        assert!(e.to_string().starts_with("loading profile 3: "), "{e}");
    }
}
