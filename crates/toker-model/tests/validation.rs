//! Validation through the public API: the profile format's example, every rule, and
//! property tests.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use proptest::prelude::*;
use serde_json::{Value, json};
use toker_model::{
    Platform, PlatformProfile, Profile, ValidationRules, Video, parse_profile, parse_profile_str,
};

/// The example profile of the profile format (`toker_model::profile`'s docs), verbatim.
const SEED_EXAMPLE: &str = r##"{ "user_id": "123456", "username": "example_user", "user_pseudo": "example_pseudo",
  "verified": false, "followers_count": 1500, "following_count": 300,
  "likes_count": 5000, "videos_count": 100, "number_of_comments": 200,
  "number_of_likes_on_own_videos": 4500, "number_of_likes": 6000,
  "number_of_shares": 800,
  "liked_videos":  [{ "video_id": "967235098701", "categories": ["Technology","Education"],
                      "hashtags": ["#fun"], "likes": 300, "comments": 20, "shares": 15 }],
  "shared_videos": [{ "video_id": "967235098703", "categories": ["Music","Dance"],
                      "likes": 400, "comments": 25, "shares": 20 }] }"##;

fn rules() -> ValidationRules {
    ValidationRules::default()
}

fn seed() -> Value {
    serde_json::from_str(SEED_EXAMPLE).unwrap()
}

/// The paths of the violations found in `value`, or none if it is valid.
fn violation_paths(value: &Value) -> Vec<String> {
    match parse_profile(value, &rules()) {
        Ok(_) => Vec::new(),
        Err(e) => e.violations.into_iter().map(|v| v.path).collect(),
    }
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    *value.pointer_mut(pointer).unwrap() = new;
    value
}

#[test]
fn seed_example_parses_and_validates() {
    let (profile, raw) = parse_profile_str(SEED_EXAMPLE, &rules()).unwrap();
    assert_eq!(profile.user_id, "123456");
    assert_eq!(profile.number_of_likes, Some(6000));
    assert_eq!(profile.verified, Some(false));
    assert_eq!(profile.liked_videos[0].hashtags, ["#fun"]);
    // An absent hashtags key is an empty list.
    assert!(profile.shared_videos[0].hashtags.is_empty());
    assert_eq!(raw, seed());
    profile.validate(&rules()).unwrap();
}

#[test]
fn serialisation_uses_the_seed_field_names_in_order() {
    let (profile, _) = parse_profile_str(SEED_EXAMPLE, &rules()).unwrap();
    let text = serde_json::to_string(&profile).unwrap();
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "user_id",
            "username",
            "user_pseudo",
            "verified",
            "followers_count",
            "following_count",
            "likes_count",
            "videos_count",
            "number_of_comments",
            "number_of_likes_on_own_videos",
            "number_of_likes",
            "number_of_shares",
            "liked_videos",
            "shared_videos"
        ]
    );
    let back: Profile = serde_json::from_str(&text).unwrap();
    assert_eq!(back, profile);
}

#[test]
fn unknown_counts_are_null_not_zero() {
    let mut p = Profile::new("1", "someone");
    p.number_of_likes = Some(150);
    p.liked_videos.push(Video::new("v1"));
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["followers_count"], Value::Null);
    assert_eq!(v["verified"], Value::Null);
    assert_eq!(v["liked_videos"][0]["likes"], Value::Null);
    assert_eq!(v["liked_videos"][0]["hashtags"], json!([]));
}

#[test]
fn rejects_number_of_likes_below_the_minimum() {
    let v = with(seed(), "/number_of_likes", json!(99));
    let err = parse_profile(&v, &rules()).unwrap_err();
    let violation = err.at("number_of_likes").unwrap();
    assert!(violation.message.contains("at least 100"), "{violation}");
    assert!(violation.message.contains("99"), "{violation}");
    // The minimum is configurable.
    parse_profile(&v, &ValidationRules::with_min_likes(50)).unwrap();
    // Exactly the minimum passes.
    parse_profile(&with(seed(), "/number_of_likes", json!(100)), &rules()).unwrap();
}

