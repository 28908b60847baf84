//! Collecting a person from a platform API page by page, with a checkpoint after each page.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::pin;

use serde_json::Value;
use toker_model::{Profile, ValidationRules};
use toker_processing::prepare::{Prepared, Rejected, prepare_profile};
use toker_sources::http::{Account, ApiClient, Listing, Page, PageRequest};
use toker_sources::{SourceError, UserRef};
use toker_store::{
    CollectionRun, ListingState, NewPage, NewRun, PageCommit, ProfileWrite, RunEnd, RunMode,
    RunStatus, Store, StoreError, Written,
};

use crate::error::{CollectError, StopCause};
use crate::items::{diff_items, page_item_ids};
use crate::merge::{known_ids, listing_of, merged_raw, union_raw};
use crate::report::{CollectReport, ListingReport, ProfileReport};

/// How a collection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Start {
    /// A new full run; refused while the person has an unfinished run.
    Fresh,
    /// Continue the person's unfinished run from its checkpoints (a new full run when
    /// there is none).
    Resume,
    /// Abandon the person's unfinished run, if any (its committed pages stay in the
    /// profile), and start a new full run.
    Restart,
    /// A new incremental run: each list from its newest page until the items known at the
    /// last complete run. An unfinished run is abandoned first: this run reads everything
    /// new since the last complete run, which covers what the unfinished one missed.
    SinceLast,
}

/// What to collect.
#[derive(Debug, Clone, Copy)]
pub struct CollectRequest<'a> {
    /// The person: a handle or id, as the platform's client takes it.
    pub user: &'a UserRef,
    /// How to start.
    pub start: Start,
    /// Read at most this many items of each list (ignored when resuming: a run keeps the
    /// bound it started with).
    pub max_items: Option<u64>,
    /// The rules a profile must meet to be stored.
    pub rules: &'a ValidationRules,
    /// Who stores the profile (`None` keeps the stored owner).
    pub owner: Option<&'a str>,
}

/// Hears how a collection goes (e.g. to move a progress bar). Every method does nothing
/// by default.
pub trait Progress {
    /// A run is about to read: `resumed` when it continues an unfinished run, with
    /// `pages` already committed.
    fn started(&mut self, run: &CollectionRun, resumed: bool) {
        let _ = (run, resumed);
    }

    /// A page was committed: its number in `listing` and the list's items so far.
    fn page(&mut self, listing: Listing, page: u32, items: u64) {
        let _ = (listing, page, items);
    }

