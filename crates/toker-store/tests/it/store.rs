//! The store's behaviour through its public API, the same on SQLite and PostgreSQL.

use serde_json::json;
use toker_model::{Listing, Platform, Profile};
use toker_store::{
    IngestItem, IngestOptions, IngestOutcome, NewApiKey, Store, StoreError, StoredVector,
    VocabularyRecord, Written,
};
use toker_testkit::on_both_backends;
use toker_testkit::samples::{platform, profile, raw, video};

on_both_backends!(
    store:
    profile_rows_reads_the_rows_of_the_ids_that_exist,
    round_trip_keeps_every_field_and_the_video_order,
    every_column_is_written_by_create_upsert_and_replace,
    create_of_an_existing_key_fails_and_stores_nothing,
    upsert_replaces_the_profile_and_its_links,
    replace_by_id_keeps_identity_and_rejects_a_taken_user_id,
    delete_keeps_videos_other_profiles_link_to,
    a_shared_video_keeps_its_latest_description,
    delete_owner_removes_only_that_owners_profiles,
    list_pages_by_offset_and_after_id_with_filters,
    stats_count_everything_stored,
    ingest_reports_every_record_and_commits_in_batches,
    ingest_with_upsert_lets_the_last_duplicate_win,
    ingest_rejects_a_count_too_large_naming_the_record,
    vectors_are_saved_whole_and_loaded_back,
    api_keys_are_created_listed_and_revoked,
    missing_records_are_not_found_by_name,
    a_refused_commit_rolls_back_and_changes_nothing,
);

fn store_profile(store: &mut Store, i: u64) -> i64 {
    let p = profile(i);
    store
        .create_profile(platform(i), &p, &raw(&p), None)
        .unwrap()
}

fn item(label: &str, platform: Platform, p: Profile) -> IngestItem {
    IngestItem {
        label: label.to_owned(),
        platform,
        raw: raw(&p),
        profile: p,
        owner: None,
    }
}

fn round_trip_keeps_every_field_and_the_video_order(store: &mut Store) {
    let mut p = profile(7);
    // a video both liked and shared, tags in a deliberate non-sorted order
    p.liked_videos = vec![video(9), video(2), video(31)];
    p.liked_videos[0].hashtags = vec!["#zeta".into(), "#alpha".into(), "#zeta2".into()];
    p.shared_videos = vec![p.liked_videos[2].clone(), video(5)];
    p.number_of_likes_on_own_videos = Some(i64::MAX as u64);
    p.interests = vec!["Sports".into(), "Home Décor".into()];
    let raw = raw(&p);
    let id = store
        .create_profile(Platform::Instagram, &p, &raw, Some("alice"))
        .unwrap();

    let back = store.get_profile(id).unwrap();
    assert_eq!(back.id, id);
    assert_eq!(back.platform, Platform::Instagram);
    assert_eq!(back.profile, p);
    assert_eq!(back.raw_json, raw);
    assert_eq!(back.owner.as_deref(), Some("alice"));
    assert_eq!(back.created_at, back.updated_at);
    let age = chrono::Utc::now() - back.created_at;
    assert!(
        age.num_seconds().abs() < 60,
        "created_at is not now in UTC: {age}"
    );

    let by_key = store
        .get_profile_by_key(Platform::Instagram, &p.user_id)
        .unwrap();
    assert_eq!(by_key, back);
    // nulls stay nulls
    let empty = Profile::new("only-ids", "nobody");
    let id = store
        .create_profile(Platform::X, &empty, &json!({}), None)
        .unwrap();
    assert_eq!(store.get_profile(id).unwrap().profile, empty);
}

