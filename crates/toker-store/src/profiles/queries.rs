// Profiles: batched writes, whole reads, listing, deleting, stats.
//
// Included once per backend by `crate::backend`; `super::Conn` is that backend's connection.

use std::collections::HashMap;

use diesel::dsl::{count_star, exists, not};
use diesel::prelude::*;
use diesel::upsert::excluded;
use toker_model::{Listing, Platform, Video, VideoRelation};

use super::Conn;
use crate::error::{StoreError, db};
use crate::backend::{IN_LIST, MAX_BINDS, coalesce};
use crate::profiles::{OnConflict, ProfileRow, Stats, StoredProfile, Written};
use crate::profiles::rows::{
    CATEGORY, DbTime, HASHTAG, LinkDbRow, ListDbRow, NewLinkRow, NewProfileRow, NewTagRow,
    NewVideoRow, PreparedProfile, excluded_counts, PreparedVideo, ProfileDbRow, TagDbRow, count_out, position_in,
};
use crate::vectors::ProfileVectorizer;
use crate::schema::{
    collection_checkpoints, collection_markers, collection_pages, collection_runs,
    profile_vectors, profile_videos, profiles, video_tags, videos,
};

type Db = <Conn as diesel::Connection>::Backend;

/// `INSERT … ON CONFLICT (platform, video_id) DO UPDATE` the counts.
macro_rules! upsert_video_rows {
    ($rows:expr) => {
        diesel::insert_into(videos::table)
            .values($rows)
            .on_conflict((videos::platform, videos::video_id))
            .do_update()
            .set((
                videos::likes.eq(excluded(videos::likes)),
                videos::comments.eq(excluded(videos::comments)),
                videos::shares.eq(excluded(videos::shares)),
            ))
    };
}

/// Columns of `profiles` a write binds: [`NewProfileRow`]'s 13 and the counts.
const PROFILE_COLUMNS: usize = 13 + toker_model::Profile::COUNT_NAMES.len();

/// Writes a batch of profiles whose keys are distinct, in the caller's transaction.
///
/// With [`OnConflict::Keep`], a key already stored is left alone and reported as
/// [`Written::Duplicate`]; with [`OnConflict::Replace`], the stored profile and its links
/// are replaced.
/// Returns one result per input, in input order.
pub(crate) fn write_profiles(
    c: &mut Conn,
    batch: &[PreparedProfile<'_>],
    on_conflict: OnConflict,
    vectorizer: Option<&dyn ProfileVectorizer>,
) -> Result<Vec<Written>, StoreError> {
    // Rows in key order, so that concurrent PostgreSQL writers lock in the same order.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|&a, &b| {
        (batch[a].row.platform, batch[a].row.user_id)
            .cmp(&(batch[b].row.platform, batch[b].row.user_id))
    });
    let index: HashMap<(&str, &str, &str), usize> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.row.platform, p.row.user_id, p.row.unproven_by), i))
        .collect();
    let mut results: Vec<Option<Written>> = vec![None; batch.len()];
    let context = || batch_context(batch);

    for chunk in order.chunks(MAX_BINDS / PROFILE_COLUMNS) {
        let rows: Vec<&NewProfileRow<'_>> = chunk.iter().map(|&i| &batch[i].row).collect();
        if on_conflict == OnConflict::Replace {
            let written: Vec<UpsertedRow> =
                upsert_profile_rows(c, &rows).map_err(db(format!("upserting {}", context())))?;
            for (id, platform, user_id, unproven_by, created_at) in written {
                let key = (platform.as_str(), user_id.as_str(), unproven_by.as_str());
                if let Some(&i) = index.get(&key) {
                    results[i] = Some(if created_at == batch[i].row.created_at {
                        Written::Created(id)
                    } else {
                        Written::Updated(id)
                    });
                }
            }
        } else {
            let created: Vec<(i64, String, String, String)> =
                diesel::insert_into(profiles::table)
                    .values(rows)
                    .on_conflict_do_nothing()
                    .returning((
                        profiles::id,
                        profiles::platform,
                        profiles::user_id,
                        profiles::unproven_by,
                    ))
                    .get_results(c)
                    .map_err(db(format!("creating {}", context())))?;
            for (id, platform, user_id, unproven_by) in created {
                let key = (platform.as_str(), user_id.as_str(), unproven_by.as_str());
                if let Some(&i) = index.get(&key) {
                    results[i] = Some(Written::Created(id));
                }
            }
        }
    }
    if on_conflict == OnConflict::Keep {
        mark_duplicates(c, batch, &index, &mut results)?;
    }

    let updated: Vec<i64> = results
        .iter()
        .filter_map(|r| match r {
            Some(Written::Updated(id)) => Some(*id),
            _ => None,
        })
        .collect();
    let old_refs = unlink(c, &updated)?;
    let written: Vec<(i64, &PreparedProfile<'_>)> = results
        .iter()
        .zip(batch)
        .filter_map(|(r, p)| match r {
            Some(Written::Created(id) | Written::Updated(id)) => Some((*id, p)),
            _ => None,
        })
        .collect();
    link(c, &written)?;
    delete_orphans(c, &old_refs)?;
    super::vectors::store_written_vectors(c, &written, vectorizer)?;

    results
        .into_iter()
        .zip(batch)
        .map(|(r, p)| {
            r.ok_or_else(|| StoreError::Invalid {
                record: p.record.clone(),
                message: "the database reported no row for it".to_owned(),
            })
        })
        .collect()
}