#[test]
fn rejects_missing_number_of_likes_and_points_to_exports() {
    let mut v = seed();
    v.as_object_mut().unwrap().remove("number_of_likes");
    let err = parse_profile(&v, &rules()).unwrap_err();
    let msg = &err.at("number_of_likes").unwrap().message;
    assert!(
        msg.contains("is missing: the number of likes the person gave"),
        "{msg}"
    );
    assert!(msg.contains("export"), "{msg}");
}

#[test]
fn reads_whole_floats_as_the_integers_they_are() {
    // JSON Schema (and the OpenAPI document) treat `2.0` as the integer 2.
    let v = with(seed(), "/followers_count", json!(438_725.0));
    let v = with(v, "/liked_videos/0/likes", json!(0.0));
    let v = with(v, "/number_of_likes", json!(1e3));
    let p = parse_profile(&v, &rules()).unwrap();
    assert_eq!(p.followers_count, Some(438_725));
    assert_eq!(p.liked_videos[0].likes, Some(0));
    assert_eq!(p.number_of_likes, Some(1000));
    // Past 2^53 a float no longer spells one integer: write it as an integer.
    let v = with(seed(), "/likes_count", json!(1e17));
    let err = parse_profile(&v, &rules()).unwrap_err();
    assert!(
        err.at("likes_count")
            .unwrap()
            .message
            .contains("as an integer"),
        "{err}"
    );
}

#[test]
fn rejects_negative_fractional_string_and_overflowing_counts() {
    let cases = [
        (
            "/followers_count",
            json!(-1),
            "non-negative integer, got -1",
        ),
        ("/likes_count", json!(1.5), "non-negative integer, got 1.5"),
        ("/videos_count", json!("12"), "got string \"12\""),
        (
            "/number_of_shares",
            json!(18_446_744_073_709_551_615_u64),
            "at most 9223372036854775807",
        ),
        (
            "/number_of_comments",
            json!(1e30),
            "at most 9223372036854775807",
        ),
        (
            "/liked_videos/0/likes",
            json!(-5),
            "non-negative integer, got -5",
        ),
        (
            "/shared_videos/0/shares",
            json!(true),
            "non-negative integer, got true",
        ),
    ];
    for (pointer, bad, expected) in cases {
        let v = with(seed(), pointer, bad.clone());
        let err = parse_profile(&v, &rules()).unwrap_err();
        let path = pointer[1..].replace("/0/", "[0].");
        let violation = err
            .at(&path)
            .unwrap_or_else(|| panic!("no violation at {path} for {bad}: {err}"));
        assert!(violation.message.contains(expected), "{violation}");
        assert_eq!(err.violations.len(), 1, "{err}");
    }
}

#[test]
fn the_design_example_message_reads_as_documented() {
    let mut v = seed();
    let videos = v["liked_videos"].as_array_mut().unwrap();
    for i in 1..=3 {
        videos.push(json!({ "video_id": format!("v{i}"), "likes": if i == 3 { -5 } else { 1 } }));
    }
    let err = parse_profile(&v, &rules()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "liked_videos[3].likes: must be a non-negative integer, got -5"
    );
}

#[test]
fn rejects_duplicate_and_empty_video_ids_within_a_list() {
    let mut v = seed();
    let dup = v["liked_videos"][0].clone();
    v["liked_videos"].as_array_mut().unwrap().push(dup);
    v["shared_videos"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "video_id": "" }));
    let err = parse_profile(&v, &rules()).unwrap_err();
    let paths: Vec<&str> = err.paths().collect();
    assert_eq!(
        paths,
        ["liked_videos[1].video_id", "shared_videos[1].video_id"]
    );
    assert!(err.violations[0].message.contains("duplicate"), "{err}");
}

#[test]
fn one_video_may_be_both_liked_and_shared() {
    let v = with(seed(), "/shared_videos/0/video_id", json!("967235098701"));
    parse_profile(&v, &rules()).unwrap();
}

