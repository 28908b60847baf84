//! The X API client against a local server replaying `toker-testkit/fixtures/x/api`.
#![cfg(feature = "x")]

use crate::api_support;

use std::sync::Arc;
use std::time::Duration;

use api_support::*;
use serde_json::json;
use toker_model::Platform;
use toker_sources::http::{ApiClient, ApiConfig, Listing, PageRequest, WaitReason};
use toker_sources::x::api::XApi;
use toker_sources::{Source, SourceError, UserRef};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const P: Platform = Platform::X;
const ME: &str = "/2/users/me";
const LIKED: &str = "/2/users/1487365209458921472/liked_tweets";
const TWEETS: &str = "/2/users/1487365209458921472/tweets";
const PAGE2_TOKEN: &str = "7140dibdnow9c7btw4827x8gvnkl2q5qs0kxdcbkcmd8d";

fn first_page(request: &Request) -> bool {
    query(request, "pagination_token").is_none()
}

/// Serves me, both liked pages and the own posts.
async fn happy_server() -> MockServer {
    let server = MockServer::start().await;
    let bearer = || header("authorization", "Bearer example-x-user-access-token-jonas");
    Mock::given(method("GET"))
        .and(path(ME))
        .and(bearer())
        .and(query_param(
            "user.fields",
            "created_at,public_metrics,verified",
        ))
        .respond_with(replay(P, "users_me.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIKED))
        .and(bearer())
        .and(first_page)
        .respond_with(replay(P, "liked_tweets_page1.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIKED))
        .and(bearer())
        .and(query_param("pagination_token", PAGE2_TOKEN))
        .respond_with(replay(P, "liked_tweets_page2.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(TWEETS))
        .and(bearer())
        .and(query_param("expansions", "referenced_tweets.id"))
        .respond_with(replay(P, "user_tweets.json"))
        .mount(&server)
        .await;
    server
}

fn client(config: ApiConfig) -> (XApi, Arc<RecordingSleeper>) {
    let sleeper = RecordingSleeper::new();
    (
        XApi::new(config).unwrap().with_sleeper(sleeper.clone()),
        sleeper,
    )
}

#[tokio::test]
async fn fetch_produces_the_expected_profile() {
    let server = happy_server().await;
    let (api, sleeper) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();

    assert_same_profile(&comparable(&raw.profile), &comparable_expected(P));
    assert!(raw.warnings.is_empty(), "{:?}", raw.warnings);
    assert!(
        sleeper.waits().is_empty(),
        "x-rate-limit-remaining 74 needs no wait"
    );
    assert_eq!(raw.raw["liked"].as_array().unwrap().len(), 2);
    assert_eq!(raw.raw["posts"].as_array().unwrap().len(), 1);
    assert_eq!(raw.raw["user"]["data"]["id"], "1487365209458921472");
    let again = toker_sources::x::api::profile_from_raw(&raw.raw).unwrap();
    assert_eq!(again.profile, raw.profile);
    let liked = requests_to(&server, LIKED).await;
    assert_eq!(query(&liked[0], "max_results").as_deref(), Some("100"));
    assert_eq!(
        query(&liked[0], "tweet.fields").as_deref(),
        Some(toker_sources::x::api::TWEET_FIELDS)
    );
}

#[tokio::test]
async fn the_handle_of_the_tokens_own_account_reads_its_likes() {
    let server = happy_server().await;
    let (api, _) = client(config(P, &server));
    let account = api
        .fetch_account(&UserRef::new("@JonasWeber_dev"))
        .await
        .unwrap();
    assert_eq!(account.key, "1487365209458921472");
    assert_eq!(account.listings, [Listing::Liked, Listing::Posts]);
    assert!(account.warnings.is_empty());
}

#[tokio::test]
async fn fetch_page_exposes_each_page_and_its_cursor() {
    let server = happy_server().await;
    let (api, _) = client(config(P, &server));
    let account = api.fetch_account(&UserRef::new("me")).await.unwrap();
    let first = api
        .fetch_page(PageRequest::first(&account, Listing::Liked))
        .await
        .unwrap();
    assert_eq!(first.item_count, 100);
    assert_eq!(first.next_cursor.as_deref(), Some(PAGE2_TOKEN));
    let second = api
        .fetch_page(PageRequest::first(&account, Listing::Liked).after(PAGE2_TOKEN))
        .await
        .unwrap();
    assert_eq!(
        (second.item_count, second.next_cursor),
        (37, None),
        "only previous_token: last page"
    );
}

#[tokio::test]
async fn max_items_stops_early_and_asks_only_for_what_is_missing() {
    let server = happy_server().await;
    let mut config = config(P, &server);
    config.max_items = Some(120);
    let (api, _) = client(config);
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    assert_eq!(raw.profile.liked_videos.len(), 120);
    assert_eq!(
        raw.profile.number_of_likes,
        Some(141),
        "the account's own total, not the sample"
    );
    let liked = requests_to(&server, LIKED).await;
    assert_eq!(liked.len(), 2);
    assert_eq!(query(&liked[1], "max_results").as_deref(), Some("20"));
    assert_eq!(raw.raw["liked"][1]["data"].as_array().unwrap().len(), 20);
}

/// Answers the second liked page once with a 429 that names its reset.
async fn limit_page2_once(server: &MockServer) {
    Mock::given(path(LIKED))
        .and(query_param("pagination_token", PAGE2_TOKEN))
        .respond_with(replay(P, "error_429.json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_rate_limit_waits_for_the_reset_then_resends_the_same_page() {
    let server = happy_server().await;
    limit_page2_once(&server).await;
    let (api, sleeper) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    assert_eq!(raw.profile.liked_videos.len(), 137);

    // Virtual clock: the reset is 900 s after the response's Date, plus one second.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].reason, WaitReason::RateLimit);
    assert_eq!(waits[0].duration, Duration::from_secs(901));
    assert_eq!(sleeper.elapsed(), Duration::from_secs(901));
    assert_eq!(waits[0].endpoint, format!("GET {LIKED}"));
    // The same page was asked for again, with the same cursor.
    let liked = requests_to(&server, LIKED).await;
    assert_eq!(liked.len(), 3);
    assert_eq!(
        query(&liked[1], "pagination_token").as_deref(),
        Some(PAGE2_TOKEN)
    );
    assert_eq!(
        query(&liked[2], "pagination_token").as_deref(),
        Some(PAGE2_TOKEN)
    );
}

#[tokio::test]
async fn a_reset_beyond_the_allowed_wait_fails_saying_when_to_retry() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "error_429.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut config = config(P, &server);
    config.max_wait = Duration::from_secs(600);
    let (api, sleeper) = client(config);
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    let SourceError::RateLimited { retry_after, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(901)));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("x: GET {LIKED}: rate limited: Too Many Requests")),
        "{text}"
    );
    assert!(
        text.contains("resets in 901 s (at Wed, 25 Nov 2026 02:45:01 GMT)"),
        "{text}"
    );
    assert!(text.contains("allowed wait of 600 s"), "{text}");
    assert!(text.contains("TOKER_API_MAX_WAIT"), "{text}");
    assert!(sleeper.waits().is_empty(), "no wait at all");
    assert_eq!(requests_to(&server, LIKED).await.len(), 1);
}

#[tokio::test]
async fn a_spent_window_is_waited_out_before_the_next_request() {
    let server = happy_server().await;
    // me succeeds but says the window is spent, resetting 30 s after its Date.
    Mock::given(path(ME))
        .respond_with(
            replay(P, "users_me.json")
                .insert_header("date", "Wed, 25 Nov 2026 02:30:00 GMT")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", "1795573830"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    api.fetch(&UserRef::new("me")).await.unwrap();
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0].reason, WaitReason::RateLimit);
    // 31 s minus the (tiny) real time between the two requests.
    assert!(
        waits[0].duration > Duration::from_secs(29) && waits[0].duration <= Duration::from_secs(31)
    );
}

#[tokio::test]
async fn the_monthly_usage_cap_stops_at_once() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "error_429_usage_cap.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(matches!(err, SourceError::QuotaExceeded { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("usage cap"), "{text}");
    assert!(text.contains("next monthly period"), "{text}");
    assert!(sleeper.waits().is_empty());
    assert_eq!(requests_to(&server, LIKED).await.len(), 1);
}

#[tokio::test]
async fn a_rejected_token_fails_at_once_naming_the_setting() {
    let server = MockServer::start().await;
    Mock::given(path(ME))
        .respond_with(replay(P, "error_401.json"))
        .expect(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(
        matches!(err, SourceError::TokenRejected { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("x: GET /2/users/me: token rejected (401): Unauthorized; reconnect"),
        "{text}"
    );
    assert!(text.contains("set TOKER_X_TOKEN"), "{text}");
    assert!(!text.contains("example-x-user-access-token"), "{text}");
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn repeated_server_errors_give_up_after_the_bound() {
    let server = happy_server().await;
    Mock::given(path(TWEETS))
        .respond_with(replay(P, "error_503.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, sleeper) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::ServerError {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!("GET {TWEETS}")), "{err}");
    assert_eq!(sleeper.reasons(), [WaitReason::ServerError; 3]);
    assert_eq!(requests_to(&server, TWEETS).await.len(), 4);
}

#[tokio::test]
async fn a_truncated_body_names_the_endpoint() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "malformed_truncated.json.txt"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(matches!(err, SourceError::BadResponse { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "x: GET {LIKED}: unreadable response: body is not valid JSON"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn drifted_payloads_parse_to_the_same_videos() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "liked_tweets_drift.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    let got = comparable(&raw.profile);
    let want = expected(P, "api_profile.json");
    let liked = got["liked_videos"].as_array().unwrap();
    assert_eq!(liked.len(), 3);
    let ids: Vec<&str> = liked
        .iter()
        .map(|v| v["video_id"].as_str().unwrap())
        .collect();
    let matching: Vec<_> = want["liked_videos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| ids.contains(&w["video_id"].as_str().unwrap()))
        .collect();
    assert_eq!(matching.len(), 3, "the same three posts");
    for want in matching {
        let got = liked
            .iter()
            .find(|v| v["video_id"] == want["video_id"])
            .unwrap();
        let mut want = want.clone();
        if want["video_id"] == "2122037195135455119" {
            // This drifted copy has no context_annotations: no categories to derive.
            want["categories"] = json!([]);
        }
        assert_eq!(got, &want);
    }
}

#[tokio::test]
async fn partial_errors_keep_the_data_and_are_reported() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "partial_errors_200.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    let data = json(P, "partial_errors_200.json")["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(raw.profile.liked_videos.len(), data);
    assert!(
        raw.warnings
            .messages()
            .any(|w| w.contains("liked page 1") && w.contains("Could not find tweet with id")),
        "{:?}",
        raw.warnings
    );
}

#[tokio::test]
async fn another_account_is_read_without_its_likes() {
    let server = happy_server().await;
    let other = json!({"data": {"id": "42", "name": "Ana", "username": "ana_dev", "verified": true,
        "public_metrics": {"followers_count": "10", "following_count": 2, "tweet_count": 0, "like_count": 512}}});
    Mock::given(path("/2/users/by/username/ana_dev"))
        .respond_with(ResponseTemplate::new(200).set_body_json(other))
        .mount(&server)
        .await;
    Mock::given(path("/2/users/42/tweets"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"meta": {"result_count": 0}})),
        )
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("ana_dev")).await.unwrap();
    let p = &raw.profile;
    assert_eq!((p.user_id.as_str(), p.username.as_str()), ("42", "ana_dev"));
    assert_eq!(
        (p.followers_count, p.number_of_likes, p.verified),
        (Some(10), Some(512), Some(true))
    );
    assert_eq!(
        (p.number_of_shares, p.number_of_comments),
        (Some(0), Some(0))
    );
    assert!(p.liked_videos.is_empty());
    assert!(raw.raw.get("liked").is_none(), "not read");
    assert!(
        raw.warnings
            .messages()
            .any(|w| w.contains("@ana_dev's liked posts are not listed"))
    );
    assert!(
        requests_to(&server, "/2/users/42/liked_tweets")
            .await
            .is_empty()
    );

    Mock::given(path("/2/users/by/username/nobody_here"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errors": [{
            "title": "Not Found Error", "detail": "Could not find user with username: [nobody_here]."}]})))
        .mount(&server)
        .await;
    let err = api.fetch(&UserRef::new("nobody_here")).await.unwrap_err();
    assert!(matches!(err, SourceError::UserNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_listing_is_left_out_with_a_warning() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "title": "Forbidden", "detail": "Missing scope like.read", "type": "about:blank", "status": 403})))
        .with_priority(1)
        .mount(&server)
        .await;
    let (api, _) = client(config(P, &server));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    assert!(raw.profile.liked_videos.is_empty());
    assert_eq!(raw.profile.number_of_likes, Some(141));
    assert!(raw.raw.get("liked").is_none());
    assert!(
        raw.warnings
            .messages()
            .any(|w| w.contains("Missing scope like.read")),
        "{:?}",
        raw.warnings
    );
}

#[test]
fn a_missing_token_names_the_setting() {
    let err = XApi::new(ApiConfig::new(P)).unwrap_err().to_string();
    assert!(err.starts_with("x: no token: set TOKER_X_TOKEN"), "{err}");
}

#[tokio::test]
async fn a_shared_budget_is_spent_per_request_and_waited_for_when_spent() {
    let server = happy_server().await;
    // Room for two requests, then a 40 s wait, then room again.
    let budget = MemoryBudget::new(2, Some(Duration::from_secs(40)));
    let (api, sleeper) = client(budget.on("x", config(P, &server)));
    let raw = api.fetch(&UserRef::new("me")).await.unwrap();
    assert_eq!(raw.profile.liked_videos.len(), 137);
    // me, two liked pages and the posts: four requests, each spent once.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert_eq!(budget.granted(), 4);
    assert_eq!(sleeper.reasons(), [WaitReason::Budget]);
    assert_eq!(sleeper.elapsed(), Duration::from_secs(40));
    assert!(budget.pauses().is_empty(), "no limit was announced");
}

#[tokio::test]
async fn a_rate_limit_pauses_the_shared_budget_for_everyone() {
    let server = happy_server().await;
    limit_page2_once(&server).await;
    let budget = MemoryBudget::new(u32::MAX, None);
    let (api, _) = client(budget.on("x", config(P, &server)));
    api.fetch(&UserRef::new("me")).await.unwrap();
    // The reset the 429 named, for the app the client spends.
    assert_eq!(
        budget.pauses(),
        [("x".to_owned(), Duration::from_secs(901))]
    );
    // The resent page was spent again: five requests, five spends.
    assert_eq!(budget.granted(), 5);
}

#[tokio::test]
async fn a_throttle_without_a_reset_pauses_the_shared_budget_for_the_backoff() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .and(query_param("pagination_token", PAGE2_TOKEN))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let budget = MemoryBudget::new(u32::MAX, None);
    let (api, sleeper) = client(budget.on("x", config(P, &server)));
    api.fetch(&UserRef::new("me")).await.unwrap();
    // This process backed off, and told everyone to for as long.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0].reason, WaitReason::Throttled);
    assert!(waits[0].duration > Duration::ZERO);
    assert_eq!(budget.pauses(), [("x".to_owned(), waits[0].duration)]);
}

