//! The API's behaviour, driven in-process through the router, on SQLite and PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, profile};
use serde_json::{Value, json};
use toker_testkit::on_both_backends;

on_both_backends!(
    async TestApp:
    created_profiles_are_cleaned_owned_and_readable,
    invalid_profiles_list_every_violation_and_store_nothing,
    malformed_and_mistyped_bodies_are_problems_and_store_nothing,
    members_never_reach_each_others_profiles,
    duplicates_conflict_without_revealing_others_ids,
    replace_is_atomic_and_keeps_the_platform,
    listing_pages_with_a_stable_cursor,
    batches_report_each_record,
    generate_vectorize_and_match,
);

async fn created_profiles_are_cleaned_owned_and_readable(t: TestApp) {
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=TikTok",
            Some(&t.alice),
            Some(profile("1")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_i64().unwrap();
    assert_eq!(reply.headers["location"], format!("/v1/profiles/{id}"));
    assert_eq!(reply.body["platform"], "tiktok");
    let alice_id = toker_api::parse_key(&t.alice).unwrap().0.to_owned();
    assert_eq!(reply.body["owner"], alice_id);

    let got = t.get(&format!("/v1/profiles/{id}"), &t.alice).await;
    assert_eq!(got.status, StatusCode::OK);
    let p = &got.body["profile"];
    assert_eq!(p["liked_videos"][0]["hashtags"], json!(["#fun", "#coding"]));
    assert_eq!(
        p["liked_videos"][0]["categories"],
        json!(["Technology", "Education"])
    );
    assert_eq!(p["number_of_likes"], 150);
    assert!(
        p.get("extra_key").is_none(),
        "raw keys are not part of the profile"
    );
    let stored = t.store().get_profile(id).unwrap();
    assert_eq!(
        stored.raw_json["extra_key"]["kept"], true,
        "unknown keys are kept raw"
    );

    // The platform may come from the body instead of the query.
    let mut body = profile("2");
    body["platform"] = json!("twitter");
    let reply = t
        .call("POST", "/v1/profiles", Some(&t.alice), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["platform"], "x");

    let summary = t.get(&format!("/v1/profiles/{id}/summary"), &t.alice).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
    // The shared video counts twice.
    assert_eq!(
        summary.body["top_categories"][0],
        json!({"name": "Music", "count": 2})
    );
    assert_eq!(
        summary.body["top_hashtags"][0],
        json!({"name": "#dance", "count": 2})
    );
    assert_eq!(summary.body["counts"]["number_of_likes"], 150);
    assert_eq!(summary.body["liked_count"], 1);

    let deleted = t
        .call(
            "DELETE",
            &format!("/v1/profiles/{id}"),
            Some(&t.alice),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    t.get(&format!("/v1/profiles/{id}"), &t.alice)
        .await
        .assert_problem(404, "not-found");
}

async fn invalid_profiles_list_every_violation_and_store_nothing(t: TestApp) {
    let before = t.snapshot();
    let mut body = profile("1");
    body["number_of_likes"] = json!(5);
    body["liked_videos"][0]["likes"] = json!(-5);
    body["username"] = json!("");
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=tiktok",
            Some(&t.alice),
            Some(body),
        )
        .await;
    reply.assert_problem(422, "validation");
    assert_eq!(
        reply.violation_paths(),
        ["username", "number_of_likes", "liked_videos[0].likes"]
    );
    let message = reply.body["violations"][2]["message"].as_str().unwrap();
    assert!(message.contains("-5"), "{message}");

    // No platform anywhere: named as a violation too.
    let reply = t
        .call("POST", "/v1/profiles", Some(&t.alice), Some(profile("2")))
        .await;
    reply.assert_problem(422, "validation");
    assert_eq!(reply.violation_paths(), ["platform"]);

    // An unknown platform in the query is a bad parameter.
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=vine",
            Some(&t.alice),
            Some(profile("3")),
        )
        .await;
    let detail = reply.assert_problem(400, "bad-request");
    assert!(detail.contains("vine"), "{detail}");
    assert_eq!(t.snapshot(), before);
}

