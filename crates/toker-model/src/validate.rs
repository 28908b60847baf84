//! Validation: every rule, every violation reported with its field path. The rules are
//! listed on [`ValidationRules`], which holds the tunable ones.
//!
//! Two entry points:
//! - [`parse_profile`] checks untrusted JSON (types *and* rules) and never panics;
//! - [`Profile::validate`] checks a typed profile against the rules.
//!
//! Text rules: identifiers and tags (`user_id`, `username`, `video_id`, each category and
//! hashtag) may not hold a control character, i.e. a character of Unicode category `Cc`:
//! the C0 controls U+0000–U+001F (NUL, tab, line feed, carriage return included), DEL
//! U+007F and the C1 controls U+0080–U+009F ([`is_forbidden_char`]). The display name
//! `user_pseudo` is free text: the same, except that tab, line feed and carriage return
//! are allowed in it. Databases disagree on control characters (PostgreSQL refuses NUL
//! in text, SQLite stores it), and in identifiers they only arrive by mistake or to
//! forge log lines.
//!
//! Cost: linear in the size of the document. At most [`MAX_REPORTED`] violations are
//! listed; the rest are counted in a last violation at `$`.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::profile::{Count, Profile, Video, VideoRelation};

/// The largest count Toker stores (counts are `BIGINT` in the database).
pub const MAX_COUNT: u64 = i64::MAX as u64;

/// The tunable limits of validation, and the rules every profile is checked against:
/// - `number_of_likes` is present and at least [`min_likes`](Self::min_likes) (100);
/// - every count present is a non-negative integer of at most [`MAX_COUNT`] (negative,
///   fractional, string and larger values are violations);
/// - `user_id` and `username` are non-empty, have no surrounding whitespace (refused, not
///   trimmed) and are at most [`max_id_len`](Self::max_id_len) characters (256); each
///   `video_id` is not blank and at most as long;
/// - a `video_id` appears once within `liked_videos` and once within `shared_videos` (one
///   video may be both liked and shared);
/// - `interests` holds at most [`MAX_INTERESTS`] names, each at most
///   [`max_id_len`](Self::max_id_len) characters;
/// - no control character in identifiers, tags and interests; `user_pseudo` may hold tab, line feed
///   and carriage return ([`is_forbidden_char`]; the module's source says why).
///
/// Unknown JSON keys are no violation: they stay in the raw JSON and are otherwise ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRules {
    /// The least `number_of_likes` a profile needs to be stored (default 100).
    pub min_likes: u64,
    /// The longest `user_id`, `username` or `video_id`, in characters (default 256).
    pub max_id_len: usize,
}

/// The most violations a [`ValidationError`] lists; beyond it, one more at `$` says how
/// many were left out (a hostile document can break a rule per byte).
pub const MAX_REPORTED: usize = 100;

/// Whether `c` is refused in every stored string: a control character (Unicode category
/// `Cc`: U+0000–U+001F, U+007F–U+009F).
#[must_use]
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
}

/// The violation of a string holding a control character, naming the first one.
fn control_char(value: &str) -> Option<String> {
    first_control(value, is_forbidden_char)
}

/// As [`control_char`], for free text (`user_pseudo`, a display name): tab, line feed and
/// carriage return are allowed there.
fn control_char_in_text(value: &str) -> Option<String> {
    first_control(value, |c| {
        is_forbidden_char(c) && !matches!(c, '\t' | '\n' | '\r')
    })
}

fn first_control(value: &str, forbidden: impl Fn(char) -> bool) -> Option<String> {
    value.chars().position(forbidden).map(|at| {
        let c = value.chars().nth(at).unwrap_or_default();
        format!(
            "must not contain control characters (U+0000–U+001F, U+007F–U+009F), found U+{:04X} at character {at}",
            u32::from(c)
        )
    })
}

/// The default minimum of likes a profile must have given.
pub const DEFAULT_MIN_LIKES: u64 = 100;

impl Default for ValidationRules {
    fn default() -> Self {
        ValidationRules {
            min_likes: DEFAULT_MIN_LIKES,
            max_id_len: 256,
        }
    }
}

impl ValidationRules {
    /// Rules with a different minimum of likes.
    #[must_use]
    pub fn with_min_likes(min_likes: u64) -> Self {
        ValidationRules {
            min_likes,
            ..ValidationRules::default()
        }
    }
}

