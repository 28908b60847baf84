//! Property: any valid profile stored on SQLite reads back equal, with its raw JSON.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use toker_model::{Platform, Profile, Video};
use toker_store::Store;
use toker_store::testing::TestDb;

fn count() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        Just(None),
        (0..=i64::MAX as u64).prop_map(Some),
        Just(Some(i64::MAX as u64)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn video(id: String) -> impl Strategy<Value = Video> {
    (
        prop::collection::vec(text(), 0..4),
        prop::collection::vec(text(), 0..4),
        count(),
        count(),
        count(),
    )
        .prop_map(
            move |(categories, hashtags, likes, comments, shares)| Video {
                video_id: id.clone(),
                categories,
                hashtags,
                likes,
                comments,
                shares,
            },
        )
}

/// A pool of distinct videos; the liked and shared lists are ordered picks from it (one
/// video may be in both, described the same, as one source would).
fn videos() -> impl Strategy<Value = (Vec<Video>, Vec<Video>)> {
    prop::collection::btree_set("[0-9a-z]{1,8}", 0..8)
        .prop_flat_map(|ids| ids.into_iter().map(video).collect::<Vec<_>>())
        .prop_flat_map(|pool| {
            let n = pool.len();
            (
                Just(pool),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                0..=n,
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                0..=n,
            )
        })
        .prop_map(|(pool, liked, nl, shared, ns)| {
            let pick =
                |order: &[usize], k: usize| order[..k].iter().map(|&i| pool[i].clone()).collect();
            (pick(&liked, nl), pick(&shared, ns))
        })
}

fn profiles() -> impl Strategy<Value = (Platform, Profile, Option<String>)> {
    (
        prop::sample::select(Platform::ALL.to_vec()),
        (
            "[a-z0-9]{1,12}",
            "[A-Za-z0-9_.]{1,16}",
            prop::option::of(text()),
        ),
        prop::option::of(any::<bool>()),
        prop::collection::vec(count(), 8),
        videos(),
        prop::option::of("[a-z]{1,6}"),
    )
        .prop_map(
            |(platform, (user_id, username, pseudo), verified, counts, (liked, shared), owner)| {
                let mut p = Profile::new(user_id, username);
                p.user_pseudo = pseudo;
                p.verified = verified;
                p.followers_count = counts[0];
                p.following_count = counts[1];
                p.likes_count = counts[2];
                p.videos_count = counts[3];
                p.number_of_comments = counts[4];
                p.number_of_likes_on_own_videos = counts[5];
                p.number_of_likes = counts[6];
                p.number_of_shares = counts[7];
                p.liked_videos = liked;
                p.shared_videos = shared;
                (platform, p, owner)
            },
        )
}

#[test]
fn any_profile_reads_back_equal_on_sqlite() {
    let db = TestDb::sqlite();
    let store = RefCell::new(Store::open(&db.url).unwrap());
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&profiles(), |(platform, profile, owner)| {
            let mut store = store.borrow_mut();
            let fail = |e: toker_store::StoreError| TestCaseError::fail(e.to_string());
            let mut raw = serde_json::to_value(&profile).unwrap();
            raw["unknown_key"] = serde_json::json!(["kept", 1]);
            let id = store
                .create_profile(platform, &profile, &raw, owner.as_deref())
                .map_err(fail)?;
            let back = store.get_profile(id).map_err(fail)?;
            prop_assert_eq!(back.platform, platform);
            prop_assert_eq!(&back.profile, &profile);
            prop_assert_eq!(&back.raw_json, &raw);
            prop_assert_eq!(back.owner, owner);
            store.delete_profile(id).map_err(fail)?;
            prop_assert_eq!(store.stats().map_err(fail)?.videos, 0);
            Ok(())
        })
        .unwrap();
}
