//! The connect tests' client: drives the API in-process and the platform replay over a
//! socket, like a browser would (follow the redirect, play consent, come back with the
//! code), and remembers every answer to check that none carries a secret.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub use toker_testkit::replay as platforms;

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::Value;
use toker_api::{AppState, ConnectConfig, PlatformApp, SecretKey, ServeConfig, router};
use toker_model::Platform;
use toker_sources::http::Secret;
use toker_sources::oauth::OAuthEndpoints;
use toker_store::Store;
use toker_store::testing::TestDb;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::common::Reply;
use platforms::Replay;

/// Where the platforms send the browser back (the API runs in-process).
pub const PUBLIC_URL: &str = "https://toker.test";

/// Every secret of the replay: none may appear in an answer, a log line or the database.
pub const SECRETS: [&str; 9] = [
    platforms::TIKTOK_ACCESS,
    platforms::TIKTOK_REFRESH,
    platforms::X_ACCESS,
    platforms::X_REFRESH,
    platforms::INSTAGRAM_SHORT,
    platforms::INSTAGRAM_LONG,
    platforms::CLIENT_SECRET,
    platforms::RESEARCH_SECRET,
    "clt.2f9a7c1e4b8d4e6f9a0b3c5d7e9f1a2b3c4dXyZ1",
];

/// The connect configuration against `replay`.
pub fn connect_config(replay: &Replay) -> ConnectConfig {
    let u = replay.uri();
    let app = |platform: Platform, authorize: &str, token: &str, api: &str| {
        let mut app = PlatformApp::new(
            platform,
            platforms::CLIENT_ID,
            Secret::new(platforms::CLIENT_SECRET),
        );
        app.endpoints = OAuthEndpoints {
            authorize_url: format!("{u}{authorize}"),
            token_url: format!("{u}{token}"),
            graph_url: Some(format!("{u}/instagram/graph")),
        };
        app.api_base_url = format!("{u}{api}");
        app
    };
    let mut tiktok = app(
        Platform::TikTok,
        "/tiktok/v2/auth/authorize/",
        "/tiktok/v2/oauth/token/",
        "/tiktok",
    );
    tiktok.research = Some((
        Secret::new(platforms::RESEARCH_KEY),
        Secret::new(platforms::RESEARCH_SECRET),
    ));
    ConnectConfig {
        secret_key: Some(SecretKey::random()),
        public_url: Some(PUBLIC_URL.to_owned()),
        apps: vec![
            tiktok,
            app(
                Platform::X,
                "/x/i/oauth2/authorize",
                "/x/2/oauth2/token",
                "/x",
            ),
            app(
                Platform::Instagram,
                "/instagram/oauth/authorize",
                "/instagram/oauth/access_token",
                "/instagram/graph/v23.0",
            ),
        ],
        platform_timeout: Duration::from_secs(10),
        // The tests of the per-address limits turn them on.
        rate_limit_per_minute: None,
        upload_rate_limit_per_minute: None,
        ..ConnectConfig::default()
    }
}

/// An API over its own database, with every platform connectable against a replay.
pub struct Flow {
    pub db: TestDb,
    pub state: AppState,
    pub app: axum::Router,
    pub replay: Replay,
    pub http: reqwest::Client,
    answers: Mutex<Vec<String>>,
    /// Stops the worker when the flow ends.
    _workers: watch::Sender<bool>,
}

/// How a client holds its session.
#[derive(Debug, Clone)]
pub enum Auth {
    Cookie(String),
    Bearer(String),
}

impl Flow {
    pub async fn sqlite() -> Flow {
        Flow::with(TestDb::sqlite(), |_| {}).await
    }

