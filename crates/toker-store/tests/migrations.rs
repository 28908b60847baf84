#![allow(clippy::unwrap_used)]
//! The embedded migrations: applied on open, reverted and redone by `Migrator`, on both
//! backends.

use toker_store::testing::TestDb;
use toker_store::{Migrator, Store};

fn applied(m: &mut Migrator) -> Vec<bool> {
    m.status().unwrap().iter().map(|s| s.applied).collect()
}

fn migrations_apply_on_open_and_revert_and_redo(db: &TestDb) {
    let mut m = Migrator::connect(&db.url).unwrap();
    let fresh = m.status().unwrap();
    assert!(fresh.len() >= 3 && fresh.iter().all(|s| !s.applied));
    assert!(
        fresh.windows(2).all(|w| w[0].name < w[1].name),
        "oldest first"
    );

    let mut store = Store::open(&db.url).unwrap();
    store.ping().unwrap();
    assert!(applied(&mut m).iter().all(|a| *a));
    assert!(m.run().unwrap().is_empty(), "nothing left to apply");

    let names: Vec<String> = fresh.into_iter().map(|s| s.name).collect();
    let version = |name: &str| name.split('_').next().unwrap().replace('-', "");
    let n = names.len();
    assert_eq!(m.revert().unwrap(), version(&names[n - 1]));
    assert_eq!(applied(&mut m).iter().filter(|a| **a).count(), n - 1);
    // redo: reverts the (now) last applied one and applies it again
    assert_eq!(m.redo().unwrap(), version(&names[n - 2]));
    assert_eq!(applied(&mut m).iter().filter(|a| **a).count(), n - 1);

    drop(store);
    let mut store = Store::open(&db.url).unwrap(); // re-applies the reverted one
    assert!(applied(&mut m).iter().all(|a| *a));
    assert!(store.list_api_keys().unwrap().is_empty());
}

#[test]
fn sqlite_migrations_apply_on_open_and_revert_and_redo() {
    migrations_apply_on_open_and_revert_and_redo(&TestDb::sqlite());
}

#[test]
fn postgres_migrations_apply_on_open_and_revert_and_redo() {
    if let Some(db) = TestDb::postgres() {
        migrations_apply_on_open_and_revert_and_redo(&db);
    }
}

#[test]
fn opening_a_bad_url_names_it_without_the_password() {
    let err = Store::open("mysql://bob:hunter2@db/toker")
        .unwrap_err()
        .to_string();
    assert!(err.contains("mysql") && !err.contains("hunter2"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/toker.db");
    let err = Store::open(missing.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
}
