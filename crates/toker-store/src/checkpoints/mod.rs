//! Checkpoints of resumable collection (what `toker-collect` drives), and profile writes
//! that report [`Written::Unchanged`] instead of touching a profile whose content is
//! identical.
//!
//! What a run, a checkpoint and a marker are, and how collection uses them, is described
//! once: in the `toker-collect` crate docs, section "The model". What the store guarantees
//! is that [`Store::commit_page`] writes a page, its list's [`Checkpoint`] and the rebuilt
//! profile in **one transaction**, that at most one run per person is unfinished, and that
//! a run's end moves the person's [`Marker`] only when it read every list to its end
//! ([`ListingState::read_everything`]).
//!
//! The store keeps no rules about what a page means: cursors and raw pages are the
//! caller's; it only keeps them consistent.

use std::fmt;
use std::str::FromStr;

pub(crate) mod rows;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toker_model::{Platform, Profile};

use crate::backend::dispatch;
use crate::columns::DbTime;
use crate::connection::Transactions;
use crate::error::StoreError;
use crate::profiles::Written;
use crate::profiles::rows::PreparedProfile;
use crate::store::Store;
use rows::{CheckpointDbRow, MarkerDbRow, PageDbRow, RunDbRow, invalid, json_out};

/// How a run reads each list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Every page, from the first to the last (or to an item bound).
    Full,
    /// From the first page until the items already known at the last complete run.
    SinceLast,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not ended: it can be resumed (or abandoned).
    Unfinished,
    /// Ended after its last page.
    Complete,
    /// Given up in favour of a new run; its committed pages stay in the profile.
    Abandoned,
    /// Ended, but the profile it read was not valid (e.g. too few likes) and was not stored.
    Rejected,
}

/// Where a run is in one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingState {
    /// More pages to read: the checkpoint's cursor is the next one.
    Reading,
    /// The list's last page is committed.
    Ended,
    /// An incremental run reached items already known at the last complete run.
    CaughtUp,
    /// Stopped at the run's item bound: the list was not read to its end.
    Bounded,
    /// The platform refused to show the list (private list, missing permission).
    Refused,
}

/// Implements `as_str`, `Display` and `FromStr` for a stored enum.
macro_rules! stored_names {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The name stored in the database.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " {:?}: expected one of {}"),
                        other,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

stored_names!(RunMode, "run mode", { Full => "full", SinceLast => "since_last" });
stored_names!(RunStatus, "run status", {
    Unfinished => "unfinished",
    Complete => "complete",
    Abandoned => "abandoned",
    Rejected => "rejected",
});
stored_names!(ListingState, "list state", {
    Reading => "reading",
    Ended => "ended",
    CaughtUp => "caught_up",
    Bounded => "bounded",
    Refused => "refused",
});

impl ListingState {
    /// Whether the list is finished for this run (no page left to ask for).
    #[must_use]
    pub const fn is_final(self) -> bool {
        !matches!(self, ListingState::Reading)
    }

    /// Whether the run has everything of the list that can be read: its end, the items
    /// known at the last complete run, or a list the platform refuses. A bounded list
    /// has not been read to its end.
    #[must_use]
    pub const fn read_everything(self) -> bool {
        matches!(
            self,
            ListingState::Ended | ListingState::CaughtUp | ListingState::Refused
        )
    }
}

/// One collection run, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionRun {
    /// The run's row id.
    pub id: i64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The person as asked for, normalised by the collector (e.g. `mila.reyes`, `me`).
    pub subject: String,
    /// How it reads.
    pub mode: RunMode,
    /// Where it is.
    pub status: RunStatus,
    /// The item bound per list it was started with.
    pub max_items: Option<u64>,
    /// The account as looked up when it started (the collector's JSON).
    pub account: Value,
    /// The raw profile its pages are merged onto (`None` once ended, or when there was none).
    pub base: Option<Value>,
    /// The merged raw profile it ended with (kept for the latest ended run only).
    pub result: Option<Value>,
    /// Why an unfinished run stopped (quota, interruption, error), or why it was abandoned.
    pub stop_reason: Option<String>,
    /// How many pages the run has committed, over every list.
    pub pages: u64,
    /// Items on the committed pages.
    pub items: u64,
    /// When it started (UTC).
    pub started_at: DateTime<Utc>,
    /// When it last committed or changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// When it ended (UTC).
    pub finished_at: Option<DateTime<Utc>>,
}

