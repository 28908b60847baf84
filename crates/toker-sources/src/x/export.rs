//! The X (Twitter) archive importer: `data/account.js`, `data/like.js` and
//! `data/tweets.js` (2019–2022: `data/tweet.js` with bare post objects), each possibly
//! split into parts (`like-part1.js`, …), found through `data/manifest.js` when the
//! archive has one and by file name otherwise (`docs/PLATFORMS.md#x-archive`).
//!
//! Every data file is JavaScript, `window.YTD.<name>.part<N> = [ … ]`: the text before the
//! first `=` is dropped and the rest parsed as JSON, never executed. Numbers are strings.
//!
//! Mapping (`docs/PLATFORMS.md#from-a-source-to-a-toker-profile`): `user_id` = `accountId`;
//! `username`; `user_pseudo` = `accountDisplayName`; `number_of_likes` = the entries of
//! `like.js` (a repeated post counted once); `liked_videos` = their ids with the hashtags
//! of their text (no counts: the archive has none); from the posts in `tweets.js`:
//! `videos_count` = how many, `number_of_comments` = the replies, `number_of_shares` = the
//! reposts (`RT @…`), `number_of_likes_on_own_videos` = the sum of `favorite_count` over
//! the others, and `shared_videos` = the reposts' own ids with their hashtags. The archive
//! says nothing of followers, likes received or verification: `None`.
//!
//! The raw JSON keeps the account's ids and names (not its e-mail), the like entries and
//! the posts, as the archive wrote them.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use toker_model::{Platform, Profile, Video};

use crate::archive::{ExportArchive, Meter};
use crate::error::SourceError;
use crate::export::{
    ImportLimits, Item, ItemCount, Items, Misfit, RawBudget, VideoSet, kind_of, normalize_hashtag,
    parse_count, read_small_json,
};
use crate::source::RawProfile;
use crate::warnings::{WarningKind, Warnings};

const ACCOUNT: &str = "data/account.js";

/// Imports from an opened archive, streaming each data file entry by entry.
///
/// The entry point is [`crate::import_export`], which opens the export within the
/// limits and dispatches here.
///
/// # Errors
/// A [`SourceError`] naming the archive, the file inside it and the key that is missing or
/// malformed (e.g. a `data/like.js` cut short).
pub fn import_archive(
    archive: &mut ExportArchive,
    limits: &ImportLimits,
) -> Result<RawProfile, SourceError> {
    let mut warnings = Warnings::new();
    let mut budget = RawBudget::new(limits);
    let layout = Layout::locate(archive, limits, &mut warnings)?;

    let account_file = layout.path(ACCOUNT);
    let mut first = Vec::new();
    stream_items(archive, &account_file, limits, 1, |_, item, _| {
        first.push(item);
        Ok(())
    })?;
    let account = Account::from_items(archive, &account_file, &first)?;
    let mut profile = Profile::new(account.id.clone(), account.username.clone());
    profile.user_pseudo = account.display_name.clone();

    let like_files = layout.data_files(archive, &["like"], &mut warnings)?;
    if like_files.is_empty() {
        return Err(archive.missing(
            "`data/like.js`",
            "give the whole archive X sent (every zip of it unpacked into one folder)",
        ));
    }
    let mut likes_raw = Vec::new();
    let mut liked = VideoSet::default();
    let (mut like_rows, mut like_repeats) = (0, 0);
    stream_parts(
        archive,
        &like_files,
        limits,
        &mut warnings,
        |file, i, item, bytes, warnings| {
            like_rows += 1;
            match liked_post(&item) {
                Ok(video) => like_repeats += u64::from(!liked.insert(video)),
                Err(problem) => warnings.add(WarningKind::ItemUnnamed, || {
                    format!("{file}: key `[{i}]`: {problem}; like counted, but no post recorded")
                }),
            }
            if budget.keep(bytes, || format!("{file}: key `[{i}]`"), warnings) {
                likes_raw.push(item);
            }
            Ok(())
        },
    )?;
    profile.number_of_likes = Some(like_rows - like_repeats);
    profile.liked_videos = liked.into_vec();

    let tweet_files = layout.data_files(archive, &["tweets", "tweet"], &mut warnings)?;
    let mut posts = Posts::default();
    let mut tweets_raw = Vec::new();
    stream_parts(
        archive,
        &tweet_files,
        limits,
        &mut warnings,
        |file, i, item, bytes, warnings| {
            posts.add(&item, || format!("{file}: key `[{i}]`"), warnings);
            if budget.keep(bytes, || format!("{file}: key `[{i}]`"), warnings) {
                tweets_raw.push(item);
            }
            Ok(())
        },
    )?;
    if tweet_files.is_empty() {
        warnings.push(
            WarningKind::MissingFile,
            "no `data/tweets.js` (or `data/tweet.js`) in the archive: posts, replies and \
             reposts are unknown",
        );
    } else {
        profile.videos_count = Some(posts.count);
        profile.number_of_comments = Some(posts.replies);
        profile.number_of_shares = Some(posts.reposts);
        profile.number_of_likes_on_own_videos = Some(posts.likes_received);
        profile.shared_videos = posts.reposted.into_vec();
    }

    let raw = json!({
        "source": "export",
        "account": account.raw,
        "likes": likes_raw,
        "tweets": (!tweet_files.is_empty()).then_some(tweets_raw),
    });
    Ok(RawProfile {
        platform: Platform::X,
        profile,
        raw,
        warnings,
    })
}

