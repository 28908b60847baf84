//! `toker-store` owns persistence: the Diesel schema, the embedded migrations for SQLite and
//! PostgreSQL, and the [`Store`] with CRUD, bulk ingest, vector persistence and the
//! checkpoints of resumable collection (runs, per-list cursors, committed pages, markers)
//! and the durable job queue that workers claim work from (leases, retries, dead letters).
//!
//! It must not contain business rules beyond the database's constraints.
//!
//! One [`Store`] API serves both backends, chosen by URL (`./toker.db`, `sqlite://…`,
//! `:memory:`, or `postgres://…` with feature `postgres`). Every write is one transaction;
//! a profile read back equals the one stored (videos in order, unknown counts `None`).
//!
//! A video is one row per `(platform, video_id)`: its counts and tags are the latest any
//! stored profile reported (profiles sharing a video see that description). Deleting or
//! replacing a profile removes the videos no other profile links to. An upsert without an
//! owner keeps the stored owner.
//!
//! # Example
//! ```
//! use toker_model::{Listing, Platform, Profile};
//! use toker_store::{Store, StoreError};
//!
//! let mut store = Store::open(":memory:").unwrap();
//! let mut profile = Profile::new("123", "example_user");
//! profile.number_of_likes = Some(6000);
//! let raw = serde_json::json!({ "user_id": "123", "username": "example_user" });
//! let id = store.create_profile(Platform::TikTok, &profile, &raw, None).unwrap();
//! assert_eq!(store.get_profile(id).unwrap().profile, profile);
//!
//! let again = store.create_profile(Platform::TikTok, &profile, &raw, None).unwrap_err();
//! assert!(matches!(again, StoreError::Duplicate { id: same, .. } if same == id));
//! assert_eq!(again.to_string(), format!("profile tiktok:123 already exists (id {id})"));
//! assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 1);
//! ```

// Each feature (profiles, vectors, apikeys, checkpoints, principals, jobs) is a folder:
// `mod.rs` has its public types and its `impl Store` methods, `rows.rs` its Diesel rows,
// `queries.rs` its SQL, compiled once per backend by `backend.rs`. Every table is in
// `schema.rs`.
mod apikeys;
mod backend;
mod budgets;
mod checkpoints;
mod columns;
mod connection;
mod error;
mod jobs;
mod migrate;
mod principals;
mod profiles;
mod schema;
mod store;
#[cfg(feature = "test-support")]
pub mod testing;
mod vectors;

pub use apikeys::{ApiKeyRecord, NewApiKey};
pub use budgets::{BudgetRule, Spend};
pub use checkpoints::{
    Checkpoint, CollectionRun, CommittedPage, ListingState, Marker, NewPage, NewRun, PageCommit,
    ProfileWrite, RunEnd, RunMode, RunStatus,
};
pub use connection::{Backend, with_commit_guard};
pub use error::{BusyReason, StoreError};
pub use jobs::{Claimed, Enqueued, Job, JobCounts, JobEnd, JobState, Lease, NewJob};
pub use migrate::{MigrationState, Migrator};
pub use principals::{
    AccountClaim, AccountMethod, AccountRecord, AccountTokens, ConnectAccount, ConnectedAccount,
    NewOAuthState, NewSession, OAuthStateRecord, Placement, PrincipalErasure, PrincipalRecord,
    ProfileOwner, SessionRecord, StateUse,
};
pub use profiles::ingest::{IngestItem, IngestOptions, IngestOutcome, IngestReport};
pub use profiles::{ProfileRow, REFIT_ADVISED_DRIFT, Stats, StoredProfile, Written};
pub use store::Store;
pub use vectors::{
    ProfileVectorizer, StoredVector, VectorParts, Vectorized, VocabularyRecord, VocabularyRef,
};