    pub async fn with(db: TestDb, tweak: impl FnOnce(&mut ServeConfig)) -> Flow {
        let replay = Replay::start("127.0.0.1:0").await;
        let mut config = ServeConfig::for_database(db.url.clone());
        config.rate_limit_per_minute = None;
        config.auth_failures_per_minute = None;
        config.pool_size = Some(2);
        config.connect = Some(connect_config(&replay));
        tweak(&mut config);
        let state = tokio::task::spawn_blocking(move || AppState::open(config))
            .await
            .unwrap()
            .unwrap();
        // The in-process worker `toker serve` runs, for the queued refreshes.
        let (workers, stopping) = watch::channel(false);
        drop(toker_api::jobs::spawn_workers(&state, 1, stopping));
        Flow {
            _workers: workers,
            app: router(state.clone()),
            db,
            state,
            replay,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            answers: Mutex::new(Vec::new()),
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.db.url).unwrap()
    }

    /// Sends a request to the API; remembers the answer (status, headers, body).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let reply = Reply::read(response).await;
        self.answers.lock().unwrap().push(format!(
            "{:?} {:?} {}",
            reply.status, reply.headers, reply.body
        ));
        reply
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        auth: Option<&Auth>,
        cookie: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        let mut cookies: Vec<String> = cookie.map(str::to_owned).into_iter().collect();
        match auth {
            Some(Auth::Bearer(token)) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            Some(Auth::Cookie(c)) => cookies.push(c.clone()),
            None => {}
        }
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `GET /v1/connect/{platform}`: the authorize URL and the binding cookie (`name=value`).
    pub async fn start(
        &self,
        platform: &str,
        query: &str,
        auth: Option<&Auth>,
    ) -> (String, String) {
        let reply = self
            .call("GET", &format!("/v1/connect/{platform}{query}"), auth, None)
            .await;
        assert_eq!(reply.status.as_u16(), 302, "{}", reply.body);
        let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
        assert_eq!(reply.body["authorize_url"], location.as_str());
        let cookie = set_cookie(&reply, &format!("toker_connect_{platform}"))
            .expect("the start sets the binding cookie");
        (location, cookie)
    }

    /// The platform's consent page: where it sends the browser back (a path of the API).
    pub async fn consent(&self, authorize_url: &str, consent: Option<&str>) -> String {
        let url = match consent {
            Some(c) => format!("{authorize_url}&consent={c}"),
            None => authorize_url.to_owned(),
        };
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 302, "{}", response.text().await.unwrap());
        let back = response.headers()["location"].to_str().unwrap().to_owned();
        back.strip_prefix(PUBLIC_URL).unwrap().to_owned()
    }

    /// The whole OAuth connect of `platform`: start, consent, callback.
    pub async fn connect(&self, platform: &str, query: &str, auth: Option<&Auth>) -> Reply {
        let (authorize, cookie) = self.start(platform, query, auth).await;
        let back = self.consent(&authorize, None).await;
        self.call("GET", &back, None, Some(&cookie)).await
    }

    /// Uploads a fixture export file as the body of `POST /v1/connect/{platform}/export`.
    pub async fn upload(
        &self,
        platform: &str,
        fixture: &str,
        query: &str,
        auth: Option<&Auth>,
    ) -> Reply {
        let bytes = export_fixture(platform, fixture);
        self.upload_bytes(platform, bytes, "application/zip", query, auth)
            .await
    }

    /// [`Flow::import_zip`] of the export fixture `fixture`.
    pub async fn import(&self, platform: &str, fixture: &str, auth: Option<&Auth>) -> Reply {
        let zip = export_fixture(platform, fixture);
        self.import_zip(platform, zip, auth).await
    }

    /// Uploads a zip (`session=bearer`) and waits for its import to end (`wait=20`): the
    /// upload's 200 answer, whose body is the ended import job (see [`succeeded`] and
    /// [`failed`]).
    pub async fn import_zip(&self, platform: &str, zip: Vec<u8>, auth: Option<&Auth>) -> Reply {
        let query = waiting("?session=bearer");
        let reply = self
            .upload_bytes(platform, zip, "application/zip", &query, auth)
            .await;
        ended_import(reply)
    }

    pub async fn upload_bytes(
        &self,
        platform: &str,
        bytes: Vec<u8>,
        content_type: &str,
        query: &str,
        auth: Option<&Auth>,
    ) -> Reply {
        let mut request = Request::builder()
            .method("POST")
            .uri(format!("/v1/connect/{platform}/export{query}"))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, bytes.len());
        match auth {
            Some(Auth::Bearer(token)) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            Some(Auth::Cookie(c)) => request = request.header(header::COOKIE, c.as_str()),
            None => {}
        }
        self.send(request.body(Body::from(bytes)).unwrap()).await
    }

    /// Every answer so far, as text.
    pub fn answers(&self) -> String {
        self.answers.lock().unwrap().join("\n")
    }

    /// Fails if an answer carried a token, a client secret or an authorization code.
    pub fn assert_no_secret_answered(&self) {
        let answers = self.answers();
        for secret in SECRETS {
            assert!(!answers.contains(secret), "an answer carried {secret:?}");
        }
        for code in self.codes() {
            assert!(
                !answers.contains(&code),
                "an answer carried the code {code:?}"
            );
        }
    }

    /// The authorization codes the replay issued.
    pub fn codes(&self) -> Vec<String> {
        self.replay
            .log()
            .iter()
            .filter(|l| l.method == "POST")
            .filter_map(|l| {
                l.body
                    .split('&')
                    .find_map(|p| p.strip_prefix("code="))
                    .map(str::to_owned)
            })
            .collect()
    }
}

