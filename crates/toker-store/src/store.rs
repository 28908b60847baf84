//! The [`Store`]: one connection to SQLite or PostgreSQL, and every read and write Toker
//! makes, each in one transaction.

use std::ops::ControlFlow;

use serde_json::Value;
use toker_model::{Platform, Profile};

use crate::apikeys::{ApiKeyRecord, NewApiKey};
use crate::connection::{Backend, Conn, Transactions, connect, dispatch};
use crate::error::StoreError;
use crate::ingest::IngestResult;
use crate::migrate::migrate_on_open;
use crate::models::{ListQuery, ProfileRow, Stats, StoredProfile, Upserted};
use crate::rows::{DbTime, PreparedProfile};
use crate::vectors::{StoredVector, VocabularyRecord};

/// Profiles per page when [`Store::for_each_profile`] walks the table.
const WALK_PAGE: u64 = 500;

/// A connection to Toker's database, SQLite or PostgreSQL, chosen by URL.
///
/// Every write is one transaction: a profile is stored whole or not at all. On SQLite,
/// writing transactions start with `BEGIN IMMEDIATE` and wait up to 5 s for another
/// writer before failing with [`StoreError::Busy`]; on PostgreSQL, serialization failures
/// and deadlocks are retried a few times.
pub struct Store {
    conn: Conn,
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    ///
    /// `url` is a SQLite path (`./toker.db`), `sqlite://PATH`, `:memory:`, or
    /// `postgres://…`/`postgresql://…` (feature `postgres`). SQLite runs in WAL mode with
    /// a busy timeout and foreign keys on.
    ///
    /// # Errors
    /// [`StoreError::Connection`] if the database cannot be opened,
    /// [`StoreError::FeatureDisabled`] for PostgreSQL without the feature,
    /// [`StoreError::Migration`] if the schema cannot be brought up to date.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let (mut conn, url) = connect(url)?;
        migrate_on_open(&mut conn)?;
        Ok(Store { conn, url })
    }

    /// As [`Store::open`], but a SQLite file that does not exist yet is an error instead
    /// of a new, empty database: for readers, where a mistyped path should say so.
    ///
    /// # Errors
    /// [`StoreError::Connection`] naming the missing file, and as [`Store::open`].
    pub fn open_existing(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = crate::connection::Location::parse(url)?.missing_sqlite_file() {
            return Err(StoreError::Connection {
                url: path,
                message: "the database file does not exist (nothing has been stored there; \
                          check the path, or create profiles first)"
                    .to_owned(),
            });
        }
        Store::open(url)
    }

    /// The connection, for the store's other modules (e.g. `checkpoints`).
    pub(crate) fn conn_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Which backend this store talks to.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// The database URL, password hidden.
    #[must_use]
    pub fn url_redacted(&self) -> String {
        self.url.clone()
    }

    /// How long a write waits for another writer's lock before failing with
    /// [`StoreError::Busy`]: SQLite's busy timeout (5 s by default), PostgreSQL's
    /// `lock_timeout` (by default it waits as long as it takes).
    ///
    /// # Errors
    /// [`StoreError::Database`] if the setting is refused.
    pub fn set_busy_timeout(&mut self, timeout: std::time::Duration) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        let ms = timeout.as_millis();
        let sql = match self.backend() {
            Backend::Sqlite => format!("PRAGMA busy_timeout = {ms}"),
            // 0 would mean "wait forever" to PostgreSQL
            Backend::Postgres => format!("SET lock_timeout = {}", ms.max(1)),
        };
        dispatch!(&mut self.conn, |c, _q| c.batch_execute(&sql))
            .map_err(|e| StoreError::db("setting the busy timeout", e))
    }

    /// Writes distinct-key profiles in one transaction; one result per profile.
    pub(crate) fn write_profiles(
        &mut self,
        context: &str,
        batch: &[PreparedProfile<'_>],
        upsert: bool,
    ) -> Result<Vec<IngestResult>, StoreError> {
        dispatch!(&mut self.conn, |c, q| c.write(context, |c| {
            q::profiles::write_profiles(c, batch, upsert)
        }))
    }

    fn write_one(
        &mut self,
        verb: &str,
        prepared: &PreparedProfile<'_>,
        upsert: bool,
    ) -> Result<IngestResult, StoreError> {
        let context = format!("{verb} {}", prepared.record);
        self.write_profiles(&context, std::slice::from_ref(prepared), upsert)?
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
        match self.write_one("creating", &p, false)? {
            IngestResult::Duplicate(id) => Err(StoreError::Duplicate { key: p.key, id }),
            IngestResult::Created(id) | IngestResult::Updated(id) => Ok(id),
        }
    }

    /// Stores a profile, replacing the stored one with the same key and its video links
    /// atomically (its id, `created_at`, and owner when `owner` is `None`, are kept).
    ///
    /// # Errors
    /// As [`Store::create_profile`], but never [`StoreError::Duplicate`].
    pub fn upsert_profile(
        &mut self,
        platform: Platform,
        profile: &Profile,
        raw: &Value,
        owner: Option<&str>,
    ) -> Result<(i64, Upserted), StoreError> {
        let p = PreparedProfile::new(platform, profile, raw, owner, None, DbTime::now())?;
        match self.write_one("upserting", &p, true)? {
            IngestResult::Created(id) => Ok((id, Upserted::Created)),
            IngestResult::Updated(id) | IngestResult::Duplicate(id) => Ok((id, Upserted::Updated)),
        }
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
        dispatch!(&mut self.conn, |c, q| c.write(&context, |c| {
            q::profiles::replace_profile(c, id, |platform| {
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
        dispatch!(&mut self.conn, |c, q| c
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
        let key = crate::models::profile_key(platform, user_id);
        let context = format!("loading profile {key}");
        dispatch!(&mut self.conn, |c, q| c.read(&context, |c| {
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
    pub fn list_profiles(&mut self, q: &ListQuery) -> Result<Vec<ProfileRow>, StoreError> {
        dispatch!(&mut self.conn, |c, qs| qs::profiles::list_profiles(c, q))
    }

    /// The same page as [`Store::list_profiles`], whole profiles (three queries per page).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn load_profiles(&mut self, q: &ListQuery) -> Result<Vec<StoredProfile>, StoreError> {
        dispatch!(&mut self.conn, |c, qs| c.read("loading profiles", |c| {
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
        q: &ListQuery,
        f: &mut dyn FnMut(StoredProfile) -> ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let mut seen = 0u64;
        let mut page = ListQuery {
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
    pub fn count_profiles(&mut self, q: &ListQuery) -> Result<u64, StoreError> {
        dispatch!(&mut self.conn, |c, qs| qs::profiles::count_profiles(c, q))
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
        dispatch!(&mut self.conn, |c, q| c
            .write(&context, |c| { q::profiles::delete_profile(c, id) }))?;
        self.conn.scrub_after_erasure();
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
        let deleted = dispatch!(&mut self.conn, |c, q| c
            .write(&context, |c| { q::profiles::delete_owner(c, owner) }))?;
        self.conn.scrub_after_erasure();
        Ok(deleted)
    }

    /// Counts of what is stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn stats(&mut self) -> Result<Stats, StoreError> {
        dispatch!(&mut self.conn, |c, q| c
            .read("reading statistics", |c| { q::profiles::stats(c) }))
    }

    /// Replaces every stored vector and the vocabulary, in one transaction; returns how
    /// many vectors were stored.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a vector naming no stored profile,
    /// [`StoreError::Invalid`] for a vector whose indices and values differ in length.
    pub fn save_vectors(
        &mut self,
        vocabulary: &VocabularyRecord,
        vectors: &mut dyn Iterator<Item = StoredVector>,
    ) -> Result<u64, StoreError> {
        let context = format!("saving vectors of vocabulary {}", vocabulary.version);
        // The iterator cannot be replayed, so this transaction is not retried.
        let mut vectors = Some(vectors);
        dispatch!(&mut self.conn, |c, q| c.write(&context, |c| {
            match vectors.take() {
                Some(v) => q::vectors::save_vectors(c, vocabulary, v),
                None => Err(StoreError::Busy {
                    message: format!(
                        "{context}: the database asked to retry the transaction, which cannot \
                         replay the vectors; run it again"
                    ),
                }),
            }
        }))
    }

    /// The vocabulary of the stored vectors, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn load_vocabulary(&mut self) -> Result<Option<VocabularyRecord>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::vectors::load_vocabulary(c))
    }

    /// Every stored vector (of one platform) of a profile others may see, by profile id:
    /// the vectors of unproven uploads are left out (see [`Store::load_unproven_vectors`]).
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt vector.
    pub fn load_vectors(
        &mut self,
        platform: Option<Platform>,
    ) -> Result<Vec<StoredVector>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::vectors::load_vectors(
            c, platform, false
        ))
    }

    /// The stored vectors of unproven uploads (private copies, see [`ListQuery::unproven`]),
    /// by profile id: what their uploaders query matches with, never matched by others.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt vector.
    pub fn load_unproven_vectors(&mut self) -> Result<Vec<StoredVector>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::vectors::load_vectors(
            c, None, true
        ))
    }

    /// One profile's vector, if it has one.
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::Invalid`] for a corrupt vector.
    pub fn load_vector(&mut self, profile_id: i64) -> Result<Option<StoredVector>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::vectors::load_vector(
            c, profile_id
        ))
    }

    /// Stores a new API key (only its secret's hash).
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the key id is taken.
    pub fn create_api_key(&mut self, key: &NewApiKey) -> Result<(), StoreError> {
        let context = format!("creating api key {}", key.key_id);
        dispatch!(&mut self.conn, |c, q| c
            .write(&context, |c| { q::apikeys::create_api_key(c, key) }))
    }

    /// The API key with this id, revoked or not.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn get_api_key(&mut self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::apikeys::get_api_key(c, key_id))
    }

    /// Every API key, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn list_api_keys(&mut self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        dispatch!(&mut self.conn, |c, q| q::apikeys::list_api_keys(c))
    }

    /// Revokes an API key (revoking twice keeps the first time).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub fn revoke_api_key(&mut self, key_id: &str) -> Result<(), StoreError> {
        let context = format!("revoking api key {key_id}");
        dispatch!(&mut self.conn, |c, q| c
            .write(&context, |c| { q::apikeys::revoke_api_key(c, key_id) }))
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// [`StoreError::Database`] if it does not.
    pub fn ping(&mut self) -> Result<(), StoreError> {
        dispatch!(&mut self.conn, |c, q| q::profiles::ping(c))
    }
}
