//! Reading a connected person's data with their own token, through toker-sources' API
//! clients.
//!
//! X and Instagram read everything with the person's token. TikTok's Login Kit token opens
//! only the Display API (who the person is and their counts); their liked and reposted
//! videos come from the Research API, when this server has Research credentials, for the
//! username the Display API names.

use std::time::Duration;

use toker_collect::account_client;
use toker_model::Platform;
use toker_sources::http::{ApiClient, ApiConfig, Secret, collect};
use toker_sources::oauth::{OAuthProfile, TokenReach};
use toker_sources::{RawProfile, SourceError, UserRef};

use super::{App, Connector};
use crate::problem::{Problem, ProblemKind};

/// Interactive requests wait at most this long for a platform's rate limit to reset.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// The person's profile as the platform's API gives it to their token.
pub(crate) async fn fetch_profile(
    connector: &Connector,
    app: &App,
    token: &Secret,
) -> Result<RawProfile, Problem> {
    let platform = app.settings.platform;
    let (client, user) = client_for(connector, app, token).await?;
    collect(client.as_ref(), &user, None)
        .await
        .map_err(|e| unusable(platform, &e))
}

/// The API client that reads the person's data with their token, and the person as that
/// client names them ([`account_client`]).
pub(crate) async fn client_for(
    connector: &Connector,
    app: &App,
    token: &Secret,
) -> Result<(Box<dyn ApiClient>, UserRef), Problem> {
    let (mut api, research) = api_settings(connector, app, Patience::Interactive);
    api.token = Some(token.clone());
    account_client(api, research, connector.sleeper())
        .await
        .map_err(|e| unusable(app.settings.platform, &e))
}

/// How long a read may wait on a platform's rate limit and retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Patience {
    /// A person waits on the answer: short waits, few retries.
    Interactive,
    /// A queued job: the API client's own (longer) bounds.
    Background,
}

/// The data API's settings for a person's token on `app`'s platform (without the token),
/// and TikTok's Research API settings when this server has Research credentials.
pub(crate) fn api_settings(
    connector: &Connector,
    app: &App,
    patience: Patience,
) -> (ApiConfig, Option<ApiConfig>) {
    let platform = app.settings.platform;
    let bounded = |api: ApiConfig| match patience {
        Patience::Interactive => interactive(api),
        Patience::Background => api,
    };
    let api = bounded(connector.api_config(app));
    let research = app
        .settings
        .research
        .as_ref()
        .filter(|_| OAuthProfile::of(platform).token_reach == TokenReach::AccountOnly)
        .map(|(key, secret)| {
            // TikTok: the Display API says who the person is; the Research API reads their
            // lists.
            let mut research = bounded(ApiConfig::new(platform));
            research.base_url.clone_from(&app.settings.api_base_url);
            research.client_key = Some(key.clone());
            research.client_secret = Some(secret.clone());
            research.timeout = connector.config().platform_timeout;
            research.budget = connector.budget(super::budget::TIKTOK_RESEARCH);
            research
        });
    (api, research)
}

/// Bounds fit for a person waiting on an answer.
fn interactive(mut api: ApiConfig) -> ApiConfig {
    api.max_wait = MAX_WAIT;
    api.max_retries = api.max_retries.min(2);
    api
}

/// A platform's failure as the answer to the person: 502, or 503 with `Retry-After` for a
/// rate limit. The message names the platform and endpoint, never a token.
pub(crate) fn unusable(platform: Platform, error: &SourceError) -> Problem {
    tracing::warn!(%platform, error = %error, "reading a connected account failed");
    match error {
        SourceError::RateLimited { .. } | SourceError::QuotaExceeded { .. } => {
            let retry_after = match error {
                SourceError::RateLimited { retry_after, .. } => *retry_after,
                _ => None,
            };
            let problem = Problem::new(
                ProblemKind::Unavailable,
                format!(
                    "{} is rate-limiting Toker right now ({error}); nothing was stored: try again later",
                    platform.display_name()
                ),
            );
            match retry_after {
                Some(wait) => problem.with_retry_after(wait.as_secs().max(1)),
                None => problem.with_retry_after(60),
            }
        }
        SourceError::TokenRejected { .. } | SourceError::PermissionDenied { .. } => Problem::new(
            ProblemKind::PlatformUnavailable,
            format!(
                "{} refused to show your data to Toker ({error}); nothing was stored: connect again and grant every permission asked, or upload your data export",
                platform.display_name()
            ),
        ),
        _ => Problem::new(
            ProblemKind::PlatformUnavailable,
            format!(
                "Toker could not read your data from {} ({error}); nothing was stored: try again later",
                platform.display_name()
            ),
        ),
    }
}
