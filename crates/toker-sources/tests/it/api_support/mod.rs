//! Shared helpers of the API client tests: fixture replay, a recording sleeper (a virtual
//! clock: waits are recorded, never slept), and profile comparison.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use toker_model::{Platform, Profile};
use toker_sources::http::{ApiConfig, Secret, Sleeper, Wait, WaitReason};
use wiremock::{MockServer, Request, ResponseTemplate};

/// A fixture file (`<platform>/<rel>` under the test kit's fixtures).
pub fn fixture_path(platform: Platform, rel: &str) -> PathBuf {
    toker_testkit::fixtures().join(platform.as_str()).join(rel)
}

/// An API fixture body as text.
pub fn body(platform: Platform, name: &str) -> String {
    let path = fixture_path(platform, &format!("api/{name}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An API fixture body as JSON.
pub fn json(platform: Platform, name: &str) -> Value {
    serde_json::from_str(&body(platform, name)).unwrap()
}

/// The response a fixture describes: its body, and the status line and headers of the
/// `.headers` file beside it (200 and JSON without one).
pub fn replay(platform: Platform, name: &str) -> ResponseTemplate {
    replay_body(platform, name, body(platform, name))
}

/// Like [`replay`] with a replaced body.
pub fn replay_body(platform: Platform, name: &str, text: String) -> ResponseTemplate {
    let stem = name.split('.').next().unwrap();
    let headers = fixture_path(platform, &format!("api/{stem}.headers"));
    let mut content_type = "application/json".to_owned();
    let mut template = match std::fs::read_to_string(&headers) {
        Ok(head) => {
            let mut lines = head.lines();
            let status: u16 = lines
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{}: no status line", headers.display()));
            let mut template = ResponseTemplate::new(status);
            for line in lines.filter(|l| !l.trim().is_empty()) {
                let (k, v) = line.split_once(':').unwrap();
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-type") {
                    v.clone_into(&mut content_type);
                } else {
                    template = template.insert_header(k, v);
                }
            }
            template
        }
        Err(_) => ResponseTemplate::new(200),
    };
    template = template.set_body_raw(text.into_bytes(), &content_type);
    template
}

/// A default configuration pointing at `server`, with quick retries and a short timeout.
pub fn config(platform: Platform, server: &MockServer) -> ApiConfig {
    let mut config = ApiConfig::new(platform);
    config.base_url = match platform {
        Platform::Instagram => format!("{}/v23.0", server.uri()),
        _ => server.uri(),
    };
    config.timeout = Duration::from_secs(10);
    config.max_retries = 3;
    match platform {
        Platform::TikTok => {
            config.client_key = Some(Secret::new("test-client-key"));
            config.client_secret = Some(Secret::new("test-client-secret"));
        }
        Platform::X => config.token = Some(Secret::new("example-x-user-access-token-jonas")),
        Platform::Instagram => config.token = Some(Secret::new("IGAAexampleLongLivedLea")),
    }
    config
}

/// Records every wait instead of sleeping: the sum is the virtual time the client waited.
#[derive(Debug, Default, Clone)]
pub struct RecordingSleeper {
    waits: Arc<Mutex<Vec<Wait>>>,
}

impl RecordingSleeper {
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingSleeper::default())
    }

    pub fn waits(&self) -> Vec<Wait> {
        self.waits.lock().unwrap().clone()
    }

    pub fn reasons(&self) -> Vec<WaitReason> {
        self.waits().iter().map(|w| w.reason).collect()
    }

    /// The virtual time spent waiting.
    pub fn elapsed(&self) -> Duration {
        self.waits().iter().map(|w| w.duration).sum()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, wait: &Wait) {
        self.waits.lock().unwrap().push(wait.clone());
    }
}

