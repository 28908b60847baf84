//! The platforms' OAuth 2.0 authorization-code flows (how a person "connects" an account):
//! the authorize URL a browser is sent to, the code exchange, the refresh of a token, and
//! Instagram's exchange of a short-lived token for a long-lived one. Endpoints, scopes and
//! response shapes are those of `docs/PLATFORMS.md#connecting-an-account-oauth`.
//!
//! Requests go through the shared HTTP layer (timeouts, bounded retries on 5xx and rate
//! limits, no retry on a refused code). Tokens, codes and client secrets travel as
//! [`Secret`]s: in form bodies, Basic credentials or secret query parameters, never in a
//! log line or an error message. The `state`, PKCE pair and what to do with the tokens are
//! the caller's (toker-api).

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use toker_model::Platform;

use crate::error::SourceError;
use crate::http::parse::count_of;
use crate::http::{ApiConfig, Body, Call, Hints, Http, Reply, Secret, Verdict};

/// Where a platform's OAuth endpoints are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthEndpoints {
    /// The page the person's browser is sent to for consent.
    pub authorize_url: String,
    /// The code-exchange (and refresh) endpoint.
    pub token_url: String,
    /// Instagram only: the Graph API host of the long-lived exchange and refresh
    /// (`https://graph.instagram.com`).
    pub graph_url: Option<String>,
}

impl OAuthEndpoints {
    /// The platform's production endpoints.
    #[must_use]
    pub fn production(platform: Platform) -> Self {
        let profile = OAuthProfile::of(platform);
        OAuthEndpoints {
            authorize_url: profile.authorize_url.to_owned(),
            token_url: profile.token_url.to_owned(),
            graph_url: profile.graph_url.map(str::to_owned),
        }
    }
}

/// How the app proves itself at a platform's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// The client id and secret in the form body.
    SecretInForm,
    /// HTTP Basic credentials (id and secret), the id also in the form body: a
    /// confidential client of X.
    Basic,
}

/// How a platform's tokens are renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The refresh-token grant at the token endpoint.
    RefreshToken,
    /// A long-lived access token from the Graph API: the code's short-lived token is
    /// exchanged for it, and it is refreshed itself (`graph_url`; Instagram).
    LongLivedToken,
}

/// Everything that differs between the platforms' OAuth flows, one value per platform
/// ([`OAuthProfile::of`]); the flow itself is the same code for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthProfile {
    /// The production consent page.
    pub authorize_url: &'static str,
    /// The production token endpoint.
    pub token_url: &'static str,
    /// The production Graph API host, for [`Renewal::LongLivedToken`].
    pub graph_url: Option<&'static str>,
    /// The scopes Toker asks for (what reading the person's profile and likes needs),
    /// joined with the platform's separator: commas on TikTok, spaces on X.
    pub scope: &'static str,
    /// The name of the app's id in the authorize URL and the token form (`client_key` on
    /// TikTok, `client_id` elsewhere).
    pub client_id_param: &'static str,
    /// How the app authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// Whether the authorize step takes PKCE (`code_challenge`, S256).
    pub pkce: bool,
    /// How tokens are renewed.
    pub renewal: Renewal,
    /// The token response's field naming the account, if the platform sends one.
    pub account_id_field: Option<&'static str>,
    /// What the person's token lets Toker read.
    pub token_reach: TokenReach,
}

/// What a person's token lets Toker read of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenReach {
    /// Their account and every list Toker reads (X).
    Everything,
    /// Only who they are and their counts (TikTok's Login Kit token opens the Display
    /// API): their lists come from the Research API with the server's own credentials.
    AccountOnly,
    /// Their account and posts, never which posts they liked (Instagram).
    NoLikes,
}