fn batch_context(batch: &[PreparedProfile<'_>]) -> String {
    match batch {
        [one] => one.record.clone(),
        [first, .., last] => format!(
            "{} profiles ({} … {})",
            batch.len(),
            first.record,
            last.record
        ),
        [] => "no profiles".to_owned(),
    }
}

/// A row an upsert wrote: id, platform, user id, `unproven_by` and `created_at`.
type UpsertedRow = (i64, String, String, String, DbTime);

/// `INSERT … ON CONFLICT (platform, user_id, unproven_by) DO UPDATE`, keeping
/// `created_at` and, when the new record names none, the owner.
fn upsert_profile_rows(
    c: &mut Conn,
    rows: &[&NewProfileRow<'_>],
) -> QueryResult<Vec<UpsertedRow>> {
    use crate::schema::profiles::dsl as p;
    diesel::insert_into(p::profiles)
        .values(rows.to_vec())
        .on_conflict((p::platform, p::user_id, p::unproven_by))
        .do_update()
        .set((
            p::username.eq(excluded(p::username)),
            p::user_pseudo.eq(excluded(p::user_pseudo)),
            p::verified.eq(excluded(p::verified)),
            toker_model::profile_counts!(excluded_counts!()),
            p::liked_count.eq(excluded(p::liked_count)),
            p::shared_count.eq(excluded(p::shared_count)),
            p::raw_json.eq(excluded(p::raw_json)),
            p::interests.eq(excluded(p::interests)),
            p::owner.eq(coalesce(excluded(p::owner), p::owner)),
            p::updated_at.eq(excluded(p::updated_at)),
        ))
        .returning((p::id, p::platform, p::user_id, p::unproven_by, p::created_at))
        .get_results(c)
}

/// Fills in the results of rows `ON CONFLICT DO NOTHING` skipped: the stored profile's id.
/// (Only upserts write unproven copies, so the skipped rows are accounts' profiles.)
fn mark_duplicates(
    c: &mut Conn,
    batch: &[PreparedProfile<'_>],
    index: &HashMap<(&str, &str, &str), usize>,
    results: &mut [Option<Written>],
) -> Result<(), StoreError> {
    for platform in Platform::ALL {
        let missing: Vec<&str> = batch
            .iter()
            .zip(results.iter())
            .filter(|(p, r)| r.is_none() && p.row.platform == platform.as_str())
            .map(|(p, _)| p.row.user_id)
            .collect();
        for chunk in missing.chunks(IN_LIST) {
            let existing: Vec<(i64, String)> = profiles::table
                .filter(profiles::platform.eq(platform.as_str()))
                .filter(profiles::user_id.eq_any(chunk))
                .filter(profiles::unproven_by.eq(""))
                .select((profiles::id, profiles::user_id))
                .load(c)
                .map_err(db("looking up existing profiles"))?;
            for (id, user_id) in existing {
                if let Some(&i) = index.get(&(platform.as_str(), user_id.as_str(), "")) {
                    results[i] = Some(Written::Duplicate(id));
                }
            }
        }
    }
    Ok(())
}

/// Removes the links of these profiles; returns the videos they pointed to.
fn unlink(c: &mut Conn, profile_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut refs = Vec::new();
    for chunk in profile_ids.chunks(IN_LIST) {
        let old: Vec<i64> = profile_videos::table
            .filter(profile_videos::profile_id.eq_any(chunk))
            .select(profile_videos::video_ref)
            .load(c)
            .map_err(db("reading the links to replace"))?;
        refs.extend(old);
        diesel::delete(profile_videos::table.filter(profile_videos::profile_id.eq_any(chunk)))
            .execute(c)
            .map_err(db("removing the links to replace"))?;
    }
    refs.sort_unstable();
    refs.dedup();
    Ok(refs)
}

/// Deletes those of these videos that no profile links to any more (their tags go with them).
fn delete_orphans(c: &mut Conn, video_refs: &[i64]) -> Result<(), StoreError> {
    for chunk in video_refs.chunks(IN_LIST) {
        let linked = profile_videos::table.filter(profile_videos::video_ref.eq(videos::id));
        diesel::delete(
            videos::table
                .filter(videos::id.eq_any(chunk))
                .filter(not(exists(linked))),
        )
        .execute(c)
        .map_err(db("removing videos no profile links to"))?;
    }
    Ok(())
}

/// Stores the videos (latest counts and tags win) and links of freshly written profiles.
fn link(c: &mut Conn, written: &[(i64, &PreparedProfile<'_>)]) -> Result<(), StoreError> {
    let unique = distinct_videos(written);
    let refs = store_videos(c, &unique)?;
    let mut links: Vec<NewLinkRow> = Vec::new();
    for (profile_id, p) in written {
        for (relation, position, v) in p.links() {
            let video_ref = refs
                .get(&(v.row.platform, v.row.video_id))
                .copied()
                .ok_or_else(|| StoreError::Invalid {
                    record: p.record.clone(),
                    message: format!("video {} was not stored", v.row.video_id),
                })?;
            links.push(NewLinkRow {
                profile_id: *profile_id,
                relation,
                position: position_in(&p.record, position)?,
                video_ref,
            });
        }
    }
    for chunk in links.chunks(MAX_BINDS / 4) {
        diesel::insert_into(profile_videos::table)
            .values(chunk.to_vec())
            .execute(c)
            .map_err(db("linking profiles to their videos"))?;
    }
    Ok(())
}

/// One entry per distinct video, in key order (so that concurrent PostgreSQL writers lock
/// rows in the same order); a video listed twice keeps its last description.
fn distinct_videos<'p, 'v>(
    written: &'p [(i64, &'p PreparedProfile<'v>)],
) -> Vec<&'p PreparedVideo<'v>> {
    let mut slots: HashMap<(&str, &str), usize> = HashMap::new();
    let mut unique: Vec<&PreparedVideo<'v>> = Vec::new();
    for (_, p) in written {
        for (_, _, v) in p.links() {
            match slots.entry((v.row.platform, v.row.video_id)) {
                std::collections::hash_map::Entry::Occupied(slot) => unique[*slot.get()] = v,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(unique.len());
                    unique.push(v);
                }
            }
        }
    }
    unique.sort_by_key(|v| (v.row.platform, v.row.video_id));
    unique
}

/// A video key: (platform, video id).
type VideoKey<'v> = (&'static str, &'v str);

/// Stored counts of a video: (row id, likes, comments, shares).
type StoredCounts = (i64, Option<i64>, Option<i64>, Option<i64>);

/// A video's categories and hashtags, in order.
type Tags = (Vec<String>, Vec<String>);

/// Inserts the new videos and rewrites only what changed of the known ones (counts,
/// tags); returns every video's row id.
fn store_videos<'v>(
    c: &mut Conn,
    unique: &[&PreparedVideo<'v>],
) -> Result<HashMap<VideoKey<'v>, i64>, StoreError> {
    let known = known_videos(c, unique)?;
    let (old, new): (Vec<&PreparedVideo<'v>>, Vec<&PreparedVideo<'v>>) = unique
        .iter()
        .partition(|v| known.contains_key(&(v.row.platform, v.row.video_id)));
    let mut refs: HashMap<VideoKey<'v>, i64> = HashMap::with_capacity(unique.len());

    for chunk in new.chunks(MAX_BINDS / 5) {
        let rows: Vec<NewVideoRow<'v>> = chunk.iter().map(|v| v.row).collect();
        // ON CONFLICT: a concurrent PostgreSQL writer may have stored it since we looked.
        let stored: Vec<(i64, String, String)> = upsert_video_rows!(rows)
            .returning((videos::id, videos::platform, videos::video_id))
            .get_results(c)
            .map_err(db(format!("storing {} videos", chunk.len())))?;
        let keys: HashMap<(&str, &str), VideoKey<'v>> = chunk
            .iter()
            .map(|v| {
                (
                    (v.row.platform, v.row.video_id),
                    (v.row.platform, v.row.video_id),
                )
            })
            .collect();
        for (id, platform, video_id) in stored {
            if let Some(&key) = keys.get(&(platform.as_str(), video_id.as_str())) {
                refs.insert(key, id);
            }
        }
    }
    write_tags(c, &new, &refs, false)?;

    let mut recount: Vec<NewVideoRow<'v>> = Vec::new();
    for v in &old {
        let key = (v.row.platform, v.row.video_id);
        if let Some(&(id, likes, comments, shares)) = known.get(&key) {
            refs.insert(key, id);
            if (likes, comments, shares) != (v.row.likes, v.row.comments, v.row.shares) {
                recount.push(v.row);
            }
        }
    }
    for chunk in recount.chunks(MAX_BINDS / 5) {
        upsert_video_rows!(chunk.to_vec())
            .execute(c)
            .map_err(db(format!("updating the counts of {} videos", chunk.len())))?;
    }
    let old_ids: Vec<i64> = old
        .iter()
        .filter_map(|v| refs.get(&(v.row.platform, v.row.video_id)).copied())
        .collect();
    let stored_tags = load_tags(c, &old_ids)?;
    let retag: Vec<&PreparedVideo<'v>> = old
        .into_iter()
        .filter(|v| {
            let id = refs.get(&(v.row.platform, v.row.video_id));
            let stored = id.and_then(|id| stored_tags.get(id));
            let (categories, hashtags) =
                stored.map_or((&[][..], &[][..]), |(c, h)| (&c[..], &h[..]));
            categories != v.categories || hashtags != v.hashtags
        })
        .collect();
    write_tags(c, &retag, &refs, true)?;
    Ok(refs)
}

/// The stored row id and counts of those of these videos that exist.
fn known_videos<'v>(
    c: &mut Conn,
    unique: &[&PreparedVideo<'v>],
) -> Result<HashMap<VideoKey<'v>, StoredCounts>, StoreError> {
    let mut known = HashMap::new();
    for platform in Platform::ALL {
        let ids: Vec<&'v str> = unique
            .iter()
            .filter(|v| v.row.platform == platform.as_str())
            .map(|v| v.row.video_id)
            .collect();
        let keys: HashMap<&str, &'v str> = ids.iter().map(|id| (*id, *id)).collect();
        for chunk in ids.chunks(IN_LIST) {
            let rows: Vec<(String, StoredCounts)> = videos::table
                .filter(videos::platform.eq(platform.as_str()))
                .filter(videos::video_id.eq_any(chunk))
                .select((
                    videos::video_id,
                    (videos::id, videos::likes, videos::comments, videos::shares),
                ))
                .load(c)
                .map_err(db("looking up known videos"))?;
            for (video_id, counts) in rows {
                if let Some(&key) = keys.get(video_id.as_str()) {
                    known.insert((platform.as_str(), key), counts);
                }
            }
        }
    }
    Ok(known)
}

/// Writes the tags of these videos, first removing their old ones if `replace`.
fn write_tags<'v>(
    c: &mut Conn,
    videos: &[&PreparedVideo<'v>],
    refs: &HashMap<VideoKey<'v>, i64>,
    replace: bool,
) -> Result<(), StoreError> {
    let mut ids = Vec::with_capacity(videos.len());
    let mut tags: Vec<NewTagRow<'v>> = Vec::new();
    for v in videos {
        let Some(&video_ref) = refs.get(&(v.row.platform, v.row.video_id)) else {
            continue;
        };
        ids.push(video_ref);
        for (kind, list) in [(CATEGORY, v.categories), (HASHTAG, v.hashtags)] {
            for (i, tag) in list.iter().enumerate() {
                let position = i32::try_from(i).map_err(|_| StoreError::Invalid {
                    record: format!("video {}", v.row.video_id),
                    message: format!("more than {} tags", i32::MAX),
                })?;
                tags.push(NewTagRow {
                    video_ref,
                    kind,
                    position,
                    tag,
                });
            }
        }
    }
    if replace {
        for chunk in ids.chunks(IN_LIST) {
            diesel::delete(video_tags::table.filter(video_tags::video_ref.eq_any(chunk)))
                .execute(c)
                .map_err(db("replacing video tags"))?;
        }
    }
    for chunk in tags.chunks(MAX_BINDS / 4) {
        diesel::insert_into(video_tags::table)
            .values(chunk.to_vec())
            .on_conflict((
                video_tags::video_ref,
                video_tags::kind,
                video_tags::position,
            ))
            .do_update()
            .set(video_tags::tag.eq(excluded(video_tags::tag)))
            .execute(c)
            .map_err(db("storing video tags"))?;
    }
    Ok(())
}

/// The categories and hashtags of these videos, in order.
fn load_tags(c: &mut Conn, video_refs: &[i64]) -> Result<HashMap<i64, Tags>, StoreError> {
    let mut tags: HashMap<i64, Tags> = HashMap::new();
    for chunk in video_refs.chunks(IN_LIST) {
        let loaded: Vec<TagDbRow> = video_tags::table
            .filter(video_tags::video_ref.eq_any(chunk))
            .order((
                video_tags::video_ref,
                video_tags::kind,
                video_tags::position,
            ))
            .select((video_tags::video_ref, video_tags::kind, video_tags::tag))
            .load(c)
            .map_err(db("loading the videos' tags"))?;
        for t in loaded {
            let entry = tags.entry(t.video_ref).or_default();
            if t.kind == HASHTAG {
                entry.1.push(t.tag);
            } else {
                entry.0.push(t.tag);
            }
        }
    }
    Ok(tags)
}

/// Replaces the profile with this id, keeping its platform, owner and `created_at`.
///
/// `prepare` turns the stored platform into the profile to write.
pub(crate) fn replace_profile<'a>(
    c: &mut Conn,
    id: i64,
    vectorizer: Option<&dyn ProfileVectorizer>,
    prepare: impl FnOnce(Platform) -> Result<PreparedProfile<'a>, StoreError>,
) -> Result<(), StoreError> {
    let (platform, user_id, unproven_by): (crate::columns::DbPlatform, String, String) =
        profiles::table
            .find(id)
            .select((profiles::platform, profiles::user_id, profiles::unproven_by))
            .first(c)
            .optional()
            .map_err(db(format!("loading profile {id}")))?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("profile {id}"),
            })?;
    let p = prepare(platform.0)?;
    if p.row.user_id != user_id {
        let taken: Option<i64> = profiles::table
            .filter(profiles::platform.eq(p.row.platform))
            .filter(profiles::user_id.eq(p.row.user_id))
            .filter(profiles::unproven_by.eq(&unproven_by))
            .select(profiles::id)
            .first(c)
            .optional()
            .map_err(db(format!("checking {}", p.record)))?;
        if let Some(other) = taken {
            return Err(StoreError::Duplicate {
                key: p.key,
                id: other,
            });
        }
    }
    diesel::update(profiles::table.find(id))
        .set((profiles::user_id.eq(p.row.user_id), &p.row.data))
        .execute(c)
        .map_err(db(format!("replacing profile {id} with {}", p.record)))?;
    let old_refs = unlink(c, &[id])?;
    link(c, &[(id, &p)])?;
    delete_orphans(c, &old_refs)?;
    super::vectors::store_written_vectors(c, &[(id, &p)], vectorizer)
}

