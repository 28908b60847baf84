//! The instagram data-export importer.
