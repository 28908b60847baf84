//! What an API client needs to know: where the API is, the credentials, and its limits.

use std::fmt;
use std::time::Duration;

use toker_model::Platform;

use crate::error::SourceError;

/// A credential (token, client secret). Its `Debug` never shows the value, and it has no
/// `Display`: the only way to read it is [`Secret::expose`], used to build the request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, to put in a header or form body. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The environment variables an API client reads (see [`ApiConfig::from_env`]).
pub mod env {
    /// The TikTok user access token (`act.…`) for the Display API (the connected person's own profile).
    pub const TIKTOK_TOKEN: &str = "TOKER_TIKTOK_TOKEN";
    /// The TikTok Research API client key (client-credentials grant).
    pub const TIKTOK_CLIENT_KEY: &str = "TOKER_TIKTOK_CLIENT_KEY";
    /// The TikTok Research API client secret.
    pub const TIKTOK_CLIENT_SECRET: &str = "TOKER_TIKTOK_CLIENT_SECRET";
    /// The X OAuth 2.0 user access token.
    pub const X_TOKEN: &str = "TOKER_X_TOKEN";
    /// The Instagram user access token (Instagram Login).
    pub const INSTAGRAM_TOKEN: &str = "TOKER_INSTAGRAM_TOKEN";
    /// Per-request timeout in seconds, all platforms.
    pub const TIMEOUT: &str = "TOKER_API_TIMEOUT";
    /// The longest wait for a rate limit to reset, in seconds, all platforms.
    pub const MAX_WAIT: &str = "TOKER_API_MAX_WAIT";
    /// Retries after a server error, timeout or throttling, all platforms.
    pub const MAX_RETRIES: &str = "TOKER_API_MAX_RETRIES";

    /// The variable that overrides a platform's API base URL, e.g. `TOKER_X_API_URL`.
    #[must_use]
    pub fn api_url(platform: toker_model::Platform) -> String {
        format!("TOKER_{}_API_URL", platform.as_str().to_ascii_uppercase())
    }

    /// The variable that holds a platform's bearer token.
    #[must_use]
    pub const fn token(platform: toker_model::Platform) -> &'static str {
        match platform {
            toker_model::Platform::TikTok => TIKTOK_TOKEN,
            toker_model::Platform::Instagram => INSTAGRAM_TOKEN,
            toker_model::Platform::X => X_TOKEN,
        }
    }
}

/// Where a platform's API is and how a client talks to it.
///
/// `Debug` shows no credential. Build one with [`ApiConfig::new`] (defaults) or
/// [`ApiConfig::from_env`], then adjust the public fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The API base URL without a trailing slash, e.g. `https://api.x.com`. Instagram's
    /// includes the Graph API version (`https://graph.instagram.com/v23.0`).
    pub base_url: String,
    /// The bearer token: the person's user token (X, Instagram, TikTok Display API).
    pub token: Option<Secret>,
    /// TikTok Research API client key (the client token is fetched and renewed from it).
    pub client_key: Option<Secret>,
    /// TikTok Research API client secret.
    pub client_secret: Option<Secret>,
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// How long to wait for the TCP and TLS connection, within `timeout` (default 10 s).
    pub connect_timeout: Duration,
    /// Stop each list (liked, reposted, posts) after this many items; `None` = all.
    pub max_items: Option<u64>,
    /// Items asked for per page; `None` = the platform's maximum (Instagram: 25).
    pub page_size: Option<u32>,
    /// Retries after a server error, timeout, connection error or throttling (each kind
    /// counted on its own); also the most rate-limit waits per request.
    pub max_retries: u32,
    /// The longest the client waits for a rate limit to reset; a longer wait is an error
    /// that says when to retry.
    pub max_wait: Duration,
    /// The first backoff delay; it doubles per retry (with jitter), capped at a minute.
    pub backoff_base: Duration,
    /// The app's request budget shared with other clients and processes; `None` (the
    /// default) leaves rate limits to this client alone.
    pub budget: Option<super::SharedBudget>,
}

impl ApiConfig {
    /// The default per-request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default number of retries.
    pub const DEFAULT_MAX_RETRIES: u32 = 4;
    /// The default longest rate-limit wait: one X 15-minute window and a margin.
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(16 * 60);
    /// The default first backoff delay.
    pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(2);

    /// The defaults for `platform`, without credentials.
    #[must_use]
    pub fn new(platform: Platform) -> Self {
        ApiConfig {
            platform,
            base_url: default_base_url(platform).to_owned(),
            token: None,
            client_key: None,
            client_secret: None,
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            max_items: None,
            page_size: None,
            max_retries: Self::DEFAULT_MAX_RETRIES,
            max_wait: Self::DEFAULT_MAX_WAIT,
            backoff_base: Self::DEFAULT_BACKOFF_BASE,
            budget: None,
        }
    }

    /// The defaults for `platform` with credentials and overrides from the environment:
    /// the token variable ([`env::token`]), for TikTok also [`env::TIKTOK_CLIENT_KEY`] and
    /// [`env::TIKTOK_CLIENT_SECRET`], the base URL override ([`env::api_url`], e.g.
    /// `TOKER_X_API_URL`), and [`env::TIMEOUT`], [`env::MAX_WAIT`], [`env::MAX_RETRIES`].
    /// Empty variables count as unset.
    ///
    /// # Errors
    /// [`SourceError::Config`] naming a variable whose value is not usable.
    pub fn from_env(platform: Platform) -> Result<Self, SourceError> {
        Self::from_lookup(platform, |name| std::env::var(name).ok())
    }

