//! "Connect your account": how people sign in to Toker. A person signs in with TikTok, X
//! or Instagram (OAuth 2.0 authorization code, PKCE where the platform takes it) or uploads
//! their data export; Toker fetches their data, validates it, stores it, and the person
//! becomes a principal with a session and the per-owner rules of a member key.
//!
//! - [`ConnectConfig`]: the server key, the platforms' app credentials and endpoints, the
//!   public URL the platforms redirect to, session and upload limits. Read from the
//!   environment by [`ConnectConfig::from_env`] (what `toker serve` does).
//! - A platform without app credentials is disabled, and `/readyz` says so; without
//!   `TOKER_SECRET_KEY` every connect route is disabled, and credentials without the key
//!   stop the server from starting.
//! - Platform tokens are kept only to refresh the profile later, sealed with the key
//!   ([`toker_collect::tokens`]); tokens, codes, states and session tokens are never logged or returned
//!   (a bearer session token is returned once, to the client that asked for one).

pub mod budget;
pub(crate) mod crypto;
pub(crate) mod fetch;
pub(crate) mod flow;
pub(crate) mod session;
pub(crate) mod upload;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use toker_model::Platform;
use toker_sources::ImportLimits;
use toker_sources::http::{
    ApiConfig, Secret, SharedBudget, Sleeper, default_base_url, env as api_env,
};
use toker_sources::oauth::{
    OAuthClient, OAuthClientConfig, OAuthEndpoints, OAuthProfile, TokenReach,
};
use utoipa::ToSchema;

use crate::ApiError;
use crate::pool::StorePool;
pub use session::{SESSION_COOKIE, SESSION_PREFIX};
use toker_collect::tokens::TokenCipher as Cipher;
pub use toker_collect::tokens::{SECRET_KEY_ENV, SecretKey};

/// The environment variables of the connect flow (besides the data API's own, e.g.
/// `TOKER_X_API_URL` and TikTok's Research API `TOKER_TIKTOK_CLIENT_KEY`/`_SECRET`).
pub mod env {
    use toker_model::Platform;

    /// This server's public base URL, as the platforms redirect browsers to it
    /// (default `http://` + the bind address).
    pub const PUBLIC_URL: &str = "TOKER_PUBLIC_URL";
    /// The largest data export upload, in bytes (default 256 MiB).
    pub const EXPORT_LIMIT: &str = "TOKER_CONNECT_EXPORT_LIMIT";
    /// The most bytes an uploaded export may unpack to (default 1 GiB).
    pub const EXPORT_MAX_UNPACKED: &str = "TOKER_CONNECT_EXPORT_MAX_UNPACKED";
    /// The highest compression ratio of an uploaded zip or a file in it (default 100).
    pub const EXPORT_MAX_RATIO: &str = "TOKER_CONNECT_EXPORT_MAX_RATIO";
    /// The most items read from one list of an uploaded export (default 100,000).
    pub const EXPORT_MAX_ITEMS: &str = "TOKER_CONNECT_EXPORT_MAX_ITEMS";
    /// `false` drops the `Secure` attribute of cookies, for plain-http development only.
    pub const COOKIE_SECURE: &str = "TOKER_COOKIE_SECURE";
    /// Connect starts and callbacks per minute per client address (default 30; 0: none).
    pub const RATE_LIMIT: &str = "TOKER_CONNECT_RATE_LIMIT";
    /// Export uploads per minute per client address (default 10; 0: none).
    pub const UPLOAD_RATE_LIMIT: &str = "TOKER_CONNECT_UPLOAD_RATE_LIMIT";
    /// Export uploads received at once, server-wide (default 4).
    pub const MAX_UPLOADS: &str = "TOKER_CONNECT_MAX_UPLOADS";
    /// Bytes all uploads in progress may hold in temporary files together (default 512 MiB).
    pub const UPLOAD_SPOOL: &str = "TOKER_CONNECT_UPLOAD_SPOOL";