fn every_column_is_written_by_create_upsert_and_replace(store: &mut Store) {
    // Every count set, each to its own value, and every field new on every write, so that
    // a column a write leaves out, or reads back into another field, shows.
    let write = |n: u64| {
        let mut p = profile(1);
        p.username = format!("user_{n}");
        p.user_pseudo = Some(format!("Pseudo {n}"));
        p.verified = Some(n % 2 == 0);
        for (i, (_, count)) in p.counts_mut().into_iter().enumerate() {
            *count = Some(n * 1_000 + i as u64);
        }
        p.liked_videos = (0..n).map(video).collect();
        p.shared_videos = vec![video(10 + n)];
        p.interests = vec![format!("Interest {n}")];
        p
    };
    let created = write(1);
    let id = store
        .create_profile(Platform::X, &created, &raw(&created), None)
        .unwrap();
    assert_eq!(store.get_profile(id).unwrap().profile, created);

    let upserted = write(2);
    let what = store
        .upsert_profile(Platform::X, &upserted, &raw(&upserted), None)
        .unwrap();
    assert_eq!(what, Written::Updated(id));
    let back = store.get_profile(id).unwrap();
    assert_eq!(back.profile, upserted);
    assert_eq!(back.raw_json, raw(&upserted));

    let replaced = write(3);
    store
        .replace_profile(id, &replaced, &raw(&replaced))
        .unwrap();
    let back = store.get_profile(id).unwrap();
    assert_eq!(back.profile, replaced);
    assert_eq!(back.raw_json, raw(&replaced));

    // Unknown again: a replace stores NULL, it does not keep the old value.
    let mut unknown = replaced;
    unknown.user_pseudo = None;
    unknown.verified = None;
    for (_, count) in unknown.counts_mut() {
        *count = None;
    }
    store.replace_profile(id, &unknown, &raw(&unknown)).unwrap();
    assert_eq!(store.get_profile(id).unwrap().profile, unknown);
}

fn create_of_an_existing_key_fails_and_stores_nothing(store: &mut Store) {
    let first = profile(1);
    let id = store
        .create_profile(Platform::TikTok, &first, &raw(&first), None)
        .unwrap();
    let before = store.stats().unwrap();

    let mut second = profile(2);
    second.user_id = first.user_id.clone();
    second.liked_videos = vec![video(101), video(102)];
    let err = store
        .create_profile(Platform::TikTok, &second, &raw(&second), Some("bob"))
        .unwrap_err();
    match &err {
        StoreError::Duplicate { key, id: existing } => {
            assert_eq!(key, &format!("tiktok:{}", first.user_id));
            assert_eq!(*existing, id);
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("profile tiktok:{} already exists (id {id})", first.user_id)
    );
    assert_eq!(store.get_profile(id).unwrap().profile, first);
    assert_eq!(
        store.stats().unwrap(),
        before,
        "nothing of the duplicate was stored"
    );
    // the same user id on another platform is another person
    store
        .create_profile(Platform::X, &second, &raw(&second), None)
        .unwrap();
}

fn upsert_replaces_the_profile_and_its_links(store: &mut Store) {
    let mut p = profile(4);
    p.liked_videos = vec![video(1), video(2), video(3)];
    p.shared_videos = vec![];
    let what = store
        .upsert_profile(Platform::TikTok, &p, &raw(&p), Some("carol"))
        .unwrap();
    assert!(what.created());
    let id = what.id();
    let created = store.get_profile(id).unwrap();
    assert_eq!(store.stats().unwrap().videos, 3);

    let mut changed = p.clone();
    changed.username = "renamed".into();
    changed.followers_count = None;
    changed.liked_videos = vec![video(3), video(7)];
    changed.shared_videos = vec![video(8)];
    let what = store
        .upsert_profile(Platform::TikTok, &changed, &raw(&changed), None)
        .unwrap();
    assert_eq!(what, Written::Updated(id));
    let back = store.get_profile(id).unwrap();
    assert_eq!(back.profile, changed);
    assert_eq!(back.raw_json, raw(&changed));
    assert_eq!(back.created_at, created.created_at);
    assert!(back.updated_at >= created.updated_at);
    assert_eq!(
        back.owner.as_deref(),
        Some("carol"),
        "no new owner keeps the old"
    );
    let stats = store.stats().unwrap();
    assert_eq!(stats.profiles, 1);
    assert_eq!(
        stats.videos, 3,
        "videos 1 and 2 are no longer linked to anyone"
    );
    assert_eq!((stats.liked_links, stats.shared_links), (2, 1));
}

fn replace_by_id_keeps_identity_and_rejects_a_taken_user_id(store: &mut Store) {
    let a = store_profile(store, 3);
    let b = store_profile(store, 6); // same platform as 3
    let before = store.get_profile(a).unwrap();
    let mut new = profile(9);
    new.user_id = "new-id".into();
    store.replace_profile(a, &new, &raw(&new)).unwrap();
    let after = store.get_profile(a).unwrap();
    assert_eq!(after.profile, new);
    assert_eq!(after.platform, before.platform);
    assert_eq!(after.created_at, before.created_at);

    let taken = store.get_profile(b).unwrap().profile;
    let mut clash = profile(10);
    clash.user_id = taken.user_id.clone();
    let err = store.replace_profile(a, &clash, &raw(&clash)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { id, .. } if *id == b),
        "{err:?}"
    );
    assert_eq!(store.get_profile(a).unwrap().profile, new, "unchanged");
    let err = store.replace_profile(9999, &new, &raw(&new)).unwrap_err();
    assert_eq!(err.to_string(), "profile 9999 not found");
}