    /// Like [`ApiConfig::from_env`], reading variables through `lookup` (for tests and
    /// config files).
    ///
    /// # Errors
    /// [`SourceError::Config`] naming a variable whose value is not usable.
    pub fn from_lookup(
        platform: Platform,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SourceError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = ApiConfig::new(platform);
        config.token = get(env::token(platform)).map(|t| Secret::new(t.trim()));
        if platform == Platform::TikTok {
            config.client_key = get(env::TIKTOK_CLIENT_KEY).map(|t| Secret::new(t.trim()));
            config.client_secret = get(env::TIKTOK_CLIENT_SECRET).map(|t| Secret::new(t.trim()));
        }
        let url_var = env::api_url(platform);
        if let Some(url) = get(&url_var) {
            config.base_url = url.trim().to_owned();
            config.check_base_url(&url_var)?;
        }
        let secs = |name: &str| -> Result<Option<u64>, SourceError> {
            get(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| SourceError::Config {
                        platform,
                        message: format!("{name}={v:?}: expected a whole number of seconds"),
                    })
                })
                .transpose()
        };
        if let Some(s) = secs(env::TIMEOUT)? {
            if s == 0 {
                return Err(SourceError::Config {
                    platform,
                    message: format!("{}=0: the timeout must be at least 1 second", env::TIMEOUT),
                });
            }
            config.timeout = Duration::from_secs(s);
        }
        if let Some(s) = secs(env::MAX_WAIT)? {
            config.max_wait = Duration::from_secs(s);
        }
        if let Some(n) = secs(env::MAX_RETRIES)? {
            config.max_retries = u32::try_from(n).unwrap_or(u32::MAX).min(20);
        }
        Ok(config)
    }

    /// The bearer token, or for none a [`SourceError::Config`] of `platform` saying to set
    /// its token variable ([`env::token`]) to `what`.
    pub(crate) fn require_token(
        &self,
        platform: Platform,
        what: &str,
    ) -> Result<Secret, SourceError> {
        self.token.clone().ok_or_else(|| SourceError::Config {
            platform,
            message: format!("no token: set {} to {what}", env::token(platform)),
        })
    }

    /// The configured base URL without a trailing slash.
    pub(crate) fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// Checks that the base URL is an absolute http(s) URL.
    pub(crate) fn check_base_url(&self, setting: &str) -> Result<(), SourceError> {
        let ok = reqwest::Url::parse(self.base())
            .map(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(SourceError::Config {
                platform: self.platform,
                message: format!(
                    "{setting}: {:?} is not an http(s) URL such as {}",
                    self.base_url,
                    default_base_url(self.platform)
                ),
            })
        }
    }

    /// The page size to ask for: the configured one or `default`, at most `max`, and at
    /// most the items still wanted (but never below the platform's `min`).
    pub(crate) fn page_size(&self, default: u32, min: u32, max: u32, wanted: Option<u64>) -> u32 {
        let size = self.page_size.unwrap_or(default).clamp(min, max);
        match wanted {
            Some(w) => size.min(u32::try_from(w).unwrap_or(u32::MAX)).max(min),
            None => size,
        }
    }
}

/// The production API base URL of a platform.
#[must_use]
pub const fn default_base_url(platform: Platform) -> &'static str {
    match platform {
        Platform::TikTok => "https://open.tiktokapis.com",
        Platform::X => "https://api.x.com",
        Platform::Instagram => "https://graph.instagram.com/v23.0",
    }
}

#[cfg(test)]
mod tests {
    use toker_testkit::env_lookup as lookup;

    use super::*;

    #[test]
    fn debug_never_shows_credentials() {
        let config = ApiConfig::from_lookup(
            Platform::TikTok,
            lookup(&[
                ("TOKER_TIKTOK_TOKEN", "act.very-secret"),
                ("TOKER_TIKTOK_CLIENT_KEY", "key-secret"),
                ("TOKER_TIKTOK_CLIENT_SECRET", "secret-secret"),
            ]),
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("key-secret"), "{shown}");
        assert!(!shown.contains("secret-secret"), "{shown}");
        assert!(shown.contains("Secret(***)"), "{shown}");
        assert_eq!(config.token.unwrap().expose(), "act.very-secret");
    }

    #[test]
    fn from_lookup_reads_overrides_and_ignores_empty_values() {
        let config = ApiConfig::from_lookup(
            Platform::X,
            lookup(&[
                ("TOKER_X_TOKEN", " "),
                ("TOKER_X_API_URL", "http://127.0.0.1:9/"),
                ("TOKER_API_TIMEOUT", "5"),
                ("TOKER_API_MAX_WAIT", "60"),
                ("TOKER_API_MAX_RETRIES", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(config.token, None);
        assert_eq!(config.base(), "http://127.0.0.1:9");
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.max_wait, Duration::from_secs(60));
        assert_eq!(config.max_retries, 2);
        assert_eq!(config.client_key, None, "client keys are TikTok only");
    }

    #[test]
    fn from_lookup_names_the_bad_variable() {
        let err = ApiConfig::from_lookup(Platform::X, lookup(&[("TOKER_API_TIMEOUT", "soon")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("TOKER_API_TIMEOUT"), "{err}");
        let err = ApiConfig::from_lookup(
            Platform::Instagram,
            lookup(&[("TOKER_INSTAGRAM_API_URL", "graph.instagram.com")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("TOKER_INSTAGRAM_API_URL"), "{err}");
    }

    #[test]
    fn page_size_respects_platform_bounds_and_wanted_items() {
        let mut config = ApiConfig::new(Platform::X);
        assert_eq!(config.page_size(100, 10, 100, None), 100);
        assert_eq!(config.page_size(100, 10, 100, Some(37)), 37);
        assert_eq!(config.page_size(100, 10, 100, Some(3)), 10);
        config.page_size = Some(500);
        assert_eq!(config.page_size(100, 10, 100, None), 100);
    }
}
