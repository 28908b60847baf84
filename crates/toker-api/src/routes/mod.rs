//! The routes, one module per resource; each module offers `routes()` (its part of the
//! router) and `Doc` (its part of the OpenAPI description), so that a new resource is one
//! module plus one line in [`crate::router`] and one in [`crate::openapi`].

pub(crate) mod admin;
pub(crate) mod connect;
pub(crate) mod health;
pub(crate) mod insights;
pub(crate) mod jobs;
pub(crate) mod me;
pub(crate) mod metrics;
pub(crate) mod profiles;

use std::collections::HashMap;

use toker_processing::Rejected;
use toker_store::{ProfileRow, Store, StoreError};

use crate::auth::Principal;
use crate::problem::{Problem, ProblemKind};

/// The listing row of profile `id` (an unproven upload too), read without its videos.
pub(crate) fn profile_row(store: &mut Store, id: i64) -> Result<Option<ProfileRow>, StoreError> {
    Ok(store.profile_rows(&[id])?.pop())
}

/// The listing rows of the profiles among `ids` that exist, by id (one query).
pub(crate) fn rows_by_id(
    store: &mut Store,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, ProfileRow>, StoreError> {
    let ids: Vec<i64> = ids.into_iter().collect();
    Ok(store
        .profile_rows(&ids)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// Whether `principal` may see a profile of `owner`: the per-owner rule, except that an
/// unproven upload is private to its uploader, hidden even from admins until proven.
pub(crate) fn may_see(principal: &Principal, owner: Option<&str>, unproven: bool) -> bool {
    if unproven {
        owner == Some(principal.key_id.as_str())
    } else {
        principal.can_access(owner)
    }
}

/// The row of profile `id` if `principal` may see it; otherwise the same 404 as for an id
/// that does not exist.
pub(crate) fn visible_row(
    store: &mut Store,
    principal: &Principal,
    id: i64,
) -> Result<ProfileRow, Problem> {
    match profile_row(store, id)? {
        Some(row) if may_see(principal, row.owner.as_deref(), row.unproven) => Ok(row),
        _ => Err(Problem::profile_not_found(id)),
    }
}

/// A `Duplicate` from the store as 409; the existing id is named only to a caller who may
/// see that profile.
pub(crate) fn duplicate_problem(
    store: &mut Store,
    principal: &Principal,
    key: &str,
    existing: i64,
) -> Problem {
    if existing_is_visible(store, principal, existing) {
        Problem::new(
            ProblemKind::Conflict,
            format!(
                "a profile {key} is already stored as id {existing}; replace it with PUT /v1/profiles/{existing}"
            ),
        )
    } else {
        Problem::new(
            ProblemKind::Conflict,
            format!("a profile {key} is already stored"),
        )
    }
}

/// Whether `principal` may learn the id of an existing profile.
pub(crate) fn existing_is_visible(store: &mut Store, principal: &Principal, id: i64) -> bool {
    matches!(profile_row(store, id), Ok(Some(row)) if may_see(principal, row.owner.as_deref(), row.unproven))
}

/// A rejected record as 422 with every violation.
pub(crate) fn rejected_problem(rejected: &Rejected) -> Problem {
    let violations = rejected.violations();
    let detail = match violations.len() {
        1 => "the profile breaks 1 rule; nothing was stored".to_owned(),
        n => format!("the profile breaks {n} rules; nothing was stored"),
    };
    Problem::validation(detail, violations)
}
