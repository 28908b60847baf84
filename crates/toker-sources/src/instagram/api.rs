//! The Instagram Graph API client (Instagram Login, professional accounts): the connected
//! account's profile (`/me`) and own media (`/me/media`).
//!
//! No Instagram endpoint lists the posts a person liked, so an API profile has
//! `number_of_likes` unknown and fails validation: the data export is the way to likes.
//! Pages are followed with the `after` cursor rather than the `paging.next` URL, which
//! carries the token; stored pages have `access_token` in those URLs redacted. The raw
//! profile is `{"user": <me body>, "posts": [page…]}`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use toker_model::{Platform, Profile};

use crate::error::SourceError;
use crate::http::parse::{self, count};
use crate::http::{
    Account, ApiClient, ApiConfig, Call, Hints, Http, Listing, Page, PageRequest, Reply, Secret,
    Verdict, env,
};
use crate::source::{RawProfile, UserRef};
use crate::warnings::{WarningKind, Warnings};

const PLATFORM: Platform = Platform::Instagram;
/// The profile fields asked for.
pub const USER_FIELDS: &str = "user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count";
/// The media fields asked for.
pub const MEDIA_FIELDS: &str =
    "id,caption,comments_count,like_count,media_product_type,media_type,permalink,timestamp";
/// Media per page unless configured.
const DEFAULT_PAGE: u32 = 25;
/// The most media per page.
const MAX_PAGE: u32 = 100;

/// What to tell the person when Instagram refuses the token or a permission.
const HINTS: Hints<'static> = Hints {
    token: "reconnect the Instagram account and set TOKER_INSTAGRAM_TOKEN to a new \
            token (long-lived tokens last 60 days unless refreshed)",
    permission: "the token lacks the instagram_business_basic permission, or the \
                 account is not a professional (Business/Creator) account",
};

/// The Instagram Graph API client.
#[derive(Debug)]
pub struct InstagramApi {
    config: ApiConfig,
    token: Secret,
    http: Http,
}

impl InstagramApi {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`SourceError::Config`] when the token is missing or the base URL is unusable.
    pub fn new(config: ApiConfig) -> Result<Self, SourceError> {
        let token = config.require_token(
            PLATFORM,
            "the Instagram user token from Instagram Login (professional accounts only; for a \
             personal account import the data export)",
        )?;
        let http = Http::new(&config)?;
        Ok(InstagramApi {
            config,
            token,
            http,
        })
    }
}

crate::http::impl_source_for_api_client!(InstagramApi, PLATFORM);

#[async_trait]
impl ApiClient for InstagramApi {
    async fn fetch_account(&self, user: &UserRef) -> Result<Account, SourceError> {
        let call = Call::get("/me")
            .query("fields", USER_FIELDS)
            .bearer(&self.token);
        let endpoint = call.endpoint();
        let body = self.http.send(&call, classify).await?;
        let me: IgUser = parse::payload(PLATFORM, &endpoint, &body)?;
        let wanted = user.as_str().trim().trim_start_matches('@');
        if !wanted.is_empty() && wanted != "me" && !wanted.eq_ignore_ascii_case(&me.username) {
            return Err(SourceError::Config {
                platform: PLATFORM,
                message: format!(
                    "{} belongs to @{}, not @{wanted}: the Graph API reads only the connected \
                     account; connect @{wanted}'s account, or import their data export",
                    env::INSTAGRAM_TOKEN,
                    me.username
                ),
            });
        }
        Ok(Account {
            platform: PLATFORM,
            key: "me".to_owned(),
            username: me.username,
            listings: vec![Listing::Posts],
            raw: body,
            warnings: Vec::new(),
        })
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        if request.listing != Listing::Posts {
            return Err(SourceError::Config {
                platform: PLATFORM,
                message: format!(
                    "the Instagram API has no {} list: import the data export for likes",
                    request.listing
                ),
            });
        }
        let mut call = Call::get("/me/media")
            .query("fields", MEDIA_FIELDS)
            .query(
                "limit",
                self.config
                    .page_size(DEFAULT_PAGE, 1, MAX_PAGE, request.max_items)
                    .to_string(),
            )
            .bearer(&self.token);
        if let Some(cursor) = request.cursor {
            call = call.query("after", cursor);
        }
        let endpoint = call.endpoint();
        let mut raw = self.http.send(&call, classify).await?;
        let next_cursor = next_cursor(&raw).map_err(|message| SourceError::BadResponse {
            platform: PLATFORM,
            endpoint,
            message,
        })?;
        redact_paging(&mut raw);
        Ok(request.page(raw, Some("/data"), next_cursor))
    }

