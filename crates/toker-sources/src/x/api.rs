//! The X API v2 client, with the person's OAuth 2.0 user token.
//!
//! Since June 2024 X shows which posts an account liked only to that account, so liked
//! posts are read only when the token's own account is fetched; the person's own posts
//! give reposts (the originals, from `includes.tweets`), replies and likes received. The
//! raw profile is `{"user": <users body>, "liked": [page…], "posts": [page…]}`.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use toker_model::{Platform, Profile, Video};

use crate::error::SourceError;
use crate::http::parse::{self, count, flag, list};
use crate::http::{
    Account, ApiClient, ApiConfig, Call, Hints, Http, Listing, Page, PageRequest, Reply, Secret,
    Verdict,
};
use crate::source::{RawProfile, UserRef};
use crate::warnings::{WarningKind, Warnings};

const PLATFORM: Platform = Platform::X;
/// The user fields asked for.
pub const USER_FIELDS: &str = "created_at,public_metrics,verified";
/// The post fields asked for.
pub const TWEET_FIELDS: &str =
    "author_id,context_annotations,created_at,entities,lang,public_metrics,referenced_tweets";
/// Annotation domains that name interests (65 Interests and Hobbies Vertical, 66 … Category,
/// 131 Unified Twitter Taxonomy); others (brands, people, events) are not categories.
pub const CATEGORY_DOMAINS: [&str; 3] = ["65", "66", "131"];
/// The most posts per page.
const MAX_PAGE: u32 = 100;
/// How long a reached usage cap pauses the app's shared budget: X does not say when the
/// billing period ends, so one request an hour asks again.
const USAGE_CAP_PAUSE: std::time::Duration = std::time::Duration::from_secs(3600);

/// What to tell the person when X refuses the token or a permission.
const HINTS: Hints<'static> = Hints {
    token: "reconnect the X account and set TOKER_X_TOKEN to a fresh user token \
            (access tokens last 2 hours)",
    permission: "the token lacks a scope (tweet.read, users.read, like.read) or \
                 the app's access level does not include this endpoint",
};

/// The X API v2 client.
#[derive(Debug)]
pub struct XApi {
    config: ApiConfig,
    token: Secret,
    http: Http,
}

impl XApi {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`SourceError::Config`] when the token is missing or the base URL is unusable.
    pub fn new(config: ApiConfig) -> Result<Self, SourceError> {
        let token = config.require_token(
            PLATFORM,
            "the person's OAuth 2.0 user token (scopes tweet.read, users.read, like.read)",
        )?;
        let http = Http::new(&config)?;
        Ok(XApi {
            config,
            token,
            http,
        })
    }

    /// A users endpoint's body, which must hold `data`.
    async fn user(&self, path: String, wanted: &str) -> Result<(Value, XUser), SourceError> {
        let call = Call::get(path)
            .query("user.fields", USER_FIELDS)
            .bearer(&self.token);
        let endpoint = call.endpoint();
        let body = self.http.send(&call, classify).await?;
        match body.get("data") {
            Some(data) => {
                let user = parse::payload(PLATFORM, &endpoint, data)?;
                Ok((body, user))
            }
            None if body.get("errors").is_some() => Err(SourceError::UserNotFound {
                platform: PLATFORM,
                user: wanted.to_owned(),
            }),
            None => Err(SourceError::BadResponse {
                platform: PLATFORM,
                endpoint,
                message: "no data in the response".to_owned(),
            }),
        }
    }
}

crate::http::impl_source_for_api_client!(XApi, PLATFORM);

#[async_trait]
impl ApiClient for XApi {
    async fn fetch_account(&self, user: &UserRef) -> Result<Account, SourceError> {
        let wanted = user.as_str().trim().trim_start_matches('@');
        let (me_body, me) = self.user("/2/users/me".to_owned(), "me").await?;
        let is_me = wanted.is_empty()
            || wanted.eq_ignore_ascii_case("me")
            || wanted.eq_ignore_ascii_case(&me.username)
            || wanted == me.id;
        if is_me {
            return Ok(Account {
                platform: PLATFORM,
                key: me.id,
                username: me.username,
                listings: vec![Listing::Liked, Listing::Posts],
                raw: me_body,
                warnings: Vec::new(),
            });
        }
        if wanted
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(SourceError::Config {
                platform: PLATFORM,
                message: format!("{:?} is not an X username or user id", user.as_str()),
            });
        }
        let path = if wanted.chars().all(|c| c.is_ascii_digit()) {
            format!("/2/users/{wanted}")
        } else {
            format!("/2/users/by/username/{wanted}")
        };
        let (body, other) = self.user(path, wanted).await?;
        Ok(Account {
            platform: PLATFORM,
            key: other.id,
            warnings: vec![format!(
                "X shows which posts an account liked only to that account (since June 2024): \
                 the token belongs to @{}, so @{}'s liked posts are not listed; connect @{}'s own \
                 token to list them",
                me.username, other.username, other.username
            )],
            username: other.username,
            listings: vec![Listing::Posts],
            raw: body,
        })
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let call = match request.listing {
            Listing::Liked => Call::get(format!("/2/users/{}/liked_tweets", request.account.key))
                .query(
                    "max_results",
                    self.config
                        .page_size(MAX_PAGE, 10, MAX_PAGE, request.max_items)
                        .to_string(),
                ),
            Listing::Posts => Call::get(format!("/2/users/{}/tweets", request.account.key))
                .query(
                    "max_results",
                    self.config
                        .page_size(MAX_PAGE, 5, MAX_PAGE, request.max_items)
                        .to_string(),
                )
                .query("expansions", "referenced_tweets.id"),
            Listing::Reposted => {
                return Err(SourceError::Config {
                    platform: PLATFORM,
                    message: "X reposts are read from the person's own posts".to_owned(),
                });
            }
        };
        let mut call = call.query("tweet.fields", TWEET_FIELDS).bearer(&self.token);
        if let Some(cursor) = request.cursor {
            call = call.query("pagination_token", cursor);
        }
        let raw = self.http.send(&call, classify).await?;
        let next_cursor = parse::text_at(&raw, "/meta/next_token").map(str::to_owned);
        Ok(request.page(raw, Some("/data"), next_cursor))
    }

    crate::http::api_client_shared_methods!();
}

