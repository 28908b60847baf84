//! `GET /metrics`: requests counted by route template, method and status; the job table's
//! counts and the in-process worker's outcomes; the pool's connections; an admin key's
//! unless the server opens it. And `/readyz`'s queue block.

use std::time::Duration;

use axum::http::StatusCode;
use toker_collect::jobs::VECTORIZE;
use toker_store::JobState;
use toker_store::testing::{TestDb, enqueue_due};

use crate::common::{self, Reply, TestApp};

/// The exposition an admin scrape answers, after checking its status and content type.
async fn scrape(t: &TestApp) -> String {
    let reply = t.get("/metrics", &t.admin).await;
    text_of(&reply)
}

fn text_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    reply.body.as_str().unwrap().to_owned()
}

fn assert_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in\n{text}"
    );
}

#[tokio::test]
async fn an_admin_scrape_counts_requests_by_route_template_method_and_status() {
    let t = TestApp::sqlite();
    let id = t.create(&t.admin, common::profile("1")).await;
    for _ in 0..2 {
        let reply = t.get(&format!("/v1/profiles/{id}"), &t.alice).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "not alice's");
    }
    let reply = t.get(&format!("/v1/profiles/{id}"), &t.admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = t.get("/no/such/path/42", &t.admin).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let text = scrape(&t).await;
    let route = |method: &str, status: u16| {
        format!(r#"route="/v1/profiles/{{id}}",method="{method}",status="{status}""#)
    };
    assert_line(
        &text,
        &format!("toker_http_requests_total{{{}}} 2", route("GET", 404)),
    );
    assert_line(
        &text,
        &format!("toker_http_requests_total{{{}}} 1", route("GET", 200)),
    );
    assert_line(
        &text,
        r#"toker_http_requests_total{route="/v1/profiles",method="POST",status="201"} 1"#,
    );
    assert_line(
        &text,
        r#"toker_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
    );
    assert_line(
        &text,
        &format!(
            "toker_http_request_duration_seconds_count{{{}}} 2",
            route("GET", 404)
        ),
    );
    assert_line(
        &text,
        &format!(
            "toker_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} 2",
            route("GET", 404)
        ),
    );
    assert_line(
        &text,
        "# TYPE toker_http_request_duration_seconds histogram",
    );
    // Never a raw path: the id and the unmatched path make no series of their own.
    assert!(!text.contains(&format!("/v1/profiles/{id}\"")), "{text}");
    assert!(!text.contains("/no/such/path"), "{text}");

    // The pool of the test app (2 connections), none lent while the scrape looked.
    assert_line(&text, "toker_db_pool_max_connections 2");
    assert_line(&text, r#"toker_db_pool_connections{state="idle"} 2"#);
    assert_line(&text, r#"toker_db_pool_connections{state="in_use"} 0"#);
    assert_line(&text, "toker_jobs_readable 1");

    // The scrape itself is counted by the next one.
    let text = scrape(&t).await;
    assert_line(
        &text,
        r#"toker_http_requests_total{route="/metrics",method="GET",status="200"} 1"#,
    );
}

#[tokio::test]
async fn metrics_need_an_admin_key_unless_the_server_opens_them() {
    let t = TestApp::sqlite();
    t.call("GET", "/metrics", None, None)
        .await
        .assert_problem(401, "unauthenticated");
    t.get("/metrics", &t.alice)
        .await
        .assert_problem(403, "forbidden");

    let open = TestApp::with(TestDb::sqlite(), |c| c.metrics_open = true);
    let text = text_of(&open.call("GET", "/metrics", None, None).await);
    assert_line(&text, "toker_db_pool_max_connections 2");
    // Open, it is limited per client address: 60 scrapes a minute.
    for _ in 1..60 {
        let reply = open.call("GET", "/metrics", None, None).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    open.call("GET", "/metrics", None, None)
        .await
        .assert_problem(429, "rate-limited");
}

#[tokio::test]
async fn queue_gauges_and_readiness_read_the_job_table() {
    let t = TestApp::sqlite();
    let mut store = t.store();
    enqueue_due(&mut store, "refresh", 3);
    enqueue_due(&mut store, "refresh", 3);

    let text = scrape(&t).await;
    assert_line(&text, r#"toker_jobs{kind="refresh",state="queued"} 2"#);
    assert_line(&text, r#"toker_jobs{kind="refresh",state="running"} 0"#);
    assert_line(&text, r#"toker_jobs{kind="refresh",state="dead"} 0"#);

    let ready = t.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(
        ready.body["queue"],
        serde_json::json!({ "queued": 2, "running": 0, "dead": 0 })
    );
    assert!(
        t.call("GET", "/healthz", None, None).await.body["queue"].is_null(),
        "liveness does not read the database"
    );

    // A job table that cannot be read: not ready; the metrics still answer, without it.
    rusqlite::Connection::open(&t.db.url)
        .unwrap()
        .execute_batch("DROP TABLE jobs")
        .unwrap();
    let detail = t
        .call("GET", "/readyz", None, None)
        .await
        .assert_problem(503, "unavailable");
    assert!(detail.contains("job table"), "{detail}");
    let text = scrape(&t).await;
    assert_line(&text, "toker_jobs_readable 0");
    assert!(!text.contains("toker_jobs{"), "{text}");
}

#[tokio::test]
async fn job_outcomes_count_what_the_in_process_worker_ran() {
    let t = TestApp::sqlite();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let worker = toker_api::jobs::spawn_workers(&t.state, 1, stopping);
    let mut store = t.store();
    let id = enqueue_due(&mut store, VECTORIZE, 3);
    t.state.jobs_queued().notify_one();
    let mut state = None;
    for _ in 0..200 {
        state = store.get_job(id).unwrap().map(|job| job.state);
        if state.is_some_and(JobState::is_finished) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state, Some(JobState::Succeeded));

    let text = scrape(&t).await;
    assert_line(
        &text,
        r#"toker_job_outcomes_total{kind="vectorize",outcome="succeeded"} 1"#,
    );
    assert_line(&text, r#"toker_jobs{kind="vectorize",state="succeeded"} 1"#);

    stop.send_replace(true);
    let report = worker.await.unwrap().unwrap();
    assert!(report.succeeded >= 1, "{report:?}");
}
