//! The TikTok API client: the Research API (client-credentials token; user info, liked and
//! reposted videos of any account whose lists are public) and, without Research
//! credentials, the Display API (the connected person's own profile counts only).
//!
//! Every response is the envelope `{"data": …, "error": {"code", "message", "log_id"}}`;
//! `error.code` decides, whatever the HTTP status. The raw profile is
//! `{"user": {"api": "research"|"display", "username", "response"}, "liked": [page…],
//! "reposted": [page…]}`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use toker_model::{Platform, Profile, Video};
use tokio::sync::Mutex;

use crate::error::SourceError;
use crate::http::parse::{self, count, flag, id_of, list};
use crate::http::{
    Account, ApiClient, ApiConfig, Body, Call, Hints, Http, Listing, Page, PageRequest, Reply,
    Secret, Verdict, env,
};
use crate::source::{RawProfile, UserRef};
use crate::warnings::{WarningKind, Warnings};

const PLATFORM: Platform = Platform::TikTok;
/// The fields asked of Research user info.
pub const RESEARCH_USER_FIELDS: &str = "display_name,bio_description,avatar_url,is_verified,\
     follower_count,following_count,likes_count,video_count";
/// The fields asked of Display user info.
pub const DISPLAY_USER_FIELDS: &str = "open_id,union_id,avatar_url,display_name,bio_description,\
     username,is_verified,follower_count,following_count,likes_count,video_count";
/// The fields asked for each liked or reposted video.
pub const VIDEO_FIELDS: &str = "id,create_time,username,region_code,video_description,music_id,\
     like_count,comment_count,share_count,view_count,hashtag_names";
/// The most videos per Research page.
const MAX_PAGE: u32 = 100;
/// Renew the client token this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// TikTok's client tokens last two hours when the response does not say.
const DEFAULT_TOKEN_LIFE: u64 = 7200;

const TOKEN_PATH: &str = "/v2/oauth/token/";
const RESEARCH_USER_PATH: &str = "/v2/research/user/info/";
const LIKED_PATH: &str = "/v2/research/user/liked_videos/";
const REPOSTED_PATH: &str = "/v2/research/user/reposted_videos/";
const DISPLAY_USER_PATH: &str = "/v2/user/info/";

/// The keys a liked page lists its videos under.
const LIKED_KEYS: [&str; 2] = ["user_liked_videos", "videos"];
/// The keys a reposted page lists its videos under (TikTok's library and its reference
/// page disagree).
const REPOSTED_KEYS: [&str; 3] = ["reposted_videos", "user_reposted_videos", "videos"];

/// Which TikTok API the credentials open.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// Research API with a client key and secret.
    Research {
        client_key: Secret,
        client_secret: Secret,
    },
    /// Display API with the person's user token.
    Display { token: Secret },
}

/// A client token and when to renew it.
#[derive(Debug)]
struct ClientToken {
    token: Secret,
    renew_at: tokio::time::Instant,
}

/// Whether [`TikTokApi::client_token`] may answer with the cached token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// The cached token while it is not near expiry, else a new one.
    CachedOrNew,
    /// A new token (the cached one was rejected).
    New,
}

/// The TikTok API client.
#[derive(Debug)]
pub struct TikTokApi {
    config: ApiConfig,
    route: Route,
    http: Http,
    token: Mutex<Option<ClientToken>>,
}

impl TikTokApi {
    /// A client for `config`: the Research API when a client key and secret are set, else
    /// the Display API with the user token.
    ///
    /// # Errors
    /// [`SourceError::Config`] naming the settings to set when credentials are missing, or
    /// when the base URL is unusable.
    pub fn new(config: ApiConfig) -> Result<Self, SourceError> {
        let route = match (&config.client_key, &config.client_secret, &config.token) {
            (Some(key), Some(secret), _) => Route::Research {
                client_key: key.clone(),
                client_secret: secret.clone(),
            },
            (Some(_), None, _) | (None, Some(_), _) => {
                let missing = if config.client_key.is_none() {
                    env::TIKTOK_CLIENT_KEY
                } else {
                    env::TIKTOK_CLIENT_SECRET
                };
                return Err(SourceError::Config {
                    platform: PLATFORM,
                    message: format!(
                        "the Research API needs both a client key and a client secret: set {missing}"
                    ),
                });
            }
            (None, None, Some(token)) => Route::Display {
                token: token.clone(),
            },
            (None, None, None) => {
                return Err(SourceError::Config {
                    platform: PLATFORM,
                    message: format!(
                        "no credentials: set {} and {} (Research API, any public account) or {} \
                         (Display API, the connected account's own counts)",
                        env::TIKTOK_CLIENT_KEY,
                        env::TIKTOK_CLIENT_SECRET,
                        env::TIKTOK_TOKEN
                    ),
                });
            }
        };
        let http = Http::new(&config)?;
        Ok(TikTokApi {
            config,
            route,
            http,
            token: Mutex::new(None),
        })
    }