/// The profiles a query selects, without limit, offset or `after_id`.
fn filtered(q: &Listing) -> profiles::BoxedQuery<'_, Db> {
    let mut query = profiles::table.into_boxed();
    if let Some(platform) = q.platform {
        query = query.filter(profiles::platform.eq(platform.as_str()));
    }
    if let Some(owner) = &q.owner {
        query = query.filter(profiles::owner.eq(owner));
    }
    if !q.unproven {
        query = query.filter(profiles::unproven_by.eq(""));
    }
    query
}

/// [`filtered`], then `after_id`, order by id, offset and limit.
fn page(q: &Listing) -> profiles::BoxedQuery<'_, Db> {
    let mut query = filtered(q);
    if let Some(after) = q.after_id {
        query = query.filter(profiles::id.gt(after));
    }
    query = query
        .order(profiles::id.asc())
        .offset(i64::try_from(q.offset).unwrap_or(i64::MAX));
    if let Some(limit) = q.limit {
        query = query.limit(i64::try_from(limit).unwrap_or(i64::MAX));
    }
    query
}

/// One page of summaries.
pub(crate) fn list_profiles(c: &mut Conn, q: &Listing) -> Result<Vec<ProfileRow>, StoreError> {
    let rows: Vec<ListDbRow> = page(q)
        .select(ListDbRow::as_select())
        .load(c)
        .map_err(db("listing profiles"))?;
    Ok(rows.into_iter().map(list_row).collect())
}