    crate::http::api_client_shared_methods!();
}

/// The `after` cursor when there is a next page (`paging.next` present).
fn next_cursor(page: &Value) -> Result<Option<String>, String> {
    let Some(next) = page.pointer("/paging/next").and_then(Value::as_str) else {
        return Ok(None);
    };
    if let Some(after) = parse::text_at(page, "/paging/cursors/after") {
        return Ok(Some(after.to_owned()));
    }
    reqwest::Url::parse(next)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "after")
                .map(|(_, v)| v.into_owned())
        })
        .map(Some)
        .ok_or_else(|| "paging.next is present but there is no after cursor".to_owned())
}

/// Replaces the `access_token` in `paging.next`/`paging.previous` URLs with `REDACTED`.
fn redact_paging(page: &mut Value) {
    for key in ["next", "previous"] {
        if let Some(Value::String(url)) = page.pointer_mut(&format!("/paging/{key}")) {
            if let Ok(mut parsed) = reqwest::Url::parse(url) {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "access_token" {
                            "REDACTED".into()
                        } else {
                            v
                        };
                        (k.into_owned(), v.into_owned())
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
                *url = parsed.into();
            } else {
                *url = "REDACTED".to_owned();
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct IgUser {
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "count")]
    followers_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    follows_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    media_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Media {
    #[serde(deserialize_with = "parse::id")]
    id: String,
    #[serde(default, deserialize_with = "count")]
    like_count: Option<u64>,
}

/// Builds the profile from a raw Instagram API profile (see the module docs). Pure.
///
/// # Errors
/// [`SourceError::BadResponse`] when `raw` does not have that shape.
pub fn profile_from_raw(raw: &Value) -> Result<RawProfile, SourceError> {
    let user: IgUser = parse::payload(
        PLATFORM,
        "raw profile user",
        parse::raw_user(PLATFORM, raw)?,
    )?;
    let mut warnings = Warnings::new();
    let likes_received = match parse::raw_pages(PLATFORM, raw, Listing::Posts.raw_key())? {
        Some(pages) => {
            let mut seen = std::collections::HashSet::new();
            let mut sum = 0u64;
            for (n, page) in pages.iter().enumerate() {
                let what = format!("posts page {}", n + 1);
                let items = page.get("data").and_then(Value::as_array);
                for media in parse::items::<Media>(
                    items.map_or(&[][..], Vec::as_slice),
                    &what,
                    &mut warnings,
                ) {
                    if seen.insert(media.id) {
                        sum += media.like_count.unwrap_or(0);
                    }
                }
            }
            Some(sum)
        }
        None => None,
    };
    warnings.push(
        WarningKind::Note,
        "the Instagram API does not list the posts a person liked, so the likes given are \
         unknown and the profile cannot be stored: import the Instagram data export \
         (`toker import-export instagram <zip>`) for likes",
    );
    let mut profile = Profile::new(user.username.clone(), user.username);
    profile.user_pseudo = user.name.filter(|n| !n.trim().is_empty());
    profile.followers_count = user.followers_count;
    profile.following_count = user.follows_count;
    profile.videos_count = user.media_count;
    profile.number_of_likes_on_own_videos = likes_received;
    Ok(RawProfile {
        platform: PLATFORM,
        profile,
        raw: raw.clone(),
        warnings,
    })
}

/// Judges a Graph API reply by its `error.code`.
fn classify(reply: &Reply) -> Verdict {
    let body = match Verdict::json_body(reply, HINTS) {
        Ok(body) => body,
        Err(verdict) => return verdict,
    };
    let Some(error) = body.get("error").filter(|e| e.is_object()) else {
        return if reply.is_success() {
            Verdict::Done(body)
        } else {
            Verdict::by_status(
                reply,
                format!("HTTP {}: {}", reply.status, reply.snippet()),
                HINTS,
            )
        };
    };
    let code = error.get("code").and_then(parse::count_of);
    let subcode = error.get("error_subcode").and_then(parse::count_of);
    let transient = error.get("is_transient").and_then(Value::as_bool) == Some(true);
    let message = graph_message(error, code, subcode);
    let (platform, endpoint, status) = (PLATFORM, reply.endpoint.clone(), reply.status);
    match code {
        Some(190 | 102) => {
            let why = match subcode {
                Some(463) => "the token expired; ",
                Some(460) => "the password changed; ",
                Some(467) => "the token is invalid; ",
                _ => "",
            };
            Verdict::Fail(SourceError::TokenRejected {
                platform,
                endpoint,
                status,
                message,
                hint: format!("{why}{}", HINTS.token),
            })
        }
        Some(10 | 200..=299) => Verdict::Fail(SourceError::PermissionDenied {
            platform,
            endpoint,
            status,
            message,
            hint: HINTS.permission.to_owned(),
        }),
        Some(4 | 17 | 32 | 613) => match regain_access(reply) {
            Some(wait) => Verdict::WaitFor { wait, message },
            None => Verdict::wait_or_throttle(reply, message),
        },
        Some(1 | 2) => Verdict::Transient { message },
        _ if transient => Verdict::Transient { message },
        Some(100) => Verdict::Fail(SourceError::RequestRejected {
            platform,
            endpoint,
            status,
            message,
        }),
        _ => Verdict::by_status(reply, message, HINTS),
    }
}

/// `"message" (code 190/463, fbtrace_id …)`.
fn graph_message(error: &Value, code: Option<u64>, subcode: Option<u64>) -> String {
    let text = error
        .get("error_user_msg")
        .or_else(|| error.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("no message");
    let code = match (code, subcode) {
        (Some(c), Some(s)) => format!("code {c}/{s}"),
        (Some(c), None) => format!("code {c}"),
        _ => "no code".to_owned(),
    };
    match error.get("fbtrace_id").and_then(Value::as_str) {
        Some(trace) => format!("{text} ({code}, fbtrace_id {trace})"),
        None => format!("{text} ({code})"),
    }
}

/// The longest `estimated_time_to_regain_access` (minutes) in `x-business-use-case-usage`.
fn regain_access(reply: &Reply) -> Option<std::time::Duration> {
    let usage: Value = serde_json::from_str(reply.header("x-business-use-case-usage")?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| {
            u.get("estimated_time_to_regain_access")
                .and_then(parse::count_of)
        })
        .max()?;
    (minutes > 0).then(|| std::time::Duration::from_secs(minutes * 60))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paging_urls_lose_their_token_and_keep_the_cursor() {
        let mut page = json!({"paging": {
            "cursors": {"after": "QVFI"},
            "next": "https://graph.instagram.com/v23.0/1/media?access_token=IGAAsecret&limit=10&after=QVFI",
            "previous": "not a url access_token=IGAAsecret"
        }});
        assert_eq!(next_cursor(&page).unwrap().as_deref(), Some("QVFI"));
        redact_paging(&mut page);
        let shown = page.to_string();
        assert!(!shown.contains("IGAAsecret"), "{shown}");
        assert!(
            shown.contains("access_token=REDACTED&limit=10&after=QVFI"),
            "{shown}"
        );
    }

    #[test]
    fn next_cursor_falls_back_to_the_url_and_stops_without_next() {
        let page = json!({"paging": {"next": "https://g/me/media?after=XYZ"}});
        assert_eq!(next_cursor(&page).unwrap().as_deref(), Some("XYZ"));
        let last = json!({"paging": {"cursors": {"after": "A"}, "previous": "https://g/p"}});
        assert_eq!(next_cursor(&last).unwrap(), None);
        assert!(next_cursor(&json!({"paging": {"next": "https://g/me/media"}})).is_err());
    }
}