    /// Whether this client reads the Research API (else the Display API).
    #[must_use]
    pub fn uses_research_api(&self) -> bool {
        matches!(self.route, Route::Research { .. })
    }

    /// The client token: the cached one, fetched anew when missing, near expiry or when
    /// `fetch` is [`Fetch::New`].
    async fn client_token(&self, fetch: Fetch) -> Result<Secret, SourceError> {
        let Route::Research {
            client_key,
            client_secret,
        } = &self.route
        else {
            return Err(SourceError::Config {
                platform: PLATFORM,
                message: "the Research API needs a client key and secret".to_owned(),
            });
        };
        let mut cached = self.token.lock().await;
        if let Some(current) = cached.as_ref() {
            if fetch == Fetch::CachedOrNew && tokio::time::Instant::now() < current.renew_at {
                return Ok(current.token.clone());
            }
        }
        let call = Call::post(
            TOKEN_PATH,
            Body::Form(vec![
                ("client_key", client_key.clone()),
                ("client_secret", client_secret.clone()),
                ("grant_type", Secret::new("client_credentials")),
            ]),
        );
        let body = self.http.send(&call, classify_token).await?;
        let token =
            parse::text_at(&body, "/access_token").ok_or_else(|| SourceError::BadResponse {
                platform: PLATFORM,
                endpoint: call.endpoint(),
                message: "no access_token in the token response".to_owned(),
            })?;
        let life = body
            .get("expires_in")
            .and_then(parse::count_of)
            .unwrap_or(DEFAULT_TOKEN_LIFE);
        let life = Duration::from_secs(life);
        let margin = TOKEN_MARGIN.min(life / 2);
        let token = Secret::new(token);
        *cached = Some(ClientToken {
            token: token.clone(),
            renew_at: tokio::time::Instant::now() + life - margin,
        });
        Ok(token)
    }

    /// A Research API call with the client token; a rejected token is renewed once.
    async fn research(&self, call: Call) -> Result<Value, SourceError> {
        let token = self.client_token(Fetch::CachedOrNew).await?;
        match self.http.send(&call.clone().bearer(&token), classify).await {
            Err(SourceError::TokenRejected { .. }) => {
                tracing::info!("tiktok: client token rejected, fetching a new one (once)");
                let token = self.client_token(Fetch::New).await?;
                self.http.send(&call.bearer(&token), classify).await
            }
            other => other,
        }
    }

    async fn research_account(&self, user: &UserRef) -> Result<Account, SourceError> {
        let username = username_of(user)?;
        let call = Call::post(
            RESEARCH_USER_PATH,
            Body::Json(json!({ "username": username })),
        )
        .query("fields", RESEARCH_USER_FIELDS);
        let response = self.research(call).await?;
        Ok(Account {
            platform: PLATFORM,
            key: username.clone(),
            username: username.clone(),
            listings: vec![Listing::Liked, Listing::Reposted],
            raw: json!({ "api": "research", "username": username, "response": response }),
            warnings: Vec::new(),
        })
    }

    async fn display_account(
        &self,
        user: &UserRef,
        token: &Secret,
    ) -> Result<Account, SourceError> {
        let call = Call::get(DISPLAY_USER_PATH)
            .query("fields", DISPLAY_USER_FIELDS)
            .bearer(token);
        let endpoint = call.endpoint();
        let response = self.http.send(&call, classify).await?;
        let username = response
            .pointer("/data/user/username")
            .and_then(Value::as_str)
            .map(|u| u.trim().to_lowercase())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| SourceError::BadResponse {
                platform: PLATFORM,
                endpoint,
                message: "no data.user.username (is the user.info.profile scope granted?)"
                    .to_owned(),
            })?;
        let wanted = user.as_str().trim().trim_start_matches('@');
        if !wanted.is_empty() && wanted != "me" && !wanted.eq_ignore_ascii_case(&username) {
            return Err(SourceError::Config {
                platform: PLATFORM,
                message: format!(
                    "{} belongs to @{username}, not @{wanted}: the Display API reads only the \
                     connected account; set {} and {} (Research API) for other accounts",
                    env::TIKTOK_TOKEN,
                    env::TIKTOK_CLIENT_KEY,
                    env::TIKTOK_CLIENT_SECRET
                ),
            });
        }
        Ok(Account {
            platform: PLATFORM,
            key: username.clone(),
            username: username.clone(),
            listings: Vec::new(),
            raw: json!({ "api": "display", "username": username, "response": response }),
            warnings: Vec::new(),
        })
    }
}

