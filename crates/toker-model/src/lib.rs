//! `toker-model` owns Toker's vocabulary: the [`Platform`]s, the [`Profile`] and [`Video`]
//! schema whose JSON field names are Toker's profile format, the [`VideoRelation`] between
//! a person and a video, and validation ([`ValidationRules`], [`ValidationError`]) that
//! reports every violation with its field path.
//!
//! It must not do I/O or depend on any other toker crate, a database, an HTTP client or an
//! async runtime: every other crate builds on it.
//!
//! # Example
//! ```
//! use toker_model::{parse_profile_str, Platform, ValidationRules};
//!
//! let json = r##"{ "user_id": "123456", "username": "example_user",
//!   "number_of_likes": 6000,
//!   "liked_videos": [{ "video_id": "967235098701", "categories": ["Technology"],
//!                      "hashtags": ["#fun"], "likes": 300, "comments": 20, "shares": 15 }],
//!   "shared_videos": [] }"##;
//! let (profile, raw) = parse_profile_str(json, &ValidationRules::default()).unwrap();
//! assert_eq!(profile.liked_videos[0].likes, Some(300));
//! assert_eq!(raw["username"], "example_user");
//!
//! // Every violation is reported with its path.
//! let bad = r#"{ "user_id": "", "username": "u", "number_of_likes": 5,
//!   "liked_videos": [{ "video_id": "1", "likes": -5 }] }"#;
//! let err = toker_model::parse_profile(&serde_json::from_str(bad).unwrap(),
//!                                      &ValidationRules::default()).unwrap_err();
//! let paths: Vec<_> = err.paths().collect();
//! assert_eq!(paths, ["user_id", "number_of_likes", "liked_videos[0].likes"]);
//! assert_eq!("Twitter".parse::<Platform>().unwrap(), Platform::X);
//! ```

mod error;
mod listing;
mod platform;
mod profile;
pub mod taxonomy;
mod validate;

pub use error::ModelError;
pub use listing::Listing;
pub use platform::{Platform, UnknownPlatform};
pub use profile::{Count, PlatformProfile, Profile, Video, VideoRelation};
pub use validate::{
    DEFAULT_MIN_LIKES, MAX_COUNT, MAX_INTERESTS, MAX_REPORTED, ValidationError, ValidationRules,
    Violation, describe, is_forbidden_char, parse_profile,
};

/// Parses a JSON document into a validated profile, returning the raw JSON beside it
/// (the raw value keeps unknown keys, for storage).
///
/// # Errors
/// [`ModelError::Json`] for text that is not JSON, [`ModelError::Invalid`] with every
/// violation otherwise.
pub fn parse_profile_str(
    json: &str,
    rules: &ValidationRules,
) -> Result<(Profile, serde_json::Value), ModelError> {
    let raw: serde_json::Value = serde_json::from_str(json)?;
    let profile = parse_profile(&raw, rules)?;
    Ok((profile, raw))
}
