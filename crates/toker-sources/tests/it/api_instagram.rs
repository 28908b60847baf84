//! The Instagram API client against a local server replaying `toker-testkit/fixtures/instagram/api`.
#![cfg(feature = "instagram")]

use crate::api_support;

use std::sync::Arc;

use api_support::*;
use toker_model::{Platform, ValidationRules};
use toker_sources::http::{ApiClient, ApiConfig, Listing, PageRequest, WaitReason};
use toker_sources::instagram::api::InstagramApi;
use toker_sources::{Source, SourceError, UserRef};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request};

const P: Platform = Platform::Instagram;
const ME: &str = "/v23.0/me";
const MEDIA: &str = "/v23.0/me/media";
const AFTER: &str = "QVFIUnlfZAk1Tm9tR2xWUWRmVGx5aHZA0ZAXR4NTZAjdjBhSE5MM3NR";

fn first_page(request: &Request) -> bool {
    query(request, "after").is_none()
}

/// Serves me and both media pages; page 1's `next` URL carries a token, as Graph's do.
async fn happy_server() -> MockServer {
    let server = MockServer::start().await;
    let bearer = || header("authorization", "Bearer IGAAexampleLongLivedLea");
    Mock::given(method("GET"))
        .and(path(ME))
        .and(bearer())
        .respond_with(replay(P, "me.json"))
        .mount(&server)
        .await;
    let page1 =
        body(P, "media_page1.json").replace("access_token=REDACTED", "access_token=IGAAleaked");
    Mock::given(method("GET"))
        .and(path(MEDIA))
        .and(bearer())
        .and(first_page)
        .respond_with(replay_body(P, "media_page1.json", page1))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(MEDIA))
        .and(bearer())
        .and(query_param("after", AFTER))
        .respond_with(replay(P, "media_page2.json"))
        .mount(&server)
        .await;
    server
}

fn client(config: ApiConfig) -> (InstagramApi, Arc<RecordingSleeper>) {
    let sleeper = RecordingSleeper::new();
    (
        InstagramApi::new(config)
            .unwrap()
            .with_sleeper(sleeper.clone()),
        sleeper,
    )
}

#[tokio::test]
async fn fetch_produces_the_expected_profile() {
    let server = happy_server().await;
    let (api, sleeper) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("lea.cooks")).await.unwrap();

    assert_same_profile(&comparable(&raw.profile), &comparable_expected(P));
    assert!(sleeper.waits().is_empty());
    assert_eq!(raw.raw["posts"].as_array().unwrap().len(), 2);
    assert_eq!(
        raw.raw["user"]["user_id"], "17841405822304914",
        "kept in the raw JSON"
    );
    let again = toker_sources::instagram::api::profile_from_raw(&raw.raw).unwrap();
    assert_eq!(again.profile, raw.profile);
    // No token in the stored pages.
    let stored = raw.raw.to_string();
    assert!(!stored.contains("IGAAleaked"), "{stored}");
    assert!(stored.contains("access_token=REDACTED"));
    // Likes given are unknown: validation rejects the profile, and the warning says why.
    let err = raw
        .profile
        .validate(&ValidationRules::default())
        .unwrap_err();
    assert!(err.at("number_of_likes").is_some(), "{err}");
    assert!(
        raw.warnings.messages().any(|w| w.contains("data export")),
        "{:?}",
        raw.warnings
    );
    let media = requests_to(&server, MEDIA).await;
    assert_eq!(query(&media[0], "limit").as_deref(), Some("25"));
    assert_eq!(query(&media[1], "after").as_deref(), Some(AFTER));
}

#[tokio::test]
async fn fetch_page_exposes_each_page_and_its_cursor() {
    let server = happy_server().await;
    let (api, _) = client(config(P, &server));
    let account = api.fetch_account(&UserRef::new("me")).await.unwrap();
    assert_eq!(account.listings, [Listing::Posts]);
    let first = api
        .fetch_page(PageRequest::first(&account, Listing::Posts))
        .await
        .unwrap();
    assert_eq!(
        (first.item_count, first.next_cursor.as_deref()),
        (10, Some(AFTER))
    );
    let second = api
        .fetch_page(PageRequest::first(&account, Listing::Posts).after(AFTER))
        .await
        .unwrap();
    assert_eq!((second.item_count, second.next_cursor), (8, None));
    let err = api
        .fetch_page(PageRequest::first(&account, Listing::Liked))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("import the data export"), "{err}");
}