/// Streams the entries of a data file (`window.YTD.<name>.part<N> = [ … ]`, or plain
/// JSON), which must be a JSON array: `each(index, entry, bytes)` sees the first
/// `max_items` of them.
fn stream_items(
    archive: &mut ExportArchive,
    file: &str,
    limits: &ImportLimits,
    max_items: usize,
    each: impl FnMut(u64, Value, u64) -> Result<(), Misfit>,
) -> Result<ItemCount, SourceError> {
    let meter = Meter::new(limits.max_item_bytes);
    let items = Items {
        meter: &meter,
        key: None,
        null_ok: false,
        max_items,
        read: Item::Value,
        each,
    };
    archive.stream_json(file, true, &meter, items)
}

/// Streams every item of `files`, the parts of one list, at most
/// `limits.max_items_per_list` in all; `each` gets the part, the item's index in it, the
/// item and its size. A part cut short by the bound is a warning.
fn stream_parts(
    archive: &mut ExportArchive,
    files: &[String],
    limits: &ImportLimits,
    warnings: &mut Warnings,
    mut each: impl FnMut(&str, u64, Value, u64, &mut Warnings) -> Result<(), Misfit>,
) -> Result<(), SourceError> {
    let mut left = limits.max_items_per_list;
    for file in files {
        let count = stream_items(archive, file, limits, left, |i, item, bytes| {
            each(file, i, item, bytes, warnings)
        })?;
        left = left.saturating_sub(usize::try_from(count.read).unwrap_or(usize::MAX));
        count.warn_truncated(file, "", limits.max_items_per_list, warnings);
    }
    Ok(())
}

/// Where the archive's `data/` folder is, and its manifest when it has one.
struct Layout {
    /// `""`, or the folder the archive was unpacked into, with a trailing `/`.
    root: String,
    manifest: Option<Value>,
}

impl Layout {
    fn locate(
        archive: &mut ExportArchive,
        limits: &ImportLimits,
        warnings: &mut Warnings,
    ) -> Result<Self, SourceError> {
        let found = archive.find_suffix(ACCOUNT);
        let Some(account) = found.first() else {
            return Err(archive.missing(
                "`data/account.js`",
                "give the archive X sent (Settings › Your account › Download an archive of \
                 your data), as the .zip or its unpacked folder",
            ));
        };
        if found.len() > 1 {
            warnings.push(
                WarningKind::DuplicateFile,
                format!(
                    "several X archives inside; read the one with {account}, ignored {}",
                    found[1..].join(", ")
                ),
            );
        }
        let root = account[..account.len() - ACCOUNT.len()].to_owned();
        let manifest_path = format!("{root}data/manifest.js");
        let manifest = if archive.contains(&manifest_path) {
            match read_small_json(archive, &manifest_path, true, limits) {
                Ok(manifest) => Some(manifest),
                // A zip bomb stays an error, whichever file holds it.
                Err(e @ SourceError::ExportTooLarge { .. }) => return Err(e),
                Err(e) => {
                    // The manifest is only an index: fall back to the file names.
                    warnings.push(
                        WarningKind::Manifest,
                        format!("{e}; files found by name instead"),
                    );
                    None
                }
            }
        } else {
            None
        };
        Ok(Layout { root, manifest })
    }

    fn path(&self, rel: &str) -> String {
        format!("{}{rel}", self.root)
    }

