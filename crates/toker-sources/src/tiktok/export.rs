//! The TikTok data-export importer: `user_data.json` (older) or `user_data_tiktok.json`
//! (newer), at the root of the zip or one folder deep, in any of the three section layouts
//! (`Activity`, `Your Activity`, `Likes and Favorites`; see
//! `docs/PLATFORMS.md#tiktok-data-export`).
//!
//! Sections are found by name anywhere in the tree and keys are matched case-insensitively,
//! because both move and change case between archives. Mapping
//! (`docs/PLATFORMS.md#from-a-source-to-a-toker-profile`): `user_id` = `username` =
//! `ProfileMap.userName`; `user_pseudo` = `displayName` (2025+ only); `likes_count` =
//! `likesReceived`; `number_of_likes` = the `Like List` rows (a repeated video counted
//! once); `number_of_comments` / `number_of_shares` = the Activity Summary's totals, else
//! the `CommentsList` rows / the video rows of `Share History`; `liked_videos` /
//! `shared_videos` = the distinct video ids of those lists, ids only. Everything else
//! (followers, verified, per-video counts) the export does not say: `None`.
//!
//! The raw JSON keeps what the mapping read (the like and share rows, the summary, the
//! profile fields used, the number of comment rows) and nothing else: the export also holds
//! messages, e-mail and phone number, which Toker has no use for.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use toker_model::{Platform, Profile, Video};

use crate::archive::{ExportArchive, Meter, file_name};
use crate::error::SourceError;
use crate::export::{
    Bounded, ImportLimits, Item, ItemCount, Items, RawBudget, VideoSet, kind_of, parse_count,
};
use crate::source::RawProfile;
use crate::warnings::{WarningKind, Warnings};

/// The data file's names, newest first.
const DATA_FILES: [&str; 2] = ["user_data_tiktok.json", "user_data.json"];
/// Activity Summary keys: (current name, older name).
const COMMENTED_KEYS: [&str; 2] = [
    "videosCommentedOnSinceAccountRegistration",
    "commentVideoCount",
];
const SHARED_KEYS: [&str; 2] = ["videosSharedSinceAccountRegistration", "sharedVideoCount"];
/// How many top-level keys an error message lists.
const KEYS_SHOWN: usize = 50;

/// Imports from an opened export, streaming the data file section by section and each
/// list row by row.
///
/// The entry point is [`crate::import_export`], which opens the export within the
/// limits and dispatches here.
///
/// # Errors
/// A [`SourceError`] naming the export, the file inside it and the key that is missing or
/// malformed (e.g. no `Like List` anywhere).
pub fn import_archive(
    archive: &mut ExportArchive,
    limits: &ImportLimits,
) -> Result<RawProfile, SourceError> {
    let mut warnings = Warnings::new();
    let file = locate_data_file(archive, &mut warnings)?;
    let meter = Meter::new(limits.max_item_bytes);
    let mut doc = Doc {
        file: file.clone(),
        max_items: limits.max_items_per_list,
        budget: RawBudget::new(limits),
        warnings: &mut warnings,
        sections: Sections::default(),
    };
    let root = Walk {
        meter: &meter,
        doc: &mut doc,
        path: String::new(),
    };
    archive.stream_json(&file, false, &meter, root)?;
    let sections = doc.sections;
    let reader = Reader {
        archive,
        file: &file,
        max_items: limits.max_items_per_list,
    };
    let (profile, raw) = reader.map(sections, &mut warnings)?;
    Ok(RawProfile {
        platform: Platform::TikTok,
        profile,
        raw,
        warnings,
    })
}

