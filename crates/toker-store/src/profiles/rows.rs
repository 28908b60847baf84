//! Diesel's view of the profile tables: the rows a write inserts (built by
//! [`PreparedProfile`]) and the rows a read selects.

use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use toker_model::{Platform, Profile, Video};

pub(crate) use crate::columns::{DbPlatform, DbTime};
use crate::error::StoreError;
use crate::schema::{profile_videos, profiles, video_tags, videos};

/// Tag kinds as stored in `video_tags.kind`.
pub(crate) const CATEGORY: &str = "category";
/// See [`CATEGORY`].
pub(crate) const HASHTAG: &str = "hashtag";

/// A count as stored: `BIGINT`, so at most `i64::MAX`.
fn count_in(record: &str, field: &str, value: Option<u64>) -> Result<Option<i64>, StoreError> {
    value
        .map(|n| {
            i64::try_from(n).map_err(|_| StoreError::Invalid {
                record: record.to_owned(),
                message: format!(
                    "{field}: {n} is larger than the largest storable count {}",
                    i64::MAX
                ),
            })
        })
        .transpose()
}

/// A stored count read back (the schema's `CHECK (… >= 0)` keeps it non-negative).
pub(crate) fn count_out(value: Option<i64>) -> Option<u64> {
    value.map(|n| u64::try_from(n).unwrap_or_default())
}

/// A list length as a stored count.
fn len_in(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// A position in a list as stored (`INTEGER`).
pub(crate) fn position_in(record: &str, index: usize) -> Result<i32, StoreError> {
    i32::try_from(index).map_err(|_| StoreError::Invalid {
        record: record.to_owned(),
        message: format!("a list of more than {} items cannot be stored", i32::MAX),
    })
}

/// Declares [`CountColumns`] from the model's list of counts ([`toker_model::profile_counts!`]).
macro_rules! count_columns {
    ([ $( $(#[$doc:meta])* $count:ident ),* $(,)? ]) => {
        /// A profile's own counts as stored, a `BIGINT` column each: written by inserts,
        /// replaces and upserts ([`excluded_counts!`]) and read back whole.
        #[derive(Debug, Clone, Copy, Insertable, AsChangeset, Queryable, Selectable)]
        #[diesel(
            table_name = profiles,
            treat_none_as_default_value = false,
            treat_none_as_null = true
        )]
        pub(crate) struct CountColumns {
            $( $(#[$doc])* pub(crate) $count: Option<i64>, )*
        }

        impl CountColumns {
            /// The counts of `p`, rejecting one the database cannot hold.
            fn new(record: &str, p: &Profile) -> Result<Self, StoreError> {
                Ok(CountColumns {
                    $( $count: count_in(record, stringify!($count), p.$count)?, )*
                })
            }

            /// Sets the counts of `p` to these.
            fn set_on(self, p: &mut Profile) {
                $( p.$count = count_out(self.$count); )*
            }
        }
    };
}

toker_model::profile_counts!(count_columns!());

/// `toker_model::profile_counts!(excluded_counts!())`: an upsert's `SET` of every count
/// column to the value the conflicting row proposed (`excluded.…`), as a tuple.
macro_rules! excluded_counts {
    ([ $( $(#[$doc:meta])* $count:ident ),* $(,)? ]) => {
        ( $(
            ::diesel::ExpressionMethods::eq(
                $crate::schema::profiles::$count,
                ::diesel::upsert::excluded($crate::schema::profiles::$count),
            ),
        )* )
    };
}
pub(crate) use excluded_counts;

/// The `profiles` row of a profile to write.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = profiles, treat_none_as_default_value = false)]
pub(crate) struct NewProfileRow<'a> {
    pub(crate) platform: &'static str,
    pub(crate) user_id: &'a str,
    /// What a replace and an upsert overwrite.
    #[diesel(embed)]
    pub(crate) data: ProfileData<'a>,
    pub(crate) owner: Option<&'a str>,
    pub(crate) created_at: DbTime,
    /// `""` for the account's profile; the uploader's principal id for their unproven copy.
    pub(crate) unproven_by: &'a str,
}

/// The columns of a `profiles` row that a replace sets (with `user_id`, through this
/// changeset) and an upsert overwrites (with a new owner, through the `SET` in
/// `queries.rs`, which names these columns again): all but the id, the platform, the
/// owner, `created_at` and `unproven_by`.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(
    table_name = profiles,
    treat_none_as_default_value = false,
    treat_none_as_null = true
)]
pub(crate) struct ProfileData<'a> {
    pub(crate) username: &'a str,
    pub(crate) user_pseudo: Option<&'a str>,
    pub(crate) verified: Option<bool>,
    #[diesel(embed)]
    pub(crate) counts: CountColumns,
    pub(crate) liked_count: i64,
    pub(crate) shared_count: i64,
    pub(crate) raw_json: String,
    pub(crate) updated_at: DbTime,
    /// The profile's interests, one per line (validation refuses line breaks in them).
    pub(crate) interests: String,
}

/// The `videos` row of a video to write.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = videos, treat_none_as_default_value = false)]
pub(crate) struct NewVideoRow<'a> {
    pub(crate) platform: &'static str,
    pub(crate) video_id: &'a str,
    pub(crate) likes: Option<i64>,
    pub(crate) comments: Option<i64>,
    pub(crate) shares: Option<i64>,
}

/// A `video_tags` row to write.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = video_tags, treat_none_as_default_value = false)]
pub(crate) struct NewTagRow<'a> {
    pub(crate) video_ref: i64,
    pub(crate) kind: &'static str,
    pub(crate) position: i32,
    pub(crate) tag: &'a str,
}

/// A `profile_videos` row to write.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = profile_videos, treat_none_as_default_value = false)]
pub(crate) struct NewLinkRow {
    pub(crate) profile_id: i64,
    pub(crate) relation: &'static str,
    pub(crate) position: i32,
    pub(crate) video_ref: i64,
}

/// A video of a profile to write, with its tags.
#[derive(Debug, Clone)]
pub(crate) struct PreparedVideo<'a> {
    pub(crate) row: NewVideoRow<'a>,
    pub(crate) categories: &'a [String],
    pub(crate) hashtags: &'a [String],
}

