//! `/me`: the signed-in person's accounts (how each was connected, its last refresh and
//! whether a refresh is under way), the imports of their uploads under way (the page then
//! looks again by itself), each profile's summary with its top categories and hashtags as
//! a chart, and the actions: refresh, download, erase (after `/me/erase` asks), sign out.
//! The actions call the `/v1/me` handlers themselves.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde_json::Value;
use toker_model::Listing;
use toker_model::Platform;
use toker_processing::summarize;
use toker_store::{AccountMethod, AccountRecord, CollectionRun, Job, JobState, RunStatus};

use super::chart::bars;
use super::csrf::{CSRF_FIELD, Csrf, SignedInForm};
use super::layout::{Frame, page as frame_page};
use crate::auth::Principal;
use crate::connect::session::Session;
use crate::extract::JobId;
use crate::jobs::{IMPORT_EXPORT, enqueue_refresh, wait_for_end};
use crate::problem::{Problem, ProblemKind};
use crate::routes::jobs::owned_job;
use crate::routes::me as api;
use crate::state::AppState;

/// One account as the page shows it.
struct AccountView {
    account: AccountRecord,
    /// The latest collection run of the account, if it was ever refreshed.
    last_run: Option<CollectionRun>,
}

/// One profile as the page shows it.
struct ProfileView {
    id: i64,
    platform: Platform,
    username: String,
    unproven: bool,
    updated_at: DateTime<Utc>,
    liked: usize,
    shared: usize,
    likes_given: Option<u64>,
    distinct_categories: usize,
    distinct_hashtags: usize,
    top_categories: Vec<(String, u32)>,
    top_hashtags: Vec<(String, u32)>,
}

/// The subject a refresh of `account` runs under (what `client_for` names the person:
/// X's numeric id, elsewhere the handle), lower-case as the collector keeps it.
fn subject(account: &AccountRecord) -> String {
    match account.platform {
        Platform::X => account.user_id.to_lowercase(),
        _ => account.username.trim_start_matches('@').to_lowercase(),
    }
}

/// The "You" page.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    csrf: Csrf,
) -> Result<Response, Problem> {
    let id = session.principal_id.clone();
    let (accounts, profiles, importing) = state
        .db(move |store| {
            store.get_principal(&id)?.ok_or_else(signed_out)?;
            let importing = store.unfinished_jobs_of(&id, IMPORT_EXPORT)?;
            let mut accounts = Vec::new();
            for account in store.list_accounts(&id)? {
                let last_run = match account.method {
                    AccountMethod::OAuth => store
                        .collection_runs(account.platform, &subject(&account))?
                        .pop(),
                    AccountMethod::Export => None,
                };
                accounts.push(AccountView { account, last_run });
            }
            let profiles = store
                .load_profiles(&Listing::owner(id))?
                .into_iter()
                .map(|p| {
                    let summary = summarize(&p.profile);
                    ProfileView {
                        id: p.id,
                        platform: p.platform,
                        username: p.profile.username.clone(),
                        unproven: p.unproven,
                        updated_at: p.updated_at,
                        liked: summary.liked_count,
                        shared: summary.shared_count,
                        likes_given: p.profile.number_of_likes,
                        distinct_categories: summary.distinct_categories,
                        distinct_hashtags: summary.distinct_hashtags,
                        top_categories: summary.top_categories,
                        top_hashtags: summary.top_hashtags,
                    }
                })
                .collect::<Vec<_>>();
            Ok((accounts, profiles, importing))
        })
        .await?;
    let token = csrf.token();
    let body = html! {
        @for job in &importing {
            p.panel.notice role="status" {
                "Your " (platform_name(job.payload["platform"].as_str().unwrap_or_default()))
                " upload is being imported; this page looks again by itself until it is done. "
                a href=(format!("/me/jobs/{}", job.id)) { "See how it is going" }
            }
        }
        h2 { "Your accounts" }
        @if accounts.is_empty() {
            p {
                "No account is connected"
                @if !profiles.is_empty() { ": your profile below comes from an upload you have not proven yours by connecting the account" }
                "."
            }
        } @else {
            table {
                caption.muted { "How each account came to Toker and when it was last read" }
                thead { tr { th scope="col" { "Account" } th scope="col" { "Connected by" } th scope="col" { "Last refresh" } } }
                tbody {
                    @for view in &accounts {
                        tr {
                            th scope="row" { (view.account.platform.display_name()) " @" (view.account.username) }
                            td { (method(view.account.method)) }
                            td { (refresh_state(view)) }
                        }
                    }
                }
            }
        }
        h2 { "Your profile" }
        @if profiles.is_empty() {
            p { "Toker holds no profile of yours." }
        }
        @for p in &profiles {
            (profile(p))
        }
        h2 { "What you can do" }
        ul.actions {
            li {
                form method="post" action="/me/refresh" {
                    input type="hidden" name=(CSRF_FIELD) value=(token);
                    button type="submit" { "Refresh from the platforms" }
                }
            }
            li { a.button.secondary href="/v1/me/export" download="toker-export.json" { "Download everything (JSON)" } }
            li { a.button.secondary href="/me/matches" { "See your matches" } }
            li { a.button.secondary href="/me/erase" { "Erase everything…" } }
        }
        p.muted { "Refreshing reads your connected accounts again with the access you granted (only what is new). An account connected by a data export is updated by uploading a newer export on the " a href="/#upload" { "start page" } "." }
    };
    let look_again = (!importing.is_empty()).then_some(LOOK_AGAIN);
    Ok(super::following_page(
        "What Toker keeps about you",
        body,
        &csrf,
        look_again,
    ))
}

