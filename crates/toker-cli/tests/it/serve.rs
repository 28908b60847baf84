//! `toker apikey` and `toker serve` as an operator runs them: create a key, serve the
//! embedded SQLite database, call the API over a real socket, stop with SIGTERM.

use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_the_rest_api_with_keys_from_the_cli_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let created = Command::cargo_bin("toker")
        .unwrap()
        .env_remove("DATABASE_URL")
        .arg("--database")
        .arg(&db)
        .args([
            "--json", "apikey", "create", "--role", "admin", "--label", "test",
        ])
        .assert()
        .success();
    let created: Value = serde_json::from_slice(&created.get_output().stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["key_id"].as_str().unwrap().to_owned();

    let listed = Command::cargo_bin("toker")
        .unwrap()
        .arg("--database")
        .arg(&db)
        .args(["apikey", "list"])
        .assert()
        .success();
    let listed = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    assert!(
        listed.contains(&key_id) && listed.contains("admin"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "the secret is never shown again");

    let mut server = Process::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .arg("--database")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = crate::common::served_base(&mut server);

    let http = reqwest::Client::new();
    let anonymous = http
        .get(format!("{base}/v1/profiles"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(
        anonymous.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );

    let generated = http
        .post(format!("{base}/v1/profiles:generate"))
        .bearer_auth(&key)
        .json(&json!({"platform": "tiktok", "count": 40, "seed": 3}))
        .send()
        .await
        .unwrap();
    assert!(
        generated.status().is_success(),
        "{}",
        generated.text().await.unwrap()
    );
    let vectorized = http
        .post(format!("{base}/v1/vectorize"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(vectorized.status().is_success());
    let matches: Value = http
        .get(format!("{base}/v1/profiles/1/matches?top=3"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(matches["matches"].as_array().unwrap().len(), 3, "{matches}");

    // The CLI sees what the API stored.
    let listed = Command::cargo_bin("toker")
        .unwrap()
        .arg("--database")
        .arg(&db)
        .args(["--json", "list"])
        .assert()
        .success();
    let listed: Value = serde_json::from_slice(&listed.get_output().stdout).unwrap();
    assert_eq!(listed["total"], 40);

    // A revoked key is refused.
    Command::cargo_bin("toker")
        .unwrap()
        .arg("--database")
        .arg(&db)
        .args(["apikey", "revoke", &key_id])
        .assert()
        .success();
    let refused = http
        .get(format!("{base}/v1/profiles"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let pid = server.id().to_string();
    assert!(
        Process::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}

/// Sends `GET {path}` (with `key`, if any) on a kept-alive connection; the status.
async fn status_on(stream: &mut tokio::net::TcpStream, path: &str, key: Option<&str>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n"));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\n{}\r\n",
        auth.unwrap_or_default()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "closed early");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
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
    head[9..12].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_files_in_reserve_and_refuses_connections_beyond_its_cap() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let created = Command::cargo_bin("toker")
        .unwrap()
        .arg("--database")
        .arg(&db)
        .args(["--json", "apikey", "create", "--role", "admin"])
        .assert()
        .success();
    let created: Value = serde_json::from_slice(&created.get_output().stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();

    // 256 open files allowed, 1,000 connections asked for: the server keeps 128 files in
    // reserve and serves at most 128 connections.
    let mut server = KillOnDrop(
        Process::new("bash")
            .arg("-c")
            .arg(r#"ulimit -n 256 && exec "$0" "$@""#)
            .arg(assert_cmd::cargo::cargo_bin("toker"))
            .arg("--database")
            .arg(&db)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--max-connections",
                "1000",
            ])
            .args(["--header-read-timeout", "60", "--idle-timeout", "60"])
            .env_remove("DATABASE_URL")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let base = crate::common::served_base(&mut server.0);
    let addr = base.trim_start_matches("http://").to_owned();
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(status_on(&mut first, "/readyz", None).await, 200);

    // More idle connections than the process has files for.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // A new one is answered 503 and closed at once instead of waiting for a file.
    let started = std::time::Instant::now();
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        extra.read_to_string(&mut answer),
    )
    .await
    .expect("a connection beyond the cap is closed at once")
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The open connection is still served, database included.
    assert_eq!(status_on(&mut first, "/v1/stats", Some(&key)).await, 200);
    assert_eq!(status_on(&mut first, "/readyz", None).await, 200);
    drop(idle);

    let pid = server.0.id().to_string();
    assert!(
        Process::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A server process that is killed if the test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_metrics_open_answers_metrics_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let mut server = KillOnDrop(
        Process::new(assert_cmd::cargo::cargo_bin("toker"))
            .env_remove("DATABASE_URL")
            .env_remove("TOKER_METRICS_OPEN")
            .arg("--database")
            .arg(&db)
            .args(["serve", "--bind", "127.0.0.1:0", "--metrics-open"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let base = crate::common::served_base(&mut server.0);
    let http = reqwest::Client::new();
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let scraped = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert_eq!(
        scraped.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = scraped.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l
                == r#"toker_http_requests_total{route="/readyz",method="GET",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("toker_db_pool_max_connections 4\n"), "{text}");

    let pid = server.0.id().to_string();
    assert!(
        Process::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status}");
}
