//! The Instagram data-export importer ("Download your information", JSON format):
//! `liked_posts.json` in its older shape (`{"likes_media_likes": [{title,
//! string_list_data}]}`) and its newer one (a top-level list of `{timestamp, label_values}`),
//! plus `personal_information.json` for the username and name, and the topics Instagram
//! assigns the person (`recommended_topics.json`, `your_topics.json`,
//! `your_reel_topics.json`) as the profile's `interests`. Files are found by name
//! anywhere, since their folders moved between years
//! (`docs/PLATFORMS.md#instagram-data-export`).
//!
//! Meta writes each UTF-8 byte of non-ASCII text as its own `\u00XX` escape
//! (`L\u00c3\u00a9a` for "Léa"): every string and key is repaired after decoding.
//! Labels are localised, so the post URL is taken from whichever `href`/`value` looks like
//! `instagram.com/p/<code>/` or `/reel/<code>/`, never by label.
//!
//! Mapping (`docs/PLATFORMS.md#from-a-source-to-a-toker-profile`): `user_id` = `username` =
//! `Username`; `user_pseudo` = `Name`; `number_of_likes` = the liked posts (a repeated post
//! counted once); `liked_videos` = their shortcodes, nothing else (the export has no
//! captions, hashtags or counts); `interests` = the topics, in file order, each once (the
//! only categories an Instagram export carries; cleaning spells those the taxonomy knows
//! its way). Everything else is unknown: `None`, and `shared_videos` is empty. A topics
//! file that cannot be read is a warning, never a failure: the likes are the profile.
//!
//! The raw JSON keeps the (repaired) liked posts and the username and name, not the rest
//! of the personal information (e-mail, phone, birth date).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use toker_model::{Platform, Profile, Video};

use crate::archive::{ExportArchive, Meter, file_name};
use crate::error::SourceError;
use crate::export::{
    ImportLimits, Item, ItemCount, Items, Misfit, RawBudget, VideoSet, kind_of, read_small_json,
};
use crate::source::RawProfile;
use crate::warnings::{WarningKind, Warnings};

const LIKES_KEY: &str = "likes_media_likes";
/// `string_map_data` keys for the username, in the export languages seen so far.
const USERNAME_KEYS: [&str; 7] = [
    "Username",
    "Nome utente",
    "Gebruikersnaam",
    "Nom d'utilisateur",
    "Benutzername",
    "Nombre de usuario",
    "Nome de usuário",
];
/// `string_map_data` keys for the display name.
const NAME_KEYS: [&str; 5] = ["Name", "Nome", "Naam", "Nom", "Nombre"];

/// Imports from an opened export, streaming `liked_posts.json` post by post.
///
/// The entry point is [`crate::import_export`], which opens the export within the
/// limits and dispatches here.
///
/// # Errors
/// A [`SourceError`] naming the export, the file inside it and the key that is missing or
/// malformed (e.g. `likes_media_likes` that is not a list).
pub fn import_archive(
    archive: &mut ExportArchive,
    limits: &ImportLimits,
) -> Result<RawProfile, SourceError> {
    let mut warnings = Warnings::new();
    let likes_file = locate(archive, "likes/liked_posts.json", &mut warnings).ok_or_else(|| {
        let html = !archive.find_named("liked_posts.html").is_empty();
        archive.missing(
            "`liked_posts.json` (your_instagram_activity/likes/)",
            if html {
                "this is the HTML export: request your information again in JSON format"
            } else {
                "request \"Download your information\" in JSON format, with your likes included"
            },
        )
    })?;
    let meter = Meter::new(limits.max_item_bytes);
    let mut liked = Liked {
        file: likes_file.clone(),
        max_items: limits.max_items_per_list,
        videos: VideoSet::default(),
        likes: 0,
        repeats: 0,
        raw: Vec::new(),
        budget: RawBudget::new(limits),
        warnings: &mut warnings,
    };
    let seed = LikesDoc {
        meter: &meter,
        liked: &mut liked,
    };
    let (shape, count) = archive.stream_json(&likes_file, false, &meter, seed)?;
    let prefix = match shape {
        Shape::List => String::new(),
        Shape::Object => LIKES_KEY.to_owned(),
    };
    count.warn_truncated(
        &likes_file,
        &prefix,
        limits.max_items_per_list,
        liked.warnings,
    );
    let likes_raw = match shape {
        Shape::List => Value::Array(std::mem::take(&mut liked.raw)),
        Shape::Object => json!({ LIKES_KEY: std::mem::take(&mut liked.raw) }),
    };
    let (videos, likes) = (liked.videos.into_vec(), liked.likes - liked.repeats);

    let identity = identity(archive, limits, &mut warnings)?;
    let mut profile = Profile::new(identity.username.clone(), identity.username.clone());
    profile.user_pseudo = identity.name.clone();
    profile.number_of_likes = Some(likes);
    profile.liked_videos = videos;
    profile.interests = topics(archive, limits, &mut warnings);

    let mut raw = json!({
        "source": "export",
        "file": file_name(&likes_file),
        "profile": {"Username": identity.username, "Name": identity.name},
        "liked_posts": likes_raw,
    });
    if !profile.interests.is_empty() {
        raw["topics"] = json!(profile.interests);
    }
    Ok(RawProfile {
        platform: Platform::Instagram,
        profile,
        raw,
        warnings,
    })
}

