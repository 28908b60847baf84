//! Several OS processes on one SQLite file: concurrent writers lose no acknowledged write,
//! and a writer killed in the middle of a bulk ingest leaves only whole profiles.
//!
//! The child processes are this test binary run again with `child_process` selected and
//! `TOKER_STORE_CHILD` telling it what to do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use diesel::{Connection, RunQueryDsl, SqliteConnection, sql_query};
use toker_model::Listing;
use toker_store::testing::TestDb;
use toker_store::{IngestItem, IngestOptions, Store};
use toker_testkit::samples::{platform, profile, raw};

const CHILD_ENV: &str = "TOKER_STORE_CHILD";
const DB_ENV: &str = "TOKER_STORE_CHILD_DB";

/// What a child does, from `TOKER_STORE_CHILD`:
/// - `create FIRST COUNT`: creates profiles FIRST.. one transaction each;
/// - `ingest FIRST COUNT BATCH`: ingests profiles FIRST.. in batches.
///
/// It prints `ACK <id> <key>` for each write the store acknowledged.
#[test]
#[ignore = "run as a child process by the tests in this file"]
fn child_process() {
    let Ok(task) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = std::env::var(DB_ENV).unwrap();
    let mut store = Store::open(&db).unwrap();
    let words: Vec<&str> = task.split(' ').collect();
    let number = |i: usize| words[i].parse::<u64>().unwrap();
    match words[0] {
        "create" => {
            for i in number(1)..number(1) + number(2) {
                let p = profile(i);
                let id = store
                    .create_profile(platform(i), &p, &raw(&p), None)
                    .unwrap();
                println!("ACK {id} {}:{}", platform(i), p.user_id);
            }
        }
        "ingest" => {
            let first = number(1);
            let items = (first..first + number(2)).map(|i| {
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
                batch_size: usize::try_from(number(3)).unwrap(),
                upsert: false,
            };
            store
                .ingest(items, &opts, &mut |o| {
                    println!("ACK {} {}", o.result.id(), o.key);
                })
                .unwrap();
        }
        other => panic!("unknown child task {other:?}"),
    }
}

fn spawn(db: &TestDb, task: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "processes::child_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, task)
        .env(DB_ENV, &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The acknowledged writes in a child's output: id → key.
fn acks(output: &str) -> BTreeMap<i64, String> {
    output
        .lines()
        // libtest may print "test child_process ... " on the same line as the first ACK
        .filter_map(|l| l.find("ACK ").map(|at| &l[at + 4..]))
        .map(|l| {
            let (id, key) = l.split_once(' ').unwrap();
            (id.parse().unwrap(), key.to_owned())
        })
        .collect()
}

#[test]
fn concurrent_processes_lose_no_acknowledged_write() {
    let db = TestDb::sqlite();
    drop(Store::open(&db.url).unwrap()); // the schema exists before the race starts
    let children = [
        spawn(&db, "create 0 120"),
        spawn(&db, "create 1000 120"),
        spawn(&db, "ingest 2000 400 7"),
    ];
    let mut acked = BTreeMap::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed: {}", out.status);
        let mine = acks(&String::from_utf8(out.stdout).unwrap());
        assert!(!mine.is_empty());
        for (id, key) in mine {
            assert!(
                acked.insert(id, key).is_none(),
                "id {id} acknowledged twice"
            );
        }
    }
    assert_eq!(acked.len(), 640);

    let mut store = Store::open(&db.url).unwrap();
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 640);
    for (id, key) in &acked {
        let stored = store.get_profile(*id).unwrap();
        assert_eq!(&stored.key(), key);
        let i: u64 = stored.profile.user_id.parse::<u64>().unwrap() - 100_000;
        assert_eq!(stored.profile, profile(i));
    }
}

#[test]
fn a_killed_ingest_leaves_only_whole_profiles() {
    const BATCH: u64 = 50;
    let db = TestDb::sqlite();
    drop(Store::open(&db.url).unwrap());
    let mut child = spawn(&db, &format!("ingest 0 1000000 {BATCH}"));
    // Drain the child's output in a thread, so that it never waits on a full pipe (it would
    // then be between transactions) and the kill lands while it is writing.
    let stdout = child.stdout.take().unwrap();
    let (progress, enough) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acked = BTreeMap::new();
        for line in BufReader::new(stdout).lines() {
            acked.extend(acks(&line.unwrap()));
            if acked.len() >= 1000 {
                let _ = progress.send(());
            }
        }
        acked
    });
    enough
        .recv()
        .expect("the child stopped before 1000 profiles");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acked = reader.join().unwrap();

    let mut raw_conn = SqliteConnection::establish(&db.url).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let check: Vec<Check> = sql_query("PRAGMA integrity_check")
        .load(&mut raw_conn)
        .unwrap();
    assert_eq!(check[0].integrity_check, "ok");
    drop(raw_conn);

    let mut store = Store::open(&db.url).unwrap();
    let rows = store.list_profiles(&Listing::default()).unwrap();
    let stored = rows.len() as u64;
    assert!(stored >= acked.len() as u64);
    assert_eq!(stored % BATCH, 0, "only whole batches are committed");
    for (id, key) in &acked {
        assert!(
            rows.binary_search_by_key(id, |r| r.id).is_ok(),
            "acknowledged {key} (id {id}) is missing"
        );
    }
    let mut seen = 0;
    store
        .for_each_profile(&Listing::default(), &mut |p| {
            let i: u64 = p.profile.user_id.parse::<u64>().unwrap() - 100_000;
            assert_eq!(p.profile, profile(i), "profile {} is not whole", p.key());
            let row = &rows[seen];
            assert_eq!(row.liked_count, p.profile.liked_videos.len() as u64);
            assert_eq!(row.shared_count, p.profile.shared_videos.len() as u64);
            seen += 1;
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen as u64, stored);
    let stats = store.stats().unwrap();
    let links: u64 = rows.iter().map(|r| r.liked_count + r.shared_count).sum();
    assert_eq!(stats.liked_links + stats.shared_links, links);
}
