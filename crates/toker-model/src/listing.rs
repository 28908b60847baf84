//! A listing: which stored profiles to list, count or load (the store takes it; this crate
//! only describes it).

use serde::Serialize;

use crate::Platform;

/// Which stored profiles to list, count or load. `Default` is every profile others may see (no
/// unproven upload), no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// Only this platform's profiles.
    pub platform: Option<Platform>,
    /// Only profiles of this owner.
    pub owner: Option<String>,
    /// Also unproven uploads: private copies of their uploader's, which only the uploader
    /// sees (with `owner` set to the uploader, their own listing) until they prove the
    /// account. Left out by default: of everyone else's listings, counts and refits.
    pub unproven: bool,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows (after `after_id` is applied).
    pub offset: u64,
    /// Only rows with an id greater than this (keyset pagination: pass the last id seen).
    pub after_id: Option<i64>,
}

impl Listing {
    /// Every profile of one platform.
    #[must_use]
    pub fn platform(platform: Platform) -> Self {
        Listing {
            platform: Some(platform),
            ..Listing::default()
        }
    }

    /// Every profile of one owner, their unproven uploads included.
    #[must_use]
    pub fn owner(owner: impl Into<String>) -> Self {
        Listing {
            owner: Some(owner.into()),
            unproven: true,
            ..Listing::default()
        }
    }
}