#[tokio::test]
async fn a_reached_usage_cap_pauses_the_shared_budget_for_an_hour() {
    let server = happy_server().await;
    Mock::given(path(LIKED))
        .respond_with(replay(P, "error_429_usage_cap.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let budget = MemoryBudget::new(u32::MAX, None);
    let (api, _) = client(budget.on("x-app", config(P, &server)));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(matches!(err, SourceError::QuotaExceeded { .. }), "{err:?}");
    assert_eq!(
        budget.pauses(),
        [("x-app".to_owned(), Duration::from_secs(3600))]
    );
}

#[tokio::test]
async fn a_budget_spent_longer_than_the_allowed_wait_sends_nothing() {
    let server = happy_server().await;
    let budget = MemoryBudget::new(0, Some(Duration::from_secs(7200)));
    let (api, sleeper) = client(budget.on("x", config(P, &server)));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    let SourceError::RateLimited { retry_after, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(7200)));
    let text = err.to_string();
    assert!(
        text.contains("request budget of x shared by Toker's processes is spent"),
        "{text}"
    );
    assert!(sleeper.waits().is_empty());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_budget_that_cannot_be_read_sends_nothing_and_says_so() {
    let server = happy_server().await;
    let budget = MemoryBudget::new(0, None);
    let (api, _) = client(budget.on("x", config(P, &server)));
    let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
    assert!(matches!(err, SourceError::Budget { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("GET /2/users/me")
            && text.contains("budget \"x\" cannot be read: the budget's database is down"),
        "{text}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
