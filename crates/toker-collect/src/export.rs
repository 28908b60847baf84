//! Idempotent data-export imports: the same archive twice changes nothing; a newer archive
//! of the same account changes only what differs.

use std::path::Path;

use serde::Serialize;
use toker_model::{Platform, ValidationRules};
use toker_processing::prepare::prepare_profile;
use toker_sources::{ImportLimits, Warnings, import_export_with_limits};
use toker_store::{Store, StoreError};

use crate::error::CollectError;
use crate::items::{ItemChanges, ItemCounts, diff_items};
use crate::report::ProfileReport;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    #[allow(missing_docs, reason = "the name says it all")]
    pub platform: Platform,
    /// The stored profile (`outcome` `unchanged`: the archive held nothing new).
    pub profile: ProfileReport,
    /// Its videos compared with those stored before.
    pub items: ItemCounts,
    /// The same, per list.
    pub items_by_list: ItemChanges,
    /// What the importer noticed, counted per kind with a few examples.
    pub warnings: Warnings,
}

/// Imports `platform`'s data export at `path` (zip, folder or data file): validated and
/// cleaned like every profile, then stored unless the stored profile is identical.
///
/// An export is the account's whole history at the time it was made, so a newer archive
/// replaces the profile: items it adds are `new`, items whose counts changed `updated`,
/// and items it no longer has (unliked, deleted) `removed`.
///
/// # Errors
/// [`CollectError::Source`] for an unreadable archive (naming the file and key);
/// [`CollectError::Rejected`] for an invalid profile (nothing stored);
/// [`CollectError::Store`].
pub fn import_archive(
    store: &mut Store,
    platform: Platform,
    path: &Path,
    rules: &ValidationRules,
    owner: Option<&str>,
) -> Result<ImportReport, CollectError> {
    import_archive_with_limits(
        store,
        platform,
        path,
        rules,
        owner,
        &ImportLimits::default(),
    )
}

/// Imports like [`import_archive`], within explicit [`ImportLimits`] (sizes, compression
/// ratio, items per list, raw JSON kept).
///
/// # Errors
/// As [`import_archive`]; an export breaking a limit is a [`CollectError::Source`] holding
/// [`toker_sources::SourceError::ExportTooLarge`], and nothing is stored.
pub fn import_archive_with_limits(
    store: &mut Store,
    platform: Platform,
    path: &Path,
    rules: &ValidationRules,
    owner: Option<&str>,
    limits: &ImportLimits,
) -> Result<ImportReport, CollectError> {
    let raw = import_export_with_limits(platform, path, limits)?;
    let warnings = raw.warnings;
    let prepared =
        prepare_profile(raw.platform, raw.profile, raw.raw, rules).map_err(|rejected| {
            CollectError::Rejected {
                label: format!("{platform} export {}", path.display()),
                rejected,
                report: None,
            }
        })?;
    let before = match store.get_profile_by_key(prepared.platform, &prepared.profile.user_id) {
        Ok(stored) => Some(stored.profile),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let outcome = store.upsert_profile_if_changed(
        prepared.platform,
        &prepared.profile,
        &prepared.raw,
        owner,
    )?;
    let changes = diff_items(before.as_ref(), &prepared.profile);
    Ok(ImportReport {
        platform: prepared.platform,
        profile: ProfileReport::new(prepared.platform, outcome, &prepared.profile),
        items: changes.total(),
        items_by_list: changes,
        warnings,
    })
}
