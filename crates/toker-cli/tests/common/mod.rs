//! Helpers the CLI test files share: the platforms' fixtures (copies kept in
//! toker-sources/tests/fixtures) and profile comparison.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses a part of it

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A file under toker-sources/tests/fixtures.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../toker-sources/tests/fixtures")
        .join(rel)
}

/// A JSON fixture, parsed.
pub(crate) fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(rel)).unwrap()).unwrap()
}

/// The profile with its video lists turned into maps keyed by `video_id` (order is not part
/// of the contract).
pub(crate) fn comparable(mut profile: Value) -> Value {
    for list in ["liked_videos", "shared_videos"] {
        let videos: BTreeMap<String, Value> = profile[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["video_id"].as_str().unwrap().to_owned(), v.clone()))
            .collect();
        profile[list] = serde_json::to_value(videos).unwrap();
    }
    profile
}