impl OAuthProfile {
    /// TikTok's Login Kit.
    pub const TIKTOK: OAuthProfile = OAuthProfile {
        authorize_url: "https://www.tiktok.com/v2/auth/authorize/",
        token_url: "https://open.tiktokapis.com/v2/oauth/token/",
        graph_url: None,
        scope: "user.info.basic,user.info.stats,video.list",
        client_id_param: "client_key",
        client_auth: ClientAuth::SecretInForm,
        pkce: true,
        renewal: Renewal::RefreshToken,
        account_id_field: Some("open_id"),
        token_reach: TokenReach::AccountOnly,
    };

    /// X's OAuth 2.0 with a confidential client.
    pub const X: OAuthProfile = OAuthProfile {
        authorize_url: "https://x.com/i/oauth2/authorize",
        token_url: "https://api.x.com/2/oauth2/token",
        graph_url: None,
        scope: "tweet.read users.read like.read offline.access",
        client_id_param: "client_id",
        client_auth: ClientAuth::Basic,
        pkce: true,
        renewal: Renewal::RefreshToken,
        account_id_field: None,
        token_reach: TokenReach::Everything,
    };

    /// Instagram API with Instagram Login.
    pub const INSTAGRAM: OAuthProfile = OAuthProfile {
        authorize_url: "https://www.instagram.com/oauth/authorize",
        token_url: "https://api.instagram.com/oauth/access_token",
        graph_url: Some("https://graph.instagram.com"),
        scope: "instagram_business_basic",
        client_id_param: "client_id",
        client_auth: ClientAuth::SecretInForm,
        pkce: false,
        renewal: Renewal::LongLivedToken,
        account_id_field: Some("user_id"),
        token_reach: TokenReach::NoLikes,
    };

    /// The platform's profile.
    #[must_use]
    pub const fn of(platform: Platform) -> &'static OAuthProfile {
        match platform {
            Platform::TikTok => &Self::TIKTOK,
            Platform::X => &Self::X,
            Platform::Instagram => &Self::INSTAGRAM,
        }
    }
}

/// The scopes Toker asks for: what reading the person's profile and likes needs.
#[must_use]
pub const fn scopes(platform: Platform) -> &'static str {
    OAuthProfile::of(platform).scope
}

/// Whether the platform takes PKCE (`code_challenge`, S256) on its authorize step.
#[must_use]
pub const fn uses_pkce(platform: Platform) -> bool {
    OAuthProfile::of(platform).pkce
}

/// An app's registration with a platform and where its OAuth endpoints are.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClientConfig {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The app's client id (TikTok: client key).
    pub client_id: String,
    /// The app's client secret: sent only in the token request (form body or Basic
    /// credentials), never logged.
    pub client_secret: Secret,
    /// Where the platform sends the browser back (registered with the app).
    pub redirect_uri: String,
    /// Where the platform's consent page and token endpoints are (tests point them at a
    /// local replay).
    pub endpoints: OAuthEndpoints,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after a server error, timeout or throttling.
    pub max_retries: u32,
    /// The first backoff delay.
    pub backoff_base: Duration,
}

impl fmt::Debug for OAuthClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientConfig")
            .field("platform", &self.platform)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl OAuthClientConfig {
    /// A configuration with the production endpoints and the API clients' default limits.
    #[must_use]
    pub fn new(
        platform: Platform,
        client_id: impl Into<String>,
        client_secret: Secret,
        redirect_uri: impl Into<String>,
    ) -> Self {
        OAuthClientConfig {
            platform,
            client_id: client_id.into(),
            client_secret,
            redirect_uri: redirect_uri.into(),
            endpoints: OAuthEndpoints::production(platform),
            timeout: ApiConfig::DEFAULT_TIMEOUT,
            max_retries: ApiConfig::DEFAULT_MAX_RETRIES,
            backoff_base: ApiConfig::DEFAULT_BACKOFF_BASE,
        }
    }
}