/// The file ending with `suffix`, else any file with its name; the first of several.
fn locate(archive: &ExportArchive, suffix: &str, warnings: &mut Warnings) -> Option<String> {
    let mut found = archive.find_suffix(suffix);
    if found.is_empty() {
        found = archive.find_named(file_name(suffix));
    }
    let first = found.first()?.clone();
    if found.len() > 1 {
        warnings.push(
            WarningKind::DuplicateFile,
            format!(
                "several {} in the export; read {first}, ignored {}",
                file_name(suffix),
                found[1..].join(", ")
            ),
        );
    }
    Some(first)
}

/// The liked posts read so far.
struct Liked<'w> {
    file: String,
    max_items: usize,
    videos: VideoSet,
    likes: u64,
    repeats: u64,
    /// The (repaired) items kept for the raw JSON.
    raw: Vec<Value>,
    budget: RawBudget,
    warnings: &'w mut Warnings,
}

impl Liked<'_> {
    /// One liked item (repaired), `bytes` long in the file, at `at` (e.g. `[3]`).
    fn item(&mut self, at: &str, item: Value, bytes: u64) -> Result<(), Misfit> {
        let item = repair_value(item);
        match item.get("string_list_data") {
            // The older shape: one item per owner, one entry per liked post.
            Some(Value::Array(entries)) => {
                for (j, entry) in entries.iter().enumerate() {
                    let url = ["href", "value"]
                        .iter()
                        .filter_map(|k| entry.get(*k)?.as_str())
                        .find(|u| shortcode(u).is_some());
                    self.like(|| format!("{at}.string_list_data[{j}]"), url);
                }
            }
            Some(other) => {
                return Err((
                    Some(format!("{at}.string_list_data")),
                    format!("expected an array, found {}", kind_of(other)),
                ));
            }
            None => self.like(|| at.to_owned(), find_post_url(&item)),
        }
        let file = &self.file;
        if self
            .budget
            .keep(bytes, || format!("{file}: key `{at}`"), self.warnings)
        {
            self.raw.push(item);
        }
        Ok(())
    }

    fn like(&mut self, at: impl Fn() -> String, url: Option<&str>) {
        self.likes += 1;
        let file = &self.file;
        match url.and_then(shortcode) {
            Some(_) if self.videos.len() >= self.max_items => {
                self.warnings.add(WarningKind::ListTruncated, || {
                    format!(
                        "{file}: key `{}`: more than {} liked posts; like counted, but no post \
                         recorded (max_items_per_list)",
                        at(),
                        self.max_items
                    )
                });
            }
            Some(code) => self.repeats += u64::from(!self.videos.insert(Video::new(code))),
            None => self.warnings.add(WarningKind::ItemUnnamed, || {
                format!(
                    "{file}: key `{}`: no post URL (instagram.com/p/… or /reel/…); like \
                     counted, but no post recorded",
                    at()
                )
            }),
        }
    }
}

/// Which of its two shapes `liked_posts.json` has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The newer one: a list of liked posts.
    List,
    /// The older one: `{"likes_media_likes": [...]}`.
    Object,
}

/// Streams `liked_posts.json` in either shape.
struct LikesDoc<'a, 'w> {
    meter: &'a Meter,
    liked: &'a mut Liked<'w>,
}

impl LikesDoc<'_, '_> {
    fn items(
        &mut self,
        key: Option<&str>,
    ) -> Items<'_, impl FnMut(u64, Value, u64) -> Result<(), Misfit> + '_> {
        let prefix = key.unwrap_or_default().to_owned();
        let liked = &mut *self.liked;
        Items {
            meter: self.meter,
            key: key.map(str::to_owned),
            null_ok: false,
            max_items: liked.max_items,
            read: Item::Value,
            each: move |i, item, bytes| liked.item(&format!("{prefix}[{i}]"), item, bytes),
        }
    }

    fn wrong<E: serde::de::Error>(&self, found: &str) -> E {
        self.meter.fail(
            None,
            format!(
                "expected an object with `{LIKES_KEY}` or a list of liked posts, found {found}"
            ),
        )
    }
}

