//! The profile and video schema. Their serde field names are Toker's profile format:
//! what imports read, exports write and the API sends, with the platform beside the
//! profile (a `"platform"` key, a CLI argument or the source). A complete profile:
//!
//! ```json
//! { "user_id": "123456", "username": "example_user", "user_pseudo": "example_pseudo",
//!   "verified": false, "followers_count": 1500, "following_count": 300,
//!   "likes_count": 5000, "videos_count": 100, "number_of_comments": 200,
//!   "number_of_likes_on_own_videos": 4500, "number_of_likes": 6000,
//!   "number_of_shares": 800,
//!   "liked_videos":  [{ "video_id": "967235098701", "categories": ["Technology","Education"],
//!                       "hashtags": ["#fun"], "likes": 300, "comments": 20, "shares": 15 }],
//!   "shared_videos": [{ "video_id": "967235098703", "categories": ["Music","Dance"],
//!                       "likes": 400, "comments": 25, "shares": 20 }] }
//! ```
//!
//! A value the source cannot know is `null`, never a made-up 0 or `false` (which source
//! knows what: `docs/PLATFORMS.md#from-a-source-to-a-toker-profile`). `likes_count` is the
//! likes the person's own videos received, `number_of_likes` the likes the person gave;
//! `liked_videos` and `shared_videos` are the videos of those the source returned.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A count that the source may not know: `None` is serialised as `null`, never a made-up 0.
pub type Count = Option<u64>;

/// How a profile relates to a video it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoRelation {
    /// The person liked the video (`liked_videos`).
    Liked,
    /// The person shared or reposted the video (`shared_videos`).
    Shared,
}

impl VideoRelation {
    /// Both relations, liked first.
    pub const ALL: [VideoRelation; 2] = [VideoRelation::Liked, VideoRelation::Shared];

    /// The lower-case name (`liked`, `shared`), as stored.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            VideoRelation::Liked => "liked",
            VideoRelation::Shared => "shared",
        }
    }

    /// The profile's JSON key that holds videos of this relation.
    #[must_use]
    pub const fn list_key(self) -> &'static str {
        match self {
            VideoRelation::Liked => "liked_videos",
            VideoRelation::Shared => "shared_videos",
        }
    }
}

impl fmt::Display for VideoRelation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VideoRelation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "liked" => Ok(VideoRelation::Liked),
            "shared" => Ok(VideoRelation::Shared),
            other => Err(format!(
                "unknown video relation {other:?}: expected liked or shared"
            )),
        }
    }
}

/// A video that a person liked or shared, as the source returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Video {
    /// The platform's id of the video (a string, even when numeric).
    pub video_id: String,
    /// Content categories (absent in the input = empty).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Hashtags (absent in the input = empty).
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Likes the video received, if known.
    #[serde(default)]
    pub likes: Count,
    /// Comments the video received, if known.
    #[serde(default)]
    pub comments: Count,
    /// Shares the video received, if known.
    #[serde(default)]
    pub shares: Count,
}

impl Video {
    /// A video with an id and nothing else known.
    #[must_use]
    pub fn new(video_id: impl Into<String>) -> Self {
        Video {
            video_id: video_id.into(),
            categories: Vec::new(),
            hashtags: Vec::new(),
            likes: None,
            comments: None,
            shares: None,
        }
    }
}

/// The profile's own counts, in the profile format's order, with their docs: the one list
/// of them. Every other list derives from it: [`Profile`]'s fields, [`Profile::COUNT_NAMES`],
/// [`Profile::counts`] (validation, the CSV export and the API's summary read it), the
/// store's count columns and the API's profile schema.
///
/// `profile_counts!(then!(args…))` expands to `then! { args… [ $(#[doc = …] name),* ] }`, so
/// that a crate declares what it needs once for every count.
#[macro_export]
macro_rules! profile_counts {
    ($then:ident ! ( $($args:tt)* )) => {
        $then! { $($args)* [
            /// Followers of the account.
            followers_count,
            /// Accounts the person follows.
            following_count,
            /// Likes received on the profile.
            likes_count,
            /// Videos or posts the account published.
            videos_count,
            /// Comments the person wrote.
            number_of_comments,
            /// Likes received on the person's own videos.
            number_of_likes_on_own_videos,
            /// Likes the person gave (what `toker list` prints as "Likes"). Must be present to store.
            number_of_likes,
            /// Shares or reposts the person made.
            number_of_shares,
        ] }
    };
}

/// How many counts a profile has ([`Profile::COUNT_NAMES`]).
const COUNTS: usize = Profile::COUNT_NAMES.len();

