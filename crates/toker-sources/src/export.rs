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
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use toker_model::{Platform, Video};

use crate::archive::{ArchiveLimits, ExportArchive, Meter};
use crate::error::SourceError;
use crate::registry::{ensure_enabled, feature_of};
use crate::source::{RawProfile, Source, SourceKind, UserRef};
use crate::warnings::{WarningKind, Warnings};

/// Bounds on one import, so that no export (a zip bomb, a list of millions of items)
/// can hold more memory than they allow. Every importer streams its files item by item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Bounds on the archive: file and unpacked sizes, compression ratio, files.
    pub archive: ArchiveLimits,
    /// The most items read from one list (liked posts, shares, posts); the rest are
    /// skipped with a [`WarningKind::ListTruncated`] warning.
    pub max_items_per_list: usize,
    /// The most bytes of the export's JSON kept as the profile's raw JSON; later items are
    /// left out of it with a [`WarningKind::RawTruncated`] warning.
    pub max_raw_bytes: u64,
    /// The largest single item (a list element, a profile section, a small file such as
    /// `personal_information.json`), in bytes of JSON: the most held in memory at once.
    pub max_item_bytes: u64,
}

impl Default for ImportLimits {
    /// The default [`ArchiveLimits`], 100,000 items per list, 16 MiB of raw JSON and
    /// 4 MiB per item.
    fn default() -> Self {
        ImportLimits {
            archive: ArchiveLimits::default(),
            max_items_per_list: 100_000,
            max_raw_bytes: 16 * 1024 * 1024,
            max_item_bytes: 4 * 1024 * 1024,
        }
    }
}

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
    import_export_with_limits(platform, path, &ImportLimits::default())
}

/// Imports like [`import_export`], within explicit [`ImportLimits`].
///
/// # Errors
/// As [`import_export`], and [`SourceError::ExportTooLarge`] naming the limit the export
/// breaks (before decompressing it when the zip's index already tells).
pub fn import_export_with_limits(
    platform: Platform,
    path: &Path,
    limits: &ImportLimits,
) -> Result<RawProfile, SourceError> {
    let import = importer(platform).ok_or(SourceError::FeatureDisabled {
        platform,
        feature: feature_of(platform),
    })?;
    let mut archive = ExportArchive::open_with_limits(platform, path, limits.archive)?;
    import(&mut archive, limits)
}

type Importer = fn(&mut ExportArchive, &ImportLimits) -> Result<RawProfile, SourceError>;

