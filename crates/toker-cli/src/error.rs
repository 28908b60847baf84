//! What can end a command, and the exit code each maps to.

use std::fmt;
use std::process::ExitCode;

/// The class of a failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Something went wrong at run time (database, network, file): exit 1.
    Runtime,
    /// The command line was wrong: exit 2.
    Usage,
    /// Input was rejected by validation; nothing was stored: exit 3.
    Validation,
}

impl Kind {
    pub(crate) fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Kind::Runtime => 1,
            Kind::Usage => 2,
            Kind::Validation => 3,
        })
    }
}

/// A failure with one clear line for stderr (what was wrong and what to do). The line is
/// the whole message: the cause, when kept, is only looked at (for a closed pipe), never
/// printed again.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) kind: Kind,
    pub(crate) message: String,
    pub(crate) cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CliError {
    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Runtime,
            message: message.into(),
            cause: None,
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Usage,
            message: message.into(),
            cause: None,
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Validation,
            message: message.into(),
            cause: None,
        }
    }

    /// Keeps the error this one came from.
    pub(crate) fn caused_by(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// Whether it comes from writing to a closed pipe (`toker list | head`): a normal end.
    /// Found by the error kind anywhere in the cause's source chain.
    pub(crate) fn is_closed_pipe(&self) -> bool {
        let mut next: Option<&(dyn std::error::Error + 'static)> = self
            .cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(e) = next {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return true;
            }
            next = e.source();
        }
        false
    }
}

impl CliError {
    /// A record that validation rejected: `LABEL rejected: path: message; …` (exit 3).
    pub(crate) fn rejected(label: &str, rejected: &toker_processing::prepare::Rejected) -> Self {
        CliError::validation(format!(
            "{label} rejected, nothing stored: {rejected} (see --min-likes for the likes minimum)"
        ))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::runtime(e.to_string()).caused_by(e)
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::runtime(format!("cannot write JSON: {e}")).caused_by(e)
    }
}

impl From<toker_store::StoreError> for CliError {
    fn from(e: toker_store::StoreError) -> Self {
        use toker_store::StoreError;
        match &e {
            StoreError::Duplicate { .. } => CliError::runtime(format!(
                "{e}: nothing stored (delete it first, or use `toker import --upsert` to replace it)"
            )),
            StoreError::Invalid { .. } => CliError::validation(format!("{e}: nothing stored")),
            _ => CliError::runtime(e.to_string()),
        }
    }
}

impl From<toker_sources::SourceError> for CliError {
    fn from(e: toker_sources::SourceError) -> Self {
        CliError::runtime(e.to_string())
    }
}

impl From<toker_api::ApiError> for CliError {
    fn from(e: toker_api::ApiError) -> Self {
        match e {
            toker_api::ApiError::Store(e) => CliError::from(e),
            toker_api::ApiError::Config { .. } | toker_api::ApiError::UnknownRole { .. } => {
                CliError::usage(e.to_string())
            }
            other => CliError::runtime(other.to_string()),
        }
    }
}

impl From<toker_collect::CollectError> for CliError {
    fn from(e: toker_collect::CollectError) -> Self {
        match e {
            toker_collect::CollectError::Store(e) => CliError::from(e),
            toker_collect::CollectError::Source(e) => CliError::from(e),
            other => CliError::runtime(other.to_string()),
        }
    }
}

/// The result of a command.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// `main` prints [`CliError::message`] and nothing else: the store's cause is in it once.
    #[test]
    fn a_busy_store_is_told_once() {
        let busy = toker_store::StoreError::Busy {
            context: Some("creating profile tiktok:1".to_owned()),
            reason: toker_store::BusyReason::Locked,
        };
        let e = CliError::from(toker_api::ApiError::Store(busy));
        let line = e.to_string();
        assert!(
            line.starts_with("creating profile tiktok:1: the database is locked"),
            "{line}"
        );
        assert_eq!(line.matches("try again").count(), 1, "{line}");
        // `main` prints the line only; nothing kept could repeat it.
        assert!(e.cause.is_none());
    }

    #[test]
    fn an_io_cause_is_kept_for_the_pipe_check_and_its_message_is_the_line() {
        let e = CliError::from(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "closed",
        ));
        assert!(e.is_closed_pipe());
        assert_eq!(e.to_string(), "closed");
    }
}
