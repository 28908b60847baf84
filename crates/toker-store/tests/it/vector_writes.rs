//! The vector write marker: every committed transaction that changes the stored vectors
//! (or which of them others may match) moves it once, whichever process wrote; reads and
//! writes that store no vector leave it alone.

use std::sync::Arc;

use toker_model::{Platform, Profile};
use toker_store::testing::TestDb;
use toker_store::{
    AccountMethod, ConnectAccount, IngestItem, IngestOptions, Migrator, Placement,
    ProfileVectorizer, Store, StoreError, StoredVector, VectorParts, Vectorized, VocabularyRecord,
    VocabularyRef,
};
use toker_testkit::on_both_backends;
use toker_testkit::samples::{profile, raw};

on_both_backends!(
    store:
    the_marker_moves_once_per_transaction_that_changes_vectors,
);

/// Gives every profile the same one-feature vector.
struct OneFeature;

impl ProfileVectorizer for OneFeature {
    fn vectorize(
        &self,
        _vocabulary: VocabularyRef<'_>,
        profiles: &[&Profile],
    ) -> Result<Vectorized, String> {
        Ok(Vectorized::Vectors(
            profiles
                .iter()
                .map(|_| VectorParts {
                    indices: vec![0],
                    values: vec![1.0],
                })
                .collect(),
        ))
    }
}

fn item(i: u64) -> IngestItem {
    let p = profile(i);
    IngestItem {
        label: format!("line {i}"),
        platform: Platform::X,
        raw: raw(&p),
        profile: p,
        owner: None,
    }
}

/// Asserts that `step` moved the marker by exactly `by`.
fn moves(store: &mut Store, by: u64, what: &str, step: impl FnOnce(&mut Store)) {
    let before = store.vector_write_marker().unwrap();
    step(store);
    let after = store.vector_write_marker().unwrap();
    assert_eq!(after - before, by, "{what}: marker {before} -> {after}");
}

