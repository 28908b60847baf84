//! Hostile and slow requests: the heaviest bodies that fit the body limit never stall the
//! server's other answers, heavy work is bounded (503 with `Retry-After` past the bound),
//! a request answered 503 by the timeout never changes the database afterwards, and
//! control characters are refused with their path on both backends.

use crate::common;

use std::time::{Duration, Instant};

use common::{TestApp, profile};
use serde_json::{Value, json};
use toker_api::{Role, ServeConfig, create_api_key};
use toker_store::Store;
use toker_store::testing::TestDb;

/// The default body limit.
const BODY_LIMIT: usize = 1024 * 1024;

/// The costliest profile body found under `limit` bytes (see the example
/// `bench_validation` of toker-processing): a list of `0`s where videos belong, a
/// violation per two bytes.
fn worst_body(limit: usize) -> String {
    let head = r#"{"user_id":"1","username":"u","number_of_likes":150,"liked_videos":[0"#;
    let tail = "]}";
    let zeros = (limit - head.len() - tail.len()) / 2;
    let mut body = String::with_capacity(limit);
    body.push_str(head);
    for _ in 0..zeros {
        body.push_str(",0");
    }
    body.push_str(tail);
    assert!(body.len() <= limit);
    body
}

fn admin_key(db: &TestDb) -> String {
    let mut store = Store::open(&db.url).unwrap();
    create_api_key(&mut store, Role::Admin, Some("heavy test"))
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_within_50_ms_while_four_worst_case_bodies_are_judged() {
    let db = TestDb::sqlite();
    let config = ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        rate_limit_per_minute: None,
        request_timeout: Duration::from_secs(120),
        cpu_wait: Duration::from_secs(120),
        ..ServeConfig::for_database(db.url.clone())
    };
    let key = admin_key(&db);
    let server = toker_api::bind(config).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    // A warm connection for the probes, so that they measure answering, not connecting.
    let warm = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(warm.status(), 200);

    let body = worst_body(BODY_LIMIT);
    let heavy: Vec<_> = (0..4)
        .map(|_| {
            let request = client
                .post(format!("{base}/v1/profiles?platform=tiktok"))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(body.clone());
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let problem: Value = response.json().await.unwrap();
                (status, problem)
            })
        })
        .collect();

    // Probe /healthz back to back while the heavy requests are in flight. Many samples
    // make the p99 robust on a loaded machine: a few slow scheduling hiccups stay below it.
    let mut latencies = Vec::new();
    while !heavy.iter().all(tokio::task::JoinHandle::is_finished) {
        let start = Instant::now();
        let probe = client
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        let took = start.elapsed();
        assert!(
            probe.is_ok_and(|r| r.status() == 200),
            "/healthz did not answer within 2 s while heavy bodies were judged"
        );
        latencies.push(took);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for handle in heavy {
        let (status, problem) = handle.await.unwrap();
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["violations"][0]["path"], "liked_videos[0]");
    }
    assert!(
        latencies.len() >= 50,
        "only {} probes ran while the heavy requests were in flight",
        latencies.len()
    );
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
    println!(
        "/healthz over {} probes: median {:?}, p99 {p99:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    assert!(
        p99 < Duration::from_millis(50),
        "/healthz p99 {p99:?} over {} probes (max {:?})",
        latencies.len(),
        latencies.last().unwrap()
    );
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn heavy_work_past_its_bound_is_answered_503_with_retry_after() {
    let t = TestApp::with(TestDb::sqlite(), |c| {
        c.cpu_jobs = Some(1);
        c.cpu_wait = Duration::from_millis(20);
    });
    let body = worst_body(BODY_LIMIT);
    let send = || {
        t.raw(
            "POST",
            "/v1/profiles?platform=tiktok",
            Some(&t.alice),
            Some(&body),
            Some("application/json"),
        )
    };
    let (a, b, c) = tokio::join!(send(), send(), send());
    let mut busy = 0;
    for reply in [a, b, c] {
        if reply.status == 503 {
            let detail = reply.assert_problem(503, "unavailable");
            assert!(detail.contains("cpu_jobs"), "{detail}");
            assert_eq!(reply.headers["retry-after"], "1");
            busy += 1;
        } else {
            reply.assert_problem(422, "validation");
        }
    }
    assert!(
        busy >= 1,
        "one slot for three heavy requests: some must be refused"
    );
    assert!(busy <= 2, "the first request has the slot");
}

