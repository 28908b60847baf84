//! Three processes on one PostgreSQL, as docs/DEPLOY.md starts them: two `toker serve`
//! replicas that queue work and run none of it (`--workers 0`) and one `toker worker`.
//! A key made once works on both replicas; a refit queued through one is run by the
//! worker; the other replica answers matches from the new vocabulary within 5 s, and no
//! answer mixes two vocabularies. A profile created through one replica is among the
//! other's matches within 5 s, with no refit, and gone from them once deleted. An export
//! uploaded to one replica by a signed-out person is imported by the worker, and the
//! person follows the job and finds their account through the other replica.

use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};

/// A child process killed if the test ends before it does.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn toker(database: &str) -> Process {
    let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("toker"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("TOKER_LOG")
        .env(
            "TOKER_SECRET_KEY",
            "5c1e9a3f7b2d4e6f8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e",
        )
        .arg("--database")
        .arg(database);
    cmd
}

/// Starts `toker serve` on a free port; the process and its base URL.
fn replica(database: &str) -> (Running, String) {
    let mut child = toker(database)
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "0"])
        .args(["--rate-limit", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = crate::common::served_base(&mut child);
    (Running(child), base)
}

/// The vocabulary version of profile 1's matches on `base`.
async fn match_version(http: &reqwest::Client, base: &str, key: &str) -> Option<String> {
    let reply = http
        .get(format!("{base}/v1/profiles/1/matches?top=5"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    if !reply.status().is_success() {
        return None;
    }
    let body: Value = reply.json().await.unwrap();
    body["vocabulary_version"].as_str().map(str::to_owned)
}

/// The ids of profile 1's matches (top 100) on `base`.
async fn match_ids(http: &reqwest::Client, base: &str, key: &str) -> Vec<i64> {
    let reply = http
        .get(format!("{base}/v1/profiles/1/matches?top=100"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{}", reply.status());
    let body: Value = reply.json().await.unwrap();
    body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// Waits up to 5 s for `done` to hold of profile 1's matches on `base`.
async fn matches_until(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    what: &str,
    done: impl Fn(&[i64]) -> bool,
) {
    let start = Instant::now();
    loop {
        let ids = match_ids(http, base, key).await;
        if done(&ids) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{base}: {what}, still {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for job `id` (through `base`) to end; its final document.
async fn job_end(http: &reqwest::Client, base: &str, key: &str, id: i64) -> Value {
    let started = Instant::now();
    loop {
        let job = crate::common::get_json(http, &format!("{base}/v1/jobs/{id}?wait=5"), key).await;
        if job["finished_at"].is_string() {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "job {id} never ended: {job}"
        );
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_and_a_worker_on_postgres_behave_as_one_service() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    let created = Command::cargo_bin("toker")
        .unwrap()
        .env_remove("DATABASE_URL")
        .args(["--database", &db.url, "--json", "apikey", "create"])
        .args(["--role", "admin"])
        .assert()
        .success();
    let created: Value = serde_json::from_slice(&created.get_output().stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let (_a, a) = replica(&db.url);
    let (_b, b) = replica(&db.url);
    let _worker = Running(
        toker(&db.url)
            .args([
                "worker",
                "--poll-interval-ms",
                "100",
                "--refresh-minutes",
                "0",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();

    // Profiles stored through one replica, a first refit through the other.
    let generated = http
        .post(format!("{a}/v1/profiles:generate"))
        .bearer_auth(&key)
        .json(&json!({"platform": "tiktok", "count": 60, "seed": 5}))
        .send()
        .await
        .unwrap();
    assert!(generated.status().is_success());
    let refit = http
        .post(format!("{b}/v1/vectorize"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(refit.status().is_success());
    let first = match_version(&http, &b, &key).await.expect("B matches");
    assert_eq!(
        match_version(&http, &a, &key).await.as_deref(),
        Some(first.as_str())
    );

    // More profiles, and a refit queued as a job through A: the worker runs it.
    let generated = http
        .post(format!("{a}/v1/profiles:generate"))
        .bearer_auth(&key)
        .json(&json!({"platform": "tiktok", "count": 60, "seed": 6}))
        .send()
        .await
        .unwrap();
    assert!(generated.status().is_success());
    let mut store = toker_store::Store::open(&db.url).unwrap();
    let id = toker_store::testing::enqueue_due(&mut store, "vectorize", 1);
    let job = job_end(&http, &a, &key, id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let second = store.load_vocabulary().unwrap().unwrap().version;
    assert_ne!(first, second, "the refit made a new vocabulary");

    // Both replicas answer from it within 5 s, and every answer is one vocabulary's.
    let refit_done = Instant::now();
    for base in [&a, &b] {
        loop {
            let version = match_version(&http, base, &key).await.unwrap();
            assert!(
                version == first || version == second,
                "an answer from neither vocabulary: {version}"
            );
            if version == second {
                break;
            }
            assert!(
                refit_done.elapsed() < Duration::from_secs(5),
                "{base} still answers from the old vocabulary"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // A twin of profile 1 created through A: B finds it among profile 1's matches (its
    // index rebuilt on the vector write marker), with no refit.
    let one: Value = http
        .get(format!("{a}/v1/profiles/1"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut twin = one["profile"].clone();
    twin["user_id"] = json!("twin-of-1");
    let created: Value = http
        .post(format!("{a}/v1/profiles?platform=tiktok"))
        .bearer_auth(&key)
        .json(&twin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let twin_id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    matches_until(&http, &b, &key, "the twin is not matched", |ids| {
        ids.contains(&twin_id)
    })
    .await;
    assert_eq!(
        match_version(&http, &b, &key).await.as_deref(),
        Some(second.as_str())
    );
    // Deleted through A: gone from B's matches.
    let deleted = http
        .delete(format!("{a}/v1/profiles/{twin_id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    matches_until(&http, &b, &key, "the deleted twin is matched", |ids| {
        !ids.contains(&twin_id)
    })
    .await;

    // A signed-out person uploads an export to A; the worker imports it; they follow the
    // job, and find their account, through B.
    let exports = tempfile::tempdir().unwrap();
    let export = crate::common::instagram_export_zip(exports.path(), 150, 0);
    let accepted = http
        .post(format!("{a}/v1/connect/instagram/export?session=bearer"))
        .header("content-type", "application/zip")
        .body(std::fs::read(&export).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let accepted: Value = accepted.json().await.unwrap();
    let token = accepted["session"]["token"].as_str().unwrap().to_owned();
    let id = accepted["id"].as_i64().unwrap();
    let job = job_end(&http, &b, &token, id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["outcome"], "created", "{job}");
    let me = crate::common::get_json(&http, &format!("{b}/v1/me"), &token).await;
    // An upload nobody proved by connecting: the person's own copy of the profile.
    let profiles = me["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1, "{me}");
    assert_eq!(profiles[0]["platform"], "instagram", "{me}");
}
