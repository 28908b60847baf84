//! Tolerant parsing of API payloads: counts and ids as numbers or strings, unknown fields
//! ignored, one bad item skipped with a warning instead of failing the page.

use crate::warnings::{WarningKind, Warnings};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use toker_model::Platform;

use crate::error::SourceError;

/// A count given as a number or a numeric string; anything else (null, "N/A", negative) is
/// unknown.
pub(crate) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(count_of(&Value::deserialize(d)?))
}

/// [`count`] on a JSON value.
pub(crate) fn count_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean given as `true`/`false` or as those words in a string.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// An id given as a number or a string, kept as its decimal text (never through `f64`).
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_id(d)?.ok_or_else(|| serde::de::Error::custom("expected an id (number or string)"))
}

/// An optional [`id`].
pub(crate) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(id_of(&Value::deserialize(d)?))
}

/// The non-empty string at the JSON `pointer` in `value` (`"/meta/next_token"`), if any.
pub(crate) fn text_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// [`id`] on a JSON value.
pub(crate) fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// `null` as an empty list.
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A hashtag as `#tag` (the platform's casing kept; cleaning normalises it later).
pub(crate) fn hashtag(tag: &str) -> Option<String> {
    let tag = tag.trim().trim_start_matches('#');
    (!tag.is_empty()).then(|| format!("#{tag}"))
}

/// Parses each item on its own: an item that does not fit `T` is skipped with a warning
/// naming `what` and its index.
pub(crate) fn items<T: DeserializeOwned>(
    values: &[Value],
    what: &str,
    warnings: &mut Warnings,
) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| match T::deserialize(v) {
            Ok(item) => Some(item),
            Err(e) => {
                warnings.add(WarningKind::ItemSkipped, || {
                    format!("{what}[{i}] skipped: {e}")
                });
                None
            }
        })
        .collect()
}

/// Parses a payload into `T`, or a [`SourceError::BadResponse`] naming the endpoint.
pub(crate) fn payload<T: DeserializeOwned>(
    platform: Platform,
    endpoint: &str,
    value: &Value,
) -> Result<T, SourceError> {
    T::deserialize(value).map_err(|e| SourceError::BadResponse {
        platform,
        endpoint: endpoint.to_owned(),
        message: format!("unexpected shape: {e}"),
    })
}

/// The raw pages of one listing in a raw profile: `None` when the listing was not read.
pub(crate) fn raw_pages<'a>(
    platform: Platform,
    raw: &'a Value,
    key: &str,
) -> Result<Option<&'a [Value]>, SourceError> {
    match raw.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(pages)) => Ok(Some(pages)),
        Some(other) => Err(SourceError::BadResponse {
            platform,
            endpoint: format!("raw profile key {key:?}"),
            message: format!(
                "expected a list of pages, got {}",
                crate::export::kind_of(other)
            ),
        }),
    }
}

/// The raw user payload of a raw profile.
pub(crate) fn raw_user(platform: Platform, raw: &Value) -> Result<&Value, SourceError> {
    raw.get("user").ok_or_else(|| SourceError::BadResponse {
        platform,
        endpoint: "raw profile".to_owned(),
        message: "no \"user\" key".to_owned(),
    })
}

/// Keeps the first `keep` items of the array at `pointer` in `page`; returns how many were
/// there and how many remain.
pub(crate) fn trim_items(page: &mut Value, pointer: &str, keep: Option<u64>) -> (u64, u64) {
    let Some(Value::Array(items)) = page.pointer_mut(pointer) else {
        return (0, 0);
    };
    let before = items.len() as u64;
    if let Some(keep) = keep {
        items.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }
    (before, items.len() as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Item {
        #[serde(deserialize_with = "id")]
        id: String,
        #[serde(default, deserialize_with = "count")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "flag")]
        ok: Option<bool>,
        #[serde(default, deserialize_with = "list")]
        tags: Vec<String>,
    }

    #[test]
    fn counts_and_ids_accept_numbers_and_strings() {
        let mut warnings = Warnings::new();
        let parsed: Vec<Item> = items(
            &[
                json!({"id": 7706249075188808435u64, "n": "4609", "ok": "true", "extra": 1}),
                json!({"id": "42", "n": 5, "ok": false, "tags": null}),
                json!({"id": "43", "n": -1, "ok": "maybe"}),
                json!({"n": 1}),
            ],
            "liked page 1",
            &mut warnings,
        );
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].id, "7706249075188808435");
        assert_eq!(parsed[0].n, Some(4609));
        assert_eq!(parsed[0].ok, Some(true));
        assert_eq!((parsed[1].n, parsed[1].ok), (Some(5), Some(false)));
        assert!(parsed[1].tags.is_empty());
        assert_eq!(
            (parsed[2].n, parsed[2].ok),
            (None, None),
            "unknown, not 0/false"
        );
        assert_eq!(warnings.total(), 1);
        assert!(
            warnings
                .messages()
                .next()
                .unwrap()
                .starts_with("liked page 1[3] skipped"),
            "{warnings:?}"
        );
    }

    #[test]
    fn hashtags_get_one_hash() {
        assert_eq!(hashtag("FoodTok").as_deref(), Some("#FoodTok"));
        assert_eq!(hashtag(" #rust ").as_deref(), Some("#rust"));
        assert_eq!(hashtag("#"), None);
    }

    #[test]
    fn trim_items_keeps_the_first_ones() {
        let mut page = json!({"data": {"videos": [1, 2, 3]}});
        assert_eq!(trim_items(&mut page, "/data/videos", Some(2)), (3, 2));
        assert_eq!(page, json!({"data": {"videos": [1, 2]}}));
        assert_eq!(trim_items(&mut page, "/data/missing", Some(2)), (0, 0));
    }
}
