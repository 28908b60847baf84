//! The fake source through its public API: determinism, validity, consistency, the
//! invalid-profile knob, cluster structure and user references. Every test runs over the
//! platforms compiled in (see `features.rs` for what happens to the others), so the file
//! is empty when none is.
#![cfg(any(feature = "tiktok", feature = "instagram", feature = "x"))]

use std::collections::{HashMap, HashSet};

use toker_model::taxonomy::CATEGORIES;
use toker_model::{Platform, Profile, ValidationRules, Video, parse_profile};
use toker_sources::fake::{
    FakeConfig, FakeProfile, FakeSource, Invalidity, generate_many, hashtag_category,
};
use toker_sources::{Registry, Source, SourceError, SourceKind, UserRef, enabled_platforms};

fn source(platform: Platform, seed: u64) -> FakeSource {
    FakeSource::new(platform, seed).unwrap()
}

/// `count` people of one platform, from several seeds.
fn people(platform: Platform, count: u64) -> Vec<FakeProfile> {
    (0..count)
        .map(|i| source(platform, i % 5).generate(i))
        .collect()
}

fn videos(p: &Profile) -> impl Iterator<Item = &Video> {
    p.liked_videos.iter().chain(&p.shared_videos)
}

#[test]
fn same_seed_platform_and_index_give_the_same_person() {
    for platform in enabled_platforms() {
        for index in [0, 1, 99, 123_456, u64::MAX] {
            let a = source(platform, 42).generate(index);
            let b = source(platform, 42).generate(index);
            assert_eq!(a, b, "{platform} #{index}");
            assert_eq!(a.raw.raw.to_string(), b.raw.raw.to_string());
        }
    }
    let first: Vec<_> = generate_many(None, 7, 30).collect();
    let again: Vec<_> = generate_many(None, 7, 30).collect();
    assert_eq!(first, again);
}

#[test]
fn other_seeds_indexes_and_platforms_give_other_people() {
    for platform in enabled_platforms() {
        let one = source(platform, 1);
        let two = source(platform, 2);
        for index in 0..50 {
            let a = one.generate(index);
            assert_ne!(
                a.raw.raw,
                two.generate(index).raw.raw,
                "{platform} #{index}"
            );
            assert_ne!(
                a.raw.raw,
                one.generate(index + 1).raw.raw,
                "{platform} #{index}"
            );
        }
    }
    let platforms = enabled_platforms();
    if let [a, b, ..] = platforms.as_slice() {
        let (pa, pb) = (source(*a, 1).generate(0), source(*b, 1).generate(0));
        assert_ne!(pa.raw.profile.liked_videos, pb.raw.profile.liked_videos);
    }
}

#[test]
fn default_profiles_are_valid_over_many_seeds() {
    let rules = ValidationRules::default();
    for platform in enabled_platforms() {
        for seed in 0..500u64 {
            let person = source(platform, seed).generate(seed % 7);
            let raw = &person.raw;
            assert_eq!(raw.platform, platform);
            assert!(raw.warnings.is_empty(), "{:?}", raw.warnings);
            let parsed = parse_profile(&raw.raw, &rules)
                .unwrap_or_else(|e| panic!("{platform} seed {seed}: {e}"));
            // The raw JSON is exactly the typed profile.
            assert_eq!(parsed, raw.profile, "{platform} seed {seed}");
        }
    }
}

#[test]
fn counts_are_consistent_and_lists_within_bounds() {
    for platform in enabled_platforms() {
        let mut liked_lengths = HashSet::new();
        for person in people(platform, 400) {
            let p = &person.raw.profile;
            let who = format!("{platform}:{}", p.user_id);
            assert!((5..=50).contains(&p.liked_videos.len()), "{who}");
            assert!(p.shared_videos.len() <= 20, "{who}");
            liked_lengths.insert(p.liked_videos.len());

            let likes_given = p.number_of_likes.unwrap();
            assert!(
                likes_given >= 100 && likes_given >= p.liked_videos.len() as u64,
                "{who}"
            );
            assert!(
                p.number_of_shares.unwrap() >= p.shared_videos.len() as u64,
                "{who}"
            );
            assert!(
                p.likes_count.unwrap() >= p.number_of_likes_on_own_videos.unwrap(),
                "{who}"
            );
            if p.videos_count == Some(0) {
                assert_eq!(p.likes_count, Some(0), "{who}");
            }
            assert!(
                p.verified.is_some() && p.user_pseudo.as_deref().is_some_and(|n| !n.is_empty())
            );

            for list in [&p.liked_videos, &p.shared_videos] {
                let ids: HashSet<&str> = list.iter().map(|v| v.video_id.as_str()).collect();
                assert_eq!(ids.len(), list.len(), "{who}: duplicate video id");
            }
            for v in videos(p) {
                assert!(matches!(v.categories.len(), 1 | 2), "{who}");
                assert!(
                    v.categories
                        .iter()
                        .all(|c| CATEGORIES.contains(&c.as_str()))
                );
                assert!(v.hashtags.iter().all(|t| t.starts_with('#') && t.len() > 1));
                let likes = v.likes.unwrap();
                assert!(
                    v.comments.unwrap() <= likes && v.shares.unwrap() <= likes,
                    "{who}"
                );
            }
        }
        // Lengths spread over the whole range, not a constant.
        assert!(liked_lengths.len() > 20, "{platform}: {liked_lengths:?}");
    }
}

