//! A local replay of TikTok, X and Instagram for the connect flow: their consent pages
//! (authorize), token endpoints and data APIs, answering from the fixtures ([`crate::fixtures`]). Shared by the connect tests and by
//! toker-api's `examples/demo_platforms.rs` (what `cargo xtask demo-platforms` runs).
//!
//! Each platform lives under its own prefix: `/tiktok/…`, `/x/…`, `/instagram/…` (the
//! Instagram Graph API under `/instagram/graph/…`). The consent page plays the person: it
//! checks the app's parameters and sends the browser back to `redirect_uri` with a code
//! and the same `state`; `consent=deny` on its URL plays a refusal, `consent=expire` a
//! code that the token endpoint will call expired. Token endpoints check the code, the
//! PKCE verifier against the challenge, and the client credentials; data endpoints check
//! that the person's token is the one issued. Every request is logged (with its query and
//! body, so tests can look for leaks in what Toker sends).
#![allow(
    missing_docs,
    reason = "the replay's constants and routes are named after what they play"
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::fixtures;

/// The app credentials the replay accepts (also what the demo tells `toker serve`).
pub const CLIENT_ID: &str = "demo-client";
pub const CLIENT_SECRET: &str = "demo-client-secret";
/// TikTok Research API credentials the replay accepts.
pub const RESEARCH_KEY: &str = "demo-research-key";
pub const RESEARCH_SECRET: &str = "demo-research-secret";

/// The person's tokens, as the fixtures issue them.
pub const TIKTOK_ACCESS: &str = "act.example-user-token-mila";
pub const TIKTOK_REFRESH: &str = "rft.example-refresh-mila";
pub const X_ACCESS: &str = "example-x-user-access-token-jonas";
pub const X_REFRESH: &str = "example-x-refresh-token-jonas";
pub const INSTAGRAM_SHORT: &str = "IGAAexampleShortLivedLea";
pub const INSTAGRAM_LONG: &str = "IGAAexampleLongLivedLea";
/// The prefix of synthetic X users' access tokens: `synthetic-x-<n>` reads user `n`
/// ([`synthetic_x_id`]), who liked the fixture's tweets.
pub const SYNTHETIC_X: &str = "synthetic-x-";
const TIKTOK_CLIENT_TOKEN: &str = "clt.2f9a7c1e4b8d4e6f9a0b3c5d7e9f1a2b3c4dXyZ1";

/// One request the replay received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: String,
    /// When it arrived.
    pub at: std::time::SystemTime,
}

#[derive(Debug, Clone)]
struct Issued {
    platform: String,
    challenge: Option<String>,
    redirect_uri: String,
    expired: bool,
    used: bool,
}

#[derive(Debug, Default)]
struct Inner {
    log: Vec<Logged>,
    codes: HashMap<String, Issued>,
    next: u64,
    /// Overrides `expires_in` of the tokens issued (tests of renewal).
    expires_in: Option<u64>,
    /// Access tokens valid now, per platform (renewals add to them).
    valid: HashMap<String, Vec<String>>,
    /// How long each request waits before it is answered (a slow platform).
    delay: std::time::Duration,
    /// Requests being answered now, per bearer token.
    in_flight: HashMap<String, u32>,
    /// Requests that arrived while another with the same bearer token was being answered.
    overlaps: u64,
}

