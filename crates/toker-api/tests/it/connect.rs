//! "Connect your account" end to end, with no network: the platforms' consent pages, token
//! endpoints and data APIs are a local replay of the fixtures. A test client follows the
//! redirect, plays consent, comes back with the code, and ends with a stored profile (TikTok
//! and X through their APIs, Instagram through its data export since its API gives no
//! likes); every refusal is a clear problem+json; a person sees only their own data and
//! erases all of it; no token or code is ever answered or stored in the clear.

use crate::common;
use crate::connect_support;

use axum::http::header;
use connect_support::platforms::{self, X_REFRESH};
use connect_support::{
    Auth, Flow, SECRETS, expected, failed, session_of, set_cookie, sqlite_cells, succeeded,
};
use toker_model::Listing;
use toker_model::Platform;

#[tokio::test]
async fn x_connects_through_oauth_with_pkce_and_the_person_sees_only_their_own_data() {
    let f = Flow::sqlite().await;
    let (authorize, cookie) = f.start("x", "", None).await;
    assert!(authorize.starts_with(&format!("{}/x/i/oauth2/authorize?", f.replay.uri())));
    for part in [
        "code_challenge=",
        "code_challenge_method=S256",
        "client_id=demo-client",
        "state=",
        "redirect_uri=https%3A%2F%2Ftoker.test%2Fv1%2Fconnect%2Fx%2Fcallback",
    ] {
        assert!(authorize.contains(part), "{part} missing: {authorize}");
    }
    let back = f.consent(&authorize, None).await;
    assert!(back.starts_with("/v1/connect/x/callback?code="), "{back}");
    let reply = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    assert_eq!(reply.body["outcome"], "created");
    assert_eq!(reply.body["account"]["method"], "oauth");
    assert_eq!(reply.body["account"]["username"], "jonasweber_dev");
    assert_eq!(reply.body["profile"]["counts"]["number_of_likes"], 141);
    assert_eq!(reply.body["profile"]["liked_count"], 137);
    assert!(reply.body["profile"]["top_categories"].as_array().is_some());
    assert!(
        reply.body["session"]["token"].is_null(),
        "browsers get a cookie"
    );
    let alice = session_of(&reply);
    let principal = reply.body["principal"].as_str().unwrap().to_owned();
    assert!(principal.starts_with("usr_"));

    // What the token endpoint got: the PKCE verifier (the replay checks it against the
    // challenge) and Basic client credentials.
    let log = f.replay.log();
    let exchange = log.iter().find(|l| l.path == "/x/2/oauth2/token").unwrap();
    assert!(
        exchange.body.contains("code_verifier="),
        "{}",
        exchange.body
    );
    assert!(
        exchange
            .authorization
            .as_deref()
            .unwrap()
            .starts_with("Basic ")
    );
    let me_call = log.iter().find(|l| l.path == "/x/2/users/me").unwrap();
    assert_eq!(
        me_call.authorization.as_deref(),
        Some("Bearer example-x-user-access-token-jonas"),
        "the person's own token reads their data"
    );

    // The stored profile is the fixtures' expected one, owned by the principal.
    let mut store = f.store();
    let stored = store
        .get_profile_by_key(Platform::X, "1487365209458921472")
        .unwrap();
    assert_eq!(stored.owner.as_deref(), Some(principal.as_str()));
    let want = expected("x", "expected/api_profile.json");
    assert_eq!(
        stored.profile.number_of_likes,
        want["number_of_likes"].as_u64()
    );
    assert_eq!(
        stored.profile.liked_videos.len(),
        want["liked_videos"].as_array().unwrap().len()
    );

    // The person sees themselves and their profile.
    let me = f.call("GET", "/v1/me", Some(&alice), None).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert_eq!(me.body["principal"], principal.as_str());
    assert_eq!(me.body["accounts"][0]["refreshable"], true);
    let id = stored.id;
    let own = f
        .call("GET", &format!("/v1/profiles/{id}"), Some(&alice), None)
        .await;
    assert_eq!(own.status.as_u16(), 200, "{}", own.body);

    // A second person (TikTok, bearer session) cannot read, list or delete the first's.
    let second = f.connect("tiktok", "?session=bearer", None).await;
    assert_eq!(second.status.as_u16(), 201, "{}", second.body);
    assert!(
        common_set_cookie_absent(&second, "toker_session"),
        "a bearer connect sets no session cookie"
    );
    let bob = session_of(&second);
    assert!(matches!(&bob, Auth::Bearer(t) if t.starts_with("tks_")));
    let denied = f
        .call("GET", &format!("/v1/profiles/{id}"), Some(&bob), None)
        .await;
    denied.assert_problem(404, "not-found");
    let summary = f
        .call(
            "GET",
            &format!("/v1/profiles/{id}/summary"),
            Some(&bob),
            None,
        )
        .await;
    summary.assert_problem(404, "not-found");
    let listed = f.call("GET", "/v1/profiles", Some(&bob), None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["platform"], "tiktok");
    let deleted = f
        .call("DELETE", &format!("/v1/profiles/{id}"), Some(&bob), None)
        .await;
    deleted.assert_problem(404, "not-found");
    assert!(store.get_profile(id).is_ok(), "still there");
    // /v1/me is for people; an API key is refused there, and nobody unsigned gets in.
    f.call("GET", "/v1/me", None, None)
        .await
        .assert_problem(401, "unauthenticated");
    f.call(
        "GET",
        "/v1/me",
        Some(&Auth::Bearer("tks_forged".into())),
        None,
    )
    .await
    .assert_problem(401, "unauthenticated");
    f.assert_no_secret_answered();
}

fn common_set_cookie_absent(reply: &common::Reply, name: &str) -> bool {
    !reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with(&format!("{name}=tks_")))
}