impl<'de> DeserializeSeed<'de> for LikesDoc<'_, '_> {
    type Value = (Shape, ItemCount);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LikesDoc<'_, '_> {
    type Value = (Shape, ItemCount);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with `{LIKES_KEY}` or a list of liked posts")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, seq: A) -> Result<Self::Value, A::Error> {
        let count = self.items(None).visit_seq(seq)?;
        Ok((Shape::List, count))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut count = None;
        let mut keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == LIKES_KEY && count.is_none() {
                count = Some(map.next_value_seed(self.items(Some(LIKES_KEY)))?);
            } else {
                if keys.len() < 20 {
                    keys.push(repair_text(key));
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
        match count {
            Some(count) => Ok((Shape::Object, count)),
            None => Err(self.meter.fail(
                Some(LIKES_KEY.to_owned()),
                format!(
                    "missing, and the file is not a list of liked posts either; keys found: {}",
                    if keys.is_empty() {
                        "none".to_owned()
                    } else {
                        keys.join(", ")
                    }
                ),
            )),
        }
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Err(self.wrong("null"))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.wrong("a boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.wrong("a string"))
    }
}

/// The first `href`/`value` string anywhere in `value` that is a post URL.
fn find_post_url(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => ["href", "value"]
            .iter()
            .filter_map(|k| map.get(*k)?.as_str())
            .find(|u| shortcode(u).is_some())
            .or_else(|| map.values().find_map(find_post_url)),
        Value::Array(items) => items.iter().find_map(find_post_url),
        _ => None,
    }
}

/// The post id in `https://www.instagram.com/p/<code>/` (also `/reel/`, `/reels/`, `/tv/`,
/// and `instagram.com/<user>/p/<code>/`).
fn shortcode(url: &str) -> Option<String> {
    let (_, path) = url.split_once("instagram.com/")?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/');
    while let Some(segment) = segments.next() {
        if matches!(segment, "p" | "reel" | "reels" | "tv") {
            let code = segments.next()?;
            let valid = !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
            return valid.then(|| code.to_owned());
        }
    }
    None
}

struct Identity {
    username: String,
    name: Option<String>,
}

/// The files that list the topics Instagram assigns the person: newer archives, older ones,
/// and the reels' topics some carry.
const TOPIC_FILES: [&str; 3] = [
    "your_topics/recommended_topics.json",
    "your_topics/your_topics.json",
    "your_topics/your_reel_topics.json",
];

/// The topics of every topics file, in file order, each once (compared case-insensitively),
/// at most [`toker_model::MAX_INTERESTS`]. Each file is
/// `{"topics_…": [{"string_map_data": {"<localised label>": {"value": "Basketball"}}}]}`:
/// the label is localised, so the entry's single value is taken whatever its key.
fn topics(
    archive: &mut ExportArchive,
    limits: &ImportLimits,
    warnings: &mut Warnings,
) -> Vec<String> {
    let mut topics: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut truncated = 0usize;
    for suffix in TOPIC_FILES {
        let Some(file) = locate(archive, suffix, warnings) else {
            continue;
        };
        let doc = match read_small_json(archive, &file, false, limits) {
            Ok(doc) => repair_value(doc),
            Err(e) => {
                warnings.push(
                    WarningKind::ItemSkipped,
                    format!("{file}: unreadable, its topics are left out ({e})"),
                );
                continue;
            }
        };
        let Some(list) = doc
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.starts_with("topics_")))
            .and_then(|(_, v)| v.as_array())
        else {
            warnings.push(
                WarningKind::ItemSkipped,
                format!("{file}: no `topics_…` list, its topics are left out"),
            );
            continue;
        };
        for (i, entry) in list.iter().enumerate() {
            let name = entry
                .get("string_map_data")
                .and_then(Value::as_object)
                .and_then(|m| m.values().find_map(|v| v.get("value")?.as_str()))
                .map(str::trim)
                .filter(|v| !v.is_empty());
            let Some(name) = name else {
                warnings.push(
                    WarningKind::ItemSkipped,
                    format!("{file}: topic [{i}] names no topic"),
                );
                continue;
            };
            if !seen.insert(name.to_lowercase()) {
                continue;
            }
            if topics.len() == toker_model::MAX_INTERESTS {
                truncated += 1;
                continue;
            }
            topics.push(name.to_owned());
        }
    }
    if truncated > 0 {
        warnings.push(
            WarningKind::ListTruncated,
            format!(
                "{truncated} more topics than the {} a profile keeps were left out",
                toker_model::MAX_INTERESTS
            ),
        );
    }
    topics
}