fn locate_data_file(
    archive: &ExportArchive,
    warnings: &mut Warnings,
) -> Result<String, SourceError> {
    let mut found: Vec<String> = DATA_FILES
        .iter()
        .flat_map(|name| archive.find_named(name))
        .collect();
    if found.is_empty() {
        // Other spellings seen in the wild: `user_data (1).json`, `user_data_tiktok_2.json`.
        found = archive
            .entries()
            .iter()
            .map(|e| e.path.clone())
            .filter(|p| {
                let name = file_name(p).to_ascii_lowercase();
                name.starts_with("user_data") && name.ends_with(".json")
            })
            .collect();
    }
    let mut found = found.into_iter();
    let Some(first) = found.next() else {
        let has_txt = archive
            .entries()
            .iter()
            .any(|e| e.path.to_ascii_lowercase().ends_with(".txt"));
        let hint = if has_txt {
            "this looks like the TXT export: request the data again in JSON format"
        } else {
            "request \"Download your data\" in JSON format and give the zip or its folder"
        };
        return Err(archive.missing("`user_data_tiktok.json` or `user_data.json`", hint));
    };
    let rest: Vec<String> = found.collect();
    if !rest.is_empty() {
        warnings.push(
            WarningKind::DuplicateFile,
            format!(
                "several TikTok data files in the export; read {first}, ignored {}",
                rest.join(", ")
            ),
        );
    }
    Ok(first)
}

/// The sections the mapping reads, each the first object of its name in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Profile,
    Summary,
    Likes,
    Shares,
    Comments,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Profile,
        Section::Summary,
        Section::Likes,
        Section::Shares,
        Section::Comments,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Profile => "ProfileMap",
            Section::Summary => "ActivitySummaryMap",
            Section::Likes => "Like List",
            Section::Shares => "Share History",
            Section::Comments => "Comments",
        }
    }

    /// The key of the section's list of rows.
    fn list_key(self) -> &'static str {
        match self {
            Section::Likes => "ItemFavoriteList",
            Section::Shares => "ShareHistoryList",
            _ => "CommentsList",
        }
    }
}

/// A list of rows as it was streamed: its dotted path, the distinct videos of the rows
/// that count, and the rows kept for the raw JSON.
#[derive(Debug, Default)]
struct Rows {
    key: String,
    videos: VideoSet,
    /// Rows that count (every like; the video shares).
    kept: u64,
    repeats: u64,
    raw: Vec<Value>,
    count: ItemCount,
}

/// What the stream has found so far.
struct Doc<'w> {
    file: String,
    max_items: usize,
    budget: RawBudget,
    warnings: &'w mut Warnings,
    sections: Sections,
}

impl Sections {
    fn found(&self, section: Section) -> bool {
        match section {
            Section::Profile => self.profile.is_some(),
            Section::Summary => self.summary.is_some(),
            Section::Likes => self.likes.is_some(),
            Section::Shares => self.shares.is_some(),
            Section::Comments => self.comments.is_some(),
        }
    }
}

impl Doc<'_> {
    /// One row of a likes or shares list.
    fn row(&mut self, section: Section, rows: &mut Rows, i: u64, row: Value, bytes: u64) {
        let counts = section == Section::Likes || is_video_share(&row);
        if counts {
            rows.kept += 1;
            match row_video_id(&row) {
                Ok(id) => rows.repeats += u64::from(!rows.videos.insert(Video::new(id))),
                Err(problem) => {
                    let (file, key) = (&self.file, &rows.key);
                    self.warnings.add(WarningKind::ItemUnnamed, || {
                        format!(
                            "{file}: key `{key}[{i}]`: {problem}; counted, but no video recorded"
                        )
                    });
                }
            }
        }
        let (file, key) = (&self.file, &rows.key);
        if self
            .budget
            .keep(bytes, || format!("{file}: key `{key}[{i}]`"), self.warnings)
        {
            rows.raw.push(row);
        }
    }
}

