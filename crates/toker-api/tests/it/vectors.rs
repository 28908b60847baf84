//! A stored profile is matchable at once: every profile write stores the profile's vector
//! under the stored vocabulary, in the write's transaction, on SQLite and PostgreSQL.

use std::sync::Arc;

use toker_collect::VocabularyVectorizer;
use toker_model::{Platform, Profile};
use toker_processing::{MatchIndex, SparseVector, VectorizerConfig, Vocabulary};
use toker_store::{IngestItem, IngestOptions, ProfileVectorizer, Store};
use toker_testkit::on_both_backends;
use toker_testkit::samples;

on_both_backends!(
    store: every_write_stores_the_vector_of_the_current_vocabulary,
    without_a_vectorizer_a_replaced_profile_loses_its_stale_vector,
);

/// The stored vocabulary, parsed.
fn vocabulary(store: &mut Store) -> Vocabulary {
    Vocabulary::from_json(&store.load_vocabulary().unwrap().unwrap().json).unwrap()
}

/// Asserts that profile `id` has a stored vector bit-identical to a fresh transform.
fn assert_stored_vector_is_fresh(store: &mut Store, id: i64) {
    let vocabulary = vocabulary(store);
    let stored = store.get_profile(id).unwrap();
    let vector = store
        .load_vector(id)
        .unwrap()
        .unwrap_or_else(|| panic!("profile {id} has no stored vector"));
    let (indices, values) = vocabulary.transform(&stored.profile).into_parts();
    assert_eq!(vector.indices, indices, "profile {id}");
    let bits = |xs: &[f32]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&vector.values), bits(&values), "profile {id}");
    assert_eq!(vector.platform, stored.platform);
}

/// The ids of profile `id`'s best matches, from the stored vectors only.
fn matches_of(store: &mut Store, id: i64) -> Vec<i64> {
    let vocabulary = vocabulary(store);
    let entries = store
        .load_vectors(None)
        .unwrap()
        .into_iter()
        .map(|v| {
            let vector = SparseVector::from_parts(v.indices, v.values).unwrap();
            (v.profile_id, v.platform, vector)
        })
        .collect();
    let index = MatchIndex::new(&vocabulary, entries).unwrap();
    index
        .top_k(id, 50, None)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// A profile sharing every interest of `samples::profile(4)`.
fn twin(user_id: &str) -> Profile {
    let mut p = samples::profile(4);
    p.user_id = user_id.to_owned();
    p
}

fn every_write_stores_the_vector_of_the_current_vocabulary(store: &mut Store) {
    VocabularyVectorizer::install(store);
    let mut ids = Vec::new();
    for i in 1..=12 {
        let p = samples::profile(i);
        ids.push(
            store
                .create_profile(Platform::TikTok, &p, &samples::raw(&p), None)
                .unwrap(),
        );
    }
    // No vocabulary yet: nothing to store, the first refit makes every vector.
    assert_eq!(store.load_vector(ids[0]).unwrap(), None);
    toker_collect::vectorize_store(store, VectorizerConfig::default()).unwrap();
    assert_eq!(store.stats().unwrap().drift(), Some(0.0));
    let other = ids[3]; // samples::profile(4)

    // Created after the refit: stored with its vector, among the other's matches.
    let p = twin("late-1");
    let late = store
        .create_profile(Platform::TikTok, &p, &samples::raw(&p), None)
        .unwrap();
    assert_stored_vector_is_fresh(store, late);
    assert!(matches_of(store, other).contains(&late));
    assert!(matches_of(store, late).contains(&other));

    // Upserted and replaced: the vector follows the profile.
    let mut p = samples::profile(7);
    p.user_id = "late-1".to_owned();
    let same = store
        .upsert_profile(Platform::TikTok, &p, &samples::raw(&p), None)
        .unwrap()
        .id();
    assert_eq!(same, late);
    assert_stored_vector_is_fresh(store, late);
    let p = twin("late-1");
    store.replace_profile(late, &p, &samples::raw(&p)).unwrap();
    assert_stored_vector_is_fresh(store, late);

    // A bulk import: every profile of the batch (and of later batches).
    let items = (20..25).map(|i| {
        let p = twin(&format!("bulk-{i}"));
        IngestItem {
            label: format!("line {i}"),
            platform: Platform::X,
            raw: samples::raw(&p),
            profile: p,
            owner: None,
        }
    });
    let mut bulk = Vec::new();
    let opts = IngestOptions {
        batch_size: 2,
        upsert: false,
    };
    store
        .ingest(items, &opts, &mut |o| bulk.push(o.result.id()))
        .unwrap();
    for &id in &bulk {
        assert_stored_vector_is_fresh(store, id);
    }
    assert!(matches_of(store, other).contains(&bulk[4]));

    // The data-export path (an upsert unless unchanged).
    let p = twin("export-1");
    let exported = store
        .upsert_profile_if_changed(Platform::Instagram, &p, &samples::raw(&p), None)
        .unwrap()
        .id();
    assert_stored_vector_is_fresh(store, exported);

    // Every profile has its vector; deleting one deletes it.
    let stats = store.stats().unwrap();
    assert_eq!(stats.vectors, stats.profiles);
    // late, five bulk profiles and the export: 7 of 19 written since the refit.
    assert_eq!((stats.changed_since_refit, stats.profiles), (7, 19));
    assert!((stats.drift().unwrap() - 7.0 / 19.0).abs() < 1e-12);
    store.delete_profile(late).unwrap();
    assert_eq!(store.load_vector(late).unwrap(), None);
    assert!(!matches_of(store, other).contains(&late));
}

fn without_a_vectorizer_a_replaced_profile_loses_its_stale_vector(store: &mut Store) {
    for i in 1..=6 {
        let p = samples::profile(i);
        store
            .create_profile(Platform::TikTok, &p, &samples::raw(&p), None)
            .unwrap();
    }
    toker_collect::vectorize_store(store, VectorizerConfig::default()).unwrap();
    let p = samples::profile(2);
    let id = store
        .upsert_profile(Platform::TikTok, &twin(&p.user_id), &samples::raw(&p), None)
        .unwrap()
        .id();
    // No vector rather than one of the profile as it was.
    assert_eq!(store.load_vector(id).unwrap(), None);

    // A vectorizer that cannot read the vocabulary fails the write: nothing is stored.
    struct Broken;
    impl ProfileVectorizer for Broken {
        fn vectorize(
            &self,
            _: toker_store::VocabularyRef<'_>,
            _: &[&Profile],
        ) -> Result<toker_store::Vectorized, String> {
            Err("unreadable".to_owned())
        }
    }
    store.set_vectorizer(Some(Arc::new(Broken)));
    let p = twin("never");
    let err = store
        .create_profile(Platform::TikTok, &p, &samples::raw(&p), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unreadable"), "{err}");
    assert!(
        store.get_profile_by_key(Platform::TikTok, "never").is_err(),
        "the profile went with its vector"
    );
}