#[tokio::test]
async fn tiktok_connects_with_its_login_token_and_the_research_lists() {
    let f = Flow::sqlite().await;
    let (authorize, cookie) = f.start("tiktok", "?session=bearer", None).await;
    assert!(authorize.contains("client_key=demo-client"), "{authorize}");
    assert!(authorize.contains("code_challenge="), "{authorize}");
    let back = f.consent(&authorize, None).await;
    let reply = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    assert_eq!(reply.body["account"]["user_id"], "mila.reyes");
    assert_eq!(reply.body["profile"]["counts"]["number_of_likes"], 120);
    assert_eq!(reply.body["profile"]["shared_count"], 6);
    let log = f.replay.log();
    let display = log
        .iter()
        .find(|l| l.path == "/tiktok/v2/user/info/")
        .unwrap();
    assert_eq!(
        display.authorization.as_deref(),
        Some("Bearer act.example-user-token-mila")
    );
    assert!(
        log.iter()
            .any(|l| l.path == "/tiktok/v2/research/user/liked_videos/"),
        "liked videos come from the Research API"
    );
    // Connecting again (no session) signs the same person in and updates the profile.
    let again = f.connect("tiktok", "?session=bearer", None).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(again.body["outcome"], "updated");
    assert_eq!(again.body["principal"], reply.body["principal"]);
    assert_eq!(again.body["new_principal"], false);
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn instagram_has_no_likes_in_its_api_so_connecting_proves_and_the_export_fills_in() {
    let f = Flow::sqlite().await;
    let (authorize, cookie) = f.start("instagram", "", None).await;
    assert!(
        !authorize.contains("code_challenge"),
        "Instagram takes no PKCE"
    );
    let back = f.consent(&authorize, None).await;
    let proven = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(proven.status.as_u16(), 200, "{}", proven.body);
    assert_eq!(proven.body["outcome"], "proven");
    assert_eq!(proven.body["account"]["proven"], true);
    assert!(proven.body["profile"].is_null(), "{}", proven.body);
    let next = proven.body["next"].as_str().unwrap();
    assert!(
        next.contains("POST /v1/connect/instagram/export") && next.contains("liked"),
        "the answer says what to do: {next}"
    );
    let mut store = f.store();
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 0);
    assert!(
        sqlite_cells(&f.db.url)
            .iter()
            .any(|(table, c)| table == "principal_accounts" && c == "oauth"),
        "the proof is kept"
    );
    // The long-lived exchange happened with the short-lived token, never answered.
    assert!(
        f.replay
            .log()
            .iter()
            .any(|l| l.path == "/instagram/graph/access_token")
    );

    // Someone without that session uploads the export: it is their private copy.
    let uploaded = f.import("instagram", "legacy.zip", None).await;
    let done = succeeded(&uploaded);
    assert_eq!(done["outcome"], "created");
    assert_eq!(done["new_principal"], true);
    assert_eq!(done["account"]["method"], "export");
    assert_eq!(done["account"]["proven"], false);
    assert_eq!(done["account"]["user_id"], "lea.cooks");
    assert_eq!(done["profile"]["counts"]["number_of_likes"], 120);
    assert!(
        done["session"].is_null(),
        "the session is the upload's: {done}"
    );
    let uploader = session_of(&uploaded);
    let me = f.call("GET", "/v1/me", Some(&uploader), None).await;
    assert_eq!(me.body["accounts"], serde_json::json!([]));
    assert_eq!(me.body["profiles"].as_array().unwrap().len(), 1);
    assert_eq!(me.body["profiles"][0]["unproven"], true);
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 0);
    // Nothing to refresh without a proven account.
    let refreshed = f
        .call("POST", "/v1/me/refresh?wait=20", Some(&uploader), None)
        .await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
    assert_eq!(refreshed.body["state"], "succeeded", "{}", refreshed.body);
    assert_eq!(refreshed.body["result"]["accounts"], serde_json::json!([]));
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn exports_are_checked_for_type_size_shape_and_likes() {
    let f = Flow::with(common_db(), |c| {
        c.min_likes = 200;
        if let Some(connect) = c.connect.as_mut() {
            connect.export_limit = 64 * 1024;
        }
    })
    .await;
    let wrong_type = f
        .upload_bytes("tiktok", b"{}".to_vec(), "application/json", "", None)
        .await;
    wrong_type.assert_problem(415, "unsupported-media-type");
    let huge = f
        .upload_bytes("tiktok", vec![0; 100 * 1024], "application/zip", "", None)
        .await;
    huge.assert_problem(413, "payload-too-large");
    let broken = f
        .upload_bytes(
            "tiktok",
            b"PK\x03\x04 not really a zip".to_vec(),
            "application/zip",
            "",
            None,
        )
        .await;
    let detail = broken.assert_problem(422, "validation");
    assert!(!detail.contains("/tmp"), "no server path: {detail}");
    assert!(
        broken.body["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a readable zip")
    );
    let not_zip = f
        .upload_bytes("tiktok", b"{}".to_vec(), "application/zip", "", None)
        .await;
    not_zip.assert_problem(422, "validation");
    // Nothing is queued for what is refused before the archive is read.
    assert!(
        f.store()
            .list_jobs(Some("import-export"))
            .unwrap()
            .is_empty()
    );
    // Too few likes shows once the export is read: the import fails and says so.
    let few = f.import("tiktok", "activity_layout.zip", None).await;
    let error = failed(&few);
    assert!(
        error.contains("200") && error.contains("export shows fewer"),
        "{error}"
    );
    assert!(error.contains("number_of_likes"), "{error}");
    assert_eq!(few.body["attempts"], 1, "a refusal is not retried");
    assert_eq!(f.store().count_profiles(&Listing::default()).unwrap(), 0);
}

fn common_db() -> toker_store::testing::TestDb {
    toker_store::testing::TestDb::sqlite()
}