fn the_marker_moves_once_per_transaction_that_changes_vectors(store: &mut Store) {
    assert_eq!(store.vector_write_marker().unwrap(), 0, "a new database");
    // No vocabulary yet: a write stores no vector.
    let first = profile(1);
    let mut first_id = 0;
    moves(store, 0, "a write without a vocabulary", |s| {
        first_id = s
            .create_profile(Platform::X, &first, &raw(&first), None)
            .unwrap();
    });

    let vocabulary = VocabularyRecord {
        version: "v1".to_owned(),
        json: "{}".to_owned(),
    };
    let vector = StoredVector {
        profile_id: first_id,
        platform: Platform::X,
        indices: vec![0],
        values: vec![1.0],
    };
    moves(store, 1, "a refit", |s| {
        s.save_vectors(&vocabulary, &mut std::iter::once(vector))
            .unwrap();
    });

    // Without a vectorizer a new profile stores no vector and deletes none.
    let bare = profile(2);
    let mut bare_id = 0;
    moves(store, 0, "a write storing no vector", |s| {
        bare_id = s
            .create_profile(Platform::X, &bare, &raw(&bare), None)
            .unwrap();
    });
    moves(store, 0, "deleting a profile without a vector", |s| {
        s.delete_profile(bare_id).unwrap();
    });
    // A replaced profile's stale vector goes, and that counts.
    moves(store, 1, "a replace dropping a stale vector", |s| {
        s.replace_profile(first_id, &first, &raw(&first)).unwrap();
    });

    store.set_vectorizer(Some(Arc::new(OneFeature)));
    let third = profile(3);
    let mut third_id = 0;
    moves(store, 1, "a create with its vector", |s| {
        third_id = s
            .create_profile(Platform::X, &third, &raw(&third), None)
            .unwrap();
    });
    assert!(store.load_vector(third_id).unwrap().is_some());
    moves(store, 0, "a duplicate create, which writes nothing", |s| {
        let err = s
            .create_profile(Platform::X, &third, &raw(&third), None)
            .unwrap_err();
        assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    });
    moves(store, 1, "a replace with its vector", |s| {
        s.replace_profile(third_id, &third, &raw(&third)).unwrap();
    });
    moves(store, 1, "an upsert with its vector", |s| {
        s.upsert_profile(Platform::X, &third, &raw(&third), None)
            .unwrap();
    });
    // An ingest counts once per committed batch, not per profile.
    let opts = IngestOptions {
        batch_size: 2,
        upsert: false,
    };
    moves(store, 3, "an ingest of 5 profiles in 3 batches", |s| {
        let report = s.ingest((10..15).map(item), &opts, &mut |_| {}).unwrap();
        assert_eq!((report.created, report.batches), (5, 3));
    });

    moves(store, 0, "reads", |s| {
        s.get_profile(third_id).unwrap();
        s.list_profiles(&toker_model::Listing::default()).unwrap();
        s.load_vectors(None).unwrap();
        s.load_unproven_vectors().unwrap();
        s.load_vector(third_id).unwrap();
        s.load_vocabulary().unwrap();
        assert_eq!(s.vocabulary_version().unwrap().as_deref(), Some("v1"));
        s.stats().unwrap();
    });
    moves(store, 1, "deleting a profile with its vector", |s| {
        s.delete_profile(third_id).unwrap();
    });
    moves(store, 0, "deleting a profile that is not there", |s| {
        s.delete_profile(third_id).unwrap_err();
    });

    // An upload stays private until proven: proving it makes its vector matchable.
    let upload = profile(20);
    let r = raw(&upload);
    let connect = |profile| ConnectAccount {
        platform: Platform::X,
        user_id: &upload.user_id,
        username: &upload.username,
        profile,
        method: AccountMethod::OAuth,
        tokens: None,
        session: None,
    };
    moves(store, 1, "an unproven upload with its vector", |s| {
        s.connect_account(&connect(Some((&upload, &r))), &mut |_| {
            Ok::<_, ()>(Placement::Unproven("usr_up".to_owned()))
        })
        .unwrap()
        .unwrap();
    });
    assert_eq!(store.load_unproven_vectors().unwrap().len(), 1);
    moves(store, 1, "proving the upload", |s| {
        s.connect_account(&connect(None), &mut |_| {
            Ok::<_, ()>(Placement::Proven("usr_up".to_owned()))
        })
        .unwrap()
        .unwrap();
    });
    assert!(store.load_unproven_vectors().unwrap().is_empty());

    // Erasure: the principal's profiles go with their vectors, in one transaction.
    let other = profile(21);
    let o = raw(&other);
    store
        .connect_account(
            &ConnectAccount {
                platform: Platform::X,
                user_id: &other.user_id,
                username: &other.username,
                profile: Some((&other, &o)),
                method: AccountMethod::OAuth,
                tokens: None,
                session: None,
            },
            &mut |_| Ok::<_, ()>(Placement::Proven("usr_up".to_owned())),
        )
        .unwrap()
        .unwrap();
    moves(store, 1, "erasing a principal with two profiles", |s| {
        let erased = s.delete_principal("usr_up").unwrap();
        assert_eq!(erased.profiles, 2);
    });
    // An owner's profiles, deleted together.
    for i in 30..33 {
        let p = profile(i);
        store
            .create_profile(Platform::X, &p, &raw(&p), Some("key_owner"))
            .unwrap();
    }
    moves(store, 1, "deleting an owner's three profiles", |s| {
        assert_eq!(s.delete_owner("key_owner").unwrap(), 3);
    });
    moves(store, 0, "deleting an owner with no profile", |s| {
        assert_eq!(s.delete_owner("key_owner").unwrap(), 0);
    });
}

/// The migration carries an existing database forward: vectors stored before it are kept,
/// and the marker starts counting from 0.
fn an_existing_database_gets_the_marker(db: &TestDb) {
    let mut store = Store::open(&db.url).unwrap();
    store.set_vectorizer(Some(Arc::new(OneFeature)));
    let p = profile(1);
    let id = store
        .create_profile(Platform::X, &p, &raw(&p), None)
        .unwrap();
    let vector = StoredVector {
        profile_id: id,
        platform: Platform::X,
        indices: vec![0],
        values: vec![1.0],
    };
    let vocabulary = VocabularyRecord {
        version: "v1".to_owned(),
        json: "{}".to_owned(),
    };
    store
        .save_vectors(&vocabulary, &mut std::iter::once(vector))
        .unwrap();
    assert_eq!(store.vector_write_marker().unwrap(), 1);
    drop(store);

    let mut m = Migrator::connect(&db.url).unwrap();
    let last = m.status().unwrap().pop().unwrap();
    assert!(
        last.name.ends_with("_vector_writes") && last.applied,
        "{last:?}"
    );
    m.revert().unwrap();
    drop(m);

    let mut store = Store::open(&db.url).unwrap();
    assert_eq!(store.vector_write_marker().unwrap(), 0);
    assert_eq!(store.load_vectors(None).unwrap().len(), 1);
    store.delete_profile(id).unwrap();
    assert_eq!(store.vector_write_marker().unwrap(), 1);
}

#[test]
fn sqlite_an_existing_database_gets_the_marker() {
    an_existing_database_gets_the_marker(&TestDb::sqlite());
}

#[test]
fn postgres_an_existing_database_gets_the_marker() {
    if let Some(db) = TestDb::postgres() {
        an_existing_database_gets_the_marker(&db);
    }
}