/// The listing rows of the profiles among `ids` that exist (unproven uploads too), by id,
/// in one query per [`IN_LIST`] ids.
pub(crate) fn profile_rows(c: &mut Conn, ids: &[i64]) -> Result<Vec<ProfileRow>, StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_LIST) {
        let rows: Vec<ListDbRow> = profiles::table
            .filter(profiles::id.eq_any(chunk))
            .order(profiles::id.asc())
            .select(ListDbRow::as_select())
            .load(c)
            .map_err(db("reading profiles by id"))?;
        out.extend(rows.into_iter().map(list_row));
    }
    Ok(out)
}

fn list_row(r: ListDbRow) -> ProfileRow {
    ProfileRow {
        id: r.id,
        platform: r.platform.0,
        user_id: r.user_id,
        username: r.username,
        number_of_likes: count_out(r.number_of_likes),
        liked_count: count_out(Some(r.liked_count)).unwrap_or_default(),
        shared_count: count_out(Some(r.shared_count)).unwrap_or_default(),
        owner: r.owner,
        created_at: r.created_at.0,
        unproven: !r.unproven_by.is_empty(),
    }
}

/// How many profiles the query's filters select.
pub(crate) fn count_profiles(c: &mut Conn, q: &Listing) -> Result<u64, StoreError> {
    let n: i64 = filtered(q)
        .count()
        .get_result(c)
        .map_err(db("counting profiles"))?;
    Ok(count_out(Some(n)).unwrap_or_default())
}

