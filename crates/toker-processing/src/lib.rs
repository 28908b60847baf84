//! `toker-processing` owns what Toker does with validated profiles: cleaning, per-profile
//! summaries, the TF-IDF vocabulary and vectorizer (ndarray), and similarity matching.
//!
//! It must not touch the database or the network: callers hand it profiles and store
//! what it returns.