    /// `TOKER_CONNECT_<PLATFORM>_<NAME>`, e.g. `TOKER_CONNECT_X_CLIENT_ID`.
    #[must_use]
    pub fn app(platform: Platform, name: &str) -> String {
        format!(
            "TOKER_CONNECT_{}_{name}",
            platform.as_str().to_ascii_uppercase()
        )
    }
}

/// The import limits of uploaded exports: the library's, with at most 1 GiB unpacked (an
/// anonymous upload of 256 MiB may not make the server read 25 GiB at a ratio of 100).
#[must_use]
pub fn default_import_limits() -> ImportLimits {
    let mut limits = ImportLimits::default();
    limits.archive.max_unpacked_bytes = 1024 * 1024 * 1024;
    limits
}

/// How long a started connect may take before its `state` expires.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);
/// The default session lifetime.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The default largest export upload.
pub const DEFAULT_EXPORT_LIMIT: u64 = 256 * 1024 * 1024;
/// The default connect starts and callbacks per minute per client address.
pub const DEFAULT_CONNECT_RATE_LIMIT: u32 = 30;
/// The default export uploads per minute per client address.
pub const DEFAULT_UPLOAD_RATE_LIMIT: u32 = 10;
/// The default export uploads received at once.
pub const DEFAULT_MAX_UPLOADS: usize = 4;
/// The default bytes all uploads in progress may spool together.
pub const DEFAULT_UPLOAD_SPOOL: u64 = 512 * 1024 * 1024;

/// One platform's app registration and endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformApp {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The app's client id (TikTok: client key).
    pub client_id: String,
    /// The app's client secret (`TOKER_CONNECT_<PLATFORM>_CLIENT_SECRET`), never printed.
    pub client_secret: Secret,
    /// The authorize, token (and Instagram Graph) endpoints.
    pub endpoints: OAuthEndpoints,
    /// The data API base URL the person's token is used against.
    pub api_base_url: String,
    /// TikTok only: Research API client key and secret. TikTok's Login Kit token reads the
    /// person's own counts only (Display API); their liked videos need the Research API.
    pub research: Option<(Secret, Secret)>,
}

impl PlatformApp {
    /// An app with the platform's production endpoints.
    #[must_use]
    pub fn new(platform: Platform, client_id: impl Into<String>, client_secret: Secret) -> Self {
        PlatformApp {
            platform,
            client_id: client_id.into(),
            client_secret,
            endpoints: OAuthEndpoints::production(platform),
            api_base_url: default_base_url(platform).to_owned(),
            research: None,
        }
    }
}

/// The connect flow's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectConfig {
    /// The key platform tokens are sealed with (`TOKER_SECRET_KEY`); `None` disables every
    /// connect route.
    pub secret_key: Option<SecretKey>,
    /// This server's public base URL (`TOKER_PUBLIC_URL`); the redirect URI registered
    /// with each platform is `<public_url>/v1/connect/<platform>/callback`. `None`:
    /// `http://` + the bind address.
    pub public_url: Option<String>,
    /// The platforms with app credentials; the others are disabled.
    pub apps: Vec<PlatformApp>,
    /// The largest data export upload, in bytes.
    pub export_limit: u64,
    /// Bounds on reading an uploaded export: unpacked size, compression ratio, items per
    /// list, raw JSON kept (a zip bomb is refused before it is decompressed).
    pub import_limits: ImportLimits,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Whether cookies carry `Secure` (only plain-http development turns it off).
    pub cookie_secure: bool,
    /// Per-request timeout towards the platforms.
    pub platform_timeout: Duration,
    /// How long a started connect may take before its state expires.
    pub state_ttl: Duration,
    /// Connect starts and callbacks (`GET /v1/connect/{platform}`, `…/callback`) per
    /// minute per client address (a token bucket); `None` disables the limit. Beyond it:
    /// 429 with `Retry-After`.
    pub rate_limit_per_minute: Option<u32>,
    /// Export uploads per minute per client address; `None` disables the limit.
    pub upload_rate_limit_per_minute: Option<u32>,
    /// Export uploads received at once, server-wide; one more gets 503 with `Retry-After`.
    pub max_concurrent_uploads: usize,
    /// Bytes the uploads in progress may hold in temporary files together; an upload that
    /// would pass it gets 503 with `Retry-After`. At least [`ConnectConfig::export_limit`].
    pub upload_spool_limit: u64,
    /// Each platform app's request budget, shared by every process on the database, by
    /// app name ([`budget::SETTINGS`]; default [`budget::default_budgets`]).
    pub budgets: BTreeMap<String, Vec<toker_store::BudgetRule>>,
}