fn method(method: AccountMethod) -> &'static str {
    match method {
        AccountMethod::OAuth => "signing in on the platform",
        AccountMethod::Export => "a data export you uploaded",
    }
}

fn refresh_state(view: &AccountView) -> Markup {
    let when = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    html! {
        @match (view.account.method, &view.last_run) {
            (AccountMethod::Export, _) => { "Uploaded " (when(view.account.updated_at)) "; upload a newer export to update it" }
            (AccountMethod::OAuth, None) => { "Read when connected, " (when(view.account.updated_at)) }
            (AccountMethod::OAuth, Some(run)) => {
                @match run.status {
                    RunStatus::Unfinished => {
                        "A refresh started " (when(run.started_at)) " is unfinished ("
                        (run.stop_reason.as_deref().unwrap_or("cut short")) "); the next refresh resumes it"
                    }
                    RunStatus::Complete => { "Complete, " (when(run.finished_at.unwrap_or(run.updated_at))) }
                    RunStatus::Rejected => { "The last refresh (" (when(run.updated_at)) ") read data Toker could not use; your stored profile stayed as it was" }
                    RunStatus::Abandoned => { "Restarted " (when(run.updated_at)) }
                }
            }
        }
    }
}

fn profile(p: &ProfileView) -> Markup {
    let name = p.platform.display_name();
    html! {
        section aria-labelledby=(format!("profile-{}", p.id)) {
            h3 id=(format!("profile-{}", p.id)) { (name) " @" (p.username) }
            @if p.unproven {
                p.panel.notice { "From an upload you have not proven yours yet: only you see it, and it is matched only for you. Connect this " (name) " account to prove it." }
            }
            dl.facts {
                dt { "Posts you liked" } dd { (p.liked) }
                dt { "Posts you shared" } dd { (p.shared) }
                @if let Some(n) = p.likes_given { dt { "Likes you gave" } dd { (n) } }
                dt { "Different categories" } dd { (p.distinct_categories) }
                dt { "Different hashtags" } dd { (p.distinct_hashtags) }
                dt { "Last updated" } dd { (p.updated_at.format("%Y-%m-%d %H:%M UTC")) }
            }
            @if p.top_categories.is_empty() {
                p.muted { "No categories among your posts." }
            } @else {
                h4 { "Your top categories" }
                (bars(&format!("categories-{}", p.id), &format!("Top categories of your {name} profile, weighted count"), &p.top_categories))
            }
            @if p.top_hashtags.is_empty() {
                p.muted { "No hashtags among your posts." }
            } @else {
                h4 { "Your top hashtags" }
                (bars(&format!("hashtags-{}", p.id), &format!("Top hashtags of your {name} profile, weighted count"), &p.top_hashtags))
            }
        }
    }
}

