//! Access logs name the request (method, path, status, key id, request id) but never an
//! API key's secret, an Authorization header or a profile's contents (read from the
//! binary's shared log capture).

use crate::common;

use common::{TestApp, profile};
use serde_json::json;
use toker_testkit::LogCapture;

#[tokio::test]
async fn logs_never_contain_keys_or_profile_contents() {
    let captured = LogCapture::install();

    let t = TestApp::sqlite();
    let mut body = profile("secret-user-id");
    body["username"] = json!("very_private_handle");
    body["liked_videos"][0]["hashtags"] = json!(["#privatehashtag"]);
    let id = t.create(&t.alice, body.clone()).await;
    t.get(&format!("/v1/profiles/{id}"), &t.alice).await;
    t.get(&format!("/v1/profiles/{id}/summary"), &t.alice).await;
    let mut invalid = body.clone();
    invalid["number_of_likes"] = json!(1);
    t.call(
        "POST",
        "/v1/profiles?platform=tiktok",
        Some(&t.alice),
        Some(invalid),
    )
    .await;
    t.call(
        "POST",
        "/v1/profiles?platform=tiktok",
        Some(&t.alice),
        Some(body),
    )
    .await;
    let (key_id, secret) = toker_api::parse_key(&t.bob).unwrap();
    let wrong = format!("tok_{key_id}_{}", "Z".repeat(secret.len()));
    t.get("/v1/profiles", &wrong).await;
    t.get("/v1/profiles", &t.bob).await;

    let logs = captured.text();
    assert!(
        logs.contains("status=201"),
        "access logs are written: {logs}"
    );
    assert!(logs.contains("status=401"), "{logs}");
    assert!(logs.contains(key_id), "the key id names the caller: {logs}");
    for secret_part in [
        toker_api::parse_key(&t.alice).unwrap().1,
        secret,
        &"Z".repeat(secret.len()),
    ] {
        assert!(!logs.contains(secret_part), "a key secret was logged");
    }
    for private in [
        "Bearer",
        "very_private_handle",
        "secret-user-id",
        "privatehashtag",
    ] {
        assert!(!logs.contains(private), "{private:?} was logged: {logs}");
    }
}
