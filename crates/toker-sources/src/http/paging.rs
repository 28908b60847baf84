//! Page-level access to the API clients, so a collector can checkpoint after every page,
//! and the loop that reads every page into one raw profile.

use std::collections::HashSet;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use toker_model::Platform;

use crate::error::SourceError;
use crate::source::{RawProfile, Source, UserRef};
use crate::warnings::{WarningKind, Warnings};

/// A paginated list an API client reads for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Listing {
    /// Videos or posts the person liked (TikTok Research, X).
    Liked,
    /// Videos the person reposted (TikTok Research).
    Reposted,
    /// The person's own posts or media (X: reposts, replies and likes received;
    /// Instagram: likes received).
    Posts,
}

impl Listing {
    /// The key under which its raw pages are kept in [`RawProfile::raw`].
    #[must_use]
    pub const fn raw_key(self) -> &'static str {
        match self {
            Listing::Liked => "liked",
            Listing::Reposted => "reposted",
            Listing::Posts => "posts",
        }
    }
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw_key())
    }
}

/// The person as the API knows them, before any list is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The key the list endpoints take (TikTok: the username; X: the numeric id;
    /// Instagram: `me`).
    pub key: String,
    /// The person's handle.
    pub username: String,
    /// The lists that can be read for this person, in reading order.
    pub listings: Vec<Listing>,
    /// The raw user payload, kept as `raw["user"]`.
    pub raw: Value,
    /// What the client noticed (e.g. a list it cannot read for this person).
    pub warnings: Vec<String>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Which list.
    pub listing: Listing,
    /// The page body as received (trimmed to the items wanted, secrets removed): keep it
    /// under `raw[listing.raw_key()]` to rebuild the profile later.
    pub raw: Value,
    /// The items on the page that were kept.
    pub item_count: u64,
    /// The cursor of the next page; `None` when this was the last page.
    pub next_cursor: Option<String>,
    /// Whether items were dropped from this page to honour the item bound: a collector
    /// that may later want more must not checkpoint past this page.
    pub truncated: bool,
    /// Problems noticed on the page (unreadable items, partial errors).
    pub warnings: Vec<String>,
}

/// What [`ApiClient::fetch_page`] reads: one page of `listing` for `account`, from
/// `cursor` (`None` = the first page), asking for at most `max_items` items (and keeping no
/// more than that).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRequest<'a> {
    /// Whose list.
    pub account: &'a Account,
    /// Which list.
    pub listing: Listing,
    /// The cursor of the page; `None` = the first page.
    pub cursor: Option<&'a str>,
    /// The most items wanted from the page; `None` = all of them.
    pub max_items: Option<u64>,
}

impl<'a> PageRequest<'a> {
    /// The first page of `listing`, with no item bound.
    #[must_use]
    pub const fn first(account: &'a Account, listing: Listing) -> Self {
        PageRequest {
            account,
            listing,
            cursor: None,
            max_items: None,
        }
    }

    /// The same request from `cursor` on.
    #[must_use]
    pub const fn after(self, cursor: &'a str) -> Self {
        PageRequest {
            cursor: Some(cursor),
            ..self
        }
    }

    /// The same request for at most `max_items` items.
    #[must_use]
    pub const fn at_most(self, max_items: u64) -> Self {
        PageRequest {
            max_items: Some(max_items),
            ..self
        }
    }

    /// The page its body `raw` makes, keeping at most `max_items` of the items at `items`
    /// (a JSON pointer, `None` when the page has no item list).
    pub(crate) fn page(
        self,
        mut raw: Value,
        items: Option<&str>,
        next_cursor: Option<String>,
    ) -> Page {
        let (before, kept) = match items {
            Some(pointer) => crate::http::parse::trim_items(&mut raw, pointer, self.max_items),
            None => (0, 0),
        };
        Page {
            listing: self.listing,
            raw,
            item_count: kept,
            next_cursor,
            truncated: kept < before,
            warnings: Vec::new(),
        }
    }
}