    /// Something worth telling the person (an abandoned run, a refused list).
    fn note(&mut self, message: &str) {
        let _ = message;
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The subject a run is kept under: the person as asked for, trimmed, without a leading
/// `@`, lower-case (`@Mila.Reyes` and `mila.reyes` are one person; `me` stays `me`).
#[must_use]
pub fn subject_of(user: &UserRef) -> String {
    user.as_str().trim().trim_start_matches('@').to_lowercase()
}

/// Collects one person from `client` into `store`, committing after every page, until
/// every list is read or `stop` completes (e.g. on Ctrl-C).
///
/// # Errors
/// - [`CollectError::Unfinished`] for [`Start::Fresh`] while a run is unfinished;
/// - [`CollectError::Stopped`] when `stop` completed or the source failed after the run
///   started (quota, rate limit, server, network): the committed pages are kept and the
///   run can be resumed;
/// - [`CollectError::Rejected`] when the profile read is not valid (nothing stored);
/// - [`CollectError::Source`] when the account lookup failed (nothing committed);
/// - [`CollectError::Store`], [`CollectError::Corrupt`].
pub async fn collect_api(
    store: &mut Store,
    client: &dyn ApiClient,
    request: &CollectRequest<'_>,
    progress: &mut dyn Progress,
    stop: impl Future<Output = ()>,
) -> Result<CollectReport, CollectError> {
    let mut stop = pin!(stop);
    let platform = client.platform();
    let subject = subject_of(request.user);
    let unfinished = store.unfinished_run(platform, &subject)?;
    let (run, resumed) = match (request.start, unfinished) {
        (Start::Fresh, Some(run)) => {
            return Err(CollectError::Unfinished { run: Box::new(run) });
        }
        (Start::Resume, Some(run)) => (run, true),
        (start, existing) => {
            if let Some(old) = existing {
                let why = match start {
                    Start::SinceLast => "superseded by a since-last run",
                    _ => "restarted",
                };
                abandon(store, client, old, why, progress)?;
            } else if start == Start::Resume {
                progress.note(&format!(
                    "{platform}:{subject} has no unfinished run to resume: starting a new one"
                ));
            }
            let mode = match start {
                Start::SinceLast => RunMode::SinceLast,
                _ => RunMode::Full,
            };
            let account = tokio::select! {
                account = client.fetch_account(request.user) => account?,
                () = &mut stop => {
                    return Err(CollectError::Stopped { report: None, cause: StopCause::Interrupted });
                }
            };
            let latest = store.latest_result(platform, &subject)?;
            let base = match mode {
                RunMode::Full => latest,
                RunMode::SinceLast => {
                    let marker = store.collection_marker(platform, &subject)?;
                    union_raw(latest, marker.as_ref().map(|m| &m.raw))
                }
            };
            let account_json = serde_json::to_value(&account).map_err(|e| {
                CollectError::Store(StoreError::Invalid {
                    record: format!("collection run of {platform}:{subject}"),
                    message: format!("the account cannot be serialized: {e}"),
                })
            })?;
            let run = store.start_run(&NewRun {
                platform,
                subject: &subject,
                mode,
                max_items: request.max_items,
                account: &account_json,
                base: base.as_ref(),
            })?;
            (run, false)
        }
    };
    progress.started(&run, resumed);
    let mut runner = Runner::load(store, client, run, request, resumed)?;
    runner.read(progress, stop.as_mut()).await?;
    runner.finish()
}

/// Ends `run` as abandoned: its result is its pages merged onto its base (already what
/// the stored profile shows), so nothing it committed is lost.
fn abandon(
    store: &mut Store,
    client: &dyn ApiClient,
    run: CollectionRun,
    why: &str,
    progress: &mut dyn Progress,
) -> Result<(), CollectError> {
    let rules = ValidationRules::default();
    let request = CollectRequest {
        user: &UserRef::new(run.subject.clone()),
        start: Start::Resume,
        max_items: None,
        rules: &rules,
        owner: None,
    };
    let (id, key, pages) = (run.id, run.key(), run.pages);
    let runner = Runner::load(store, client, run, &request, true)?;
    let result = runner.merged();
    store.end_run(
        id,
        &RunEnd {
            status: RunStatus::Abandoned,
            result: &result,
            move_marker: false,
            reason: Some(why),
            profile: None,
        },
    )?;
    progress.note(&format!(
        "the unfinished run {id} of {key} ({pages} page(s) committed, kept in the profile) \
         was abandoned: {why}"
    ));
    Ok(())
}

/// One list's position in the run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    state: ListingState,
    next_cursor: Option<String>,
    pages: u32,
    items: u64,
}

impl Default for Position {
    fn default() -> Self {
        Position {
            state: ListingState::Reading,
            next_cursor: None,
            pages: 0,
            items: 0,
        }
    }
}

/// A run being read.
struct Runner<'s> {
    store: &'s mut Store,
    client: &'s dyn ApiClient,
    run: CollectionRun,
    account: Account,
    rules: ValidationRules,
    owner: Option<String>,
    resumed: bool,
    positions: BTreeMap<Listing, Position>,
    /// Raw pages committed, per list, in order.
    pages: BTreeMap<Listing, Vec<Value>>,
    /// Cursors seen per list (a cursor seen twice would loop).
    cursors: BTreeMap<Listing, HashSet<String>>,
    /// For since-last runs: the ids known at the marker, per list.
    known: BTreeMap<Listing, HashSet<String>>,
    /// The profile stored when this invocation began (loaded before its first write).
    before: Option<Option<Profile>>,
    /// The last profile stored by this invocation, and what the write did.
    stored: Option<(Written, Profile)>,
    fetched: u64,
    resumed_pages: u64,
    warnings: Vec<String>,
    /// What the client noticed building the latest profile.
    profile_warnings: Vec<String>,
}