/// The tokens a platform granted. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct PlatformTokens {
    /// The access token (Instagram: the long-lived one).
    pub access_token: Secret,
    /// How long the access token lasts, if the platform said.
    pub expires_in: Option<Duration>,
    /// The refresh token (TikTok; X with `offline.access`); Instagram has none.
    pub refresh_token: Option<Secret>,
    /// How long the refresh token lasts, if the platform said.
    pub refresh_expires_in: Option<Duration>,
    /// The scopes granted, as the platform wrote them.
    pub scope: Option<String>,
    /// The platform's id of the person, when the token response names it (TikTok
    /// `open_id`, Instagram `user_id`).
    pub account_id: Option<String>,
}

impl fmt::Debug for PlatformTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformTokens")
            .field("access_token", &self.access_token)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What can go wrong in an OAuth step. Messages name the platform and the step, never a
/// token, code or secret.
///
/// Its own type rather than [`SourceError`] variants: the outcomes of a token step call for
/// different actions (the person starts again, the operator fixes the app's credentials)
/// than a data API's errors, and transport failures are carried as the [`SourceError`]
/// they are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The platform refused the authorization code (expired, used, invalid): the person
    /// must connect again.
    #[error("{platform}: the authorization code was refused ({error}: {description})")]
    CodeRejected {
        #[allow(missing_docs, reason = "the name says it all")]
        platform: Platform,
        /// The platform's error code, e.g. `invalid_grant`.
        error: String,
        /// The platform's words.
        description: String,
    },
    /// The platform refused the refresh (or long-lived) token: the person must connect again.
    #[error("{platform}: the stored token was refused ({error}: {description})")]
    RefreshRejected {
        #[allow(missing_docs, reason = "the name says it all")]
        platform: Platform,
        /// The platform's error code.
        error: String,
        /// The platform's words.
        description: String,
    },
    /// The platform refused the app's credentials: the operator must fix the client id or
    /// secret.
    #[error(
        "{platform}: the platform refused this server's app credentials ({error}: {description}); check the client id and secret"
    )]
    ClientRejected {
        #[allow(missing_docs, reason = "the name says it all")]
        platform: Platform,
        /// The platform's error code, e.g. `invalid_client`.
        error: String,
        /// The platform's words.
        description: String,
    },
    /// A success response without what it must hold.
    #[error("{platform}: {endpoint}: unexpected token response: {message}")]
    BadResponse {
        #[allow(missing_docs, reason = "the name says it all")]
        platform: Platform,
        /// The token endpoint that answered, e.g. `POST /v2/oauth/token/`.
        endpoint: String,
        /// What was missing.
        message: String,
    },
    /// The request failed on the way (timeout, connection, 5xx after retries, rate limit)
    /// or the configuration is unusable.
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// What a token step is, for telling a refused code from a refused refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Code,
    Refresh,
}

/// A platform's OAuth client: builds authorize URLs and calls the token endpoints.
#[derive(Debug)]
pub struct OAuthClient {
    config: OAuthClientConfig,
    profile: &'static OAuthProfile,
    token_http: Http,
    token_path: String,
    graph_http: Option<Http>,
}

