//! `toker-collect` owns resumable collection: driving a platform API's pages into the store
//! with checkpoints, so that a collection killed at any point (crash, Ctrl-C, rate limit,
//! daily quota) resumes at the first page it did not commit — no item missing, none twice,
//! no page asked for again — and incremental runs ask only for what is new since the last
//! *complete* run. It also makes data-export imports idempotent, and holds the other work
//! that joins sources, processing and the store, so that the CLI and the REST API only
//! translate: refreshing a connected account with its sealed tokens ([`refresh_account`],
//! [`tokens`]), importing a file of profiles all or nothing ([`import_records`]), and
//! refitting every vector ([`vectorize_store`]).
//!
//! It must not talk HTTP itself (the API clients of `toker-sources` do), write SQL
//! (`toker-store` does), judge profiles by its own rules (`toker_processing::prepare` does),
//! or print anything (callers report, e.g. the `toker` CLI).
//!
//! ```
//! use std::path::Path;
//! use toker_collect::import_archive;
//! use toker_model::{Platform, ValidationRules};
//! use toker_store::{Store, Written};
//!
//! let mut store = Store::open(":memory:")?;
//! let archive = Path::new("../toker-testkit/fixtures/tiktok/export/activity_layout.zip");
//! let rules = ValidationRules::default();
//! let first = import_archive(&mut store, Platform::TikTok, archive, &rules, None)?;
//! assert!(matches!(first.profile.outcome, Written::Created(_)));
//! assert!(first.items.new > 0);
//! // The same archive again changes nothing.
//! let again = import_archive(&mut store, Platform::TikTok, archive, &rules, None)?;
//! assert_eq!(again.profile.outcome, Written::Unchanged(first.profile.id));
//! assert_eq!((again.items.new, again.items.updated), (0, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The model
//! This is the one description of resumable collection; the store's `checkpoints` module
//! and docs/ARCHITECTURE.md point here.
//!
//! A *run* reads one person (`platform` + subject, see [`subject_of`]) list by list
//! (`liked`, `reposted`, `posts`) and page by page. After every page, one store transaction
//! ([`toker_store::Store::commit_page`]) writes the page's raw JSON, the list's checkpoint
//! (the cursor of the next page, and a [`toker_store::ListingState`]: reading, ended,
//! caught up, bounded, refused) and the profile rebuilt by the client's `profile_from_raw`
//! from every committed page merged onto the previous run's result (the run's pages
//! first, so the latest counts win). The stored profile therefore never shrinks while a
//! run is under way; a full run that reads a list to its end replaces that list. A process
//! killed at any point resumes at the first page it did not commit, without asking for the
//! account or any committed page again. At most one run per person is unfinished.
//!
//! - [`Start::Resume`] continues the person's unfinished run from its checkpoints.
//! - [`Start::Fresh`] refuses to start while a run is unfinished ([`CollectError::Unfinished`]):
//!   resume it, or [`Start::Restart`], which abandons it (its pages stay in the profile).
//! - [`Start::SinceLast`] reads each list from its newest page and stops after the first
//!   page whose items (by id) were all known at the person's *marker*, keeping the older
//!   items from before. "New" means newer than that overlap, since every platform lists
//!   likes, reposts and posts newest first.
//!
//! A failure after the run started (a daily quota, a rate limit longer than the client may
//! wait, a server that keeps failing, an interruption such as Ctrl-C) stops the run cleanly
//! with its pages kept and the reason recorded ([`StopCause`]). When a run has read every
//! list to its end, its end moves the person's *marker* (the raw profile of the last
//! complete run); a bounded, interrupted, failed or abandoned run never moves it, so
//! whatever an interrupted run missed is still new to the next [`Start::SinceLast`].
//!
//! Re-runs are idempotent: a video is linked once, its counts are the latest seen, pages
//! that add no item are dropped from the raw JSON, and a profile equal to the stored one is
//! not rewritten (outcome `unchanged`, no `updated_at` bump; API payloads'
//! per-request ids alone are not a change). The [`CollectReport`] tells the profile's
//! outcome and its items as new, updated, unchanged or removed ([`ItemChanges`]) compared
//! with what was stored when the run began.
//!
//! A run remembers the profile it wrote: deleting that profile (`toker delete`, an owner's
//! erasure, `DELETE /v1/me`) deletes its runs with their raw pages, checkpoints and the
//! person's marker in the same transaction, so nothing collected about a deleted person is
//! kept and no later incremental run rebuilds them from an old marker. (Runs made before
//! the store recorded this, and a run that has not yet stored a profile, stay.)

mod api;
mod error;
mod export;
mod items;
pub mod jobs;
mod merge;
mod records;
mod refresh;
mod report;
mod sleeper;
pub mod tokens;
mod vectorize;
mod vectors;

pub use api::{CollectRequest, NoProgress, Progress, Start, collect_api, subject_of};
pub use error::{CollectError, StopCause};
pub use export::{ImportReport, import_archive, import_archive_with_limits};
pub use items::{ItemChanges, ItemCounts, diff_items, page_item_ids};
pub use records::{ImportMode, RecordsImport, RecordsReport, SkippedRecord, import_records};
pub use refresh::{RefreshOutcome, RefreshRequest, account_client, refresh_account};
pub use report::{CollectReport, ListingReport, ProfileReport};
pub use sleeper::{ReportingSleeper, describe_wait};
pub use vectorize::{VectorizeReport, vectorize_store};
pub use vectors::VocabularyVectorizer;