/// One page of whole profiles, in three queries whatever the page size.
pub(crate) fn load_profiles(c: &mut Conn, q: &Listing) -> Result<Vec<StoredProfile>, StoreError> {
    let rows: Vec<ProfileDbRow> = page(q)
        .select(ProfileDbRow::as_select())
        .load(c)
        .map_err(db("loading profiles"))?;
    assemble(c, rows)
}

/// The profile with this id.
pub(crate) fn get_profile(c: &mut Conn, id: i64) -> Result<Option<StoredProfile>, StoreError> {
    let rows: Vec<ProfileDbRow> = profiles::table
        .find(id)
        .select(ProfileDbRow::as_select())
        .load(c)
        .map_err(db(format!("loading profile {id}")))?;
    Ok(assemble(c, rows)?.pop())
}

/// The account's profile with this key (not an unproven copy).
pub(crate) fn get_profile_by_key(
    c: &mut Conn,
    platform: Platform,
    user_id: &str,
) -> Result<Option<StoredProfile>, StoreError> {
    let rows: Vec<ProfileDbRow> = profiles::table
        .filter(profiles::platform.eq(platform.as_str()))
        .filter(profiles::user_id.eq(user_id))
        .filter(profiles::unproven_by.eq(""))
        .select(ProfileDbRow::as_select())
        .load(c)
        .map_err(db(format!("loading profile {platform}:{user_id}")))?;
    Ok(assemble(c, rows)?.pop())
}