impl OAuthClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`SourceError::Config`] (as [`OAuthError::Source`]) when an endpoint is not an
    /// absolute http(s) URL.
    pub fn new(config: OAuthClientConfig) -> Result<Self, OAuthError> {
        let platform = config.platform;
        let (token_base, token_path) =
            split_url(platform, "token URL", &config.endpoints.token_url)?;
        let (_, _) = split_url(platform, "authorize URL", &config.endpoints.authorize_url)?;
        // The settings toker serve reads these URLs from, named in connection errors.
        let setting = |name: &str| {
            format!(
                "TOKER_CONNECT_{}_{name}",
                platform.as_str().to_ascii_uppercase()
            )
        };
        let http_for = |base: String, name: &str| {
            let mut api = ApiConfig::new(platform);
            api.base_url = base;
            api.timeout = config.timeout;
            api.max_retries = config.max_retries;
            api.backoff_base = config.backoff_base;
            let mut http = Http::new(&api)?;
            http.set_setting(setting(name));
            Ok::<_, SourceError>(http)
        };
        let token_http = http_for(token_base, "TOKEN_URL")?;
        let profile = OAuthProfile::of(platform);
        let graph_http = match (&config.endpoints.graph_url, profile.renewal) {
            (Some(graph), Renewal::LongLivedToken) => Some(http_for(graph.clone(), "GRAPH_URL")?),
            (None, Renewal::LongLivedToken) => {
                return Err(SourceError::Config {
                    platform,
                    message:
                        "Instagram's OAuth needs the Graph API URL of the long-lived token exchange"
                            .to_owned(),
                }
                .into());
            }
            _ => None,
        };
        Ok(OAuthClient {
            config,
            profile,
            token_http,
            token_path,
            graph_http,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &OAuthClientConfig {
        &self.config
    }

    /// The platform this client connects accounts of.
    #[must_use]
    pub fn platform(&self) -> Platform {
        self.config.platform
    }

    /// The URL to send the person's browser to: the app, the scopes, the redirect URI,
    /// `state`, and the PKCE `code_challenge` (S256) for platforms that take one.
    #[must_use]
    pub fn authorize_url(&self, state: &str, code_challenge: Option<&str>) -> String {
        let (c, profile) = (&self.config, self.profile);
        let mut params: Vec<(&str, &str)> = vec![
            (profile.client_id_param, &c.client_id),
            ("response_type", "code"),
            ("scope", profile.scope),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("state", state),
        ];
        if let Some(challenge) = code_challenge.filter(|_| profile.pkce) {
            params.extend([
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ]);
        }
        match reqwest::Url::parse_with_params(&c.endpoints.authorize_url, &params) {
            Ok(url) => url.into(),
            // Checked in `new`; an unparsable URL cannot get here.
            Err(_) => c.endpoints.authorize_url.clone(),
        }
    }

    /// Exchanges the authorization code (with the PKCE verifier, where one was used) for
    /// the person's tokens; for Instagram, then exchanges the short-lived token for a
    /// long-lived one.
    ///
    /// # Errors
    /// [`OAuthError::CodeRejected`] for a refused code, [`OAuthError::ClientRejected`] for
    /// refused app credentials, [`OAuthError::Source`] for transport failures.
    pub async fn exchange_code(
        &self,
        code: &Secret,
        code_verifier: Option<&Secret>,
    ) -> Result<PlatformTokens, OAuthError> {
        let c = &self.config;
        let text = Secret::new;
        let mut form = self.client_form();
        form.push(("code", code.clone()));
        form.push(("grant_type", text("authorization_code".to_owned())));
        form.push(("redirect_uri", text(c.redirect_uri.clone())));
        if let Some(verifier) = code_verifier.filter(|_| self.profile.pkce) {
            form.push(("code_verifier", verifier.clone()));
        }
        let body = self.token_call(form, Step::Code).await?;
        if self.profile.renewal == Renewal::LongLivedToken {
            let short = instagram_short_lived(&body)
                .ok_or_else(|| self.bad("no data[0].access_token in the code exchange response"))?;
            let mut long = self.instagram_long_lived(&short.access_token).await?;
            long.account_id = short.account_id;
            long.scope = short.scope;
            return Ok(long);
        }
        self.tokens_from(&body)
    }

    /// Renews the tokens: the refresh-token grant (TikTok, X), or Instagram's refresh of a
    /// long-lived token (`tokens.access_token`, at least a day old and not expired).
    ///
    /// # Errors
    /// [`OAuthError::RefreshRejected`] when the platform refuses the stored token (the
    /// person must connect again), [`OAuthError::ClientRejected`], [`OAuthError::Source`].
    pub async fn refresh(&self, tokens: &PlatformTokens) -> Result<PlatformTokens, OAuthError> {
        let c = &self.config;
        if self.profile.renewal == Renewal::LongLivedToken {
            let call = Call::get("/refresh_access_token")
                .query("grant_type", "ig_refresh_token")
                .secret_query("access_token", tokens.access_token.clone());
            return self.graph_call(&call, Step::Refresh).await;
        }
        let refresh_token =
            tokens
                .refresh_token
                .clone()
                .ok_or_else(|| {
                    OAuthError::RefreshRejected {
                platform: c.platform,
                error: "no_refresh_token".to_owned(),
                description:
                    "the platform granted no refresh token (X grants one only with offline.access)"
                        .to_owned(),
            }
                })?;
        let mut form = self.client_form();
        form.push(("grant_type", Secret::new("refresh_token")));
        form.push(("refresh_token", refresh_token.clone()));
        let body = self.token_call(form, Step::Refresh).await?;
        let mut renewed = self.tokens_from(&body)?;
        // A platform that does not rotate refresh tokens keeps the old one valid.
        if renewed.refresh_token.is_none() {
            renewed.refresh_token = Some(refresh_token);
            renewed.refresh_expires_in = tokens.refresh_expires_in;
        }
        if renewed.account_id.is_none() {
            renewed.account_id.clone_from(&tokens.account_id);
        }
        Ok(renewed)
    }

    /// The app's part of a token request's form: its id, and its secret where the platform
    /// takes it in the form.
    fn client_form(&self) -> Vec<(&'static str, Secret)> {
        let c = &self.config;
        let mut form = vec![(
            self.profile.client_id_param,
            Secret::new(c.client_id.clone()),
        )];
        if self.profile.client_auth == ClientAuth::SecretInForm {
            form.push(("client_secret", c.client_secret.clone()));
        }
        form
    }

    async fn token_call(
        &self,
        form: Vec<(&'static str, Secret)>,
        step: Step,
    ) -> Result<Value, OAuthError> {
        let mut call = Call::post(self.token_path.clone(), Body::Form(form));
        if self.profile.client_auth == ClientAuth::Basic {
            call = call.basic(
                Secret::new(self.config.client_id.clone()),
                self.config.client_secret.clone(),
            );
        }
        let body = self.token_http.send(&call, classify_token).await?;
        self.refused(&body, step)?;
        Ok(body)
    }

    async fn graph_call(&self, call: &Call, step: Step) -> Result<PlatformTokens, OAuthError> {
        let Some(http) = &self.graph_http else {
            return Err(self.bad("no Graph API URL configured"));
        };
        let body = http.send(call, classify_token).await?;
        self.refused(&body, step)?;
        self.tokens_from(&body)
    }

    async fn instagram_long_lived(&self, short: &Secret) -> Result<PlatformTokens, OAuthError> {
        let call = Call::get("/access_token")
            .query("grant_type", "ig_exchange_token")
            .secret_query("client_secret", self.config.client_secret.clone())
            .secret_query("access_token", short.clone());
        self.graph_call(&call, Step::Code).await
    }

    /// The error a token endpoint's body names, if it names one.
    fn refused(&self, body: &Value, step: Step) -> Result<(), OAuthError> {
        let Some((error, description)) = oauth_error(body) else {
            return Ok(());
        };
        let platform = self.config.platform;
        let client = matches!(error.as_str(), "invalid_client" | "unauthorized_client")
            || description.to_ascii_lowercase().contains("client secret")
            || description.to_ascii_lowercase().contains("client_secret");
        Err(if client {
            OAuthError::ClientRejected {
                platform,
                error,
                description,
            }
        } else {
            match step {
                Step::Code => OAuthError::CodeRejected {
                    platform,
                    error,
                    description,
                },
                Step::Refresh => OAuthError::RefreshRejected {
                    platform,
                    error,
                    description,
                },
            }
        })
    }

    fn tokens_from(&self, body: &Value) -> Result<PlatformTokens, OAuthError> {
        let text = |key: &str| {
            body.get(key)
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.trim().is_empty())
        };
        let seconds = |key: &str| body.get(key).and_then(count_of).map(Duration::from_secs);
        let access = text("access_token").ok_or_else(|| self.bad("no access_token"))?;
        Ok(PlatformTokens {
            access_token: Secret::new(access),
            expires_in: seconds("expires_in"),
            refresh_token: text("refresh_token").map(Secret::new),
            refresh_expires_in: seconds("refresh_expires_in"),
            scope: text("scope"),
            account_id: self.profile.account_id_field.and_then(text),
        })
    }

    fn bad(&self, message: &str) -> OAuthError {
        OAuthError::BadResponse {
            platform: self.config.platform,
            endpoint: format!("POST {}", self.token_path),
            message: message.to_owned(),
        }
    }
}

/// Instagram's code exchange: `{"data": [{access_token, user_id, permissions}]}` (older
/// responses are the flat object).
fn instagram_short_lived(body: &Value) -> Option<PlatformTokens> {
    let entry = match body.get("data") {
        Some(Value::Array(items)) => items.first()?,
        _ => body,
    };
    let access = entry.get("access_token")?.as_str()?.to_owned();
    let user_id = entry.get("user_id").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let permissions = entry.get("permissions").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    });
    Some(PlatformTokens {
        access_token: Secret::new(access),
        expires_in: None,
        refresh_token: None,
        refresh_expires_in: None,
        scope: permissions,
        account_id: user_id,
    })
}

