//! Three `toker worker` processes and two `toker serve` replicas on one PostgreSQL: a few
//! hundred people with a connected X account each ask for a refresh of it through the
//! replicas (`POST /v1/me/refresh`, alternating, asking again through the other replica
//! now and then), and the workers refresh the accounts from the platform replay while the
//! test kills a worker with SIGKILL in the middle of its jobs, again and again. Every
//! account ends refreshed exactly once (the one job the replicas answered, succeeded, its
//! next run planned), with exactly the liked posts the platform lists, and no account was
//! ever read by two runs at once; each person follows their job to its end through the
//! replica they did not ask. The X app's request budget, shared by the workers through
//! the database, holds: no window saw more requests than it allows.
//! `TOKER_FLEET_ACCOUNTS` sets how many accounts (default 1,000; fewer for a quick look).

use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use toker_collect::tokens::{SecretKey, TokenCipher};
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::PlatformTokens;
use toker_store::{JobState, NewSession, Store};
use toker_testkit::replay::{Replay, SYNTHETIC_X, synthetic_x_id};

/// The X app's budget the workers share: this many requests per [`WINDOW_S`] seconds,
/// below the rate three workers reach without it.
const BUDGET: usize = 40;
const WINDOW_S: u64 = 2;
/// Worker processes, and jobs each runs at once; API replicas.
const WORKERS: usize = 3;
const REPLICAS: usize = 2;
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

/// A child process killed if the test ends before it does.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `toker serve` replica that queues work and runs none (`--workers 0`); its base URL.
fn replica(database: &str, replay: &Replay) -> (Running, String) {
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .env_remove("TOKER_LOG")
        .envs(replay.env("http://127.0.0.1:9"))
        .env("TOKER_SECRET_KEY", SECRET_KEY)
        .args(["--database", database, "serve", "--bind", "127.0.0.1:0"])
        .args([
            "--workers",
            "0",
            "--rate-limit",
            "0",
            "--refresh-minutes",
            "60",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = crate::common::served_base(&mut child);
    (Running(child), base)
}

/// Stores `n` connected synthetic X accounts, person `usr_<i>` signed in with
/// [`session_token`]`(i)`.
fn connect_accounts(store: &mut Store, n: u64) {
    let cipher = TokenCipher::new(&SecretKey::from_hex(SECRET_KEY).unwrap());
    toker_store::testing::connect_synthetic_accounts(store, n, synthetic_x_id, |i, user_id| {
        cipher.seal_tokens(Platform::X, user_id, &synthetic_tokens(i))
    });
    for i in 0..n {
        let session = NewSession {
            token_hash: Sha256::digest(session_token(i).as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        };
        store.create_session(&format!("usr_{i}"), &session).unwrap();
    }
}

/// Person `i`'s session token (`tks_` and 43 characters, as the server makes them).
fn session_token(i: u64) -> String {
    format!("tks_{i:0>43}")
}

/// Person `i` asks `base` for a refresh; the job's id and state as answered.
async fn ask_refresh(http: &reqwest::Client, base: &str, i: u64) -> (i64, String) {
    let reply = http
        .post(format!("{base}/v1/me/refresh"))
        .bearer_auth(session_token(i))
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let job: Value = reply.json().await.unwrap();
    assert!(
        status == reqwest::StatusCode::ACCEPTED || status == reqwest::StatusCode::OK,
        "usr_{i}: {status} {job}"
    );
    let state = job["state"].as_str().unwrap().to_owned();
    (job["id"].as_i64().unwrap(), state)
}

/// People `people` ask for their refresh, person `i` through replica `i % R`; with
/// `again_every: Some(n)`, every n-th asks again through the next replica and must be
/// answered the same job (ask so only while no worker runs: a refresh that ended in
/// between would rightly be a new one). The job ids by person.
async fn ask_refreshes(
    bases: &[String],
    people: std::ops::Range<u64>,
    again_every: Option<u64>,
) -> Vec<(u64, i64)> {
    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(people.clone().count());
    let mut asking = tokio::task::JoinSet::new();
    for i in people {
        if asking.len() >= 16 {
            ids.push(asking.join_next().await.unwrap().unwrap());
        }
        let (http, bases) = (http.clone(), bases.to_vec());
        asking.spawn(async move {
            let (id, _) = ask_refresh(&http, &bases[i as usize % REPLICAS], i).await;
            if again_every.is_some_and(|n| i % n == 0) {
                let (again, state) =
                    ask_refresh(&http, &bases[(i as usize + 1) % REPLICAS], i).await;
                assert_eq!(
                    again, id,
                    "usr_{i}: two replicas answered two jobs ({state})"
                );
            }
            (i, id)
        });
    }
    while let Some(joined) = asking.join_next().await {
        ids.push(joined.unwrap());
    }
    ids
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
async fn three_workers_killed_mid_job_refresh_every_account_asked_through_two_replicas_once() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    let accounts: u64 = std::env::var("TOKER_FLEET_ACCOUNTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let replay = Replay::start("127.0.0.1:0").await;
    // A platform that takes its time: runs are long enough to be killed in the middle.
    replay.set_delay(Duration::from_millis(15));
    let mut store = Store::open(&db.url).unwrap();
    connect_accounts(&mut store, accounts);

    let replicas: Vec<_> = (0..REPLICAS).map(|_| replica(&db.url, &replay)).collect();
    let bases: Vec<String> = replicas.iter().map(|(_, base)| base.clone()).collect();

    // Half the people ask before any worker runs (some twice, through both replicas), the
    // other half while the workers run and are killed.
    let half = accounts / 2;
    let mut asked = ask_refreshes(&bases, 0..half, Some(10)).await;
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&db.url, &replay)).collect();
    let asking = tokio::spawn({
        let bases = bases.clone();
        async move { ask_refreshes(&bases, half..accounts, None).await }
    });
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
        // The budget lets ~20 requests a second through; an account takes a few.
        assert!(
            started.elapsed()
                < Duration::from_secs(60) + Duration::from_millis(600) * accounts as u32,
            "the refreshes did not end: {counts:?}"
        );
    }
    let elapsed = started.elapsed();
    asked.extend(asking.await.unwrap());
    let asked: std::collections::HashMap<u64, i64> = asked.into_iter().collect();
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    eprintln!(
        "{accounts} accounts asked through {REPLICAS} replicas, refreshed by {WORKERS} workers \
         in {:.1} s ({:.1}/s) with {kills} kills",
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
        let done = mine
            .iter()
            .find(|j| j.state == JobState::Succeeded)
            .unwrap();
        assert_eq!(done.id, asked[&i], "{owner}: not the job answered");
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
    // People follow their job through the replica they did not ask.
    let http = reqwest::Client::new();
    for i in (0..accounts).step_by(7) {
        let base = &bases[(i as usize + 1) % REPLICAS];
        let url = format!("{base}/v1/jobs/{}", asked[&i]);
        let job = crate::common::get_json(&http, &url, &session_token(i)).await;
        assert_eq!(job["state"], "succeeded", "usr_{i}: {job}");
        assert_eq!(
            job["result"]["accounts"][0]["platform"], "x",
            "usr_{i}: {job}"
        );
        // Another person does not see it.
        let other = http
            .get(format!("{base}/v1/jobs/{}", asked[&i]))
            .bearer_auth(session_token((i + 1) % accounts))
            .send()
            .await
            .unwrap();
        assert_eq!(
            other.status(),
            reqwest::StatusCode::NOT_FOUND,
            "usr_{i}'s job"
        );
    }
    drop(replicas);
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
