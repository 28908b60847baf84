//! Importing a platform's "download your data" export: the dispatch by platform, an
//! [`ExportSource`] for the [`Source`] registry, and the parsing helpers the three
//! importers share.
//!
//! Every importer is deterministic: the same export (zip or folder, wherever it lives)
//! gives the same [`RawProfile`], raw JSON included, so importing it twice changes nothing
//! and a newer export of the same account differs only by what is new.

// With no platform compiled in, nothing reads exports.
#![cfg_attr(
    not(any(feature = "tiktok", feature = "x", feature = "instagram")),
    allow(dead_code)
)]

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use serde_json::Value;
use toker_model::{Platform, Video};

use crate::error::SourceError;
use crate::registry::{ensure_enabled, feature_of};
use crate::source::{RawProfile, Source, SourceKind, UserRef};

/// Imports `platform`'s data export at `path`: the `.zip` as downloaded, the folder it
/// unpacks to, or the one data file taken out of it (e.g. TikTok's `user_data.json`).
///
/// The profile is not validated or cleaned yet (hashtags are already `#`-prefixed and
/// lower-cased); values the export cannot know are `None`.
///
/// # Errors
/// [`SourceError::FeatureDisabled`] when the platform is not compiled in;
/// [`SourceError::ExportUnreadable`], [`SourceError::ExportFileMissing`] or
/// [`SourceError::ExportFileInvalid`] naming the path, the file inside and the JSON key.
pub fn import_export(platform: Platform, path: &Path) -> Result<RawProfile, SourceError> {
    let import = importer(platform).ok_or(SourceError::FeatureDisabled {
        platform,
        feature: feature_of(platform),
    })?;
    import(path)
}

type Importer = fn(&Path) -> Result<RawProfile, SourceError>;

/// The importer of each platform compiled in.
fn importer(platform: Platform) -> Option<Importer> {
    match platform {
        #[cfg(feature = "tiktok")]
        Platform::TikTok => Some(crate::tiktok::export::import),
        #[cfg(feature = "instagram")]
        Platform::Instagram => Some(crate::instagram::export::import),
        #[cfg(feature = "x")]
        Platform::X => Some(crate::x::export::import),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A [`Source`] reading data exports: the [`UserRef`] is the path of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSource {
    platform: Platform,
}

impl ExportSource {
    /// A source for `platform`'s exports.
    ///
    /// # Errors
    /// [`SourceError::FeatureDisabled`] when the platform is not compiled in.
    pub fn new(platform: Platform) -> Result<Self, SourceError> {
        ensure_enabled(platform)?;
        Ok(ExportSource { platform })
    }
}

#[async_trait]
impl Source for ExportSource {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Export
    }

    async fn fetch(&self, user: &UserRef) -> Result<RawProfile, SourceError> {
        let platform = self.platform;
        let path = std::path::PathBuf::from(user.as_str());
        // Unzipping and parsing a large export blocks: keep it off the async workers.
        let task_path = path.clone();
        tokio::task::spawn_blocking(move || import_export(platform, &task_path))
            .await
            .unwrap_or_else(|e| {
                Err(SourceError::ExportUnreadable {
                    platform,
                    archive: path,
                    message: format!("the import stopped unexpectedly: {e}"),
                })
            })
    }
}

/// `"an object"`, `"an array"`, … for "expected X, found Y" messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The keys of a JSON object for a message: `a, b, c`, or `none`.
#[cfg(any(feature = "tiktok", feature = "instagram"))]
pub(crate) fn key_list(map: &serde_json::Map<String, Value>) -> String {
    if map.is_empty() {
        "none".to_owned()
    } else {
        map.keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A count as exports write it: a number, or a string of digits. `Ok(None)` for the
/// markers of "unknown" (`null`, `""`, `"None"`, `"N/A"`, `"-"`); `Err` for anything else.
#[cfg(any(feature = "tiktok", feature = "x"))]
pub(crate) fn parse_count(value: &Value) -> Result<Option<u64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("expected a non-negative whole number, found {n}")),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty()
                || ["none", "n/a", "na", "null", "-"].contains(&t.to_ascii_lowercase().as_str())
            {
                Ok(None)
            } else {
                t.replace(',', "")
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("expected a count, found {s:?}"))
            }
        }
        other => Err(format!("expected a count, found {}", kind_of(other))),
    }
}