fn delete_keeps_videos_other_profiles_link_to(store: &mut Store) {
    let mut a = profile(1);
    a.liked_videos = vec![video(1), video(2)];
    a.shared_videos = vec![video(3)];
    let mut b = profile(2);
    b.liked_videos = vec![video(2)];
    b.shared_videos = vec![video(3), video(4)];
    let ida = store
        .create_profile(Platform::X, &a, &raw(&a), None)
        .unwrap();
    let idb = store
        .create_profile(Platform::X, &b, &raw(&b), None)
        .unwrap();
    let vocab = VocabularyRecord {
        version: "v1".into(),
        json: "{}".into(),
    };
    let vectors = [ida, idb].map(|id| StoredVector {
        profile_id: id,
        platform: Platform::X,
        indices: vec![1],
        values: vec![1.0],
    });
    store
        .save_vectors(&vocab, &mut vectors.into_iter())
        .unwrap();
    assert_eq!(store.stats().unwrap().videos, 4);

    store.delete_profile(ida).unwrap();
    assert_eq!(store.get_profile(idb).unwrap().profile, b);
    let stats = store.stats().unwrap();
    assert_eq!(stats.profiles, 1);
    assert_eq!(stats.videos, 3, "video 1 was only a's");
    assert_eq!((stats.liked_links, stats.shared_links), (1, 2));
    assert_eq!(stats.vectors, 1, "a's vector went with it");
    assert!(store.load_vector(ida).unwrap().is_none());

    let err = store.delete_profile(ida).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("profile {ida} not found"));
}

fn a_shared_video_keeps_its_latest_description(store: &mut Store) {
    let mut a = profile(1);
    a.liked_videos = vec![video(5), video(6)];
    a.shared_videos = vec![];
    let ida = store
        .create_profile(Platform::X, &a, &raw(&a), None)
        .unwrap();
    let mut newer = video(5);
    newer.hashtags = vec!["#new".into()];
    newer.categories = vec![];
    newer.likes = Some(999_999);
    newer.comments = None;
    let mut b = profile(2);
    b.liked_videos = vec![];
    b.shared_videos = vec![newer.clone(), video(6)];
    let idb = store
        .create_profile(Platform::X, &b, &raw(&b), None)
        .unwrap();

    assert_eq!(store.get_profile(idb).unwrap().profile, b);
    let a_back = store.get_profile(ida).unwrap().profile;
    assert_eq!(
        a_back.liked_videos,
        vec![newer, video(6)],
        "one row per video"
    );
    let stats = store.stats().unwrap();
    assert_eq!(stats.videos, 2);
    assert_eq!(
        stats.tags,
        1 + (video(6).categories.len() + video(6).hashtags.len()) as u64
    );
}

