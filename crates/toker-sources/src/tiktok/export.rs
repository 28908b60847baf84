//! The tiktok data-export importer.