/// A hashtag as Toker stores it: `#` + the tag, trimmed and lower-cased. `None` when empty.
#[cfg(feature = "x")]
pub(crate) fn normalize_hashtag(tag: &str) -> Option<String> {
    let tag = tag.trim().trim_start_matches(['#', '＃']).trim();
    (!tag.is_empty()).then(|| format!("#{}", tag.to_lowercase()))
}

/// Videos keyed by id in first-seen order; a repeated id is merged into the first.
#[derive(Debug, Default)]
pub(crate) struct VideoSet {
    videos: Vec<Video>,
    index: HashMap<String, usize>,
}

impl VideoSet {
    /// Adds `video`; returns `false` when its id was already there (tags are then merged
    /// in, counts kept from the first sighting unless it had none).
    pub(crate) fn insert(&mut self, video: Video) -> bool {
        match self.index.get(&video.video_id) {
            Some(&i) => {
                if let Some(seen) = self.videos.get_mut(i) {
                    merge_into(seen, video);
                }
                false
            }
            None => {
                self.index.insert(video.video_id.clone(), self.videos.len());
                self.videos.push(video);
                true
            }
        }
    }

    /// The videos, in first-seen order.
    pub(crate) fn into_vec(self) -> Vec<Video> {
        self.videos
    }
}

fn merge_into(seen: &mut Video, other: Video) {
    for tag in other.hashtags {
        if !seen.hashtags.contains(&tag) {
            seen.hashtags.push(tag);
        }
    }
    for category in other.categories {
        if !seen.categories.contains(&category) {
            seen.categories.push(category);
        }
    }
    seen.likes = seen.likes.or(other.likes);
    seen.comments = seen.comments.or(other.comments);
    seen.shares = seen.shares.or(other.shares);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_set_merges_repeated_ids_in_first_seen_order() {
        let mut set = VideoSet::default();
        let mut a = Video::new("1");
        a.hashtags = vec!["#a".into()];
        let mut a2 = Video::new("1");
        a2.hashtags = vec!["#b".into(), "#a".into()];
        a2.likes = Some(4);
        assert!(set.insert(a));
        assert!(set.insert(Video::new("2")));
        assert!(!set.insert(a2));
        let videos = set.into_vec();
        assert_eq!(videos.len(), 2);
        assert_eq!(videos[0].hashtags, ["#a", "#b"]);
        assert_eq!(videos[0].likes, Some(4));
        assert_eq!(videos[1].video_id, "2");
    }

    #[cfg(any(feature = "tiktok", feature = "x"))]
    #[test]
    fn counts_accept_numbers_digit_strings_and_unknown_markers() {
        use serde_json::json;
        assert_eq!(parse_count(&json!(57)), Ok(Some(57)));
        assert_eq!(parse_count(&json!("289400")), Ok(Some(289_400)));
        assert_eq!(parse_count(&json!(" 1,204 ")), Ok(Some(1204)));
        for unknown in [json!(null), json!(""), json!("None"), json!("N/A")] {
            assert_eq!(parse_count(&unknown), Ok(None), "{unknown}");
        }
        assert!(parse_count(&json!(-3)).is_err());
        assert!(parse_count(&json!("many")).is_err());
        assert!(parse_count(&json!([1])).is_err());
    }

    #[cfg(feature = "x")]
    #[test]
    fn hashtags_are_prefixed_and_lower_cased() {
        assert_eq!(
            normalize_hashtag(" #RustLang ").as_deref(),
            Some("#rustlang")
        );
        assert_eq!(
            normalize_hashtag("100DaysOfCode").as_deref(),
            Some("#100daysofcode")
        );
        assert_eq!(normalize_hashtag("#"), None);
    }
}