/// Walks the objects of the data file looking for the sections (lists are not searched:
/// sections never sit inside them); everything else is skipped without being kept.
struct Walk<'a, 'w> {
    meter: &'a Meter,
    doc: &'a mut Doc<'w>,
    /// The dotted path of this object; empty at the root.
    path: String,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Walk<'_, '_> {
    fn not_an_object<E: serde::de::Error>(self, found: &str) -> Result<(), E> {
        if self.path.is_empty() {
            Err(self.meter.fail(
                None,
                format!("expected a JSON object of sections, found {found}"),
            ))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of sections")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let top = self.path.is_empty();
        while let Some(key) = map.next_key::<String>()? {
            if top && self.doc.sections.top_keys.len() < KEYS_SHOWN {
                self.doc.sections.top_keys.push(key.clone());
            }
            if key.eq_ignore_ascii_case("Favorite Videos") {
                self.doc.sections.favorite_videos = true;
            }
            let path = if top {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let wanted = Section::ALL
                .into_iter()
                .find(|s| key.eq_ignore_ascii_case(s.name()) && !self.doc.sections.found(*s));
            match wanted {
                Some(section @ (Section::Profile | Section::Summary)) => {
                    if let Value::Object(object) = map.next_value_seed(Bounded(self.meter))? {
                        let slot = if section == Section::Profile {
                            &mut self.doc.sections.profile
                        } else {
                            &mut self.doc.sections.summary
                        };
                        *slot = Some((path, object));
                    }
                }
                Some(section) => map.next_value_seed(ListSection {
                    meter: self.meter,
                    doc: &mut *self.doc,
                    section,
                    path,
                })?,
                None => map.next_value_seed(Walk {
                    meter: self.meter,
                    doc: &mut *self.doc,
                    path,
                })?,
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.path.is_empty() {
            return self.not_an_object("an array");
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }
}

/// A `Like List`, `Share History` or `Comments` section: its list is streamed row by row
/// (comments are only counted); a section that is not an object is not the section.
struct ListSection<'a, 'w> {
    meter: &'a Meter,
    doc: &'a mut Doc<'w>,
    section: Section,
    path: String,
}

impl<'de> DeserializeSeed<'de> for ListSection<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSection<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} section", self.section.name())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let list_key = self.section.list_key();
        let mut rows: Option<Rows> = None;
        while let Some(key) = map.next_key::<String>()? {
            if rows.is_some() || !key.eq_ignore_ascii_case(list_key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let mut list = Rows {
                key: format!("{}.{key}", self.path),
                ..Rows::default()
            };
            let section = self.section;
            let doc = &mut *self.doc;
            let max_items = doc.max_items;
            let read = if section == Section::Comments {
                Item::Skip
            } else {
                Item::Value
            };
            let items = Items {
                meter: self.meter,
                key: Some(list.key.clone()),
                null_ok: true,
                max_items,
                read,
                each: |i, row, bytes| {
                    doc.row(section, &mut list, i, row, bytes);
                    Ok(())
                },
            };
            let count = map.next_value_seed(items)?;
            list.count = count;
            rows = Some(list);
        }
        let Some(rows) = rows else {
            return Err(self.meter.fail(
                Some(format!("{}.{list_key}", self.path)),
                "missing".to_owned(),
            ));
        };
        match self.section {
            Section::Likes => self.doc.sections.likes = Some(rows),
            Section::Shares => self.doc.sections.shares = Some(rows),
            _ => self.doc.sections.comments = Some(rows.count.total),
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// The sections found: so far while the file is read, then all of them.
#[derive(Default)]
struct Sections {
    top_keys: Vec<String>,
    favorite_videos: bool,
    profile: Option<(String, Map<String, Value>)>,
    summary: Option<(String, Map<String, Value>)>,
    likes: Option<Rows>,
    shares: Option<Rows>,
    comments: Option<u64>,
}

struct Reader<'a> {
    archive: &'a ExportArchive,
    file: &'a str,
    max_items: usize,
}

impl Reader<'_> {
    fn err(&self, key: &str, message: String) -> SourceError {
        self.archive
            .invalid(self.file, Some(key.to_owned()), message)
    }

    fn map(&self, doc: Sections, warnings: &mut Warnings) -> Result<(Profile, Value), SourceError> {
        let missing = |name: &str| {
            let bookmarks = if name == "Like List" && doc.favorite_videos {
                " (`Favorite Videos` holds bookmarks, not likes)"
            } else {
                ""
            };
            let keys = if doc.top_keys.is_empty() {
                "none".to_owned()
            } else {
                doc.top_keys.join(", ")
            };
            self.err(
                name,
                format!("not found in any section{bookmarks}; top-level keys: {keys}"),
            )
        };
        let Some((profile_path, profile_map)) = &doc.profile else {
            return Err(missing("ProfileMap"));
        };
        let username = self.username(profile_path, profile_map)?;
        let mut profile = Profile::new(username.clone(), username.clone());
        profile.user_pseudo = get_ci(profile_map, &["displayName"])
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        profile.likes_count =
            self.count_in(profile_map, profile_path, &["likesReceived"], warnings);

        let Some(likes) = doc.likes else {
            return Err(missing("Like List"));
        };
        likes
            .count
            .warn_truncated(self.file, &likes.key, self.max_items, warnings);
        // A video liked twice in the list is one like.
        profile.number_of_likes = Some(likes.kept - likes.repeats);
        profile.liked_videos = likes.videos.into_vec();

        // Every video share row counts (one video shared twice is two shares).
        let (share_rows, share_raw) = match doc.shares {
            Some(shares) => {
                shares
                    .count
                    .warn_truncated(self.file, &shares.key, self.max_items, warnings);
                profile.shared_videos = shares.videos.into_vec();
                (Some(shares.kept), Some(shares.raw))
            }
            None => (None, None),
        };
        let comment_rows = doc.comments;

        let summary = doc.summary.as_ref();
        let mut from_summary = |keys: &[&str]| {
            summary.and_then(|(path, map)| self.count_in(map, path, keys, warnings))
        };
        profile.number_of_comments = from_summary(&COMMENTED_KEYS).or(comment_rows);
        profile.number_of_shares = from_summary(&SHARED_KEYS).or(share_rows);

        let raw = json!({
            "source": "export",
            "file": file_name(self.file),
            "profile": pick(profile_map, &["userName", "displayName", "likesReceived"]),
            "activity_summary": summary.map(|(_, m)| Value::Object(m.clone())),
            "like_list": likes.raw,
            "share_history": share_raw,
            "comment_rows": comment_rows,
        });
        Ok((profile, raw))
    }

    fn username(&self, path: &str, map: &Map<String, Value>) -> Result<String, SourceError> {
        let key = format!("{path}.userName");
        match get_ci(map, &["userName", "username"]) {
            Some((_, Value::String(s))) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some((_, other)) => Err(self.err(
                &key,
                format!("expected the account's username, found {}", describe(other)),
            )),
            None => Err(self.err(
                &key,
                "missing: the profile section has no username".to_owned(),
            )),
        }
    }

    fn count_in(
        &self,
        map: &Map<String, Value>,
        path: &str,
        keys: &[&str],
        warnings: &mut Warnings,
    ) -> Option<u64> {
        let (key, value) = get_ci(map, keys)?;
        parse_count(value).unwrap_or_else(|problem| {
            warnings.push(
                WarningKind::BadCount,
                format!(
                    "{}: key `{path}.{key}`: {problem}; treated as unknown",
                    self.file
                ),
            );
            None
        })
    }
}

/// Whether a share row is a video share (not a profile, live or sound share).
fn is_video_share(row: &Value) -> bool {
    let content = row
        .as_object()
        .and_then(|m| get_ci(m, &["SharedContent"]))
        .and_then(|(_, v)| v.as_str());
    match content {
        Some(kind) => kind.eq_ignore_ascii_case("video"),
        // Rows without a content type count when their link is a video link.
        None => row_link(row).is_some_and(|l| video_id_in_link(l).is_some()),
    }
}

/// Looks `names` up case-insensitively (exact spelling first); returns the key as written.
fn get_ci<'m>(map: &'m Map<String, Value>, names: &[&str]) -> Option<(&'m str, &'m Value)> {
    names
        .iter()
        .find_map(|name| map.get_key_value(*name))
        .or_else(|| {
            map.iter()
                .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        })
        .map(|(k, v)| (k.as_str(), v))
}

fn row_link(row: &Value) -> Option<&str> {
    row.as_object()
        .and_then(|m| get_ci(m, &["Link", "link", "VideoLink", "url"]))
        .and_then(|(_, v)| v.as_str())
}

fn row_video_id(row: &Value) -> Result<String, String> {
    if !row.is_object() {
        return Err(format!(
            "expected an object with a `Link`, found {}",
            kind_of(row)
        ));
    }
    let link = row_link(row).ok_or("no `Link`")?;
    video_id_in_link(link).ok_or_else(|| format!("no video id in the link {link:?}"))
}

/// The digit run after `/video/` (`https://www.tiktokv.com/share/video/<id>/`,
/// `https://www.tiktok.com/@user/video/<id>`).
fn video_id_in_link(link: &str) -> Option<String> {
    let (_, after) = link.split_once("/video/")?;
    let id: String = after.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

fn pick(map: &Map<String, Value>, keys: &[&str]) -> Value {
    let picked: Map<String, Value> = keys
        .iter()
        .filter_map(|k| get_ci(map, &[k]).map(|(key, v)| (key.to_owned(), v.clone())))
        .collect();
    Value::Object(picked)
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => kind_of(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_ids_come_from_both_link_forms() {
        assert_eq!(
            video_id_in_link("https://www.tiktokv.com/share/video/7706249075188808435/").as_deref(),
            Some("7706249075188808435")
        );
        assert_eq!(
            video_id_in_link(
                "https://www.tiktok.com/@mila.reyes/video/7513505230283900132?lang=en"
            )
            .as_deref(),
            Some("7513505230283900132")
        );
        assert_eq!(
            video_id_in_link("https://www.tiktokv.com/share/user/6812345678901234567"),
            None
        );
        assert_eq!(
            video_id_in_link("https://www.tiktokv.com/share/video/"),
            None
        );
    }

    #[test]
    fn sections_are_found_case_insensitively_in_file_order_but_not_inside_lists() {
        let link = |id: u64| json!({"Link": format!("https://www.tiktokv.com/share/video/{id}/")});
        let doc = json!({
            "L": [{"Like List": {"ItemFavoriteList": [link(1)]}}],
            "X": {"Like List": "not a section"},
            "A": {"b": {"like list": {"ItemFavoriteList": [link(2), link(2)]}}},
            "C": {"Like List": {"ItemFavoriteList": [link(3)]}},
            "P": {"profilemap": {"userName": "someone"}}
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user_data.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        let raw = crate::import_export(Platform::TikTok, &path).unwrap();
        let ids: Vec<&str> = raw
            .profile
            .liked_videos
            .iter()
            .map(|v| v.video_id.as_str())
            .collect();
        assert_eq!(ids, ["2"]);
        assert_eq!(raw.profile.number_of_likes, Some(1));
        assert_eq!(raw.profile.user_id, "someone");
        assert_eq!(raw.raw["like_list"], json!([link(2), link(2)]));
    }

    #[test]
    fn exact_key_spelling_wins_over_other_casings() {
        let map = json!({"link": "a", "Link": "b"});
        assert_eq!(get_ci(map.as_object().unwrap(), &["Link"]).unwrap().1, "b");
        assert_eq!(get_ci(map.as_object().unwrap(), &["LINK"]).unwrap().1, "a");
    }
}
