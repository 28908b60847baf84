//! The shared HTTP behaviour of the API clients: timeouts, connection failures, building a
//! client for a platform (or saying which feature is missing), secrets kept out of output.

use toker_model::Platform;
use toker_sources::http::ApiConfig;
use toker_sources::{SourceError, api_source};

#[cfg(feature = "x")]
mod with_x {
    use std::time::Duration;

    use crate::api_support::*;
    use toker_model::Platform;
    use toker_sources::http::{ApiConfig, Secret, WaitReason};
    use toker_sources::x::api::XApi;
    use toker_sources::{Source, SourceError, SourceKind, UserRef, api_client, api_source};
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The server answers after two real minutes; the client's 30 s timeout runs on the
    /// paused tokio clock, which jumps ahead while the client waits: nothing really sleeps.
    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_answers_times_out_after_the_bound() {
        let server = MockServer::start().await;
        Mock::given(path("/2/users/me"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
            .mount(&server)
            .await;
        let mut config = config(Platform::X, &server);
        config.timeout = Duration::from_secs(30);
        config.max_retries = 1;
        let source = api_source(Platform::X, config).unwrap();
        let started = tokio::time::Instant::now();
        let err = source.fetch(&UserRef::new("me")).await.unwrap_err();
        assert!(
            matches!(err, SourceError::Timeout { attempts: 2, .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("x: GET /2/users/me: no answer within 30 s after 2 attempts"),
            "{text}"
        );
        assert!(text.contains("TOKER_API_TIMEOUT"), "{text}");
        // Two timeouts (of the connection at least, 10 s each) passed on the virtual clock.
        assert!(
            started.elapsed() >= Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_reported() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut config = ApiConfig::new(Platform::X);
        config.base_url = format!("http://127.0.0.1:{port}");
        config.token = Some(Secret::new("t"));
        config.max_retries = 2;
        let sleeper = RecordingSleeper::new();
        let api = XApi::new(config).unwrap().with_sleeper(sleeper.clone());
        let err = api.fetch(&UserRef::new("me")).await.unwrap_err();
        assert!(
            matches!(err, SourceError::Connection { attempts: 3, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("x: GET /2/users/me: connection failed after 3 attempts"),
            "{err}"
        );
        // The message names the setting that controls the unreachable URL.
        assert!(err.to_string().contains("set by TOKER_X_API_URL"), "{err}");
        assert_eq!(
            sleeper.reasons(),
            [WaitReason::Connection, WaitReason::Connection]
        );
    }

    #[test]
    fn api_source_builds_the_platforms_client_or_names_what_is_missing() {
        let mut config = ApiConfig::new(Platform::X);
        let err = api_source(Platform::X, config.clone()).err().unwrap();
        assert!(err.to_string().contains("TOKER_X_TOKEN"), "{err}");
        config.token = Some(Secret::new("secret-token-value"));
        let source = api_source(Platform::X, config.clone()).unwrap();
        assert_eq!(
            (source.platform(), source.kind()),
            (Platform::X, SourceKind::Api)
        );

        let other = ApiConfig::new(Platform::Instagram);
        let err = api_source(Platform::X, other).err().unwrap();
        assert!(matches!(err, SourceError::Config { .. }), "{err:?}");

        let client = api_client(Platform::X, config.clone(), RecordingSleeper::new()).unwrap();
        assert_eq!(client.max_items(), None);
        let shown = format!("{:?}", XApi::new(config).unwrap());
        assert!(!shown.contains("secret-token-value"), "{shown}");
    }
}

#[test]
fn a_platform_whose_feature_is_off_names_the_feature() {
    for platform in Platform::ALL {
        let err = api_source(platform, ApiConfig::new(platform))
            .err()
            .unwrap();
        if toker_sources::is_enabled(platform) {
            // Compiled in: what is missing is the credentials, named by their setting.
            assert!(matches!(err, SourceError::Config { .. }), "{err:?}");
            assert!(err.to_string().contains("TOKER_"), "{err}");
        } else {
            assert!(
                matches!(err, SourceError::FeatureDisabled { feature, .. } if feature == platform.as_str()),
                "{err:?}"
            );
            assert!(err.to_string().contains("cargo feature"), "{err}");
        }
    }
}
