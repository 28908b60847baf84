//! Profiles: the records the store hands out, the queries it takes, and the `Store`
//! methods that create, replace, read, list, count and delete profiles (the bulk ingest
//! is in [`ingest`]). Their rows are in [`rows`], their SQL in `queries.rs` (compiled per
//! backend by `crate::backend`).

pub(crate) mod ingest;
pub(crate) mod rows;

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use toker_model::{Listing, Platform, Profile};

use crate::backend::dispatch;
use crate::connection::Transactions;
use crate::error::StoreError;
use crate::store::Store;
use rows::{DbTime, PreparedProfile};

/// Profiles per page when [`Store::for_each_profile`] walks the table.
const WALK_PAGE: u64 = 500;

/// A stored profile, whole: read back, it equals the profile that was stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredProfile {
    /// The profile's row id (what `toker show` and `/v1/profiles/{id}` take).
    pub id: i64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The profile, videos in their stored order.
    pub profile: Profile,
    /// The JSON the profile was parsed from (unknown keys kept).
    pub raw_json: serde_json::Value,
    /// Who stored it (an API key's owner), if anyone.
    pub owner: Option<String>,
    /// When it was first stored (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was last replaced (UTC).
    pub updated_at: DateTime<Utc>,
    /// An unproven upload: its owner's private copy, not the account's profile (see
    /// [`Listing::unproven`]).
    pub unproven: bool,
}

impl StoredProfile {
    /// `platform:user_id`.
    #[must_use]
    pub fn key(&self) -> String {
        profile_key(self.platform, &self.profile.user_id)
    }
}

/// One line of `toker list`: a profile's summary, without its videos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileRow {
    /// The profile's row id (what `toker show` and `/v1/profiles/{id}` take).
    pub id: i64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The platform's id of the person.
    pub user_id: String,
    /// The person's handle.
    pub username: String,
    /// Likes the person gave.
    pub number_of_likes: Option<u64>,
    /// How many liked videos are stored for the profile.
    pub liked_count: u64,
    /// How many shared videos are stored for the profile.
    pub shared_count: u64,
    /// Who stored it, if anyone.
    pub owner: Option<String>,
    /// When it was first stored (UTC).
    pub created_at: DateTime<Utc>,
    /// An unproven upload, private to its owner (see [`Listing::unproven`]).
    pub unproven: bool,
}

/// What a profile write did, with the profile's id: the outcome of every write path
/// (create, upsert, upsert-if-changed, ingest, a collection's commit, a connect).
/// Serialised as `{"status": "created", "id": 7}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "id")]
pub enum Written {
    /// Stored as a new profile with this id.
    Created(i64),
    /// Replaced the stored profile with this id (same platform and user id).
    Updated(i64),
    /// The stored profile with this id was identical: nothing was written (`updated_at`
    /// kept).
    Unchanged(i64),
    /// Not stored: the key already exists (this id), and the write does not replace.
    Duplicate(i64),
}

impl Written {
    /// The profile's id (the stored one, for a duplicate or an unchanged profile).
    #[must_use]
    pub const fn id(self) -> i64 {
        match self {
            Written::Created(id)
            | Written::Updated(id)
            | Written::Unchanged(id)
            | Written::Duplicate(id) => id,
        }
    }

    /// Whether the profile was new.
    #[must_use]
    pub const fn created(self) -> bool {
        matches!(self, Written::Created(_))
    }

    /// `created`, `updated`, `unchanged` or `duplicate`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Written::Created(_) => "created",
            Written::Updated(_) => "updated",
            Written::Unchanged(_) => "unchanged",
            Written::Duplicate(_) => "duplicate",
        }
    }

    /// Serialises only the outcome's name ([`Written::as_str`]), for a record that
    /// carries the id in a field of its own.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize_name<S: serde::Serializer>(
        written: &Written,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(written.as_str())
    }
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the database holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every stored profile, unproven uploads included.
    pub profiles: u64,
    /// Profiles per platform, every platform listed (in [`Platform::ALL`] order);
    /// serialised as an object (`{"tiktok": 3, …}`), as the REST API's stats are.
    #[serde(serialize_with = "platform_counts")]
    pub by_platform: Vec<(Platform, u64)>,
    /// Videos stored, each once per platform and video id however many profiles link to it.
    pub videos: u64,
    /// Profile→video links of relation liked.
    pub liked_links: u64,
    /// Profile→video links of relation shared.
    pub shared_links: u64,
    /// Video tags (categories and hashtags).
    pub tags: u64,
    /// Stored profile vectors.
    pub vectors: u64,
    /// The vocabulary version of the stored vectors, if any.
    pub vocabulary_version: Option<String>,
    /// Profiles created or replaced since the vocabulary was fitted (0 without one): each
    /// has its vector under that vocabulary, but shaped neither its features nor their
    /// IDF weights. See [`Stats::drift`].
    pub changed_since_refit: u64,
}

