//! Two API replicas on one database: a profile created, replaced or deleted through one is
//! in or out of the other's matches within its `match_refresh`, with no refit (the
//! database's vector write marker tells the other its index is stale).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use toker_api::{AppState, ServeConfig, router};
use toker_testkit::on_both_backends;
use tower::ServiceExt;

use crate::common::{Reply, TestApp, profile};

on_both_backends!(
    async TestApp:
    another_replicas_writes_reach_the_matches_without_a_refit,
);

/// A second replica on `a`'s database, checking its index every 100 ms.
fn replica(a: &TestApp) -> Router {
    let mut config = ServeConfig::for_database(a.db.url.clone());
    config.rate_limit_per_minute = None;
    config.auth_failures_per_minute = None;
    config.pool_size = Some(2);
    config.match_refresh = Duration::from_millis(100);
    router(AppState::open(config).unwrap())
}

async fn get(app: &Router, uri: &str, key: &str) -> Reply {
    let request = Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    Reply::read(app.clone().oneshot(request).await.unwrap()).await
}

fn ids(reply: &Reply) -> Vec<i64> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// Asks `b` for `uri` until `done` holds of the answer, for at most 10 s (the replica
/// checks every 100 ms); returns the answer.
async fn eventually(b: &Router, uri: &str, key: &str, done: impl Fn(&Reply) -> bool) -> Reply {
    let start = Instant::now();
    loop {
        let reply = get(b, uri, key).await;
        if done(&reply) {
            return reply;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "replica B still answers {uri} with {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn another_replicas_writes_reach_the_matches_without_a_refit(a: TestApp) {
    let first = a.create(&a.alice, profile("mine")).await;
    let generated = a
        .call(
            "POST",
            "/v1/profiles:generate",
            Some(&a.bob),
            Some(json!({ "platform": "tiktok", "count": 30, "seed": 7 })),
        )
        .await;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.body);
    let refit = a.call("POST", "/v1/vectorize", Some(&a.admin), None).await;
    assert_eq!(refit.status, StatusCode::OK, "{}", refit.body);
    let version = refit.body["vocabulary_version"].clone();

    // Replica B builds its index from what is stored now.
    let b = replica(&a);
    let uri = format!("/v1/profiles/{first}/matches?top=100");
    let before = get(&b, &uri, &a.alice).await;
    assert!(!ids(&before).is_empty(), "{}", before.body);

    // A profile created through A (same interests as `first`) reaches B's index.
    let late = a.create(&a.alice, profile("late")).await;
    let seen = eventually(&b, &uri, &a.alice, |r| ids(r).contains(&late)).await;
    assert_eq!(seen.body["vocabulary_version"], version, "no refit");
    let own = get(&b, &format!("/v1/profiles/{late}/matches"), &a.alice).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(
        own.body["vectorized_now"], false,
        "B's index holds its stored vector"
    );
    assert!(ids(&own).contains(&first), "{}", own.body);

    // Replaced through A with interests nobody shares: B's index drops its old vector.
    let mut unlike = profile("late");
    for list in ["liked_videos", "shared_videos"] {
        unlike[list][0]["categories"] = json!(["zqnothingshared"]);
        unlike[list][0]["hashtags"] = json!(["#zqnothingshared"]);
    }
    let replaced = a
        .call(
            "PUT",
            &format!("/v1/profiles/{late}"),
            Some(&a.alice),
            Some(unlike),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    eventually(&b, &uri, &a.alice, |r| !ids(r).contains(&late)).await;

    // A match deleted through A is no longer served by B (at once: B reads its matches'
    // rows), and B's index drops it at its next check.
    let gone = ids(&get(&b, &uri, &a.alice).await)[0];
    let deleted = a
        .call(
            "DELETE",
            &format!("/v1/profiles/{gone}"),
            Some(&a.bob),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let after = get(&b, &uri, &a.alice).await;
    assert!(!ids(&after).contains(&gone), "{}", after.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = get(&b, &uri, &a.alice).await;
    assert!(!ids(&later).contains(&gone), "{}", later.body);
    assert_eq!(later.body["vocabulary_version"], version, "no refit");
}
