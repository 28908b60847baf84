//! Erasure leaves no trace in a SQLite file: after a profile, an owner's profiles or a
//! principal is deleted, the erased username is in neither the database file nor its
//! write-ahead log (the bytes an attacker with a copy of the files would read).

use chrono::{Duration, Utc};
use toker_model::{Platform, Profile};
use toker_store::testing::TestDb;
use toker_store::{AccountMethod, NewSession, Placement, Store};
use toker_testkit::samples::{profile, raw};

/// A username no other stored data contains.
const CANARY: &str = "zq7erasurecanary";

/// The database file and its write-ahead log, as stored on disk right now.
fn on_disk(db: &TestDb) -> Vec<u8> {
    let mut bytes = std::fs::read(&db.url).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.url)) {
        bytes.extend(wal);
    }
    bytes
}

fn is_on_disk(db: &TestDb, needle: &str) -> bool {
    on_disk(db)
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A store with other people's profiles around the one to erase, so that the erased rows
/// share pages with rows that stay.
fn store_with_neighbours(db: &TestDb) -> Store {
    let mut store = Store::open(&db.url).unwrap();
    for i in 1..30 {
        let p = profile(i);
        store
            .create_profile(Platform::TikTok, &p, &raw(&p), Some("neighbours"))
            .unwrap();
    }
    store
}

fn canary_profile(tag: &str) -> Profile {
    let mut p = profile(7);
    p.user_id = format!("990077{}", tag.len());
    p.username = format!("{CANARY}_{tag}");
    p
}

#[test]
fn a_deleted_profile_is_overwritten_in_the_sqlite_file() {
    let db = TestDb::sqlite();
    let mut store = store_with_neighbours(&db);
    let p = canary_profile("profile");
    let id = store
        .create_profile(Platform::TikTok, &p, &raw(&p), Some("owner_a"))
        .unwrap();
    assert!(
        is_on_disk(&db, CANARY),
        "the check must see a stored username"
    );

    store.delete_profile(id).unwrap();
    assert!(
        !is_on_disk(&db, CANARY),
        "the deleted profile's username is still readable in the database files"
    );
    assert_eq!(
        store.get_profile(1).unwrap().owner.as_deref(),
        Some("neighbours")
    );
}

#[test]
fn an_owners_deleted_profiles_are_overwritten_in_the_sqlite_file() {
    let db = TestDb::sqlite();
    let mut store = store_with_neighbours(&db);
    for tag in ["x", "instagram"] {
        let p = canary_profile(tag);
        let platform = if tag == "x" {
            Platform::X
        } else {
            Platform::Instagram
        };
        store
            .create_profile(platform, &p, &raw(&p), Some("owner_b"))
            .unwrap();
    }
    assert!(is_on_disk(&db, CANARY));

    assert_eq!(store.delete_owner("owner_b").unwrap(), 2);
    assert!(
        !is_on_disk(&db, CANARY),
        "an erased owner's usernames are still readable in the database files"
    );
}

#[test]
fn an_erased_principal_is_overwritten_in_the_sqlite_file() {
    let db = TestDb::sqlite();
    let mut store = store_with_neighbours(&db);
    let p = canary_profile("account");
    let r = raw(&p);
    let session = NewSession {
        token_hash: "erased-session".to_owned(),
        expires_at: Utc::now() + Duration::days(30),
    };
    let account = crate::principals::account_of(&p, &r, AccountMethod::OAuth, Some(session));
    let connected = store
        .connect_account(&account, &mut |_| {
            Ok::<_, ()>(Placement::Proven("usr_canary".to_owned()))
        })
        .unwrap()
        .unwrap();
    assert!(is_on_disk(&db, CANARY));
    assert!(is_on_disk(&db, "usr_canary"));

    store.delete_principal(&connected.principal_id).unwrap();
    assert!(
        !is_on_disk(&db, CANARY),
        "the erased person's username (profile or account row) is still readable"
    );
    assert!(
        !is_on_disk(&db, "usr_canary"),
        "the erased principal's row is still readable"
    );
}