#[tokio::test]
async fn an_export_is_a_private_copy_until_proven_and_never_blocks_the_owner() {
    let f = Flow::sqlite().await;
    // Someone uploads Mila's TikTok export first: it is their private copy.
    let claimed = f.import("tiktok", "activity_layout.zip", None).await;
    let claim = succeeded(&claimed);
    assert_eq!(claim["outcome"], "created");
    assert_eq!(claim["account"]["proven"], false);
    let claimer = session_of(&claimed);
    // Mila proves the account with TikTok: the account's profile is hers.
    let proven = f.connect("tiktok", "?session=bearer", None).await;
    assert_eq!(proven.status.as_u16(), 201, "{}", proven.body);
    assert_ne!(proven.body["principal"], claim["principal"]);
    assert_ne!(proven.body["profile"]["id"], claim["profile"]["id"]);
    let listed = f.call("GET", "/v1/profiles", Some(&claimer), None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the claimer still sees their own copy only");
    assert_eq!(items[0]["id"], claim["profile"]["id"]);
    assert_eq!(items[0]["unproven"], true);
    // Uploading again updates the claimer's copy: no refusal tells them Mila proved it.
    let again = f
        .import("tiktok", "activity_layout.zip", Some(&claimer))
        .await;
    assert_eq!(succeeded(&again)["outcome"], "updated");
    assert_eq!(succeeded(&again)["new_principal"], false);
    assert_eq!(succeeded(&again)["profile"]["id"], claim["profile"]["id"]);
    let mila = session_of(&proven);
    let own = f.import("tiktok", "activity_layout.zip", Some(&mila)).await;
    assert_eq!(succeeded(&own)["outcome"], "updated");
    assert_eq!(succeeded(&own)["account"]["proven"], true);
    assert_eq!(
        succeeded(&own)["profile"]["id"],
        proven.body["profile"]["id"]
    );
    assert!(
        own.body["session"].is_null() && set_cookie(&own, "toker_session").is_none(),
        "already signed in: no new session"
    );
    // The account stays OAuth-connected (its tokens kept) after Mila's own upload.
    let me = f.call("GET", "/v1/me", Some(&mila), None).await;
    assert_eq!(me.body["accounts"][0]["method"], "oauth");
    assert_eq!(me.body["accounts"][0]["refreshable"], true);
}

#[tokio::test]
async fn wrong_foreign_replayed_and_expired_states_are_refused() {
    let f = Flow::sqlite().await;
    let (authorize, cookie) = f.start("x", "", None).await;
    let back = f.consent(&authorize, None).await;

    // No cookie: this browser did not start it.
    let detail = f
        .call("GET", &back, None, None)
        .await
        .assert_problem(400, "connect-state");
    assert!(
        detail.contains("toker_connect_x") && detail.contains("GET /v1/connect/x"),
        "{detail}"
    );
    // Another browser's cookie.
    let (_, other_cookie) = f.start("x", "", None).await;
    let detail = f
        .call("GET", &back, None, Some(&other_cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("another browser"), "{detail}");
    // A state the server never issued.
    let code = back
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let forged = format!("/v1/connect/x/callback?code={code}&state=forged-state");
    let detail = f
        .call("GET", &forged, None, Some(&cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("not one this server issued"), "{detail}");
    // A state issued for another platform.
    let (tiktok_url, tiktok_cookie) = f.start("tiktok", "", None).await;
    let tiktok_back = f.consent(&tiktok_url, None).await;
    let cross = tiktok_back.replace("/v1/connect/tiktok/", "/v1/connect/x/");
    let x_named = tiktok_cookie.replace("toker_connect_tiktok", "toker_connect_x");
    let detail = f
        .call("GET", &cross, None, Some(&x_named))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("issued for tiktok"), "{detail}");

    // The real one works once, and its replay is refused.
    let ok = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(ok.status.as_u16(), 201, "{}", ok.body);
    assert!(
        ok.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("toker_connect_x=;")),
        "the spent state's cookie is cleared"
    );
    let detail = f
        .call("GET", &back, None, Some(&cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("already used"), "{detail}");

    // A cookie altered by the client.
    let (_, fresh_cookie) = f.start("x", "", None).await;
    let altered = format!("{}x", fresh_cookie);
    let detail = f
        .call("GET", &back, None, Some(&altered))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("not one this server set"), "{detail}");
    assert_eq!(f.store().count_profiles(&Listing::default()).unwrap(), 1);
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn an_expired_code_and_denied_consent_store_nothing_and_say_what_to_do() {
    let f = Flow::sqlite().await;
    for platform in ["tiktok", "x", "instagram"] {
        let (authorize, cookie) = f.start(platform, "", None).await;
        let back = f.consent(&authorize, Some("expire")).await;
        let detail = f
            .call("GET", &back, None, Some(&cookie))
            .await
            .assert_problem(400, "code-rejected");
        assert!(
            detail.contains(&format!("GET /v1/connect/{platform}")),
            "{detail}"
        );

        let (authorize, cookie) = f.start(platform, "", None).await;
        let back = f.consent(&authorize, Some("deny")).await;
        assert!(back.contains("error=access_denied"), "{back}");
        let detail = f
            .call("GET", &back, None, Some(&cookie))
            .await
            .assert_problem(403, "consent-denied");
        assert!(
            detail.contains("access_denied") && detail.contains("export"),
            "{detail}"
        );
    }
    assert!(
        f.replay
            .log()
            .iter()
            .filter(|l| l.path.ends_with("token") || l.path.ends_with("token/"))
            .count()
            == 3,
        "denials never reach the token endpoint"
    );
    assert_eq!(f.store().count_profiles(&Listing::default()).unwrap(), 0);
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn delete_me_erases_everything_of_the_person_and_nothing_else() {
    let f = Flow::sqlite().await;
    let x = f.connect("x", "?session=bearer", None).await;
    assert_eq!(x.status.as_u16(), 201, "{}", x.body);
    let jonas = session_of(&x);
    let principal = x.body["principal"].as_str().unwrap().to_owned();
    // Jonas adds an Instagram export to himself, and someone else connects TikTok.
    let added = f.import("instagram", "legacy.zip", Some(&jonas)).await;
    assert_eq!(succeeded(&added)["outcome"], "created");
    assert_eq!(succeeded(&added)["principal"], principal.as_str());
    let other = f.connect("tiktok", "?session=bearer", None).await;
    let mila = session_of(&other);

    // Tokens are sealed at rest: no cell holds one in the clear.
    let cells = sqlite_cells(&f.db.url);
    for secret in SECRETS {
        assert!(
            !cells.iter().any(|(_, c)| c.contains(secret)),
            "{secret} stored in the clear"
        );
    }
    assert!(
        cells
            .iter()
            .any(|(t, c)| t == "principal_accounts" && c == "oauth")
    );

    let export = f.call("GET", "/v1/me/export", Some(&jonas), None).await;
    assert_eq!(export.status.as_u16(), 200, "{}", export.body);
    assert!(
        export.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert_eq!(export.body["principal"], principal.as_str());
    assert_eq!(export.body["profiles"].as_array().unwrap().len(), 2);
    assert!(export.body["profiles"][0]["raw_json"].is_object());
    assert_eq!(
        export.body["accounts"].as_array().unwrap().len(),
        1,
        "an unproven upload adds no account"
    );
    assert_eq!(export.body["sessions"][0]["current"], true);

    let erased = f.call("DELETE", "/v1/me", Some(&jonas), None).await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
    assert_eq!(erased.body["erased"]["profiles"], 2);
    assert_eq!(erased.body["erased"]["accounts"], 1);

    // Not a row that names Jonas is left, in any table.
    let cells = sqlite_cells(&f.db.url);
    for trace in [
        principal.as_str(),
        "1487365209458921472",
        "jonasweber_dev",
        "lea.cooks",
    ] {
        let left: Vec<_> = cells.iter().filter(|(_, c)| c.contains(trace)).collect();
        assert!(left.is_empty(), "{trace} left in {left:?}");
    }
    let mut store = f.store();
    assert!(store.get_principal(&principal).unwrap().is_none());
    assert!(store.list_sessions(&principal).unwrap().is_empty());
    let stats = store.stats().unwrap();
    assert_eq!(stats.profiles, 1, "Mila's profile stays");
    let mila_profile = store
        .get_profile_by_key(Platform::TikTok, "mila.reyes")
        .unwrap()
        .profile;
    let mila_videos: std::collections::HashSet<&str> = mila_profile
        .liked_videos
        .iter()
        .chain(&mila_profile.shared_videos)
        .map(|v| v.video_id.as_str())
        .collect();
    assert_eq!(
        stats.videos,
        mila_videos.len() as u64,
        "only Mila's videos remain"
    );
    // Jonas's session is gone; Mila's works.
    f.call("GET", "/v1/me", Some(&jonas), None)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        f.call("GET", "/v1/me", Some(&mila), None)
            .await
            .status
            .as_u16(),
        200
    );
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn refresh_renews_an_expired_token_then_refetches() {
    let f = Flow::sqlite().await;
    f.replay.set_expires_in(Some(0));
    let x = f.connect("x", "?session=bearer", None).await;
    assert_eq!(x.status.as_u16(), 201, "{}", x.body);
    let jonas = session_of(&x);
    f.replay.set_expires_in(None);
    let before = f
        .store()
        .list_accounts(x.body["principal"].as_str().unwrap())
        .unwrap();

    let refreshed = f
        .call("POST", "/v1/me/refresh?wait=20", Some(&jonas), None)
        .await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
    let first = &refreshed.body["result"]["accounts"][0];
    assert!(
        first["outcome"] == "updated" || first["outcome"] == "unchanged",
        "{first}"
    );
    assert_eq!(first["items"]["new"], 0, "{first}");
    assert_eq!(first["items"]["removed"], 0, "{first}");
    assert_eq!(first["items"]["unchanged"], 137 + 7, "{first}");
    let renewals: Vec<_> = f
        .replay
        .log()
        .into_iter()
        .filter(|l| l.body.contains("grant_type=refresh_token"))
        .collect();
    assert_eq!(renewals.len(), 1, "the expired token was renewed once");
    assert!(
        renewals[0]
            .body
            .contains(&format!("refresh_token={X_REFRESH}"))
    );
    let renewed_call = f
        .replay
        .log()
        .into_iter()
        .rev()
        .find(|l| l.path == "/x/2/users/me")
        .unwrap();
    assert!(
        renewed_call.authorization.unwrap().contains("-renewed-"),
        "the data was read with the renewed token"
    );
    let after = f
        .store()
        .list_accounts(x.body["principal"].as_str().unwrap())
        .unwrap();
    assert_ne!(
        before[0].tokens.refresh_token, after[0].tokens.refresh_token,
        "the rotated refresh token is stored"
    );

    // The renewed token is valid for two hours: the next refresh uses it as it is, and,
    // incremental since the last complete run, stops at the first page of known likes.
    let pages_before = liked_pages(&f);
    let again = f
        .call("POST", "/v1/me/refresh?wait=20", Some(&jonas), None)
        .await;
    assert_eq!(
        again.body["result"]["accounts"][0]["outcome"], "unchanged",
        "{}",
        again.body
    );
    assert_eq!(
        liked_pages(&f) - pages_before,
        1,
        "only the newest page is asked for"
    );
    let renewals = f
        .replay
        .log()
        .iter()
        .filter(|l| l.body.contains("grant_type=refresh_token"))
        .count();
    assert_eq!(renewals, 1);
    f.assert_no_secret_answered();
}

/// How many liked pages the replay served to X.
fn liked_pages(f: &Flow) -> usize {
    f.replay
        .log()
        .iter()
        .filter(|l| l.path.ends_with("/liked_tweets"))
        .count()
}

#[tokio::test]
async fn sign_out_ends_the_session_and_keeps_the_data() {
    let f = Flow::sqlite().await;
    let x = f.connect("x", "", None).await;
    let jonas = session_of(&x);
    let out = f.call("DELETE", "/v1/me/session", Some(&jonas), None).await;
    assert_eq!(out.status.as_u16(), 204);
    f.call("GET", "/v1/me", Some(&jonas), None)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(f.store().count_profiles(&Listing::default()).unwrap(), 1);
    // Connecting again signs the same person back in.
    let back = f.connect("x", "", None).await;
    assert_eq!(back.body["principal"], x.body["principal"]);
}

#[tokio::test]
async fn readiness_reports_the_platforms_and_the_key_is_required() {
    use toker_api::{AppState, ConnectConfig, ServeConfig};
    let f = Flow::with(common_db(), |c| {
        if let Some(connect) = c.connect.as_mut() {
            connect.apps.retain(|a| a.platform == Platform::X);
        }
    })
    .await;
    let ready = f.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.status.as_u16(), 200);
    assert_eq!(ready.body["connect"]["enabled"], serde_json::json!(["x"]));
    let why = ready.body["connect"]["disabled"]["tiktok"]
        .as_str()
        .unwrap();
    assert!(why.contains("TOKER_CONNECT_TIKTOK_CLIENT_ID"), "{why}");
    assert_eq!(ready.body["connect"]["export_upload"], true);
    let doc = f.call("GET", "/openapi.json", None, None).await;
    let schemes = &doc.body["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "toker_session");
    assert_eq!(schemes["session_token"]["scheme"], "bearer");
    let disabled = f.call("GET", "/v1/connect/tiktok", None, None).await;
    let detail = disabled.assert_problem(404, "connect-disabled");
    assert!(detail.contains("/readyz"), "{detail}");
    f.call("GET", "/v1/connect/myspace", None, None)
        .await
        .assert_problem(404, "not-found");
    // A name with spaces around it is not one of the names the document's pattern allows.
    f.call("GET", "/v1/connect/%20X", None, None)
        .await
        .assert_problem(404, "not-found");
    let pattern = doc.body["components"]["schemas"]["PlatformDoc"]["pattern"]
        .as_str()
        .unwrap();
    assert!(
        pattern.contains("[Xx]") && !pattern.contains(' '),
        "{pattern}"
    );

    // Credentials without the key: the server refuses to start.
    let db = common_db();
    let mut config = ServeConfig::for_database(db.url.clone());
    let mut connect = connect_support::connect_config(&f.replay);
    connect.secret_key = None;
    config.connect = Some(connect);
    let err = AppState::open(config).unwrap_err().to_string();
    assert!(err.contains("TOKER_SECRET_KEY"), "{err}");
    assert!(!err.contains(platforms::CLIENT_SECRET), "{err}");

    // No key, no credentials: every connect route says it is disabled.
    let mut config = ServeConfig::for_database(db.url.clone());
    config.connect = Some(ConnectConfig::default());
    let state = AppState::open(config).unwrap();
    let app = toker_api::router(state);
    let reply = common::Reply::read(
        tower::ServiceExt::oneshot(
            app,
            axum::http::Request::builder()
                .method("POST")
                .uri("/v1/connect/x/export")
                .header("content-type", "application/zip")
                .body(axum::body::Body::from("PK"))
                .unwrap(),
        )
        .await
        .unwrap(),
    )
    .await;
    reply.assert_problem(404, "connect-disabled");
}

#[tokio::test]
async fn the_connect_flow_runs_on_postgres_too() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    let f = Flow::with(db, |_| {}).await;
    let (authorize, cookie) = f.start("x", "?session=bearer", None).await;
    let back = f.consent(&authorize, None).await;
    let x = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(x.status.as_u16(), 201, "{}", x.body);
    let detail = f
        .call("GET", &back, None, Some(&cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("already used"), "{detail}");
    let jonas = session_of(&x);
    let principal = x.body["principal"].as_str().unwrap().to_owned();
    let export = f.call("GET", "/v1/me/export", Some(&jonas), None).await;
    assert_eq!(export.body["profiles"].as_array().unwrap().len(), 1);
    let erased = f.call("DELETE", "/v1/me", Some(&jonas), None).await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
    let mut store = f.store();
    assert!(store.get_principal(&principal).unwrap().is_none());
    assert!(
        store
            .get_account(Platform::X, "1487365209458921472")
            .unwrap()
            .is_none()
    );
    assert_eq!(store.stats().unwrap().profiles, 0);
    assert_eq!(store.stats().unwrap().videos, 0);
}

/// `method uri` with a JSON body, as the holder of `auth`.
async fn send_json(f: &Flow, method: &str, uri: &str, auth: &Auth, body: &str) -> common::Reply {
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    request = match auth {
        Auth::Bearer(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Auth::Cookie(cookie) => request.header(header::COOKIE, cookie.as_str()),
    };
    f.send(
        request
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_session_may_only_see_refresh_export_and_erase_its_own_data() {
    let f = Flow::sqlite().await;
    let connected = f.connect("x", "", None).await;
    assert_eq!(connected.status.as_u16(), 201, "{}", connected.body);
    let uploaded = f.import("instagram", "legacy.zip", None).await;
    let imported = succeeded(&uploaded);
    let other = f.connect("tiktok", "", None).await;
    let other_id = other.body["profile"]["id"].as_i64().unwrap();
    for (who, reply, answer) in [
        ("oauth", &connected, &connected.body),
        ("export", &uploaded, imported),
    ] {
        let me = session_of(reply);
        let own = answer["profile"]["id"].as_i64().unwrap();
        // Server-wide work and writes need an API key: 403, before any body is read.
        let generate = r#"{"platform": "x", "count": 1000, "seed": 1}"#;
        for (method, uri, body) in [
            ("POST", "/v1/profiles:generate".to_owned(), generate),
            ("POST", "/v1/profiles?platform=x".to_owned(), "{}"),
            ("POST", "/v1/profiles:batch?platform=x".to_owned(), "[]"),
            ("PUT", format!("/v1/profiles/{own}"), "{}"),
            ("GET", "/v1/stats".to_owned(), ""),
            ("POST", "/v1/vectorize".to_owned(), ""),
        ] {
            let detail = send_json(&f, method, &uri, &me, body)
                .await
                .assert_problem(403, "forbidden");
            assert!(
                detail.contains("API key") || detail.contains("admin key"),
                "{who} {method} {uri}: {detail}"
            );
        }
        // Someone else's data is not there at all (404, as for an id that does not exist).
        for uri in [
            format!("/v1/profiles/{other_id}"),
            format!("/v1/profiles/{other_id}/summary"),
        ] {
            f.call("GET", &uri, Some(&me), None)
                .await
                .assert_problem(404, "not-found");
        }
        // Their own data: see, export, refresh.
        for (method, uri) in [
            ("GET", "/v1/me".to_owned()),
            ("GET", "/v1/me/export".to_owned()),
            ("POST", "/v1/me/refresh?wait=20".to_owned()),
            ("GET", "/v1/profiles".to_owned()),
            ("GET", format!("/v1/profiles/{own}")),
            ("GET", format!("/v1/profiles/{own}/summary")),
        ] {
            let reply = f.call(method, &uri, Some(&me), None).await;
            assert_eq!(
                reply.status.as_u16(),
                200,
                "{who} {method} {uri}: {}",
                reply.body
            );
        }
    }
    let all = Listing {
        unproven: true,
        ..Listing::default()
    };
    assert_eq!(
        f.store().count_profiles(&all).unwrap(),
        3,
        "nothing was generated or written"
    );
    // And erase.
    let erased = f
        .call("DELETE", "/v1/me", Some(&session_of(&uploaded)), None)
        .await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
}

fn oauth_state_rows(f: &Flow) -> usize {
    sqlite_cells(&f.db.url)
        .iter()
        .filter(|(table, _)| table == "oauth_states")
        .count()
}

#[tokio::test]
async fn connect_starts_write_nothing_and_each_state_works_once() {
    let f = Flow::sqlite().await;
    let before = sqlite_cells(&f.db.url);
    for _ in 0..1000 {
        let reply = f.call("GET", "/v1/connect/x", None, None).await;
        assert_eq!(reply.status.as_u16(), 302, "{}", reply.body);
    }
    assert_eq!(
        oauth_state_rows(&f),
        0,
        "1,000 connect starts wrote no state"
    );
    assert!(
        sqlite_cells(&f.db.url) == before,
        "1,000 connect starts wrote nothing at all"
    );
    let (authorize, cookie) = f.start("x", "", None).await;
    assert!(
        !cookie.contains(&authorize.split("state=").nth(1).unwrap()[..20]),
        "the state travels sealed, not in the clear"
    );
    let back = f.consent(&authorize, None).await;
    let ok = f.call("GET", &back, None, Some(&cookie)).await;
    assert_eq!(ok.status.as_u16(), 201, "{}", ok.body);
    assert!(oauth_state_rows(&f) > 0, "the used state is remembered");
    let detail = f
        .call("GET", &back, None, Some(&cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("already used"), "{detail}");
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn an_expired_connect_link_is_refused() {
    let f = Flow::with(common_db(), |c| {
        c.connect.as_mut().unwrap().state_ttl = std::time::Duration::from_secs(1);
    })
    .await;
    let (authorize, cookie) = f.start("x", "", None).await;
    let back = f.consent(&authorize, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let detail = f
        .call("GET", &back, None, Some(&cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("expired"), "{detail}");
    assert_eq!(f.store().count_profiles(&Listing::default()).unwrap(), 0);
}

#[tokio::test]
async fn a_connect_started_by_a_person_erased_since_is_refused() {
    let f = Flow::sqlite().await;
    let first = f.connect("x", "", None).await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.body);
    let jonas = session_of(&first);
    // Signed in, Jonas starts adding TikTok, then erases himself before coming back.
    let (authorize, cookie) = f.start("tiktok", "", Some(&jonas)).await;
    let back = f.consent(&authorize, None).await;
    let erased = f.call("DELETE", "/v1/me", Some(&jonas), None).await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
    let detail = f
        .call("GET", &back, None, Some(&cookie))
        .await
        .assert_problem(400, "connect-state");
    assert!(detail.contains("no longer exists"), "{detail}");
    let mut store = f.store();
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 0);
    assert!(
        sqlite_cells(&f.db.url)
            .iter()
            .all(|(table, _)| table != "principals"),
        "nobody was brought back"
    );
}

#[tokio::test]
async fn a_session_from_a_connect_or_an_upload_cannot_read_the_stats() {
    let f = Flow::sqlite().await;
    let connected = f.connect("x", "?session=bearer", None).await;
    assert_eq!(connected.status.as_u16(), 201, "{}", connected.body);
    let uploaded = f.import("tiktok", "activity_layout.zip", None).await;
    assert_eq!(succeeded(&uploaded)["outcome"], "created");
    for reply in [&connected, &uploaded] {
        let detail = f
            .call("GET", "/v1/stats", Some(&session_of(reply)), None)
            .await
            .assert_problem(403, "forbidden");
        assert!(detail.contains("admin"), "{detail}");
    }
}

/// Stores `n` other people (on TikTok) liking what the replayed X account likes, and one
/// with other tastes, then fits the vectors: a server with people, before anyone connects.
fn people_who_like_what_x_likes(f: &Flow, n: usize) -> Vec<i64> {
    let template: toker_model::Profile =
        serde_json::from_value(expected("x", "expected/api_profile.json")).unwrap();
    let people = (0..n).map(|i| {
        let mut p = template.clone();
        p.user_id = format!("fan{i}");
        p.username = format!("fan{i}");
        p.liked_videos.truncate(template.liked_videos.len() - i);
        p
    });
    store_on_tiktok_and_vectorize(f, people)
}

/// Stores each profile as a TikTok profile, then fits the vectors; their ids in order.
fn store_on_tiktok_and_vectorize(
    f: &Flow,
    people: impl Iterator<Item = toker_model::Profile>,
) -> Vec<i64> {
    let mut store = f.store();
    let ids = people
        .map(|p| {
            let raw = serde_json::to_value(&p).unwrap();
            store
                .create_profile(Platform::TikTok, &p, &raw, None)
                .unwrap()
        })
        .collect();
    toker_collect::vectorize_store(&mut store, toker_processing::VectorizerConfig::default())
        .unwrap();
    ids
}

#[tokio::test]
async fn a_person_reaches_their_matches_right_after_connecting_with_no_admin_step() {
    let f = Flow::sqlite().await;
    // Before any refit there is nobody to match with, and the answer says why.
    let early = f.connect("x", "?session=bearer", None).await;
    assert_eq!(early.status.as_u16(), 201, "{}", early.body);
    let reply = f
        .call("GET", "/v1/me/matches", Some(&session_of(&early)), None)
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert!(reply.body["vocabulary_version"].is_null(), "{}", reply.body);
    let note = reply.body["profiles"][0]["note"].as_str().unwrap();
    assert!(note.contains("vectorize"), "{note}");
    f.call("DELETE", "/v1/me", Some(&session_of(&early)), None)
        .await;

    // People are stored and vectorized; then someone connects: matches at once.
    let fans = people_who_like_what_x_likes(&f, 3);
    let connected = f.connect("x", "?session=bearer", None).await;
    assert_eq!(connected.status.as_u16(), 201, "{}", connected.body);
    let session = session_of(&connected);
    let reply = f
        .call("GET", "/v1/me/matches?top=5", Some(&session), None)
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let profiles = reply.body["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1, "{}", reply.body);
    let mine = &profiles[0];
    assert_eq!(mine["platform"], "x");
    assert_eq!(
        mine["vectorized_now"], false,
        "the connect stored its vector: {mine}"
    );
    assert!(mine.get("note").is_none(), "{mine}");
    let matches = mine["matches"].as_array().unwrap();
    let found: Vec<i64> = matches.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(found.len(), fans.len(), "{mine}");
    assert!(
        found.iter().all(|id| fans.contains(id)),
        "{found:?} vs {fans:?}"
    );
    for m in matches {
        // Only the public match fields of other people.
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["features", "id", "platform", "score", "username"],
            "{m}"
        );
        assert!(
            !m["features"].as_array().unwrap().is_empty(),
            "shared interests: {m}"
        );
        assert!(m["score"].as_f64().unwrap() > 0.0);
    }
    // The same profile's matches through the profile route agree.
    let id = mine["id"].as_i64().unwrap();
    let direct = f
        .call(
            "GET",
            &format!("/v1/profiles/{id}/matches?top=5"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(direct.status.as_u16(), 200, "{}", direct.body);
    assert_eq!(direct.body["matches"], mine["matches"]);
    assert_eq!(direct.body["vectorized_now"], false);
    // Without a session there is nobody to match.
    let anonymous = f.call("GET", "/v1/me/matches", None, None).await;
    assert_eq!(anonymous.status.as_u16(), 401, "{}", anonymous.body);
}

/// Instagram's export has no category on liked posts; the topics Instagram assigns the
/// person are their interests, matched as categories: Léa (topics Food, Baking, Travel,
/// Pâtisserie) matches the people whose videos are about food, not the others.
#[tokio::test]
async fn an_instagram_export_matches_by_its_topics_and_without_them_says_what_helps() {
    let f = Flow::sqlite().await;
    let people = ["Food", "Food", "Technology", "Travel"]
        .iter()
        .enumerate()
        .map(|(i, category)| {
            let mut p = toker_model::Profile::new(format!("tt{i}"), format!("tt{i}"));
            p.number_of_likes = Some(500);
            p.liked_videos = (0..3)
                .map(|v| toker_model::Video {
                    categories: vec![(*category).to_owned()],
                    hashtags: vec![format!("#tag{i}")],
                    ..toker_model::Video::new(format!("{i}-{v}"))
                })
                .collect();
            p
        });
    let ids = store_on_tiktok_and_vectorize(&f, people);
    let mut store = f.store();

    let newer = toker_testkit::zip_folder("instagram/export/newer");
    let uploaded = f.import_zip("instagram", newer, None).await;
    assert_eq!(succeeded(&uploaded)["outcome"], "created");
    let session = session_of(&uploaded);
    let reply = f.call("GET", "/v1/me/matches", Some(&session), None).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let mine = &reply.body["profiles"][0];
    let stored = store.get_profile(mine["id"].as_i64().unwrap()).unwrap();
    assert_eq!(
        stored.profile.interests,
        ["Food", "Baking", "Travel", "Pâtisserie"]
    );
    let found: Vec<i64> = mine["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    // The two food people; not the technologist, nor the traveller (one person's
    // category is below the vocabulary's minimum document frequency).
    assert_eq!(found.len(), 2, "{mine}");
    assert!(found.contains(&ids[0]) && found.contains(&ids[1]), "{mine}");
    assert!(
        mine["matches"][0]["features"].to_string().contains("Food"),
        "{mine}"
    );
    f.call("DELETE", "/v1/me", Some(&session), None).await;

    // The older export carries no topics: no match, and the answer says what helps.
    let legacy = f.import("instagram", "legacy.zip", None).await;
    assert_eq!(succeeded(&legacy)["outcome"], "created");
    let reply = f
        .call("GET", "/v1/me/matches", Some(&session_of(&legacy)), None)
        .await;
    let mine = &reply.body["profiles"][0];
    assert_eq!(mine["matches"], serde_json::json!([]), "{mine}");
    let note = mine["note"].as_str().unwrap();
    assert!(note.contains("Your topics"), "{note}");
}

#[tokio::test]
async fn refreshing_an_instagram_account_proven_by_oauth_points_to_a_newer_export() {
    let f = Flow::sqlite().await;
    let proven = f.connect("instagram", "?session=bearer", None).await;
    assert_eq!(proven.body["outcome"], "proven", "{}", proven.body);
    let session = session_of(&proven);
    let uploaded = f.import("instagram", "legacy.zip", Some(&session)).await;
    assert_eq!(succeeded(&uploaded)["outcome"], "created");
    assert_eq!(succeeded(&uploaded)["account"]["proven"], true);
    let refreshed = f
        .call("POST", "/v1/me/refresh?wait=20", Some(&session), None)
        .await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
    let result = &refreshed.body["result"]["accounts"][0];
    assert_eq!(result["platform"], "instagram");
    // Instagram's API has no likes: nothing is wrong, a newer export updates the profile.
    assert_eq!(result["outcome"], "skipped", "{result}");
    let detail = result["detail"].as_str().unwrap();
    assert!(detail.contains("/v1/connect/instagram/export"), "{detail}");
    let me = f.call("GET", "/v1/me", Some(&session), None).await;
    assert_eq!(
        me.body["profiles"][0]["number_of_likes"], 120,
        "{}",
        me.body
    );
}

/// A zip holding one `name` with `text`: a well-formed archive that is no export.
fn zip_of(name: &str, text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    out.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    out.write_all(text.as_bytes()).unwrap();
    out.finish().unwrap().into_inner()
}

/// A signed-out upload is a queued job, answered 202 with a session: its uploader follows
/// it to the connect's answer, nobody else sees it, a broken export ends as a failed job
/// that stores nothing, `?wait=` answers the ended job, and erasing the person erases it.
async fn an_upload_is_a_job_its_uploader_follows(f: &Flow) {
    let accepted = f.upload("instagram", "legacy.zip", "", None).await;
    assert_eq!(accepted.status.as_u16(), 202, "{}", accepted.body);
    assert_eq!(accepted.body["kind"], "import-export");
    assert_eq!(accepted.body["state"], "queued");
    let id = accepted.body["id"].as_i64().unwrap();
    let location = format!("/v1/jobs/{id}");
    assert_eq!(accepted.headers[header::LOCATION], location.as_str());
    assert_eq!(accepted.headers[header::CACHE_CONTROL], "no-store");
    assert!(accepted.body["session"]["expires_at"].is_string());
    assert!(
        accepted.body["session"]["token"].is_null(),
        "a cookie session: {}",
        accepted.body
    );
    let uploader = session_of(&accepted);
    assert!(matches!(uploader, Auth::Cookie(_)));
    let job = f
        .call("GET", &format!("{location}?wait=20"), Some(&uploader), None)
        .await;
    assert_eq!(job.status.as_u16(), 200, "{}", job.body);
    let done = succeeded(&job);
    assert_eq!(done["outcome"], "created");
    assert_eq!(done["new_principal"], true);
    assert_eq!(done["account"]["method"], "export");
    assert_eq!(done["account"]["user_id"], "lea.cooks");
    assert_eq!(done["profile"]["counts"]["number_of_likes"], 120);
    assert!(done["session"].is_null(), "{done}");
    let mut store = f.store();
    assert!(
        !store.get_job(id).unwrap().unwrap().has_input,
        "input dropped"
    );
    let me = f.call("GET", "/v1/me", Some(&uploader), None).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert_eq!(me.body["principal"], done["principal"]);
    assert_eq!(me.body["profiles"][0]["platform"], "instagram");
    assert_eq!(me.body["profiles"][0]["id"], done["profile"]["id"]);
    // Another person's session sees no such job.
    let other = f.connect("tiktok", "?session=bearer", None).await;
    f.call("GET", &location, Some(&session_of(&other)), None)
        .await
        .assert_problem(404, "not-found");

    // A zip that is no export: the import fails, says what is missing, stores nothing.
    let all = Listing {
        unproven: true,
        ..Listing::default()
    };
    let before = store.count_profiles(&all).unwrap();
    let broken = f
        .import_zip("instagram", zip_of("notes.txt", "hello"), Some(&uploader))
        .await;
    let error = failed(&broken);
    assert!(
        error.contains("Instagram data export Toker can read; nothing was stored"),
        "{error}"
    );
    assert!(
        error.contains("(export: no "),
        "names what is missing: {error}"
    );
    assert!(!error.contains("/tmp"), "no server path: {error}");
    assert_eq!(broken.body["attempts"], 1, "not retried: {}", broken.body);
    assert_eq!(store.count_profiles(&all).unwrap(), before);
    let broken_id = broken.body["id"].as_i64().unwrap();
    assert!(!store.get_job(broken_id).unwrap().unwrap().has_input);

    // A bearer upload that waits: 200 with the ended job and the session's token.
    let waited = f.import("instagram", "legacy.zip", None).await;
    assert_eq!(succeeded(&waited)["outcome"], "created");
    assert!(set_cookie(&waited, "toker_session").is_none(), "no cookie");
    let bearer = session_of(&waited);
    assert!(matches!(bearer, Auth::Bearer(_)));
    let listed = f.call("GET", "/v1/profiles", Some(&bearer), None).await;
    assert_eq!(
        listed.body["items"][0]["id"],
        succeeded(&waited)["profile"]["id"]
    );

    // Erasing the uploader erases their jobs with them.
    let erased = f.call("DELETE", "/v1/me", Some(&uploader), None).await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
    assert_eq!(erased.body["erased"]["jobs"], 2, "{}", erased.body);
    assert!(store.get_job(id).unwrap().is_none());
    assert!(store.get_job(broken_id).unwrap().is_none());
    f.assert_no_secret_answered();
}

#[tokio::test]
async fn an_upload_is_a_job_its_uploader_follows_on_sqlite_and_postgres() {
    an_upload_is_a_job_its_uploader_follows(&Flow::sqlite().await).await;
    if let Some(db) = toker_store::testing::TestDb::postgres() {
        an_upload_is_a_job_its_uploader_follows(&Flow::with(db, |_| {}).await).await;
    }
}
