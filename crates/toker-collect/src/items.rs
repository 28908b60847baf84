//! Items on a page, and what a write changed item by item.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use toker_model::{Profile, Video};

/// The ids of the items on an API page, in page order; `None` when the page's items
/// cannot be identified.
///
/// Every platform Toker reads puts a page's items under `data`: as the array itself (X,
/// Instagram) or as the array inside it (TikTok: `data.user_liked_videos`,
/// `data.reposted_videos`, …, beside `cursor` and `has_more`). Ids given as numbers or
/// strings are both returned as text. A page of another shape, or with an item without an
/// id, gives `None`: an incremental run never takes it for a page of known items, and it
/// is never dropped as redundant.
#[must_use]
pub fn page_item_ids(page: &Value) -> Option<Vec<String>> {
    let items = match page.get("data")? {
        Value::Array(items) => items,
        Value::Object(fields) => fields.values().find_map(Value::as_array)?,
        _ => return None,
    };
    items
        .iter()
        .map(|item| match item.get("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// How the items of one list compare with what was stored before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ItemCounts {
    /// Items that were not stored.
    pub new: u64,
    /// Items that were stored with other counts or tags.
    pub updated: u64,
    /// Items stored exactly so.
    pub unchanged: u64,
    /// Stored items the new profile no longer has.
    pub removed: u64,
}

impl ItemCounts {
    fn add(self, other: ItemCounts) -> ItemCounts {
        ItemCounts {
            new: self.new + other.new,
            updated: self.updated + other.updated,
            unchanged: self.unchanged + other.unchanged,
            removed: self.removed + other.removed,
        }
    }
}

/// [`ItemCounts`] for both lists of a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ItemChanges {
    /// How the profile's liked videos changed.
    pub liked_videos: ItemCounts,
    /// How the profile's shared videos changed.
    pub shared_videos: ItemCounts,
}

impl ItemChanges {
    /// Both lists together (a video both liked and shared counts twice).
    #[must_use]
    pub fn total(&self) -> ItemCounts {
        self.liked_videos.add(self.shared_videos)
    }
}

/// Compares the videos of `after` with those of `before` (nothing stored: all new).
#[must_use]
pub fn diff_items(before: Option<&Profile>, after: &Profile) -> ItemChanges {
    let empty = Vec::new();
    let (liked, shared) = before.map_or((&empty, &empty), |b| (&b.liked_videos, &b.shared_videos));
    ItemChanges {
        liked_videos: diff_list(liked, &after.liked_videos),
        shared_videos: diff_list(shared, &after.shared_videos),
    }
}

fn diff_list(before: &[Video], after: &[Video]) -> ItemCounts {
    let old: HashMap<&str, &Video> = before.iter().map(|v| (v.video_id.as_str(), v)).collect();
    let mut counts = ItemCounts::default();
    let mut kept = 0u64;
    for video in after {
        match old.get(video.video_id.as_str()) {
            None => counts.new += 1,
            Some(previous) => {
                kept += 1;
                if *previous == video {
                    counts.unchanged += 1;
                } else {
                    counts.updated += 1;
                }
            }
        }
    }
    counts.removed = (old.len() as u64).saturating_sub(kept);
    counts
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_come_from_the_data_array_or_the_array_inside_data() {
        let x = json!({"data": [{"id": "17"}, {"id": 18}], "meta": {}});
        assert_eq!(page_item_ids(&x).unwrap(), ["17", "18"]);
        let tiktok = json!({"data": {"cursor": 5, "has_more": true,
            "user_liked_videos": [{"id": 7_255_000_000_000_000_001_u64}, {"id": " 9 "}]}});
        assert_eq!(
            page_item_ids(&tiktok).unwrap(),
            ["7255000000000000001", "9"]
        );
        assert_eq!(
            page_item_ids(&json!({"data": {"videos": []}})),
            Some(vec![])
        );
        assert_eq!(
            page_item_ids(&json!({"data": [{"id": 1}, {"text": "no id"}]})),
            None
        );
        assert_eq!(page_item_ids(&json!({"items": [{"id": 1}]})), None);
    }

    #[test]
    fn diff_tells_new_updated_unchanged_and_removed_apart() {
        let mut before = Profile::new("1", "u");
        let video = |id: &str, likes| Video {
            likes: Some(likes),
            ..Video::new(id)
        };
        before.liked_videos = vec![video("a", 1), video("b", 2), video("c", 3)];
        before.shared_videos = vec![video("a", 1)];
        let mut after = before.clone();
        after.liked_videos = vec![video("d", 4), video("a", 1), video("b", 5)];
        let changes = diff_items(Some(&before), &after);
        assert_eq!(
            changes.liked_videos,
            ItemCounts {
                new: 1,
                updated: 1,
                unchanged: 1,
                removed: 1
            }
        );
        assert_eq!(changes.shared_videos.unchanged, 1);
        assert_eq!(changes.total().unchanged, 2);
        let first = diff_items(None, &after);
        assert_eq!((first.total().new, first.total().removed), (4, 0));
    }
}