impl<'s> Runner<'s> {
    fn load(
        store: &'s mut Store,
        client: &'s dyn ApiClient,
        run: CollectionRun,
        request: &CollectRequest<'_>,
        resumed: bool,
    ) -> Result<Self, CollectError> {
        let corrupt = |message: String| CollectError::Corrupt {
            run_id: run.id,
            message,
        };
        let account: Account = serde_json::from_value(run.account.clone())
            .map_err(|e| corrupt(format!("its stored account cannot be read: {e}")))?;
        let mut positions: BTreeMap<Listing, Position> = BTreeMap::new();
        for cp in store.run_checkpoints(run.id)? {
            let listing = listing_of(&cp.listing).ok_or_else(|| {
                corrupt(format!("unknown list {:?} in its checkpoints", cp.listing))
            })?;
            positions.insert(
                listing,
                Position {
                    state: cp.state,
                    next_cursor: cp.next_cursor,
                    pages: cp.pages,
                    items: cp.items,
                },
            );
        }
        let mut pages: BTreeMap<Listing, Vec<Value>> = BTreeMap::new();
        let mut cursors: BTreeMap<Listing, HashSet<String>> = BTreeMap::new();
        let mut resumed_pages = 0;
        for page in store.run_pages(run.id)? {
            let listing = listing_of(&page.listing)
                .ok_or_else(|| corrupt(format!("unknown list {:?} in its pages", page.listing)))?;
            if let Some(cursor) = page.cursor {
                cursors.entry(listing).or_default().insert(cursor);
            }
            pages.entry(listing).or_default().push(page.raw);
            resumed_pages += 1;
        }
        let known = match run.mode {
            RunMode::SinceLast => {
                let marker = store.collection_marker(run.platform, &run.subject)?;
                known_ids(marker.as_ref().map(|m| &m.raw))
            }
            RunMode::Full => BTreeMap::new(),
        };
        Ok(Runner {
            store,
            client,
            account,
            rules: request.rules.clone(),
            owner: request.owner.map(str::to_owned),
            resumed,
            positions,
            pages,
            cursors,
            known,
            before: None,
            stored: None,
            fetched: 0,
            resumed_pages,
            warnings: Vec::new(),
            profile_warnings: Vec::new(),
            run,
        })
    }

    fn position(&self, listing: Listing) -> Position {
        self.positions.get(&listing).cloned().unwrap_or_default()
    }

    /// The run's raw profile now.
    fn merged(&self) -> Value {
        merged_raw(
            &self.account.raw,
            self.run.base.as_ref(),
            &self.account.listings,
            &self.pages,
            |l| self.position(l).state,
            self.run.mode,
        )
    }

    /// Reads every list to its end (or bound, or the known items) from its checkpoint.
    async fn read(
        &mut self,
        progress: &mut dyn Progress,
        mut stop: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), CollectError> {
        if !self.resumed {
            self.warnings.extend(self.account.warnings.iter().cloned());
        }
        let listings = self.account.listings.clone();
        for listing in listings {
            loop {
                let at = self.position(listing);
                if at.state.is_final() {
                    break;
                }
                let wanted = self.run.max_items.map(|m| m.saturating_sub(at.items));
                if wanted == Some(0) {
                    self.commit_state(listing, ListingState::Bounded)?;
                    break;
                }
                let fetched = tokio::select! {
                    page = self.client.fetch_page(PageRequest {
                        account: &self.account,
                        listing,
                        cursor: at.next_cursor.as_deref(),
                        max_items: wanted,
                    }) => page,
                    () = &mut stop => return Err(self.stopped(StopCause::Interrupted)),
                };
                match fetched {
                    Ok(page) => {
                        self.commit(listing, at.next_cursor.as_deref(), page)?;
                        let now = self.position(listing);
                        progress.page(listing, now.pages, now.items);
                    }
                    Err(SourceError::PermissionDenied {
                        endpoint, message, ..
                    }) => {
                        let note = format!(
                            "{listing} not read: {endpoint} refused ({message}); its counts stay \
                             as before (unknown if never read)"
                        );
                        progress.note(&note);
                        self.warnings.push(note);
                        self.commit_state(listing, ListingState::Refused)?;
                    }
                    Err(e) => return Err(self.stopped(StopCause::Source(e))),
                }
            }
        }
        Ok(())
    }

    /// The state of `listing` after `page`.
    fn state_after(&self, listing: Listing, page: &Page, items: u64) -> ListingState {
        let ids = page_item_ids(&page.raw).unwrap_or_default();
        let caught_up = self.run.mode == RunMode::SinceLast
            && !ids.is_empty()
            && self
                .known
                .get(&listing)
                .is_some_and(|known| ids.iter().all(|id| known.contains(id)));
        if page.truncated {
            ListingState::Bounded
        } else if page.next_cursor.is_none() {
            ListingState::Ended
        } else if caught_up {
            ListingState::CaughtUp
        } else if self.run.max_items.is_some_and(|m| items >= m) {
            ListingState::Bounded
        } else {
            ListingState::Reading
        }
    }

