//! Unproven claims: an export upload proves nothing, so it is its uploader's private copy.
//! A forged upload of someone's account never blocks, replaces or shows to the real owner,
//! never appears in anyone else's listing or matches, and the answer to an upload is the
//! same whether or not the account is stored. An OAuth connect proves the account even
//! when the platform's data alone makes no profile (Instagram's API has no likes), and the
//! proof turns the owner's upload into the account's profile. Against the local replay of
//! the platforms, on SQLite and PostgreSQL.

use crate::common;
use crate::connect_support;

use std::io::{Read, Write};

use axum::body::Body;
use axum::http::{Request, header};
use connect_support::{Auth, Flow, session_of, succeeded};
use serde_json::{Value, json};
use toker_api::{Role, create_api_key};
use toker_model::Listing;
use toker_model::Platform;

/// X's archive of Jonas (the replay's X account), and Léa's Instagram export.
const JONAS: &str = "1487365209458921472";
const LEA: &str = "lea.cooks";

/// A fixture export archive with one entry rewritten by `edit` (what a forger does).
fn forged(platform: &str, fixture: &str, entry: &str, edit: impl Fn(&str) -> String) -> Vec<u8> {
    let path = toker_testkit::fixtures()
        .join(platform)
        .join("export")
        .join(fixture);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().to_owned();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        let text = if name == entry { edit(&text) } else { text };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        out.start_file(name, options).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Jonas's X archive with only his first `n` likes.
fn forged_x(n: usize) -> Vec<u8> {
    forged("x", "archive.zip", "data/like.js", |text| {
        let prefix = "window.YTD.like.part0 = ";
        let mut likes: Vec<Value> =
            serde_json::from_str(text.strip_prefix(prefix).unwrap()).unwrap();
        likes.truncate(n);
        format!("{prefix}{}", serde_json::to_string(&likes).unwrap())
    })
}

/// Léa's Instagram export with only her first `n` likes.
fn forged_instagram(n: usize) -> Vec<u8> {
    forged(
        "instagram",
        "legacy.zip",
        "your_instagram_activity/likes/liked_posts.json",
        |text| {
            let mut doc: Value = serde_json::from_str(text).unwrap();
            doc["likes_media_likes"].as_array_mut().unwrap().truncate(n);
            doc.to_string()
        },
    )
}

/// Uploads `bytes` and waits for the import: the upload's answer with the ended job.
async fn upload(f: &Flow, platform: &str, bytes: Vec<u8>, auth: Option<&Auth>) -> common::Reply {
    f.import_zip(platform, bytes, auth).await
}

/// A key of `role`, usable as a bearer like a session token.
fn key(f: &Flow, role: Role) -> Auth {
    let (key, _) = create_api_key(&mut f.store(), role, None).unwrap();
    Auth::Bearer(key)
}

/// A JSON request with a bearer.
async fn send_json(f: &Flow, method: &str, uri: &str, auth: &Auth, body: &Value) -> common::Reply {
    let Auth::Bearer(token) = auth else {
        panic!("a bearer is needed")
    };
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    f.send(request).await
}

async fn vectorize(f: &Flow, admin: &Auth) {
    let done = send_json(f, "POST", "/v1/vectorize", admin, &json!({ "min_df": 1 })).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
}

/// The ids among a profile's matches, as `auth` sees them.
async fn match_ids(f: &Flow, id: i64, auth: &Auth) -> Vec<i64> {
    let reply = f
        .call(
            "GET",
            &format!("/v1/profiles/{id}/matches?top=50"),
            Some(auth),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// The profiles of `/v1/me`: (id, number of likes given, unproven).
async fn my_profiles(f: &Flow, auth: &Auth) -> Vec<(i64, u64, bool)> {
    let me = f.call("GET", "/v1/me", Some(auth), None).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    me.body["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["number_of_likes"].as_u64().unwrap(),
                p["unproven"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// A forged X archive of Jonas is uploaded first; Jonas's own upload still succeeds and he
/// sees his data; neither copy shows to anyone else, in listings or matches; once Jonas
/// proves the account with X, his profile is matched and the forgery still is not.
async fn a_forged_upload_never_blocks_hides_or_shows(f: &Flow) {
    let admin = key(f, Role::Admin);
    let forger = upload(f, "x", forged_x(110), None).await;
    assert_eq!(succeeded(&forger)["outcome"], "created");
    assert_eq!(succeeded(&forger)["account"]["proven"], false);
    let attacker = session_of(&forger);
    let jonas_upload = f.import("x", "archive.zip", None).await;
    assert_eq!(succeeded(&jonas_upload)["outcome"], "created");
    assert_eq!(succeeded(&jonas_upload)["account"]["user_id"], JONAS);
    assert_eq!(succeeded(&jonas_upload)["account"]["proven"], false);
    assert_eq!(
        succeeded(&jonas_upload)["profile"]["counts"]["number_of_likes"],
        138
    );
    assert!(
        succeeded(&jonas_upload)["next"]
            .as_str()
            .unwrap()
            .contains("GET /v1/connect/x")
    );
    let jonas = session_of(&jonas_upload);
    let forged_id = succeeded(&forger)["profile"]["id"].as_i64().unwrap();
    let copy_id = succeeded(&jonas_upload)["profile"]["id"].as_i64().unwrap();
    assert_ne!(forged_id, copy_id);

    // Each sees their own data only.
    assert_eq!(my_profiles(f, &jonas).await, [(copy_id, 138, true)]);
    assert_eq!(my_profiles(f, &attacker).await, [(forged_id, 110, true)]);
    for (who, other) in [(&jonas, forged_id), (&attacker, copy_id)] {
        f.call("GET", &format!("/v1/profiles/{other}"), Some(who), None)
            .await
            .assert_problem(404, "not-found");
    }
    // Nobody else lists them, not even an admin.
    let listed = f.call("GET", "/v1/profiles", Some(&admin), None).await;
    assert_eq!(listed.body["items"], json!([]), "{}", listed.body);
    f.call(
        "GET",
        &format!("/v1/profiles/{forged_id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_problem(404, "not-found");

    // A member stores someone with Jonas's tastes; after a refit, the member's matches
    // hold neither unproven copy, while Jonas may match his own copy against the others.
    let member = key(f, Role::Member);
    let mut twin = serde_json::to_value(f.store().get_profile(copy_id).unwrap().profile).unwrap();
    twin["user_id"] = json!("4242");
    twin["username"] = json!("jonas_twin");
    let created = send_json(f, "POST", "/v1/profiles?platform=x", &member, &twin).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let twin_id = created.body["id"].as_i64().unwrap();
    vectorize(f, &admin).await;
    let seen = match_ids(f, twin_id, &member).await;
    assert!(
        !seen.contains(&forged_id) && !seen.contains(&copy_id),
        "{seen:?}"
    );
    assert_eq!(match_ids(f, copy_id, &jonas).await, [twin_id]);

    // Jonas proves the account with X while signed in: his profile is the account's now.
    let (authorize, cookie) = f.start("x", "", Some(&jonas)).await;
    let back = f.consent(&authorize, None).await;
    let proven = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(proven.status.as_u16(), 201, "{}", proven.body);
    assert_eq!(proven.body["account"]["proven"], true);
    assert_eq!(
        proven.body["principal"],
        succeeded(&jonas_upload)["principal"]
    );
    assert!(proven.body["next"].is_null(), "{}", proven.body);
    let public_id = proven.body["profile"]["id"].as_i64().unwrap();
    assert_eq!(my_profiles(f, &jonas).await, [(public_id, 141, false)]);
    vectorize(f, &admin).await;
    let seen = match_ids(f, twin_id, &member).await;
    assert!(seen.contains(&public_id), "{seen:?}");
    assert!(!seen.contains(&forged_id), "{seen:?}");
    // The forgery stays the forger's private copy; the admin lists the real profile only.
    assert_eq!(my_profiles(f, &attacker).await, [(forged_id, 110, true)]);
    let listed = f.call("GET", "/v1/profiles", Some(&admin), None).await;
    let ids: Vec<i64> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [twin_id, public_id]);
    // And a later forgery is one more private copy, still answered the same way.
    let late = upload(f, "x", forged_x(120), None).await;
    assert_eq!(succeeded(&late)["outcome"], "created");
    assert_eq!(succeeded(&late)["account"]["proven"], false);
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn a_forged_upload_never_blocks_hides_or_shows_on_sqlite() {
    a_forged_upload_never_blocks_hides_or_shows(&Flow::sqlite().await).await;
}

#[tokio::test]
async fn a_forged_upload_never_blocks_hides_or_shows_on_postgres() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    a_forged_upload_never_blocks_hides_or_shows(&Flow::with(db, |_| {}).await).await;
}

/// Léa's Instagram: her API shows no likes, yet connecting proves the account, and the
/// proof makes her upload (not the forger's) the account's profile.
async fn instagram_proves_without_likes_and_unlocks_the_upload(f: &Flow) {
    let admin = key(f, Role::Admin);
    let forger = upload(f, "instagram", forged_instagram(105), None).await;
    assert_eq!(succeeded(&forger)["outcome"], "created");
    let attacker = session_of(&forger);
    let forged_id = succeeded(&forger)["profile"]["id"].as_i64().unwrap();
    let mine = f.import("instagram", "legacy.zip", None).await;
    assert_eq!(succeeded(&mine)["outcome"], "created");
    let lea = session_of(&mine);
    let copy_id = succeeded(&mine)["profile"]["id"].as_i64().unwrap();

    let (authorize, cookie) = f.start("instagram", "", Some(&lea)).await;
    let back = f.consent(&authorize, None).await;
    let proven = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(proven.status.as_u16(), 200, "{}", proven.body);
    assert_eq!(proven.body["outcome"], "proven");
    assert_eq!(proven.body["account"]["method"], "oauth");
    assert_eq!(proven.body["account"]["proven"], true);
    assert_eq!(proven.body["account"]["user_id"], LEA);
    assert_eq!(proven.body["profile"]["id"], copy_id);
    assert_eq!(proven.body["profile"]["counts"]["number_of_likes"], 120);
    assert!(proven.body["session"].is_null(), "already signed in");

    assert_eq!(my_profiles(f, &lea).await, [(copy_id, 120, false)]);
    let me = f.call("GET", "/v1/me", Some(&lea), None).await;
    assert_eq!(me.body["accounts"][0]["method"], "oauth");
    assert_eq!(me.body["accounts"][0]["refreshable"], true);
    assert_eq!(my_profiles(f, &attacker).await, [(forged_id, 105, true)]);
    let listed = f.call("GET", "/v1/profiles", Some(&admin), None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["items"][0]["id"], copy_id);
    let stored = f
        .store()
        .get_profile_by_key(Platform::Instagram, LEA)
        .unwrap();
    assert_eq!(stored.id, copy_id);
    assert_eq!(stored.profile.number_of_likes, Some(120));

    // After a refit, her profile is among the vectors others are matched with; the
    // forgery is not.
    vectorize(f, &admin).await;
    let matched: Vec<i64> = f
        .store()
        .load_vectors(None)
        .unwrap()
        .iter()
        .map(|v| v.profile_id)
        .collect();
    assert_eq!(matched, [copy_id]);
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn instagram_proves_without_likes_and_unlocks_the_upload_on_sqlite() {
    instagram_proves_without_likes_and_unlocks_the_upload(&Flow::sqlite().await).await;
}

#[tokio::test]
async fn instagram_proves_without_likes_and_unlocks_the_upload_on_postgres() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    instagram_proves_without_likes_and_unlocks_the_upload(&Flow::with(db, |_| {}).await).await;
}

#[tokio::test]
async fn instagram_proven_first_then_the_upload_is_the_accounts_profile() {
    let f = Flow::sqlite().await;
    let proven = f.connect("instagram", "?session=bearer", None).await;
    assert_eq!(proven.status.as_u16(), 200, "{}", proven.body);
    assert_eq!(proven.body["outcome"], "proven");
    assert_eq!(proven.body["account"]["user_id"], LEA);
    assert!(proven.body["profile"].is_null(), "{}", proven.body);
    let next = proven.body["next"].as_str().unwrap();
    assert!(next.contains("POST /v1/connect/instagram/export"), "{next}");
    let lea = session_of(&proven);
    assert_eq!(my_profiles(&f, &lea).await, []);

    let uploaded = f.import("instagram", "legacy.zip", Some(&lea)).await;
    assert_eq!(succeeded(&uploaded)["outcome"], "created");
    assert_eq!(succeeded(&uploaded)["account"]["proven"], true);
    assert!(
        succeeded(&uploaded)["next"].is_null(),
        "{}",
        succeeded(&uploaded)
    );
    let id = succeeded(&uploaded)["profile"]["id"].as_i64().unwrap();
    assert_eq!(my_profiles(&f, &lea).await, [(id, 120, false)]);
    assert_eq!(
        f.store().count_profiles(&Listing::default()).unwrap(),
        1,
        "the account's profile, seen by others"
    );
    // Connecting again without a session signs Léa in, with her profile.
    let again = f.connect("instagram", "?session=bearer", None).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(again.body["principal"], proven.body["principal"]);
    assert_eq!(again.body["profile"]["id"], id);
    f.assert_no_secret_answered();
}

/// What an upload came to (its import's result, with the session the upload opened)
/// with what differs between any two answers (ids, times, tokens) blanked: what is left
/// must not depend on what else is stored.
fn shape(reply: &common::Reply) -> Value {
    let mut body = succeeded(reply).clone();
    assert!(
        body["session"].is_null(),
        "the result carries no session: {body}"
    );
    body["principal"] = json!("usr_…");
    body["profile"]["id"] = json!(0);
    body["session"] = reply.body["session"].clone();
    body["session"]["expires_at"] = json!("…");
    body["session"]["token"] = json!("tks_…");
    body
}

#[tokio::test]
async fn an_upload_answers_the_same_whether_or_not_the_account_is_stored() {
    let f = Flow::sqlite().await;
    let first = f.import("x", "archive.zip", None).await;
    assert_eq!(succeeded(&first)["outcome"], "created");
    let nothing_stored = shape(&first);
    // Stored as someone's unproven copy (the first uploader's).
    let again = f.import("x", "archive.zip", None).await;
    assert_eq!(shape(&again), nothing_stored);
    // Stored as the account's profile of a person who proved it.
    let jonas = f.connect("x", "?session=bearer", None).await;
    assert_eq!(jonas.status.as_u16(), 201, "{}", jonas.body);
    let after_proof = f.import("x", "archive.zip", None).await;
    assert_eq!(shape(&after_proof), nothing_stored);
    // Uploaded by a signed-in person who holds another account: the same but no session.
    let mila = f.connect("tiktok", "?session=bearer", None).await;
    let signed_in = f.import("x", "archive.zip", Some(&session_of(&mila))).await;
    let mut body = shape(&signed_in);
    assert_eq!(body["new_principal"], false);
    body["new_principal"] = json!(true);
    body["session"] = nothing_stored["session"].clone();
    assert_eq!(body, nothing_stored);
    // A second upload by the same uploader updates their copy only.
    let mine = session_of(&first);
    let updated = f.import("x", "archive.zip", Some(&mine)).await;
    assert_eq!(succeeded(&updated)["outcome"], "updated");
    assert_eq!(
        succeeded(&updated)["profile"]["id"],
        succeeded(&first)["profile"]["id"]
    );
}