async fn malformed_and_mistyped_bodies_are_problems_and_store_nothing(t: TestApp) {
    let before = t.snapshot();
    let key = Some(t.alice.as_str());
    let uri = "/v1/profiles?platform=tiktok";

    let reply = t
        .raw(
            "POST",
            uri,
            key,
            Some("{\"user_id\": "),
            Some("application/json"),
        )
        .await;
    let detail = reply.assert_problem(400, "malformed-json");
    assert!(detail.contains("line 1"), "{detail}");

    t.raw("POST", uri, key, Some(""), Some("application/json"))
        .await
        .assert_problem(400, "malformed-json");

    let mut mistyped = profile("1");
    mistyped["number_of_likes"] = json!("lots");
    mistyped["verified"] = json!("yes");
    let reply = t.call("POST", uri, key, Some(mistyped)).await;
    reply.assert_problem(422, "validation");
    assert_eq!(reply.violation_paths(), ["verified", "number_of_likes"]);

    let reply = t.call("POST", uri, key, Some(json!([1, 2]))).await;
    reply.assert_problem(422, "validation");
    assert_eq!(reply.violation_paths(), ["$"]);

    t.raw(
        "POST",
        uri,
        key,
        Some("user_id=1"),
        Some("application/x-www-form-urlencoded"),
    )
    .await
    .assert_problem(415, "unsupported-media-type");

    t.get("/v1/profiles/abc", &t.alice)
        .await
        .assert_problem(400, "bad-request");
    t.get("/v1/profiles?limit=0", &t.alice)
        .await
        .assert_problem(400, "bad-request");
    t.get("/v1/profiles?limit=many", &t.alice)
        .await
        .assert_problem(400, "bad-request");
    assert_eq!(t.snapshot(), before);
}

async fn members_never_reach_each_others_profiles(t: TestApp) {
    let theirs = t.create(&t.alice, profile("1")).await;
    let missing = theirs + 1000;
    let before = t.snapshot();

    for (method, suffix, body) in [
        ("GET", "", None),
        ("GET", "/summary", None),
        ("GET", "/matches", None),
        ("PUT", "", Some(profile("1"))),
        ("DELETE", "", None),
    ] {
        let other = t
            .call(
                method,
                &format!("/v1/profiles/{theirs}{suffix}"),
                Some(&t.bob),
                body.clone(),
            )
            .await;
        let absent = t
            .call(
                method,
                &format!("/v1/profiles/{missing}{suffix}"),
                Some(&t.bob),
                body,
            )
            .await;
        let detail = other.assert_problem(404, "not-found");
        absent.assert_problem(404, "not-found");
        // Someone else's id answers exactly like an id that does not exist.
        assert_eq!(
            detail.replace(&theirs.to_string(), "ID"),
            absent.body["detail"]
                .as_str()
                .unwrap()
                .replace(&missing.to_string(), "ID"),
            "{method} {suffix}"
        );
    }
    let listed = t.get("/v1/profiles", &t.bob).await;
    assert_eq!(listed.body["items"], json!([]));
    assert_eq!(t.snapshot(), before, "bob changed nothing");

    // The owner and an admin see it.
    assert_eq!(
        t.get(&format!("/v1/profiles/{theirs}"), &t.alice)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.get(&format!("/v1/profiles/{theirs}"), &t.admin)
            .await
            .status,
        StatusCode::OK
    );
    let all = t.get("/v1/profiles", &t.admin).await;
    assert_eq!(all.body["items"][0]["id"], theirs);

    // Members may not refit the vectors.
    t.call("POST", "/v1/vectorize", Some(&t.bob), None)
        .await
        .assert_problem(403, "forbidden");
}

async fn duplicates_conflict_without_revealing_others_ids(t: TestApp) {
    let id = t.create(&t.alice, profile("1")).await;
    let uri = "/v1/profiles?platform=tiktok";
    let again = t
        .call("POST", uri, Some(&t.alice), Some(profile("1")))
        .await;
    let detail = again.assert_problem(409, "conflict");
    assert!(detail.contains(&format!("id {id}")), "{detail}");
    let before = t.snapshot();
    let other = t.call("POST", uri, Some(&t.bob), Some(profile("1"))).await;
    let detail = other.assert_problem(409, "conflict");
    assert!(
        !detail.contains("id") && !detail.contains("PUT"),
        "{detail}"
    );
    assert_eq!(t.snapshot(), before);
}

