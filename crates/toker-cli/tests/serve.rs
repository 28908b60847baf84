#![allow(clippy::unwrap_used)]
//! `toker apikey` and `toker serve` as an operator runs them: create a key, serve the
//! embedded SQLite database, call the API over a real socket, stop with SIGTERM.

use std::io::{BufRead, BufReader};
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
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(url) = line.trim().strip_prefix("toker: serving the REST API on ") {
            break url.to_owned();
        }
    };

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