fn delete_owner_removes_only_that_owners_profiles(store: &mut Store) {
    for i in 0..6 {
        let p = profile(i);
        let owner = if i % 2 == 0 { "dora" } else { "eve" };
        store
            .create_profile(platform(i), &p, &raw(&p), Some(owner))
            .unwrap();
    }
    assert_eq!(store.delete_owner("dora").unwrap(), 3);
    assert_eq!(store.delete_owner("nobody").unwrap(), 0);
    let left = store.load_profiles(&Listing::default()).unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|p| p.owner.as_deref() == Some("eve")));
    let linked: u64 = left
        .iter()
        .map(|p| (p.profile.liked_videos.len() + p.profile.shared_videos.len()) as u64)
        .sum();
    let stats = store.stats().unwrap();
    assert_eq!(stats.liked_links + stats.shared_links, linked);
}

fn list_pages_by_offset_and_after_id_with_filters(store: &mut Store) {
    let mut ids = Vec::new();
    for i in 0..9 {
        let p = profile(i);
        let owner = (i < 4).then_some("frank");
        ids.push(
            store
                .create_profile(platform(i), &p, &raw(&p), owner)
                .unwrap(),
        );
    }
    let all = store.list_profiles(&Listing::default()).unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    let row = &all[4];
    let p4 = profile(4);
    assert_eq!(row.platform, platform(4));
    assert_eq!(row.user_id, p4.user_id);
    assert_eq!(row.username, p4.username);
    assert_eq!(row.number_of_likes, p4.number_of_likes);
    assert_eq!(row.liked_count, p4.liked_videos.len() as u64);
    assert_eq!(row.shared_count, p4.shared_videos.len() as u64);
    assert_eq!(row.owner, None);

    let page = |q: Listing, store: &mut Store| -> Vec<i64> {
        store
            .list_profiles(&q)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect()
    };
    let q = Listing {
        limit: Some(3),
        offset: 2,
        ..Listing::default()
    };
    assert_eq!(page(q.clone(), store), ids[2..5]);
    let q = Listing {
        limit: Some(3),
        after_id: Some(ids[5]),
        ..Listing::default()
    };
    assert_eq!(page(q.clone(), store), ids[6..9]);
    assert_eq!(store.count_profiles(&q).unwrap(), 9, "count ignores paging");
    let q = Listing {
        offset: 7,
        ..Listing::default()
    };
    assert_eq!(page(q, store), ids[7..9], "offset without limit");

    let tiktok: Vec<i64> = (0..9).filter(|i| i % 3 == 0).map(|i| ids[i]).collect();
    assert_eq!(page(Listing::platform(Platform::TikTok), store), tiktok);
    assert_eq!(
        store
            .count_profiles(&Listing::platform(Platform::TikTok))
            .unwrap(),
        3
    );
    assert_eq!(page(Listing::owner("frank"), store), ids[..4]);
    let both = Listing {
        platform: Some(Platform::Instagram),
        owner: Some("frank".into()),
        ..Listing::default()
    };
    assert_eq!(page(both.clone(), store), [ids[1]]);
    assert_eq!(store.count_profiles(&both).unwrap(), 1);

    let q = Listing {
        limit: Some(4),
        offset: 1,
        ..Listing::default()
    };
    let loaded = store.load_profiles(&q).unwrap();
    assert_eq!(loaded.iter().map(|p| p.id).collect::<Vec<_>>(), ids[1..5]);
    for (k, p) in loaded.iter().enumerate() {
        assert_eq!(p.profile, profile(k as u64 + 1));
    }

    let mut walked = Vec::new();
    let seen = store
        .for_each_profile(&Listing::default(), &mut |p| {
            walked.push(p.id);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!((seen, walked), (9, ids.clone()));
}

fn stats_count_everything_stored(store: &mut Store) {
    let empty = store.stats().unwrap();
    assert_eq!(empty.profiles, 0);
    assert_eq!(empty.vocabulary_version, None);
    let mut videos = std::collections::BTreeSet::new();
    let (mut liked, mut shared, mut tags) = (0, 0, 0);
    for i in 0..8 {
        let p = profile(i);
        liked += p.liked_videos.len() as u64;
        shared += p.shared_videos.len() as u64;
        for (_, v) in p.all_videos() {
            if videos.insert((platform(i), v.video_id.clone())) {
                tags += (v.categories.len() + v.hashtags.len()) as u64;
            }
        }
        store
            .create_profile(platform(i), &p, &raw(&p), None)
            .unwrap();
    }
    let stats = store.stats().unwrap();
    assert_eq!(stats.profiles, 8);
    assert_eq!(
        stats.by_platform,
        vec![
            (Platform::TikTok, 3),
            (Platform::Instagram, 3),
            (Platform::X, 2)
        ]
    );
    assert_eq!(stats.videos, videos.len() as u64);
    assert_eq!((stats.liked_links, stats.shared_links), (liked, shared));
    assert_eq!(stats.tags, tags);
    assert_eq!(stats.vectors, 0);
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["profiles"], 8);
}

fn ingest_reports_every_record_and_commits_in_batches(store: &mut Store) {
    let existing = store_profile(store, 0);
    let mut items: Vec<IngestItem> = (1..=8)
        .map(|i| item(&format!("line {i}"), platform(i), profile(i)))
        .collect();
    // line 9 repeats line 2's key; line 10 is the profile stored before
    let mut again = profile(2);
    again.username = "second copy".into();
    items.push(item("line 9", platform(2), again));
    items.push(item("line 10", platform(0), profile(0)));

    let mut outcomes: Vec<IngestOutcome> = Vec::new();
    let opts = IngestOptions {
        batch_size: 3,
        upsert: false,
    };
    let report = store
        .ingest(items, &opts, &mut |o| outcomes.push(o))
        .unwrap();
    assert_eq!(
        (
            report.created,
            report.updated,
            report.duplicates,
            report.batches
        ),
        (8, 0, 2, 4)
    );
    let labels: Vec<&str> = outcomes.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(labels[0], "line 1");
    assert_eq!(labels[9], "line 10");
    let id_of_2 = outcomes[1].result;
    assert!(matches!(id_of_2, Written::Created(_)));
    assert_eq!(outcomes[8].result, Written::Duplicate(id_of_2.id()));
    assert_eq!(
        outcomes[8].key,
        format!("{}:{}", platform(2), profile(2).user_id)
    );
    assert_eq!(outcomes[9].result, Written::Duplicate(existing));
    assert_eq!(store.get_profile(id_of_2.id()).unwrap().profile, profile(2));
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 9);
    for o in &outcomes[..8] {
        let stored = store.get_profile(o.result.id()).unwrap();
        assert_eq!(stored.key(), o.key);
    }
}

