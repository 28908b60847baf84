//! The records the store hands out and the queries it takes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use toker_model::{Platform, Profile};

/// Which profiles to list, count or load. `Default` is every profile others may see (no
/// unproven upload), no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListQuery {
    /// Only this platform's profiles.
    pub platform: Option<Platform>,
    /// Only profiles of this owner.
    pub owner: Option<String>,
    /// Also unproven uploads: private copies of their uploader's, which only the uploader
    /// sees (with `owner` set to the uploader, their own listing) until they prove the
    /// account. Left out by default: of everyone else's listings, counts and refits.
    pub unproven: bool,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows (after `after_id` is applied).
    pub offset: u64,
    /// Only rows with an id greater than this (keyset pagination: pass the last id seen).
    pub after_id: Option<i64>,
}

impl ListQuery {
    /// Every profile of one platform.
    #[must_use]
    pub fn platform(platform: Platform) -> Self {
        ListQuery {
            platform: Some(platform),
            ..ListQuery::default()
        }
    }

    /// Every profile of one owner, their unproven uploads included.
    #[must_use]
    pub fn owner(owner: impl Into<String>) -> Self {
        ListQuery {
            owner: Some(owner.into()),
            unproven: true,
            ..ListQuery::default()
        }
    }
}

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
    /// [`ListQuery::unproven`]).
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
    /// An unproven upload, private to its owner (see [`ListQuery::unproven`]).
    pub unproven: bool,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Upserted {
    /// The profile was new.
    Created,
    /// An existing profile (same platform and user id) was replaced.
    Updated,
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
}

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
