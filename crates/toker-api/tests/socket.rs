#![allow(clippy::unwrap_used)]
//! The API through a real bound socket: an HTTP client session, and graceful shutdown
//! finishing a request that is in flight.

mod common;

use serde_json::{Value, json};
use toker_api::{Role, ServeConfig, create_api_key};
use toker_store::Store;
use toker_store::testing::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config(db: &TestDb) -> ServeConfig {
    ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        ..ServeConfig::for_database(db.url.clone())
    }
}

fn admin_key(db: &TestDb) -> String {
    let mut store = Store::open(&db.url).unwrap();
    create_api_key(&mut store, Role::Admin, Some("socket test"))
        .unwrap()
        .0
}

async fn session_over_a_socket(db: TestDb) {
    let server = toker_api::bind(config(&db)).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let key = admin_key(&db);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let ready: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");

    let created = client
        .post(format!("{base}/v1/profiles:generate"))
        .bearer_auth(&key)
        .json(&json!({"platform": "x", "count": 12, "seed": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let report: Value = created.json().await.unwrap();
    assert_eq!(report["created"], 12);
    let id = report["results"][0]["id"].as_i64().unwrap();

    let refit = client
        .post(format!("{base}/v1/vectorize"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refit.status(), 200);
    let matches = client
        .get(format!("{base}/v1/profiles/{id}/matches?top=5"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(matches.status(), 200);
    assert!(matches.headers().contains_key("x-request-id"));
    let matches: Value = matches.json().await.unwrap();
    assert!(matches["matches"].as_array().unwrap().len() <= 5);

    // Over the body limit, declared up front by Content-Length.
    let oversized = client
        .post(format!("{base}/v1/profiles?platform=x"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    assert_eq!(
        oversized.headers()["content-type"],
        "application/problem+json"
    );

    let unauthenticated = client.get(format!("{base}/v1/stats")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(
        unauthenticated.headers()["content-type"],
        "application/problem+json"
    );

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_client_session_over_a_socket_on_sqlite() {
    session_over_a_socket(TestDb::sqlite()).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_client_session_over_a_socket_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        session_over_a_socket(db).await;
    }
}

/// Reads from `stream` until the bytes end with a blank line (the end of a head).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            stream.read(&mut byte).await.unwrap(),
            1,
            "connection closed early"
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight() {
    let db = TestDb::sqlite();
    let server = toker_api::bind(config(&db)).await.unwrap();
    let addr = server.local_addr();
    let key = admin_key(&db);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    // Start a request and hold back its body: `Expect: 100-continue` makes the server
    // say when the handler starts reading it, so the request is provably in flight.
    let body = common::profile("in-flight").to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/profiles?platform=tiktok HTTP/1.1\r\nHost: test\r\n\
         Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_head(&mut stream).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");

    // Shut down; wait until the listener is closed.
    stop.send(()).unwrap();
    let mut closed = false;
    for _ in 0..500 {
        if TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        closed,
        "the server kept accepting connections after shutdown"
    );
    assert!(
        !running.is_finished(),
        "the server must wait for the request in flight"
    );

    // The request still completes.
    stream.write_all(body.as_bytes()).await.unwrap();
    let response = read_head(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    running.await.unwrap().unwrap();
    let stored = Store::open(&db.url)
        .unwrap()
        .get_profile_by_key(toker_model::Platform::TikTok, "in-flight")
        .unwrap();
    assert_eq!(stored.profile.username, "user_in-flight");
}