fn ingest_with_upsert_lets_the_last_duplicate_win(store: &mut Store) {
    let existing = store_profile(store, 0);
    let mut last = profile(1);
    last.username = "last wins".into();
    last.liked_videos = vec![video(20)];
    let mut changed0 = profile(0);
    changed0.username = "changed".into();
    let items = vec![
        item("a", platform(1), profile(1)),
        item("b", platform(0), changed0.clone()),
        item("c", platform(1), last.clone()),
    ];
    let mut outcomes = Vec::new();
    let opts = IngestOptions {
        batch_size: 1000,
        upsert: true,
    };
    let report = store
        .ingest(items, &opts, &mut |o| outcomes.push(o.result))
        .unwrap();
    assert_eq!(
        (
            report.created,
            report.updated,
            report.duplicates,
            report.batches
        ),
        (1, 2, 0, 1)
    );
    let new_id = outcomes[0].id();
    assert_eq!(
        outcomes,
        vec![
            Written::Created(new_id),
            Written::Updated(existing),
            Written::Updated(new_id),
        ]
    );
    assert_eq!(store.get_profile(new_id).unwrap().profile, last);
    assert_eq!(store.get_profile(existing).unwrap().profile, changed0);
    // a second run over the same keys only updates
    let report = store
        .ingest(vec![item("d", platform(1), profile(1))], &opts, &mut |o| {
            assert_eq!(o.result, Written::Updated(new_id))
        })
        .unwrap();
    assert_eq!(report.updated, 1);
    assert_eq!(store.get_profile(new_id).unwrap().profile, profile(1));
}

