#![allow(clippy::unwrap_used)]
//! SIGTERM stops `serve` gracefully. Alone in its test binary: the signal goes to the
//! whole process.
#![cfg(unix)]

use toker_api::ServeConfig;
use toker_store::testing::TestDb;

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let db = TestDb::sqlite();
    let server = toker_api::bind(ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        ..ServeConfig::for_database(db.url.clone())
    })
    .await
    .unwrap();
    let base = format!("http://{}", server.local_addr());
    let running = tokio::spawn(server.run(std::future::pending()));
    // Once a request is answered, the server is serving and its handlers are installed.
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    running.await.unwrap().unwrap();
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
}