fn signed_out() -> Problem {
    Problem::new(
        ProblemKind::Unauthenticated,
        "this session's person no longer exists; connect an account to sign in again",
    )
}

/// `GET /me/erase`: asks before erasing.
pub(crate) async fn confirm_erase(_session: Session, csrf: Csrf) -> Response {
    let token = csrf.token();
    let body = html! {
        div.panel.problem {
            p { strong { "This erases everything Toker holds about you, at once and for good:" } }
            ul {
                li { "your profiles, with the data they came from, their vectors and the posts nobody else has;" }
                li { "your connected accounts and the access you granted;" }
                li { "your sessions, so you are signed out everywhere." }
            }
            p { "You may want to " a href="/v1/me/export" download="toker-export.json" { "download everything first" } "." }
        }
        form method="post" action="/me/erase" {
            input type="hidden" name=(CSRF_FIELD) value=(token);
            ul.actions {
                li { button.danger type="submit" { "Erase everything" } }
                li { a.button.secondary href="/me" { "Keep my data" } }
            }
        }
    };
    super::signed_in_page("Erase everything?", body, &csrf)
}

/// `POST /me/erase`: erases (as `DELETE /v1/me`) and says what went.
pub(crate) async fn erase(
    State(state): State<AppState>,
    SignedInForm { session, csrf }: SignedInForm,
) -> Result<Response, Problem> {
    let erased = api::erase(State(state), session).await?;
    let (parts, body) = erased.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let report: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let count = |what: &str| report["erased"][what].as_u64().unwrap_or(0);
    let body = html! {
        div.panel.notice role="status" {
            p { "Everything Toker held about you is erased, and you are signed out." }
            ul {
                li { "Profiles: " (count("profiles")) }
                li { "Connected accounts: " (count("accounts")) }
                li { "Sessions: " (count("sessions")) }
            }
        }
        p { a href="/" { "Back to the start page" } }
    };
    let frame = Frame {
        signed_in: false,
        csrf: None,
        look_again: None,
    };
    let mut response = super::html(StatusCode::OK, frame_page(frame, "Erased", body), &csrf);
    for cookie in parts.headers.get_all(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    Ok(response)
}

/// `POST /me/sign-out`: ends this session (as `DELETE /v1/me/session`), then the start.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    SignedInForm { session, .. }: SignedInForm,
) -> Result<Response, Problem> {
    let ended = api::sign_out(State(state), session).await?;
    Ok(super::see_other_keeping_cookies("/", &ended))
}

/// How long a refresh page waits for the refresh to end before it shows that it runs.
const PAGE_WAIT: Duration = Duration::from_secs(10);

/// `POST /me/refresh`: queues a refresh (as `POST /v1/me/refresh`), waits a little for it
/// and shows each account's result, or that it still runs ([`refresh_job`] follows it).
pub(crate) async fn refresh(
    State(state): State<AppState>,
    form: SignedInForm,
) -> Result<Response, Problem> {
    let job = enqueue_refresh(&state, &form.session.principal_id).await?;
    refresh_page(&state, job, &form.csrf).await
}

/// `GET /me/jobs/{id}`: a job of the person's: a refresh as [`refresh`] shows it, an
/// uploaded export's import as [`import_page`] does.
pub(crate) async fn job(
    State(state): State<AppState>,
    _person: Session,
    principal: Principal,
    JobId(id): JobId,
    csrf: Csrf,
) -> Result<Response, Problem> {
    let job = owned_job(&state, &principal, id).await?;
    if job.kind == IMPORT_EXPORT {
        import_page(&state, job, &csrf).await
    } else {
        refresh_page(&state, job, &csrf).await
    }
}