/// One broken rule: where (`liked_videos[3].likes`) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violation {
    /// The field path, e.g. `liked_videos[3].likes`; `$` for the whole document.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl Violation {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every rule a profile broke (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ValidationError {
    /// The violations, in document order.
    pub violations: Vec<Violation>,
}

impl ValidationError {
    /// The violation of one path, if any.
    #[must_use]
    pub fn at(&self, path: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.path == path)
    }

    /// The paths that have violations.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.violations.iter().map(|v| v.path.as_str())
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl Profile {
    /// Checks the rules listed on [`ValidationRules`] and reports every violation with its
    /// path.
    ///
    /// # Errors
    /// A [`ValidationError`] listing every broken rule.
    pub fn validate(&self, rules: &ValidationRules) -> Result<(), ValidationError> {
        let mut out = Vec::new();
        check_rules(self, rules, &mut out);
        finish(out)
    }
}

fn finish(mut violations: Vec<Violation>) -> Result<(), ValidationError> {
    if violations.is_empty() {
        return Ok(());
    }
    if violations.len() > MAX_REPORTED {
        let left_out = violations.len() - MAX_REPORTED;
        violations.truncate(MAX_REPORTED);
        violations.push(Violation::new(
            "$",
            format!(
                "{left_out} more violations are not listed (only the first {MAX_REPORTED} are)"
            ),
        ));
    }
    Err(ValidationError { violations })
}

fn check_rules(p: &Profile, rules: &ValidationRules, out: &mut Vec<Violation>) {
    check_id("user_id", &p.user_id, rules, out);
    check_id("username", &p.username, rules, out);
    if let Some(message) = p.user_pseudo.as_deref().and_then(control_char_in_text) {
        out.push(Violation::new("user_pseudo", message));
    }
    for (name, value) in p.counts() {
        check_count_range(name, value, out);
    }
    match p.number_of_likes {
        None => out.push(Violation::new(
            "number_of_likes",
            format!(
                "is missing: the number of likes the person gave, at least {} (where a \
                 platform's API does not report it, as Instagram's does not, import the \
                 platform's data export instead)",
                rules.min_likes
            ),
        )),
        Some(n) if n < rules.min_likes => out.push(Violation::new(
            "number_of_likes",
            format!("must be at least {}, got {n}", rules.min_likes),
        )),
        Some(_) => {}
    }
    for relation in VideoRelation::ALL {
        check_videos(relation.list_key(), p.videos(relation), rules, out);
    }
    check_interests(&p.interests, rules, out);
}

/// The most `interests` a profile may carry (Instagram assigns tens to hundreds).
pub const MAX_INTERESTS: usize = 1_000;

fn check_interests(interests: &[String], rules: &ValidationRules, out: &mut Vec<Violation>) {
    if interests.len() > MAX_INTERESTS {
        out.push(Violation::new(
            "interests",
            format!(
                "must hold at most {MAX_INTERESTS} interests, got {}",
                interests.len()
            ),
        ));
        return;
    }
    for (i, text) in interests.iter().enumerate() {
        let path = || format!("interests[{i}]");
        if let Some(message) = control_char(text) {
            out.push(Violation::new(path(), message));
        } else if text.chars().count() > rules.max_id_len {
            out.push(Violation::new(
                path(),
                format!("must be at most {} characters", rules.max_id_len),
            ));
        }
    }
}

fn check_id(path: &str, value: &str, rules: &ValidationRules, out: &mut Vec<Violation>) {
    if value.trim().is_empty() {
        out.push(Violation::new(path, "must be a non-empty string"));
    } else if value.trim() != value {
        out.push(Violation::new(
            path,
            format!("must not start or end with whitespace, got {value:?}"),
        ));
    } else if value.chars().count() > rules.max_id_len {
        out.push(Violation::new(
            path,
            format!(
                "must be at most {} characters, got {}",
                rules.max_id_len,
                value.chars().count()
            ),
        ));
    } else if let Some(message) = control_char(value) {
        out.push(Violation::new(path, message));
    }
}

fn check_count_range(path: &str, value: Count, out: &mut Vec<Violation>) {
    if let Some(n) = value
        && n > MAX_COUNT
    {
        out.push(Violation::new(
            path,
            format!("must be at most {MAX_COUNT}, got {n}"),
        ));
    }
}

