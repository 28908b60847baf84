//! Three `toker worker` processes on one PostgreSQL refresh a few hundred connected X
//! accounts from the platform replay while the test kills a worker with SIGKILL in the
//! middle of its jobs, again and again. Every account ends refreshed exactly once (one
//! succeeded job, its next run planned), with exactly the liked posts the platform lists,
//! and no account was ever read by two runs at once. The X app's request budget, shared by
//! the workers through the database, holds: no window saw more requests than it allows.
//! `TOKER_FLEET_ACCOUNTS` sets how many accounts (default 300).

use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use toker_collect::tokens::{SecretKey, TokenCipher};
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::PlatformTokens;
use toker_store::{JobState, Store};
use toker_testkit::replay::{Replay, SYNTHETIC_X, synthetic_x_id};

/// The X app's budget the workers share: this many requests per [`WINDOW_S`] seconds,
/// below the rate three workers reach without it.
const BUDGET: usize = 40;
const WINDOW_S: u64 = 2;
/// Worker processes, and jobs each runs at once.
const WORKERS: usize = 3;
const SLOTS: usize = 2;

/// The key the workers open the accounts' tokens with.
const SECRET_KEY: &str = "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978";

fn worker(database: &str, replay: &Replay) -> Child {
    Process::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .env_remove("TOKER_LOG")
        .envs(replay.env("http://127.0.0.1:9"))
        .env("TOKER_SECRET_KEY", SECRET_KEY)
        .env("TOKER_CONNECT_X_BUDGET", format!("{BUDGET}/{WINDOW_S}s"))
        .args(["--database", database, "worker", "--concurrency"])
        .arg(SLOTS.to_string())
        .args(["--lease-seconds", "3", "--poll-interval-ms", "50"])
        .args(["--refresh-minutes", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Stores `n` connected synthetic X accounts and queues a refresh of each.
fn connect_accounts(store: &mut Store, n: u64) {
    let cipher = TokenCipher::new(&SecretKey::from_hex(SECRET_KEY).unwrap());
    toker_store::testing::connect_synthetic_accounts(store, n, synthetic_x_id, |i, user_id| {
        cipher.seal_tokens(Platform::X, user_id, &synthetic_tokens(i))
    });
}

/// The tokens of synthetic X user `i` (the replay accepts them without a connect).
fn synthetic_tokens(i: u64) -> PlatformTokens {
    PlatformTokens {
        access_token: Secret::new(format!("{SYNTHETIC_X}{i}")),
        expires_in: Some(Duration::from_secs(7200)),
        refresh_token: None,
        refresh_expires_in: None,
        scope: Some("tweet.read users.read like.read offline.access".to_owned()),
        account_id: None,
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_killed_mid_job_refresh_every_account_exactly_once() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    let accounts: u64 = std::env::var("TOKER_FLEET_ACCOUNTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let replay = Replay::start("127.0.0.1:0").await;
    // A platform that takes its time: runs are long enough to be killed in the middle.
    replay.set_delay(Duration::from_millis(15));
    let mut store = Store::open(&db.url).unwrap();
    connect_accounts(&mut store, accounts);

    let started = Instant::now();
    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&db.url, &replay)).collect();
    let mut kills = 0;
    let finished = |store: &mut Store| {
        let c = store.count_jobs(Some("refresh")).unwrap();
        c.succeeded + c.failed + c.dead
    };
    loop {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let counts = store.count_jobs(Some("refresh")).unwrap();
        if finished(&mut store) >= accounts {
            break;
        }
        // Kill the worker whose turn it is while jobs run, and start another.
        if kills < 6 && counts.running > 0 {
            let victim = kills % workers.len();
            workers[victim].kill().unwrap(); // SIGKILL
            workers[victim].wait().unwrap();
            workers[victim] = worker(&db.url, &replay);
            kills += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the refreshes did not end: {counts:?}"
        );
    }
    let elapsed = started.elapsed();
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    eprintln!(
        "{accounts} accounts refreshed by 3 workers in {:.1} s ({:.1}/s) with {kills} kills",
        elapsed.as_secs_f64(),
        accounts as f64 / elapsed.as_secs_f64()
    );
    assert!(
        kills >= 3,
        "the workers were killed mid-job only {kills} times"
    );

    let jobs = store.list_jobs(Some("refresh")).unwrap();
    let retaken = jobs.iter().filter(|j| j.attempts > 1).count();
    assert!(retaken > 0, "no job was taken over from a killed worker");
    let liked = store
        .get_profile_by_key(Platform::X, &synthetic_x_id(0))
        .unwrap()
        .profile
        .liked_videos
        .len();
    assert!(liked > 0);
    for i in 0..accounts {
        let owner = format!("usr_{i}");
        let mine: Vec<_> = jobs
            .iter()
            .filter(|j| j.owner.as_deref() == Some(owner.as_str()))
            .collect();
        let succeeded = mine
            .iter()
            .filter(|j| j.state == JobState::Succeeded)
            .count();
        assert_eq!(succeeded, 1, "{owner}: {mine:?}");
        let planned: Vec<_> = mine
            .iter()
            .filter(|j| j.state == JobState::Queued)
            .collect();
        assert_eq!(planned.len(), 1, "{owner}: the next run is planned once");
        assert!(planned[0].run_after > chrono::Utc::now() + chrono::Duration::minutes(50));
        let result = mine
            .iter()
            .find(|j| j.state == JobState::Succeeded)
            .and_then(|j| j.result.clone())
            .unwrap();
        // `unchanged` when a killed attempt had stored the profile before its job ended.
        let outcome = &result["accounts"][0]["outcome"];
        assert!(
            outcome == "updated" || outcome == "unchanged",
            "{owner}: {result}"
        );
        // Exactly the liked posts the platform lists: none lost, none twice.
        let profile = store
            .get_profile_by_key(Platform::X, &synthetic_x_id(i))
            .unwrap()
            .profile;
        let mut ids: Vec<_> = profile.liked_videos.iter().map(|v| &v.video_id).collect();
        assert_eq!(ids.len(), liked, "{owner}");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), liked, "{owner}: a liked post stored twice");
    }
    assert_eq!(
        replay.overlaps(),
        0,
        "an account was read by two runs at once"
    );

    // The shared budget: X API requests per window as the platform saw them arrive. A
    // request spent at the end of a window may arrive just after it: at most one per job
    // slot, of the live workers and of one just killed, so a window holds at most the
    // budget and that many.
    let slip = (WORKERS + 1) * SLOTS;
    let mut per_window = std::collections::BTreeMap::<u64, usize>::new();
    for logged in replay.log().iter().filter(|l| is_x_api(&l.path)) {
        let secs = logged
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        *per_window.entry(secs / WINDOW_S).or_default() += 1;
    }
    let busiest = per_window.values().copied().max().unwrap_or(0);
    let requests: usize = per_window.values().sum();
    eprintln!(
        "{requests} X API requests in {} windows of {WINDOW_S} s, the busiest with {busiest}",
        per_window.len()
    );
    assert!(
        busiest <= BUDGET + slip,
        "a window of {WINDOW_S} s saw {busiest} requests, over the budget of {BUDGET}: \
         {per_window:?}"
    );
    // Not vacuous: the workers ran into the budget.
    assert!(
        busiest + slip >= BUDGET,
        "the busiest window saw only {busiest} requests: the budget never bound"
    );
}

/// Whether `path` is a request to the X API the budget counts (the OAuth token endpoint is
/// not the data API).
fn is_x_api(path: &str) -> bool {
    path.starts_with("/x/2/") && !path.starts_with("/x/2/oauth2/")
}
