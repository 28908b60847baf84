//! What a collection did, for the caller to show (`--json` prints it as is).

use serde::Serialize;
use toker_model::{Platform, Profile};
use toker_sources::http::Listing;
use toker_store::{ListingState, RunMode, RunStatus, Written};

use crate::items::{ItemChanges, ItemCounts};

/// The stored profile after a collection or import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileReport {
    /// The profile's row id in the store.
    pub id: i64,
    /// `platform:user_id`.
    pub key: String,
    /// The platform's id of the person.
    pub user_id: String,
    /// The person's handle.
    pub username: String,
    /// What the last write did (`unchanged`: nothing was written), serialised by its name
    /// only (the id is [`ProfileReport::id`]).
    #[serde(serialize_with = "Written::serialize_name")]
    pub outcome: Written,
    /// How many liked videos the stored profile lists after the write.
    pub liked_videos: usize,
    /// How many shared videos the stored profile lists after the write.
    pub shared_videos: usize,
}

impl ProfileReport {
    pub(crate) fn new(platform: Platform, outcome: Written, profile: &Profile) -> Self {
        ProfileReport {
            id: outcome.id(),
            key: format!("{platform}:{}", profile.user_id),
            user_id: profile.user_id.clone(),
            username: profile.username.clone(),
            outcome,
            liked_videos: profile.liked_videos.len(),
            shared_videos: profile.shared_videos.len(),
        }
    }
}

/// One list of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ListingReport {
    /// Which list: `liked`, `reposted` or `posts`.
    pub listing: Listing,
    /// Where the run is in it.
    pub state: ListingState,
    /// Pages committed (by this invocation or before it).
    pub pages: u32,
    /// Items on them.
    pub items: u64,
}

/// What a collection run did (also carried by the errors that stop one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectReport {
    /// The run's row id, the same across resumes.
    pub run_id: i64,
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The person as asked for, normalised.
    pub subject: String,
    /// How the run reads.
    pub mode: RunMode,
    /// Whether this invocation continued an unfinished run.
    pub resumed: bool,
    /// Where the run is now: complete, still unfinished (stopped), or rejected.
    pub status: RunStatus,
    /// Whether the run read every page, so that the next `since-last` run starts from it.
    pub marker_moved: bool,
    /// Pages this invocation asked for and committed.
    pub pages_fetched: u64,
    /// Pages committed before this invocation (not asked for again).
    pub pages_resumed: u64,
    /// Each list of the run.
    pub listings: Vec<ListingReport>,
    /// The stored profile, once one was stored.
    pub profile: Option<ProfileReport>,
    /// The stored profile's videos compared with those stored when this invocation began.
    pub items: ItemCounts,
    /// The same, per list of the profile.
    pub items_by_list: ItemChanges,
    /// Why the run stopped before its end, if it did.
    pub stopped: Option<String>,
    /// What the source noticed (unreadable items, refused lists, partial errors).
    pub warnings: Vec<String>,
}