/// The request timeout of the commit tests.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Takes the database's write lock from another connection; the returned closure frees it
/// `hold` later (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an exclusive lock on `profiles`,
/// taken by psql).
fn hold_write_lock(db: &TestDb, hold: Duration) -> Box<dyn FnOnce() + Send> {
    match db.backend() {
        toker_store::Backend::Sqlite => {
            let conn = rusqlite::Connection::open(&db.url).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            Box::new(move || {
                std::thread::sleep(hold);
                conn.execute_batch("COMMIT").unwrap();
            })
        }
        toker_store::Backend::Postgres => {
            use std::io::{BufRead, Write};
            let mut child = std::process::Command::new("psql")
                .arg(&db.url)
                .args(["-v", "ON_ERROR_STOP=1"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("psql holds the lock");
            let mut input = child.stdin.take().unwrap();
            // psql sends stdin a statement at a time; it prints `locked` once it holds
            // the lock.
            input
                .write_all(b"BEGIN;\nLOCK TABLE profiles IN EXCLUSIVE MODE;\nSELECT 'locked';\n")
                .unwrap();
            input.flush().unwrap();
            let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            while !line.contains("locked") {
                line.clear();
                let read = out.read_line(&mut line).unwrap();
                assert!(read > 0, "psql ended without taking the lock");
            }
            Box::new(move || {
                std::thread::sleep(hold);
                input.write_all(b"COMMIT;\n").unwrap();
                drop(input);
                std::io::copy(&mut out, &mut std::io::sink()).unwrap();
                assert!(child.wait().unwrap().success());
            })
        }
    }
}

async fn a_timed_out_write_never_commits(db: TestDb) {
    let t = TestApp::with(db, |c| c.request_timeout = TIMEOUT);
    let before = t.snapshot();
    let release = hold_write_lock(&t.db, Duration::from_millis(500));
    let started = Instant::now();
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=tiktok",
            Some(&t.alice),
            Some(profile("late-1")),
        )
        .await;
    let detail = reply.assert_problem(503, "timeout");
    assert!(started.elapsed() < TIMEOUT * 2, "{detail}");
    // The write waits for the lock in the background; once the lock is free, it must
    // roll back instead of committing.
    tokio::task::spawn_blocking(release).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        t.snapshot(),
        before,
        "a request answered 503 changed the database"
    );

    // A batch too: nothing of it is stored.
    let release = hold_write_lock(&t.db, Duration::from_millis(500));
    let batch: Vec<Value> = (0..20).map(|i| profile(&format!("late-b{i}"))).collect();
    let reply = t
        .call(
            "POST",
            "/v1/profiles:batch?platform=tiktok",
            Some(&t.alice),
            Some(Value::Array(batch)),
        )
        .await;
    reply.assert_problem(503, "timeout");
    tokio::task::spawn_blocking(release).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        t.snapshot(),
        before,
        "a batch answered 503 changed the database"
    );

    // Without the lock the same request is stored: it was the timeout that refused it.
    t.create(&t.alice, profile("late-1")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_answered_503_by_the_timeout_changes_nothing_on_sqlite() {
    a_timed_out_write_never_commits(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_answered_503_by_the_timeout_changes_nothing_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        a_timed_out_write_never_commits(db).await;
    }
}

async fn control_characters_are_422_with_their_path(t: TestApp) {
    let before = t.snapshot();
    let cases: [(&str, Value, &str); 5] = [
        ("/user_id", json!("12\u{0}34"), "user_id"),
        ("/username", json!("name\u{0}"), "username"),
        ("/user_pseudo", json!("a\u{1b}[31mred"), "user_pseudo"),
        (
            "/liked_videos/0/hashtags",
            json!(["#ok", "#n\u{0}ul"]),
            "liked_videos[0].hashtags[1]",
        ),
        (
            "/shared_videos/0/video_id",
            json!("v\u{85}2"),
            "shared_videos[0].video_id",
        ),
    ];
    for (pointer, value, path) in cases {
        let mut body = profile("nul-1");
        *body.pointer_mut(pointer).unwrap() = value;
        let reply = t
            .call(
                "POST",
                "/v1/profiles?platform=tiktok",
                Some(&t.alice),
                Some(body.clone()),
            )
            .await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.violation_paths(), [path], "{}", reply.body);
        assert!(
            reply.body["violations"][0]["message"]
                .as_str()
                .unwrap()
                .contains("control characters"),
            "{}",
            reply.body
        );
        // In a batch, the record is rejected with the same path.
        let reply = t
            .call(
                "POST",
                "/v1/profiles:batch?platform=tiktok",
                Some(&t.alice),
                Some(json!([body])),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["rejected"], 1, "{}", reply.body);
        assert_eq!(
            reply.body["results"][0]["violations"][0]["path"], path,
            "{}",
            reply.body
        );
    }
    assert_eq!(t.snapshot(), before);
}

#[tokio::test]
async fn control_characters_are_422_with_their_path_on_sqlite() {
    control_characters_are_422_with_their_path(TestApp::sqlite()).await;
}

#[tokio::test]
async fn control_characters_are_422_with_their_path_on_postgres() {
    if let Some(t) = TestApp::postgres() {
        control_characters_are_422_with_their_path(t).await;
    }
}