fn check_videos(list: &str, videos: &[Video], rules: &ValidationRules, out: &mut Vec<Violation>) {
    let mut seen: HashSet<&str> = HashSet::with_capacity(videos.len());
    for (i, v) in videos.iter().enumerate() {
        let path = || format!("{list}[{i}].video_id");
        if v.video_id.trim().is_empty() {
            out.push(Violation::new(path(), "must be a non-empty string"));
        } else if v.video_id.chars().count() > rules.max_id_len {
            out.push(Violation::new(
                path(),
                format!("must be at most {} characters", rules.max_id_len),
            ));
        } else if let Some(message) = control_char(&v.video_id) {
            out.push(Violation::new(path(), message));
        } else if !seen.insert(v.video_id.as_str()) {
            out.push(Violation::new(
                path(),
                format!("duplicate video id {:?} within {list}", v.video_id),
            ));
        }
        for (name, texts) in [("categories", &v.categories), ("hashtags", &v.hashtags)] {
            for (j, text) in texts.iter().enumerate() {
                if let Some(message) = control_char(text) {
                    out.push(Violation::new(format!("{list}[{i}].{name}[{j}]"), message));
                }
            }
        }
        for (name, value) in [
            ("likes", v.likes),
            ("comments", v.comments),
            ("shares", v.shares),
        ] {
            // The path is built only for a violation (one allocation per video at most).
            if value.is_some_and(|n| n > MAX_COUNT) {
                check_count_range(&format!("{list}[{i}].{name}"), value, out);
            }
        }
    }
}

/// Parses untrusted JSON into a [`Profile`], checking types and rules together.
///
/// Never panics. Every problem is reported with its path: a count that is negative,
/// fractional, a string or too large; a list or id of the wrong type; and every rule of
/// [`Profile::validate`]. Unknown keys are ignored here (callers keep the raw JSON).
///
/// # Errors
/// A [`ValidationError`] listing every violation.
pub fn parse_profile(value: &Value, rules: &ValidationRules) -> Result<Profile, ValidationError> {
    let Some(obj) = value.as_object() else {
        return Err(ValidationError {
            violations: vec![Violation::new(
                "$",
                format!("must be a JSON object, got {}", describe(value)),
            )],
        });
    };
    let mut typed = Vec::new();
    let mut p = Profile::new(
        string_field(obj, "", "user_id", &mut typed),
        string_field(obj, "", "username", &mut typed),
    );
    p.user_pseudo = optional_string(obj, "", "user_pseudo", &mut typed);
    p.verified = match obj.get("verified") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            typed.push(Violation::new(
                "verified",
                format!("must be true, false or null, got {}", describe(other)),
            ));
            None
        }
    };
    for (name, slot) in p.counts_mut() {
        *slot = count_field(obj, "", name, &mut typed);
    }
    p.liked_videos = video_list(obj, "liked_videos", &mut typed);
    p.shared_videos = video_list(obj, "shared_videos", &mut typed);
    p.interests = string_list(obj, "", "interests", &mut typed);

    // Rules run on what parsed; a path that already has a type error is not reported twice.
    let mut ruled = Vec::new();
    check_rules(&p, rules, &mut ruled);
    let ruled: Vec<Violation> = {
        let broken: HashSet<&str> = typed.iter().map(|v| v.path.as_str()).collect();
        ruled
            .into_iter()
            .filter(|v| !enclosing(&v.path).any(|base| broken.contains(base)))
            .collect()
    };
    typed.extend(ruled);
    // A stable sort (within a field, violations stay in document order), reading each
    // path once.
    typed.sort_by_cached_key(|v| field_rank(&v.path));
    finish(typed).map(|()| p)
}

/// `path` and every path that holds it: `liked_videos[1].likes` gives itself,
/// `liked_videos[1]` and `liked_videos` (a handful per path, so filtering is linear).
fn enclosing(path: &str) -> impl Iterator<Item = &str> {
    std::iter::once(path).chain(
        path.char_indices()
            .filter(|&(_, c)| c == '.' || c == '[')
            .map(|(at, _)| &path[..at]),
    )
}

/// Orders violations as the fields appear in the profile format (the order of [`Profile`]'s
/// fields).
fn field_rank(path: &str) -> (usize, usize) {
    const ORDER: &[&str] = &Profile::FIELD_NAMES;
    let head = path.split(['[', '.']).next().unwrap_or(path);
    let rank = ORDER.iter().position(|k| *k == head).unwrap_or(ORDER.len());
    let index = path
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0);
    (rank, index)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A short description of a JSON value for messages, e.g. `string "12"` or `array`.
