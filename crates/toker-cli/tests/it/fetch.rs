//! `toker fetch` against a local server replaying the platforms' API fixtures (copies kept
//! in toker-testkit/fixtures): the stored profile is the expected one; a profile the
//! API cannot complete is rejected; a rejected token is a clear error.

use std::path::{Path, PathBuf};

use crate::common;

use assert_cmd::Command;
use common::{comparable, fixture, fixture_json};
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A fixture response: the body, with the status of the `.headers` file beside it.
fn replay(rel: &str) -> ResponseTemplate {
    let body = std::fs::read(fixture(rel)).unwrap();
    let stem = rel.split('.').next().unwrap();
    let status = std::fs::read_to_string(fixture(&format!("{stem}.headers")))
        .ok()
        .and_then(|h| h.split_whitespace().nth(1).and_then(|s| s.parse().ok()))
        .unwrap_or(200);
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

/// Runs `toker` off the async runtime (the server keeps serving meanwhile).
async fn toker(
    db: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
) -> assert_cmd::assert::Assert {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("toker").unwrap();
        cmd.env_remove("DATABASE_URL")
            .envs(env)
            .env("TOKER_API_MAX_RETRIES", "1")
            .arg("--database")
            .arg(&db)
            .args(args)
            .assert()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn shown(db: &Path, key: &str) -> Value {
    let mut cmd = Command::cargo_bin("toker").unwrap();
    let out = cmd
        .arg("--database")
        .arg(db)
        .args(["show", key, "--json"])
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_x_stores_the_expected_profile() {
    let server = MockServer::start().await;
    let id = "1487365209458921472";
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(replay("x/api/users_me.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{id}/liked_tweets")))
        .and(query_param_is_missing("pagination_token"))
        .respond_with(replay("x/api/liked_tweets_page1.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{id}/liked_tweets")))
        .and(query_param(
            "pagination_token",
            "7140dibdnow9c7btw4827x8gvnkl2q5qs0kxdcbkcmd8d",
        ))
        .respond_with(replay("x/api/liked_tweets_page2.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{id}/tweets")))
        .respond_with(replay("x/api/user_tweets.json"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let env = vec![
        ("TOKER_X_API_URL".to_owned(), server.uri()),
        ("TOKER_X_TOKEN".to_owned(), "test-user-token".to_owned()),
    ];
    let out = toker(
        db.clone(),
        env.clone(),
        args(&["--json", "fetch", "x", "--user", "me"]),
    )
    .await;
    let out = out.success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stdout.contains("test-user-token"));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "created");
    let want = fixture_json("x/expected/api_profile.json");
    let key = format!("x:{}", want["user_id"].as_str().unwrap());
    assert_eq!(
        comparable(shown(&db, &key)["profile"].clone()),
        comparable(want)
    );

    // A bound on items stops each list early; the profile is replaced atomically.
    let out = toker(
        db.clone(),
        env,
        args(&["--json", "fetch", "x", "--user", "me", "--max-items", "10"]),
    )
    .await;
    let report: Value = serde_json::from_slice(&out.success().get_output().stdout).unwrap();
    assert_eq!(report["outcome"], "updated");
    assert_eq!(report["liked_videos"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_tiktok_stores_the_expected_profile() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(replay("tiktok/api/oauth_token.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/research/user/info/"))
        .respond_with(replay("tiktok/api/user_info.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/research/user/liked_videos/"))
        .and(body_partial_json(json!({"cursor": 1_754_173_037})))
        .respond_with(replay("tiktok/api/liked_videos_page2.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/research/user/liked_videos/"))
        .respond_with(replay("tiktok/api/liked_videos_page1.json"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/research/user/reposted_videos/"))
        .respond_with(replay("tiktok/api/reposted_videos.json"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let env = vec![
        ("TOKER_TIKTOK_API_URL".to_owned(), server.uri()),
        (
            "TOKER_TIKTOK_CLIENT_KEY".to_owned(),
            "test-client-key".to_owned(),
        ),
        (
            "TOKER_TIKTOK_CLIENT_SECRET".to_owned(),
            "test-client-secret".to_owned(),
        ),
    ];
    toker(
        db.clone(),
        env,
        args(&["fetch", "tiktok", "--user", "mila.reyes"]),
    )
    .await
    .success()
    .stdout(predicate::str::contains("tiktok:mila.reyes"));
    let want = fixture_json("tiktok/expected/api_profile.json");
    let key = format!("tiktok:{}", want["user_id"].as_str().unwrap());
    assert_eq!(
        comparable(shown(&db, &key)["profile"].clone()),
        comparable(want)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_or_a_profile_below_the_minimum_stores_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(replay("x/api/error_401.json"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let env = vec![
        ("TOKER_X_API_URL".to_owned(), server.uri()),
        ("TOKER_X_TOKEN".to_owned(), "secret-token-value".to_owned()),
    ];
    toker(db.clone(), env, args(&["fetch", "x", "--user", "me"]))
        .await
        .code(1)
        .stderr(predicate::str::contains("TOKER_X_TOKEN"))
        .stderr(predicate::str::contains("secret-token-value").not());

    // Without a token the error says which variable to set, before any request.
    toker(
        db.clone(),
        vec![],
        args(&["fetch", "instagram", "--user", "me"]),
    )
    .await
    .code(1)
    .stderr(predicate::str::contains("TOKER_INSTAGRAM_TOKEN"));

    // Instagram's API gives no likes-given count: validation rejects the profile (exit 3).
    let ig = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v23.0/me"))
        .respond_with(replay("instagram/api/me.json"))
        .mount(&ig)
        .await;
    Mock::given(method("GET"))
        .and(path("/v23.0/me/media"))
        .respond_with(replay("instagram/api/media_page2.json"))
        .mount(&ig)
        .await;
    let env = vec![
        (
            "TOKER_INSTAGRAM_API_URL".to_owned(),
            format!("{}/v23.0", ig.uri()),
        ),
        ("TOKER_INSTAGRAM_TOKEN".to_owned(), "ig-token".to_owned()),
    ];
    toker(
        db.clone(),
        env,
        args(&["fetch", "instagram", "--user", "me"]),
    )
    .await
    .code(3)
    .stderr(predicate::str::contains("number_of_likes"));
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.arg("--database")
        .arg(&db)
        .args(["list"])
        .assert()
        .success()
        .stdout("Total profiles: 0\n");
}
