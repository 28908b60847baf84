//! `toker worker` through the binary: it drains the queue with `--once`, ends a job of a
//! kind it does not run as failed, starts the planner of scheduled refreshes, refuses bad
//! options, serves its own metrics with `--metrics-bind`, and exits cleanly on SIGTERM.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use toker_store::testing::enqueue_due;
use toker_store::{JobState, Store};

fn toker(database: &str) -> Command {
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.env_remove("DATABASE_URL")
        .env_remove("TOKER_LOG")
        .arg("--database")
        .arg(database);
    cmd
}

/// A new SQLite database with five generated TikTok profiles (and its directory).
fn five_profiles() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("toker.db").display().to_string();
    toker(&database)
        .args(["create", "tiktok", "--count", "5", "--seed", "1"])
        .assert()
        .success();
    (dir, database)
}

#[test]
fn worker_once_drains_the_queue() {
    let (_dir, database) = five_profiles();
    let mut store = Store::open(&database).unwrap();
    let refit = enqueue_due(&mut store, "vectorize", 2);
    let unknown = enqueue_due(&mut store, "no-such-kind", 2);
    let out = toker(&database)
        .args(["--json", "worker", "--once", "--concurrency", "2"])
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    // The refit and the planner of refreshes (which found no connected account).
    assert_eq!(report["succeeded"], 2, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    let planners = store.list_jobs(Some("plan-refreshes")).unwrap();
    assert_eq!(planners.len(), 2, "{planners:?}");
    assert_eq!(planners[0].state, JobState::Succeeded);
    assert_eq!(planners[0].result.as_ref().unwrap()["planned"], 0);
    assert_eq!(
        planners[1].state,
        JobState::Queued,
        "planned again, for later"
    );
    assert!(planners[1].run_after > planners[0].finished_at.unwrap());
    let job = store.get_job(refit).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.result.unwrap()["profiles"], 5);
    let job = store.get_job(unknown).unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job.error.unwrap().contains("no-such-kind"));
}

#[test]
fn worker_queues_a_refit_once_the_corpus_drifted() {
    let (_dir, database) = five_profiles();
    toker(&database).arg("vectorize").assert().success();
    let mut store = Store::open(&database).unwrap();
    let fitted = store.load_vocabulary().unwrap().unwrap().version;
    assert_eq!(store.drift().unwrap(), Some(0.0));
    // Five more: half the corpus written since the fit.
    toker(&database)
        .args(["create", "tiktok", "--count", "5", "--seed", "2"])
        .assert()
        .success();
    assert_eq!(store.drift().unwrap(), Some(0.5));
    toker(&database)
        .args(["worker", "--once", "--refresh-minutes", "0"])
        .assert()
        .success();
    let refits = store.list_jobs(Some("vectorize")).unwrap();
    assert_eq!(refits.len(), 1, "{refits:?}");
    assert_eq!(refits[0].state, JobState::Succeeded);
    assert_eq!(refits[0].payload["reason"], "drift");
    assert_eq!(refits[0].result.as_ref().unwrap()["profiles"], 10);
    let refitted = store.load_vocabulary().unwrap().unwrap().version;
    assert_ne!(fitted, refitted);
    assert_eq!(store.drift().unwrap(), Some(0.0));

    // Below the threshold, or with --refit-drift 0, none is queued.
    toker(&database)
        .args(["create", "tiktok", "--count", "1", "--seed", "3"])
        .assert()
        .success();
    toker(&database)
        .args(["worker", "--once", "--refresh-minutes", "0"])
        .assert()
        .success();
    toker(&database)
        .args(["create", "tiktok", "--count", "9", "--seed", "4"])
        .assert()
        .success();
    toker(&database)
        .args([
            "worker",
            "--once",
            "--refresh-minutes",
            "0",
            "--refit-drift",
            "0",
        ])
        .assert()
        .success();
    assert_eq!(store.list_jobs(Some("vectorize")).unwrap().len(), 1);
    assert_eq!(store.load_vocabulary().unwrap().unwrap().version, refitted);
}

#[test]
fn worker_refuses_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("toker.db").display().to_string();
    toker(&database)
        .args(["worker", "--once", "--concurrency", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--concurrency"));
    toker(&database)
        .args(["worker", "--once", "--refit-drift", "1.5"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("refit_drift"));
}

#[cfg(unix)]
#[test]
fn worker_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("toker.db").display().to_string();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .args([
            "--database",
            &database,
            "-q",
            "worker",
            "--poll-interval-ms",
            "50",
        ])
        .spawn()
        .unwrap();
    // Let it start waiting for jobs.
    let started = Instant::now();
    while !std::path::Path::new(&database).exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the worker exited on its own"
    );
    stop(&mut child);
}

/// A `toker worker --metrics-bind` on `database` with `extra` arguments; the process and
/// its metrics base URL.
fn metrics_worker(database: &str, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .env_remove("TOKER_LOG")
        .env_remove("TOKER_METRICS_OPEN")
        .args(["--database", database, "worker", "--poll-interval-ms", "50"])
        .args(["--metrics-bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = crate::common::announced_base(&mut child, "toker: serving worker metrics on ");
    (child, base)
}

#[cfg(unix)]
#[tokio::test]
async fn worker_serves_its_job_outcomes_on_metrics_bind() {
    let (_dir, database) = five_profiles();
    let (mut child, base) = metrics_worker(&database, &["--metrics-open"]);
    let mut store = Store::open(&database).unwrap();
    let refit = enqueue_due(&mut store, "vectorize", 2);
    let unknown = enqueue_due(&mut store, "no-such-kind", 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in [refit, unknown] {
        while !store.get_job(id).unwrap().unwrap().state.is_finished() {
            assert!(Instant::now() < deadline, "job {id} did not end");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let http = reqwest::Client::new();
    let reply = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let body = reply.text().await.unwrap();
    // What this worker ran, and the queue as the database has it.
    for line in [
        "toker_job_outcomes_total{kind=\"vectorize\",outcome=\"succeeded\"} 1",
        "toker_job_outcomes_total{kind=\"no-such-kind\",outcome=\"failed\"} 1",
        "toker_jobs{kind=\"vectorize\",state=\"succeeded\"} 1",
        "toker_jobs_readable 1",
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in:\n{body}");
    }
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Only the operations routes: no API on a worker.
    let api = http
        .get(format!("{base}/v1/profiles"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    stop(&mut child);
}

#[cfg(unix)]
#[tokio::test]
async fn worker_metrics_need_an_admin_key_unless_open() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("toker.db").display().to_string();
    let created = toker(&database)
        .args(["--json", "apikey", "create", "--role", "admin"])
        .assert()
        .success();
    let created: Value = serde_json::from_slice(&created.get_output().stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let (mut child, base) = metrics_worker(&database, &[]);
    let http = reqwest::Client::new();
    let refused = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let scraped = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("toker_jobs_readable 1")
    );
    stop(&mut child);
}

/// SIGTERM, then the exit, which must be clean.
#[cfg(unix)]
fn stop(child: &mut std::process::Child) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "the worker ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
