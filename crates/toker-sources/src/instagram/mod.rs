//! instagram support: the official API client (`api`) and the data-export importer (`export`).

pub mod api;
pub mod export;