/// A profile checked and converted for writing; borrows from the caller's profile.
#[derive(Debug, Clone)]
pub(crate) struct PreparedProfile<'a> {
    /// `platform:user_id`.
    pub(crate) key: String,
    /// The record for messages: `profile tiktok:123 (line 12)`.
    pub(crate) record: String,
    pub(crate) platform: Platform,
    /// The profile itself, for the vector written with it.
    pub(crate) profile: &'a Profile,
    pub(crate) row: NewProfileRow<'a>,
    pub(crate) liked: Vec<PreparedVideo<'a>>,
    pub(crate) shared: Vec<PreparedVideo<'a>>,
}

impl<'a> PreparedProfile<'a> {
    /// Converts a profile, rejecting counts the database cannot hold.
    ///
    /// `label` says where the profile came from (`line 12`); `now` stamps both times.
    pub(crate) fn new(
        platform: Platform,
        profile: &'a Profile,
        raw: &serde_json::Value,
        owner: Option<&'a str>,
        label: Option<&str>,
        now: DbTime,
    ) -> Result<Self, StoreError> {
        let key = crate::profiles::profile_key(platform, &profile.user_id);
        let record = match label {
            Some(label) if !label.is_empty() => format!("profile {key} ({label})"),
            _ => format!("profile {key}"),
        };
        let p = profile;
        let row = NewProfileRow {
            platform: platform.as_str(),
            user_id: &p.user_id,
            data: ProfileData {
                username: &p.username,
                user_pseudo: p.user_pseudo.as_deref(),
                verified: p.verified,
                counts: CountColumns::new(&record, p)?,
                liked_count: len_in(p.liked_videos.len()),
                shared_count: len_in(p.shared_videos.len()),
                raw_json: serde_json::to_string(raw).map_err(|e| StoreError::Invalid {
                    record: record.clone(),
                    message: format!("raw JSON cannot be serialized: {e}"),
                })?,
                updated_at: now,
                interests: p.interests.join("\n"),
            },
            owner,
            created_at: now,
            unproven_by: "",
        };
        let liked = prepare_videos(platform, &record, "liked_videos", &p.liked_videos)?;
        let shared = prepare_videos(platform, &record, "shared_videos", &p.shared_videos)?;
        Ok(PreparedProfile {
            key,
            record,
            platform,
            profile,
            row,
            liked,
            shared,
        })
    }

