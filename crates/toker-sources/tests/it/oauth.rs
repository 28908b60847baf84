//! The OAuth token steps against a local server replaying the platforms' token fixtures:
//! what is sent (grant, PKCE verifier, client credentials), what is read back, and which
//! refusals mean "connect again" versus "fix the app's credentials".

use crate::api_support;

use std::time::Duration;

use api_support::{body, replay};
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::{OAuthClient, OAuthClientConfig, OAuthEndpoints, OAuthError};
use wiremock::matchers::{body_string_contains, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(platform: Platform, server: &MockServer) -> OAuthClient {
    let mut config = OAuthClientConfig::new(
        platform,
        "client-1",
        Secret::new("app-secret"),
        "http://127.0.0.1:8080/v1/connect/cb",
    );
    config.endpoints = OAuthEndpoints {
        authorize_url: format!("{}/authorize", server.uri()),
        token_url: format!("{}/token/", server.uri()),
        graph_url: Some(server.uri()),
    };
    config.max_retries = 1;
    config.backoff_base = Duration::from_millis(1);
    OAuthClient::new(config).unwrap()
}

#[tokio::test]
async fn tiktok_exchanges_a_code_with_its_verifier_and_refreshes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token/"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier=the-verifier"))
        .and(body_string_contains("client_key=client-1"))
        .respond_with(replay(Platform::TikTok, "oauth_user_token.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(Platform::TikTok, &server);
    let tokens = c
        .exchange_code(&Secret::new("the-code"), Some(&Secret::new("the-verifier")))
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose(), "act.example-user-token-mila");
    assert_eq!(
        tokens.refresh_token.as_ref().unwrap().expose(),
        "rft.example-refresh-mila"
    );
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(86_400)));
    assert_eq!(
        tokens.account_id.as_deref(),
        Some("-000OpenIdMilaReyes0001")
    );
    assert!(
        !format!("{tokens:?}").contains("mila"),
        "Debug hides tokens"
    );

    Mock::given(method("POST"))
        .and(path("/token/"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rft.example-refresh-mila"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "act.renewed", "expires_in": 86400, "open_id": "-000OpenIdMilaReyes0001",
            "refresh_token": "rft.renewed", "refresh_expires_in": 31536000, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let renewed = c.refresh(&tokens).await.unwrap();
    assert_eq!(renewed.access_token.expose(), "act.renewed");
    assert_eq!(renewed.refresh_token.unwrap().expose(), "rft.renewed");
}

#[tokio::test]
async fn an_expired_code_asks_to_connect_again_and_bad_credentials_name_the_app() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("code=expired"))
        .respond_with(replay(Platform::TikTok, "oauth_user_token_error.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("code=good"))
        .respond_with(replay(Platform::TikTok, "oauth_token_error.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(Platform::TikTok, &server);
    let err = c
        .exchange_code(&Secret::new("expired"), Some(&Secret::new("v")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::CodeRejected { error, .. } if error == "invalid_grant"),
        "{err}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
    let err = c
        .exchange_code(&Secret::new("good"), Some(&Secret::new("v")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::ClientRejected { .. }),
        "a 401 invalid_client is the operator's problem: {err}"
    );
    assert!(!err.to_string().contains("app-secret"), "{err}");
}

#[tokio::test]
async fn x_authenticates_the_client_with_basic_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token/"))
        .and(header_exists("authorization"))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains("code_verifier=v"))
        .respond_with(replay(Platform::X, "oauth2_token.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = client(Platform::X, &server)
        .exchange_code(&Secret::new("c"), Some(&Secret::new("v")))
        .await
        .unwrap();
    assert_eq!(
        tokens.access_token.expose(),
        "example-x-user-access-token-jonas"
    );
    assert_eq!(
        tokens.scope.as_deref(),
        Some("tweet.read users.read like.read offline.access")
    );
    let requests = server.received_requests().await.unwrap();
    let auth = requests[0].headers.get("authorization").unwrap();
    assert!(auth.to_str().unwrap().starts_with("Basic "));
}

#[tokio::test]
async fn instagram_trades_the_short_lived_token_for_a_long_lived_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token/"))
        .and(body_string_contains("client_secret=app-secret"))
        .respond_with(replay(Platform::Instagram, "oauth_access_token.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/access_token"))
        .and(query_param("grant_type", "ig_exchange_token"))
        .and(query_param("access_token", "IGAAexampleShortLivedLea"))
        .respond_with(replay(Platform::Instagram, "long_lived_token.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = client(Platform::Instagram, &server)
        .exchange_code(&Secret::new("c"), None)
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose(), "IGAAexampleLongLivedLea");
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(5_183_944)));
    assert_eq!(tokens.account_id.as_deref(), Some("17841400000000001"));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(body(Platform::Instagram, "oauth_access_token_error.json")),
        )
        .mount(&server)
        .await;
    let err = client(Platform::Instagram, &server)
        .exchange_code(&Secret::new("c"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::CodeRejected { description, .. } if description.contains("Invalid authorization code")),
        "{err}"
    );
}
