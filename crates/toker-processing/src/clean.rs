//! Cleaning of validated profiles: one spelling per hashtag and per category, one entry per
//! video.
//!
//! Rules (the fixtures `toker-testkit/fixtures/*/expected/*.json` show them applied):
//! - a hashtag is Unicode-normalised (NFKC, so `＃Ｆｕｎ` is `#fun`), lower-cased, trimmed,
//!   stripped of its leading `#`s, and stored with exactly one leading `#`; a tag with
//!   nothing left is dropped;
//! - a category is trimmed, its inner whitespace collapsed to single spaces, and spelled as
//!   the taxonomy spells it when it matches case-insensitively
//!   ([`toker_model::taxonomy::canonical_category`]); an unknown category is kept as given;
//! - tags and categories are de-duplicated per video, keeping first-seen order (categories
//!   compare case-insensitively, the first spelling wins);
//! - the profile's `interests` are cleaned and de-duplicated as categories are;
//! - videos with the same `video_id` within one list are merged into the first one: the
//!   union of their tags, and for each count the largest known value (counts only grow, so
//!   the largest is the latest observation; unknown counts never replace known ones).
//!
//! A video that is both liked and shared stays in both lists: the relations differ.
//! Cleaning is idempotent: `clean_profile(clean_profile(p)) == clean_profile(p)`.

use std::collections::HashMap;

use toker_model::{Count, Profile, Video, taxonomy};
use unicode_normalization::UnicodeNormalization;

/// Cleans a validated profile (see the module documentation for the rules).
#[must_use]
pub fn clean_profile(mut profile: Profile) -> Profile {
    profile.liked_videos = clean_videos(std::mem::take(&mut profile.liked_videos));
    profile.shared_videos = clean_videos(std::mem::take(&mut profile.shared_videos));
    let interests = profile.interests.iter().filter_map(|c| clean_category(c));
    profile.interests = dedup_first(interests.collect(), str::to_lowercase);
    profile
}

/// The cleaned spelling of one hashtag (`" #Dance "` → `"#dance"`), or `None` when nothing
/// is left of it (`""`, `"#"`, `" ## "`).
#[must_use]
pub fn clean_hashtag(tag: &str) -> Option<String> {
    if tag.is_ascii() {
        // ASCII is its own NFKC form and lower-cases byte by byte: one allocation.
        let body = strip_hashes(tag);
        if body.is_empty() {
            return None;
        }
        let mut clean = String::with_capacity(body.len() + 1);
        clean.push('#');
        clean.push_str(body);
        clean.make_ascii_lowercase();
        return Some(clean);
    }
    let folded = fold_unicode(tag);
    let body = strip_hashes(&folded);
    if body.is_empty() {
        None
    } else {
        Some(format!("#{body}"))
    }
}

/// NFKC first so that full-width `＃` and odd spaces become `#` and ' ' before trimming;
/// again after lower-casing, because lower-casing can leave a string un-normalised.
fn fold_unicode(tag: &str) -> String {
    tag.nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect()
}

fn strip_hashes(tag: &str) -> &str {
    tag.trim_start_matches(|c: char| c == '#' || c.is_whitespace())
        .trim_end()
}

/// The cleaned spelling of one category (`"  music "` → `"Music"`, `"Home   Decor"` →
/// `"Home Decor"`), or `None` when it is blank.
#[must_use]
pub fn clean_category(name: &str) -> Option<String> {
    let mut collapsed = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    if collapsed.is_empty() {
        return None;
    }
    Some(match taxonomy::canonical_category(&collapsed) {
        Some(canonical) => canonical.to_owned(),
        None => collapsed,
    })
}

fn clean_videos(videos: Vec<Video>) -> Vec<Video> {
    let mut merged: Vec<Video> = Vec::with_capacity(videos.len());
    // Where each id's first video is in `merged`: one lookup per video, so a list of tens
    // of thousands costs linear time (a search of `merged` was quadratic).
    let mut first_of: HashMap<String, usize> = HashMap::with_capacity(videos.len());
    for video in videos {
        match first_of.get(&video.video_id) {
            Some(&at) => merge_into(&mut merged[at], video),
            None => {
                first_of.insert(video.video_id.clone(), merged.len());
                merged.push(video);
            }
        }
    }
    for video in &mut merged {
        let categories = video.categories.iter().filter_map(|c| clean_category(c));
        video.categories = dedup_first(categories.collect(), str::to_lowercase);
        let hashtags = video.hashtags.iter().filter_map(|h| clean_hashtag(h));
        video.hashtags = dedup_first(hashtags.collect(), str::to_owned);
    }
    merged
}

