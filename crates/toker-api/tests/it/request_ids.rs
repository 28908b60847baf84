//! A client's `x-request-id` reaches the logs only if it is a plain token
//! (`[A-Za-z0-9._-]{1,64}`); anything else (quotes, spaces, line breaks, 16 KB) is replaced
//! by a generated id, so that no client can forge log fields.

use crate::common;

use axum::body::Body;
use axum::http::Request;
use common::TestApp;
use toker_testkit::LogCapture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Marks every forged id, so that the logs can be searched for any part of one.
const FORGED: &str = "forgedmark";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_request_ids_never_reach_the_logs() {
    let captured = LogCapture::install();

    // Through the router: ids a header can carry but that would forge log fields.
    let t = TestApp::sqlite();
    let mut generated = Vec::new();
    for forged in [
        format!("{FORGED}\" status=200 key_id=\"tok_admin"),
        format!("{FORGED} latency_ms=0"),
        format!("{FORGED}{}", "x".repeat(16 * 1024)),
        format!("{FORGED}-{}", "y".repeat(60)),
    ] {
        let request = Request::builder()
            .uri("/v1/profiles")
            .header("x-request-id", forged.as_str())
            .body(Body::empty())
            .unwrap();
        let reply = t.send(request).await;
        reply.assert_problem(401, "unauthenticated");
        let used = reply.headers["x-request-id"].to_str().unwrap().to_owned();
        assert!(!used.contains(FORGED), "{used}");
        generated.push(used);
    }
    let plain = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "client-id_1.2")
        .body(Body::empty())
        .unwrap();
    assert_eq!(t.send(plain).await.headers["x-request-id"], "client-id_1.2");

    // Over a socket: line breaks inside the value (bare LF, CR, a folded line).
    let server = toker_api::bind(toker_api::ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        ..toker_api::ServeConfig::for_database(t.db.url.clone())
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    for value in [
        format!("a\n{FORGED} status=500"),
        format!("a\r{FORGED}=1"),
        format!("a\r\n {FORGED} folded"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Request-Id: {value}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(!answer.contains(FORGED), "{answer}");
    }
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    let logs = captured.text();
    assert!(
        logs.contains("status=401"),
        "access logs are written: {logs}"
    );
    for id in &generated {
        assert!(logs.contains(id.as_str()), "the id used is logged: {id}");
    }
    assert!(logs.contains("client-id_1.2"), "a plain client id is kept");
    assert!(
        !logs.contains(FORGED),
        "a forged request id reached the logs: {logs}"
    );
}