/// How often a page of an import under way loads itself again, in seconds.
const LOOK_AGAIN: u32 = 2;

/// The page of an export's import (where the upload form leads): once it succeeded
/// (within a short wait), `/me`, which shows the profile; while it is under way, that it
/// is, loading itself again every [`LOOK_AGAIN`] seconds; if it failed, why, and what to
/// do.
async fn import_page(state: &AppState, job: Job, csrf: &Csrf) -> Result<Response, Problem> {
    let wait = PAGE_WAIT.min(state.config().request_timeout / 2);
    let job = wait_for_end(state, job, wait).await?;
    let platform = job.payload["platform"]
        .as_str()
        .map(platform_name)
        .unwrap_or_default();
    let (title, look_again, body) = match job.state {
        JobState::Succeeded => return Ok(super::see_other("/me")),
        JobState::Queued | JobState::Running => (
            "Importing your upload",
            Some(LOOK_AGAIN),
            html! {
                p role="status" {
                    "Your " (platform) " upload is being imported"
                    @if job.state == JobState::Queued { " as soon as it is its turn" }
                    ". This page looks again by itself; the import goes on if you leave it."
                }
                p { a href=(format!("/me/jobs/{}", job.id)) { "Look again now" } }
            },
        ),
        JobState::Failed | JobState::Dead => (
            "Your upload could not be imported",
            None,
            html! {
                p role="alert" { (job.error.as_deref().unwrap_or("no reason was recorded")) }
                p { "Nothing of this upload was stored. " a href="/#upload" { "Upload another export" } " from the start page." }
            },
        ),
    };
    let body = html! {
        (body)
        p { a href="/me" { "Back to your page" } }
    };
    Ok(super::following_page(title, body, csrf, look_again))
}

/// The page of a refresh job: its result once it ended (within a short wait), else where
/// it is and a link that looks again.
async fn refresh_page(state: &AppState, job: Job, csrf: &Csrf) -> Result<Response, Problem> {
    let wait = PAGE_WAIT.min(state.config().request_timeout / 2);
    let job = wait_for_end(state, job, wait).await?;
    let empty = Vec::new();
    let result = job.result.clone().unwrap_or_default();
    let accounts = result["accounts"].as_array().unwrap_or(&empty);
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    let title = match job.state {
        JobState::Succeeded => "Refreshed",
        JobState::Queued | JobState::Running => "Refreshing",
        JobState::Failed | JobState::Dead => "The refresh failed",
    };
    let body = html! {
        @match job.state {
            JobState::Queued | JobState::Running => {
                p role="status" {
                    @if job.state == JobState::Queued { "Your refresh is waiting for its turn." } @else { "Your refresh is reading your accounts." }
                    " It goes on if you leave this page."
                }
                p { a href=(format!("/me/jobs/{}", job.id)) { "See how it is going" } }
            }
            JobState::Failed | JobState::Dead => {
                p role="alert" { "The refresh could not finish: " (job.error.as_deref().unwrap_or("no reason was recorded")) ". Try again later." }
            }
            JobState::Succeeded => {
                @if accounts.is_empty() {
                    p { "No account is connected, so there was nothing to refresh." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Account" } th scope="col" { "Result" } th scope="col" { "What to know" } } }
                        tbody {
                            @for a in accounts {
                                tr {
                                    th scope="row" { (platform_name(&text(a, "platform"))) " " (text(a, "user_id")) }
                                    td { (text(a, "outcome")) }
                                    td {
                                        @if let Some(items) = a.get("items").filter(|i| i.is_object()) {
                                            "Posts new: " (items["new"]) ", changed: " (items["updated"]) ", unchanged: " (items["unchanged"]) ", gone: " (items["removed"]) ". "
                                        }
                                        (text(a, "detail"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/me" { "Back to your page" } }
    };
    Ok(super::signed_in_page(title, body, csrf))
}

fn platform_name(name: &str) -> String {
    name.parse::<Platform>()
        .map_or_else(|_| name.to_owned(), |p| p.display_name().to_owned())
}
