//! Two connections upserting overlapping profiles (sharing videos) at the same time: on
//! SQLite they take turns (`BEGIN IMMEDIATE` + busy timeout), on PostgreSQL they run
//! concurrently (`ON CONFLICT`, retried serialization failures and deadlocks). Either way
//! every batch commits and every profile is whole.

use toker_model::Listing;
use toker_store::testing::TestDb;
use toker_store::{IngestItem, IngestOptions, Store};
use toker_testkit::samples::{platform, profile, raw};

fn upsert_overlapping_profiles_from_two_connections(db: &TestDb) {
    drop(Store::open(&db.url).unwrap());
    let writers: Vec<_> = [false, true]
        .into_iter()
        .map(|reversed| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                let mut order: Vec<u64> = (0..300).collect();
                if reversed {
                    order.reverse();
                }
                let items = order.into_iter().map(|i| {
                    let p = profile(i);
                    IngestItem {
                        label: format!("item {i}"),
                        platform: platform(i),
                        raw: raw(&p),
                        profile: p,
                        owner: None,
                    }
                });
                let opts = IngestOptions {
                    batch_size: 25,
                    upsert: true,
                };
                store.ingest(items, &opts, &mut |_| {}).unwrap()
            })
        })
        .collect();
    for writer in writers {
        let report = writer.join().unwrap();
        assert_eq!(report.created + report.updated, 300);
        assert_eq!(report.batches, 12);
    }
    let mut store = Store::open(&db.url).unwrap();
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 300);
    for p in store.load_profiles(&Listing::default()).unwrap() {
        let i = p.profile.user_id.parse::<u64>().unwrap() - 100_000;
        assert_eq!(p.profile, profile(i));
    }
}

#[test]
fn sqlite_writers_take_turns_and_all_commit() {
    upsert_overlapping_profiles_from_two_connections(&TestDb::sqlite());
}

#[test]
fn postgres_writers_run_concurrently_and_all_commit() {
    if let Some(db) = TestDb::postgres() {
        upsert_overlapping_profiles_from_two_connections(&db);
    }
}

fn busy_writer_gets_a_clear_error(db: &TestDb, hold_lock: impl FnOnce() -> Box<dyn FnOnce()>) {
    let mut store = Store::open(&db.url).unwrap();
    store
        .set_busy_timeout(std::time::Duration::from_millis(200))
        .unwrap();
    let p = profile(1);
    let release = hold_lock();
    let err = store
        .create_profile(platform(1), &p, &raw(&p), None)
        .unwrap_err();
    assert!(
        matches!(err, toker_store::StoreError::Busy { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("creating profile {}:{}", platform(1), p.user_id))
            && msg.contains("locked by another writer"),
        "{msg}"
    );
    release();
    store
        .create_profile(platform(1), &p, &raw(&p), None)
        .unwrap();
}

#[test]
fn sqlite_writer_blocked_past_the_busy_timeout_is_told_so() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};
    let db = TestDb::sqlite();
    drop(Store::open(&db.url).unwrap());
    let url = db.url.clone();
    busy_writer_gets_a_clear_error(&db, move || {
        let mut other = SqliteConnection::establish(&url).unwrap();
        other.batch_execute("BEGIN IMMEDIATE").unwrap();
        Box::new(move || other.batch_execute("ROLLBACK").unwrap())
    });
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_writer_blocked_past_the_lock_timeout_is_told_so() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    let Some(db) = TestDb::postgres() else {
        return;
    };
    drop(Store::open(&db.url).unwrap());
    let url = db.url.clone();
    busy_writer_gets_a_clear_error(&db, move || {
        let mut other = PgConnection::establish(&url).unwrap();
        other
            .batch_execute("BEGIN; LOCK TABLE profiles IN EXCLUSIVE MODE")
            .unwrap();
        Box::new(move || other.batch_execute("ROLLBACK").unwrap())
    });
}