#[test]
fn rejects_empty_untrimmed_and_overlong_ids() {
    assert_eq!(
        violation_paths(&with(seed(), "/user_id", json!(""))),
        ["user_id"]
    );
    assert_eq!(
        violation_paths(&with(seed(), "/username", json!("  "))),
        ["username"]
    );
    assert_eq!(
        violation_paths(&with(seed(), "/username", json!(" padded "))),
        ["username"]
    );
    assert_eq!(
        violation_paths(&with(seed(), "/user_id", json!("9".repeat(257)))),
        ["user_id"]
    );
    let mut v = seed();
    v.as_object_mut().unwrap().remove("username");
    assert_eq!(violation_paths(&v), ["username"]);
    assert_eq!(
        violation_paths(&with(seed(), "/user_id", json!(123456))),
        ["user_id"]
    );
}

#[test]
fn reports_every_violation_together_in_document_order() {
    let mut v = seed();
    v["user_id"] = json!("");
    v["number_of_likes"] = json!(3);
    v["followers_count"] = json!(-2);
    v["liked_videos"][0]["comments"] = json!("many");
    v["shared_videos"] = json!("nope");
    let paths = violation_paths(&v);
    assert_eq!(
        paths,
        [
            "user_id",
            "followers_count",
            "number_of_likes",
            "liked_videos[0].comments",
            "shared_videos"
        ]
    );
}

#[test]
fn wrong_shapes_are_reported_not_panicked_on() {
    for doc in [
        "[]",
        "null",
        "42",
        "\"profile\"",
        r#"{"liked_videos": [1, null, "x", []]}"#,
        r#"{"liked_videos": [{"video_id": 7, "categories": "Music", "hashtags": [1]}]}"#,
    ] {
        let value: Value = serde_json::from_str(doc).unwrap();
        assert!(parse_profile(&value, &rules()).is_err(), "{doc}");
    }
    let err = parse_profile(&json!([]), &rules()).unwrap_err();
    assert_eq!(err.to_string(), "$: must be a JSON object, got an array");
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    let err = parse_profile_str(&SEED_EXAMPLE[..40], &rules()).unwrap_err();
    assert!(err.to_string().starts_with("malformed JSON"), "{err}");
}

#[test]
fn unknown_keys_are_kept_in_raw_and_ignored_in_the_profile() {
    let v = with(seed(), "/user_id", json!("123456"));
    let mut v = v;
    v["favourite_colour"] = json!("teal");
    let text = v.to_string();
    let (profile, raw) = parse_profile_str(&text, &rules()).unwrap();
    assert_eq!(raw["favourite_colour"], "teal");
    assert_eq!(profile.user_id, "123456");
}

#[test]
fn platform_profile_flattens_the_platform_beside_the_fields() {
    let (profile, _) = parse_profile_str(SEED_EXAMPLE, &rules()).unwrap();
    let pp = PlatformProfile {
        platform: Platform::TikTok,
        profile,
    };
    let v = serde_json::to_value(&pp).unwrap();
    assert_eq!(v["platform"], "tiktok");
    assert_eq!(v["username"], "example_user");
    assert_eq!(pp.key(), "tiktok:123456");
    let back: PlatformProfile = serde_json::from_value(v).unwrap();
    assert_eq!(back, pp);
}

// ---------------------------------------------------------------- property tests

fn count() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![Just(None), (0..=1_000_000_000u64).prop_map(Some)]
}

fn id() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._]{0,20}[a-z0-9]"
}

fn videos() -> impl Strategy<Value = Vec<Video>> {
    prop::collection::btree_set(id(), 0..6).prop_flat_map(|ids| {
        let n = ids.len();
        (
            Just(ids),
            prop::collection::vec(
                (
                    prop::collection::vec("[A-Z][a-z]{2,8}", 0..3),
                    prop::collection::vec("#[a-z]{1,8}", 0..3),
                    count(),
                    count(),
                    count(),
                ),
                n,
            ),
        )
            .prop_map(|(ids, parts)| {
                ids.into_iter()
                    .zip(parts)
                    .map(
                        |(video_id, (categories, hashtags, likes, comments, shares))| Video {
                            video_id,
                            categories,
                            hashtags,
                            likes,
                            comments,
                            shares,
                        },
                    )
                    .collect()
            })
    })
}

