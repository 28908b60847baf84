//! Refreshing a connected account with the tokens its person granted: open the sealed
//! tokens, renew the access when it has expired (storing the renewed tokens sealed), read
//! the person through the platform's API client and collect them incrementally — resuming
//! a refresh that was cut short from its checkpoints, or reading only what is new since
//! the last complete run — writing the profile only if it changed.

use std::sync::Arc;

use chrono::Utc;
use toker_model::{Platform, ValidationRules};
use toker_sources::http::{ApiClient, ApiConfig, Secret, Sleeper, TokioSleeper};
use toker_sources::oauth::{OAuthClient, OAuthError, PlatformTokens};
use toker_sources::{SourceError, UserRef, api_client};
use toker_store::{AccountMethod, AccountRecord, Store, Written};

use crate::api::{CollectRequest, NoProgress, Start, collect_api, subject_of};
use crate::error::CollectError;
use crate::report::CollectReport;
use crate::tokens::{TokenCipher, TokenField};

/// Renew an access token this long before it expires.
const RENEW_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// The API client that reads a connected person's data, and the person as that client
/// names them (their handle, or X's numeric id): never `me`, so that collection runs of
/// different people never share a subject.
///
/// `api` carries the person's token; it says who the person is. `research`, when given,
/// is the client that reads their lists instead (TikTok: the Login Kit token opens only
/// the Display API, the person's liked and reposted videos come from the Research API
/// with the server's own credentials).
///
/// # Errors
/// [`SourceError`] when a client cannot be built or the platform does not name the
/// token's account.
pub async fn account_client(
    api: ApiConfig,
    research: Option<ApiConfig>,
    sleeper: Arc<dyn Sleeper>,
) -> Result<(Box<dyn ApiClient>, UserRef), SourceError> {
    let platform = api.platform;
    let client = api_client(platform, api, Arc::clone(&sleeper))?;
    let account = client.fetch_account(&UserRef::new("me")).await?;
    let user = match platform {
        Platform::X => UserRef::new(account.key),
        _ => UserRef::new(account.username),
    };
    let Some(research) = research else {
        return Ok((client, user));
    };
    Ok((api_client(platform, research, sleeper)?, user))
}

/// What [`refresh_account`] needs besides the store.
pub struct RefreshRequest<'a> {
    /// The connected account, with its sealed tokens.
    pub account: &'a AccountRecord,
    /// The cipher its tokens were sealed with.
    pub cipher: &'a TokenCipher,
    /// The OAuth client of the app it was connected with (renews the access).
    pub oauth: &'a OAuthClient,
    /// The data API's settings for the person's token (the refresh puts the token in).
    pub api: &'a ApiConfig,
    /// The settings of the client that reads the person's lists instead, if any (see
    /// [`account_client`]).
    pub research: Option<&'a ApiConfig>,
    /// The rules the refreshed profile must meet to be stored.
    pub rules: &'a ValidationRules,
    /// Who the profile belongs to (the account's principal).
    pub owner: Option<&'a str>,
    /// What the platform clients wait on (rate limits, backoff); `None`: [`TokioSleeper`].
    pub sleeper: Option<Arc<dyn Sleeper>>,
}

impl std::fmt::Debug for RefreshRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("account", &self.account)
            .field("cipher", &self.cipher)
            .field("oauth", &self.oauth)
            .field("api", &self.api)
            .field("research", &self.research)
            .field("rules", &self.rules)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// What a refresh did to an account.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// The profile was collected and changed (or written for the first time).
    Updated(Box<CollectReport>),
    /// The profile was collected and is as stored: nothing was written.
    Unchanged(Box<CollectReport>),
    /// The account was connected by a data export (or holds no token that opens): only a
    /// newer export updates it.
    ConnectedByExport,
    /// The platform's API does not show the likes the person gave, which their profile is
    /// built from (Instagram's never does): only a newer export updates it. Nothing is
    /// wrong.
    LikesNotShown,
}

