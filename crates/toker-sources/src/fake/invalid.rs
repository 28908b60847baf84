//! Deliberately invalid profiles, one kind per validation rule, for tests of everything
//! downstream (import, the CLI's exit code 3, the API's problem responses).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use toker_model::MAX_COUNT;

use crate::source::RawProfile;

/// One way to make a generated profile invalid.
///
/// Kinds that a typed [`toker_model::Profile`] can hold (an empty id, a duplicate video)
/// are applied to the profile and so show in the raw JSON too. Kinds it cannot hold (a
/// negative or fractional count, a string where a number belongs) exist only in
/// [`RawProfile::raw`], which is what [`toker_model::parse_profile`] checks; the typed
/// profile then keeps the valid value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invalidity {
    /// `number_of_likes` one below the configured minimum (`null` when the minimum is 0).
    TooFewLikes,
    /// `number_of_likes` is `null`.
    MissingLikes,
    /// `liked_videos[0].likes` is negative (raw JSON only).
    NegativeCount,
    /// `followers_count` has a fraction (raw JSON only).
    FractionalCount,
    /// `likes_count` is a string of digits (raw JSON only).
    StringCount,
    /// `number_of_shares` is larger than a database `BIGINT` holds.
    OverflowCount,
    /// `liked_videos[1]` repeats the id of `liked_videos[0]`.
    DuplicateVideoId,
    /// `liked_videos[0].video_id` is empty.
    EmptyVideoId,
    /// `user_id` is empty.
    EmptyUserId,
    /// `username` is empty.
    EmptyUsername,
    /// `username` starts and ends with a space.
    PaddedUsername,
    /// `user_id` is longer than the default limit of 256 characters.
    OverlongUserId,
    /// `verified` is the string `"yes"` (raw JSON only).
    NonBooleanVerified,
}

impl Invalidity {
    /// Every kind, in declaration order.
    pub const ALL: [Invalidity; 13] = [
        Invalidity::TooFewLikes,
        Invalidity::MissingLikes,
        Invalidity::NegativeCount,
        Invalidity::FractionalCount,
        Invalidity::StringCount,
        Invalidity::OverflowCount,
        Invalidity::DuplicateVideoId,
        Invalidity::EmptyVideoId,
        Invalidity::EmptyUserId,
        Invalidity::EmptyUsername,
        Invalidity::PaddedUsername,
        Invalidity::OverlongUserId,
        Invalidity::NonBooleanVerified,
    ];

    /// The kebab-case name (`negative-count`), as accepted by [`FromStr`].
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Invalidity::TooFewLikes => "too-few-likes",
            Invalidity::MissingLikes => "missing-likes",
            Invalidity::NegativeCount => "negative-count",
            Invalidity::FractionalCount => "fractional-count",
            Invalidity::StringCount => "string-count",
            Invalidity::OverflowCount => "overflow-count",
            Invalidity::DuplicateVideoId => "duplicate-video-id",
            Invalidity::EmptyVideoId => "empty-video-id",
            Invalidity::EmptyUserId => "empty-user-id",
            Invalidity::EmptyUsername => "empty-username",
            Invalidity::PaddedUsername => "padded-username",
            Invalidity::OverlongUserId => "overlong-user-id",
            Invalidity::NonBooleanVerified => "non-boolean-verified",
        }
    }

    /// The field path that validation reports for this kind (and only this one).
    #[must_use]
    pub const fn path(self) -> &'static str {
        match self {
            Invalidity::TooFewLikes | Invalidity::MissingLikes => "number_of_likes",
            Invalidity::NegativeCount => "liked_videos[0].likes",
            Invalidity::FractionalCount => "followers_count",
            Invalidity::StringCount => "likes_count",
            Invalidity::OverflowCount => "number_of_shares",
            Invalidity::DuplicateVideoId => "liked_videos[1].video_id",
            Invalidity::EmptyVideoId => "liked_videos[0].video_id",
            Invalidity::EmptyUserId | Invalidity::OverlongUserId => "user_id",
            Invalidity::EmptyUsername | Invalidity::PaddedUsername => "username",
            Invalidity::NonBooleanVerified => "verified",
        }
    }

    /// Corrupts a valid generated profile (at least two liked videos) in this way, and
    /// records what was done in its warnings.
    pub(super) fn apply(self, out: &mut RawProfile, min_likes: u64) {
        let p = &mut out.profile;
        match self {
            Invalidity::TooFewLikes => p.number_of_likes = min_likes.checked_sub(1),
            Invalidity::MissingLikes => p.number_of_likes = None,
            Invalidity::OverflowCount => p.number_of_shares = Some(MAX_COUNT + 1),
            Invalidity::DuplicateVideoId => {
                if let [first, second, ..] = p.liked_videos.as_mut_slice() {
                    second.video_id.clone_from(&first.video_id);
                }
            }
            Invalidity::EmptyVideoId => {
                if let Some(first) = p.liked_videos.first_mut() {
                    first.video_id.clear();
                }
            }
            Invalidity::EmptyUserId => p.user_id.clear(),
            Invalidity::EmptyUsername => p.username.clear(),
            Invalidity::PaddedUsername => p.username = format!(" {} ", p.username),
            Invalidity::OverlongUserId => p.user_id = "7".repeat(300),
            Invalidity::NegativeCount
            | Invalidity::FractionalCount
            | Invalidity::StringCount
            | Invalidity::NonBooleanVerified => {}
        }
        out.raw = super::profile_json(&out.profile);
        let followers = out.profile.followers_count.unwrap_or(0);
        let likes = out.profile.likes_count.unwrap_or(0);
        let raw_edit = match self {
            Invalidity::NegativeCount => Some(("/liked_videos/0/likes", Value::from(-5))),
            Invalidity::FractionalCount => {
                Some(("/followers_count", Value::from(followers as f64 + 0.5)))
            }
            Invalidity::StringCount => Some(("/likes_count", Value::from(likes.to_string()))),
            Invalidity::NonBooleanVerified => Some(("/verified", Value::from("yes"))),
            _ => None,
        };
        if let Some((pointer, value)) = raw_edit
            && let Some(slot) = out.raw.pointer_mut(pointer)
        {
            *slot = value;
        }
        out.warnings.push(
            crate::WarningKind::Note,
            format!("deliberately invalid ({self}): see {}", self.path()),
        );
    }
}

impl fmt::Display for Invalidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a name that is not an [`Invalidity`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind of invalid profile {given:?}: expected one of {}", Invalidity::ALL.map(Invalidity::as_str).join(", "))]
pub struct UnknownInvalidity {
    /// The name that was given.
    pub given: String,
}

impl FromStr for Invalidity {
    type Err = UnknownInvalidity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('_', "-").to_ascii_lowercase();
        Invalidity::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| UnknownInvalidity {
                given: s.to_owned(),
            })
    }
}
