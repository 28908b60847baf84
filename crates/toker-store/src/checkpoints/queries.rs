// Collection runs, checkpoints, pages and markers.
//
// Included once per backend by `crate::backend`; `Conn` is that backend's connection and
// `profile_queries` its compiled profile queries.

use diesel::prelude::*;
use toker_model::Platform;

use super::Conn;
use super::profiles as profile_queries;
use crate::checkpoints::rows::{
    CheckpointDbRow, MarkerDbRow, NewRunRow, PageDbRow, RunDbRow, count_in, invalid, json_in,
};
use crate::checkpoints::{
    ListingState, NewRun, PageCommit, ProfileWrite, RunEnd, RunStatus, subject_key,
};
use crate::error::{Found, StoreError, db, db_insert};
use crate::profiles::{OnConflict, Written};
use crate::profiles::rows::{DbTime, PreparedProfile};
use crate::vectors::ProfileVectorizer;
use crate::schema::{collection_checkpoints, collection_markers, collection_pages, collection_runs};

/// Writes the profile unless the stored one with its key is identical.
pub(crate) fn write_if_changed(
    c: &mut Conn,
    write: &ProfileWrite<'_>,
    prepared: &PreparedProfile<'_>,
    vectorizer: Option<&dyn ProfileVectorizer>,
) -> Result<Written, StoreError> {
    let stored =
        profile_queries::get_profile_by_key(c, write.platform, &write.profile.user_id)?;
    if let Some(s) = &stored {
        let same_owner = write.owner.is_none_or(|o| s.owner.as_deref() == Some(o));
        let same_raw = !write.compare_raw || s.raw_json == *write.raw;
        if same_owner && same_raw && s.profile == *write.profile {
            return Ok(Written::Unchanged(s.id));
        }
    }
    profile_queries::write_profiles(c, std::slice::from_ref(prepared), OnConflict::Replace, vectorizer)?
        .pop()
        .ok_or_else(|| invalid(prepared.record.clone(), "the database reported no row for it"))
}

pub(crate) fn unfinished_run(
    c: &mut Conn,
    platform: Platform,
    subject: &str,
) -> Result<Option<RunDbRow>, StoreError> {
    collection_runs::table
        .filter(collection_runs::platform.eq(platform.as_str()))
        .filter(collection_runs::subject.eq(subject))
        .filter(collection_runs::status.eq(RunStatus::Unfinished.as_str()))
        .select(RunDbRow::as_select())
        .first(c)
        .found(format!(
            "looking up the unfinished run of {}",
            subject_key(platform, subject)
        ))
}

pub(crate) fn run(c: &mut Conn, run_id: i64) -> Result<Option<RunDbRow>, StoreError> {
    collection_runs::table
        .find(run_id)
        .select(RunDbRow::as_select())
        .first(c)
        .found(format!("loading collection run {run_id}"))
}

pub(crate) fn runs(
    c: &mut Conn,
    platform: Platform,
    subject: &str,
) -> Result<Vec<RunDbRow>, StoreError> {
    collection_runs::table
        .filter(collection_runs::platform.eq(platform.as_str()))
        .filter(collection_runs::subject.eq(subject))
        .order(collection_runs::id.asc())
        .select(RunDbRow::as_select())
        .load(c)
        .map_err(db(format!(
            "listing the collection runs of {}",
            subject_key(platform, subject)
        )))
}

pub(crate) fn start_run(
    c: &mut Conn,
    new: &NewRun<'_>,
    now: DbTime,
) -> Result<RunDbRow, StoreError> {
    let key = subject_key(new.platform, new.subject);
    if let Some(existing) = unfinished_run(c, new.platform, new.subject)? {
        return Err(StoreError::AlreadyExists {
            what: format!("an unfinished collection run of {key} (run {})", existing.id),
        });
    }
    let record = format!("collection run of {key}");
    let row = NewRunRow {
        platform: new.platform.as_str(),
        subject: new.subject,
        mode: new.mode.as_str(),
        status: RunStatus::Unfinished.as_str(),
        max_items: new
            .max_items
            .map(|n| count_in(&record, "max_items", n))
            .transpose()?,
        account_json: json_in(&record, "the account", new.account)?,
        base_json: new
            .base
            .map(|b| json_in(&record, "the base profile", b))
            .transpose()?,
        result_json: None,
        stop_reason: None,
        pages: 0,
        items: 0,
        started_at: now,
        updated_at: now,
        finished_at: None,
    };
    // A unique violation: another process started one between the check and the insert.
    diesel::insert_into(collection_runs::table)
        .values(&row)
        .returning(RunDbRow::as_returning())
        .get_result(c)
        .map_err(db_insert(format!("starting a {record}"), || {
            format!("an unfinished collection run of {key}")
        }))
}