    /// The files holding the first of `kinds` the archive has, in part order. The
    /// manifest's list wins; a file it lists but the archive lacks is an error (large
    /// archives come as several zips).
    fn data_files(
        &self,
        archive: &ExportArchive,
        kinds: &[&str],
        warnings: &mut Warnings,
    ) -> Result<Vec<String>, SourceError> {
        for kind in kinds {
            if let Some(listed) = self.manifest_files(kind) {
                let files: Vec<String> = listed.iter().map(|f| self.path(f)).collect();
                if let Some(absent) = files.iter().find(|f| !archive.contains(f)) {
                    return Err(archive.missing(
                        &format!("`{absent}` (listed in data/manifest.js)"),
                        "X splits large archives into several zips: unpack them all into \
                         one folder and give that folder",
                    ));
                }
                return Ok(files);
            }
            let found = self.files_by_name(archive, kind);
            if !found.is_empty() {
                if self.manifest.is_some() {
                    warnings.push(
                        WarningKind::Manifest,
                        format!(
                            "data/manifest.js does not list `{kind}`; read {}",
                            found.join(", ")
                        ),
                    );
                }
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    fn manifest_files(&self, kind: &str) -> Option<Vec<String>> {
        let files = self
            .manifest
            .as_ref()?
            .get("dataTypes")?
            .get(kind)?
            .get("files")?
            .as_array()?;
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.get("fileName")?.as_str())
            .map(|name| name.trim_start_matches("./").to_owned())
            .collect();
        (!names.is_empty()).then_some(names)
    }

    /// `data/<kind>.js` and `data/<kind>-part<N>.js`, by part number.
    fn files_by_name(&self, archive: &ExportArchive, kind: &str) -> Vec<String> {
        let dir = self.path("data/");
        let mut parts: Vec<(u32, String)> = archive
            .entries()
            .iter()
            .filter_map(|e| {
                let name = e.path.strip_prefix(&dir)?;
                let stem = name.strip_suffix(".js")?.strip_prefix(kind)?;
                let part = match stem {
                    "" => 0,
                    _ => stem.strip_prefix("-part")?.parse().ok()?,
                };
                Some((part, e.path.clone()))
            })
            .collect();
        parts.sort();
        parts.into_iter().map(|(_, path)| path).collect()
    }
}

/// The object inside `{"<wrapper>": {…}}`, or the entry itself (older archives).
fn unwrap_entry<'v>(item: &'v Value, wrapper: &str) -> Option<&'v Map<String, Value>> {
    let object = item.as_object()?;
    match object.get(wrapper) {
        Some(Value::Object(inner)) => Some(inner),
        _ => Some(object),
    }
}

/// An id given as a string or a number (`u64`, never through `f64`).
fn id_of(object: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match object.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    })
}

struct Account {
    id: String,
    username: String,
    display_name: Option<String>,
    raw: Value,
}

impl Account {
    fn from_items(
        archive: &ExportArchive,
        file: &str,
        items: &[Value],
    ) -> Result<Self, SourceError> {
        let invalid =
            |key: &str, message: String| archive.invalid(file, Some(key.to_owned()), message);
        let Some(first) = items.first() else {
            return Err(archive.invalid(file, None, "holds no account entry".to_owned()));
        };
        let Some(account) = unwrap_entry(first, "account") else {
            return Err(invalid(
                "[0]",
                format!("expected an object, found {}", kind_of(first)),
            ));
        };
        let id = id_of(account, &["accountId"])
            .ok_or_else(|| invalid("[0].account.accountId", "missing or empty".to_owned()))?;
        let username = match account.get("username") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(other) => {
                return Err(invalid(
                    "[0].account.username",
                    format!("expected the account's handle, found {}", kind_of(other)),
                ));
            }
            None => return Err(invalid("[0].account.username", "missing".to_owned())),
        };
        let display_name = account
            .get("accountDisplayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let raw: Map<String, Value> = ["accountId", "username", "accountDisplayName", "createdAt"]
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), account.get(*k)?.clone())))
            .collect();
        Ok(Account {
            id,
            username,
            display_name,
            raw: Value::Object(raw),
        })
    }
}

fn liked_post(item: &Value) -> Result<Video, String> {
    let like = unwrap_entry(item, "like")
        .ok_or_else(|| format!("expected an object, found {}", kind_of(item)))?;
    let id = id_of(like, &["tweetId"]).ok_or("no `like.tweetId`")?;
    let mut video = Video::new(id);
    // Deleted or unavailable posts have no text, hence no hashtags.
    if let Some(text) = like.get("fullText").and_then(Value::as_str) {
        video.hashtags = hashtags_in_text(&unescape_html(text));
    }
    Ok(video)
}