/// The `(error, description)` a token endpoint's body names: TikTok and X
/// `{"error", "error_description"}`, Instagram `{"error_type", "code", "error_message"}`, the
/// Graph API `{"error": {"type", "code", "message"}}`.
fn oauth_error(body: &Value) -> Option<(String, String)> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    match body.get("error") {
        Some(Value::String(code)) if !code.is_empty() => {
            return Some((code.clone(), text(body.get("error_description"))));
        }
        Some(Value::Object(graph)) => {
            let kind = text(graph.get("type"));
            let code = graph.get("code").map(Value::to_string).unwrap_or_default();
            return Some((
                format!("{kind} {code}").trim().to_owned(),
                text(graph.get("message")),
            ));
        }
        _ => {}
    }
    let kind = body.get("error_type").and_then(Value::as_str)?;
    Some((kind.to_owned(), text(body.get("error_message"))))
}

/// Token endpoints: a body naming an OAuth error is handed back (not retried) so that the
/// caller can tell a refused code from refused credentials; rate limits and server errors
/// go through the usual retries.
fn classify_token(reply: &Reply) -> Verdict {
    let hints = Hints {
        token: "check the app's client id and secret",
        permission: "the app is not allowed this grant",
    };
    match reply.json() {
        Ok(body) => {
            let throttled_or_down = reply.status == 429 || reply.status >= 500;
            if reply.is_success() || (oauth_error(&body).is_some() && !throttled_or_down) {
                Verdict::Done(body)
            } else {
                Verdict::by_status(reply, format!("HTTP {}", reply.status), hints)
            }
        }
        Err(message) => Verdict::not_json(reply, message, hints),
    }
}