/// Adds videos and tags to profile rows: one query for the links, one for the tags.
fn assemble(c: &mut Conn, rows: Vec<ProfileDbRow>) -> Result<Vec<StoredProfile>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut links: HashMap<i64, Vec<LinkDbRow>> = HashMap::new();
    for chunk in ids.chunks(IN_LIST) {
        let loaded: Vec<LinkDbRow> = profile_videos::table
            .inner_join(videos::table)
            .filter(profile_videos::profile_id.eq_any(chunk))
            .order((
                profile_videos::profile_id,
                profile_videos::relation,
                profile_videos::position,
            ))
            .select((
                profile_videos::profile_id,
                profile_videos::relation,
                videos::id,
                videos::video_id,
                videos::likes,
                videos::comments,
                videos::shares,
            ))
            .load(c)
            .map_err(db("loading the profiles' videos"))?;
        for link in loaded {
            links.entry(link.profile_id).or_default().push(link);
        }
    }
    let mut refs: Vec<i64> = links.values().flatten().map(|l| l.video_ref).collect();
    refs.sort_unstable();
    refs.dedup();
    let tags = load_tags(c, &refs)?;

    rows.into_iter()
        .map(|row| {
            let mut profile = row.profile();
            let key = crate::profiles::profile_key(row.platform.0, &row.user_id);
            for l in links.remove(&row.id).unwrap_or_default() {
                let (categories, hashtags) = tags.get(&l.video_ref).cloned().unwrap_or_default();
                let video = Video {
                    video_id: l.video_id,
                    categories,
                    hashtags,
                    likes: count_out(l.likes),
                    comments: count_out(l.comments),
                    shares: count_out(l.shares),
                };
                match l.relation.parse::<VideoRelation>() {
                    Ok(VideoRelation::Liked) => profile.liked_videos.push(video),
                    Ok(VideoRelation::Shared) => profile.shared_videos.push(video),
                    Err(message) => {
                        return Err(StoreError::Invalid {
                            record: format!("profile {key}"),
                            message,
                        });
                    }
                }
            }
            let raw_json =
                serde_json::from_str(&row.raw_json).map_err(|e| StoreError::Invalid {
                    record: format!("profile {key}"),
                    message: format!("its stored raw JSON is not JSON: {e}"),
                })?;
            Ok(StoredProfile {
                id: row.id,
                platform: row.platform.0,
                profile,
                raw_json,
                unproven: !row.unproven_by.is_empty(),
                owner: row.owner,
                created_at: row.created_at.0,
                updated_at: row.updated_at.0,
            })
        })
        .collect()
}