crate::http::impl_source_for_api_client!(TikTokApi, PLATFORM);

#[async_trait]
impl ApiClient for TikTokApi {
    async fn fetch_account(&self, user: &UserRef) -> Result<Account, SourceError> {
        match &self.route {
            Route::Research { .. } => self.research_account(user).await,
            Route::Display { token } => self.display_account(user, token).await,
        }
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let (path, keys): (&str, &[&str]) = match request.listing {
            Listing::Liked => (LIKED_PATH, &LIKED_KEYS),
            Listing::Reposted => (REPOSTED_PATH, &REPOSTED_KEYS),
            Listing::Posts => {
                return Err(SourceError::Config {
                    platform: PLATFORM,
                    message: "the TikTok client reads liked and reposted videos, not own posts"
                        .to_owned(),
                });
            }
        };
        if !self.uses_research_api() {
            return Err(SourceError::Config {
                platform: PLATFORM,
                message: format!(
                    "{} videos need the Research API: set {} and {}",
                    request.listing,
                    env::TIKTOK_CLIENT_KEY,
                    env::TIKTOK_CLIENT_SECRET
                ),
            });
        }
        let mut body = json!({
            "username": request.account.key,
            "max_count": self.config.page_size(MAX_PAGE, 1, MAX_PAGE, request.max_items),
        });
        if let Some(cursor) = request.cursor {
            let value: i64 = cursor.trim().parse().map_err(|_| SourceError::Config {
                platform: PLATFORM,
                message: format!("{} cursor {cursor:?} is not a number", request.listing),
            })?;
            body["cursor"] = json!(value);
        }
        let call = Call::post(path, Body::Json(body)).query("fields", VIDEO_FIELDS);
        let endpoint = call.endpoint();
        let raw = self.research(call).await?;
        let data = raw.get("data").cloned().unwrap_or(Value::Null);
        let has_more = data
            .get("has_more")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next_cursor =
            if has_more {
                Some(data.get("cursor").and_then(id_of).ok_or_else(|| {
                    SourceError::BadResponse {
                        platform: PLATFORM,
                        endpoint: endpoint.clone(),
                        message: "has_more is true but there is no cursor".to_owned(),
                    }
                })?)
            } else {
                None
            };
        let items = keys
            .iter()
            .find(|k| data.get(**k).is_some_and(Value::is_array))
            .map(|key| format!("/data/{key}"));
        Ok(request.page(raw, items.as_deref(), next_cursor))
    }

    crate::http::api_client_shared_methods!();
}

/// The username in a user reference: trimmed, without `@`, lower-case (TikTok handles are).
fn username_of(user: &UserRef) -> Result<String, SourceError> {
    let name = user.as_str().trim().trim_start_matches('@').to_lowercase();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(SourceError::Config {
            platform: PLATFORM,
            message: format!("{:?} is not a TikTok username", user.as_str()),
        });
    }
    Ok(name)
}

/// The user object of either API (Research: flat `data`; Display: `data.user`).
#[derive(Debug, Default, Deserialize)]
struct User {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    is_verified: Option<bool>,
    #[serde(default, deserialize_with = "count")]
    follower_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    following_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    likes_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    video_count: Option<u64>,
}

/// A liked or reposted video.
#[derive(Debug, Deserialize)]
struct TikTokVideo {
    #[serde(deserialize_with = "parse::id")]
    id: String,
    #[serde(default, deserialize_with = "count")]
    like_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    comment_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    share_count: Option<u64>,
    #[serde(default, deserialize_with = "list")]
    hashtag_names: Vec<Value>,
}

impl TikTokVideo {
    fn into_video(self) -> Video {
        Video {
            video_id: self.id,
            categories: Vec::new(),
            hashtags: self
                .hashtag_names
                .iter()
                .filter_map(Value::as_str)
                .filter_map(parse::hashtag)
                .collect(),
            likes: self.like_count,
            comments: self.comment_count,
            shares: self.share_count,
        }
    }
}