/// Declares [`Profile`] with the counts of [`profile_counts!`] between its identity and its
/// videos, and the lists of its fields.
macro_rules! declare_profile {
    ([ $( $(#[$doc:meta])* $count:ident ),* $(,)? ]) => {
        /// A person's activity on one platform: the fields of the profile format, in its
        /// order (the counts are [`profile_counts!`]'s).
        ///
        /// The platform is carried beside the profile (see [`crate::PlatformProfile`]).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Profile {
            /// The platform's id of the person.
            pub user_id: String,
            /// The person's handle.
            pub username: String,
            /// The person's display name, if known.
            #[serde(default)]
            pub user_pseudo: Option<String>,
            /// Whether the platform marks the account as verified, if known.
            #[serde(default)]
            pub verified: Option<bool>,
            $(
                $(#[$doc])*
                #[serde(default)]
                pub $count: Count,
            )*
            /// The sample of videos the person liked that the source returned.
            #[serde(default)]
            pub liked_videos: Vec<Video>,
            /// The sample of videos the person shared that the source returned.
            #[serde(default)]
            pub shared_videos: Vec<Video>,
            /// Interests the platform itself assigns the person, beyond any video: Instagram's
            /// "Your topics" in its data export. Cleaned like categories (the taxonomy's
            /// spelling where it has the name, others as given) and vectorized as categories,
            /// so that an Instagram profile, whose liked posts carry no category, matches
            /// people by them. Absent from the JSON when empty.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub interests: Vec<String>,
        }

        impl Profile {
            /// A profile with ids and nothing else known.
            #[must_use]
            pub fn new(user_id: impl Into<String>, username: impl Into<String>) -> Self {
                Profile {
                    user_id: user_id.into(),
                    username: username.into(),
                    user_pseudo: None,
                    verified: None,
                    $($count: None,)*
                    liked_videos: Vec::new(),
                    shared_videos: Vec::new(),
                    interests: Vec::new(),
                }
            }

            /// The name of every field, in declaration order: Toker's profile format, and the
            /// order in which validation reports violations.
            pub const FIELD_NAMES: [&'static str; 7 + COUNTS] = [
                "user_id",
                "username",
                "user_pseudo",
                "verified",
                $(stringify!($count),)*
                "liked_videos",
                "shared_videos",
                "interests",
            ];

            /// The names of the profile's own counts, in field order ([`profile_counts!`]).
            pub const COUNT_NAMES: [&'static str; [$(stringify!($count)),*].len()] =
                [$(stringify!($count)),*];

            /// The profile's own counts with their names ([`Profile::COUNT_NAMES`]), in field
            /// order.
            #[must_use]
            pub fn counts(&self) -> [(&'static str, Count); COUNTS] {
                [$((stringify!($count), self.$count)),*]
            }

            /// The counts as [`Profile::counts`] names them, to set.
            pub fn counts_mut(&mut self) -> [(&'static str, &mut Count); COUNTS] {
                [$((stringify!($count), &mut self.$count)),*]
            }
        }
    };
}

crate::profile_counts!(declare_profile!());

impl Profile {
    /// The videos of one relation.
    #[must_use]
    pub fn videos(&self, relation: VideoRelation) -> &[Video] {
        match relation {
            VideoRelation::Liked => &self.liked_videos,
            VideoRelation::Shared => &self.shared_videos,
        }
    }

    /// Every (relation, video) pair, liked first.
    pub fn all_videos(&self) -> impl Iterator<Item = (VideoRelation, &Video)> {
        self.liked_videos
            .iter()
            .map(|v| (VideoRelation::Liked, v))
            .chain(
                self.shared_videos
                    .iter()
                    .map(|v| (VideoRelation::Shared, v)),
            )
    }
}

/// A profile together with the platform it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformProfile {
    /// The platform, as a `"platform"` key beside the profile's own fields.
    pub platform: Platform,
    /// The profile, its fields in the same JSON object as `platform`.
    #[serde(flatten)]
    pub profile: Profile,
}

use crate::Platform;

impl PlatformProfile {
    /// `platform:user_id`, the natural key used in messages and references.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.profile.user_id)
    }
}

#[cfg(test)]
mod field_list_tests {
    use super::*;

    /// A profile with every field set, so that none is left out of its JSON.
    fn full() -> Profile {
        let mut p = Profile::new("1", "u");
        p.user_pseudo = Some("U".to_owned());
        p.verified = Some(true);
        for (i, (_, count)) in p.counts_mut().into_iter().enumerate() {
            *count = Some(i as u64 + 1);
        }
        p.liked_videos.push(Video::new("a"));
        p.shared_videos.push(Video::new("b"));
        p.interests.push("Music".to_owned());
        p
    }

    #[test]
    fn field_names_are_the_json_keys_in_order() {
        let json = serde_json::to_value(full()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, Profile::FIELD_NAMES);
    }

    #[test]
    fn counts_are_the_count_fields_in_field_order() {
        let p = full();
        let json = serde_json::to_value(&p).unwrap();
        let counts = p.counts();
        let names: Vec<&str> = counts.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, Profile::COUNT_NAMES);
        for (name, value) in counts {
            assert_eq!(json[name].as_u64(), value, "{name}");
        }
        let in_field_order: Vec<&str> = Profile::FIELD_NAMES
            .iter()
            .copied()
            .filter(|n| Profile::COUNT_NAMES.contains(n))
            .collect();
        assert_eq!(in_field_order, Profile::COUNT_NAMES);
        let mut q = Profile::new("1", "u");
        for ((name, slot), (same, value)) in q.counts_mut().into_iter().zip(p.counts()) {
            assert_eq!(name, same);
            *slot = value;
        }
        assert_eq!(q.counts(), p.counts());
    }
}