#[derive(Debug, Deserialize)]
struct XUser {
    #[serde(deserialize_with = "parse::id")]
    id: String,
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    verified: Option<bool>,
    #[serde(default)]
    public_metrics: UserMetrics,
}

#[derive(Debug, Default, Deserialize)]
struct UserMetrics {
    #[serde(default, deserialize_with = "count")]
    followers_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    following_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    tweet_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    like_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Post {
    #[serde(deserialize_with = "parse::id")]
    id: String,
    #[serde(default)]
    public_metrics: PostMetrics,
    #[serde(default)]
    entities: Entities,
    #[serde(default, deserialize_with = "list")]
    context_annotations: Vec<Annotation>,
    #[serde(default, deserialize_with = "list")]
    referenced_tweets: Vec<Reference>,
}

#[derive(Debug, Default, Deserialize)]
struct PostMetrics {
    #[serde(default, deserialize_with = "count")]
    like_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    reply_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    retweet_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Entities {
    #[serde(default, deserialize_with = "list")]
    hashtags: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct Annotation {
    #[serde(default)]
    domain: Option<Value>,
    #[serde(default)]
    entity: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(deserialize_with = "parse::id")]
    id: String,
}

impl Post {
    fn references(&self, kind: &str) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.id.as_str())
    }