async fn replace_is_atomic_and_keeps_the_platform(t: TestApp) {
    let id = t.create(&t.alice, profile("1")).await;
    let uri = format!("/v1/profiles/{id}");
    let mut next = profile("1");
    next["number_of_likes"] = json!(999);
    next["shared_videos"] = json!([]);
    let reply = t.call("PUT", &uri, Some(&t.alice), Some(next)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["profile"]["number_of_likes"], 999);
    assert_eq!(reply.body["profile"]["shared_videos"], json!([]));
    assert_eq!(reply.body["platform"], "tiktok");

    let before = t.snapshot();
    let mut invalid = profile("1");
    invalid["number_of_likes"] = json!(1);
    t.call("PUT", &uri, Some(&t.alice), Some(invalid))
        .await
        .assert_problem(422, "validation");
    let mut moved = profile("1");
    moved["platform"] = json!("instagram");
    let reply = t.call("PUT", &uri, Some(&t.alice), Some(moved)).await;
    reply.assert_problem(422, "validation");
    assert_eq!(reply.violation_paths(), ["platform"]);
    t.raw(
        "PUT",
        &uri,
        Some(&t.alice),
        Some("{"),
        Some("application/json"),
    )
    .await
    .assert_problem(400, "malformed-json");
    assert_eq!(t.snapshot(), before, "failed replaces change nothing");
}

async fn listing_pages_with_a_stable_cursor(t: TestApp) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(t.create(&t.alice, profile(&n.to_string())).await);
    }
    let mut x = profile("x1");
    x["platform"] = json!("x");
    t.call("POST", "/v1/profiles", Some(&t.alice), Some(x))
        .await;
    t.create(&t.bob, profile("b1")).await;

    let mut seen = Vec::new();
    let mut uri = "/v1/profiles?platform=tiktok&limit=2".to_owned();
    loop {
        let page = t.get(&uri, &t.alice).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        assert!(items.iter().all(|i| i["platform"] == "tiktok"));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/profiles?platform=tiktok&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every own tiktok profile once, in id order");
    let first = &t.get("/v1/profiles?limit=1", &t.alice).await.body["items"][0];
    assert_eq!(first["username"], "user_0");
    assert_eq!(first["liked_count"], 1);
    t.get("/v1/profiles?cursor=zzz", &t.alice)
        .await
        .assert_problem(400, "bad-request");
}