/// Deletes one profile with its links and vector, and the videos only it linked to.
pub(crate) fn delete_profile(c: &mut Conn, id: i64) -> Result<(), StoreError> {
    forget_collections(c, &[id])?;
    let refs = unlink(c, &[id])?;
    super::vectors::delete_vectors_of(c, &[id])?;
    let deleted = diesel::delete(profiles::table.find(id))
        .execute(c)
        .map_err(db(format!("deleting profile {id}")))?;
    if deleted == 0 {
        return Err(StoreError::NotFound {
            what: format!("profile {id}"),
        });
    }
    delete_orphans(c, &refs)
}

/// Deletes the collection runs that wrote these profiles: their pages, checkpoints and the
/// markers naming them (raw pages are the person's data too, and a marker left behind
/// would let an incremental run rebuild a deleted profile).
fn forget_collections(c: &mut Conn, profile_ids: &[i64]) -> Result<(), StoreError> {
    for chunk in profile_ids.chunks(IN_LIST) {
        let runs: Vec<i64> = collection_runs::table
            .filter(collection_runs::profile_id.eq_any(chunk))
            .select(collection_runs::id)
            .load(c)
            .map_err(db("finding the collection runs of the profiles"))?;
        for runs in runs.chunks(IN_LIST) {
            diesel::delete(collection_markers::table.filter(collection_markers::run_id.eq_any(runs)))
                .execute(c)
                .map_err(db("deleting the collection markers of the profiles"))?;
            diesel::delete(collection_pages::table.filter(collection_pages::run_id.eq_any(runs)))
                .execute(c)
                .map_err(db("deleting the collected pages of the profiles"))?;
            diesel::delete(
                collection_checkpoints::table.filter(collection_checkpoints::run_id.eq_any(runs)),
            )
            .execute(c)
            .map_err(db("deleting the collection checkpoints of the profiles"))?;
            diesel::delete(collection_runs::table.filter(collection_runs::id.eq_any(runs)))
                .execute(c)
                .map_err(db("deleting the collection runs of the profiles"))?;
        }
    }
    Ok(())
}