impl Stats {
    /// How far the corpus moved since the vocabulary was fitted: the share of the stored
    /// profiles created or replaced since ([`Stats::changed_since_refit`] over
    /// [`Stats::profiles`]), from 0 to 1; `None` before the first refit. A refit
    /// (`toker vectorize`) is advised above [`REFIT_ADVISED_DRIFT`].
    #[must_use]
    pub fn drift(&self) -> Option<f64> {
        self.vocabulary_version.as_ref()?;
        Some(share(self.changed_since_refit, self.profiles))
    }
}

/// `changed` of `profiles` as a share from 0 to 1 (0 of none).
#[allow(
    clippy::cast_precision_loss,
    reason = "a share: 2^53 profiles are far away"
)]
pub(crate) fn share(changed: u64, profiles: u64) -> f64 {
    if profiles == 0 {
        return 0.0;
    }
    (changed.min(profiles) as f64) / (profiles as f64)
}

/// The [`Stats::drift`] above which a refit is advised: a fifth of the corpus written
/// since the fit.
pub const REFIT_ADVISED_DRIFT: f64 = 0.2;

/// Per-platform counts as a JSON object keyed by platform, in the given order.
fn platform_counts<S: serde::Serializer>(
    counts: &[(Platform, u64)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(counts.len()))?;
    for (platform, n) in counts {
        map.serialize_entry(platform.as_str(), n)?;
    }
    map.end()
}

/// `platform:user_id`, the natural key used in messages.
pub(crate) fn profile_key(platform: Platform, user_id: &str) -> String {
    format!("{platform}:{user_id}")
}

/// What writing a profile whose key is stored does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// Leaves the stored one alone: the write is a [`Written::Duplicate`].
    Keep,
    /// Replaces the stored one and its links.
    Replace,
}

impl OnConflict {
    /// [`OnConflict::Replace`] for an upsert, else [`OnConflict::Keep`].
    pub(crate) fn upsert(upsert: bool) -> Self {
        if upsert {
            OnConflict::Replace
        } else {
            OnConflict::Keep
        }
    }
}

