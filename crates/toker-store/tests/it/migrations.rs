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

/// Runs `sql` on the database behind `db`, outside the store.
fn execute(db: &TestDb, sql: &str) {
    match db.backend() {
        toker_store::Backend::Sqlite => rusqlite::Connection::open(&db.url)
            .unwrap()
            .execute_batch(sql)
            .unwrap(),
        toker_store::Backend::Postgres => postgres::Client::connect(&db.url, postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
    }
}

/// Reverts migrations until `name` is no longer applied.
fn revert_past(db: &TestDb, name: &str) {
    let mut m = Migrator::connect(&db.url).unwrap();
    while m
        .status()
        .unwrap()
        .iter()
        .any(|s| s.applied && s.name.ends_with(name))
    {
        m.revert().unwrap();
    }
}

/// Before unproven copies, an export upload claimed the account's profile and wrote an
/// `export` account row: the migration makes it the uploader's private copy (and back).
fn export_claims_become_private_copies(db: &TestDb) {
    use toker_model::Listing;
    use toker_model::Platform;
    drop(Store::open(&db.url).unwrap());
    revert_past(db, "_unproven_uploads");
    let at = "'2026-01-01T00:00:00.000000Z'";
    execute(
        db,
        &format!(
            "INSERT INTO principals (id, created_at) VALUES ('usr_up', {at}), ('usr_ok', {at});
             INSERT INTO profiles (platform, user_id, username, raw_json, owner, created_at, updated_at)
                 VALUES ('x', '1', 'claimed', '{{}}', 'usr_up', {at}, {at}),
                        ('x', '2', 'keyed', '{{}}', 'keyowner1234', {at}, {at}),
                        ('x', '3', 'proven', '{{}}', 'usr_ok', {at}, {at});
             INSERT INTO principal_accounts (platform, user_id, principal_id, username, method, created_at, updated_at)
                 VALUES ('x', '1', 'usr_up', 'claimed', 'export', {at}, {at}),
                        ('x', '3', 'usr_ok', 'proven', 'oauth', {at}, {at});"
        ),
    );
    let mut store = Store::open(&db.url).unwrap();
    let seen: Vec<String> = store
        .list_profiles(&Listing::default())
        .unwrap()
        .into_iter()
        .map(|r| r.user_id)
        .collect();
    assert_eq!(seen, ["2", "3"]);
    let own = store.list_profiles(&Listing::owner("usr_up")).unwrap();
    assert!(own.len() == 1 && own[0].unproven && own[0].user_id == "1");
    assert!(store.get_account(Platform::X, "1").unwrap().is_none());
    assert!(store.get_account(Platform::X, "3").unwrap().is_some());
    // The claim's key is free: the account's profile can be stored beside the copy.
    let mut p = toker_model::Profile::new("1", "real");
    p.number_of_likes = Some(150);
    store
        .create_profile(Platform::X, &p, &serde_json::json!({}), None)
        .unwrap();
    drop(store);

    // Down: one profile per account again; the copy goes where the account has one.
    revert_past(db, "_unproven_uploads");
    let mut store = Store::open(&db.url).unwrap();
    let seen: Vec<String> = store
        .list_profiles(&Listing::default())
        .unwrap()
        .into_iter()
        .map(|r| r.username)
        .collect();
    assert_eq!(seen, ["keyed", "proven", "real"]);
}

#[test]
fn sqlite_export_claims_become_private_copies() {
    export_claims_become_private_copies(&TestDb::sqlite());
}

#[test]
fn postgres_export_claims_become_private_copies() {
    if let Some(db) = TestDb::postgres() {
        export_claims_become_private_copies(&db);
    }
}

/// Profiles stored before interests existed read back equal, with none; a profile's
/// interests go when the migration is reverted, and everything else stays.
fn profiles_before_interests_read_back_equal(db: &TestDb) {
    use toker_model::Platform;
    use toker_testkit::samples::{profile, raw};
    let mut store = Store::open(&db.url).unwrap();
    let mut before = profile(2);
    before.interests.clear();
    let id = store
        .create_profile(Platform::TikTok, &before, &raw(&before), None)
        .unwrap();
    drop(store);
    revert_past(db, "_profile_interests");
    let mut store = Store::open(&db.url).unwrap();
    assert_eq!(store.get_profile(id).unwrap().profile, before);
    let mut with = profile(1);
    assert!(!with.interests.is_empty());
    store.replace_profile(id, &with, &raw(&with)).unwrap();
    assert_eq!(store.get_profile(id).unwrap().profile, with);
    drop(store);
    revert_past(db, "_profile_interests");
    with.interests.clear();
    let mut store = Store::open(&db.url).unwrap();
    assert_eq!(store.get_profile(id).unwrap().profile, with);
}

#[test]
fn sqlite_profiles_before_interests_read_back_equal() {
    profiles_before_interests_read_back_equal(&TestDb::sqlite());
}

#[test]
fn postgres_profiles_before_interests_read_back_equal() {
    if let Some(db) = TestDb::postgres() {
        profiles_before_interests_read_back_equal(&db);
    }
}