impl Default for ConnectConfig {
    /// Disabled: no key, no apps.
    fn default() -> Self {
        ConnectConfig {
            secret_key: None,
            public_url: None,
            apps: Vec::new(),
            export_limit: DEFAULT_EXPORT_LIMIT,
            import_limits: default_import_limits(),
            session_ttl: DEFAULT_SESSION_TTL,
            cookie_secure: true,
            platform_timeout: Duration::from_secs(20),
            state_ttl: STATE_TTL,
            rate_limit_per_minute: Some(DEFAULT_CONNECT_RATE_LIMIT),
            upload_rate_limit_per_minute: Some(DEFAULT_UPLOAD_RATE_LIMIT),
            max_concurrent_uploads: DEFAULT_MAX_UPLOADS,
            upload_spool_limit: DEFAULT_UPLOAD_SPOOL,
            budgets: budget::default_budgets(),
        }
    }
}

impl ConnectConfig {
    /// Reads the settings from the environment: [`SECRET_KEY_ENV`], [`env::PUBLIC_URL`],
    /// for each platform [`env::app`] `CLIENT_ID` and `CLIENT_SECRET` (both, or the
    /// platform stays disabled) and the optional `AUTHORIZE_URL`, `TOKEN_URL` (and
    /// Instagram's `GRAPH_URL`) overrides, the data API's `TOKER_<PLATFORM>_API_URL`, TikTok's
    /// Research API credentials, [`env::EXPORT_LIMIT`], [`env::COOKIE_SECURE`], and the
    /// per-address and upload limits [`env::RATE_LIMIT`], [`env::UPLOAD_RATE_LIMIT`],
    /// [`env::MAX_UPLOADS`] and [`env::UPLOAD_SPOOL`], and the apps' request budgets
    /// ([`budget::SETTINGS`]).
    ///
    /// # Errors
    /// [`ApiError::Config`] naming the variable whose value is unusable (never the value).
    pub fn from_env() -> Result<Self, ApiError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ConnectConfig::from_env`], reading variables through `lookup`.
    ///
    /// # Errors
    /// As [`ConnectConfig::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = ConnectConfig::default();
        if let Some(key) = get(SECRET_KEY_ENV) {
            config.secret_key =
                Some(
                    SecretKey::from_hex(&key).map_err(|message| ApiError::Config {
                        field: SECRET_KEY_ENV,
                        message,
                    })?,
                );
        }
        config.public_url = get(env::PUBLIC_URL).map(|u| u.trim().to_owned());
        if let Some(limit) = get(env::EXPORT_LIMIT) {
            config.export_limit = limit.trim().parse().map_err(|_| ApiError::Config {
                field: env::EXPORT_LIMIT,
                message: "expected a whole number of bytes".to_owned(),
            })?;
        }
        let number = |name: &'static str| -> Result<Option<u64>, ApiError> {
            get(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| ApiError::Config {
                        field: name,
                        message: "expected a whole number".to_owned(),
                    })
                })
                .transpose()
        };
        let per_minute = |name: &'static str, default: Option<u32>| {
            Ok::<_, ApiError>(match number(name)? {
                None => default,
                Some(0) => None,
                Some(n) => Some(u32::try_from(n).map_err(|_| ApiError::Config {
                    field: name,
                    message: format!("at most {} per minute", u32::MAX),
                })?),
            })
        };
        config.rate_limit_per_minute = per_minute(env::RATE_LIMIT, config.rate_limit_per_minute)?;
        config.upload_rate_limit_per_minute =
            per_minute(env::UPLOAD_RATE_LIMIT, config.upload_rate_limit_per_minute)?;
        if let Some(n) = number(env::MAX_UPLOADS)? {
            config.max_concurrent_uploads = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(env::UPLOAD_SPOOL)? {
            config.upload_spool_limit = n;
        }
        let at_least_one = |name: &'static str| -> Result<Option<u64>, ApiError> {
            match number(name)? {
                Some(0) => Err(ApiError::Config {
                    field: name,
                    message: "must be at least 1".to_owned(),
                }),
                other => Ok(other),
            }
        };
        if let Some(bytes) = at_least_one(env::EXPORT_MAX_UNPACKED)? {
            config.import_limits.archive.max_unpacked_bytes = bytes;
        }
        if let Some(ratio) = at_least_one(env::EXPORT_MAX_RATIO)? {
            config.import_limits.archive.max_ratio = ratio;
        }
        if let Some(items) = at_least_one(env::EXPORT_MAX_ITEMS)? {
            config.import_limits.max_items_per_list = usize::try_from(items).unwrap_or(usize::MAX);
        }
        if let Some(secure) = get(env::COOKIE_SECURE) {
            config.cookie_secure = !matches!(
                secure.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            );
        }
        budget::from_lookup(get, &mut config.budgets)?;
        for platform in Platform::ALL {
            let var = |name: &str| get(&env::app(platform, name)).map(|v| v.trim().to_owned());
            let (Some(id), Some(secret)) = (var("CLIENT_ID"), var("CLIENT_SECRET")) else {
                continue;
            };
            let mut app = PlatformApp::new(platform, id, Secret::new(secret));
            if let Some(url) = var("AUTHORIZE_URL") {
                app.endpoints.authorize_url = url;
            }
            if let Some(url) = var("TOKEN_URL") {
                app.endpoints.token_url = url;
            }
            if let Some(url) = var("GRAPH_URL") {
                app.endpoints.graph_url = Some(url);
            }
            if let Some(url) = get(&api_env::api_url(platform)) {
                app.api_base_url = url.trim().to_owned();
            }
            // The lists of a token that reads only the account come from TikTok's Research
            // API, with this server's own credentials.
            if OAuthProfile::of(platform).token_reach == TokenReach::AccountOnly {
                let research = (
                    get(api_env::TIKTOK_CLIENT_KEY),
                    get(api_env::TIKTOK_CLIENT_SECRET),
                );
                if let (Some(key), Some(secret)) = research {
                    app.research = Some((Secret::new(key.trim()), Secret::new(secret.trim())));
                }
            }
            config.apps.push(app);
        }
        Ok(config)
    }

    /// Checks the settings: app credentials need the key (the server refuses to start
    /// rather than run connect routes that could not keep tokens safely), every URL is
    /// absolute http(s), limits are positive.
    ///
    /// # Errors
    /// [`ApiError::Config`] naming the setting.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !self.apps.is_empty() && self.secret_key.is_none() {
            let platforms: Vec<&str> = self.apps.iter().map(|a| a.platform.as_str()).collect();
            return Err(ApiError::Config {
                field: SECRET_KEY_ENV,
                message: format!(
                    "connect credentials are set for {} but no key to encrypt the platform tokens: set {SECRET_KEY_ENV} to 64 hex digits (`openssl rand -hex 32`), or unset the TOKER_CONNECT_* variables",
                    platforms.join(", ")
                ),
            });
        }
        if let Some(url) = &self.public_url {
            check_url("public_url", url)?;
        }
        for app in &self.apps {
            check_url("connect authorize URL", &app.endpoints.authorize_url)?;
            check_url("connect token URL", &app.endpoints.token_url)?;
            check_url("data API base URL", &app.api_base_url)?;
            if let Some(graph) = &app.endpoints.graph_url {
                check_url("connect Graph URL", graph)?;
            }
        }
        if self.export_limit == 0 {
            return Err(ApiError::Config {
                field: "export_limit",
                message: "must be at least 1 byte".to_owned(),
            });
        }
        if self.max_concurrent_uploads == 0 {
            return Err(ApiError::Config {
                field: env::MAX_UPLOADS,
                message: "must be at least 1 upload".to_owned(),
            });
        }
        if self.upload_spool_limit < self.export_limit {
            return Err(ApiError::Config {
                field: env::UPLOAD_SPOOL,
                message: format!(
                    "the upload spool budget ({} bytes) must be at least the export limit ({} bytes), or no export of the largest size could be received",
                    self.upload_spool_limit, self.export_limit
                ),
            });
        }
        if self.rate_limit_per_minute == Some(0) || self.upload_rate_limit_per_minute == Some(0) {
            return Err(ApiError::Config {
                field: env::RATE_LIMIT,
                message: "connect rate limits must be at least 1 per minute (or unset)".to_owned(),
            });
        }
        if self.state_ttl.is_zero() {
            return Err(ApiError::Config {
                field: "state_ttl",
                message: "must be longer than zero".to_owned(),
            });
        }
        if self.session_ttl.is_zero() || self.platform_timeout.is_zero() {
            return Err(ApiError::Config {
                field: "session_ttl",
                message: "session and platform timeouts must be longer than zero".to_owned(),
            });
        }
        Ok(())
    }
}