impl CollectionRun {
    /// `platform:subject`, for messages.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.subject)
    }
}

/// A run to start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewRun<'a> {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The person as asked for, normalised (not empty).
    pub subject: &'a str,
    /// How it reads.
    pub mode: RunMode,
    /// The item bound per list.
    pub max_items: Option<u64>,
    /// The account as looked up (kept so that a resumed run need not look it up again).
    pub account: &'a Value,
    /// The raw profile its pages are merged onto, if any.
    pub base: Option<&'a Value>,
}

/// One list's checkpoint in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The list (`liked`, `reposted`, `posts`).
    pub listing: String,
    /// Where the run is in it.
    pub state: ListingState,
    /// The cursor of the next page (to ask for while [`ListingState::Reading`]).
    pub next_cursor: Option<String>,
    /// How many pages of this list the run has committed.
    pub pages: u32,
    /// Items on them.
    pub items: u64,
    /// When it last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A page a run committed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommittedPage {
    /// Which list: `liked`, `reposted` or `posts` (the collector's names).
    pub listing: String,
    /// Its number in the list, from 1.
    pub seq: u32,
    /// The cursor it was asked for with (`None`: the first page).
    pub cursor: Option<String>,
    /// The cursor of the page after it, if any.
    pub next_cursor: Option<String>,
    /// The items kept from it.
    pub item_count: u64,
    /// The page as received (the collector's JSON).
    pub raw: Value,
    /// When it was committed (UTC).
    pub committed_at: DateTime<Utc>,
}

/// A page to commit, with its list's new state and the profile rebuilt from every
/// committed page (this one included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageCommit<'a> {
    /// The run's row id.
    pub run_id: i64,
    /// Which list: `liked`, `reposted` or `posts` (the collector's names).
    pub listing: &'a str,
    /// The page, or `None` to change the list's state alone (e.g. a refused list).
    pub page: Option<NewPage<'a>>,
    /// The list's state after it.
    pub state: ListingState,
    /// The cursor of the next page (where a later run could continue).
    pub next_cursor: Option<&'a str>,
    /// The profile to store with it (`None` while it is not valid yet).
    pub profile: Option<ProfileWrite<'a>>,
}

/// A page's content.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewPage<'a> {
    /// The cursor it was asked for with (`None`: the first page).
    pub cursor: Option<&'a str>,
    /// The items kept from it.
    pub item_count: u64,
    /// The page as received.
    pub raw: &'a Value,
}

/// A profile to write if its content changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileWrite<'a> {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The validated, cleaned profile.
    pub profile: &'a Profile,
    /// The raw JSON the profile was built from, stored as its `raw_json`.
    pub raw: &'a Value,
    /// Who stores it (`None` keeps the stored owner).
    pub owner: Option<&'a str>,
    /// Whether a different raw JSON alone is a change. `false` suits API payloads, which
    /// carry per-request ids: a profile equal to the stored one is then left as stored,
    /// raw JSON included (it derives the same profile).
    pub compare_raw: bool,
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunEnd<'a> {
    /// [`RunStatus::Complete`], [`RunStatus::Abandoned`] or [`RunStatus::Rejected`].
    pub status: RunStatus,
    /// The merged raw profile it ends with (the next run's base).
    pub result: &'a Value,
    /// Whether the person's marker moves to this run (only when it read everything).
    pub move_marker: bool,
    /// Why (kept as the run's stop reason), for abandoned or rejected runs.
    pub reason: Option<&'a str>,
    /// The profile to store with the end, if any.
    pub profile: Option<ProfileWrite<'a>>,
}

