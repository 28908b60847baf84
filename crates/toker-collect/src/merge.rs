//! The raw profile of a run: its committed pages merged onto the raw profile it builds on.
//!
//! A raw API profile is `{"user": …, "<list>": [page, …], …}` (see
//! `toker_sources::http::Listing::raw_key`). The clients' `profile_from_raw` keep the
//! first sighting of an item, so a run's pages go before the base's: the latest counts win.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};
use toker_sources::http::Listing;
use toker_store::{ListingState, RunMode};

use crate::items::page_item_ids;

/// The list a raw-profile key names, if it is one.
pub(crate) fn listing_of(key: &str) -> Option<Listing> {
    serde_json::from_value(Value::String(key.to_owned())).ok()
}

/// The pages a raw profile holds for `listing`.
fn pages_of(raw: Option<&Value>, listing: Listing) -> &[Value] {
    raw.and_then(|r| r.get(listing.raw_key()))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A run's raw profile: `user`, then for each list the run's pages followed by the base's.
///
/// A full run that read a list to its end or bound drops the base's pages of that list
/// (the list is what the platform shows now); otherwise the base's pages stay, so items
/// not read again are kept. A list neither read nor in the base is left out (unknown).
pub(crate) fn merged_raw(
    user: &Value,
    base: Option<&Value>,
    listings: &[Listing],
    pages: &BTreeMap<Listing, Vec<Value>>,
    state: impl Fn(Listing) -> ListingState,
    mode: RunMode,
) -> Value {
    let mut out = Map::new();
    out.insert("user".to_owned(), user.clone());
    let mut keys: Vec<String> = base
        .and_then(Value::as_object)
        .map(|b| b.keys().filter(|k| *k != "user").cloned().collect())
        .unwrap_or_default();
    for listing in listings {
        if !keys.iter().any(|k| k == listing.raw_key()) {
            keys.push(listing.raw_key().to_owned());
        }
    }
    for key in keys {
        let in_base = base.and_then(|b| b.get(&key));
        let Some(listing) = listing_of(&key) else {
            // Not a list: keep what the base had.
            if let Some(value) = in_base {
                out.insert(key, value.clone());
            }
            continue;
        };
        let read = listings.contains(&listing);
        let st = if read {
            state(listing)
        } else {
            ListingState::Reading
        };
        let replaces_base =
            mode == RunMode::Full && matches!(st, ListingState::Ended | ListingState::Bounded);
        let mut merged: Vec<Value> = pages.get(&listing).cloned().unwrap_or_default();
        if !replaces_base {
            match in_base {
                Some(Value::Array(old)) => merged.extend(old.iter().cloned()),
                Some(other) if merged.is_empty() => {
                    out.insert(key, other.clone());
                    continue;
                }
                _ => {}
            }
        }
        let merged = compact(merged);
        let known_list = in_base.is_some()
            || !merged.is_empty()
            || (read
                && matches!(
                    st,
                    ListingState::Ended | ListingState::Bounded | ListingState::CaughtUp
                ));
        if known_list {
            out.insert(key, Value::Array(merged));
        }
    }
    Value::Object(out)
}

/// Drops the pages that add nothing: every item on them is on an earlier page (the
/// clients keep an item's first sighting), or they have no items. Pages whose items cannot
/// be identified are kept. Keeps repeated incremental runs from growing the raw profile.
fn compact(pages: Vec<Value>) -> Vec<Value> {
    let mut seen: HashSet<String> = HashSet::new();
    pages
        .into_iter()
        .filter(|page| match page_item_ids(page) {
            None => true,
            Some(ids) => {
                // Every id is recorded, so no short-circuiting `any`.
                let mut adds = false;
                for id in ids {
                    adds |= seen.insert(id);
                }
                adds
            }
        })
        .collect()
}

/// `latest`'s lists with `marker`'s pages appended (both may hold items the other lacks);
/// `latest`'s user. One of them alone when the other is missing or they are equal.
pub(crate) fn union_raw(latest: Option<Value>, marker: Option<&Value>) -> Option<Value> {
    let Some(marker) = marker else {
        return latest;
    };
    let Some(mut latest) = latest else {
        return Some(marker.clone());
    };
    if &latest == marker {
        return Some(latest);
    }
    if let (Some(out), Some(old)) = (latest.as_object_mut(), marker.as_object()) {
        for (key, value) in old {
            if key == "user" {
                continue;
            }
            match (out.get_mut(key), value) {
                (Some(Value::Array(pages)), Value::Array(more)) => {
                    pages.extend(more.iter().cloned());
                }
                (None, _) => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
    }
    Some(latest)
}

/// The ids of every item a raw profile holds, per list.
pub(crate) fn known_ids(raw: Option<&Value>) -> BTreeMap<Listing, HashSet<String>> {
    let mut known: BTreeMap<Listing, HashSet<String>> = BTreeMap::new();
    let Some(fields) = raw.and_then(Value::as_object) else {
        return known;
    };
    for key in fields.keys() {
        if let Some(listing) = listing_of(key) {
            let ids = known.entry(listing).or_default();
            for page in pages_of(raw, listing) {
                ids.extend(page_item_ids(page).unwrap_or_default());
            }
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(ids: &[u64]) -> Value {
        let items: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
        json!({"data": {"videos": items}})
    }

    #[test]
    fn run_pages_go_before_the_base_until_a_full_run_ends_the_list() {
        let base = json!({"user": {"old": true}, "liked": [page(&[1, 2])],
                          "reposted": [page(&[9])], "extra": 5});
        let pages = BTreeMap::from([(Listing::Liked, vec![page(&[3])])]);
        let user = json!({"new": true});
        let listings = [Listing::Liked, Listing::Reposted];
        let reading = merged_raw(
            &user,
            Some(&base),
            &listings,
            &pages,
            |_| ListingState::Reading,
            RunMode::Full,
        );
        assert_eq!(reading["user"], user);
        assert_eq!(reading["liked"], json!([page(&[3]), page(&[1, 2])]));
        assert_eq!(reading["reposted"], json!([page(&[9])]));
        assert_eq!(reading["extra"], 5);

        let ended = merged_raw(
            &user,
            Some(&base),
            &listings,
            &pages,
            |l| {
                if l == Listing::Liked {
                    ListingState::Ended
                } else {
                    ListingState::Refused
                }
            },
            RunMode::Full,
        );
        assert_eq!(ended["liked"], json!([page(&[3])]));
        assert_eq!(ended["reposted"], json!([page(&[9])]), "refused: base kept");

        let caught_up = merged_raw(
            &user,
            Some(&base),
            &listings,
            &pages,
            |_| ListingState::Ended,
            RunMode::SinceLast,
        );
        assert_eq!(caught_up["liked"], json!([page(&[3]), page(&[1, 2])]));
    }

    #[test]
    fn a_list_neither_read_nor_in_the_base_stays_unknown() {
        let raw = merged_raw(
            &json!({}),
            None,
            &[Listing::Liked, Listing::Reposted],
            &BTreeMap::new(),
            |l| {
                if l == Listing::Liked {
                    ListingState::Bounded
                } else {
                    ListingState::Refused
                }
            },
            RunMode::Full,
        );
        assert_eq!(raw, json!({"user": {}, "liked": []}));
    }

    #[test]
    fn pages_that_add_nothing_are_dropped() {
        let odd = json!({"data": {"videos": [{"no": "id"}]}});
        let pages = vec![
            page(&[1, 2]),
            page(&[2, 1]),
            page(&[]),
            odd.clone(),
            page(&[2, 3]),
        ];
        assert_eq!(compact(pages), [page(&[1, 2]), odd, page(&[2, 3])]);
    }

    #[test]
    fn union_and_known_ids() {
        let latest = json!({"user": 2, "liked": [page(&[3])]});
        let marker = json!({"user": 1, "liked": [page(&[1, 2])], "posts": [page(&[7])]});
        let both = union_raw(Some(latest.clone()), Some(&marker)).unwrap();
        assert_eq!(
            both,
            json!({"user": 2, "liked": [page(&[3]), page(&[1, 2])], "posts": [page(&[7])]})
        );
        assert_eq!(union_raw(None, Some(&marker)), Some(marker.clone()));
        assert_eq!(union_raw(Some(latest.clone()), None), Some(latest));
        let known = known_ids(Some(&marker));
        assert_eq!(known[&Listing::Liked].len(), 2);
        assert!(known[&Listing::Posts].contains("7"));
        assert!(known_ids(None).is_empty());
    }
}