/// The running replay.
#[derive(Clone)]
pub struct Replay {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Replay {
    /// Starts the replay on `bind` (e.g. `127.0.0.1:0`), serving until the runtime ends.
    pub async fn start(bind: &str) -> Replay {
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut inner = Inner::default();
        inner
            .valid
            .insert("tiktok".into(), vec![TIKTOK_ACCESS.into()]);
        inner.valid.insert("x".into(), vec![X_ACCESS.into()]);
        inner
            .valid
            .insert("instagram".into(), vec![INSTAGRAM_LONG.into()]);
        let replay = Replay {
            addr,
            inner: Arc::new(Mutex::new(inner)),
        };
        let app = Router::new().fallback(handle).with_state(replay.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        replay
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.inner.lock().unwrap().log.clone()
    }

    /// How many requests arrived while another with the same bearer token was being
    /// answered: two runs reading one account at once (one run reads its pages one after
    /// the other).
    pub fn overlaps(&self) -> u64 {
        self.inner.lock().unwrap().overlaps
    }

    /// Makes every request from now on wait `delay` before its answer (a slow platform).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    /// Makes the tokens issued from now on expire after `seconds`.
    pub fn set_expires_in(&self, seconds: Option<u64>) {
        self.inner.lock().unwrap().expires_in = seconds;
    }

    /// The environment `toker serve` needs to connect against this replay.
    pub fn env(&self, public_url: &str) -> Vec<(String, String)> {
        env_for(&self.uri(), public_url)
    }
}

/// The environment `toker serve` needs to connect against a replay serving at `u`.
pub fn env_for(u: &str, public_url: &str) -> Vec<(String, String)> {
    let mut vars = vec![("TOKER_PUBLIC_URL".to_owned(), public_url.to_owned())];
    for (p, authorize, token, api) in [
        (
            "TIKTOK",
            "/tiktok/v2/auth/authorize/",
            "/tiktok/v2/oauth/token/",
            "/tiktok",
        ),
        ("X", "/x/i/oauth2/authorize", "/x/2/oauth2/token", "/x"),
        (
            "INSTAGRAM",
            "/instagram/oauth/authorize",
            "/instagram/oauth/access_token",
            "/instagram/graph/v23.0",
        ),
    ] {
        vars.push((format!("TOKER_CONNECT_{p}_CLIENT_ID"), CLIENT_ID.to_owned()));
        vars.push((
            format!("TOKER_CONNECT_{p}_CLIENT_SECRET"),
            CLIENT_SECRET.to_owned(),
        ));
        vars.push((
            format!("TOKER_CONNECT_{p}_AUTHORIZE_URL"),
            format!("{u}{authorize}"),
        ));
        vars.push((
            format!("TOKER_CONNECT_{p}_TOKEN_URL"),
            format!("{u}{token}"),
        ));
        vars.push((format!("TOKER_{p}_API_URL"), format!("{u}{api}")));
    }
    vars.push((
        "TOKER_CONNECT_INSTAGRAM_GRAPH_URL".to_owned(),
        format!("{u}/instagram/graph"),
    ));
    vars.push((
        "TOKER_TIKTOK_CLIENT_KEY".to_owned(),
        RESEARCH_KEY.to_owned(),
    ));
    vars.push((
        "TOKER_TIKTOK_CLIENT_SECRET".to_owned(),
        RESEARCH_SECRET.to_owned(),
    ));
    vars
}

/// A fixture response: the body, and the status line and headers of its `.headers` file.
fn fixture(platform: &str, name: &str) -> Response {
    let dir = fixtures().join(platform).join("api");
    let body = std::fs::read(dir.join(name)).unwrap();
    let stem = name.split('.').next().unwrap();
    let mut status = StatusCode::OK;
    let mut response = Response::builder();
    let mut typed = false;
    if let Ok(head) = std::fs::read_to_string(dir.join(format!("{stem}.headers"))) {
        let mut lines = head.lines();
        status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let (k, v) = line.split_once(':').unwrap();
            let k = k.trim();
            typed |= k.eq_ignore_ascii_case("content-type");
            // The fixtures' clock is 2026-11-25; rate-limit resets relative to it are
            // left out so that a real clock never waits on them.
            if !k.eq_ignore_ascii_case("date") && !k.starts_with("x-rate-limit") {
                response = response.header(k, v.trim());
            }
        }
    }
    if !typed {
        response = response.header(header::CONTENT_TYPE, "application/json");
    }
    response.status(status).body(Body::from(body)).unwrap()
}

fn json_response(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn form(body: &str) -> HashMap<String, String> {
    url_pairs(body)
}

fn url_pairs(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Percent-decoding of form and query values.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// PKCE S256, computed here without a crate: SHA-256 then base64url without padding.
fn s256(verifier: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(verifier.as_bytes());
    base64url(&digest)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

async fn handle(
    State(replay): State<Replay>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let token = bearer(&headers);
    let delay = {
        let mut inner = replay.inner.lock().unwrap();
        if let Some(token) = &token {
            let n = inner.in_flight.entry(token.clone()).or_default();
            *n += 1;
            if *n > 1 {
                inner.overlaps += 1;
            }
        }
        inner.delay
    };
    // Counted out when the answer is made or the client went away (the future dropped).
    let _answering = token.map(|token| Answering {
        replay: replay.clone(),
        token,
    });
    answer(&replay, method, uri, headers, body, delay).await
}

/// A request being answered, counted in [`Inner::in_flight`] until dropped.
struct Answering {
    replay: Replay,
    token: String,
}

impl Drop for Answering {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.replay.inner.lock()
            && let Some(n) = inner.in_flight.get_mut(&self.token)
        {
            *n -= 1;
        }
    }
}

/// A synthetic X user's number, from their token `synthetic-x-<n>` (valid without a
/// connect: load tests store such accounts directly).
fn synthetic_x(token: &str) -> Option<u64> {
    token.strip_prefix(SYNTHETIC_X)?.parse().ok()
}

/// The X id of synthetic user `n`.
pub fn synthetic_x_id(n: u64) -> String {
    format!("77{n:010}")
}

async fn answer(
    replay: &Replay,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
    delay: std::time::Duration,
) -> Response {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    replay.inner.lock().unwrap().log.push(Logged {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
        at: std::time::SystemTime::now(),
    });
    let q = url_pairs(&query);
    let platform = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_owned();
    let rest = path
        .trim_start_matches('/')
        .split_once('/')
        .map_or("", |(_, r)| r)
        .to_owned();
    match (method.as_str(), platform.as_str(), rest.as_str()) {
        ("GET", "tiktok", "v2/auth/authorize/")
        | ("GET", "x", "i/oauth2/authorize")
        | ("GET", "instagram", "oauth/authorize") => authorize(replay, &platform, &q),
        ("POST", "tiktok", "v2/oauth/token/") => tiktok_token(replay, &form(&body)),
        ("POST", "x", "2/oauth2/token") => x_token(replay, &headers, &form(&body)),
        ("POST", "instagram", "oauth/access_token") => instagram_token(replay, &form(&body)),
        ("GET", "instagram", "graph/access_token") => {
            if q.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
                && q.get("access_token").map(String::as_str) == Some(INSTAGRAM_SHORT)
            {
                fixture("instagram", "long_lived_token.json")
            } else {
                fixture("instagram", "error_190.json")
            }
        }
        _ => data(replay, &platform, &rest, &headers, &q, &body),
    }
}

fn authorize(replay: &Replay, platform: &str, q: &HashMap<String, String>) -> Response {
    let client = if platform == "tiktok" {
        "client_key"
    } else {
        "client_id"
    };
    let pkce = platform != "instagram";
    let Some(redirect) = q.get("redirect_uri") else {
        return (StatusCode::BAD_REQUEST, "redirect_uri missing").into_response();
    };
    let ok = q.get(client).map(String::as_str) == Some(CLIENT_ID)
        && q.get("response_type").map(String::as_str) == Some("code")
        && q.get("state").is_some_and(|s| !s.is_empty())
        && q.get("scope").is_some_and(|s| !s.is_empty())
        && (!pkce
            || (q.get("code_challenge").is_some()
                && q.get("code_challenge_method").map(String::as_str) == Some("S256")));
    if !ok {
        return (
            StatusCode::BAD_REQUEST,
            "the app's authorize parameters are wrong",
        )
            .into_response();
    }
    let state = encode(q.get("state").map_or("", String::as_str));
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = match q.get("consent").map(String::as_str) {
        Some("deny") => format!(
            "{redirect}{sep}error=access_denied&error_description={}&state={state}",
            encode("The user denied the request")
        ),
        consent => {
            let mut inner = replay.inner.lock().unwrap();
            inner.next += 1;
            let code = format!("code-{platform}-{}", inner.next);
            inner.codes.insert(
                code.clone(),
                Issued {
                    platform: platform.to_owned(),
                    challenge: q.get("code_challenge").cloned(),
                    redirect_uri: redirect.clone(),
                    expired: consent == Some("expire"),
                    used: false,
                },
            );
            format!("{redirect}{sep}code={code}&state={state}")
        }
    };
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .unwrap()
}

/// Checks a code exchange; `Err` is the platform's refusal.
fn redeem(replay: &Replay, platform: &str, f: &HashMap<String, String>) -> Result<(), ()> {
    let mut inner = replay.inner.lock().unwrap();
    let Some(issued) = f.get("code").and_then(|c| inner.codes.get_mut(c)) else {
        return Err(());
    };
    let verifier_ok = match &issued.challenge {
        Some(challenge) => f
            .get("code_verifier")
            .is_some_and(|v| s256(v) == *challenge),
        None => true,
    };
    let ok = issued.platform == platform
        && !issued.expired
        && !issued.used
        && verifier_ok
        && f.get("redirect_uri") == Some(&issued.redirect_uri);
    issued.used = true;
    if ok { Ok(()) } else { Err(()) }
}

fn with_expiry(replay: &Replay, mut body: Value) -> Value {
    if let Some(seconds) = replay.inner.lock().unwrap().expires_in {
        body["expires_in"] = json!(seconds);
    }
    body
}

fn renewed(replay: &Replay, platform: &str, base: &str) -> (String, String) {
    let mut inner = replay.inner.lock().unwrap();
    inner.next += 1;
    let n = inner.next;
    let access = format!("{base}-renewed-{n}");
    inner
        .valid
        .entry(platform.to_owned())
        .or_default()
        .push(access.clone());
    (access, format!("refresh-renewed-{n}"))
}

fn fixture_json(platform: &str, name: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(fixtures().join(platform).join("api").join(name)).unwrap(),
    )
    .unwrap()
}

fn tiktok_token(replay: &Replay, f: &HashMap<String, String>) -> Response {
    match f.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {
            if f.get("client_key").map(String::as_str) == Some(RESEARCH_KEY)
                && f.get("client_secret").map(String::as_str) == Some(RESEARCH_SECRET)
            {
                fixture("tiktok", "oauth_token.json")
            } else {
                fixture("tiktok", "oauth_token_error.json")
            }
        }
        _ if f.get("client_key").map(String::as_str) != Some(CLIENT_ID)
            || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) =>
        {
            fixture("tiktok", "oauth_token_error.json")
        }
        Some("authorization_code") => match redeem(replay, "tiktok", f) {
            Ok(()) => json_response(
                StatusCode::OK,
                with_expiry(replay, fixture_json("tiktok", "oauth_user_token.json")),
            ),
            Err(()) => fixture("tiktok", "oauth_user_token_error.json"),
        },
        Some("refresh_token")
            if f.get("refresh_token")
                .is_some_and(|t| t == TIKTOK_REFRESH || t.starts_with("refresh-renewed-")) =>
        {
            let (access, refresh) = renewed(replay, "tiktok", TIKTOK_ACCESS);
            let mut body = fixture_json("tiktok", "oauth_user_token.json");
            body["access_token"] = json!(access);
            body["refresh_token"] = json!(refresh);
            json_response(StatusCode::OK, body)
        }
        _ => fixture("tiktok", "oauth_user_token_error.json"),
    }
}