/// The last complete run of a person: what incremental runs compare against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The person as asked for, normalised.
    pub subject: String,
    /// The complete run.
    pub run_id: i64,
    /// The raw profile it ended with.
    pub raw: Value,
    /// When it completed (UTC).
    pub completed_at: DateTime<Utc>,
}

fn prepared<'a>(w: &ProfileWrite<'a>, now: DbTime) -> Result<PreparedProfile<'a>, StoreError> {
    PreparedProfile::new(w.platform, w.profile, w.raw, w.owner, None, now)
}

pub(crate) fn subject_key(platform: Platform, subject: &str) -> String {
    format!("{platform}:{subject}")
}

impl Store {
    /// Stores a profile like [`Store::upsert_profile`], unless the stored one with the same
    /// key is identical (profile, raw JSON, and owner when one is given): then nothing is
    /// written, `updated_at` stays, and the result is [`Written::Unchanged`].
    ///
    /// # Errors
    /// As [`Store::upsert_profile`].
    pub fn upsert_profile_if_changed(
        &mut self,
        platform: Platform,
        profile: &Profile,
        raw: &Value,
        owner: Option<&str>,
    ) -> Result<Written, StoreError> {
        let write = ProfileWrite {
            platform,
            profile,
            raw,
            owner,
            compare_raw: true,
        };
        let p = prepared(&write, DbTime::now())?;
        let context = format!("upserting {}", p.record);
        let (conn, vectorizer) = self.conn_and_vectorizer();
        dispatch!(conn, |c, q| c.write(&context, |c| {
            q::checkpoints::write_if_changed(c, &write, &p, vectorizer)
        }))
    }