/// Builds the profile from a raw TikTok API profile (see the module docs). Pure.
///
/// # Errors
/// [`SourceError::BadResponse`] when `raw` does not have that shape.
pub fn profile_from_raw(raw: &Value) -> Result<RawProfile, SourceError> {
    let user = parse::raw_user(PLATFORM, raw)?;
    let username = parse::text_at(user, "/username").ok_or_else(|| SourceError::BadResponse {
        platform: PLATFORM,
        endpoint: "raw profile user".to_owned(),
        message: "no username".to_owned(),
    })?;
    let display = user.get("api").and_then(Value::as_str) == Some("display");
    let pointer = if display {
        "/response/data/user"
    } else {
        "/response/data"
    };
    let info: User = match user.pointer(pointer) {
        Some(data) => parse::payload(
            PLATFORM,
            if display {
                DISPLAY_USER_PATH
            } else {
                RESEARCH_USER_PATH
            },
            data,
        )?,
        None => User::default(),
    };
    let mut warnings = Warnings::new();
    let liked = videos(raw, Listing::Liked, &LIKED_KEYS, &mut warnings)?;
    let reposted = videos(raw, Listing::Reposted, &REPOSTED_KEYS, &mut warnings)?;
    if display {
        warnings.push(
            WarningKind::Note,
            format!(
                "the TikTok Display API lists no liked or reposted videos, so the likes given \
                 are unknown: set {} and {} (Research API) or import the TikTok data export",
                env::TIKTOK_CLIENT_KEY,
                env::TIKTOK_CLIENT_SECRET
            ),
        );
    }
    let mut profile = Profile::new(username, username);
    profile.user_pseudo = info.display_name.filter(|n| !n.trim().is_empty());
    profile.verified = info.is_verified;
    profile.followers_count = info.follower_count;
    profile.following_count = info.following_count;
    profile.likes_count = info.likes_count;
    profile.videos_count = info.video_count;
    profile.number_of_likes = liked.as_ref().map(|v| v.len() as u64);
    profile.number_of_shares = reposted.as_ref().map(|v| v.len() as u64);
    profile.liked_videos = liked.unwrap_or_default();
    profile.shared_videos = reposted.unwrap_or_default();
    Ok(RawProfile {
        platform: PLATFORM,
        profile,
        raw: raw.clone(),
        warnings,
    })
}

/// The distinct videos of one listing's pages, or `None` when it was not read.
fn videos(
    raw: &Value,
    listing: Listing,
    keys: &[&str],
    warnings: &mut Warnings,
) -> Result<Option<Vec<Video>>, SourceError> {
    let Some(pages) = parse::raw_pages(PLATFORM, raw, listing.raw_key())? else {
        return Ok(None);
    };
    let mut out: Vec<Video> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, page) in pages.iter().enumerate() {
        let data = page.get("data");
        let Some(items) = keys
            .iter()
            .find_map(|k| data.and_then(|d| d.get(*k)).and_then(Value::as_array))
        else {
            continue;
        };
        let what = format!("{listing} page {}", n + 1);
        for video in parse::items::<TikTokVideo>(items, &what, warnings) {
            if seen.insert(video.id.clone()) {
                out.push(video.into_video());
            }
        }
    }
    Ok(Some(out))
}

/// The envelope's error, as `"message" (code, log_id …)`.
fn envelope_message(body: &Value, code: &str) -> String {
    let message = parse::text_at(body, "/error/message").unwrap_or("no message");
    match body.pointer("/error/log_id").and_then(Value::as_str) {
        Some(log_id) => format!("{message} ({code}, log_id {log_id})"),
        None => format!("{message} ({code})"),
    }
}

/// What to tell the person about a refused permission.
const PERMISSION_HINT: &str =
    "the account's lists may be private, or the TikTok app lacks the scope";

/// What to do about a rejected token, by API.
fn token_hint(reply: &Reply) -> String {
    if reply.endpoint.contains("/research/") || reply.endpoint.contains("/oauth/") {
        format!(
            "check {} and {} (the Research API client credentials)",
            env::TIKTOK_CLIENT_KEY,
            env::TIKTOK_CLIENT_SECRET
        )
    } else {
        format!(
            "reconnect the TikTok account and set {} to the new user token",
            env::TIKTOK_TOKEN
        )
    }
}

/// The reply's JSON body, or the verdict on one that is not JSON.
fn json_body(reply: &Reply) -> Result<Value, Verdict> {
    Verdict::json_body(reply, hints(&token_hint(reply)))
}