prop_compose! {
    fn valid_profile()(
        user_id in id(), username in id(), user_pseudo in prop::option::of("[A-Za-z ]{1,20}"),
        verified in prop::option::of(any::<bool>()),
        counts in prop::collection::vec(count(), 7),
        number_of_likes in 100..=10_000_000u64,
        liked_videos in videos(), shared_videos in videos(),
        interests in prop::collection::vec("[A-Za-z ]{1,12}", 0..4),
    ) -> Profile {
        Profile {
            user_id, username, user_pseudo, verified,
            followers_count: counts[0], following_count: counts[1], likes_count: counts[2],
            videos_count: counts[3], number_of_comments: counts[4],
            number_of_likes_on_own_videos: counts[5], number_of_likes: Some(number_of_likes),
            number_of_shares: counts[6], liked_videos, shared_videos, interests,
        }
    }
}

/// Every count path present in a profile's JSON, as (JSON pointer, field path).
fn count_paths(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in [
        "followers_count",
        "following_count",
        "likes_count",
        "videos_count",
        "number_of_comments",
        "number_of_likes_on_own_videos",
        "number_of_likes",
        "number_of_shares",
    ] {
        out.push((format!("/{key}"), key.to_owned()));
    }
    for list in ["liked_videos", "shared_videos"] {
        let n = value[list].as_array().map_or(0, Vec::len);
        for i in 0..n {
            for key in ["likes", "comments", "shares"] {
                out.push((format!("/{list}/{i}/{key}"), format!("{list}[{i}].{key}")));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn valid_profiles_round_trip_and_pass(p in valid_profile()) {
        let text = serde_json::to_string(&p).unwrap();
        let (parsed, _) = parse_profile_str(&text, &rules()).unwrap();
        prop_assert_eq!(&parsed, &p);
        prop_assert!(p.validate(&rules()).is_ok());
        let typed: Profile = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(typed, p);
    }

    #[test]
    fn any_single_count_corruption_is_reported_at_its_path(
        p in valid_profile(),
        pick in any::<prop::sample::Index>(),
        bad in prop_oneof![
            (-1_000_000i64..0).prop_map(|n| json!(n)),
            (0.1f64..1e6).prop_filter("fractional", |f| f.fract() != 0.0).prop_map(|f| json!(f)),
            "[0-9a-z]{0,6}".prop_map(|s| json!(s)),
            Just(json!(u64::MAX)),
            Just(json!([])),
        ],
    ) {
        let mut value = serde_json::to_value(&p).unwrap();
        let paths = count_paths(&value);
        let (pointer, path) = &paths[pick.index(paths.len())];
        *value.pointer_mut(pointer).unwrap() = bad;
        let err = parse_profile(&value, &rules()).unwrap_err();
        let got: Vec<&str> = err.paths().collect();
        prop_assert_eq!(got, vec![path.as_str()]);
    }

    #[test]
    fn a_duplicated_video_is_reported_at_the_second_occurrence(
        p in valid_profile().prop_filter("has liked videos", |p| !p.liked_videos.is_empty()),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut p = p;
        let i = pick.index(p.liked_videos.len());
        let copy = p.liked_videos[i].clone();
        p.liked_videos.push(copy);
        let n = p.liked_videos.len() - 1;
        let err = p.validate(&rules()).unwrap_err();
        let got: Vec<&str> = err.paths().collect();
        let expected = format!("liked_videos[{n}].video_id");
        prop_assert_eq!(got, vec![expected.as_str()]);
    }

    #[test]
    fn arbitrary_json_never_panics(doc in "\\PC{0,200}") {
        if let Ok(v) = serde_json::from_str::<Value>(&doc) {
            let _ = parse_profile(&v, &rules());
        }
        let _ = parse_profile_str(&doc, &rules());
    }
}

#[test]
fn control_characters_are_refused_in_every_stored_string_with_their_path() {
    let mut doc = seed();
    doc["user_id"] = json!("12\u{0}34");
    doc["username"] = json!("name\u{7f}");
    doc["user_pseudo"] = json!("pseudo\u{9b}");
    doc["liked_videos"][0]["video_id"] = json!("v\u{1}");
    doc["liked_videos"][0]["hashtags"] = json!(["#fine", "#tab\there"]);
    doc["shared_videos"][0]["categories"] = json!(["Music", "line\nfeed"]);
    let err = parse_profile(&doc, &rules()).unwrap_err();
    let paths: Vec<&str> = err.paths().collect();
    assert_eq!(
        paths,
        [
            "user_id",
            "username",
            "user_pseudo",
            "liked_videos[0].video_id",
            "liked_videos[0].hashtags[1]",
            "shared_videos[0].categories[1]",
        ],
        "{err}"
    );
    assert!(
        err.at("user_id").unwrap().message.contains("U+0000"),
        "{err}"
    );
    // The same rules hold for typed profiles (what importers and collectors produce).
    let mut typed = Profile::new("1", "a\u{0}b");
    typed.number_of_likes = Some(500);
    let err = typed.validate(&rules()).unwrap_err();
    assert_eq!(err.paths().collect::<Vec<_>>(), ["username"]);
    // Other non-ASCII text stays welcome.
    let mut fine = seed();
    fine["username"] = json!("Zoë_✨_名前");
    // A display name is free text: tab and line breaks are allowed there, not NUL.
    fine["user_pseudo"] = json!("Emma\tJones\r\n");
    fine["liked_videos"][0]["hashtags"] = json!(["#café", "#ﬁtness"]);
    assert!(parse_profile(&fine, &rules()).is_ok());
}

#[test]
fn list_items_of_the_wrong_type_keep_the_indexes_of_later_items() {
    let mut doc = seed();
    doc["liked_videos"][0]["hashtags"] = json!([7, "#b\u{0}"]);
    assert_eq!(
        violation_paths(&doc),
        ["liked_videos[0].hashtags[0]", "liked_videos[0].hashtags[1]"]
    );
}

#[test]
fn at_most_max_reported_violations_are_listed_and_the_rest_counted() {
    let mut doc = seed();
    let videos: Vec<Value> = (0..5_000).map(|i| json!({"video_id": i})).collect();
    doc["liked_videos"] = Value::Array(videos);
    let err = parse_profile(&doc, &rules()).unwrap_err();
    assert_eq!(err.violations.len(), toker_model::MAX_REPORTED + 1);
    assert_eq!(err.violations[0].path, "liked_videos[0].video_id");
    assert_eq!(
        err.violations[toker_model::MAX_REPORTED - 1].path,
        format!("liked_videos[{}].video_id", toker_model::MAX_REPORTED - 1)
    );
    let last = err.violations.last().unwrap();
    assert_eq!(last.path, "$");
    assert!(
        last.message
            .contains(&format!("{} more", 5_000 - toker_model::MAX_REPORTED)),
        "{last}"
    );
}

#[test]
fn interests_are_a_list_of_names_checked_like_tags() {
    let rules = rules();
    let mut doc = seed();
    doc["interests"] = json!(["Basketball", "Sports"]);
    let p = parse_profile(&doc, &rules).unwrap();
    assert_eq!(p.interests, ["Basketball", "Sports"]);
    // Absent when empty: a profile without interests serialises as before.
    let plain = parse_profile(&seed(), &rules).unwrap();
    assert!(
        serde_json::to_value(&plain)
            .unwrap()
            .get("interests")
            .is_none()
    );

    doc["interests"] = json!(["ok", 3, "bad\u{0}"]);
    let err = parse_profile(&doc, &rules).unwrap_err();
    let paths: Vec<&str> = err.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["interests[1]", "interests[2]"], "{err}");
    assert!(err.to_string().contains("must be a string"), "{err}");

    doc["interests"] = json!("Sports");
    let err = parse_profile(&doc, &rules).unwrap_err();
    assert!(
        err.to_string()
            .contains("interests: must be an array of strings"),
        "{err}"
    );

    doc["interests"] = json!(vec!["x"; toker_model::MAX_INTERESTS + 1]);
    let err = parse_profile(&doc, &rules).unwrap_err();
    assert!(err.to_string().contains("at most 1000 interests"), "{err}");
}