    /// Starts a run; returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the person has an unfinished run (resume or end it
    /// first); [`StoreError::Invalid`] for an empty subject.
    pub fn start_run(&mut self, run: &NewRun<'_>) -> Result<CollectionRun, StoreError> {
        let key = subject_key(run.platform, run.subject);
        if run.subject.trim().is_empty() {
            return Err(invalid(
                format!("collection run of {key}"),
                "the person (subject) is empty",
            ));
        }
        let context = format!("starting a collection run of {key}");
        let now = DbTime::now();
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| q::checkpoints::start_run(c, run, now)))?
        .into_run()
    }

    /// The person's unfinished run, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn unfinished_run(
        &mut self,
        platform: Platform,
        subject: &str,
    ) -> Result<Option<CollectionRun>, StoreError> {
        let context = format!(
            "looking up the unfinished run of {}",
            subject_key(platform, subject)
        );
        dispatch!(self.conn_mut(), |c, q| c.read(&context, |c| {
            q::checkpoints::unfinished_run(c, platform, subject)
        }))?
        .map(RunDbRow::into_run)
        .transpose()
    }

    /// The run with this id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub fn collection_run(&mut self, run_id: i64) -> Result<CollectionRun, StoreError> {
        let context = format!("loading collection run {run_id}");
        dispatch!(self.conn_mut(), |c, q| c
            .read(&context, |c| q::checkpoints::run(c, run_id)))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("collection run {run_id}"),
        })?
        .into_run()
    }

    /// Every run of a person, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn collection_runs(
        &mut self,
        platform: Platform,
        subject: &str,
    ) -> Result<Vec<CollectionRun>, StoreError> {
        let context = format!(
            "listing the collection runs of {}",
            subject_key(platform, subject)
        );
        dispatch!(self.conn_mut(), |c, q| c
            .read(&context, |c| q::checkpoints::runs(c, platform, subject)))?
        .into_iter()
        .map(RunDbRow::into_run)
        .collect()
    }

    /// A run's checkpoints, by list name.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn run_checkpoints(&mut self, run_id: i64) -> Result<Vec<Checkpoint>, StoreError> {
        let context = format!("loading the checkpoints of collection run {run_id}");
        dispatch!(self.conn_mut(), |c, q| c
            .read(&context, |c| q::checkpoints::checkpoints(c, run_id)))?
        .into_iter()
        .map(CheckpointDbRow::into_checkpoint)
        .collect()
    }

    /// The pages an unfinished run committed, by list and number (an ended run keeps none:
    /// they are folded into its result).
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Invalid`] for a corrupt page.
    pub fn run_pages(&mut self, run_id: i64) -> Result<Vec<CommittedPage>, StoreError> {
        let context = format!("loading the pages of collection run {run_id}");
        dispatch!(self.conn_mut(), |c, q| c
            .read(&context, |c| q::checkpoints::pages(c, run_id)))?
        .into_iter()
        .map(PageDbRow::into_page)
        .collect()
    }

    /// Commits a page, its list's checkpoint and the profile (if given and changed) in one
    /// transaction; returns what the profile write did.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run; [`StoreError::Invalid`] when the run is
    /// not unfinished, the list is already final, or the profile cannot be stored (then
    /// nothing of the commit is stored).
    pub fn commit_page(&mut self, commit: &PageCommit<'_>) -> Result<Option<Written>, StoreError> {
        let now = DbTime::now();
        let profile = commit
            .profile
            .as_ref()
            .map(|w| prepared(w, now))
            .transpose()?;
        let context = format!(
            "committing a {} page of collection run {}",
            commit.listing, commit.run_id
        );
        let (conn, vectorizer) = self.conn_and_vectorizer();
        dispatch!(conn, |c, q| c.write(&context, |c| {
            q::checkpoints::commit_page(c, commit, profile.as_ref(), now, vectorizer)
        }))
    }

    /// Records why an unfinished run stopped (it stays unfinished, to be resumed).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such unfinished run.
    pub fn stop_run(&mut self, run_id: i64, reason: &str) -> Result<(), StoreError> {
        let context = format!("recording why collection run {run_id} stopped");
        let now = DbTime::now();
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::checkpoints::stop_run(c, run_id, reason, now)
        }))
    }

    /// Ends an unfinished run in one transaction: stores the profile (if given and changed),
    /// keeps `end.result` as the run's result (the next run's base) and drops its pages,
    /// and moves the person's marker when `end.move_marker`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run; [`StoreError::Invalid`] when it is not
    /// unfinished or `end.status` is [`RunStatus::Unfinished`].
    pub fn end_run(
        &mut self,
        run_id: i64,
        end: &RunEnd<'_>,
    ) -> Result<Option<Written>, StoreError> {
        if end.status == RunStatus::Unfinished {
            return Err(invalid(
                format!("collection run {run_id}"),
                "a run cannot end as unfinished",
            ));
        }
        let now = DbTime::now();
        let profile = end.profile.as_ref().map(|w| prepared(w, now)).transpose()?;
        let context = format!("ending collection run {run_id} as {}", end.status);
        let (conn, vectorizer) = self.conn_and_vectorizer();
        dispatch!(conn, |c, q| c.write(&context, |c| {
            q::checkpoints::end_run(c, run_id, end, profile.as_ref(), now, vectorizer)
        }))
    }

    /// The result of the person's latest ended run (what a new run builds on), if any.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Invalid`] for corrupt JSON.
    pub fn latest_result(
        &mut self,
        platform: Platform,
        subject: &str,
    ) -> Result<Option<Value>, StoreError> {
        let key = subject_key(platform, subject);
        let context = format!("loading the latest collection result of {key}");
        dispatch!(self.conn_mut(), |c, q| c.read(&context, |c| {
            q::checkpoints::latest_result(c, platform, subject)
        }))?
        .map(|text| json_out(&format!("collection result of {key}"), "raw profile", &text))
        .transpose()
    }

    /// The person's marker (their last complete run), if any.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Invalid`] for corrupt JSON.
    pub fn collection_marker(
        &mut self,
        platform: Platform,
        subject: &str,
    ) -> Result<Option<Marker>, StoreError> {
        let context = format!(
            "loading the collection marker of {}",
            subject_key(platform, subject)
        );
        dispatch!(self.conn_mut(), |c, q| c
            .read(&context, |c| q::checkpoints::marker(c, platform, subject)))?
        .map(MarkerDbRow::into_marker)
        .transpose()
    }
}
