//! `toker worker` through the binary: it drains the queue with `--once`, ends a job of a
//! kind it does not run as failed, starts the planner of scheduled refreshes, refuses bad
//! options, and exits cleanly on SIGTERM.

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

#[test]
fn worker_once_drains_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("toker.db").display().to_string();
    toker(&database)
        .args(["create", "tiktok", "--count", "5", "--seed", "1"])
        .assert()
        .success();
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
fn worker_refuses_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("toker.db").display().to_string();
    toker(&database)
        .args(["worker", "--once", "--concurrency", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--concurrency"));
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
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "the worker ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
