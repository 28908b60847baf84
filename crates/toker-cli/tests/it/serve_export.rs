//! `toker serve`'s anonymous export upload over a real socket: a zip bomb is answered with
//! a small 413 naming the limit, before it is decompressed, and nothing is stored; an
//! export with many odd items is queued, imported by the server's in-process worker on
//! SQLite, and its job's result counts its warnings per kind.

use crate::common;

use std::path::Path;
use std::process::{Child, Command as Process, Stdio};

use common::instagram_export_zip;
use serde_json::Value;

/// `toker serve` on a free port, with connect routes enabled; its base URL.
fn serve(db: &Path) -> (Child, String) {
    let mut server = Process::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .env(
            "TOKER_SECRET_KEY",
            "7f3a9c2e4b1d8f6a0c5e3b9d7a2f4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a",
        )
        .env("TOKER_COOKIE_SECURE", "false")
        .arg("--database")
        .arg(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = crate::common::served_base(&mut server);
    (server, base)
}

fn stored_profiles(db: &Path) -> u64 {
    let out = assert_cmd::Command::cargo_bin("toker")
        .unwrap()
        .env_remove("DATABASE_URL")
        .arg("--database")
        .arg(db)
        .args(["--json", "stats"])
        .assert()
        .success();
    let stats: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    stats["profiles"].as_u64().unwrap()
}

async fn upload(base: &str, zip: &Path) -> (u16, String, String) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/v1/connect/instagram/export?session=bearer"))
        .header("content-type", "application/zip")
        .body(std::fs::read(zip).unwrap())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, kind, answer.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_zip_bomb_is_a_small_413_and_odd_items_are_counted_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let (mut server, base) = serve(&db);

    let bombs = tempfile::tempdir().unwrap();
    let bomb = instagram_export_zip(bombs.path(), 0, 4_000_000);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 * 1024);
    let (status, kind, body) = upload(&base, &bomb).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(kind, "application/problem+json");
    assert!(body.len() < 2048, "a bounded answer: {} bytes", body.len());
    let problem: Value = serde_json::from_str(&body).unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("limit `max_ratio` = 100") && detail.contains("zip bomb"),
        "{detail}"
    );
    assert!(!detail.contains("/tmp"), "no server path: {detail}");
    assert_eq!(stored_profiles(&db), 0);

    // 150 real likes and 20,001 items naming no post: queued, then imported by the
    // server's own worker on its SQLite database, with one warning group.
    let odd = tempfile::tempdir().unwrap();
    let export = instagram_export_zip(odd.path(), 150, 20_000);
    let (status, _, body) = upload(&base, &export).await;
    assert_eq!(status, 202, "{body}");
    let accepted: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(accepted["kind"], "import-export", "{body}");
    let token = accepted["session"]["token"].as_str().unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{base}/v1/jobs/{}?wait=20", accepted["id"]))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body = answer.text().await.unwrap();
    assert!(body.len() < 8 * 1024, "{} bytes", body.len());
    let job: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["state"], "succeeded", "{body}");
    let reply = &job["result"];
    assert_eq!(reply["outcome"], "created", "{body}");
    let warnings = reply["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "item_unnamed");
    assert_eq!(warnings[0]["count"], 20_001);
    assert_eq!(warnings[0]["examples"].as_array().unwrap().len(), 3);
    assert_eq!(stored_profiles(&db), 1);

    server.kill().unwrap();
    server.wait().unwrap();
}