fn x_token(replay: &Replay, headers: &HeaderMap, f: &HashMap<String, String>) -> Response {
    let basic = format!(
        "Basic {}",
        base64_std(&format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let client_ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(basic.as_str())
        && f.get("client_id").map(String::as_str) == Some(CLIENT_ID);
    if !client_ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "unauthorized_client", "error_description": "Missing valid authorization header"}),
        );
    }
    let error = || {
        let mut r = fixture("x", "oauth2_token_error.json");
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => match redeem(replay, "x", f) {
            Ok(()) => json_response(
                StatusCode::OK,
                with_expiry(replay, fixture_json("x", "oauth2_token.json")),
            ),
            Err(()) => error(),
        },
        Some("refresh_token")
            if f.get("refresh_token")
                .is_some_and(|t| t == X_REFRESH || t.starts_with("refresh-renewed-")) =>
        {
            let (access, refresh) = renewed(replay, "x", X_ACCESS);
            let mut body = fixture_json("x", "oauth2_token.json");
            body["access_token"] = json!(access);
            body["refresh_token"] = json!(refresh);
            json_response(StatusCode::OK, body)
        }
        _ => error(),
    }
}

fn instagram_token(replay: &Replay, f: &HashMap<String, String>) -> Response {
    let error = || {
        let mut r = fixture("instagram", "oauth_access_token_error.json");
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
        || f.get("grant_type").map(String::as_str) != Some("authorization_code")
    {
        return error();
    }
    match redeem(replay, "instagram", f) {
        Ok(()) => fixture("instagram", "oauth_access_token.json"),
        Err(()) => error(),
    }
}

fn base64_std(text: &str) -> String {
    base64url(text.as_bytes())
        .replace('-', "+")
        .replace('_', "/")
        + match text.len() % 3 {
            1 => "==",
            2 => "=",
            _ => "",
        }
}

fn data(
    replay: &Replay,
    platform: &str,
    rest: &str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    body: &str,
) -> Response {
    let token = bearer(headers).unwrap_or_default();
    let valid = replay
        .inner
        .lock()
        .unwrap()
        .valid
        .get(platform)
        .is_some_and(|v| v.contains(&token))
        || (platform == "x" && synthetic_x(&token).is_some());
    match platform {
        "tiktok" if rest.starts_with("v2/research/") => {
            if token != TIKTOK_CLIENT_TOKEN {
                return fixture("tiktok", "error_401.json");
            }
            let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            match rest {
                "v2/research/user/info/" => fixture("tiktok", "user_info.json"),
                "v2/research/user/liked_videos/" if body.get("cursor").is_some() => {
                    fixture("tiktok", "liked_videos_page2.json")
                }
                "v2/research/user/liked_videos/" => fixture("tiktok", "liked_videos_page1.json"),
                "v2/research/user/reposted_videos/" => fixture("tiktok", "reposted_videos.json"),
                _ => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
            }
        }
        "tiktok" if rest == "v2/user/info/" => {
            if valid {
                fixture("tiktok", "display_user_info.json")
            } else {
                fixture("tiktok", "error_401.json")
            }
        }
        "x" if !valid => fixture("x", "error_401.json"),
        "x" => match rest {
            "2/users/me" => match synthetic_x(&token) {
                Some(n) => {
                    let mut me = fixture_json("x", "users_me.json");
                    me["data"]["id"] = json!(synthetic_x_id(n));
                    me["data"]["username"] = json!(format!("synth_{n}"));
                    me["data"]["name"] = json!(format!("Synthetic {n}"));
                    json_response(StatusCode::OK, me)
                }
                None => fixture("x", "users_me.json"),
            },
            r if r.ends_with("/liked_tweets") && q.contains_key("pagination_token") => {
                fixture("x", "liked_tweets_page2.json")
            }
            r if r.ends_with("/liked_tweets") => fixture("x", "liked_tweets_page1.json"),
            r if r.ends_with("/tweets") => fixture("x", "user_tweets.json"),
            _ => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
        },
        "instagram" if !valid => fixture("instagram", "error_190.json"),
        "instagram" => match rest {
            "graph/v23.0/me" => fixture("instagram", "me.json"),
            "graph/v23.0/me/media" if q.contains_key("after") => {
                fixture("instagram", "media_page2.json")
            }
            "graph/v23.0/me/media" => fixture("instagram", "media_page1.json"),
            _ => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
        },
        _ => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
    }
}