pub(crate) fn checkpoints(c: &mut Conn, run_id: i64) -> Result<Vec<CheckpointDbRow>, StoreError> {
    collection_checkpoints::table
        .filter(collection_checkpoints::run_id.eq(run_id))
        .order(collection_checkpoints::listing.asc())
        .select(CheckpointDbRow::as_select())
        .load(c)
        .map_err(db(format!("loading the checkpoints of collection run {run_id}")))
}

pub(crate) fn pages(c: &mut Conn, run_id: i64) -> Result<Vec<PageDbRow>, StoreError> {
    collection_pages::table
        .filter(collection_pages::run_id.eq(run_id))
        .order((collection_pages::listing.asc(), collection_pages::seq.asc()))
        .select(PageDbRow::as_select())
        .load(c)
        .map_err(db(format!("loading the pages of collection run {run_id}")))
}

/// The run, which must be unfinished.
fn unfinished(c: &mut Conn, run_id: i64) -> Result<RunDbRow, StoreError> {
    let row = run(c, run_id)?.ok_or_else(|| StoreError::NotFound {
        what: format!("collection run {run_id}"),
    })?;
    if row.status != RunStatus::Unfinished.as_str() {
        return Err(invalid(
            row.record(),
            format!("the run is {}, not unfinished", row.status),
        ));
    }
    Ok(row)
}

pub(crate) fn commit_page(
    c: &mut Conn,
    commit: &PageCommit<'_>,
    profile: Option<&PreparedProfile<'_>>,
    now: DbTime,
    vectorizer: Option<&dyn ProfileVectorizer>,
) -> Result<Option<Written>, StoreError> {
    let run = unfinished(c, commit.run_id)?;
    let record = run.record();
    let current: Option<CheckpointDbRow> = collection_checkpoints::table
        .find((commit.run_id, commit.listing))
        .select(CheckpointDbRow::as_select())
        .first(c)
        .found(format!("loading the {} checkpoint of {record}", commit.listing))?;
    if let Some(cp) = &current
        && cp.state != ListingState::Reading.as_str()
    {
        return Err(invalid(
            record,
            format!(
                "its {} list is already {}: no page can be added",
                commit.listing, cp.state
            ),
        ));
    }
    let (mut pages, mut items) = current.map_or((0, 0), |cp| (cp.pages, cp.items));
    let (mut added_pages, mut added_items) = (0i64, 0i64);
    if let Some(page) = &commit.page {
        let count = count_in(&record, "item_count", page.item_count)?;
        pages = pages
            .checked_add(1)
            .ok_or_else(|| invalid(&record, "too many pages"))?;
        items = items.saturating_add(count);
        (added_pages, added_items) = (1, count);
        diesel::insert_into(collection_pages::table)
            .values(&PageDbRow {
                run_id: commit.run_id,
                listing: commit.listing.to_owned(),
                seq: pages,
                cursor: page.cursor.map(str::to_owned),
                next_cursor: commit.next_cursor.map(str::to_owned),
                item_count: count,
                raw_json: json_in(&record, "the page", page.raw)?,
                committed_at: now,
            })
            .execute(c)
            .map_err(db(format!(
                "storing page {pages} of the {} list of {record}",
                commit.listing
            )))?;
    }
    let checkpoint = CheckpointDbRow {
        run_id: commit.run_id,
        listing: commit.listing.to_owned(),
        state: commit.state.as_str().to_owned(),
        next_cursor: commit.next_cursor.map(str::to_owned),
        pages,
        items,
        updated_at: now,
    };
    diesel::insert_into(collection_checkpoints::table)
        .values(&checkpoint)
        .on_conflict((collection_checkpoints::run_id, collection_checkpoints::listing))
        .do_update()
        .set(&checkpoint)
        .execute(c)
        .map_err(db(format!(
            "storing the {} checkpoint of {record}",
            commit.listing
        )))?;
    diesel::update(collection_runs::table.find(commit.run_id))
        .set((
            collection_runs::pages.eq(collection_runs::pages + added_pages),
            collection_runs::items.eq(collection_runs::items + added_items),
            collection_runs::stop_reason.eq(None::<String>),
            collection_runs::updated_at.eq(now),
        ))
        .execute(c)
        .map_err(db(format!("updating {record}")))?;
    let written = match (&commit.profile, profile) {
        (Some(write), Some(prepared)) => Some(write_if_changed(c, write, prepared, vectorizer)?),
        _ => None,
    };
    note_profile(c, commit.run_id, written.as_ref(), &record)?;
    Ok(written)
}

