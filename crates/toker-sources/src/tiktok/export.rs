//! The TikTok data-export importer: `user_data.json` (older) or `user_data_tiktok.json`
//! (newer), at the root of the zip or one folder deep, in any of the three section layouts
//! (`Activity`, `Your Activity`, `Likes and Favorites`; see `platforms.md` §3.3).
//!
//! Sections are found by name anywhere in the tree and keys are matched
//! case-insensitively, because both move and change case between archives. Mapping
//! (`platforms.md` §6): `user_id` = `username` = `ProfileMap.userName`; `user_pseudo` =
//! `displayName` (2025+ only); `likes_count` = `likesReceived`; `number_of_likes` = the
//! `Like List` rows (a repeated video counted once); `number_of_comments` /
//! `number_of_shares` = the Activity Summary's totals, else the `CommentsList` rows / the
//! video rows of `Share History`; `liked_videos` / `shared_videos` = the distinct video ids
//! of those lists, ids only. Everything else (followers, verified, per-video counts) the
//! export does not say: `None`.
//!
//! The raw JSON keeps what the mapping read (the like and share rows, the summary, the
//! profile fields used, the number of comment rows) and nothing else: the export also holds
//! messages, e-mail and phone number, which Toker has no use for.

use std::path::Path;

use serde_json::{Map, Value, json};
use toker_model::{Platform, Profile, Video};

use crate::archive::{ExportArchive, file_name};
use crate::error::SourceError;
use crate::export::{VideoSet, key_list, kind_of, parse_count};
use crate::source::RawProfile;

/// The data file's names, newest first.
const DATA_FILES: [&str; 2] = ["user_data_tiktok.json", "user_data.json"];
/// Activity Summary keys: (current name, older name).
const COMMENTED_KEYS: [&str; 2] = [
    "videosCommentedOnSinceAccountRegistration",
    "commentVideoCount",
];
const SHARED_KEYS: [&str; 2] = ["videosSharedSinceAccountRegistration", "sharedVideoCount"];

/// Imports the TikTok export at `path` (zip, folder, or the JSON file itself).
///
/// # Errors
/// A [`SourceError`] naming the export, the file inside it and the key that is missing or
/// malformed (e.g. no `Like List` anywhere).
pub fn import(path: &Path) -> Result<RawProfile, SourceError> {
    let mut archive = ExportArchive::open(Platform::TikTok, path)?;
    import_archive(&mut archive)
}

/// Imports from an opened export.
///
/// # Errors
/// As [`import`].
pub fn import_archive(archive: &mut ExportArchive) -> Result<RawProfile, SourceError> {
    let mut warnings = Vec::new();
    let file = locate_data_file(archive, &mut warnings)?;
    let doc = archive.read_json(&file)?;
    let reader = Reader {
        archive,
        file: &file,
    };
    let (profile, raw) = reader.map(&doc, &mut warnings)?;
    Ok(RawProfile {
        platform: Platform::TikTok,
        profile,
        raw,
        warnings,
    })
}

fn locate_data_file(
    archive: &ExportArchive,
    warnings: &mut Vec<String>,
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
        warnings.push(format!(
            "several TikTok data files in the export; read {first}, ignored {}",
            rest.join(", ")
        ));
    }
    Ok(first)
}

struct Reader<'a> {
    archive: &'a ExportArchive,
    file: &'a str,
}

