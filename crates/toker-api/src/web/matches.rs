//! `/me/matches`: for each of the person's profiles, the people most like them, with the
//! interests they share and how strongly: only the public match fields (handle, platform,
//! score, shared features), found by the same code as `GET /v1/me/matches`.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use toker_model::Listing;
use toker_model::Platform;

use super::csrf::Csrf;
use crate::connect::session::Session;
use crate::dto::MatchItem;
use crate::problem::Problem;
use crate::routes::insights::{DEFAULT_TOP, NO_INTERESTS, best_matches};
use crate::state::AppState;

/// One profile of the person and its matches.
struct Entry {
    platform: Platform,
    username: String,
    matches: Vec<MatchItem>,
    note: Option<&'static str>,
}

/// The "Your matches" page.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    csrf: Csrf,
) -> Result<Response, Problem> {
    let snapshot = state.match_snapshot().await?;
    let owner = session.principal_id.clone();
    let entries = state
        .db(move |store| {
            let mut entries = Vec::new();
            for row in store.list_profiles(&Listing::owner(owner))? {
                let mut entry = Entry {
                    platform: row.platform,
                    username: row.username,
                    matches: Vec::new(),
                    note: None,
                };
                match &snapshot {
                    None => entry.note = Some(NOT_FITTED),
                    Some(snapshot) => {
                        let found = best_matches(store, snapshot, row.id, DEFAULT_TOP, None)?;
                        entry.note = match (found.no_interests, found.matches.is_empty()) {
                            (true, _) => Some(NO_INTERESTS),
                            (false, true) => Some(NOBODY_YET),
                            (false, false) => None,
                        };
                        entry.matches = found.matches;
                    }
                }
                entries.push(entry);
            }
            Ok(entries)
        })
        .await?;
    let body = html! {
        p { "People whose liked and shared posts are most like yours. The strength is the cosine similarity of your interest vectors (100% is the same interests, equally weighted); under each person are the interests you share that count most. You see only their handle and platform, as they see only yours." }
        @if entries.is_empty() {
            p { "Toker holds no profile of yours to match." }
        }
        @for entry in &entries {
            section {
                h2 { "Like your " (entry.platform.display_name()) " @" (entry.username) }
                @if let Some(note) = entry.note {
                    p.panel.notice { (note) }
                }
                @if !entry.matches.is_empty() {
                    ol.matches {
                        @for m in &entry.matches {
                            @let percent = (m.score * 100.0).round();
                            li {
                                strong { "@" (m.username) } " on " (m.platform.display_name()) ": "
                                meter min="0" max="1" value=(format!("{:.3}", m.score)) aria-label=(format!("strength with @{}", m.username)) { (percent) "%" }
                                " " (percent) "% alike"
                                @if !m.features.is_empty() {
                                    ul.shared aria-label="Shared interests" {
                                        @for f in &m.features {
                                            li { (f.name) " " span.muted { "(" (f.kind) ", " (format!("{:.0}", f.contribution * 100.0)) "% of the strength)" } }
                                        }
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
    Ok(super::signed_in_page("Your matches", body, &csrf))
}

const NOT_FITTED: &str = "Nobody can be matched yet: this server has not computed its interest \
     vectors (its operator runs `toker vectorize` once people are stored).";
const NOBODY_YET: &str = "Nobody here shares an interest with this profile yet.";