/// Splits an absolute URL into its origin (the HTTP layer's base) and its path and query.
fn split_url(platform: Platform, what: &str, url: &str) -> Result<(String, String), OAuthError> {
    let bad = || {
        OAuthError::Source(SourceError::Config {
            platform,
            message: format!("the OAuth {what} {url:?} is not an absolute http(s) URL"),
        })
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return Err(bad());
    }
    let origin = parsed.origin().ascii_serialization();
    let mut path = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        path.push('?');
        path.push_str(query);
    }
    Ok((origin, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(platform: Platform) -> OAuthClient {
        OAuthClient::new(OAuthClientConfig::new(
            platform,
            "client-1",
            Secret::new("very-secret"),
            "https://toker.example/v1/connect/x/callback",
        ))
        .unwrap()
    }

    #[test]
    fn authorize_urls_carry_the_platform_parameters() {
        let url = client(Platform::X).authorize_url("st4te", Some("ch4llenge"));
        assert!(
            url.starts_with("https://x.com/i/oauth2/authorize?"),
            "{url}"
        );
        for part in [
            "client_id=client-1",
            "response_type=code",
            "scope=tweet.read+users.read+like.read+offline.access",
            "state=st4te",
            "code_challenge=ch4llenge",
            "code_challenge_method=S256",
            "redirect_uri=https%3A%2F%2Ftoker.example%2Fv1%2Fconnect%2Fx%2Fcallback",
        ] {
            assert!(url.contains(part), "{part} missing from {url}");
        }
        let tiktok = client(Platform::TikTok).authorize_url("s", Some("c"));
        assert!(tiktok.contains("client_key=client-1") && tiktok.contains("code_challenge=c"));
        let instagram = client(Platform::Instagram).authorize_url("s", Some("c"));
        assert!(
            !instagram.contains("code_challenge"),
            "Instagram takes no PKCE: {instagram}"
        );
        assert!(!instagram.contains("very-secret") && !tiktok.contains("very-secret"));
    }

    #[test]
    fn each_platform_sends_its_own_client_fields() {
        let form = |platform| {
            client(platform)
                .client_form()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.expose()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            form(Platform::TikTok),
            ["client_key=client-1", "client_secret=very-secret"]
        );
        assert_eq!(
            form(Platform::X),
            ["client_id=client-1"],
            "X: Basic credentials"
        );
        assert_eq!(
            form(Platform::Instagram),
            ["client_id=client-1", "client_secret=very-secret"]
        );
        for platform in Platform::ALL {
            let profile = OAuthProfile::of(platform);
            assert_eq!(
                profile.graph_url.is_some(),
                profile.renewal == Renewal::LongLivedToken,
                "{platform}: a Graph API host exactly where tokens are long-lived"
            );
            assert_eq!(
                OAuthEndpoints::production(platform).token_url,
                profile.token_url
            );
        }
    }

    #[test]
    fn error_bodies_of_each_platform_are_recognised() {
        assert_eq!(
            oauth_error(&json!({"error": "invalid_grant", "error_description": "expired"})),
            Some(("invalid_grant".into(), "expired".into()))
        );
        assert_eq!(
            oauth_error(
                &json!({"error_type": "OAuthException", "code": 400, "error_message": "Invalid"})
            ),
            Some(("OAuthException".into(), "Invalid".into()))
        );
        assert_eq!(
            oauth_error(&json!({"error": {"type": "OAuthException", "code": 190, "message": "m"}})),
            Some(("OAuthException 190".into(), "m".into()))
        );
        assert_eq!(oauth_error(&json!({"access_token": "a"})), None);
    }

    #[test]
    fn instagram_code_exchange_reads_the_data_wrapper() {
        let tokens = instagram_short_lived(&json!({"data": [
            {"access_token": "IGAAshort", "user_id": 17_841_400_000_000_001_u64, "permissions": "instagram_business_basic"}
        ]}))
        .unwrap();
        assert_eq!(tokens.access_token.expose(), "IGAAshort");
        assert_eq!(tokens.account_id.as_deref(), Some("17841400000000001"));
        assert!(!format!("{tokens:?}").contains("IGAAshort"));
    }

    #[test]
    fn endpoints_split_into_origin_and_path() {
        let (origin, path) = split_url(
            Platform::TikTok,
            "token URL",
            "https://open.tiktokapis.com/v2/oauth/token/",
        )
        .unwrap();
        assert_eq!(origin, "https://open.tiktokapis.com");
        assert_eq!(path, "/v2/oauth/token/");
        let err = split_url(Platform::X, "token URL", "api.x.com/2/oauth2/token").unwrap_err();
        assert!(err.to_string().contains("token URL"), "{err}");
    }
}
