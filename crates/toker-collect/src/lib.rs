//! `toker-collect` owns resumable collection: driving a platform API's pages into the store
//! with checkpoints, so that a collection killed at any point (crash, Ctrl-C, rate limit,
//! daily quota) resumes at the first page it did not commit — no item missing, none twice,
//! no page asked for again — and incremental runs ask only for what is new since the last
//! *complete* run. It also makes data-export imports idempotent.
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
//! assert_eq!(first.profile.outcome, Written::Created);
//! assert!(first.items.new > 0);
//! // The same archive again changes nothing.
//! let again = import_archive(&mut store, Platform::TikTok, archive, &rules, None)?;
//! assert_eq!(again.profile.outcome, Written::Unchanged);
//! assert_eq!((again.items.new, again.items.updated), (0, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The model
//! A *run* reads one person (`platform` + subject, see [`subject_of`]) list by list
//! (`liked`, `reposted`, `posts`) and page by page. After every page, one store transaction
//! ([`toker_store::Store::commit_page`]) writes the page, the list's checkpoint (the cursor
//! of the next page) and the profile rebuilt by the client's `profile_from_raw` from every
//! committed page merged onto the previous run's result — so the stored profile never
//! shrinks while a run is under way, and re-running is idempotent (a video is linked once,
//! its counts are the latest seen, identical content is not rewritten).
//!
//! - [`Start::Resume`] continues the person's unfinished run from its checkpoints, without
//!   looking the account up again or asking for any committed page.
//! - [`Start::Fresh`] refuses to start while a run is unfinished ([`CollectError::Unfinished`]):
//!   resume it, or [`Start::Restart`].
//! - [`Start::SinceLast`] reads each list from its newest page until a page whose items were
//!   all known at the person's *marker* (the last run that read every page), and keeps the
//!   older items from before. Only a run that read everything moves the marker; an
//!   interrupted, failed or bounded run never does, so nothing it missed is skipped later.

mod api;
mod error;
mod export;
mod items;
mod merge;
mod report;
mod sleeper;

pub use api::{CollectRequest, NoProgress, Progress, Start, collect_api, subject_of};
pub use error::{CollectError, StopCause};
pub use export::{ImportReport, import_archive, import_archive_with_limits};
pub use items::{ItemChanges, ItemCounts, diff_items, page_item_ids};
pub use report::{CollectReport, ListingReport, ProfileReport};
pub use sleeper::{ReportingSleeper, describe_wait};
