//! The platform apps' shared request budgets, the same on SQLite and PostgreSQL: rules
//! count per fixed window, a spent rule refuses without counting, a pause holds for
//! everyone, and concurrent spenders on separate connections never pass a limit.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use toker_store::testing::TestDb;
use toker_store::{BudgetRule, Spend, Store, StoreError};
use toker_testkit::on_both_backends;

on_both_backends!(
    store:
    rules_count_per_window_and_a_spent_rule_counts_nothing,
    a_pause_holds_every_rule_and_only_lengthens,
    bad_rules_are_refused_by_name,
    rate_counts_add_up_per_window_and_old_windows_go,
);

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn rule(limit: u64, secs: u64) -> BudgetRule {
    BudgetRule {
        limit,
        window: Duration::from_secs(secs),
    }
}

fn rules_count_per_window_and_a_spent_rule_counts_nothing(store: &mut Store) {
    // 3 a minute and 5 an hour, starting 10 s into a minute.
    let rules = [rule(3, 60), rule(5, 3600)];
    let t0 = 3600 * 1000 + 10;
    for i in 0..3 {
        assert_eq!(
            store.spend_budget("x", &rules, at(t0 + i)).unwrap(),
            Spend::Granted
        );
    }
    // The minute is spent: wait to its end (50 s from t0 + 3 → 47 s), counting nothing.
    assert_eq!(
        store.spend_budget("x", &rules, at(t0 + 3)).unwrap(),
        Spend::Wait(Duration::from_secs(47))
    );
    assert_eq!(
        store.budget_usage("x", at(t0 + 3)).unwrap(),
        [(60, 3), (3600, 3)]
    );
    // Another app's budget is its own.
    assert_eq!(
        store.spend_budget("tiktok", &rules, at(t0 + 3)).unwrap(),
        Spend::Granted
    );
    // The next minute opens with room; the hour's five run out after two more.
    let t1 = t0 + 60;
    for i in 0..2 {
        assert_eq!(
            store.spend_budget("x", &rules, at(t1 + i)).unwrap(),
            Spend::Granted
        );
    }
    // The hour is spent: the minute's counter is given back, and the wait runs to the
    // hour's end.
    let wait = store.spend_budget("x", &rules, at(t1 + 2)).unwrap();
    assert_eq!(wait, Spend::Wait(Duration::from_secs(3600 - 72)));
    assert_eq!(
        store.budget_usage("x", at(t1 + 2)).unwrap(),
        [(60, 2), (3600, 5)]
    );
    // A new hour: room again.
    assert_eq!(
        store.spend_budget("x", &rules, at(t0 + 3600)).unwrap(),
        Spend::Granted
    );
}

fn a_pause_holds_every_rule_and_only_lengthens(store: &mut Store) {
    let t0 = 1_800_000_000;
    store.pause_budget("x", at(t0 + 30)).unwrap();
    // Paused: with rules or without, nothing is counted.
    assert_eq!(
        store.spend_budget("x", &[rule(10, 60)], at(t0)).unwrap(),
        Spend::Wait(Duration::from_secs(30))
    );
    assert_eq!(
        store.spend_budget("x", &[], at(t0 + 10)).unwrap(),
        Spend::Wait(Duration::from_secs(20))
    );
    // A shorter pause does not cut the longer one short; a longer one extends it.
    store.pause_budget("x", at(t0 + 5)).unwrap();
    assert_eq!(
        store.spend_budget("x", &[], at(t0 + 10)).unwrap(),
        Spend::Wait(Duration::from_secs(20))
    );
    store.pause_budget("x", at(t0 + 90)).unwrap();
    assert_eq!(
        store.spend_budget("x", &[], at(t0 + 80)).unwrap(),
        Spend::Wait(Duration::from_secs(10))
    );
    assert_eq!(
        store
            .spend_budget("x", &[rule(10, 60)], at(t0 + 90))
            .unwrap(),
        Spend::Granted
    );
    assert_eq!(store.budget_usage("x", at(t0 + 90)).unwrap(), [(60, 1)]);
    assert_eq!(
        store.spend_budget("instagram", &[], at(t0)).unwrap(),
        Spend::Granted
    );
}

fn bad_rules_are_refused_by_name(store: &mut Store) {
    let err = store.spend_budget("x", &[rule(1, 0)], at(0)).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("x budget") && msg.contains("window"), "{msg}");
    let err = store
        .spend_budget("x", &[rule(u64::MAX, 60)], at(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("limit"), "{err}");
}

fn rate_counts_add_up_per_window_and_old_windows_go(store: &mut Store) {
    let counts = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
    };
    // Two replicas' counts of one window add up; scopes are apart.
    assert_eq!(
        store
            .add_rate_counts("key", 600, &counts(&[("a", 4), ("b", 1)]))
            .unwrap(),
        [4, 1]
    );
    assert_eq!(
        store
            .add_rate_counts("key", 600, &counts(&[("a", 3)]))
            .unwrap(),
        [7]
    );
    assert_eq!(
        store
            .add_rate_counts("address", 600, &counts(&[("a", 1)]))
            .unwrap(),
        [1]
    );
    assert_eq!(store.rate_keys_over("key", 600, 5, 10).unwrap(), ["a"]);
    assert!(store.rate_keys_over("key", 600, 8, 10).unwrap().is_empty());
    // The next window starts from nothing and drops the last one.
    assert_eq!(
        store
            .add_rate_counts("key", 660, &counts(&[("a", 1)]))
            .unwrap(),
        [1]
    );
    assert!(store.rate_keys_over("key", 600, 1, 10).unwrap().is_empty());
    assert_eq!(store.rate_keys_over("address", 600, 1, 10).unwrap(), ["a"]);
}

/// Eight connections spend at once against a limit of 25 a window: exactly 25 are granted.
fn concurrent_spenders_never_pass_the_limit(db: &TestDb) {
    drop(Store::open(&db.url).unwrap());
    let now = Utc::now();
    let spenders: Vec<_> = (0..8)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                (0..10)
                    .filter(|_| {
                        store.spend_budget("x", &[rule(25, 3600)], now).unwrap() == Spend::Granted
                    })
                    .count()
            })
        })
        .collect();
    let granted: usize = spenders.into_iter().map(|s| s.join().unwrap()).sum();
    assert_eq!(granted, 25);
    let mut store = Store::open(&db.url).unwrap();
    assert_eq!(store.budget_usage("x", now).unwrap(), [(3600, 25)]);
}

#[test]
fn sqlite_concurrent_spenders_never_pass_the_limit() {
    concurrent_spenders_never_pass_the_limit(&TestDb::sqlite());
}

#[test]
fn postgres_concurrent_spenders_never_pass_the_limit() {
    if let Some(db) = TestDb::postgres() {
        concurrent_spenders_never_pass_the_limit(&db);
    }
}
