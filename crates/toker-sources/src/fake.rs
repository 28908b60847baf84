//! The fake-data source: realistic, clustered, deterministic by seed.