impl Reader<'_> {
    fn err(&self, key: &str, message: String) -> SourceError {
        self.archive
            .invalid(self.file, Some(key.to_owned()), message)
    }

    fn map(
        &self,
        doc: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<(Profile, Value), SourceError> {
        let Some(root) = doc.as_object() else {
            return Err(self.archive.invalid(
                self.file,
                None,
                format!("expected a JSON object of sections, found {}", kind_of(doc)),
            ));
        };

        let (profile_path, profile_map) = self.required_section(root, "ProfileMap")?;
        let username = self.username(&profile_path, profile_map)?;
        let mut profile = Profile::new(username.clone(), username.clone());
        profile.user_pseudo = get_ci(profile_map, &["displayName"])
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        profile.likes_count =
            self.count_in(profile_map, &profile_path, &["likesReceived"], warnings);

        let (likes_path, like_section) = self.required_section(root, "Like List")?;
        let (like_key, like_rows) = self.rows(&likes_path, like_section, "ItemFavoriteList")?;
        // A video liked twice in the list is one like.
        let liked = self.collect_videos(&like_key, like_rows, |_| true, warnings);
        profile.number_of_likes = Some(liked.rows - liked.repeats);
        profile.liked_videos = liked.videos;

        let summary = find_section(root, "ActivitySummaryMap");
        let shares = find_section(root, "Share History")
            .map(|(path, section)| self.rows(&path, section, "ShareHistoryList"))
            .transpose()?;
        // Every video share row counts (one video shared twice is two shares).
        let (shared, share_rows) = match &shares {
            Some((key, rows)) => {
                let shared = self.collect_videos(key, rows, is_video_share, warnings);
                (shared.videos, Some(shared.rows))
            }
            None => (Vec::new(), None),
        };
        profile.shared_videos = shared;
        let comments = find_section(root, "Comments")
            .map(|(path, section)| self.rows(&path, section, "CommentsList"))
            .transpose()?;
        let comment_rows = comments.map(|(_, rows)| rows.len() as u64);

        let mut from_summary = |keys: &[&str]| {
            summary
                .as_ref()
                .and_then(|(path, map)| self.count_in(map, path, keys, warnings))
        };
        profile.number_of_comments = from_summary(&COMMENTED_KEYS).or(comment_rows);
        profile.number_of_shares = from_summary(&SHARED_KEYS).or(share_rows);

        let raw = json!({
            "source": "export",
            "file": file_name(self.file),
            "profile": pick(profile_map, &["userName", "displayName", "likesReceived"]),
            "activity_summary": summary.map(|(_, m)| Value::Object(m.clone())),
            "like_list": like_rows,
            "share_history": shares.map(|(_, rows)| rows.to_vec()),
            "comment_rows": comment_rows,
        });
        Ok((profile, raw))
    }

    /// The object section `name` found anywhere, or an error listing the top-level keys.
    fn required_section<'d>(
        &self,
        root: &'d Map<String, Value>,
        name: &str,
    ) -> Result<(String, &'d Map<String, Value>), SourceError> {
        find_section(root, name).ok_or_else(|| {
            let bookmarks =
                if name == "Like List" && find_section(root, "Favorite Videos").is_some() {
                    " (`Favorite Videos` holds bookmarks, not likes)"
                } else {
                    ""
                };
            self.err(
                name,
                format!(
                    "not found in any section{bookmarks}; top-level keys: {}",
                    key_list(root)
                ),
            )
        })
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

    /// The list under `list_key` in `section` (`null` = empty), with its dotted path.
    fn rows<'d>(
        &self,
        path: &str,
        section: &'d Map<String, Value>,
        list_key: &str,
    ) -> Result<(String, &'d [Value]), SourceError> {
        match get_ci(section, &[list_key]) {
            Some((key, Value::Array(rows))) => Ok((format!("{path}.{key}"), rows)),
            Some((key, Value::Null)) => Ok((format!("{path}.{key}"), &[])),
            Some((key, other)) => Err(self.err(
                &format!("{path}.{key}"),
                format!("expected an array, found {}", kind_of(other)),
            )),
            None => Err(self.err(&format!("{path}.{list_key}"), "missing".to_owned())),
        }
    }

    fn count_in(
        &self,
        map: &Map<String, Value>,
        path: &str,
        keys: &[&str],
        warnings: &mut Vec<String>,
    ) -> Option<u64> {
        let (key, value) = get_ci(map, keys)?;
        parse_count(value).unwrap_or_else(|problem| {
            warnings.push(format!(
                "{}: key `{path}.{key}`: {problem}; treated as unknown",
                self.file
            ));
            None
        })
    }

    /// The distinct videos of the rows that `keep` accepts, how many rows it accepted and
    /// how many of those repeated a video already seen. A row whose video cannot be named
    /// still counts (the person did like or share something) and gets a warning.
    fn collect_videos(
        &self,
        path: &str,
        rows: &[Value],
        keep: impl Fn(&Value) -> bool,
        warnings: &mut Vec<String>,
    ) -> Collected {
        let mut videos = VideoSet::default();
        let (mut kept, mut repeats) = (0, 0);
        for (i, row) in rows.iter().enumerate().filter(|(_, row)| keep(row)) {
            kept += 1;
            match row_video_id(row) {
                Ok(id) => repeats += u64::from(!videos.insert(Video::new(id))),
                Err(problem) => warnings.push(format!(
                    "{}: key `{path}[{i}]`: {problem}; counted, but no video recorded",
                    self.file
                )),
            }
        }
        Collected {
            videos: videos.into_vec(),
            rows: kept,
            repeats,
        }
    }
}

struct Collected {
    videos: Vec<Video>,
    rows: u64,
    repeats: u64,
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

/// The first object under a key named `name` (case-insensitive), depth first in file
/// order, with its dotted path. Lists are not searched: sections never sit inside them.
fn find_section<'d>(
    map: &'d Map<String, Value>,
    name: &str,
) -> Option<(String, &'d Map<String, Value>)> {
    for (key, value) in map {
        let Value::Object(inner) = value else {
            continue;
        };
        if key.eq_ignore_ascii_case(name) {
            return Some((key.clone(), inner));
        }
        if let Some((path, found)) = find_section(inner, name) {
            return Some((format!("{key}.{path}"), found));
        }
    }
    None
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
    fn sections_are_found_case_insensitively_anywhere_but_not_inside_lists() {
        let doc = json!({"A": {"b": {"like list": {"ItemFavoriteList": []}}},
                         "L": [{"Like List": {}}]});
        let (path, _) = find_section(doc.as_object().unwrap(), "Like List").unwrap();
        assert_eq!(path, "A.b.like list");
        let doc = json!({"L": [{"Like List": {}}]});
        assert!(find_section(doc.as_object().unwrap(), "Like List").is_none());
    }

    #[test]
    fn exact_key_spelling_wins_over_other_casings() {
        let map = json!({"link": "a", "Link": "b"});
        assert_eq!(get_ci(map.as_object().unwrap(), &["Link"]).unwrap().1, "b");
        assert_eq!(get_ci(map.as_object().unwrap(), &["LINK"]).unwrap().1, "a");
    }
}
