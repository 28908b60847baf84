//! Helpers for the API tests: a router over a throw-away database, keys, requests.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use toker_api::{AppState, Role, ServeConfig, create_api_key, router};
use toker_model::Listing;
use toker_store::Store;
use toker_store::testing::TestDb;
use tower::ServiceExt;

pub const PROBLEM_BASE: &str = toker_api::problem::PROBLEM_BASE;

/// A router over its own database, with an admin and two member keys.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    pub alice: String,
    pub bob: String,
}

impl TestApp {
    pub fn sqlite() -> TestApp {
        TestApp::with(TestDb::sqlite(), |_| {})
    }

    /// `None` (after a loud warning) without a PostgreSQL server, unless CI=true.
    pub fn postgres() -> Option<TestApp> {
        TestDb::postgres().map(|db| TestApp::with(db, |_| {}))
    }

    pub fn with(db: TestDb, tweak: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let mut config = ServeConfig::for_database(db.url.clone());
        config.rate_limit_per_minute = None;
        config.auth_failures_per_minute = None;
        config.pool_size = Some(2);
        tweak(&mut config);
        let state = AppState::open(config).unwrap();
        let mut store = Store::open(&db.url).unwrap();
        let (admin, _) = create_api_key(&mut store, Role::Admin, Some("admin")).unwrap();
        let (alice, _) = create_api_key(&mut store, Role::Member, Some("alice")).unwrap();
        let (bob, _) = create_api_key(&mut store, Role::Member, Some("bob")).unwrap();
        TestApp {
            app: router(state.clone()),
            db,
            state,
            admin,
            alice,
            bob,
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.db.url).unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        Reply::read(response).await
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|b| b.to_string());
        self.raw(method, uri, key, body.as_deref(), Some("application/json"))
            .await
    }

    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        if let (Some(ct), Some(_)) = (content_type, body) {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
        self.send(request.body(body).unwrap()).await
    }

    pub async fn get(&self, uri: &str, key: &str) -> Reply {
        self.call("GET", uri, Some(key), None).await
    }

    /// Creates a profile as `key` and returns its id.
    pub async fn create(&self, key: &str, profile: Value) -> i64 {
        let reply = self
            .call(
                "POST",
                "/v1/profiles?platform=tiktok",
                Some(key),
                Some(profile),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_i64().unwrap()
    }

    /// Everything stored, as comparable JSON: every profile with its timestamps, and stats.
    pub fn snapshot(&self) -> Value {
        let mut store = self.store();
        let profiles: Vec<Value> = store
            .load_profiles(&Listing::default())
            .unwrap()
            .into_iter()
            .map(|p| {
                json!({ "id": p.id, "platform": p.platform, "owner": p.owner,
                        "updated_at": p.updated_at.to_rfc3339(), "profile": p.profile,
                        "raw": p.raw_json })
            })
            .collect();
        json!({ "profiles": profiles, "stats": store.stats().unwrap() })
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: axum::response::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer of `slug` with `status`, and returns its detail.
    pub fn assert_problem(&self, status: u16, slug: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(
            self.body["type"],
            format!("{PROBLEM_BASE}{slug}"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        let detail = self.body["detail"].as_str().unwrap_or_default().to_owned();
        assert!(!detail.is_empty(), "{}", self.body);
        detail
    }

    pub fn violation_paths(&self) -> Vec<String> {
        self.body["violations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|x| x["path"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A valid profile (150 likes given) with one liked and one shared video.
pub fn profile(user_id: &str) -> Value {
    json!({
        "user_id": user_id, "username": format!("user_{user_id}"), "user_pseudo": "Someone",
        "verified": false, "followers_count": 1500, "following_count": 300,
        "likes_count": 5000, "videos_count": 100, "number_of_comments": 200,
        "number_of_likes_on_own_videos": 4500, "number_of_likes": 150,
        "number_of_shares": 800,
        "liked_videos": [{ "video_id": "v1", "categories": ["technology ", "Education"],
                           "hashtags": ["#Fun", "coding"], "likes": 300, "comments": 20, "shares": 15 }],
        "shared_videos": [{ "video_id": "v2", "categories": ["Music"], "hashtags": ["#dance"],
                            "likes": 400, "comments": 25, "shares": 20 }],
        "extra_key": { "kept": true }
    })
}