fn ingest_rejects_a_count_too_large_naming_the_record(store: &mut Store) {
    let mut bad = profile(5);
    bad.followers_count = Some(u64::MAX);
    let items = vec![
        item("line 1", platform(1), profile(1)),
        item("line 2", platform(2), profile(2)),
        item("line 3", platform(5), bad),
    ];
    let opts = IngestOptions {
        batch_size: 2,
        upsert: false,
    };
    let err = store.ingest(items, &opts, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(
        msg.starts_with(&format!(
            "profile {}:{} (line 3): followers_count: 18446744073709551615",
            platform(5),
            profile(5).user_id
        )),
        "{msg}"
    );
    assert_eq!(
        store.count_profiles(&Listing::default()).unwrap(),
        2,
        "the first batch was committed"
    );
}

fn vectors_are_saved_whole_and_loaded_back(store: &mut Store) {
    let ids: Vec<i64> = (0..4).map(|i| store_profile(store, i)).collect();
    assert_eq!(store.load_vocabulary().unwrap(), None);
    let vocab = VocabularyRecord {
        version: "2025-11-25.1".into(),
        json: r#"{"features":["a","b"]}"#.into(),
    };
    let vectors: Vec<StoredVector> = ids
        .iter()
        .enumerate()
        .map(|(k, &id)| StoredVector {
            profile_id: id,
            platform: platform(k as u64),
            indices: (0..k as u32).collect(),
            values: (0..k).map(|x| 1.0 / (x as f32 + 3.0)).collect(),
        })
        .collect();
    let n = store
        .save_vectors(&vocab, &mut vectors.clone().into_iter())
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(store.load_vocabulary().unwrap(), Some(vocab.clone()));
    assert_eq!(store.load_vectors(None).unwrap(), vectors);
    assert_eq!(
        store.load_vectors(Some(Platform::Instagram)).unwrap(),
        vec![vectors[1].clone()]
    );
    assert_eq!(store.load_vector(ids[3]).unwrap(), Some(vectors[3].clone()));
    let stats = store.stats().unwrap();
    assert_eq!(stats.vectors, 4);
    assert_eq!(stats.vocabulary_version.as_deref(), Some("2025-11-25.1"));

    // a vector naming no profile fails the whole save: the old vectors stay
    let v2 = VocabularyRecord {
        version: "v2".into(),
        json: "{}".into(),
    };
    let mut broken = vec![vectors[0].clone()];
    broken.push(StoredVector {
        profile_id: 424_242,
        ..vectors[0].clone()
    });
    let err = store
        .save_vectors(&v2, &mut broken.into_iter())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile 424242 (named by a vector) not found"
    );
    assert_eq!(store.load_vectors(None).unwrap(), vectors);
    assert_eq!(store.load_vocabulary().unwrap(), Some(vocab));

    // a new save replaces everything
    let n = store
        .save_vectors(&v2, &mut vectors[..1].iter().cloned())
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(store.load_vectors(None).unwrap(), vectors[..1]);
    assert_eq!(store.load_vocabulary().unwrap(), Some(v2));
}