/// The session a connect answer hands out: the cookie, or the bearer token in the body.
pub fn session_of(reply: &Reply) -> Auth {
    if let Some(token) = reply.body["session"]["token"].as_str() {
        return Auth::Bearer(token.to_owned());
    }
    Auth::Cookie(set_cookie(reply, "toker_session").expect("a session cookie"))
}

/// `name=value` of the `Set-Cookie` named `name` (with a value), and checks its attributes.
pub fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .map(|v| {
            for attribute in ["HttpOnly", "Secure", "SameSite=Lax"] {
                assert!(
                    v.contains(attribute),
                    "{name} cookie lacks {attribute}: {v}"
                );
            }
            v.split(';').next().unwrap().to_owned()
        })
}

/// Every text cell of every table of a SQLite database, with its table.
pub fn sqlite_cells(path: &str) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut cells = Vec::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let text = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    _ => continue,
                };
                cells.push((table.clone(), text));
            }
        }
    }
    cells
}

/// The stored JSON of the replay's expected profile (`expected/<name>`).
pub fn expected(platform: &str, name: &str) -> Value {
    let path = toker_testkit::fixtures().join(platform).join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The export fixture `name` of `platform`.
pub fn export_fixture(platform: &str, name: &str) -> Vec<u8> {
    let path = toker_testkit::fixtures()
        .join(platform)
        .join("export")
        .join(name);
    std::fs::read(path).unwrap()
}

/// `query` with `wait=20` added.
fn waiting(query: &str) -> String {
    if query.is_empty() {
        "?wait=20".to_owned()
    } else {
        format!("{query}&wait=20")
    }
}

/// Checks that `reply` is an upload's answer with its ended import job.
fn ended_import(reply: Reply) -> Reply {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["kind"], "import-export", "{}", reply.body);
    assert!(
        reply.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/v1/jobs/"),
        "{:?}",
        reply.headers
    );
    reply
}

/// The connect answer an import job (an upload's answer or `GET /v1/jobs/{id}`) came to:
/// fails unless it succeeded.
pub fn succeeded(reply: &Reply) -> &Value {
    assert_eq!(reply.body["state"], "succeeded", "{}", reply.body);
    assert!(reply.body["error"].is_null(), "{}", reply.body);
    &reply.body["result"]
}

/// Why an import job failed for good: fails unless it did, with no result.
pub fn failed(reply: &Reply) -> String {
    assert_eq!(reply.body["state"], "failed", "{}", reply.body);
    assert!(reply.body["result"].is_null(), "{}", reply.body);
    reply.body["error"].as_str().unwrap().to_owned()
}