/// The username and name from `personal_information.json`, else the username from the
/// export's own name (`instagram-<username>-<date>-<random>.zip`).
fn identity(
    archive: &mut ExportArchive,
    limits: &ImportLimits,
    warnings: &mut Warnings,
) -> Result<Identity, SourceError> {
    let Some(file) = locate(
        archive,
        "personal_information/personal_information.json",
        warnings,
    ) else {
        let from_name = archive
            .path()
            .file_name()
            .and_then(|n| username_from_export_name(&n.to_string_lossy()));
        return match from_name {
            Some(username) => {
                warnings.push(
                    WarningKind::MissingFile,
                    format!(
                        "no personal_information.json: username {username:?} taken from the \
                         export's name, display name unknown"
                    ),
                );
                Ok(Identity {
                    username,
                    name: None,
                })
            }
            None => Err(archive.missing(
                "`personal_information.json` (personal_information/)",
                "it holds the username: give the whole export",
            )),
        };
    };
    let doc = repair_value(read_small_json(archive, &file, false, limits)?);
    let key = "profile_user[0].string_map_data";
    let Some(map) = doc
        .get("profile_user")
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("string_map_data"))
        .and_then(Value::as_object)
    else {
        return Err(archive.invalid(
            &file,
            Some(key.to_owned()),
            "missing or not an object".to_owned(),
        ));
    };
    let username = entry_value(map, &USERNAME_KEYS).ok_or_else(|| {
        archive.invalid(
            &file,
            Some(format!("{key}.Username")),
            format!(
                "missing or empty (looked for: {})",
                USERNAME_KEYS.join(", ")
            ),
        )
    })?;
    Ok(Identity {
        username,
        name: entry_value(map, &NAME_KEYS),
    })
}

/// `map[<one of keys>].value`, trimmed, when non-empty.
fn entry_value(map: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| map.get(*k)?.get("value")?.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `lea.cooks` from `instagram-lea.cooks-2026-11-20-AbCdEf.zip` (usernames have no `-`).
fn username_from_export_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix("instagram-")?;
    let username = rest.split('-').next()?;
    let valid = !username.is_empty()
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_'));
    valid.then(|| username.to_owned())
}

/// Repairs Meta's mis-encoding in every string and key of `value`.
fn repair_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(repair_text(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(repair_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (repair_text(k), repair_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Text whose every char is ≤ U+00FF is read back as the Latin-1 bytes of UTF-8 text;
/// when those bytes are not UTF-8 the text was fine and is kept.
fn repair_text(text: String) -> String {
    if text.is_ascii() || text.chars().any(|c| u32::from(c) > 0xFF) {
        return text;
    }
    let bytes: Vec<u8> = text
        .chars()
        .filter_map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    String::from_utf8(bytes).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mis_encoded_text_is_repaired_and_good_text_kept() {
        assert_eq!(
            repair_text("L\u{00c3}\u{00a9}a Martin".to_owned()),
            "Léa Martin"
        );
        assert_eq!(
            repair_text("\u{00f0}\u{009f}\u{0091}\u{008d}".to_owned()),
            "👍"
        );
        // Real Latin-1 text is not valid UTF-8 once re-encoded: kept as it was.
        assert_eq!(repair_text("café".to_owned()), "café");
        assert_eq!(repair_text("Léa 👍".to_owned()), "Léa 👍");
        assert_eq!(repair_text("plain".to_owned()), "plain");
    }

    #[test]
    fn keys_are_repaired_too() {
        let v = repair_value(json!({"Nome utente \u{00c3}\u{00a9}": ["Mu\u{00c3}\u{00b1}oz"]}));
        assert_eq!(v, json!({"Nome utente é": ["Muñoz"]}));
    }

    #[test]
    fn shortcodes_come_from_post_and_reel_urls_only() {
        let code = |u: &str| shortcode(u);
        assert_eq!(
            code("https://www.instagram.com/p/C7Fw3-m65D0/").as_deref(),
            Some("C7Fw3-m65D0")
        );
        assert_eq!(
            code("https://www.instagram.com/reel/CH8096YDUrN/?igsh=x").as_deref(),
            Some("CH8096YDUrN")
        );
        assert_eq!(
            code("https://instagram.com/lea.cooks/p/Abc_1/").as_deref(),
            Some("Abc_1")
        );
        assert_eq!(code("https://www.instagram.com/sourdough.sam"), None);
        assert_eq!(code("https://www.instagram.com/p//"), None);
        assert_eq!(code("https://example.com/p/abc/"), None);
    }

    #[test]
    fn the_username_can_come_from_the_export_name() {
        assert_eq!(
            username_from_export_name("instagram-lea.cooks-2026-11-20-AbCdEf.zip").as_deref(),
            Some("lea.cooks")
        );
        assert_eq!(username_from_export_name("export.zip"), None);
    }
}