/// Judges a Research or Display API reply by its envelope's `error.code`.
fn classify(reply: &Reply) -> Verdict {
    let body = match json_body(reply) {
        Ok(body) => body,
        Err(verdict) => return verdict,
    };
    let code = body.pointer("/error/code").and_then(Value::as_str);
    let fail = |error| Verdict::Fail(error);
    match code {
        Some("ok") | None if reply.is_success() => Verdict::Done(body),
        Some("access_token_invalid") => fail(SourceError::TokenRejected {
            platform: PLATFORM,
            endpoint: reply.endpoint.clone(),
            status: reply.status,
            message: envelope_message(&body, "access_token_invalid"),
            hint: token_hint(reply),
        }),
        Some(code @ ("scope_not_authorized" | "scope_permission_missed")) => {
            fail(SourceError::PermissionDenied {
                platform: PLATFORM,
                endpoint: reply.endpoint.clone(),
                status: reply.status,
                message: envelope_message(&body, code),
                hint: "the TikTok app is not approved for this scope, or the person did not \
                       grant it"
                    .to_owned(),
            })
        }
        Some(code @ "rate_limit_exceeded") => {
            Verdict::wait_or_throttle(reply, envelope_message(&body, code))
        }
        Some(code @ "daily_quota_limit_exceeded") => Verdict::Exhausted {
            error: SourceError::QuotaExceeded {
                platform: PLATFORM,
                endpoint: reply.endpoint.clone(),
                message: format!(
                    "the Research API daily quota is spent: {}; it resets at 00:00 UTC ({}): \
                     retry then",
                    envelope_message(&body, code),
                    until_midnight_utc(reply.now)
                ),
            },
            pause: to_midnight_utc(reply.now),
        },
        Some(code @ "internal_error") => Verdict::Transient {
            message: envelope_message(&body, code),
        },
        code => {
            let message = envelope_message(&body, code.unwrap_or("no error code"));
            Verdict::by_status(reply, message, hints(&token_hint(reply)))
        }
    }
}

/// Judges the client-token reply (OAuth shape `{"error", "error_description", "log_id"}`).
fn classify_token(reply: &Reply) -> Verdict {
    let body = match json_body(reply) {
        Ok(body) => body,
        Err(verdict) => return verdict,
    };
    if reply.is_success() && body.get("access_token").is_some_and(Value::is_string) {
        return Verdict::Done(body);
    }
    let error = body
        .get("error")
        .and_then(|e| e.as_str().or_else(|| e.get("code").and_then(Value::as_str)))
        .unwrap_or("no error code");
    let description = body
        .get("error_description")
        .or_else(|| body.pointer("/error/message"))
        .and_then(Value::as_str)
        .unwrap_or("no description");
    let log_id = body
        .get("log_id")
        .or_else(|| body.pointer("/error/log_id"))
        .and_then(Value::as_str)
        .map(|l| format!(", log_id {l}"))
        .unwrap_or_default();
    let message = format!("{description} ({error}{log_id})");
    if matches!(
        error,
        "invalid_client" | "unauthorized_client" | "access_denied"
    ) || reply.status == 401
    {
        return Verdict::Fail(SourceError::TokenRejected {
            platform: PLATFORM,
            endpoint: reply.endpoint.clone(),
            status: reply.status,
            message,
            hint: token_hint(reply),
        });
    }
    Verdict::by_status(reply, message, hints(&token_hint(reply)))
}

fn hints(token: &str) -> Hints<'_> {
    Hints {
        token,
        permission: PERMISSION_HINT,
    }
}

/// "in 21 h 30 min" until the next 00:00 UTC after `now`.
fn until_midnight_utc(now: SystemTime) -> String {
    let minutes = to_midnight_utc(now).as_secs().div_ceil(60);
    format!("in {} h {} min", minutes / 60, minutes % 60)
}

/// How long from `now` to the next 00:00 UTC, when TikTok's daily quotas reset.
fn to_midnight_utc(now: SystemTime) -> Duration {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Duration::from_secs(86_400 - secs % 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_reset_counts_to_the_next_midnight_utc() {
        // 2026-11-25T02:30:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_573_800);
        assert_eq!(until_midnight_utc(now), "in 21 h 30 min");
    }

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(
            username_of(&UserRef::new(" @Mila.Reyes ")).unwrap(),
            "mila.reyes"
        );
        assert!(username_of(&UserRef::new("two words")).is_err());
        assert!(username_of(&UserRef::new("@")).is_err());
    }
}
