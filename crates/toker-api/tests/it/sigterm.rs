//! SIGTERM stops `serve` gracefully. The signal goes to a whole process, so the server runs
//! in a child: this test binary again, running only [`serve_until_sigterm`].
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use toker_api::ServeConfig;
use toker_store::testing::TestDb;

/// Set in the child's environment: the ignored test below then serves.
const CHILD: &str = "TOKER_TEST_SIGTERM_CHILD";

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigterm::serve_until_sigterm",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the child serves before it ends")
            .unwrap();
        if let Some(addr) = line.strip_prefix("serving ") {
            break addr.to_owned();
        }
    };
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");
    assert!(
        rest.iter().any(|l| l == "stopped gracefully"),
        "the server stopped on SIGTERM and returned Ok: {rest:?}"
    );
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "nothing listens on {addr} any more"
    );
}

/// The child: serves until SIGTERM, then says how it stopped.
#[tokio::test]
#[ignore = "the child process of sigterm_stops_the_server_gracefully"]
async fn serve_until_sigterm() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let db = TestDb::sqlite();
    let server = toker_api::bind(ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        ..ServeConfig::for_database(db.url.clone())
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    let running = tokio::spawn(server.run(std::future::pending()));
    // Once a request is answered, the server is serving and its handlers are installed.
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    println!("serving {addr}");
    running.await.unwrap().unwrap();
    println!("stopped gracefully");
}
