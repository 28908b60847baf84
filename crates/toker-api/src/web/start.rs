//! `/`: what Toker keeps about a person, why, for how long and how to erase it, and the
//! ways in: one "Connect with …" per platform enabled here, and an export upload per
//! platform with the steps to get the archive.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use toker_model::Platform;

use super::csrf::{CSRF_FIELD, Csrf};
use super::layout::{Frame, page as frame_page};
use crate::connect::session::optional;
use crate::problem::Problem;
use crate::state::AppState;

/// The start page.
pub(crate) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: Csrf,
) -> Result<Response, Problem> {
    let signed_in = optional(&state, &headers).await?.is_some();
    let status = state.connector().status();
    let enabled: Vec<Platform> = Platform::ALL
        .into_iter()
        .filter(|p| status.enabled.iter().any(|e| e == p.as_str()))
        .collect();
    let body = html! {
        @if signed_in {
            p.panel.notice { "You are signed in. " a href="/me" { "See what Toker keeps about you" } "." }
        }
        p { "Toker builds a profile of your interests from the posts you like and share on TikTok, Instagram or X, and shows you the people whose interests are most like yours." }
        (what_toker_keeps())
        h2 id="connect" { "Connect an account" }
        @if enabled.is_empty() {
            p.muted { "Connecting accounts is not enabled on this server (its operator sets it up; GET /readyz says what is missing)." }
        } @else {
            p { "You are sent to the platform, which asks whether Toker may read your likes and shares. Toker reads them once, builds your profile and keeps the access you granted only to refresh it when you ask." }
            ul.actions {
                @for platform in &enabled {
                    li { a.button href=(format!("/v1/connect/{platform}")) { "Connect with " (platform.display_name()) } }
                }
            }
        }
        h2 id="upload" { "Upload your data export" }
        @if status.export_upload {
            p { "Every platform lets you download a copy of your data. Upload that .zip as it is and Toker reads your likes and shares from it (nothing else in it is kept). An upload makes a private profile for you that others see only once you also connect that account." }
            @for platform in Platform::ALL {
                (upload_form(platform, csrf.token()))
            }
        } @else {
            p.muted { "Uploading data exports is not enabled on this server." }
        }
    };
    let frame = Frame {
        signed_in,
        csrf: Some(csrf.token()),
        look_again: None,
    };
    Ok(super::html(
        StatusCode::OK,
        frame_page(frame, "Your interests, your matches, your data", body),
        &csrf,
    ))
}

fn what_toker_keeps() -> Markup {
    html! {
        h2 { "What Toker keeps, and why" }
        ul {
            li { strong { "Your profile: " } "your handle and counts (followers, likes given and received), and the posts you liked and shared with their categories, hashtags and counts. This is profiling: Toker sorts you by your interests in order to match you with people." }
            li { strong { "The data it came from, " } "as the platform sent it, so you can download it and see exactly what was read." }
            li { strong { "Your interest vector: " } "numbers computed from your categories and hashtags, used only to find people like you." }
            li { strong { "Your connected accounts: " } "the platform's id and handle and, for a connect, the access the platform granted (encrypted, never shown), to refresh your profile when you ask." }
            li { strong { "Your sign-in: " } "a session cookie, valid for 30 days or until you sign out." }
        }
        p { "Other people see only your handle, your platform and the interests you share with them, never the rest." }
        h2 { "How long, and how to erase it" }
        p { "Toker keeps your data until you erase it. On " a href="/me" { "your page" } " you can download everything it holds (one JSON file) and erase everything at once: your profiles, their data and vectors, your accounts with their access, and your sessions, in one step that cannot be undone." }
    }
}

/// One platform's upload form, with how to get the archive.
fn upload_form(platform: Platform, csrf: &str) -> Markup {
    let name = platform.display_name();
    let input = format!("archive-{platform}");
    html! {
        section.panel aria-labelledby=(format!("upload-{platform}")) {
            h3 id=(format!("upload-{platform}")) { (name) }
            ol {
                @for step in steps(platform) { li { (step) } }
            }
            form method="post" action=(format!("/upload/{platform}")) enctype="multipart/form-data" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label for=(input) { "Your " (name) " export (.zip)" }
                input id=(input) type="file" name="archive" accept=".zip,application/zip" required;
                p { button type="submit" { "Upload " (name) " export" } }
            }
        }
    }
}

/// How a person gets their export of `platform` (docs/PLATFORMS.md has the layouts).
fn steps(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::TikTok => &[
            "In the TikTok app: Profile › Menu › Settings and privacy › Account › Download your data.",
            "Choose the format JSON (not TXT) and request the file; TikTok says when it is ready (up to a few days).",
            "Download the .zip and choose it here.",
        ],
        Platform::Instagram => &[
            "In Instagram: Settings › Accounts Center › Your information and permissions › Download your information.",
            "Choose your Instagram account, the format JSON, and include \"Likes\" (and \"Your topics\" for better matches).",
            "Download the .zip when Meta's e-mail says it is ready, and choose it here.",
        ],
        Platform::X => &[
            "On X: Settings › Your account › Download an archive of your data.",
            "Confirm your password; X prepares the archive (up to a day) and notifies you.",
            "Download the .zip and choose it here.",
        ],
    }
}