fn merge_into(first: &mut Video, later: Video) {
    first.categories.extend(later.categories);
    first.hashtags.extend(later.hashtags);
    first.likes = max_known(first.likes, later.likes);
    first.comments = max_known(first.comments, later.comments);
    first.shares = max_known(first.shares, later.shares);
}

fn max_known(a: Count, b: Count) -> Count {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (known, None) | (None, known) => known,
    }
}

/// Keeps the first item of each key, in input order.
fn dedup_first(items: Vec<String>, key: impl Fn(&str) -> String) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(items.len());
    let mut keys: Vec<String> = Vec::with_capacity(items.len());
    // A video carries a handful of tags: comparing with each kept one beats hashing.
    // Past a few dozen, a set keeps hostile inputs from taking quadratic time.
    let mut seen: Option<std::collections::HashSet<String>> = None;
    for item in items {
        let k = key(&item);
        if let Some(seen) = &mut seen {
            if seen.insert(k) {
                kept.push(item);
            }
            continue;
        }
        if !keys.contains(&k) {
            keys.push(k);
            kept.push(item);
            if keys.len() > 32 {
                seen = Some(std::mem::take(&mut keys).into_iter().collect());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::video;
    use proptest::prelude::*;

    #[test]
    fn hashtags_are_trimmed_lowercased_and_prefixed_once() {
        assert_eq!(clean_hashtag("  #Dance "), Some("#dance".to_owned()));
        assert_eq!(clean_hashtag("dance"), Some("#dance".to_owned()));
        assert_eq!(clean_hashtag("##DIY"), Some("#diy".to_owned()));
        assert_eq!(clean_hashtag("# FoodTok"), Some("#foodtok".to_owned()));
        assert_eq!(clean_hashtag("#Crème"), Some("#crème".to_owned()));
    }

    #[test]
    fn hashtags_are_nfkc_normalised() {
        // Full-width number sign and letters, a ligature, and a decomposed é.
        assert_eq!(clean_hashtag("＃Ｆｕｎ"), Some("#fun".to_owned()));
        assert_eq!(clean_hashtag("#ﬁtness"), Some("#fitness".to_owned()));
        assert_eq!(clean_hashtag("#cafe\u{301}"), Some("#café".to_owned()));
    }

    #[test]
    fn empty_hashtags_are_dropped() {
        for tag in ["", "   ", "#", " ## ", "\u{3000}#"] {
            assert_eq!(clean_hashtag(tag), None, "{tag:?}");
        }
    }

    #[test]
    fn interests_are_cleaned_as_categories_once_each() {
        let mut p = Profile::new("1", "u");
        p.interests = vec![
            " basketball ".into(),
            "sports".into(),
            "Sports".into(),
            "Home   Decor".into(),
            " ".into(),
        ];
        let cleaned = clean_profile(p);
        assert_eq!(cleaned.interests, ["basketball", "Sports", "Home Decor"]);
        assert_eq!(clean_profile(cleaned.clone()), cleaned);
    }

    #[test]
    fn categories_take_the_taxonomy_spelling_and_keep_unknown_ones() {
        assert_eq!(clean_category("  music "), Some("Music".to_owned()));
        assert_eq!(clean_category("diy"), Some("DIY".to_owned()));
        assert_eq!(
            clean_category(" Home \t  Decor "),
            Some("Home Decor".to_owned())
        );
        assert_eq!(clean_category("knitting"), Some("knitting".to_owned()));
        assert_eq!(clean_category(" \n "), None);
    }

    #[test]
    fn tags_are_deduplicated_per_video_in_first_seen_order() {
        let mut p = Profile::new("1", "u");
        p.liked_videos = vec![video(
            "v1",
            &["music", "Dance", "MUSIC", " Knitting", "knitting"],
            &["#Fun", "fun", "#b", " #FUN", "#a", "", "#"],
        )];
        let clean = clean_profile(p);
        let v = &clean.liked_videos[0];
        assert_eq!(v.categories, ["Music", "Dance", "Knitting"]);
        assert_eq!(v.hashtags, ["#fun", "#b", "#a"]);
    }

    #[test]
    fn duplicate_videos_are_merged_into_the_first() {
        let mut p = Profile::new("1", "u");
        let mut first = video("v1", &["Music"], &["#a"]);
        first.likes = Some(10);
        first.comments = None;
        first.shares = Some(7);
        let other = video("v2", &["Food"], &[]);
        let mut again = video("v1", &["dance", "music"], &["#b", "#A"]);
        again.likes = Some(12);
        again.comments = Some(3);
        again.shares = None;
        p.liked_videos = vec![first, other, again];
        // The same video in the other list is another relation and stays.
        p.shared_videos = vec![video("v1", &["Music"], &[])];

        let clean = clean_profile(p);
        let ids: Vec<_> = clean
            .liked_videos
            .iter()
            .map(|v| v.video_id.as_str())
            .collect();
        assert_eq!(ids, ["v1", "v2"]);
        let v1 = &clean.liked_videos[0];
        assert_eq!(v1.categories, ["Music", "Dance"]);
        assert_eq!(v1.hashtags, ["#a", "#b"]);
        assert_eq!(
            (v1.likes, v1.comments, v1.shares),
            (Some(12), Some(3), Some(7))
        );
        assert_eq!(clean.shared_videos.len(), 1);
    }

    #[test]
    fn scalars_are_left_alone() {
        let mut p = Profile::new(" 42", "Someone");
        p.number_of_likes = Some(150);
        p.verified = None;
        let clean = clean_profile(p.clone());
        assert_eq!(clean, p);
    }

    fn arb_tag() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ #＃]{0,3}[A-Za-zÀ-ÿ0-9_ ]{0,8}",
            "\\PC{0,8}",
            Just("ﬁ".to_owned()),
            Just("Music".to_owned()),
            Just(" music ".to_owned()),
        ]
    }

    fn arb_video() -> impl Strategy<Value = Video> {
        (
            "v[0-3]",
            proptest::collection::vec(arb_tag(), 0..4),
            proptest::collection::vec(arb_tag(), 0..4),
            proptest::option::of(0u64..1000),
            proptest::option::of(0u64..1000),
            proptest::option::of(0u64..1000),
        )
            .prop_map(
                |(id, categories, hashtags, likes, comments, shares)| Video {
                    video_id: id,
                    categories,
                    hashtags,
                    likes,
                    comments,
                    shares,
                },
            )
    }

    proptest! {
        #[test]
        fn cleaning_is_idempotent(
            liked in proptest::collection::vec(arb_video(), 0..6),
            shared in proptest::collection::vec(arb_video(), 0..4),
        ) {
            let mut p = Profile::new("1", "u");
            p.liked_videos = liked;
            p.shared_videos = shared;
            let once = clean_profile(p);
            let twice = clean_profile(once.clone());
            prop_assert_eq!(&twice, &once);
            for v in once.liked_videos.iter().chain(&once.shared_videos) {
                for h in &v.hashtags {
                    prop_assert!(h.starts_with('#') && h.len() > 1 && !h[1..].starts_with('#'));
                    prop_assert_eq!(h.trim(), h.as_str());
                }
            }
        }

        #[test]
        fn the_ascii_fast_path_agrees_with_the_unicode_path(tag in "[ -~\t\n\x0B\x0C\r]{0,12}") {
            let reference = {
                let folded = fold_unicode(&tag);
                let body = strip_hashes(&folded);
                (!body.is_empty()).then(|| format!("#{body}"))
            };
            prop_assert_eq!(clean_hashtag(&tag), reference);
        }

        #[test]
        fn dedup_keeps_first_of_each_key_whatever_the_length(
            items in proptest::collection::vec("[a-zA-Z]{1,2}", 0..80)
        ) {
            let mut seen = std::collections::HashSet::new();
            let expected: Vec<String> =
                items.iter().filter(|i| seen.insert(i.to_lowercase())).cloned().collect();
            prop_assert_eq!(dedup_first(items, str::to_lowercase), expected);
        }

        #[test]
        fn single_tags_clean_to_a_fixed_point(tag in "\\PC{0,12}") {
            if let Some(once) = clean_hashtag(&tag) {
                prop_assert_eq!(clean_hashtag(&once), Some(once.clone()));
            }
            if let Some(once) = clean_category(&tag) {
                prop_assert_eq!(clean_category(&once), Some(once.clone()));
            }
        }
    }
}