/// The importer of each platform compiled in.
fn importer(platform: Platform) -> Option<Importer> {
    match platform {
        #[cfg(feature = "tiktok")]
        Platform::TikTok => Some(crate::tiktok::export::import_archive),
        #[cfg(feature = "instagram")]
        Platform::Instagram => Some(crate::instagram::export::import_archive),
        #[cfg(feature = "x")]
        Platform::X => Some(crate::x::export::import_archive),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A [`Source`] reading data exports: the [`UserRef`] is the path of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSource {
    platform: Platform,
    limits: ImportLimits,
}

impl ExportSource {
    /// A source for `platform`'s exports.
    ///
    /// # Errors
    /// [`SourceError::FeatureDisabled`] when the platform is not compiled in.
    pub fn new(platform: Platform) -> Result<Self, SourceError> {
        ensure_enabled(platform)?;
        Ok(ExportSource {
            platform,
            limits: ImportLimits::default(),
        })
    }

    /// The same source, importing within `limits`.
    #[must_use]
    pub fn with_limits(self, limits: ImportLimits) -> Self {
        ExportSource { limits, ..self }
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
        let limits = self.limits;
        tokio::task::spawn_blocking(move || {
            import_export_with_limits(platform, &task_path, &limits)
        })
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

/// A list being read: the items it kept for the raw JSON (within `max_raw_bytes`, shared
/// over the whole import through [`RawBudget`]), and how many it held.
#[derive(Debug, Default)]
pub(crate) struct RawBudget {
    left: u64,
    truncated: bool,
}

impl RawBudget {
    pub(crate) fn new(limits: &ImportLimits) -> Self {
        RawBudget {
            left: limits.max_raw_bytes,
            truncated: false,
        }
    }

    /// Whether an item of `bytes` (of JSON) still fits in the raw JSON; the first time one
    /// does not, a [`WarningKind::RawTruncated`] warning says from where on items are left out.
    pub(crate) fn keep(
        &mut self,
        bytes: u64,
        at: impl FnOnce() -> String,
        warnings: &mut Warnings,
    ) -> bool {
        if !self.truncated && bytes <= self.left {
            self.left -= bytes;
            return true;
        }
        if !self.truncated {
            self.truncated = true;
            warnings.add(WarningKind::RawTruncated, || {
                format!(
                    "{}: the raw JSON kept with the profile reached its limit (max_raw_bytes); \
                     this item and later ones are read but not kept in it",
                    at()
                )
            });
        }
        false
    }
}

/// A shape problem found while streaming: the key to blame (when one is) and what was
/// expected and found.
pub(crate) type Misfit = (Option<String>, String);

/// What reading one element of a list should do.
pub(crate) enum Item {
    /// Read it as a JSON value (at most `max_item_bytes`).
    Value,
    /// Skip it (only counted).
    #[cfg_attr(not(feature = "tiktok"), allow(dead_code))]
    Skip,
}

/// Streams a JSON array element by element: `each(index, value, bytes)` sees the first
/// `max_items` elements, the rest are skipped (and counted). `null` is an empty list when
/// `null_ok`; any other non-array is a shape problem at `key`.
pub(crate) struct Items<'a, F> {
    pub(crate) meter: &'a Meter,
    pub(crate) key: Option<String>,
    pub(crate) null_ok: bool,
    pub(crate) max_items: usize,
    pub(crate) read: Item,
    pub(crate) each: F,
}

/// How many elements a list held, and how many of them were passed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ItemCount {
    pub(crate) total: u64,
    pub(crate) read: u64,
}

impl ItemCount {
    /// A [`WarningKind::ListTruncated`] warning when elements were skipped.
    pub(crate) fn warn_truncated(
        self,
        file: &str,
        key: &str,
        limit: usize,
        warnings: &mut Warnings,
    ) {
        if self.total > self.read {
            warnings.add(WarningKind::ListTruncated, || {
                format!(
                    "{file}: key `{key}`: holds {} items; only the first {limit} were read \
                     (max_items_per_list)",
                    self.total
                )
            });
        }
    }
}

impl<'de, F> DeserializeSeed<'de> for Items<'_, F>
where
    F: FnMut(u64, Value, u64) -> Result<(), Misfit>,
{
    type Value = ItemCount;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ItemCount, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// "found a number" for the non-array cases of [`Items`].
macro_rules! found_instead {
    ($($method:ident: $ty:ty => $what:expr),* $(,)?) => {
        $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Err(self.wrong($what))
        })*
    };
}

impl<F> Items<'_, F> {
    fn wrong<E: serde::de::Error>(&self, found: &str) -> E {
        self.meter.fail(
            self.key.clone(),
            format!("expected an array, found {found}"),
        )
    }
}

impl<'de, F> Visitor<'de> for Items<'_, F>
where
    F: FnMut(u64, Value, u64) -> Result<(), Misfit>,
{
    type Value = ItemCount;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<ItemCount, A::Error> {
        let mut count = ItemCount::default();
        loop {
            if matches!(self.read, Item::Value) && count.read < self.max_items as u64 {
                let (value, bytes) = self.meter.item(|| seq.next_element::<Value>())?;
                let Some(value) = value else { break };
                (self.each)(count.total, value, bytes)
                    .map_err(|(key, message)| self.meter.fail::<A::Error>(key, message))?;
                count.read += 1;
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            count.total += 1;
        }
        Ok(count)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<ItemCount, E> {
        if self.null_ok {
            Ok(ItemCount::default())
        } else {
            Err(self.wrong("null"))
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<ItemCount, A::Error> {
        Err(self.wrong("an object"))
    }

    found_instead! {
        visit_bool: bool => "a boolean",
        visit_i64: i64 => "a number",
        visit_u64: u64 => "a number",
        visit_f64: f64 => "a number",
        visit_str: &str => "a string",
    }
}

/// Reads a value of at most `max_item_bytes` (a section, a small file).
pub(crate) struct Bounded<'a>(pub(crate) &'a Meter);

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.0
            .item(|| serde::Deserialize::deserialize(deserializer))
            .map(|(v, _)| v)
    }
}

/// Reads the small JSON file at `path` whole, bounded by `max_item_bytes`.
#[cfg(any(feature = "x", feature = "instagram"))]
pub(crate) fn read_small_json(
    archive: &mut ExportArchive,
    path: &str,
    js_prefix: bool,
    limits: &ImportLimits,
) -> Result<Value, SourceError> {
    let meter = Meter::new(limits.max_item_bytes);
    archive.stream_json(path, js_prefix, &meter, Bounded(&meter))
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

    /// How many distinct videos.
    #[cfg(feature = "instagram")]
    pub(crate) fn len(&self) -> usize {
        self.videos.len()
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
