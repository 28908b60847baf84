//! The TikTok API client against a local server replaying `toker-testkit/fixtures/tiktok/api`.
#![cfg(feature = "tiktok")]

use crate::api_support;

use std::sync::Arc;
use std::time::Duration;

use api_support::*;
use serde_json::json;
use toker_model::Platform;
use toker_sources::http::{
    Account, ApiClient, ApiConfig, Listing, PageRequest, Secret, WaitReason,
};
use toker_sources::tiktok::api::TikTokApi;
use toker_sources::{Source, SourceError, SourceKind, UserRef};
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request};

const P: Platform = Platform::TikTok;
const TOKEN: &str = "/v2/oauth/token/";
const USER: &str = "/v2/research/user/info/";
const LIKED: &str = "/v2/research/user/liked_videos/";
const REPOSTED: &str = "/v2/research/user/reposted_videos/";

fn no_cursor(request: &Request) -> bool {
    request_json(request).get("cursor").is_none()
}

/// Serves the token, user info, both liked pages and the reposts.
async fn happy_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_key=test-client-key"))
        .respond_with(replay(P, "oauth_token.json"))
        .mount(&server)
        .await;
    let bearer = || {
        header(
            "authorization",
            "Bearer clt.2f9a7c1e4b8d4e6f9a0b3c5d7e9f1a2b3c4dXyZ1",
        )
    };
    Mock::given(method("POST"))
        .and(path(USER))
        .and(bearer())
        .and(body_partial_json(json!({"username": "mila.reyes"})))
        .respond_with(replay(P, "user_info.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LIKED))
        .and(bearer())
        .and(no_cursor)
        .respond_with(replay(P, "liked_videos_page1.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LIKED))
        .and(bearer())
        .and(body_partial_json(json!({"cursor": 1_754_173_037})))
        .respond_with(replay(P, "liked_videos_page2.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REPOSTED))
        .and(bearer())
        .respond_with(replay(P, "reposted_videos.json"))
        .mount(&server)
        .await;
    server
}

fn client(config: ApiConfig) -> (TikTokApi, Arc<RecordingSleeper>) {
    let sleeper = RecordingSleeper::new();
    (
        TikTokApi::new(config)
            .unwrap()
            .with_sleeper(sleeper.clone()),
        sleeper,
    )
}

#[tokio::test]
async fn fetch_produces_the_expected_profile() {
    let server = happy_server().await;
    let (api, sleeper) = client(config(P, &server));
    assert_eq!(api.kind(), SourceKind::Api);
    let raw = api.fetch(&UserRef::new("@Mila.Reyes")).await.unwrap();

    assert_same_profile(&comparable(&raw.profile), &comparable_expected(P));
    assert_eq!(raw.platform, P);
    assert!(raw.warnings.is_empty(), "{:?}", raw.warnings);
    assert!(sleeper.waits().is_empty());
    // Every raw page body is kept, and the profile re-derives from it.
    assert_eq!(raw.raw["liked"].as_array().unwrap().len(), 2);
    assert_eq!(raw.raw["reposted"].as_array().unwrap().len(), 1);
    assert_eq!(raw.raw["user"]["username"], "mila.reyes");
    let again = toker_sources::tiktok::api::profile_from_raw(&raw.raw).unwrap();
    assert_eq!(again.profile, raw.profile);
    // The client token was fetched once and cached.
    assert_eq!(requests_to(&server, TOKEN).await.len(), 1);
    let liked = requests_to(&server, LIKED).await;
    assert_eq!(liked.len(), 2);
    assert_eq!(
        request_json(&liked[0]),
        json!({"username": "mila.reyes", "max_count": 100})
    );
    assert_eq!(
        query(&liked[0], "fields").unwrap(),
        toker_sources::tiktok::api::VIDEO_FIELDS
    );
}

#[tokio::test]
async fn fetch_page_exposes_each_page_and_its_cursor() {
    let server = happy_server().await;
    let (api, _) = client(config(P, &server));
    let account = api
        .fetch_account(&UserRef::new("mila.reyes"))
        .await
        .unwrap();
    assert_eq!(account.listings, [Listing::Liked, Listing::Reposted]);

    let first = api
        .fetch_page(PageRequest::first(&account, Listing::Liked))
        .await
        .unwrap();
    assert_eq!(first.item_count, 100);
    assert_eq!(first.next_cursor.as_deref(), Some("1754173037"));
    assert!(!first.truncated);
    // A collector resumes from the stored cursor.
    let second = api
        .fetch_page(PageRequest::first(&account, Listing::Liked).after("1754173037"))
        .await
        .unwrap();
    assert_eq!(second.item_count, 20);
    assert_eq!(second.next_cursor, None);
}

#[tokio::test]
async fn max_items_stops_early_and_asks_only_for_what_is_missing() {
    let server = happy_server().await;
    let mut config = config(P, &server);
    config.max_items = Some(110);
    let (api, _) = client(config);
    let raw = api.fetch(&UserRef::new("mila.reyes")).await.unwrap();
    assert_eq!(raw.profile.liked_videos.len(), 110);
    assert_eq!(raw.profile.number_of_likes, Some(110));
    assert_eq!(raw.profile.shared_videos.len(), 6);
    let liked = requests_to(&server, LIKED).await;
    assert_eq!(liked.len(), 2);
    assert_eq!(request_json(&liked[1])["max_count"], 10);
    // The kept raw page holds only the kept items, so the profile re-derives identically.
    let pages = raw.raw["liked"].as_array().unwrap();
    assert_eq!(
        pages[1]["data"]["user_liked_videos"]
            .as_array()
            .unwrap()
            .len(),
        10
    );

    let server = happy_server().await;
    let mut small = api_support::config(P, &server);
    small.max_items = Some(50);
    let (api, _) = client(small);
    let raw = api.fetch(&UserRef::new("mila.reyes")).await.unwrap();
    assert_eq!(raw.profile.liked_videos.len(), 50);
    let liked = requests_to(&server, LIKED).await;
    assert_eq!(liked.len(), 1, "no second page once the bound is reached");
    assert_eq!(request_json(&liked[0])["max_count"], 50);
}

#[tokio::test]
async fn a_page_with_more_items_than_wanted_is_trimmed_and_marked() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN))
        .respond_with(replay(P, "oauth_token.json"))
        .mount(&server)
        .await;
    // This server ignores max_count, as a misbehaving API might.
    Mock::given(path(LIKED))
        .respond_with(replay(P, "liked_videos_page1.json"))
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let page = api
        .fetch_page(PageRequest::first(&account(), Listing::Liked).at_most(30))
        .await
        .unwrap();
    assert_eq!(page.item_count, 30);
    assert!(page.truncated);
    assert_eq!(
        page.raw["data"]["user_liked_videos"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
}

/// An account, without calling user info.
fn account() -> Account {
    Account {
        platform: P,
        key: "mila.reyes".to_owned(),
        username: "mila.reyes".to_owned(),
        listings: vec![Listing::Liked, Listing::Reposted],
        raw: json!({}),
        warnings: vec![],
    }
}

#[tokio::test]
async fn a_rejected_client_token_is_renewed_once() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN))
        .respond_with(replay(P, "oauth_token.json"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path(USER))
        .respond_with(replay(P, "error_401.json"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(USER))
        .respond_with(replay(P, "user_info.json"))
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let account = api
        .fetch_account(&UserRef::new("mila.reyes"))
        .await
        .unwrap();
    assert_eq!(account.username, "mila.reyes");
    assert!(
        sleeper.waits().is_empty(),
        "a token renewal is not a backoff"
    );
}

#[tokio::test]
async fn a_token_rejected_twice_fails_without_looping() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN))
        .respond_with(replay(P, "oauth_token.json"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path(USER))
        .respond_with(replay(P, "error_401.json"))
        .expect(2)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(
        matches!(err, SourceError::TokenRejected { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("tiktok: POST /v2/research/user/info/: token rejected (401)"),
        "{text}"
    );
    assert!(text.contains("access_token_invalid"), "{text}");
    assert!(
        text.contains("20261125023000D32EBCC20F417A4A42"),
        "log_id quoted: {text}"
    );
    assert!(text.contains("TOKER_TIKTOK_CLIENT_KEY"), "{text}");
}

#[tokio::test]
async fn wrong_client_credentials_fail_at_once_naming_the_settings() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN))
        .respond_with(replay(P, "oauth_token_error.json"))
        .expect(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::TokenRejected { .. }), "{err:?}");
    assert!(text.contains("POST /v2/oauth/token/"), "{text}");
    assert!(
        text.contains("Client key or secret is invalid. (invalid_client"),
        "{text}"
    );
    assert!(text.contains("TOKER_TIKTOK_CLIENT_SECRET"), "{text}");
    assert!(
        !text.contains("test-client-secret"),
        "the secret is never shown: {text}"
    );
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn rate_limit_without_reset_backs_off_exponentially_then_succeeds() {
    let server = happy_server().await;
    Mock::given(path(REPOSTED))
        .respond_with(replay(P, "error_429.json"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("mila.reyes")).await.unwrap();
    assert_eq!(raw.profile.shared_videos.len(), 6);
    let waits = sleeper.waits();
    assert_eq!(
        sleeper.reasons(),
        [WaitReason::Throttled, WaitReason::Throttled]
    );
    let base = ApiConfig::DEFAULT_BACKOFF_BASE;
    for (i, wait) in waits.iter().enumerate() {
        let full = base * 2u32.pow(u32::try_from(i).unwrap());
        assert!(
            wait.duration <= full && wait.duration >= full / 2,
            "{wait:?}"
        );
        assert_eq!(wait.endpoint, "POST /v2/research/user/reposted_videos/");
    }
    assert_eq!(requests_to(&server, REPOSTED).await.len(), 3);
}

#[tokio::test]
async fn rate_limit_that_persists_gives_up_after_the_bound() {
    let server = happy_server().await;
    Mock::given(path(REPOSTED))
        .respond_with(replay(P, "error_429.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut config = config(P, &server);
    config.max_retries = 2;
    let (api, sleeper) = client(config);
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("rate_limit_exceeded"), "{err}");
    assert_eq!(sleeper.waits().len(), 2);
    assert_eq!(requests_to(&server, REPOSTED).await.len(), 3);
}

#[tokio::test]
async fn daily_quota_stops_at_once_and_says_when_it_resets() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "error_429_daily_quota.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let budget = MemoryBudget::new(u32::MAX, None);
    let (api, sleeper) = client(budget.on("tiktok-research", config(P, &server)));
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(matches!(err, SourceError::QuotaExceeded { .. }), "{err:?}");
    // Every process sharing the project's budget pauses until 00:00 UTC.
    assert_eq!(
        budget.pauses(),
        [(
            "tiktok-research".to_owned(),
            Duration::from_secs(21 * 3600 + 30 * 60)
        )]
    );
    let text = err.to_string();
    assert!(text.contains("00:00 UTC"), "{text}");
    assert!(
        text.contains("in 21 h 30 min"),
        "relative to the Date header: {text}"
    );
    assert!(sleeper.waits().is_empty());
    assert_eq!(requests_to(&server, LIKED).await.len(), 1);
}

#[tokio::test]
async fn invalid_params_are_not_retried() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "error_400_invalid_params.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(
        matches!(err, SourceError::RequestRejected { status: 400, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("Invalid count or cursor (invalid_params, log_id"),
        "{text}"
    );
    assert_eq!(requests_to(&server, LIKED).await.len(), 1);
}

#[tokio::test]
async fn repeated_server_errors_give_up_after_the_bound() {
    let server = happy_server().await;
    Mock::given(path(USER))
        .respond_with(replay(P, "error_500.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut config = config(P, &server);
    config.max_retries = 2;
    let (api, sleeper) = client(config);
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::ServerError {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("internal_error"), "{err}");
    assert_eq!(
        sleeper.reasons(),
        [WaitReason::ServerError, WaitReason::ServerError]
    );
    assert_eq!(requests_to(&server, USER).await.len(), 3);
}

#[tokio::test]
async fn a_gateway_html_page_is_a_server_error_then_retried() {
    let server = happy_server().await;
    Mock::given(path(USER))
        .respond_with(replay(P, "error_504_gateway.html"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    api.fetch(&UserRef::new("mila.reyes")).await.unwrap();
    assert_eq!(sleeper.reasons(), [WaitReason::ServerError]);

    // Given up on, the message shows the page's start rather than a JSON error.
    let server = happy_server().await;
    Mock::given(path(USER))
        .respond_with(replay(P, "error_504_gateway.html"))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut config = config(P, &server);
    config.max_retries = 0;
    let (api, _) = client(config);
    let text = api
        .fetch(&UserRef::new("mila.reyes"))
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("server error (504)"), "{text}");
    assert!(
        text.contains("not TikTok's JSON: <html> <head><title>504 Gateway Time-out"),
        "{text}"
    );
}

#[tokio::test]
async fn a_truncated_body_is_retried_once_then_names_the_endpoint() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "malformed_truncated.json.txt"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(matches!(err, SourceError::BadResponse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("tiktok: POST /v2/research/user/liked_videos/: unreadable response"),
        "{text}"
    );
    assert_eq!(requests_to(&server, LIKED).await.len(), 2);
}

#[tokio::test]
async fn drifted_payloads_parse_to_the_same_videos() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "liked_videos_drift.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(REPOSTED))
        .respond_with(replay(P, "reposted_videos_alt_key.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("mila.reyes")).await.unwrap();
    let got = comparable(&raw.profile);
    let want = expected(P, "api_profile.json");
    let liked = got["liked_videos"].as_array().unwrap();
    assert_eq!(liked.len(), 3);
    for want in &want["liked_videos"].as_array().unwrap()[..2] {
        assert!(liked.contains(want), "{want}");
    }
    let third = liked
        .iter()
        .find(|v| v["video_id"] == "7703847750033262754")
        .unwrap();
    assert_eq!(third["hashtags"], json!([]));
    assert_eq!(
        (third["likes"].as_u64(), third["shares"].as_u64()),
        (Some(5841), Some(203))
    );
    assert_eq!(raw.profile.number_of_likes, Some(3));
    // The reference page's list key works too.
    assert_eq!(raw.profile.shared_videos.len(), 2);
    assert_eq!(raw.profile.number_of_shares, Some(2));
}

#[tokio::test]
async fn a_repeated_cursor_stops_instead_of_looping() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN))
        .respond_with(replay(P, "oauth_token.json"))
        .mount(&server)
        .await;
    Mock::given(path(USER))
        .respond_with(replay(P, "user_info.json"))
        .mount(&server)
        .await;
    // Always page 1: has_more true, cursor 1754173037.
    Mock::given(path(LIKED))
        .respond_with(replay(P, "liked_videos_page1.json"))
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("mila.reyes")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Pagination {
                listing: "liked",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1754173037"), "{err}");
    assert_eq!(
        requests_to(&server, LIKED).await.len(),
        2,
        "page 1, then the same again"
    );
}

#[tokio::test]
async fn the_display_api_gives_own_counts_and_no_likes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/user/info/"))
        .and(header(
            "authorization",
            "Bearer act.example-user-token-mila",
        ))
        .respond_with(replay(P, "display_user_info.json"))
        .expect(2)
        .mount(&server)
        .await;
    let mut config = ApiConfig::new(P);
    config.base_url = server.uri();
    config.token = Some(Secret::new("act.example-user-token-mila"));
    let (api, _) = client(config.clone());
    assert!(!api.uses_research_api());
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    let p = &raw.profile;
    assert_eq!(
        (p.user_id.as_str(), p.username.as_str()),
        ("mila.reyes", "mila.reyes")
    );
    assert_eq!(p.user_pseudo.as_deref(), Some("Mila Reyes"));
    assert_eq!(p.verified, Some(false));
    assert_eq!(
        (p.followers_count, p.likes_count, p.videos_count),
        (Some(15230), Some(289_400), Some(187))
    );
    assert_eq!(
        (p.number_of_likes, p.number_of_shares),
        (None, None),
        "unknown, not 0"
    );
    assert!(p.liked_videos.is_empty() && p.shared_videos.is_empty());
    assert!(
        raw.warnings.messages().any(|w| w.contains("Research API")),
        "{:?}",
        raw.warnings
    );
    assert_eq!(
        raw.raw["user"]["response"]["data"]["user"]["open_id"],
        "-000d9Yq2Rk1Tb7Lw3vXc8NfPa5Ue4Hm6Jz"
    );

    // The Display API cannot read someone else.
    let (api, _) = client(config);
    let err = api.fetch(&UserRef::new("someone.else")).await.unwrap_err();
    assert!(matches!(err, SourceError::Config { .. }), "{err:?}");
    assert!(
        err.to_string().contains("@mila.reyes, not @someone.else"),
        "{err}"
    );
}

#[test]
fn missing_credentials_name_the_settings() {
    let err = TikTokApi::new(ApiConfig::new(P)).unwrap_err().to_string();
    for var in [
        "TOKER_TIKTOK_CLIENT_KEY",
        "TOKER_TIKTOK_CLIENT_SECRET",
        "TOKER_TIKTOK_TOKEN",
    ] {
        assert!(err.contains(var), "{err}");
    }
    let mut half = ApiConfig::new(P);
    half.client_key = Some(Secret::new("k"));
    let err = TikTokApi::new(half).unwrap_err().to_string();
    assert!(err.ends_with("set TOKER_TIKTOK_CLIENT_SECRET"), "{err}");
}

#[tokio::test]
async fn the_client_token_is_cached_until_it_nears_expiry() {
    let server = happy_server().await;
    let (api, _) = client(config(P, &server));
    api.fetch_account(&UserRef::new("mila.reyes"))
        .await
        .unwrap();
    api.fetch_account(&UserRef::new("mila.reyes"))
        .await
        .unwrap();
    assert_eq!(
        requests_to(&server, TOKEN).await.len(),
        1,
        "expires_in 7200: cached"
    );

    let server = MockServer::start().await;
    let expired = json(P, "oauth_token.json");
    let mut expired = expired.as_object().unwrap().clone();
    expired.insert("expires_in".to_owned(), json!(0));
    Mock::given(path(TOKEN))
        .respond_with(replay_body(
            P,
            "oauth_token.json",
            serde_json::to_string(&expired).unwrap(),
        ))
        .mount(&server)
        .await;
    Mock::given(path(USER))
        .respond_with(replay(P, "user_info.json"))
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    api.fetch_account(&UserRef::new("mila.reyes"))
        .await
        .unwrap();
    api.fetch_account(&UserRef::new("mila.reyes"))
        .await
        .unwrap();
    assert_eq!(
        requests_to(&server, TOKEN).await.len(),
        2,
        "an expired token is renewed"
    );
}
