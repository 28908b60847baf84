//! `toker-processing` owns what Toker does with validated profiles: cleaning, per-profile
//! summaries, the TF-IDF vocabulary and vectorizer (ndarray), and similarity matching.
//!
//! It must not touch the database or the network: callers hand it profiles and store
//! what it returns (vectors as `indices`/`values`, the vocabulary as JSON with its
//! version).
//!
//! The path of a profile, and where each step lives:
//! - [`records`]: splits an import (a JSON array or JSON Lines, any size) into records,
//!   one at a time, with their line numbers;
//! - [`prepare`](mod@prepare): resolves a record's platform, validates it (toker-model) and cleans it
//!   ([`clean_profile`]); every entry point (CLI, API, collectors) goes through it;
//! - [`summarize`]: a profile's top categories and hashtags;
//! - [`Vocabulary::fit_transform`] (or [`Vocabulary::fit`] then
//!   [`Vocabulary::transform_all`]): the vocabulary and the TF-IDF vectors
//!   ([`vectorize`] has the formula), both stored by the caller;
//! - [`MatchIndex`]: built from stored vectors and their vocabulary, answers top-k cosine
//!   queries for one profile, some, or all.
//!
//! Work over many profiles (fitting, transforming, all-pairs matching) is split over every
//! core with scoped threads; results never depend on the number of cores.
//!
//! # Example
//! ```
//! use toker_model::{Platform, Profile, Video};
//! use toker_processing::{MatchIndex, VectorizerConfig, Vocabulary, clean_profile, summarize};
//!
//! let person = |id: &str, tags: &[&str]| {
//!     let mut p = Profile::new(id, id);
//!     p.liked_videos = vec![Video {
//!         categories: vec!["music ".into()],
//!         hashtags: tags.iter().map(|t| t.to_string()).collect(),
//!         ..Video::new("v1")
//!     }];
//!     clean_profile(p)
//! };
//! let people = [person("a", &["#Dance", "Fun"]), person("b", &["dance"]), person("c", &["#chess"])];
//! assert_eq!(people[0].liked_videos[0].hashtags, ["#dance", "#fun"]);
//! assert_eq!(summarize(&people[0]).top_categories, [("Music".to_owned(), 1)]);
//!
//! let vocabulary = Vocabulary::fit(&people, VectorizerConfig::default()).unwrap();
//! let vectors = vocabulary.transform_all(&people);
//! let entries = (1..).zip(vectors).map(|(id, v)| (id, Platform::TikTok, v)).collect();
//! let index = MatchIndex::new(&vocabulary, entries).unwrap();
//! let matches = index.top_k(1, 2, None).unwrap();
//! assert_eq!(matches[0].id, 2); // shares #dance and Music with "a"
//! assert_eq!(matches[0].features[0].0, "h:#dance");
//! ```

mod clean;
mod error;
mod matching;
mod parallel;
pub mod prepare;
pub mod records;
mod summary;
#[cfg(test)]
mod test_support;
pub mod vectorize;
mod vocab;

pub use clean::{clean_category, clean_hashtag, clean_profile};
pub use error::ProcessingError;
pub use matching::{DENSE_MIN_ROWS, DENSE_SHARE, MATCH_FEATURES, MAX_DENSE, Match, MatchIndex};
pub use prepare::{Prepared, Rejected, prepare, prepare_profile, resolve_platform};
pub use records::{Position, RecordError, RecordReader};
pub use summary::{
    INTEREST_WEIGHT, LIKED_WEIGHT, SHARED_WEIGHT, Summary, TOP_N, relation_weight, summarize,
};
pub use vectorize::{SparseVector, engagement};
pub use vocab::{
    CATEGORY_PREFIX, FIT_CHUNK, HASHTAG_PREFIX, VOCABULARY_FORMAT, VectorizerConfig, Vocabulary,
    VocabularyBuilder,
};