/// Remembers which profile a run wrote, so deleting the profile deletes the run.
fn note_profile(
    c: &mut Conn,
    run_id: i64,
    written: Option<&Written>,
    record: &str,
) -> Result<(), StoreError> {
    if let Some(profile_id) = written.map(|w| w.id()) {
        diesel::update(collection_runs::table.find(run_id))
            .set(collection_runs::profile_id.eq(Some(profile_id)))
            .execute(c)
            .map_err(db(format!("recording the profile {record} wrote")))?;
    }
    Ok(())
}

pub(crate) fn stop_run(
    c: &mut Conn,
    run_id: i64,
    reason: &str,
    now: DbTime,
) -> Result<(), StoreError> {
    let run = unfinished(c, run_id)?;
    diesel::update(collection_runs::table.find(run_id))
        .set((
            collection_runs::stop_reason.eq(reason),
            collection_runs::updated_at.eq(now),
        ))
        .execute(c)
        .map_err(db(format!("recording why {} stopped", run.record())))?;
    Ok(())
}

pub(crate) fn end_run(
    c: &mut Conn,
    run_id: i64,
    end: &RunEnd<'_>,
    profile: Option<&PreparedProfile<'_>>,
    now: DbTime,
    vectorizer: Option<&dyn ProfileVectorizer>,
) -> Result<Option<Written>, StoreError> {
    let run = unfinished(c, run_id)?;
    let record = run.record();
    let result_json = json_in(&record, "the result profile", end.result)?;
    let written = match (&end.profile, profile) {
        (Some(write), Some(prepared)) => Some(write_if_changed(c, write, prepared, vectorizer)?),
        _ => None,
    };
    note_profile(c, run_id, written.as_ref(), &record)?;
    diesel::update(collection_runs::table.find(run_id))
        .set((
            collection_runs::status.eq(end.status.as_str()),
            collection_runs::result_json.eq(Some(&result_json)),
            collection_runs::base_json.eq(None::<String>),
            collection_runs::stop_reason.eq(end.reason),
            collection_runs::finished_at.eq(Some(now)),
            collection_runs::updated_at.eq(now),
        ))
        .execute(c)
        .map_err(db(format!("ending {record}")))?;
    // The pages are folded into the result; only the latest result is kept (the marker
    // keeps its own copy).
    diesel::delete(collection_pages::table.filter(collection_pages::run_id.eq(run_id)))
        .execute(c)
        .map_err(db(format!("dropping the pages of {record}")))?;
    diesel::update(
        collection_runs::table
            .filter(collection_runs::platform.eq(run.platform.0.as_str()))
            .filter(collection_runs::subject.eq(&run.subject))
            .filter(collection_runs::id.ne(run_id))
            .filter(collection_runs::result_json.is_not_null()),
    )
    .set(collection_runs::result_json.eq(None::<String>))
    .execute(c)
    .map_err(db(format!("dropping older results than {record}")))?;
    if end.move_marker {
        let marker = MarkerDbRow {
            platform: run.platform.0.as_str().to_owned(),
            subject: run.subject.clone(),
            run_id,
            raw_json: result_json,
            completed_at: now,
        };
        diesel::insert_into(collection_markers::table)
            .values(&marker)
            .on_conflict((collection_markers::platform, collection_markers::subject))
            .do_update()
            .set(&marker)
            .execute(c)
            .map_err(db(format!("moving the marker to {record}")))?;
    }
    Ok(written)
}

pub(crate) fn latest_result(
    c: &mut Conn,
    platform: Platform,
    subject: &str,
) -> Result<Option<String>, StoreError> {
    collection_runs::table
        .filter(collection_runs::platform.eq(platform.as_str()))
        .filter(collection_runs::subject.eq(subject))
        .filter(collection_runs::result_json.is_not_null())
        .order(collection_runs::id.desc())
        .select(collection_runs::result_json.assume_not_null())
        .first(c)
        .found(format!(
            "loading the latest collection result of {}",
            subject_key(platform, subject)
        ))
}

pub(crate) fn marker(
    c: &mut Conn,
    platform: Platform,
    subject: &str,
) -> Result<Option<MarkerDbRow>, StoreError> {
    collection_markers::table
        .find((platform.as_str(), subject))
        .select(MarkerDbRow::as_select())
        .first(c)
        .found(format!(
            "loading the collection marker of {}",
            subject_key(platform, subject)
        ))
}