    /// Commits `page` with its checkpoint and the rebuilt profile, in one transaction.
    fn commit(
        &mut self,
        listing: Listing,
        cursor: Option<&str>,
        page: Page,
    ) -> Result<(), CollectError> {
        let before = self.position(listing);
        let items = before.items + page.item_count;
        let state = self.state_after(listing, &page, items);
        if state == ListingState::Reading
            && let Some(next) = &page.next_cursor
            && (self.cursors.get(&listing).is_some_and(|c| c.contains(next))
                || cursor == Some(next.as_str()))
        {
            let error = SourceError::Pagination {
                platform: self.run.platform,
                listing: listing.raw_key(),
                message: format!(
                    "the platform returned cursor {next:?} again after {} pages: stopping instead \
                     of looping",
                    before.pages + 1
                ),
            };
            return Err(self.stopped(StopCause::Source(error)));
        }
        // Tentatively: the merged profile includes this page.
        self.pages
            .entry(listing)
            .or_default()
            .push(page.raw.clone());
        let after = Position {
            state,
            next_cursor: page.next_cursor.clone(),
            pages: before.pages + 1,
            items,
        };
        self.positions.insert(listing, after);
        let result = self.write_page(listing, cursor, &page, state);
        if let Err(e) = result {
            if let Some(list) = self.pages.get_mut(&listing) {
                list.pop();
            }
            self.positions.insert(listing, before);
            return Err(e);
        }
        if let Some(c) = cursor {
            self.cursors
                .entry(listing)
                .or_default()
                .insert(c.to_owned());
        }
        self.fetched += 1;
        self.warnings.extend(page.warnings);
        Ok(())
    }

