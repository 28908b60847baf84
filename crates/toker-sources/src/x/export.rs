//! The x data-export importer.
