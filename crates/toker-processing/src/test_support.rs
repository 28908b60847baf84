//! Helpers shared by the unit tests.

use toker_model::Video;

/// A video with the given tags and unknown counts.
pub(crate) fn video(id: &str, categories: &[&str], hashtags: &[&str]) -> Video {
    Video {
        categories: categories.iter().map(|s| (*s).to_owned()).collect(),
        hashtags: hashtags.iter().map(|s| (*s).to_owned()).collect(),
        ..Video::new(id)
    }
}