fn check_url(field: &'static str, url: &str) -> Result<(), ApiError> {
    let ok = url.starts_with("http://") || url.starts_with("https://");
    if ok && url.len() > "https://".len() {
        Ok(())
    } else {
        Err(ApiError::Config {
            field,
            message: format!("{url:?} is not an absolute http(s) URL"),
        })
    }
}

/// The request body limits: JSON bodies, and data export uploads (a route of their own).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    body: usize,
    export: usize,
}

impl BodyLimits {
    pub(crate) fn new(body: usize, export: u64) -> Self {
        BodyLimits {
            body,
            export: usize::try_from(export).unwrap_or(usize::MAX),
        }
    }

    /// The largest body any route takes (what the outer stream limit enforces).
    pub(crate) fn ceiling(self) -> usize {
        self.body.max(self.export)
    }
}

/// Answers 413 at once when a request declares (`Content-Length`) more than its route
/// takes: the export upload routes (the API's and the page's) their export limit, every
/// other route the body limit.
pub(crate) async fn limit_body(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let upload = (path.starts_with("/v1/connect/") && path.ends_with("/export"))
        || path.starts_with("/upload/");
    let limit = if upload { limits.export } else { limits.body };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return crate::problem::Problem::new(
            crate::problem::ProblemKind::PayloadTooLarge,
            format!("the request body exceeds this route's limit of {limit} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// What `/readyz` says about the connect flow.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ConnectStatus {
    /// Platforms a person can connect with OAuth.
    pub(crate) enabled: Vec<String>,
    /// Platforms that cannot be connected, with why.
    pub(crate) disabled: BTreeMap<String, String>,
    /// Whether data exports can be uploaded (needs the key).
    pub(crate) export_upload: bool,
}

/// One enabled platform at run time.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) oauth: OAuthClient,
    pub(crate) settings: PlatformApp,
}

/// The connect flow at run time: the cipher, the enabled platforms, and the settings.
pub(crate) struct Connector {
    cipher: Option<Cipher>,
    apps: BTreeMap<Platform, App>,
    disabled: BTreeMap<Platform, String>,
    config: ConnectConfig,
    /// The apps' budgets shared through the database, once there is one.
    budget: Option<Arc<budget::StoreBudget>>,
    /// What the platform clients wait on (rate limits, backoff).
    sleeper: Arc<dyn Sleeper>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("cipher", &self.cipher)
            .field("apps", &self.apps)
            .field("disabled", &self.disabled)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// The runtime of `config`; `bind` gives the public URL when none is configured.
    /// A platform whose OAuth client cannot be built is disabled with the reason.
    pub(crate) fn new(config: &ConnectConfig, bind: &str, sleeper: Arc<dyn Sleeper>) -> Self {
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        let cipher = config.secret_key.as_ref().map(Cipher::new);
        let mut apps = BTreeMap::new();
        let mut disabled = BTreeMap::new();
        for platform in Platform::ALL {
            let Some(settings) = config.apps.iter().find(|a| a.platform == platform) else {
                disabled.insert(
                    platform,
                    format!(
                        "no app credentials: set {} and {}",
                        env::app(platform, "CLIENT_ID"),
                        env::app(platform, "CLIENT_SECRET")
                    ),
                );
                continue;
            };
            if cipher.is_none() {
                disabled.insert(platform, format!("no {SECRET_KEY_ENV}"));
                continue;
            }
            let mut oauth = OAuthClientConfig::new(
                platform,
                settings.client_id.clone(),
                settings.client_secret.clone(),
                format!("{public_url}/v1/connect/{platform}/callback"),
            );
            oauth.endpoints = settings.endpoints.clone();
            oauth.timeout = config.platform_timeout;
            match OAuthClient::new(oauth) {
                Ok(client) => {
                    apps.insert(
                        platform,
                        App {
                            oauth: client,
                            settings: settings.clone(),
                        },
                    );
                }
                Err(e) => {
                    disabled.insert(platform, e.to_string());
                }
            }
        }
        Connector {
            cipher,
            apps,
            disabled,
            config: config.clone(),
            budget: None,
            sleeper,
        }
    }

    /// What the platform clients wait on (rate limits, backoff).
    pub(crate) fn sleeper(&self) -> Arc<dyn Sleeper> {
        Arc::clone(&self.sleeper)
    }

    /// The cipher, when the key is set (every connect route needs it).
    pub(crate) fn cipher(&self) -> Option<&Cipher> {
        self.cipher.as_ref()
    }

    /// The enabled platform's runtime, or why it is disabled.
    pub(crate) fn app(&self, platform: Platform) -> Result<&App, String> {
        self.apps.get(&platform).ok_or_else(|| {
            self.disabled
                .get(&platform)
                .cloned()
                .unwrap_or_else(|| "not configured".to_owned())
        })
    }

    /// The settings.
    pub(crate) fn config(&self) -> &ConnectConfig {
        &self.config
    }

    /// Whether cookies must be sent only over HTTPS.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.config.cookie_secure
    }

    /// The data API configuration for a person's token on `app`'s platform (the caller
    /// puts the token in).
    pub(crate) fn api_config(&self, app: &App) -> ApiConfig {
        let mut api = ApiConfig::new(app.settings.platform);
        api.base_url.clone_from(&app.settings.api_base_url);
        api.timeout = self.config.platform_timeout;
        api.budget = self.budget(app.settings.platform.as_str());
        api
    }

    /// Shares the apps' request budgets through `pool`'s database.
    pub(crate) fn with_budget(mut self, pool: StorePool) -> Self {
        self.budget = Some(budget::StoreBudget::new(pool, self.config.budgets.clone()));
        self
    }

    /// The shared budget of `app` (a [`budget::SETTINGS`] name), once there is a database.
    pub(crate) fn budget(&self, app: &str) -> Option<SharedBudget> {
        self.budget.as_ref().map(|b| b.shared(app))
    }

    /// What `/readyz` reports.
    pub(crate) fn status(&self) -> ConnectStatus {
        ConnectStatus {
            enabled: self.apps.keys().map(|p| p.as_str().to_owned()).collect(),
            disabled: self
                .disabled
                .iter()
                .map(|(p, why)| (p.as_str().to_owned(), why.clone()))
                .collect(),
            export_upload: self.cipher.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use toker_sources::http::TokioSleeper;
    use toker_testkit::env_lookup as lookup;

    use super::*;

    #[test]
    fn export_import_limits_come_from_the_environment_and_refuse_zero() {
        let config = ConnectConfig::from_lookup(lookup(&[
            (env::EXPORT_MAX_UNPACKED, "1000000"),
            (env::EXPORT_MAX_RATIO, "20"),
            (env::EXPORT_MAX_ITEMS, "500"),
        ]))
        .unwrap();
        assert_eq!(config.import_limits.archive.max_unpacked_bytes, 1_000_000);
        assert_eq!(config.import_limits.archive.max_ratio, 20);
        assert_eq!(config.import_limits.max_items_per_list, 500);
        let defaults = ConnectConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(defaults.import_limits, default_import_limits());
        assert_eq!(
            defaults.import_limits.archive.max_unpacked_bytes,
            1024 * 1024 * 1024
        );
        let err = ConnectConfig::from_lookup(lookup(&[(env::EXPORT_MAX_RATIO, "0")])).unwrap_err();
        assert!(err.to_string().contains(env::EXPORT_MAX_RATIO), "{err}");
    }

    #[test]
    fn credentials_without_the_key_refuse_to_start() {
        let config = ConnectConfig::from_lookup(lookup(&[
            ("TOKER_CONNECT_X_CLIENT_ID", "id"),
            ("TOKER_CONNECT_X_CLIENT_SECRET", "shh-secret"),
        ]))
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(SECRET_KEY_ENV) && err.contains('x'), "{err}");
        assert!(!err.contains("shh-secret"), "{err}");
    }

    #[test]
    fn platforms_without_credentials_are_disabled_and_say_why() {
        let key = "ab".repeat(31) + "cd";
        let config = ConnectConfig::from_lookup(lookup(&[
            (SECRET_KEY_ENV, &key),
            ("TOKER_CONNECT_X_CLIENT_ID", "id"),
            ("TOKER_CONNECT_X_CLIENT_SECRET", "secret"),
            ("TOKER_CONNECT_TIKTOK_CLIENT_ID", "only-an-id"),
            ("TOKER_X_API_URL", "http://127.0.0.1:9"),
            (env::PUBLIC_URL, "https://toker.example/"),
        ]))
        .unwrap();
        config.validate().unwrap();
        let connector = Connector::new(&config, "127.0.0.1:8080", Arc::new(TokioSleeper));
        let status = connector.status();
        assert_eq!(status.enabled, vec!["x"]);
        assert!(status.disabled["tiktok"].contains("TOKER_CONNECT_TIKTOK_CLIENT_SECRET"));
        assert!(status.export_upload);
        let app = connector.app(Platform::X).unwrap();
        assert_eq!(app.settings.api_base_url, "http://127.0.0.1:9");
        assert_eq!(
            app.oauth.config().redirect_uri,
            "https://toker.example/v1/connect/x/callback"
        );
        assert!(connector.app(Platform::Instagram).is_err());
    }

    #[test]
    fn the_anonymous_limits_are_read_from_the_environment_and_checked() {
        let config = ConnectConfig::from_lookup(lookup(&[
            (env::RATE_LIMIT, "5"),
            (env::UPLOAD_RATE_LIMIT, "0"),
            (env::MAX_UPLOADS, "2"),
            (env::UPLOAD_SPOOL, "300000000"),
        ]))
        .unwrap();
        assert_eq!(config.rate_limit_per_minute, Some(5));
        assert_eq!(config.upload_rate_limit_per_minute, None, "0 turns it off");
        assert_eq!(config.max_concurrent_uploads, 2);
        assert_eq!(config.upload_spool_limit, 300_000_000);
        config.validate().unwrap();
        let defaults = ConnectConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(
            defaults.rate_limit_per_minute,
            Some(DEFAULT_CONNECT_RATE_LIMIT)
        );
        assert_eq!(defaults.max_concurrent_uploads, DEFAULT_MAX_UPLOADS);
        let err = ConnectConfig::from_lookup(lookup(&[(env::MAX_UPLOADS, "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(env::MAX_UPLOADS), "{err}");
        let err = ConnectConfig {
            upload_spool_limit: 10,
            ..ConnectConfig::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(env::UPLOAD_SPOOL) && err.contains("export limit"),
            "{err}"
        );
        let err = ConnectConfig {
            max_concurrent_uploads: 0,
            ..ConnectConfig::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains(env::MAX_UPLOADS), "{err}");
    }

    #[test]
    fn a_bad_key_names_the_variable_not_the_value() {
        let err = ConnectConfig::from_lookup(lookup(&[(SECRET_KEY_ENV, "not-hex-at-all")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(SECRET_KEY_ENV) && !err.contains("not-hex"),
            "{err}"
        );
        let none = ConnectConfig::from_lookup(lookup(&[])).unwrap();
        let status = Connector::new(&none, "127.0.0.1:1", Arc::new(TokioSleeper)).status();
        assert!(status.enabled.is_empty() && !status.export_upload);
    }
}