    fn write_page(
        &mut self,
        listing: Listing,
        cursor: Option<&str>,
        page: &Page,
        state: ListingState,
    ) -> Result<(), CollectError> {
        let raw = self.merged();
        let prepared = match self.build(&raw) {
            Ok(p) => Some(p),
            Err(Built::Rejected(_)) => None,
            Err(Built::Source(e)) => return Err(self.stopped(StopCause::Source(e))),
            Err(Built::Store(e)) => return Err(self.stopped(StopCause::Store(e))),
        };
        let record = NewPage {
            cursor,
            item_count: page.item_count,
            raw: &page.raw,
        };
        let next = page.next_cursor.as_deref();
        match self.store_commit(listing, Some(record), state, next, prepared) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.stopped(StopCause::Store(e))),
        }
    }

    /// Commits a list's new state without a page (bounded or refused).
    fn commit_state(&mut self, listing: Listing, state: ListingState) -> Result<(), CollectError> {
        let before = self.position(listing);
        self.positions.insert(
            listing,
            Position {
                state,
                ..before.clone()
            },
        );
        let raw = self.merged();
        let prepared = self.build(&raw).ok();
        let next = before.next_cursor.clone();
        if let Err(e) = self.store_commit(listing, None, state, next.as_deref(), prepared) {
            self.positions.insert(listing, before);
            return Err(self.stopped(StopCause::Store(e)));
        }
        Ok(())
    }

    /// One store transaction: the page (if any), the list's checkpoint, the profile.
    fn store_commit(
        &mut self,
        listing: Listing,
        page: Option<NewPage<'_>>,
        state: ListingState,
        next_cursor: Option<&str>,
        prepared: Option<Prepared>,
    ) -> Result<(), StoreError> {
        let written = self.store.commit_page(&PageCommit {
            run_id: self.run.id,
            listing: listing.raw_key(),
            page,
            state,
            next_cursor,
            profile: prepared
                .as_ref()
                .map(|p| write_of(p, self.owner.as_deref())),
        })?;
        self.note_written(written, prepared);
        Ok(())
    }

    /// Remembers a write; over one invocation, created beats updated beats unchanged.
    /// (A run writes one profile: deleting it deletes the run, so the id stays the same.)
    fn note_written(&mut self, written: Option<Written>, prepared: Option<Prepared>) {
        fn rank(w: Written) -> u8 {
            match w {
                Written::Created(_) => 2,
                Written::Updated(_) => 1,
                Written::Unchanged(_) | Written::Duplicate(_) => 0,
            }
        }
        if let (Some(what), Some(p)) = (written, prepared) {
            let what = match &self.stored {
                Some((earlier, _)) if rank(*earlier) > rank(what) => *earlier,
                _ => what,
            };
            self.stored = Some((what, p.profile));
        }
    }

    /// The profile of `raw`, validated and cleaned; loads the stored one first (once).
    fn build(&mut self, raw: &Value) -> Result<Prepared, Built> {
        let built = self.client.profile_from_raw(raw).map_err(Built::Source)?;
        self.profile_warnings = built.warnings.lines();
        if self.before.is_none() {
            let stored = match self
                .store
                .get_profile_by_key(built.platform, &built.profile.user_id)
            {
                Ok(p) => Some(p.profile),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(Built::Store(e)),
            };
            self.before = Some(stored);
        }
        prepare_profile(built.platform, built.profile, built.raw, &self.rules)
            .map_err(Built::Rejected)
    }

    /// Records why the run stopped (best effort) and builds the error.
    fn stopped(&mut self, cause: StopCause) -> CollectError {
        let reason = cause.to_string();
        if let Err(e) = self.store.stop_run(self.run.id, &reason) {
            tracing::warn!("could not record why run {} stopped: {e}", self.run.id);
        }
        let mut report = self.report(RunStatus::Unfinished, false);
        report.stopped = Some(reason);
        CollectError::Stopped {
            report: Some(Box::new(report)),
            cause,
        }
    }

    /// Ends the run: complete (moving the marker when every list was read to its end or
    /// to the known items), or rejected when the profile is not valid.
    fn finish(mut self) -> Result<CollectReport, CollectError> {
        let raw = self.merged();
        let read_everything = self
            .account
            .listings
            .iter()
            .all(|l| self.position(*l).state.read_everything());
        match self.build(&raw) {
            Ok(prepared) => {
                let written = self.store.end_run(
                    self.run.id,
                    &RunEnd {
                        status: RunStatus::Complete,
                        result: &raw,
                        move_marker: read_everything,
                        reason: None,
                        profile: Some(write_of(&prepared, self.owner.as_deref())),
                    },
                )?;
                self.warnings.append(&mut self.profile_warnings);
                self.note_written(written, Some(prepared));
                Ok(self.report(RunStatus::Complete, read_everything))
            }
            Err(Built::Rejected(rejected)) => {
                let reason = rejected.to_string();
                self.store.end_run(
                    self.run.id,
                    &RunEnd {
                        status: RunStatus::Rejected,
                        result: &raw,
                        move_marker: false,
                        reason: Some(&reason),
                        profile: None,
                    },
                )?;
                self.warnings.append(&mut self.profile_warnings);
                let report = self.report(RunStatus::Rejected, false);
                Err(CollectError::Rejected {
                    label: format!("{} profile of {}", self.run.platform, self.run.subject),
                    rejected,
                    report: Some(Box::new(report)),
                })
            }
            Err(Built::Source(e)) => Err(self.stopped(StopCause::Source(e))),
            Err(Built::Store(e)) => Err(self.stopped(StopCause::Store(e))),
        }
    }

    fn report(&self, status: RunStatus, marker_moved: bool) -> CollectReport {
        let listings = self
            .account
            .listings
            .iter()
            .map(|&listing| {
                let at = self.position(listing);
                ListingReport {
                    listing,
                    state: at.state,
                    pages: at.pages,
                    items: at.items,
                }
            })
            .collect();
        let (profile, changes) = match &self.stored {
            Some((what, profile)) => (
                Some(ProfileReport::new(self.run.platform, *what, profile)),
                diff_items(self.before.as_ref().and_then(Option::as_ref), profile),
            ),
            None => (None, Default::default()),
        };
        let mut warnings: Vec<String> = Vec::new();
        for w in &self.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        CollectReport {
            run_id: self.run.id,
            platform: self.run.platform,
            subject: self.run.subject.clone(),
            mode: self.run.mode,
            resumed: self.resumed,
            status,
            marker_moved,
            pages_fetched: self.fetched,
            pages_resumed: self.resumed_pages,
            listings,
            profile,
            items: changes.total(),
            items_by_list: changes,
            stopped: None,
            warnings,
        }
    }
}

/// The store write of a prepared profile.
fn write_of<'p>(p: &'p Prepared, owner: Option<&'p str>) -> ProfileWrite<'p> {
    ProfileWrite {
        platform: p.platform,
        profile: &p.profile,
        raw: &p.raw,
        owner,
        // Pages carry per-request ids (TikTok's log_id…): the profile decides.
        compare_raw: false,
    }
}

/// Why no profile could be built.
enum Built {
    Rejected(Rejected),
    Source(SourceError),
    Store(StoreError),
}