    fn to_video(&self) -> Video {
        let mut categories: Vec<String> = Vec::new();
        for a in &self.context_annotations {
            let domain = a
                .domain
                .as_ref()
                .and_then(|d| d.get("id"))
                .and_then(parse::id_of);
            let name = a
                .entity
                .as_ref()
                .and_then(|e| e.get("name"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty());
            if let (Some(domain), Some(name)) = (domain, name) {
                if CATEGORY_DOMAINS.contains(&domain.as_str())
                    && !categories.iter().any(|c| c == name)
                {
                    categories.push(name.to_owned());
                }
            }
        }
        Video {
            video_id: self.id.clone(),
            categories,
            hashtags: self
                .entities
                .hashtags
                .iter()
                .filter_map(|h| h.get("tag").and_then(Value::as_str))
                .filter_map(parse::hashtag)
                .collect(),
            likes: self.public_metrics.like_count,
            comments: self.public_metrics.reply_count,
            shares: self.public_metrics.retweet_count,
        }
    }
}

/// Builds the profile from a raw X API profile (see the module docs). Pure.
///
/// # Errors
/// [`SourceError::BadResponse`] when `raw` does not have that shape.
pub fn profile_from_raw(raw: &Value) -> Result<RawProfile, SourceError> {
    let user_body = parse::raw_user(PLATFORM, raw)?;
    let user: XUser = match user_body.get("data") {
        Some(data) => parse::payload(PLATFORM, "raw profile user", data)?,
        None => {
            return Err(SourceError::BadResponse {
                platform: PLATFORM,
                endpoint: "raw profile user".to_owned(),
                message: "no data".to_owned(),
            });
        }
    };
    let mut warnings = Warnings::new();
    let liked = match parse::raw_pages(PLATFORM, raw, Listing::Liked.raw_key())? {
        Some(pages) => {
            let posts = posts(pages, "/data", Listing::Liked, &mut warnings);
            let mut seen = HashSet::new();
            Some(
                posts
                    .iter()
                    .filter(|p| seen.insert(p.id.clone()))
                    .map(Post::to_video)
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let own = parse::raw_pages(PLATFORM, raw, Listing::Posts.raw_key())?
        .map(|pages| own_posts(pages, &mut warnings));
    let mut profile = Profile::new(user.id, user.username);
    profile.user_pseudo = user.name.filter(|n| !n.trim().is_empty());
    profile.verified = user.verified;
    profile.followers_count = user.public_metrics.followers_count;
    profile.following_count = user.public_metrics.following_count;
    profile.videos_count = user.public_metrics.tweet_count;
    profile.number_of_likes = user
        .public_metrics
        .like_count
        .or_else(|| liked.as_ref().map(|l| l.len() as u64));
    if let Some(own) = own {
        profile.number_of_comments = Some(own.replies);
        profile.number_of_likes_on_own_videos = Some(own.likes_received);
        profile.number_of_shares = Some(own.reposts);
        profile.shared_videos = own.shared;
    }
    profile.liked_videos = liked.unwrap_or_default();
    Ok(RawProfile {
        platform: PLATFORM,
        profile,
        raw: raw.clone(),
        warnings,
    })
}

/// The posts at `pointer` in every page, with the page's partial errors as warnings.
fn posts(pages: &[Value], pointer: &str, listing: Listing, warnings: &mut Warnings) -> Vec<Post> {
    let mut out = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        let what = format!("{listing} page {}", n + 1);
        for error in page
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let detail = error
                .get("detail")
                .or_else(|| error.get("message"))
                .or_else(|| error.get("title"))
                .and_then(Value::as_str)
                .unwrap_or("no detail");
            warnings.push(
                WarningKind::Listing,
                format!("{what}: X reported an error beside the data: {detail}"),
            );
        }
        if let Some(items) = page.pointer(pointer).and_then(Value::as_array) {
            out.extend(parse::items::<Post>(items, &what, warnings));
        }
    }
    out
}

/// What the person's own posts say.
struct OwnPosts {
    replies: u64,
    reposts: u64,
    likes_received: u64,
    shared: Vec<Video>,
}

fn own_posts(pages: &[Value], warnings: &mut Warnings) -> OwnPosts {
    let own = posts(pages, "/data", Listing::Posts, warnings);
    let mut quiet = Warnings::new();
    let originals: HashMap<String, Post> =
        posts(pages, "/includes/tweets", Listing::Posts, &mut quiet)
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
    let mut result = OwnPosts {
        replies: 0,
        reposts: 0,
        likes_received: 0,
        shared: Vec::new(),
    };
    let mut seen_own = HashSet::new();
    let mut seen_shared = HashSet::new();
    for post in own.iter().filter(|p| seen_own.insert(p.id.clone())) {
        if let Some(original) = post.references("retweeted") {
            result.reposts += 1;
            if !seen_shared.insert(original.to_owned()) {
                continue;
            }
            match originals.get(original) {
                Some(o) => result.shared.push(o.to_video()),
                None => {
                    warnings.push(
                        WarningKind::Note,
                        format!(
                            "repost {} of post {original}: the original was not included \
                             (deleted or protected), its counts are unknown",
                            post.id
                        ),
                    );
                    result.shared.push(Video::new(original));
                }
            }
            continue;
        }
        if post.references("replied_to").is_some() {
            result.replies += 1;
        }
        result.likes_received += post.public_metrics.like_count.unwrap_or(0);
    }
    result
}

/// The error message of a problem (`detail`/`title`) or v1.1 (`errors[0].message`) body.
fn problem_message(body: &Value) -> String {
    let v1 = body.pointer("/errors/0");
    let text = body
        .get("detail")
        .or_else(|| body.get("title"))
        .or_else(|| v1.and_then(|e| e.get("message")))
        .and_then(Value::as_str)
        .unwrap_or("no message");
    match body
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| *t != "about:blank")
    {
        Some(kind) => format!("{text} ({kind})"),
        None => text.to_owned(),
    }
}

/// Judges an X reply: problem JSON (`{"title","detail","type","status"}`) or v1.1-style
/// `{"errors":[{"code","message"}]}`.
fn classify(reply: &Reply) -> Verdict {
    let body = match Verdict::json_body(reply, HINTS) {
        Ok(body) => body,
        Err(verdict) => return verdict,
    };
    let v1_code = body.pointer("/errors/0/code").and_then(Value::as_u64);
    if reply.is_success() && (v1_code.is_none() || body.get("data").is_some()) {
        return Verdict::Done(body);
    }
    let message = problem_message(&body);
    let capped = body
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("/usage-capped"))
        || body.get("title").and_then(Value::as_str) == Some("UsageCapExceeded");
    if capped {
        let period = body
            .get("period")
            .and_then(Value::as_str)
            .unwrap_or("billing");
        return Verdict::Exhausted {
            error: SourceError::QuotaExceeded {
                platform: PLATFORM,
                endpoint: reply.endpoint.clone(),
                message: format!(
                    "the X API plan's usage cap is reached ({message}): it resets with the \
                     next {} period; no retry helps before then",
                    period.to_lowercase()
                ),
            },
            // X does not say when the period ends: look again in an hour.
            pause: USAGE_CAP_PAUSE,
        };
    }
    if reply.status == 429 || v1_code == Some(88) {
        return Verdict::wait_or_throttle(reply, message);
    }
    Verdict::by_status(reply, message, HINTS)
}
