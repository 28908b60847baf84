//! Per-profile summaries: the person's top categories and hashtags.
//!
//! Each video counts once per tag it carries, weighted by how the person relates to it:
//! sharing a video says more about an interest than liking it, so a shared video counts
//! [`SHARED_WEIGHT`] and a liked one [`LIKED_WEIGHT`] (a video both liked and shared counts
//! both). A profile's own `interests` count as categories, [`INTEREST_WEIGHT`] each. The
//! same weights drive the vectors ([`crate::Vocabulary::transform`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use toker_model::{Profile, VideoRelation};

/// What a liked video counts toward its tags.
pub const LIKED_WEIGHT: u32 = 1;
/// What a shared video counts toward its tags: twice a like.
pub const SHARED_WEIGHT: u32 = 2;
/// What each of a profile's `interests` counts toward that category: as much as one liked
/// video carrying it.
pub const INTEREST_WEIGHT: u32 = LIKED_WEIGHT;
/// How many categories and hashtags a summary ranks.
pub const TOP_N: usize = 5;

/// The weight of a relation: [`LIKED_WEIGHT`] or [`SHARED_WEIGHT`].
#[must_use]
pub const fn relation_weight(relation: VideoRelation) -> u32 {
    match relation {
        VideoRelation::Liked => LIKED_WEIGHT,
        VideoRelation::Shared => SHARED_WEIGHT,
    }
}

/// What a profile is about, in a few numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Up to [`TOP_N`] categories with their weighted counts, highest first, ties by name.
    pub top_categories: Vec<(String, u32)>,
    /// Up to [`TOP_N`] hashtags (with their `#`) and weighted counts, highest first, ties by
    /// name.
    pub top_hashtags: Vec<(String, u32)>,
    /// How many liked videos the profile lists.
    pub liked_count: usize,
    /// How many shared videos the profile lists.
    pub shared_count: usize,
    /// How many distinct categories its videos and interests carry.
    pub distinct_categories: usize,
    /// How many distinct hashtags its videos carry.
    pub distinct_hashtags: usize,
}

/// Summarises a profile. Expects a cleaned profile ([`crate::clean_profile`]): tags are
/// counted by their exact spelling.
#[must_use]
pub fn summarize(profile: &Profile) -> Summary {
    let mut categories: HashMap<&str, u32> = HashMap::new();
    let mut hashtags: HashMap<&str, u32> = HashMap::new();
    for (relation, video) in profile.all_videos() {
        let weight = relation_weight(relation);
        for category in &video.categories {
            *categories.entry(category).or_default() += weight;
        }
        for hashtag in &video.hashtags {
            *hashtags.entry(hashtag).or_default() += weight;
        }
    }
    for interest in &profile.interests {
        *categories.entry(interest).or_default() += INTEREST_WEIGHT;
    }
    Summary {
        liked_count: profile.liked_videos.len(),
        shared_count: profile.shared_videos.len(),
        distinct_categories: categories.len(),
        distinct_hashtags: hashtags.len(),
        top_categories: top(categories),
        top_hashtags: top(hashtags),
    }
}

/// The [`TOP_N`] heaviest entries; the sort makes the result independent of map order.
fn top(counts: HashMap<&str, u32>) -> Vec<(String, u32)> {
    let mut ranked: Vec<(&str, u32)> = counts.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(TOP_N)
        .map(|(name, count)| (name.to_owned(), count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::video;

    fn pairs(items: &[(&str, u32)]) -> Vec<(String, u32)> {
        items.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
    }

    #[test]
    fn shared_videos_weigh_twice_a_like_and_ties_go_by_name() {
        let mut p = Profile::new("1", "u");
        p.liked_videos = vec![
            video("1", &["Music", "Dance"], &["#a", "#b"]),
            video("2", &["Music"], &["#a", "#c"]),
            video("3", &["Food"], &["#d", "#e", "#f", "#g"]),
        ];
        p.shared_videos = vec![
            video("4", &["Food", "Travel"], &["#d"]),
            // Liked and shared: counts 1 + 2.
            video("1", &["Music", "Dance"], &["#b"]),
        ];
        let s = summarize(&p);
        // Music: liked 1 + liked 2 + shared 1 = 1 + 1 + 2 = 4
        // Food:  liked 3 + shared 4 = 1 + 2 = 3
        // Dance: liked 1 + shared 1 = 1 + 2 = 3 (tie with Food, "Dance" < "Food")
        // Travel: shared 4 = 2
        assert_eq!(
            s.top_categories,
            pairs(&[("Music", 4), ("Dance", 3), ("Food", 3), ("Travel", 2)])
        );
        // #b: 1 + 2 = 3; #d: 1 + 2 = 3; #a: 1 + 1 = 2; #c, #e, #f, #g: 1 each → #c, #e win
        // the last place by name.
        assert_eq!(
            s.top_hashtags,
            pairs(&[("#b", 3), ("#d", 3), ("#a", 2), ("#c", 1), ("#e", 1)])
        );
        assert_eq!((s.liked_count, s.shared_count), (3, 2));
        assert_eq!((s.distinct_categories, s.distinct_hashtags), (4, 7));
    }

    #[test]
    fn an_empty_profile_has_an_empty_summary() {
        let s = summarize(&Profile::new("1", "u"));
        assert!(s.top_categories.is_empty() && s.top_hashtags.is_empty());
        assert_eq!((s.liked_count, s.shared_count), (0, 0));
    }

    #[test]
    fn interests_count_as_categories_of_weight_one() {
        let mut p = Profile::new("1", "u");
        p.interests = vec!["Sports".into(), "Music".into()];
        p.liked_videos = vec![crate::test_support::video("1", &["Music"], &[])];
        let s = summarize(&p);
        assert_eq!(
            s.top_categories,
            [("Music".to_owned(), 2), ("Sports".to_owned(), 1)]
        );
        assert_eq!(s.distinct_categories, 2);
    }

    #[test]
    fn summary_serialises_as_json() {
        let mut p = Profile::new("1", "u");
        p.shared_videos = vec![video("1", &["Music"], &["#a"])];
        let json = serde_json::to_value(summarize(&p)).unwrap();
        assert_eq!(json["top_categories"], serde_json::json!([["Music", 2]]));
        assert_eq!(json["top_hashtags"], serde_json::json!([["#a", 2]]));
        assert_eq!(json["shared_count"], 1);
    }
}
