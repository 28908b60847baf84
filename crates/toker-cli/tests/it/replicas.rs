//! Three processes on one PostgreSQL, as docs/DEPLOY.md starts them: two `toker serve`
//! replicas that queue work and run none of it (`--workers 0`) and one `toker worker`.
//! A key made once works on both replicas; a refit queued through one is run by the
//! worker; the other replica answers matches from the new vocabulary within 5 s, and no
//! answer mixes two vocabularies.

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
        .env_remove("TOKER_SECRET_KEY")
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

/// Waits for job `id` (through `base`) to end; its final document.
async fn job_end(http: &reqwest::Client, base: &str, key: &str, id: i64) -> Value {
    let started = Instant::now();
    loop {
        let job: Value = http
            .get(format!("{base}/v1/jobs/{id}?wait=5"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
}