#[test]
fn counts_are_heavy_tailed() {
    for platform in enabled_platforms() {
        let mut followers: Vec<u64> = people(platform, 600)
            .iter()
            .map(|p| p.raw.profile.followers_count.unwrap())
            .collect();
        followers.sort_unstable();
        let (median, p99) = (followers[300].max(1), followers[594]);
        assert!(
            p99 > 50 * median,
            "{platform}: p99 {p99} vs median {median}"
        );
    }
}

#[test]
fn ids_and_handles_have_the_platform_shape() {
    for platform in enabled_platforms() {
        for person in people(platform, 300) {
            let p = &person.raw.profile;
            let handle_ok = |max: usize, seps: &str| {
                p.username.len() <= max
                    && p.username
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || seps.contains(c))
            };
            let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            match platform {
                Platform::TikTok => {
                    assert_eq!(p.user_id, p.username);
                    assert!(handle_ok(24, "._"), "{}", p.username);
                    for v in videos(p) {
                        assert!(
                            v.video_id.len() == 19 && all_digits(&v.video_id),
                            "{}",
                            v.video_id
                        );
                    }
                }
                Platform::Instagram => {
                    assert_eq!(p.user_id, p.username);
                    assert!(handle_ok(30, "._"), "{}", p.username);
                    for v in videos(p) {
                        assert_eq!(v.video_id.len(), 11, "{}", v.video_id);
                    }
                }
                Platform::X => {
                    assert!(
                        matches!(p.user_id.len(), 18 | 19) && all_digits(&p.user_id),
                        "{}",
                        p.user_id
                    );
                    assert!(handle_ok(15, "_"), "{}", p.username);
                    for v in videos(p) {
                        assert!(
                            v.video_id.len() == 19 && all_digits(&v.video_id),
                            "{}",
                            v.video_id
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn user_ids_are_unique_within_a_stream() {
    let mut seen = HashSet::new();
    for person in generate_many(None, 3, 3_000) {
        let key = (person.raw.platform, person.raw.profile.user_id.clone());
        assert!(seen.insert(key.clone()), "{key:?} generated twice");
    }
}

#[test]
fn popular_videos_are_identical_wherever_they_appear() {
    for platform in enabled_platforms() {
        let source = source(platform, 11);
        let mut by_id: HashMap<String, Video> = HashMap::new();
        let mut repeats = 0;
        for i in 0..500 {
            for v in videos(&source.generate(i).raw.profile) {
                if let Some(seen) = by_id.get(&v.video_id) {
                    assert_eq!(
                        seen, v,
                        "{platform}: video {} differs between people",
                        v.video_id
                    );
                    repeats += 1;
                } else {
                    by_id.insert(v.video_id.clone(), v.clone());
                }
            }
        }
        assert!(repeats > 100, "{platform}: only {repeats} repeated videos");
    }
}

#[test]
fn generate_many_rotates_over_the_platforms_compiled_in() {
    let platforms = enabled_platforms();
    let many = generate_many(None, 5, 10);
    assert_eq!(many.len(), 10);
    for (i, person) in many.enumerate() {
        let platform = platforms[i % platforms.len()];
        assert_eq!(person.raw.platform, platform);
        assert_eq!(person, source(platform, 5).generate(i as u64));
    }
    for platform in platforms {
        assert!(generate_many(Some(platform), 5, 7).all(|p| p.raw.platform == platform));
    }
}

#[test]
fn min_likes_knob_raises_the_floor() {
    let rules = ValidationRules::with_min_likes(50_000);
    for platform in enabled_platforms() {
        let config = FakeConfig::default().with_min_likes(50_000);
        let source = FakeSource::with_config(platform, 1, config).unwrap();
        for i in 0..50 {
            let person = source.generate(i);
            assert!(person.raw.profile.number_of_likes.unwrap() >= 50_000);
            assert!(parse_profile(&person.raw.raw, &rules).is_ok());
        }
    }
}

#[test]
fn each_invalidity_is_rejected_at_its_path_and_only_there() {
    let rules = ValidationRules::default();
    for platform in enabled_platforms() {
        for kind in Invalidity::ALL {
            let source = FakeSource::with_config(platform, 8, FakeConfig::invalid(kind)).unwrap();
            for i in 0..10 {
                let person = source.generate(i);
                let err = parse_profile(&person.raw.raw, &rules).unwrap_err();
                let paths: Vec<&str> = err.paths().collect();
                assert_eq!(paths, [kind.path()], "{platform} {kind} #{i}: {err}");
                assert!(
                    person
                        .raw
                        .warnings
                        .messages()
                        .any(|w| w.contains(kind.as_str())),
                    "{:?}",
                    person.raw.warnings
                );
                // Kinds that a typed profile cannot hold live only in the raw JSON.
                let raw_only = matches!(
                    kind,
                    Invalidity::NegativeCount
                        | Invalidity::FractionalCount
                        | Invalidity::StringCount
                        | Invalidity::NonBooleanVerified
                );
                assert_eq!(
                    person.raw.profile.validate(&rules).is_ok(),
                    raw_only,
                    "{kind}"
                );
            }
        }
    }
}

#[test]
fn too_few_likes_with_a_zero_minimum_leaves_likes_unknown() {
    for platform in enabled_platforms() {
        let config = FakeConfig::invalid(Invalidity::TooFewLikes).with_min_likes(0);
        let person = FakeSource::with_config(platform, 1, config)
            .unwrap()
            .generate(0);
        assert_eq!(person.raw.profile.number_of_likes, None);
        let err = parse_profile(&person.raw.raw, &ValidationRules::with_min_likes(0)).unwrap_err();
        assert_eq!(err.paths().collect::<Vec<_>>(), ["number_of_likes"]);
    }
}

#[test]
fn invalidity_names_round_trip() {
    for kind in Invalidity::ALL {
        assert_eq!(kind.to_string().parse::<Invalidity>(), Ok(kind));
    }
    assert_eq!(
        "Negative_Count".parse::<Invalidity>(),
        Ok(Invalidity::NegativeCount)
    );
    let err = "sideways".parse::<Invalidity>().unwrap_err().to_string();
    assert!(
        err.contains("sideways") && err.contains("duplicate-video-id"),
        "{err}"
    );
}

/// Each person's categories, counted over all their videos.
fn category_counts(p: &Profile) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for c in videos(p).flat_map(|v| &v.categories) {
        *counts.entry(c.as_str()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn dominant_interests_dominate_categories_and_hashtags() {
    for platform in enabled_platforms() {
        let (mut dominant_categories, mut all_categories) = (0, 0);
        let (mut dominant_tags, mut topical_tags) = (0, 0);
        for person in people(platform, 400) {
            let p = &person.raw.profile;
            assert!((1..=3).contains(&person.dominant.len()));
            let counts = category_counts(p);
            let total: usize = counts.values().sum();
            let dominant: usize = person.dominant.iter().filter_map(|d| counts.get(d)).sum();
            // Every video's first category is dominant for ≥ 90% of videos and a second
            // category is rare, so dominant ones are at least half of anyone's categories.
            assert!(
                2 * dominant >= total,
                "{platform} {}: {counts:?} vs {:?}",
                p.user_id,
                person.dominant
            );
            let top = counts.iter().max_by_key(|(c, n)| (**n, *c)).unwrap().0;
            assert!(
                person.dominant.contains(top),
                "{platform}: top {top} not in {:?}",
                person.dominant
            );
            dominant_categories += dominant;
            all_categories += total;

            for tag in videos(p).flat_map(|v| &v.hashtags) {
                if let Some(category) = hashtag_category(tag) {
                    topical_tags += 1;
                    dominant_tags += usize::from(person.dominant.contains(&category));
                }
            }
        }
        let category_share = dominant_categories as f64 / all_categories as f64;
        let tag_share = dominant_tags as f64 / topical_tags as f64;
        assert!(
            category_share >= 0.75,
            "{platform}: categories {category_share:.2}"
        );
        assert!(tag_share >= 0.75, "{platform}: hashtags {tag_share:.2}");
    }
}

/// A person's distinct hashtags.
fn tag_set(p: &Profile) -> HashSet<&str> {
    videos(p)
        .flat_map(|v| &v.hashtags)
        .map(String::as_str)
        .collect()
}

/// Jaccard similarity of two hashtag sets.
fn similarity(a: &HashSet<&str>, b: &HashSet<&str>) -> f64 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

#[test]
fn people_with_the_same_main_interest_look_alike() {
    for platform in enabled_platforms() {
        let crowd = people(platform, 200);
        let tags: Vec<HashSet<&str>> = crowd.iter().map(|p| tag_set(&p.raw.profile)).collect();
        let (mut same, mut same_n, mut other, mut other_n) = (0.0, 0, 0.0, 0);
        for i in 0..crowd.len() {
            for j in i + 1..crowd.len() {
                let s = similarity(&tags[i], &tags[j]);
                if crowd[i].dominant[0] == crowd[j].dominant[0] {
                    same += s;
                    same_n += 1;
                } else {
                    other += s;
                    other_n += 1;
                }
            }
        }
        let (same, other) = (same / f64::from(same_n), other / f64::from(other_n));
        assert!(
            same > 3.0 * other,
            "{platform}: same interest {same:.3}, other {other:.3}"
        );
    }
}

#[tokio::test]
async fn fetch_makes_the_reference_the_user_id() {
    let rules = ValidationRules::default();
    for platform in enabled_platforms() {
        let source = source(platform, 4);
        assert_eq!(source.kind(), SourceKind::Fake);
        assert_eq!(source.platform(), platform);

        let by_handle = source.fetch(&UserRef::new(" @dana.codes ")).await.unwrap();
        let again = source.fetch(&UserRef::new("dana.codes")).await.unwrap();
        assert_eq!(
            by_handle, again,
            "a leading @ and spaces do not change the person"
        );
        assert_eq!(by_handle.profile.username, "dana.codes");
        assert_eq!(
            parse_profile(&by_handle.raw, &rules).unwrap(),
            by_handle.profile
        );

        let by_number = source.fetch(&UserRef::new("1234567890")).await.unwrap();
        assert_eq!(by_number.profile.user_id, "1234567890");
        match platform {
            Platform::X => {
                // A number is X's account id, a handle gets a made-up numeric id.
                assert_ne!(by_number.profile.username, "1234567890");
                assert!(
                    by_handle
                        .profile
                        .user_id
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                );
            }
            Platform::TikTok | Platform::Instagram => {
                assert_eq!(by_handle.profile.user_id, "dana.codes");
                assert_eq!(by_number.profile.username, "1234567890");
            }
        }
        let other = source.fetch(&UserRef::new("someone_else")).await.unwrap();
        assert_ne!(other.profile.liked_videos, by_handle.profile.liked_videos);
        let other_seed = self::source(platform, 5)
            .fetch(&UserRef::new("dana.codes"))
            .await
            .unwrap();
        assert_ne!(
            other_seed.profile.liked_videos,
            by_handle.profile.liked_videos
        );
    }
}

#[tokio::test]
async fn fetch_rejects_unusable_references() {
    for platform in enabled_platforms() {
        let source = source(platform, 4);
        for bad in ["", "   ", "@", "two words", "tab\there", &"x".repeat(257)] {
            let err = source.fetch(&UserRef::new(bad)).await.unwrap_err();
            assert!(
                matches!(&err, SourceError::InvalidUserRef { platform: p, user, .. } if *p == platform && user == bad),
                "{bad:?}: {err:?}"
            );
            assert!(err.to_string().contains(platform.as_str()), "{err}");
        }
        assert!(source.fetch(&UserRef::new("x".repeat(256))).await.is_ok());
    }
}

#[tokio::test]
async fn fake_registry_serves_every_platform_compiled_in() {
    let registry = Registry::fake(3);
    assert_eq!(registry.platforms(), enabled_platforms());
    for platform in enabled_platforms() {
        let source = registry.get(platform).unwrap();
        assert_eq!(source.kind(), SourceKind::Fake);
        let fetched = source.fetch(&UserRef::new("sam")).await.unwrap();
        let direct = self::source(platform, 3)
            .generate_for(&UserRef::new("sam"))
            .unwrap();
        assert_eq!(fetched, direct.raw);
    }
}