/// A platform API client: the [`Source`] plus page-level access.
///
/// [`Source::fetch`] is [`collect`]: the account, then every page of every listing up to
/// the item bound, then [`ApiClient::profile_from_raw`]. A resumable collector does the same
/// itself, storing each page with its cursor, and resumes with the stored cursor.
#[async_trait]
pub trait ApiClient: Source {
    /// Looks the person up.
    ///
    /// # Errors
    /// A [`SourceError`] naming the platform, endpoint and what to do.
    async fn fetch_account(&self, user: &UserRef) -> Result<Account, SourceError>;

    /// Reads the page `request` names (see [`PageRequest`]).
    ///
    /// # Errors
    /// A [`SourceError`] naming the platform, endpoint and what to do.
    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError>;

    /// Builds the profile from `{"user": …, "<listing>": [page, …], …}` (see
    /// [`Listing::raw_key`]); a listing that is absent was not read and its counts are
    /// `None`. Pure: the stored raw JSON always re-derives the same profile.
    ///
    /// # Errors
    /// [`SourceError::BadResponse`] when the raw JSON does not have that shape.
    fn profile_from_raw(&self, raw: &Value) -> Result<RawProfile, SourceError>;

    /// The configured bound on items per listing.
    fn max_items(&self) -> Option<u64>;
}

/// Reads a whole profile: the account, then each listing page by page until its last page
/// or `max_items` items, then [`ApiClient::profile_from_raw`].
///
/// A listing the platform refuses to show for this person
/// ([`SourceError::PermissionDenied`], e.g. a private list) is left out with a warning;
/// every other error ends the fetch.
///
/// # Errors
/// The first [`SourceError`] that is not a refused listing, or
/// [`SourceError::Pagination`] when a cursor repeats.
pub async fn collect(
    client: &dyn ApiClient,
    user: &UserRef,
    max_items: Option<u64>,
) -> Result<RawProfile, SourceError> {
    let account = client.fetch_account(user).await?;
    let mut raw = Map::new();
    raw.insert("user".to_owned(), account.raw.clone());
    let mut notes = account.warnings.clone();
    for &listing in &account.listings {
        match collect_listing(client, &account, listing, max_items, &mut notes).await {
            Ok(pages) => {
                raw.insert(listing.raw_key().to_owned(), Value::Array(pages));
            }
            Err(SourceError::PermissionDenied {
                endpoint, message, ..
            }) => notes.push(format!(
                "{listing} not read: {endpoint} refused ({message}); its counts stay unknown"
            )),
            Err(other) => return Err(other),
        }
    }
    let mut profile = client.profile_from_raw(&Value::Object(raw))?;
    let mut warnings = Warnings::new();
    for note in notes {
        warnings.push(WarningKind::Listing, note);
    }
    warnings.merge(std::mem::take(&mut profile.warnings));
    profile.warnings = warnings;
    Ok(profile)
}

async fn collect_listing(
    client: &dyn ApiClient,
    account: &Account,
    listing: Listing,
    max_items: Option<u64>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Value>, SourceError> {
    let mut pages = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut got = 0u64;
    loop {
        let wanted = max_items.map(|m| m.saturating_sub(got));
        if wanted == Some(0) {
            break;
        }
        let page = client
            .fetch_page(PageRequest {
                account,
                listing,
                cursor: cursor.as_deref(),
                max_items: wanted,
            })
            .await?;
        got += page.item_count;
        warnings.extend(page.warnings);
        pages.push(page.raw);
        let Some(next) = page.next_cursor else { break };
        if !seen.insert(next.clone()) {
            return Err(SourceError::Pagination {
                platform: account.platform,
                listing: listing.raw_key(),
                message: format!(
                    "the platform returned cursor {next:?} again after {} pages: stopping \
                     instead of looping",
                    pages.len()
                ),
            });
        }
        cursor = Some(next);
    }
    Ok(pages)
}