#[must_use]
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("string {short:?}…")
            } else {
                format!("string {short:?}")
            }
        }
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn string_field(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
    out: &mut Vec<Violation>,
) -> String {
    match obj.get(key) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            out.push(Violation::new(
                join(prefix, key),
                "is required (a non-empty string)",
            ));
            String::new()
        }
        Some(other) => {
            out.push(Violation::new(
                join(prefix, key),
                format!("must be a string, got {}", describe(other)),
            ));
            String::new()
        }
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
    out: &mut Vec<Violation>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            out.push(Violation::new(
                join(prefix, key),
                format!("must be a string or null, got {}", describe(other)),
            ));
            None
        }
    }
}

/// Reads a count: absent or `null` is unknown; anything but a non-negative integer that
/// fits a `BIGINT` is a violation.
fn count_field(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
    out: &mut Vec<Violation>,
) -> Count {
    let value = obj.get(key)?;
    match count_value(value) {
        Ok(c) => c,
        Err(message) => {
            out.push(Violation::new(join(prefix, key), message));
            None
        }
    }
}

/// The largest integer every float holds exactly (2^53).
const EXACT_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0;

fn count_value(value: &Value) -> Result<Count, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u > MAX_COUNT {
                    Err(format!("must be at most {MAX_COUNT}, got {u}"))
                } else {
                    Ok(Some(u))
                }
            } else if n.is_i64() {
                Err(format!("must be a non-negative integer, got {n}"))
            } else {
                // A float: fractional, or an integer written in float form (`2.0` is the
                // integer 2, as JSON Schema reads it), exact only up to 2^53.
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 && f >= 0.0 => {
                        if f > MAX_COUNT as f64 {
                            Err(format!("must be at most {MAX_COUNT}, got {n}"))
                        } else if f <= EXACT_FLOAT_INTEGER {
                            // Whole, non-negative and at most 2^53: the cast is exact.
                            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                            Ok(Some(f as u64))
                        } else {
                            Err(format!(
                                "must be written as an integer above 2^53 (a float cannot hold it exactly), got {n}"
                            ))
                        }
                    }
                    _ => Err(format!("must be a non-negative integer, got {n}")),
                }
            }
        }
        other => Err(format!(
            "must be a non-negative integer, got {}",
            describe(other)
        )),
    }
}

fn string_list(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
    out: &mut Vec<Violation>,
) -> Vec<String> {
    match obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => s.clone(),
                other => {
                    out.push(Violation::new(
                        format!("{}[{i}]", join(prefix, key)),
                        format!("must be a string, got {}", describe(other)),
                    ));
                    // Keep the slot so later indexes stay the input's indexes (the
                    // profile is rejected anyway).
                    String::new()
                }
            })
            .collect(),
        Some(other) => {
            out.push(Violation::new(
                join(prefix, key),
                format!("must be an array of strings, got {}", describe(other)),
            ));
            Vec::new()
        }
    }
}

fn video_list(obj: &Map<String, Value>, key: &str, out: &mut Vec<Violation>) -> Vec<Video> {
    let items = match obj.get(key) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            out.push(Violation::new(
                key,
                format!("must be an array of videos, got {}", describe(other)),
            ));
            return Vec::new();
        }
    };
    let mut videos = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("{key}[{i}]");
        let Some(v) = item.as_object() else {
            out.push(Violation::new(
                prefix,
                format!("must be a video object, got {}", describe(item)),
            ));
            // Keep the slot so later indexes stay the input's indexes.
            videos.push(Video::new(String::new()));
            continue;
        };
        let video_id = match v.get("video_id") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => {
                out.push(Violation::new(
                    format!("{prefix}.video_id"),
                    "is required (a non-empty string)",
                ));
                String::new()
            }
            Some(other) => {
                out.push(Violation::new(
                    format!("{prefix}.video_id"),
                    format!("must be a string, got {}", describe(other)),
                ));
                String::new()
            }
        };
        videos.push(Video {
            video_id,
            categories: string_list(v, &prefix, "categories", out),
            hashtags: string_list(v, &prefix, "hashtags", out),
            likes: count_field(v, &prefix, "likes", out),
            comments: count_field(v, &prefix, "comments", out),
            shares: count_field(v, &prefix, "shares", out),
        });
    }
    videos
}