/// Refreshes one connected account (see the module docs): renews an access token that
/// has expired (or expires within a minute) with the refresh token, storing the renewed
/// tokens sealed, then collects the person with [`Start::Resume`] when a refresh was cut
/// short and [`Start::SinceLast`] otherwise.
///
/// Call it on a blocking thread inside a tokio runtime (its store calls block).
///
/// # Errors
/// [`CollectError::AccessRevoked`] when the platform refuses the stored token (the person
/// connects again), [`CollectError::Renewal`] when renewing fails otherwise,
/// [`CollectError::Source`] when the platform does not show the account,
/// [`CollectError::Rejected`] when the new data breaks the rules (the stored profile
/// stays), [`CollectError::Stopped`] when the run stopped early (its pages are kept and the
/// next refresh resumes), [`CollectError::Store`] when the database fails.
pub async fn refresh_account(
    store: &mut Store,
    request: &RefreshRequest<'_>,
) -> Result<RefreshOutcome, CollectError> {
    let account = request.account;
    let (platform, user_id) = (account.platform, account.user_id.as_str());
    let open = |field, sealed: Option<&Vec<u8>>| {
        request
            .cipher
            .open_token(sealed.map(Vec::as_slice), platform, user_id, field)
    };
    let access = open(TokenField::Access, account.tokens.access_token.as_ref());
    let refresh_token = open(TokenField::Refresh, account.tokens.refresh_token.as_ref());
    if account.method == AccountMethod::Export || (access.is_none() && refresh_token.is_none()) {
        return Ok(RefreshOutcome::ConnectedByExport);
    }
    let expired = account
        .tokens
        .access_expires_at
        .is_some_and(|at| at <= Utc::now() + RENEW_MARGIN);
    let access = match access {
        Some(token) if !expired => token,
        stale => renew(store, request, stale, refresh_token).await?,
    };
    let mut api = request.api.clone();
    api.token = Some(access);
    let sleeper = request
        .sleeper
        .clone()
        .unwrap_or_else(|| Arc::new(TokioSleeper));
    let (client, user) = account_client(api, request.research.cloned(), sleeper).await?;
    // A refresh cut short (rate limit, timeout) left its run unfinished: resume it from its
    // checkpoints; otherwise read only what is new since the last complete run.
    let unfinished = store.unfinished_run(platform, &subject_of(&user))?;
    let collect = CollectRequest {
        user: &user,
        start: if unfinished.is_some() {
            Start::Resume
        } else {
            Start::SinceLast
        },
        max_items: None,
        rules: request.rules,
        owner: request.owner,
    };
    let collected = collect_api(
        store,
        client.as_ref(),
        &collect,
        &mut NoProgress,
        std::future::pending(),
    )
    .await;
    match collected {
        Ok(report) => Ok(match report.profile.as_ref().map(|p| p.outcome) {
            Some(Written::Unchanged(_)) => RefreshOutcome::Unchanged(Box::new(report)),
            _ => RefreshOutcome::Updated(Box::new(report)),
        }),
        Err(CollectError::Rejected { ref rejected, .. })
            if rejected
                .violations()
                .iter()
                .all(|v| v.path == "number_of_likes") =>
        {
            Ok(RefreshOutcome::LikesNotShown)
        }
        Err(e) => Err(e),
    }
}

/// Renews the access with the refresh token and stores the renewed tokens, sealed.
async fn renew(
    store: &mut Store,
    request: &RefreshRequest<'_>,
    stale: Option<Secret>,
    refresh_token: Option<Secret>,
) -> Result<Secret, CollectError> {
    let account = request.account;
    let platform = account.platform;
    let held = PlatformTokens {
        access_token: stale.unwrap_or_else(|| Secret::new("")),
        expires_in: None,
        refresh_token: refresh_token.clone(),
        refresh_expires_in: None,
        scope: account.tokens.scope.clone(),
        account_id: None,
    };
    let renewed = request
        .oauth
        .refresh(&held)
        .await
        .map_err(|error| match error {
            OAuthError::RefreshRejected { .. } | OAuthError::CodeRejected { .. } => {
                CollectError::AccessRevoked { platform, error }
            }
            error => CollectError::Renewal { platform, error },
        })?;
    let mut sealed = request
        .cipher
        .seal_tokens(platform, &account.user_id, &renewed);
    if sealed.refresh_expires_at.is_none()
        && renewed.refresh_token.as_ref() == refresh_token.as_ref()
    {
        sealed.refresh_expires_at = account.tokens.refresh_expires_at;
    }
    store.update_account_tokens(platform, &account.user_id, &sealed)?;
    Ok(renewed.access_token)
}