/// The expected stored profile of a fixture set (`expected/<name>`).
pub fn expected(platform: Platform, name: &str) -> Value {
    let path = fixture_path(platform, &format!("expected/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A profile as the fixtures compare it: hashtags as cleaning stores them (lower-case,
/// `#`-prefixed, de-duplicated in first-seen order; the fixtures are ASCII), videos sorted by
/// id (the lists compare as sets).
pub fn comparable(profile: &Profile) -> Value {
    let mut value = serde_json::to_value(profile).unwrap();
    for key in ["liked_videos", "shared_videos"] {
        let videos = value[key].as_array_mut().unwrap();
        for video in videos.iter_mut() {
            let mut seen = Vec::<String>::new();
            for tag in video["hashtags"].as_array().unwrap() {
                let tag = format!(
                    "#{}",
                    tag.as_str()
                        .unwrap()
                        .trim()
                        .trim_start_matches('#')
                        .to_lowercase()
                );
                if !seen.contains(&tag) {
                    seen.push(tag);
                }
            }
            video["hashtags"] = seen.into();
        }
        videos.sort_by(|a, b| a["video_id"].as_str().cmp(&b["video_id"].as_str()));
    }
    value
}

/// The expected profile with its video lists sorted like [`comparable`].
pub fn comparable_expected(platform: Platform) -> Value {
    let mut value = expected(platform, "api_profile.json");
    for key in ["liked_videos", "shared_videos"] {
        value[key]
            .as_array_mut()
            .unwrap()
            .sort_by(|a, b| a["video_id"].as_str().cmp(&b["video_id"].as_str()));
    }
    value
}

/// Asserts field by field (a readable failure instead of one huge diff).
pub fn assert_same_profile(actual: &Value, expected: &Value) {
    let (a, e) = (actual.as_object().unwrap(), expected.as_object().unwrap());
    let keys_a: Vec<_> = a.keys().collect();
    let keys_e: Vec<_> = e.keys().collect();
    assert_eq!(keys_a, keys_e, "the 14 fields, in order");
    for (key, want) in e {
        if let (Some(got), Some(want)) = (a[key].as_array(), want.as_array()) {
            assert_eq!(got.len(), want.len(), "{key}: number of videos");
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g, w, "{key}: video {}", w["video_id"]);
            }
        } else {
            assert_eq!(&a[key], want, "{key}");
        }
    }
}

/// The JSON body of a received request.
pub fn request_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// A query parameter of a received request.
pub fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The requests the server received for `path`.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// A [`Budget`](toker_sources::http::Budget) in memory: grants `room` requests, answering
/// `wait` once after them before granting again (`None`: fails instead), and records the
/// pauses it is told of.
pub struct MemoryBudget {
    state: Mutex<BudgetState>,
}

struct BudgetState {
    room: u32,
    wait: Option<Duration>,
    granted: u32,
    pauses: Vec<(String, Duration)>,
}

impl MemoryBudget {
    pub fn new(room: u32, wait: Option<Duration>) -> Arc<Self> {
        Arc::new(MemoryBudget {
            state: Mutex::new(BudgetState {
                room,
                wait,
                granted: 0,
                pauses: Vec::new(),
            }),
        })
    }

    /// `config` with this budget, for `app`.
    pub fn on(self: &Arc<Self>, app: &str, mut config: ApiConfig) -> ApiConfig {
        config.budget = Some(toker_sources::http::SharedBudget {
            app: app.to_owned(),
            budget: self.clone(),
        });
        config
    }

    pub fn granted(&self) -> u32 {
        self.state.lock().unwrap().granted
    }

    pub fn pauses(&self) -> Vec<(String, Duration)> {
        self.state.lock().unwrap().pauses.clone()
    }
}

#[async_trait]
impl toker_sources::http::Budget for MemoryBudget {
    async fn spend(&self, _app: &str) -> Result<Option<Duration>, String> {
        let mut state = self.state.lock().unwrap();
        if state.room == 0 {
            state.room = u32::MAX;
            return match state.wait {
                Some(wait) => Ok(Some(wait)),
                None => Err("the budget's database is down".to_owned()),
            };
        }
        state.room -= 1;
        state.granted += 1;
        Ok(None)
    }

    async fn pause(&self, app: &str, wait: Duration) {
        self.state
            .lock()
            .unwrap()
            .pauses
            .push((app.to_owned(), wait));
    }
}
