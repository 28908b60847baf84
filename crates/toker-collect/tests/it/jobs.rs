//! The worker against a real store on both backends: it drains the queue, retries a
//! failing job until it is dead, fails a job nothing runs, and at shutdown gives its job
//! back to the queue without counting the attempt; a worker whose lease was taken over
//! cancels its job and leaves it to the new holder.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use toker_collect::jobs::{
    JobFailure, JobObserver, JobRunner, OpenStore, Outcome, VECTORIZE, VectorizeRunner,
    WorkerOptions, WorkerReport, backoff, run_worker,
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

/// Never ends on its own, and says when it was cancelled (its future dropped).
struct Cancellable(Arc<AtomicBool>);

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait(?Send)]
impl JobRunner for Cancellable {
    async fn run(&self, _store: &mut Store, _job: &Claimed) -> Result<Value, JobFailure> {
        let _guard = SetOnDrop(Arc::clone(&self.0));
        std::future::pending().await
    }
}

/// Records every outcome it is told of.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Outcome)>>);

impl JobObserver for Recorder {
    fn ended(&self, kind: &str, outcome: Outcome) {
        self.0.lock().unwrap().push((kind.to_owned(), outcome));
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
        wake: None,
        observer: None,
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
    let recorder = Arc::new(Recorder::default());
    let mut opts = options(true);
    opts.observer = Some(Arc::clone(&recorder) as Arc<dyn JobObserver>);
    let report = run_worker(opener(&db.url), Arc::new(runners), opts, rx)
        .await
        .unwrap();
    let mut seen = recorder.0.lock().unwrap().clone();
    seen.sort();
    let outcome = |kind: &str, outcome| (kind.to_owned(), outcome);
    assert_eq!(
        seen,
        [
            outcome("flaky", Outcome::Retry),
            outcome("flaky", Outcome::Retry),
            outcome("flaky", Outcome::Dead),
            outcome("unknown", Outcome::Failed),
            outcome(VECTORIZE, Outcome::Succeeded),
        ]
    );
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
    until_running(&mut store, id).await;
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

/// Waits until job `id` is running.
async fn until_running(store: &mut Store, id: i64) {
    for _ in 0..200 {
        if store.get_job(id).unwrap().unwrap().state == JobState::Running {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {id} never ran");
}

async fn a_lost_lease_cancels_the_job(db: TestDb) {
    let mut store = Store::open(&db.url).unwrap();
    let id = enqueue_due(&mut store, "stall", 3);
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut runners: HashMap<String, Arc<dyn JobRunner>> = HashMap::new();
    runners.insert(
        "stall".to_owned(),
        Arc::new(Cancellable(Arc::clone(&cancelled))),
    );
    let (tx, rx) = watch::channel(false);
    let mut opts = options(false);
    opts.concurrency = 1;
    let worker = tokio::spawn(run_worker(opener(&db.url), Arc::new(runners), opts, rx));
    until_running(&mut store, id).await;
    // Another worker whose clock is past the lease takes the job over.
    let later = Utc::now() + chrono::Duration::seconds(10);
    let thief = store
        .claim_job("thief", Duration::from_secs(60), later)
        .unwrap()
        .expect("the expired lease is claimable");
    assert_eq!((thief.job.id, thief.lease.attempt), (id, 2));
    // The worker's next renewal (a second later) finds the lease gone and cancels the run.
    for _ in 0..200 {
        if cancelled.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cancelled.load(Ordering::SeqCst), "the runner kept running");
    tx.send(true).unwrap();
    let report = worker.await.unwrap().unwrap();
    assert_eq!(
        report,
        WorkerReport {
            succeeded: 0,
            failed: 0,
            released: 0,
            lost: 1
        }
    );
    // The job is the thief's, untouched by the first worker.
    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!(
        (job.state, job.attempts, job.lease_owner.as_deref()),
        (JobState::Running, 2, Some("thief"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_lost_lease_cancels_the_job() {
    a_lost_lease_cancels_the_job(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_lost_lease_cancels_the_job() {
    if let Some(db) = TestDb::postgres() {
        a_lost_lease_cancels_the_job(db).await;
    }
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
