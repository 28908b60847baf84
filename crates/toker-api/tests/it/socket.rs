//! The API through a real bound socket: an HTTP client session, and graceful shutdown
//! finishing a request that is in flight.

use crate::common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

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
        tokio::time::sleep(Duration::from_millis(10)).await;
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

/// Sends `GET {path}` on a kept-alive connection and reads the answer: status and body.
async fn get_on(stream: &mut TcpStream, path: &str) -> (u16, String) {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_head(stream).await;
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    (status, String::from_utf8(body).unwrap())
}

/// Waits until the server closes `stream` (end of file or reset); how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

async fn serving(config: ServeConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let server = toker_api::bind(config).await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed_while_others_are_served() {
    let db = TestDb::sqlite();
    let header = Duration::from_millis(600);
    let idle = Duration::from_millis(1500);
    let (addr, stop) = serving(ServeConfig {
        header_read_timeout: header,
        idle_timeout: idle,
        max_connections: 200,
        ..config(&db)
    })
    .await;

    // 50 connections that start a request and stall mid-head, 20 that send nothing, and
    // 20 that are answered once and then sit idle (kept alive).
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push((Instant::now(), stream));
    }
    for _ in 0..20 {
        slow.push((Instant::now(), TcpStream::connect(addr).await.unwrap()));
    }
    let mut idle_streams = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(get_on(&mut stream, "/healthz").await.0, 200);
        idle_streams.push((Instant::now(), stream));
    }

    // While they are open, other clients are served at once.
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let started = Instant::now();
        let health = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    // Every stalled head is cut after the header timeout, well before the idle one...
    for (opened, stream) in &mut slow {
        let closed = closed_within(stream, Duration::from_secs(10)).await;
        assert!(closed.is_some(), "a stalled head was never closed");
        let after = opened.elapsed();
        assert!(after >= header - Duration::from_millis(50), "{after:?}");
        assert!(after < header + Duration::from_secs(5), "{after:?}");
    }
    // ...and every idle connection after the idle timeout.
    for (answered, stream) in &mut idle_streams {
        assert!(
            closed_within(stream, Duration::from_secs(10))
                .await
                .is_some(),
            "an idle connection was never closed"
        );
        let after = answered.elapsed();
        assert!(after >= idle - Duration::from_millis(50), "{after:?}");
    }
    // A connection that keeps making requests is not idle.
    let mut busy = TcpStream::connect(addr).await.unwrap();
    for _ in 0..4 {
        assert_eq!(get_on(&mut busy, "/healthz").await.0, 200);
        tokio::time::sleep(idle / 2).await;
    }
    stop.send(()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_connection_cap_new_connections_are_refused_and_open_ones_served() {
    let db = TestDb::sqlite();
    let (addr, stop) = serving(ServeConfig {
        max_connections: 8,
        ..config(&db)
    })
    .await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut first, "/healthz").await.0, 200);
    let mut held = Vec::new();
    for _ in 0..7 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(get_on(&mut stream, "/healthz").await.0, 200);
        held.push(stream);
    }

    // The ninth is answered 503 (naming the limit) and closed at once.
    for _ in 0..20 {
        let started = Instant::now();
        let mut extra = TcpStream::connect(addr).await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), extra.read_to_string(&mut answer))
            .await
            .expect("a refused connection is closed at once");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("max_connections"), "{answer}");
    }
    // The open connections keep being served.
    assert_eq!(get_on(&mut first, "/healthz").await.0, 200);
    assert_eq!(get_on(&mut held[3], "/readyz").await.0, 200);

    // Once one closes, a new connection gets its place.
    drop(held.pop());
    let mut accepted = None;
    for _ in 0..100 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut byte = [0u8; 1];
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        if stream.peek(&mut byte).await.is_ok() {
            let head = read_head(&mut stream).await;
            if head.starts_with("HTTP/1.1 200") {
                accepted = Some(stream);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        accepted.is_some(),
        "a freed place is given to a new connection"
    );
    stop.send(()).unwrap();
}
