#![allow(clippy::unwrap_used)]
//! Two connections upserting overlapping profiles (sharing videos) at the same time: on
//! SQLite they take turns (`BEGIN IMMEDIATE` + busy timeout), on PostgreSQL they run
//! concurrently (`ON CONFLICT`, retried serialization failures and deadlocks). Either way
//! every batch commits and every profile is whole.

mod common;

use common::{platform, profile, raw};
use toker_store::testing::TestDb;
use toker_store::{IngestItem, IngestOptions, ListQuery, Store};

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
    assert_eq!(store.count_profiles(&ListQuery::default()).unwrap(), 300);
    for p in store.load_profiles(&ListQuery::default()).unwrap() {
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
