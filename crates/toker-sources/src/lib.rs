//! `toker-sources` owns where profiles come from: the [`Source`] trait, one module per
//! platform behind the cargo features `tiktok`, `instagram` and `x`, a deterministic
//! fake-data source, the real platform API clients and the data-export importers.
//!
//! It must not touch the database: it hands raw profiles to its caller.
//!
//! ```
//! use std::path::Path;
//! use toker_model::Platform;
//! use toker_sources::import_export;
//!
//! # if !toker_sources::is_enabled(Platform::TikTok) { return Ok(()); }
//! // A person's TikTok data export (zip, folder or data file) becomes a raw profile.
//! let archive = Path::new("../toker-testkit/fixtures/tiktok/export/activity_layout.zip");
//! let imported = import_export(Platform::TikTok, archive)?;
//! assert_eq!(imported.platform, Platform::TikTok);
//! assert!(!imported.profile.liked_videos.is_empty());
//! // The fake source (module [`fake`]) makes up people like this for development.
//! # Ok::<(), toker_sources::SourceError>(())
//! ```

mod archive;
mod error;
mod export;
mod registry;
mod source;
mod warnings;

pub mod fake;
pub mod http;
pub mod oauth;

#[cfg(feature = "instagram")]
pub mod instagram;
#[cfg(feature = "tiktok")]
pub mod tiktok;
#[cfg(feature = "x")]
pub mod x;

pub use archive::{ArchiveEntry, ArchiveLimits, ExportArchive, RATIO_EXEMPT_BYTES};
pub use error::SourceError;
pub use export::{ExportSource, ImportLimits, import_export, import_export_with_limits};
pub use http::{ApiClient, ApiConfig, api_client, api_source};
pub use registry::{Registry, enabled_platforms, ensure_enabled, feature_of, is_enabled};
pub use source::{RawProfile, Source, SourceKind, UserRef};
pub use warnings::{MAX_EXAMPLES, Warning, WarningKind, Warnings};