#[tokio::test]
async fn max_items_stops_early_and_asks_only_for_what_is_missing() {
    let server = happy_server().await;
    let mut config = config(P, &server);
    config.page_size = Some(10);
    config.max_items = Some(12);
    let (api, _) = client(config);
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    let media = requests_to(&server, MEDIA).await;
    assert_eq!(media.len(), 2);
    assert_eq!(query(&media[0], "limit").as_deref(), Some("10"));
    assert_eq!(query(&media[1], "limit").as_deref(), Some("2"));
    let likes = |name: &str, n: usize| -> u64 {
        json(P, name)["data"].as_array().unwrap()[..n]
            .iter()
            .map(|m| m["like_count"].as_u64().unwrap())
            .sum()
    };
    let want = likes("media_page1.json", 10) + likes("media_page2.json", 2);
    assert_eq!(raw.profile.number_of_likes_on_own_videos, Some(want));
}

#[tokio::test]
async fn an_expired_token_fails_at_once_asking_to_reconnect() {
    let server = MockServer::start().await;
    Mock::given(path(ME))
        .respond_with(replay(P, "error_190.json"))
        .expect(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(
        matches!(err, SourceError::TokenRejected { status: 400, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("instagram: GET /me: token rejected (400): Error validating access token"),
        "{text}"
    );
    assert!(
        text.contains("code 190/463, fbtrace_id AkZt3xQy8pRhM2vJc0bN1Wd"),
        "{text}"
    );
    assert!(text.contains("the token expired; reconnect"), "{text}");
    assert!(text.contains("TOKER_INSTAGRAM_TOKEN"), "{text}");
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn throttling_backs_off_then_succeeds() {
    let server = happy_server().await;
    Mock::given(path(MEDIA))
        .respond_with(replay(P, "error_throttled.json"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    assert_eq!(raw.profile.number_of_likes_on_own_videos, Some(9149));
    assert_eq!(
        sleeper.reasons(),
        [WaitReason::Throttled, WaitReason::Throttled]
    );
}

#[tokio::test]
async fn a_business_usage_header_sets_the_wait() {
    let server = happy_server().await;
    Mock::given(path(MEDIA))
        .respond_with(replay(P, "error_throttled.json").insert_header(
            "x-business-use-case-usage",
            r#"{"17841405822304914":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":3}]}"#,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    api.fetch(&UserRef::new("me")).await.unwrap();
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    assert_eq!(
        (waits[0].reason, waits[0].duration.as_secs()),
        (WaitReason::RateLimit, 180)
    );
}

#[tokio::test]
async fn repeated_transient_errors_give_up_after_the_bound() {
    let server = happy_server().await;
    Mock::given(path(ME))
        .respond_with(replay(P, "error_500.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut config = config(P, &server);
    config.max_retries = 1;
    let (api, sleeper) = client(config);
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::ServerError {
                status: 500,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("An unexpected error has occurred"),
        "{err}"
    );
    assert_eq!(sleeper.reasons(), [WaitReason::ServerError]);
}

#[tokio::test]
async fn a_truncated_body_names_the_endpoint() {
    let server = happy_server().await;
    Mock::given(path(MEDIA))
        .respond_with(replay(P, "malformed_truncated.json.txt"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(matches!(err, SourceError::BadResponse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("instagram: GET /me/media: unreadable response"),
        "{err}"
    );
}

#[tokio::test]
async fn drifted_media_parse_with_string_counts_and_no_caption() {
    let server = happy_server().await;
    Mock::given(path(MEDIA))
        .respond_with(replay(P, "media_drift.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    assert_eq!(
        raw.profile.number_of_likes_on_own_videos,
        Some(314 + 230 + 1135)
    );
    assert_eq!(
        requests_to(&server, MEDIA).await.len(),
        1,
        "no paging.next: last page"
    );
}

#[tokio::test]
async fn another_account_cannot_be_read() {
    let server = happy_server().await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("someone")).await.unwrap_err();
    assert!(matches!(err, SourceError::Config { .. }), "{err:?}");
    assert!(
        err.to_string().contains("@lea.cooks, not @someone"),
        "{err}"
    );
}

#[test]
fn a_missing_token_names_the_setting() {
    let err = InstagramApi::new(ApiConfig::new(P))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("instagram: no token: set TOKER_INSTAGRAM_TOKEN"),
        "{err}"
    );
}