impl Store {
    /// Writes distinct-key profiles in one transaction; one result per profile.
    pub(crate) fn write_profiles(
        &mut self,
        context: &str,
        batch: &[PreparedProfile<'_>],
        on_conflict: OnConflict,
    ) -> Result<Vec<Written>, StoreError> {
        let (conn, vectorizer) = self.conn_and_vectorizer();
        dispatch!(conn, |c, q| c.write(context, |c| {
            q::profiles::write_profiles(c, batch, on_conflict, vectorizer)
        }))
    }

    /// Writes one profile, a new one or one replacing the stored one.
    fn write_one(
        &mut self,
        prepared: &PreparedProfile<'_>,
        on_conflict: OnConflict,
    ) -> Result<Written, StoreError> {
        let verb = match on_conflict {
            OnConflict::Replace => "upserting",
            OnConflict::Keep => "creating",
        };
        let context = format!("{verb} {}", prepared.record);
        self.write_profiles(&context, std::slice::from_ref(prepared), on_conflict)?
            .pop()
            .ok_or_else(|| StoreError::Invalid {
                record: prepared.record.clone(),
                message: "the database reported no row for it".to_owned(),
            })
    }

    /// Stores a new profile with its videos; returns its id.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] (and nothing stored) if `platform:user_id` exists;
    /// [`StoreError::Invalid`] for a count above `i64::MAX`; [`StoreError::Busy`].
    pub fn create_profile(
        &mut self,
        platform: Platform,
        profile: &Profile,
        raw: &Value,
        owner: Option<&str>,
    ) -> Result<i64, StoreError> {
        let p = PreparedProfile::new(platform, profile, raw, owner, None, DbTime::now())?;
        match self.write_one(&p, OnConflict::Keep)? {
            Written::Duplicate(id) => Err(StoreError::Duplicate { key: p.key, id }),
            written => Ok(written.id()),
        }
    }

    /// Stores a profile, replacing the stored one with the same key and its video links
    /// atomically (its id, `created_at`, and owner when `owner` is `None`, are kept);
    /// returns [`Written::Created`] or [`Written::Updated`].
    ///
    /// # Errors
    /// As [`Store::create_profile`], but never [`StoreError::Duplicate`].
    pub fn upsert_profile(
        &mut self,
        platform: Platform,
        profile: &Profile,
        raw: &Value,
        owner: Option<&str>,
    ) -> Result<Written, StoreError> {
        let p = PreparedProfile::new(platform, profile, raw, owner, None, DbTime::now())?;
        self.write_one(&p, OnConflict::Replace)
    }

    /// Replaces the profile with this id (platform, owner and `created_at` are kept).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Duplicate`] if the new `user_id` belongs to
    /// another stored profile.
    pub fn replace_profile(
        &mut self,
        id: i64,
        profile: &Profile,
        raw: &Value,
    ) -> Result<(), StoreError> {
        let context = format!("replacing profile {id}");
        let now = DbTime::now();
        let (conn, vectorizer) = self.conn_and_vectorizer();
        dispatch!(conn, |c, q| c.write(&context, |c| {
            q::profiles::replace_profile(c, id, vectorizer, |platform| {
                PreparedProfile::new(platform, profile, raw, None, None, now)
            })
        }))
    }

    /// The profile with this id, whole.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub fn get_profile(&mut self, id: i64) -> Result<StoredProfile, StoreError> {
        let context = format!("loading profile {id}");
        dispatch!(self.conn_mut(), |c, q| c
            .read(&context, |c| { q::profiles::get_profile(c, id) }))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("profile {id}"),
        })
    }

    /// The profile with this platform and user id, whole.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub fn get_profile_by_key(
        &mut self,
        platform: Platform,
        user_id: &str,
    ) -> Result<StoredProfile, StoreError> {
        let key = profile_key(platform, user_id);
        let context = format!("loading profile {key}");
        dispatch!(self.conn_mut(), |c, q| c.read(&context, |c| {
            q::profiles::get_profile_by_key(c, platform, user_id)
        }))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("profile {key}"),
        })
    }

    /// One page of profile summaries, by id ascending.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn list_profiles(&mut self, q: &Listing) -> Result<Vec<ProfileRow>, StoreError> {
        dispatch!(self.conn_mut(), |c, qs| qs::profiles::list_profiles(c, q))
    }

    /// The same page as [`Store::list_profiles`], whole profiles (three queries per page).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn load_profiles(&mut self, q: &Listing) -> Result<Vec<StoredProfile>, StoreError> {
        dispatch!(self.conn_mut(), |c, qs| c.read("loading profiles", |c| {
            qs::profiles::load_profiles(c, q)
        }))
    }

    /// Calls `f` with every profile the query selects, by id ascending, loading a page at
    /// a time (memory stays bounded). `f` may stop the walk early. Returns how many
    /// profiles `f` saw. `q.limit` bounds the total; `q.offset` skips at the start.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn for_each_profile(
        &mut self,
        q: &Listing,
        f: &mut dyn FnMut(StoredProfile) -> ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let mut seen = 0u64;
        let mut page = Listing {
            limit: Some(WALK_PAGE),
            ..q.clone()
        };
        loop {
            if let Some(limit) = q.limit {
                page.limit = Some(WALK_PAGE.min(limit - seen));
                if limit == seen {
                    return Ok(seen);
                }
            }
            let profiles = self.load_profiles(&page)?;
            let Some(last) = profiles.last().map(|p| p.id) else {
                return Ok(seen);
            };
            for p in profiles {
                seen += 1;
                if f(p).is_break() {
                    return Ok(seen);
                }
            }
            page.offset = 0;
            page.after_id = Some(last);
        }
    }

    /// How many profiles the query's filters select (limit, offset and `after_id` ignored).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn count_profiles(&mut self, q: &Listing) -> Result<u64, StoreError> {
        dispatch!(self.conn_mut(), |c, qs| qs::profiles::count_profiles(c, q))
    }

    /// Deletes a profile with its links and vector; videos other profiles link to stay,
    /// videos only it linked to go. The collection runs that wrote the profile go too
    /// (their raw pages, checkpoints and the person's marker), so no later incremental run
    /// rebuilds it from what was collected before. On SQLite the deleted rows are then
    /// overwritten in the database file and its log as well (secure delete and a checkpoint).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub fn delete_profile(&mut self, id: i64) -> Result<(), StoreError> {
        let context = format!("deleting profile {id}");
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| { q::profiles::delete_profile(c, id) }))?;
        self.conn_mut().scrub_after_erasure();
        Ok(())
    }

    /// Deletes every profile of an owner (links, vectors, orphaned videos and the collection
    /// runs that wrote them too) in one transaction, overwritten on SQLite as
    /// [`Store::delete_profile`]'s are; returns how many profiles.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::Busy`].
    pub fn delete_owner(&mut self, owner: &str) -> Result<u64, StoreError> {
        let context = format!("deleting the profiles of owner {owner}");
        let deleted = dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| { q::profiles::delete_owner(c, owner) }))?;
        self.conn_mut().scrub_after_erasure();
        Ok(deleted)
    }

    /// The listing rows (no videos) of the profiles among `ids` that exist, unproven
    /// uploads included, ordered by id; ids that name no profile are left out. One query
    /// (per 10 000 ids) on either backend.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn profile_rows(&mut self, ids: &[i64]) -> Result<Vec<ProfileRow>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| q::profiles::profile_rows(c, ids))
    }

    /// Counts of what is stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn stats(&mut self) -> Result<Stats, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c
            .read("reading statistics", |c| { q::profiles::stats(c) }))
    }

    /// [`Stats::drift`], reading only the two counts it needs (what a planner checks
    /// now and then to queue a refit when due).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn drift(&mut self) -> Result<Option<f64>, StoreError> {
        dispatch!(self.conn_mut(), |c, q| c
            .read("reading the drift since the refit", |c| {
                q::profiles::drift(c)
            }))
    }
}