/// Deletes every profile of an owner; returns how many.
pub(crate) fn delete_owner(c: &mut Conn, owner: &str) -> Result<u64, StoreError> {
    let ids: Vec<i64> = profiles::table
        .filter(profiles::owner.eq(owner))
        .select(profiles::id)
        .load(c)
        .map_err(db(format!("finding the profiles of owner {owner}")))?;
    forget_collections(c, &ids)?;
    let refs = unlink(c, &ids)?;
    let counted = super::vectors::delete_vectors_of(c, &ids)? > 0;
    let deleted = diesel::delete(profiles::table.filter(profiles::owner.eq(owner)))
        .execute(c)
        .map_err(db(format!("deleting the profiles of owner {owner}")))?;
    if !counted && deleted > ids.len() {
        // A profile of the owner committed since `ids` were read went too, and its
        // vector with it: count that.
        super::vectors::bump_vector_writes(c)?;
    }
    delete_orphans(c, &refs)?;
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

/// Counts of everything stored.
pub(crate) fn stats(c: &mut Conn) -> Result<Stats, StoreError> {
    let count = |n: i64| count_out(Some(n)).unwrap_or_default();
    let per_platform: Vec<(String, i64)> = profiles::table
        .group_by(profiles::platform)
        .select((profiles::platform, count_star()))
        .load(c)
        .map_err(db("counting profiles per platform"))?;
    let per_relation: Vec<(String, i64)> = profile_videos::table
        .group_by(profile_videos::relation)
        .select((profile_videos::relation, count_star()))
        .load(c)
        .map_err(db("counting links"))?;
    let of = |list: &[(String, i64)], name: &str| {
        list.iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, k)| count(*k))
    };
    let videos: i64 = videos::table
        .count()
        .get_result(c)
        .map_err(db("counting videos"))?;
    let tags: i64 = video_tags::table
        .count()
        .get_result(c)
        .map_err(db("counting tags"))?;
    let vectors: i64 = profile_vectors::table
        .count()
        .get_result(c)
        .map_err(db("counting vectors"))?;
    let stamp = super::vectors::vocabulary_stamp(c)?;
    let changed_since_refit = match &stamp {
        Some((_, fitted_at)) => changed_since(c, *fitted_at)?,
        None => 0,
    };
    let vocabulary_version = stamp.map(|(version, _)| version);
    let by_platform: Vec<(Platform, u64)> = Platform::ALL
        .iter()
        .map(|p| (*p, of(&per_platform, p.as_str())))
        .collect();
    Ok(Stats {
        profiles: by_platform.iter().map(|(_, n)| n).sum(),
        by_platform,
        videos: count(videos),
        liked_links: of(&per_relation, VideoRelation::Liked.as_str()),
        shared_links: of(&per_relation, VideoRelation::Shared.as_str()),
        tags: count(tags),
        vectors: count(vectors),
        changed_since_refit,
        vocabulary_version,
    })
}

/// How many profiles were created or replaced after `fitted_at`.
fn changed_since(c: &mut Conn, fitted_at: crate::columns::DbTime) -> Result<u64, StoreError> {
    let n: i64 = profiles::table
        .filter(profiles::updated_at.gt(fitted_at))
        .count()
        .get_result(c)
        .map_err(db("counting the profiles written since the refit"))?;
    Ok(count_out(Some(n)).unwrap_or_default())
}

/// [`Stats::drift`] from the two counts it needs (not every table's).
pub(crate) fn drift(c: &mut Conn) -> Result<Option<f64>, StoreError> {
    let Some((_, fitted_at)) = super::vectors::vocabulary_stamp(c)? else {
        return Ok(None);
    };
    let profiles: i64 = profiles::table
        .count()
        .get_result(c)
        .map_err(db("counting profiles"))?;
    let changed = changed_since(c, fitted_at)?;
    Ok(Some(crate::profiles::share(
        changed,
        count_out(Some(profiles)).unwrap_or_default(),
    )))
}

/// `SELECT 1`.
pub(crate) fn ping(c: &mut Conn) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1")
        .execute(c)
        .map(|_| ())
        .map_err(db("pinging the database"))
}