async fn batches_report_each_record(t: TestApp) {
    let existing = t.create(&t.alice, profile("1")).await;
    let mut invalid = profile("3");
    invalid["number_of_likes"] = json!(2);
    let body = json!([profile("1"), profile("2"), invalid]);
    let reply = t
        .call(
            "POST",
            "/v1/profiles:batch?platform=tiktok",
            Some(&t.alice),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (
            reply.body["created"].clone(),
            reply.body["duplicates"].clone(),
            reply.body["rejected"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "duplicate");
    assert_eq!(results[0]["id"], existing);
    assert_eq!(results[1]["status"], "created");
    assert_eq!(results[1]["key"], "tiktok:2");
    assert_eq!(results[2]["status"], "rejected");
    assert_eq!(results[2]["violations"][0]["path"], "number_of_likes");

    // JSON Lines, with platforms per record; bob's duplicate does not see alice's id.
    let mut line = profile("9");
    line["platform"] = json!("instagram");
    let mut dup = profile("1");
    dup["platform"] = json!("tiktok");
    let jsonl = format!("{dup}\n{line}\n");
    let reply = t
        .raw(
            "POST",
            "/v1/profiles:batch",
            Some(&t.bob),
            Some(&jsonl),
            Some("application/x-ndjson"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["results"][0]["status"], "duplicate");
    assert!(
        reply.body["results"][0].get("id").is_none(),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["results"][1]["key"], "instagram:9");

    // A malformed document stores nothing at all.
    let before = t.snapshot();
    let broken = format!("{}\n{{\"user_id\": \n", profile("20"));
    let reply = t
        .raw(
            "POST",
            "/v1/profiles:batch?platform=tiktok",
            Some(&t.alice),
            Some(&broken),
            Some("application/x-ndjson"),
        )
        .await;
    let detail = reply.assert_problem(400, "malformed-json");
    assert!(detail.contains("record 2"), "{detail}");
    assert_eq!(t.snapshot(), before);
    // The literal `:batch` route does not shadow or get shadowed by `{id}`.
    t.get("/v1/profiles:batch", &t.alice)
        .await
        .assert_problem(405, "method-not-allowed");
}

async fn generate_vectorize_and_match(t: TestApp) {
    // Nothing vectorized yet.
    let first = t.create(&t.alice, profile("mine")).await;
    t.get(&format!("/v1/profiles/{first}/matches"), &t.alice)
        .await
        .assert_problem(409, "not-vectorized");

    let request = json!({ "platform": "tiktok", "count": 30, "seed": 7 });
    let reply = t
        .call(
            "POST",
            "/v1/profiles:generate",
            Some(&t.bob),
            Some(request.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["created"], 30);
    let again = t
        .call("POST", "/v1/profiles:generate", Some(&t.bob), Some(request))
        .await;
    assert_eq!(
        again.body["duplicates"], 30,
        "the same seed makes the same people"
    );
    t.call(
        "POST",
        "/v1/profiles:generate",
        Some(&t.bob),
        Some(json!({"platform": "tiktok", "count": 0})),
    )
    .await
    .assert_problem(422, "validation");

    let report = t.call("POST", "/v1/vectorize", Some(&t.admin), None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(report.body["profiles"], 31);
    let version = report.body["vocabulary_version"]
        .as_str()
        .unwrap()
        .to_owned();

    let reply = t
        .get(&format!("/v1/profiles/{first}/matches?top=3"), &t.alice)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["vocabulary_version"], version.as_str());
    let matches = reply.body["matches"].as_array().unwrap();
    assert!(!matches.is_empty() && matches.len() <= 3, "{}", reply.body);
    for m in matches {
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["features", "id", "platform", "score", "username"],
            "public fields only"
        );
        assert_ne!(m["id"], first);
        assert!(m["score"].as_f64().unwrap() > 0.0);
        assert!(m["features"][0]["kind"] == "category" || m["features"][0]["kind"] == "hashtag");
    }
    let scores: Vec<f64> = matches
        .iter()
        .map(|m| m["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // A deleted match disappears at once; the next best takes its place.
    let gone = matches[0]["id"].as_i64().unwrap();
    let deleted = t
        .call(
            "DELETE",
            &format!("/v1/profiles/{gone}"),
            Some(&t.bob),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = t
        .get(&format!("/v1/profiles/{first}/matches?top=3"), &t.alice)
        .await;
    assert!(
        after.body["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != gone)
    );

    let none = t
        .get(
            &format!("/v1/profiles/{first}/matches?platform=x"),
            &t.alice,
        )
        .await;
    assert_eq!(none.body["matches"], json!([]));
    t.get(&format!("/v1/profiles/{first}/matches?top=0"), &t.alice)
        .await
        .assert_problem(400, "bad-request");

    // A profile stored after the refit is stored with its vector under the stored
    // vocabulary: it is among another profile's matches with no further call.
    let late = t.create(&t.alice, profile("late")).await;
    let others = t
        .get(&format!("/v1/profiles/{first}/matches?top=100"), &t.alice)
        .await;
    assert_eq!(others.status, StatusCode::OK, "{}", others.body);
    assert!(match_ids(&others).contains(&late), "{}", others.body);
    let matched = t
        .get(&format!("/v1/profiles/{late}/matches"), &t.alice)
        .await;
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    assert_eq!(
        matched.body["vectorized_now"], false,
        "its vector is stored"
    );
    assert_eq!(matched.body["vocabulary_version"], version.as_str());
    let ids = match_ids(&matched);
    assert!(ids.contains(&first) && !ids.contains(&late), "{ids:?}");

    // The numbers describe everyone's data: admins only.
    let detail = t
        .get("/v1/stats", &t.alice)
        .await
        .assert_problem(403, "forbidden");
    assert!(detail.contains("admin"), "{detail}");
    let stats = t.get("/v1/stats", &t.admin).await;
    assert_eq!(stats.status, StatusCode::OK);
    assert_eq!(stats.body["profiles"], 31);
    assert_eq!(stats.body["vocabulary_version"], version.as_str());
    assert_eq!(stats.body["by_platform"]["tiktok"], 31);
    assert_eq!(stats.body["vectors"], 31, "every profile has its vector");
    // One profile (late) written since the refit, of 31.
    assert_eq!(stats.body["changed_since_refit"], 1);
    let drift = stats.body["drift"].as_f64().unwrap();
    assert!((drift - 1.0 / 31.0).abs() < 1e-9, "{drift}");
    assert_eq!(stats.body["refit_advised"], false);
}

/// The ids of a matches answer, best first.
fn match_ids(reply: &common::Reply) -> Vec<i64> {
    reply.body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_credential_failure_is_the_same_401() {
    let t = TestApp::sqlite();
    let (id, secret) = toker_api::parse_key(&t.alice).unwrap();
    let wrong_secret = format!("tok_{id}_{}", "x".repeat(secret.len()));
    let unknown_id = format!("tok_{}_{secret}", "0".repeat(id.len()));
    let mut store = t.store();
    let (revoked, record) =
        toker_api::create_api_key(&mut store, toker_api::Role::Admin, None).unwrap();
    toker_api::revoke_api_key(&mut store, &record.key_id).unwrap();

    let mut bodies = Vec::new();
    for auth in [
        None,
        Some("Bearer".to_owned()),
        Some("Basic dXNlcjpwYXNz".to_owned()),
        Some("Bearer garbage".to_owned()),
        Some(format!("Bearer {wrong_secret}")),
        Some(format!("Bearer {unknown_id}")),
        Some(format!("Bearer {revoked}")),
    ] {
        let mut request = axum::http::Request::builder().uri("/v1/profiles");
        if let Some(auth) = &auth {
            request = request.header("authorization", auth);
        }
        let reply = t
            .send(request.body(axum::body::Body::empty()).unwrap())
            .await;
        reply.assert_problem(401, "unauthenticated");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
        bodies.push(reply.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "no hint about which part failed"
    );
    // The revoked key worked before revocation would have; a live key still works.
    assert_eq!(t.get("/v1/profiles", &t.alice).await.status, StatusCode::OK);
    // Probes need no key.
    assert_eq!(
        t.call("GET", "/healthz", None, None).await.body,
        json!({"status": "ok"})
    );
    assert_eq!(
        t.call("GET", "/readyz", None, None).await.body["status"],
        "ready"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let t = TestApp::sqlite();
    let detail = t
        .call("GET", "/v2/profiles", None, None)
        .await
        .assert_problem(404, "not-found");
    assert!(detail.contains("/v2/profiles"), "{detail}");
    let reply = t
        .call("PATCH", "/v1/profiles/1", Some(&t.alice), None)
        .await;
    reply.assert_problem(405, "method-not-allowed");
    assert!(reply.headers.contains_key("allow"));
}

#[tokio::test]
async fn oversized_bodies_get_413_and_store_nothing() {
    let t = TestApp::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.body_limit = 2_000
    });
    let before = t.snapshot();
    let mut big = profile("1");
    big["padding"] = Value::String("x".repeat(5_000));
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=tiktok",
            Some(&t.alice),
            Some(big.clone()),
        )
        .await;
    reply.assert_problem(413, "payload-too-large");
    let reply = t
        .call(
            "POST",
            "/v1/profiles:batch?platform=tiktok",
            Some(&t.alice),
            Some(json!([big])),
        )
        .await;
    reply.assert_problem(413, "payload-too-large");
    assert_eq!(t.snapshot(), before);
    // Under the limit is fine.
    t.create(&t.alice, profile("2")).await;
}

#[tokio::test]
async fn rate_limits_are_per_key_with_retry_after() {
    let t = TestApp::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.rate_limit_per_minute = Some(2);
    });
    for _ in 0..2 {
        assert_eq!(t.get("/v1/profiles", &t.alice).await.status, StatusCode::OK);
    }
    let limited = t.get("/v1/profiles", &t.alice).await;
    limited.assert_problem(429, "rate-limited");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        t.get("/v1/profiles", &t.bob).await.status,
        StatusCode::OK,
        "bob has his own bucket"
    );
}

#[tokio::test]
async fn responses_carry_request_ids_and_cors_for_allowed_origins() {
    let t = TestApp::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.cors_origins = vec!["https://app.example".to_owned()];
    });
    let reply = t.call("GET", "/healthz", None, None).await;
    let generated = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "{generated}");
    let request = axum::http::Request::builder()
        .uri("/v1/nope")
        .header("x-request-id", "abc-123")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(t.send(request).await.headers["x-request-id"], "abc-123");
    // An id outside [A-Za-z0-9._-]{1,64} is replaced by a generated one, echoed back.
    for forged in [
        "x".repeat(65),
        "a\"b".to_owned(),
        "id status=200 key_id=tok_admin".to_owned(),
        "x".repeat(16 * 1024),
    ] {
        let request = axum::http::Request::builder()
            .uri("/healthz")
            .header("x-request-id", forged.as_str())
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = t.send(request).await;
        let used = reply.headers["x-request-id"].to_str().unwrap();
        assert_ne!(used, forged);
        assert_eq!(used.len(), 36, "a generated id: {used}");
    }
    let twice = axum::http::Request::builder()
        .uri("/healthz")
        .header("x-request-id", "one")
        .header("x-request-id", "two")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = t.send(twice).await;
    let ids: Vec<_> = reply.headers.get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0].len(), 36, "{ids:?}");

    let preflight = |origin: &str| {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/profiles")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let allowed = t.send(preflight("https://app.example")).await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let other = t.send(preflight("https://evil.example")).await;
    assert!(!other.headers.contains_key("access-control-allow-origin"));
}