    /// The videos with their relation name and position, liked first.
    pub(crate) fn links(&self) -> impl Iterator<Item = (&'static str, usize, &PreparedVideo<'a>)> {
        let liked = self.liked.iter().enumerate().map(|(i, v)| ("liked", i, v));
        let shared = self
            .shared
            .iter()
            .enumerate()
            .map(|(i, v)| ("shared", i, v));
        liked.chain(shared)
    }
}

fn prepare_videos<'a>(
    platform: Platform,
    record: &str,
    list: &str,
    videos: &'a [Video],
) -> Result<Vec<PreparedVideo<'a>>, StoreError> {
    videos
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = |name: &str| format!("{list}[{i}].{name}");
            position_in(record, i)?;
            Ok(PreparedVideo {
                row: NewVideoRow {
                    platform: platform.as_str(),
                    video_id: &v.video_id,
                    likes: count_in(record, &field("likes"), v.likes)?,
                    comments: count_in(record, &field("comments"), v.comments)?,
                    shares: count_in(record, &field("shares"), v.shares)?,
                },
                categories: &v.categories,
                hashtags: &v.hashtags,
            })
        })
        .collect()
}

/// A whole `profiles` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profiles)]
pub(crate) struct ProfileDbRow {
    pub(crate) id: i64,
    pub(crate) platform: DbPlatform,
    pub(crate) user_id: String,
    pub(crate) username: String,
    pub(crate) user_pseudo: Option<String>,
    pub(crate) verified: Option<bool>,
    #[diesel(embed)]
    pub(crate) counts: CountColumns,
    pub(crate) raw_json: String,
    pub(crate) owner: Option<String>,
    pub(crate) created_at: DbTime,
    pub(crate) updated_at: DbTime,
    pub(crate) unproven_by: String,
    pub(crate) interests: String,
}

impl ProfileDbRow {
    /// The profile without its videos (filled in by the caller).
    pub(crate) fn profile(&self) -> Profile {
        let mut p = Profile::new(self.user_id.clone(), self.username.clone());
        p.user_pseudo.clone_from(&self.user_pseudo);
        p.verified = self.verified;
        self.counts.set_on(&mut p);
        p.interests = self
            .interests
            .split('\n')
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect();
        p
    }
}

/// The columns `toker list` shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profiles)]
pub(crate) struct ListDbRow {
    pub(crate) id: i64,
    pub(crate) platform: DbPlatform,
    pub(crate) user_id: String,
    pub(crate) username: String,
    pub(crate) number_of_likes: Option<i64>,
    pub(crate) liked_count: i64,
    pub(crate) shared_count: i64,
    pub(crate) owner: Option<String>,
    pub(crate) created_at: DbTime,
    pub(crate) unproven_by: String,
}

/// One link of a profile with its video, as loaded.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct LinkDbRow {
    pub(crate) profile_id: i64,
    pub(crate) relation: String,
    pub(crate) video_ref: i64,
    pub(crate) video_id: String,
    pub(crate) likes: Option<i64>,
    pub(crate) comments: Option<i64>,
    pub(crate) shares: Option<i64>,
}

/// One tag as loaded.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct TagDbRow {
    pub(crate) video_ref: i64,
    pub(crate) kind: String,
    pub(crate) tag: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_above_bigint_are_rejected_naming_the_field() {
        let mut p = Profile::new("1", "u");
        p.liked_videos.push(Video::new("v"));
        p.liked_videos[0].shares = Some(u64::MAX);
        let raw = serde_json::json!({});
        let err = PreparedProfile::new(Platform::X, &p, &raw, None, Some("line 3"), DbTime::now())
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("profile x:1 (line 3): liked_videos[0].shares: 18446744073709551615"),
            "{msg}"
        );
    }
}