/// What the person's own posts add up to.
#[derive(Default)]
struct Posts {
    seen: HashSet<String>,
    count: u64,
    replies: u64,
    reposts: u64,
    likes_received: u64,
    reposted: VideoSet,
}

impl Posts {
    fn add(&mut self, item: &Value, at: impl Fn() -> String, warnings: &mut Warnings) {
        let Some(post) = unwrap_entry(item, "tweet") else {
            warnings.add(WarningKind::ItemSkipped, || {
                format!(
                    "{}: expected a post object, found {}; skipped",
                    at(),
                    kind_of(item)
                )
            });
            return;
        };
        let Some(id) = id_of(post, &["id_str", "id"]) else {
            warnings.add(WarningKind::ItemSkipped, || {
                format!("{}: no `id_str`; post skipped", at())
            });
            return;
        };
        if !self.seen.insert(id.clone()) {
            return;
        }
        self.count += 1;
        let text = post
            .get("full_text")
            .or_else(|| post.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if ["in_reply_to_status_id_str", "in_reply_to_status_id"]
            .iter()
            .any(|k| post.get(*k).is_some_and(|v| !v.is_null() && v != ""))
        {
            self.replies += 1;
        }
        if text.starts_with("RT @") {
            // The archive keeps neither the original's id nor its counts: the repost's own
            // id stands for it, with the hashtags the archive extracted.
            self.reposts += 1;
            let mut video = Video::new(id);
            video.hashtags = entity_hashtags(post);
            self.reposted.insert(video);
            return;
        }
        match post.get("favorite_count").map(parse_count) {
            Some(Ok(Some(likes))) => self.likes_received += likes,
            Some(Ok(None)) | None => {}
            Some(Err(problem)) => warnings.add(WarningKind::BadCount, || {
                format!(
                    "{}: `favorite_count`: {problem}; left out of the likes received",
                    at()
                )
            }),
        }
    }
}

/// `entities.hashtags[].text`, normalised, de-duplicated in order.
fn entity_hashtags(post: &Map<String, Value>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let listed = post
        .get("entities")
        .and_then(|e| e.get("hashtags"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for tag in listed.iter().filter_map(|h| h.get("text")?.as_str()) {
        push_tag(&mut tags, tag);
    }
    tags
}

fn push_tag(tags: &mut Vec<String>, tag: &str) {
    if let Some(tag) = normalize_hashtag(tag) {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
}

/// X escapes `&`, `<` and `>` in post text.
fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The hashtags of a post's text, the way X marks them: `#` (or `＃`) not preceded by a
/// letter, digit, `_` or `&`, then letters, digits and `_`, not all digits. Words that are
/// URLs are skipped, and so is a tag cut short by `…` (a truncated text).
fn hashtags_in_text(text: &str) -> Vec<String> {
    let mut tags = Vec::new();
    for word in text.split_whitespace().filter(|w| !w.contains("://")) {
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let after_boundary =
                i == 0 || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '_' | '&'));
            if !(matches!(chars[i], '#' | '＃') && after_boundary) {
                i += 1;
                continue;
            }
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let tag: String = chars[start..end].iter().collect();
            let cut = chars.get(end) == Some(&'…');
            if !cut && tag.chars().any(|c| !c.is_ascii_digit()) {
                push_tag(&mut tags, &tag);
            }
            i = end.max(start);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_follow_x_rules() {
        assert_eq!(
            hashtags_in_text("Shipped it #RustLang #rustlang, #100DaysOfCode!"),
            ["#rustlang", "#100daysofcode"]
        );
        assert_eq!(
            hashtags_in_text("C# and F# and #123 and x#y"),
            Vec::<String>::new()
        );
        assert_eq!(
            hashtags_in_text("see https://example.com/#anchor #docs"),
            ["#docs"]
        );
        assert_eq!(
            hashtags_in_text("cut short #buildin…"),
            Vec::<String>::new()
        );
        assert_eq!(
            hashtags_in_text("#pâtisserie ＃Café"),
            ["#pâtisserie", "#café"]
        );
    }

    #[test]
    fn html_entities_are_unescaped_once() {
        assert_eq!(
            unescape_html("Tests &amp; docs &lt;3 &amp;lt;"),
            "Tests & docs <3 &lt;"
        );
    }

    #[test]
    fn ids_are_read_from_strings_or_numbers_without_float_rounding() {
        let object = json!({"id": 2120964654680697947_u64, "id_str": " "});
        assert_eq!(
            id_of(object.as_object().unwrap(), &["id_str", "id"]).as_deref(),
            Some("2120964654680697947")
        );
    }
}
