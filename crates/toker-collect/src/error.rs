//! What can end a collection or an import.

use toker_model::Platform;
use toker_processing::ProcessingError;
use toker_processing::prepare::Rejected;
use toker_processing::records::RecordError;
use toker_sources::SourceError;
use toker_sources::oauth::OAuthError;
use toker_store::{CollectionRun, StoreError};

use crate::report::CollectReport;

/// Why a run stopped before its end (it stays unfinished and can be resumed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopCause {
    /// The caller asked to stop (e.g. Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// The source failed: a daily quota, a rate limit longer than allowed, a server that
    /// kept failing, the network, a cursor the platform repeated.
    #[error(transparent)]
    Source(SourceError),
    /// The store failed after the run started.
    #[error(transparent)]
    Store(StoreError),
}

/// What can end a collection or an import.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// A fresh run was asked for while the person has an unfinished one.
    #[error(
        "{} has an unfinished run (run {}, started {}, {} page(s) with {} item(s) committed{}): \
         resume it to continue from its last committed page, or restart to begin again",
        .run.key(),
        .run.id,
        .run.started_at.format("%Y-%m-%d %H:%M UTC"),
        .run.pages,
        .run.items,
        .run.stop_reason.as_deref().map(|r| format!("; it stopped: {r}")).unwrap_or_default()
    )]
    Unfinished {
        /// The person's unfinished run (its id, progress and why it stopped).
        run: Box<CollectionRun>,
    },
    /// The run stopped before its end; what it committed is kept and it can be resumed.
    #[error("{cause}{}", stopped_note(.report.as_deref()))]
    Stopped {
        /// The run so far (`None` when it stopped before it started: nothing committed).
        report: Option<Box<CollectReport>>,
        /// What stopped it: an interruption, the source or the store.
        cause: StopCause,
    },
    /// The profile read is not valid (e.g. fewer likes than the minimum): not stored.
    #[error("{label} rejected, nothing stored: {rejected}")]
    Rejected {
        /// What was read, e.g. `tiktok profile of mila.reyes`.
        label: String,
        /// Every violation.
        rejected: Rejected,
        /// The run, for API collections (it ended as rejected).
        report: Option<Box<CollectReport>>,
    },
    /// The source failed before anything was committed (e.g. the account lookup, an
    /// unreadable export).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed before the run started, or while ending it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The platform refused to renew the access the person granted (revoked or expired):
    /// they must connect the account again.
    #[error("{} no longer accepts the access granted: {error}", .platform.display_name())]
    AccessRevoked {
        /// The account's platform.
        platform: Platform,
        /// The platform's refusal.
        error: OAuthError,
    },
    /// Renewing the access failed otherwise (the platform, the network, this server's app
    /// credentials): the stored tokens stay; try again later.
    #[error("{} did not renew the access: {error}", .platform.display_name())]
    Renewal {
        /// The account's platform.
        platform: Platform,
        /// What failed.
        error: OAuthError,
    },
    /// The input of an import cannot be read on (truncated, junk between records, I/O; while
    /// checking every record first, also a record that is not JSON).
    #[error("{error}{}", if *.checking { "; nothing stored" } else { "" })]
    Unreadable {
        /// What cannot be read, and where.
        error: RecordError,
        /// Whether it was found while checking, before anything was stored.
        checking: bool,
    },
    /// A processing setting is out of range (e.g. the vectorizer's).
    #[error(transparent)]
    Processing(#[from] ProcessingError),
    /// What the store holds for the run cannot be read back (e.g. a changed client).
    #[error("collection run {run_id}: {message}")]
    Corrupt {
        /// The run's row id.
        run_id: i64,
        /// What cannot be read back, and where.
        message: String,
    },
}

fn stopped_note(report: Option<&CollectReport>) -> String {
    match report {
        Some(r) => format!(
            "; run {} stopped with {} page(s) committed ({} by this attempt), which are kept: \
             resume it to continue from there",
            r.run_id,
            r.pages_fetched + r.pages_resumed,
            r.pages_fetched
        ),
        None => "; nothing was committed".to_owned(),
    }
}
