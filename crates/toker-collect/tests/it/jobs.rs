//! The worker against a real store on both backends: it drains the queue, retries a
//! failing job until it is dead, fails a job nothing runs, and at shutdown gives its job
//! back to the queue without counting the attempt.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use toker_collect::jobs::{
    JobFailure, JobRunner, OpenStore, VECTORIZE, VectorizeRunner, WorkerOptions, WorkerReport,
    backoff, run_worker,
};
use toker_processing::VectorizerConfig;
use toker_store::testing::{TestDb, enqueue_due};
use toker_store::{Claimed, JobState, Store};
use tokio::sync::watch;

/// Fails every attempt.
struct Flaky;

#[async_trait(?Send)]
impl JobRunner for Flaky {
    async fn run(&self, _store: &mut Store, job: &Claimed) -> Result<Value, JobFailure> {
        Err(JobFailure::Retry(format!(
            "attempt {} failed",
            job.lease.attempt
        )))
    }
}

/// Never ends on its own.
struct Forever;

#[async_trait(?Send)]
impl JobRunner for Forever {
    async fn run(&self, _store: &mut Store, _job: &Claimed) -> Result<Value, JobFailure> {
        std::future::pending().await
    }
}

fn opener(url: &str) -> OpenStore {
    let url = url.to_owned();
    Arc::new(move || Store::open(&url))
}

fn options(once: bool) -> WorkerOptions {
    WorkerOptions {
        name: "test".to_owned(),
        concurrency: 2,
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(20),
        once,
        retry_base: Duration::ZERO,
    }
}

async fn drains_retries_and_fails(db: TestDb) {
    let mut store = Store::open(&db.url).unwrap();
    let refit = enqueue_due(&mut store, VECTORIZE, 3);
    let flaky = enqueue_due(&mut store, "flaky", 3);
    let unknown = enqueue_due(&mut store, "unknown", 3);
    let mut runners: HashMap<String, Arc<dyn JobRunner>> = HashMap::new();
    runners.insert(
        VECTORIZE.to_owned(),
        Arc::new(VectorizeRunner(VectorizerConfig::default())),
    );
    runners.insert("flaky".to_owned(), Arc::new(Flaky));
    let (_tx, rx) = watch::channel(false);
    let report = run_worker(opener(&db.url), Arc::new(runners), options(true), rx)
        .await
        .unwrap();
    assert_eq!(
        report,
        WorkerReport {
            succeeded: 1,
            failed: 4,
            released: 0,
            lost: 0
        }
    );
    let job = store.get_job(refit).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.result.unwrap()["profiles"], 0);
    let job = store.get_job(flaky).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Dead, 3));
    assert_eq!(job.error.as_deref(), Some("attempt 3 failed"));
    let job = store.get_job(unknown).unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job.error.unwrap().contains("no runner"));
}

async fn shutdown_releases_the_running_job(db: TestDb) {
    let mut store = Store::open(&db.url).unwrap();
    let id = enqueue_due(&mut store, "forever", 3);
    let mut runners: HashMap<String, Arc<dyn JobRunner>> = HashMap::new();
    runners.insert("forever".to_owned(), Arc::new(Forever));
    let (tx, rx) = watch::channel(false);
    let mut opts = options(false);
    opts.concurrency = 1;
    let worker = tokio::spawn(run_worker(opener(&db.url), Arc::new(runners), opts, rx));
    // Wait until it runs, through at least one lease renewal.
    let mut seen_running = false;
    for _ in 0..200 {
        if store.get_job(id).unwrap().unwrap().state == JobState::Running {
            seen_running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen_running);
    let before = store
        .get_job(id)
        .unwrap()
        .unwrap()
        .lease_expires_at
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = store
        .get_job(id)
        .unwrap()
        .unwrap()
        .lease_expires_at
        .unwrap();
    assert!(after > before, "the lease was not renewed");
    tx.send(true).unwrap();
    let report = worker.await.unwrap().unwrap();
    assert_eq!(report.released, 1);
    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_worker_drains_retries_and_fails() {
    drains_retries_and_fails(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_drains_retries_and_fails() {
    if let Some(db) = TestDb::postgres() {
        drains_retries_and_fails(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shutdown_releases_the_running_job() {
    shutdown_releases_the_running_job(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shutdown_releases_the_running_job() {
    if let Some(db) = TestDb::postgres() {
        shutdown_releases_the_running_job(db).await;
    }
}

#[test]
fn backoff_doubles_up_to_an_hour() {
    let base = Duration::from_secs(30);
    assert_eq!(backoff(base, 1), base);
    assert_eq!(backoff(base, 3), Duration::from_secs(120));
    assert_eq!(backoff(base, 40), Duration::from_secs(3600));
}