fn api_keys_are_created_listed_and_revoked(store: &mut Store) {
    let key = |id: &str| NewApiKey {
        key_id: id.into(),
        secret_hash: format!("$argon2id$hash-of-{id}"),
        role: "owner".into(),
        label: Some(format!("key {id}")),
    };
    store.create_api_key(&key("k1")).unwrap();
    store.create_api_key(&key("k2")).unwrap();
    let err = store.create_api_key(&key("k1")).unwrap_err();
    assert_eq!(err.to_string(), "api key k1 already exists");

    let k1 = store.get_api_key("k1").unwrap().unwrap();
    assert_eq!(k1.secret_hash, "$argon2id$hash-of-k1");
    assert_eq!(k1.label.as_deref(), Some("key k1"));
    assert_eq!(k1.revoked_at, None);
    assert_eq!(store.get_api_key("nope").unwrap(), None);
    let ids: Vec<String> = store
        .list_api_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.key_id)
        .collect();
    assert_eq!(ids, ["k1", "k2"]);

    store.revoke_api_key("k1").unwrap();
    let revoked = store
        .get_api_key("k1")
        .unwrap()
        .unwrap()
        .revoked_at
        .unwrap();
    assert!(revoked >= k1.created_at);
    store.revoke_api_key("k1").unwrap();
    assert_eq!(
        store.get_api_key("k1").unwrap().unwrap().revoked_at,
        Some(revoked),
        "revoking twice keeps the first time"
    );
    let err = store.revoke_api_key("nope").unwrap_err();
    assert_eq!(err.to_string(), "api key nope not found");
    store.ping().unwrap();
}

fn missing_records_are_not_found_by_name(store: &mut Store) {
    let err = store.get_profile(77).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), "profile 77 not found");
    let err = store.get_profile_by_key(Platform::X, "ghost").unwrap_err();
    assert_eq!(err.to_string(), "profile x:ghost not found");
    assert_eq!(
        store.delete_profile(77).unwrap_err().to_string(),
        "profile 77 not found"
    );
    assert_eq!(store.load_vector(77).unwrap(), None);
}

fn a_refused_commit_rolls_back_and_changes_nothing(store: &mut Store) {
    let p = profile(1);
    let err = toker_store::with_commit_guard(
        || Err("the request was already answered".to_owned()),
        || store.create_profile(platform(1), &p, &raw(&p), None),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::CommitRefused { .. }), "{err}");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert_eq!(store.stats().unwrap().profiles, 0);
    // Batches too, and the guard is gone once the work returns.
    let items = vec![item("a", platform(2), profile(2))];
    let refused = toker_store::with_commit_guard(
        || Err("late".to_owned()),
        || {
            store.ingest(
                items.clone(),
                &IngestOptions::default(),
                &mut |_: IngestOutcome| {},
            )
        },
    );
    assert!(refused.is_err());
    assert_eq!(store.stats().unwrap().profiles, 0);
    let allowed = toker_store::with_commit_guard(
        || Ok(()),
        || store.create_profile(platform(1), &p, &raw(&p), None),
    );
    assert!(allowed.is_ok());
    store
        .ingest(items, &IngestOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(store.stats().unwrap().profiles, 2);
}

/// PostgreSQL refuses NUL in text, and its error names the record; what goes to logs
/// must not carry the value.
#[test]
fn a_database_error_for_logs_carries_no_stored_value() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    let mut store = Store::open(&db.url).unwrap();
    let mut p = profile(1);
    p.user_id = "secret-user\u{0}id".to_owned();
    let err = store
        .create_profile(Platform::TikTok, &p, &raw(&p), None)
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    assert!(err.to_string().contains("secret-user"), "{err}");
    let safe = err.without_values();
    assert!(!safe.contains("secret-user"), "{safe}");
    assert!(safe.starts_with("creating profile"), "{safe}");
}

fn profile_rows_reads_the_rows_of_the_ids_that_exist(store: &mut Store) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let p = profile(i);
        ids.push(
            store
                .create_profile(platform(i), &p, &raw(&p), Some("frank"))
                .unwrap(),
        );
    }
    assert!(store.profile_rows(&[]).unwrap().is_empty());
    let listed = store.list_profiles(&Listing::default()).unwrap();
    let missing = ids[4] + 1000;
    let asked = [ids[3], missing, ids[1], ids[3], -1];
    let rows = store.profile_rows(&asked).unwrap();
    assert_eq!(
        rows,
        vec![listed[1].clone(), listed[3].clone()],
        "the listing's rows, by id, each once, missing ids left out"
    );
    assert_eq!(store.profile_rows(&[missing]).unwrap(), vec![]);
}
