//! The vocabulary: which features exist, how rare each is (IDF), and the settings that
//! turn a profile into a vector ([`crate::vectorize`]).
//!
//! Features are the categories and hashtags of a profile's videos, prefixed so that the
//! category `Dance` and the hashtag `#dance` stay distinct: `c:Dance`, `h:#dance`.
//! Terms are sorted by name and a term's index is its position, so the same corpus always
//! gives the same indices, whatever order hash maps iterate in.
//!
//! Fitting streams: [`VocabularyBuilder::add`] sees one profile at a time and keeps only the
//! document frequency of each distinct tag, so a 100k-profile corpus can come straight from
//! the database. Memory grows with the number of distinct tags, not of profiles.
//!
//! A fitted vocabulary is stored as JSON ([`Vocabulary::to_json`]) with a format version
//! ([`VOCABULARY_FORMAT`]) and a content version ([`Vocabulary::version`]): a hash of the
//! settings, the document count, and every term with its document frequency and IDF. Two
//! vocabularies with the same version give bit-identical vectors.

use std::borrow::Borrow;
use std::collections::HashMap;

use foldhash::fast::RandomState;

use serde::{Deserialize, Serialize};
use toker_model::Profile;

use crate::{ProcessingError, SparseVector};

/// The vocabulary JSON format this build writes and reads.
pub const VOCABULARY_FORMAT: &str = "toker-vocabulary/1";
/// The prefix of category features (`c:Music`).
pub const CATEGORY_PREFIX: &str = "c:";
/// The prefix of hashtag features (`h:#dance`).
pub const HASHTAG_PREFIX: &str = "h:";
/// How many profiles [`Vocabulary::fit`] holds at a time.
pub const FIT_CHUNK: usize = 8_192;

/// The maps from tag names: looked up once per tag of every video, so the hash matters.
/// foldhash is several times faster than std's SipHash on short strings and is seeded per
/// map, so crafted hashtags cannot aim at collisions known in advance.
type NameMap<V> = HashMap<String, V, RandomState>;

/// The settings of a vocabulary and of the vectors made with it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorizerConfig {
    /// A feature is kept only if at least this many profiles carry it. A feature seen in a
    /// single profile can never make two profiles similar, so the default is 2.
    pub min_df: u32,
    /// At most this many features are kept: the ones carried by the most profiles, ties
    /// broken by name.
    pub max_features: u32,
    /// How much a video's popularity raises its weight: a video with `n` interactions
    /// (likes, comments and shares) weighs `1 + ln(1 + n) / engagement_scale` (see
    /// [`crate::vectorize`]).
    /// Larger values flatten the effect; the default 10 makes a video with a million
    /// interactions weigh about 2.4 times one with none or unknown counts.
    pub engagement_scale: f32,
}

impl Default for VectorizerConfig {
    fn default() -> Self {
        VectorizerConfig {
            min_df: 2,
            max_features: 100_000,
            engagement_scale: 10.0,
        }
    }
}

impl VectorizerConfig {
    /// Checks that every setting is in range.
    ///
    /// # Errors
    /// [`ProcessingError::InvalidConfig`] naming the first setting out of range.
    pub fn validate(&self) -> Result<(), ProcessingError> {
        if self.min_df == 0 {
            return Err(invalid_config("min_df", "must be at least 1, got 0".into()));
        }
        if self.max_features == 0 {
            return Err(invalid_config(
                "max_features",
                "must be at least 1, got 0".into(),
            ));
        }
        if !(self.engagement_scale.is_finite() && self.engagement_scale > 0.0) {
            return Err(invalid_config(
                "engagement_scale",
                format!(
                    "must be a finite number above 0, got {}",
                    self.engagement_scale
                ),
            ));
        }
        Ok(())
    }
}

fn invalid_config(field: &'static str, message: String) -> ProcessingError {
    ProcessingError::InvalidConfig { field, message }
}

/// A fitted vocabulary: the features, their document frequencies and IDF weights, and the
/// settings used to fit it.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub(crate) config: VectorizerConfig,
    documents: u64,
    terms: Vec<String>,
    df: Vec<u32>,
    pub(crate) idf: Vec<f32>,
    version: String,
    /// Category name (without prefix) → feature index; derived from `terms`.
    pub(crate) category_index: NameMap<u32>,
    /// Hashtag (with its `#`, without prefix) → feature index; derived from `terms`.
    pub(crate) hashtag_index: NameMap<u32>,
}

impl PartialEq for Vocabulary {
    fn eq(&self, other: &Self) -> bool {
        // The lookup maps are derived from `terms`.
        self.version == other.version
            && self.config == other.config
            && self.documents == other.documents
            && self.terms == other.terms
            && self.df == other.df
            && self
                .idf
                .iter()
                .map(|x| x.to_bits())
                .eq(other.idf.iter().map(|x| x.to_bits()))
    }
}

impl Vocabulary {
    /// Fits a vocabulary over a corpus of cleaned profiles, streaming: profiles are taken
    /// [`FIT_CHUNK`] at a time, counted over every core, and dropped.
    ///
    /// # Errors
    /// [`ProcessingError::InvalidConfig`] if a setting is out of range.
    pub fn fit<I>(profiles: I, config: VectorizerConfig) -> Result<Self, ProcessingError>
    where
        I: IntoIterator,
        I::Item: Borrow<Profile>,
    {
        let mut builder = VocabularyBuilder::new(config)?;
        let mut chunk: Vec<I::Item> = Vec::new();
        for profile in profiles {
            chunk.push(profile);
            if chunk.len() == FIT_CHUNK {
                builder.add_all(&chunk);
                chunk.clear();
            }
        }
        builder.add_all(&chunk);
        Ok(builder.finish())
    }

    /// Fits a vocabulary over a corpus and returns it with the vector of every profile, in
    /// order, reading each profile once: the same result as [`Vocabulary::fit`] then
    /// [`Vocabulary::transform_all`], bit for bit, in about half the time, since walking
    /// a profile's videos and tags is most of the cost. Streams like `fit`: profiles are
    /// taken [`FIT_CHUNK`] at a time; what is kept of each is its distinct terms and
    /// weights (about 1 KiB for a profile with 80 distinct tags).
    ///
    /// # Errors
    /// [`ProcessingError::InvalidConfig`] if a setting is out of range.
    pub fn fit_transform<I>(
        profiles: I,
        config: VectorizerConfig,
    ) -> Result<(Self, Vec<SparseVector>), ProcessingError>
    where
        I: IntoIterator,
        I::Item: Borrow<Profile>,
    {
        let mut builder = VocabularyBuilder::new(config)?;
        let mut terms = TermArena::default();
        let mut chunk: Vec<I::Item> = Vec::new();
        for profile in profiles {
            chunk.push(profile);
            if chunk.len() == FIT_CHUNK {
                builder.add_all_terms(&chunk, &mut terms);
                chunk.clear();
            }
        }
        builder.add_all_terms(&chunk, &mut terms);
        Ok(builder.finish_with_vectors(&terms))
    }

    /// The content version: `vocab-1-` and 16 hex digits of a 64-bit FNV-1a hash of the
    /// format, settings, document count and every (term, document frequency, IDF).
    /// Deterministic across runs, machines and Rust versions.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The settings the vocabulary was fitted with.
    #[must_use]
    pub fn config(&self) -> &VectorizerConfig {
        &self.config
    }

    /// How many profiles the vocabulary was fitted on.
    #[must_use]
    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// How many features it has (the dimension of its vectors).
    #[must_use]
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether it has no feature at all (every vector it makes is empty).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The name of feature `index` (`c:Music`, `h:#dance`).
    #[must_use]
    pub fn term(&self, index: u32) -> Option<&str> {
        self.terms.get(index as usize).map(String::as_str)
    }

    /// All feature names, in index order (which is name order).
    pub fn terms(&self) -> impl ExactSizeIterator<Item = &str> {
        self.terms.iter().map(String::as_str)
    }

    /// The index of a feature by its prefixed name.
    #[must_use]
    pub fn index_of(&self, term: &str) -> Option<u32> {
        let index = self.terms.binary_search_by(|t| t.as_str().cmp(term)).ok()?;
        u32::try_from(index).ok()
    }

    /// The IDF weight of feature `index`: `1 + ln((1 + N) / (1 + df))` for `N` profiles.
    #[must_use]
    pub fn idf(&self, index: u32) -> Option<f32> {
        self.idf.get(index as usize).copied()
    }

    /// How many profiles of the corpus carry feature `index`.
    #[must_use]
    pub fn document_frequency(&self, index: u32) -> Option<u32> {
        self.df.get(index as usize).copied()
    }

    /// The vocabulary as JSON, for storage beside the vectors it made.
    #[must_use]
    pub fn to_json(&self) -> String {
        let stored = StoredVocabulary {
            format: VOCABULARY_FORMAT.to_owned(),
            version: self.version.clone(),
            config: self.config,
            documents: self.documents,
            terms: self
                .terms
                .iter()
                .zip(&self.df)
                .zip(&self.idf)
                .map(|((term, &df), &idf)| StoredTerm {
                    term: term.clone(),
                    df,
                    idf,
                })
                .collect(),
        };
        // Only strings, integers and finite floats: serialising cannot fail.
        serde_json::to_string(&stored).expect("a vocabulary always serialises to JSON")
    }

    /// Reads a vocabulary written by [`Vocabulary::to_json`], checking its format, its
    /// content and that its version matches its content.
    ///
    /// # Errors
    /// [`ProcessingError::UnsupportedVocabularyFormat`] for another format version,
    /// [`ProcessingError::InvalidVocabulary`] for anything else that is wrong.
    pub fn from_json(json: &str) -> Result<Self, ProcessingError> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| ProcessingError::InvalidVocabulary(format!("not valid JSON: {e}")))?;
        let format = value.get("format").and_then(serde_json::Value::as_str);
        if format != Some(VOCABULARY_FORMAT) {
            return Err(ProcessingError::UnsupportedVocabularyFormat {
                found: format.unwrap_or_default().to_owned(),
                expected: VOCABULARY_FORMAT,
            });
        }
        let stored: StoredVocabulary = serde_json::from_value(value)
            .map_err(|e| ProcessingError::InvalidVocabulary(e.to_string()))?;
        stored.config.validate()?;
        let mut terms = Vec::with_capacity(stored.terms.len());
        let mut df = Vec::with_capacity(stored.terms.len());
        let mut idf = Vec::with_capacity(stored.terms.len());
        for (i, t) in stored.terms.into_iter().enumerate() {
            check_stored_term(i, &t, terms.last(), stored.documents)?;
            terms.push(t.term);
            df.push(t.df);
            idf.push(t.idf);
        }
        let vocabulary = Vocabulary::from_parts(stored.config, stored.documents, terms, df, idf);
        if vocabulary.version != stored.version {
            return Err(ProcessingError::InvalidVocabulary(format!(
                "version {:?} does not match the content, which hashes to {:?} (edited or corrupted?)",
                stored.version, vocabulary.version
            )));
        }
        Ok(vocabulary)
    }

    fn from_parts(
        config: VectorizerConfig,
        documents: u64,
        terms: Vec<String>,
        df: Vec<u32>,
        idf: Vec<f32>,
    ) -> Self {
        let mut category_index = NameMap::default();
        let mut hashtag_index = NameMap::default();
        for (index, term) in (0u32..).zip(&terms) {
            if let Some(name) = term.strip_prefix(CATEGORY_PREFIX) {
                category_index.insert(name.to_owned(), index);
            } else if let Some(name) = term.strip_prefix(HASHTAG_PREFIX) {
                hashtag_index.insert(name.to_owned(), index);
            }
        }
        let version = content_version(&config, documents, &terms, &df, &idf);
        Vocabulary {
            config,
            documents,
            terms,
            df,
            idf,
            version,
            category_index,
            hashtag_index,
        }
    }
}

fn check_stored_term(
    position: usize,
    term: &StoredTerm,
    previous: Option<&String>,
    documents: u64,
) -> Result<(), ProcessingError> {
    let fail = |what: String| {
        Err(ProcessingError::InvalidVocabulary(format!(
            "terms[{position}] ({:?}): {what}",
            term.term
        )))
    };
    let name = term
        .term
        .strip_prefix(CATEGORY_PREFIX)
        .or_else(|| term.term.strip_prefix(HASHTAG_PREFIX));
    if name.is_none_or(str::is_empty) {
        return fail(format!(
            "must be {CATEGORY_PREFIX:?} or {HASHTAG_PREFIX:?} followed by a name"
        ));
    }
    if let Some(previous) = previous
        && previous.as_str() >= term.term.as_str()
    {
        return fail(format!(
            "terms must be sorted and unique, but it follows {previous:?}"
        ));
    }
    if term.df == 0 || u64::from(term.df) > documents {
        return fail(format!(
            "df must be between 1 and the {documents} documents, got {}",
            term.df
        ));
    }
    if !(term.idf.is_finite() && term.idf > 0.0) {
        return fail(format!(
            "idf must be a finite number above 0, got {}",
            term.idf
        ));
    }
    Ok(())
}

/// The vocabulary as stored: the format first, so that a reader can refuse another format
/// before looking at the rest.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredVocabulary {
    format: String,
    version: String,
    config: VectorizerConfig,
    documents: u64,
    terms: Vec<StoredTerm>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredTerm {
    term: String,
    df: u32,
    idf: f32,
}

/// Fits a [`Vocabulary`] one profile (or one batch) at a time, for corpora that come from a
/// stream (a database cursor, a file) and may not fit in memory.
#[derive(Debug, Clone)]
pub struct VocabularyBuilder {
    config: VectorizerConfig,
    counts: DfCounts,
}

/// The names seen so far, each with a number (its id, in order of first sight), and the
/// document frequency of each id.
#[derive(Debug, Clone, Default)]
pub(crate) struct DfCounts {
    documents: u64,
    categories: NameMap<u32>,
    hashtags: NameMap<u32>,
    df: Vec<u32>,
    /// The last document (numbered from 1) that counted each id, so that a name seen again
    /// in the same document counts once; 0 is no document.
    last: Vec<u64>,
}

/// Whether a name is a category or a hashtag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Category,
    Hashtag,
}

impl DfCounts {
    /// The id of a name, numbering it if it is new.
    pub(crate) fn id(&mut self, kind: Kind, name: &str) -> u32 {
        let map = match kind {
            Kind::Category => &mut self.categories,
            Kind::Hashtag => &mut self.hashtags,
        };
        // Look up by &str first so that known names cost no allocation.
        if let Some(&id) = map.get(name) {
            return id;
        }
        let id = u32::try_from(self.df.len()).unwrap_or(u32::MAX);
        map.insert(name.to_owned(), id);
        self.df.push(0);
        self.last.push(0);
        id
    }

    /// Counts one profile: each distinct category (of its videos or its interests) and
    /// hashtag once.
    fn add(&mut self, profile: &Profile) {
        self.documents += 1;
        let document = self.documents;
        let videos = profile.all_videos().flat_map(|(_, video)| {
            let categories = video.categories.iter().map(|c| (Kind::Category, c));
            let hashtags = video.hashtags.iter().map(|h| (Kind::Hashtag, h));
            categories.chain(hashtags)
        });
        let interests = profile.interests.iter().map(|c| (Kind::Category, c));
        for (kind, name) in videos.chain(interests) {
            let id = self.id(kind, name) as usize;
            if self.last[id] != document {
                self.last[id] = document;
                self.df[id] += 1;
            }
        }
    }

    /// Counts one profile and appends its distinct ids with their weights summed in video
    /// order (see [`crate::vectorize`]) to `terms`.
    fn add_terms(
        &mut self,
        profile: &Profile,
        engagement_scale: f32,
        buffer: &mut Vec<(u64, f64)>,
        terms: &mut TermArena,
    ) {
        self.documents += 1;
        crate::vectorize::weighted_occurrences(profile, engagement_scale, buffer, |k, n| {
            Some(self.id(k, n))
        });
        crate::vectorize::sum_by_id(buffer);
        for &(id, weight) in buffer.iter() {
            self.df[id as usize] += 1;
            terms.ids.push(id as u32);
            terms.weights.push(weight);
        }
        terms.ends.push(terms.ids.len());
    }

    /// Adds the counts of another part; returns where each of its ids went. Its `last`
    /// marks are dropped: every document added later has a number above both parts'.
    fn merge(&mut self, other: DfCounts) -> Vec<u32> {
        self.documents += other.documents;
        let mut moved = vec![0; other.df.len()];
        for (kind, names) in [
            (Kind::Category, other.categories),
            (Kind::Hashtag, other.hashtags),
        ] {
            for (name, theirs) in names {
                let mine = self.id(kind, &name);
                self.df[mine as usize] += other.df[theirs as usize];
                moved[theirs as usize] = mine;
            }
        }
        moved
    }

    /// The vocabulary of these counts, and the feature index of each id (`u32::MAX` for
    /// the names left out).
    fn finish(self, config: VectorizerConfig) -> (Vocabulary, Vec<u32>) {
        let DfCounts {
            documents,
            categories,
            hashtags,
            df,
            ..
        } = self;
        let mut kept: Vec<(String, u32, u32)> = categories
            .into_iter()
            .map(|(name, id)| (format!("{CATEGORY_PREFIX}{name}"), id))
            .chain(
                hashtags
                    .into_iter()
                    .map(|(name, id)| (format!("{HASHTAG_PREFIX}{name}"), id)),
            )
            .map(|(term, id)| (term, df[id as usize], id))
            .filter(|&(_, df, _)| df >= config.min_df)
            .collect();
        let max = config.max_features as usize;
        if kept.len() > max {
            // Names are unique, so this order is total and the cut deterministic.
            kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            kept.truncate(max);
        }
        kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut feature_of = vec![u32::MAX; df.len()];
        for (index, (_, _, id)) in (0u32..).zip(&kept) {
            feature_of[*id as usize] = index;
        }
        let n = documents as f64;
        let idf = kept
            .iter()
            .map(|(_, df, _)| (1.0 + ((1.0 + n) / (1.0 + f64::from(*df))).ln()) as f32)
            .collect();
        let (terms, df) = kept.into_iter().map(|(term, df, _)| (term, df)).unzip();
        let vocabulary = Vocabulary::from_parts(config, documents, terms, df, idf);
        (vocabulary, feature_of)
    }
}

/// Many profiles' distinct name ids and summed weights, end to end in three arrays (a
/// vector per profile would cost an allocation each).
#[derive(Debug, Default)]
pub(crate) struct TermArena {
    /// Profile `p`'s terms are `ids[ends[p - 1]..ends[p]]` (from 0 for the first).
    ends: Vec<usize>,
    ids: Vec<u32>,
    weights: Vec<f64>,
}

impl TermArena {
    /// Profile `p`'s (ids, weights).
    fn get(&self, p: usize) -> (&[u32], &[f64]) {
        let start = if p == 0 { 0 } else { self.ends[p - 1] };
        let range = start..self.ends[p];
        (&self.ids[range.clone()], &self.weights[range])
    }

    /// Appends `other`, renumbering its ids with `moved`.
    fn append(&mut self, other: TermArena, moved: &[u32]) {
        let offset = self.ids.len();
        self.ends
            .extend(other.ends.into_iter().map(|end| end + offset));
        self.ids
            .extend(other.ids.into_iter().map(|id| moved[id as usize]));
        self.weights.extend(other.weights);
    }
}

impl VocabularyBuilder {
    /// A builder with nothing seen yet.
    ///
    /// # Errors
    /// [`ProcessingError::InvalidConfig`] if a setting is out of range.
    pub fn new(config: VectorizerConfig) -> Result<Self, ProcessingError> {
        config.validate()?;
        Ok(VocabularyBuilder {
            config,
            counts: DfCounts::default(),
        })
    }

    /// Counts one cleaned profile: each distinct category and hashtag it carries counts
    /// once, however many of its videos carry it.
    pub fn add(&mut self, profile: &Profile) {
        self.counts.add(profile);
    }

    /// Counts a batch of cleaned profiles over every core; the same as [`Self::add`] on
    /// each.
    pub fn add_all<P: Borrow<Profile>>(&mut self, profiles: &[P]) {
        let profiles: Vec<&Profile> = profiles.iter().map(Borrow::borrow).collect();
        let parts = crate::parallel::map_parts(&profiles, 1_000, |part| {
            let mut counts = DfCounts::default();
            for profile in part {
                counts.add(profile);
            }
            counts
        });
        for part in parts {
            self.counts.merge(part);
        }
    }

    /// Counts a batch of cleaned profiles over every core and keeps, for each, its terms
    /// with their weights (ids of this builder), for [`Self::finish_with_vectors`].
    pub(crate) fn add_all_terms<P: Borrow<Profile>>(
        &mut self,
        profiles: &[P],
        terms: &mut TermArena,
    ) {
        let profiles: Vec<&Profile> = profiles.iter().map(Borrow::borrow).collect();
        let scale = self.config.engagement_scale;
        let parts = crate::parallel::map_parts(&profiles, 1_000, |part| {
            let mut counts = DfCounts::default();
            let mut part_terms = TermArena::default();
            let mut buffer = Vec::new();
            for profile in part {
                counts.add_terms(profile, scale, &mut buffer, &mut part_terms);
            }
            (counts, part_terms)
        });
        for (counts, part_terms) in parts {
            let moved = self.counts.merge(counts);
            terms.append(part_terms, &moved);
        }
    }

    /// How many profiles it has seen.
    #[must_use]
    pub fn documents(&self) -> u64 {
        self.counts.documents
    }

    /// The vocabulary of what it has seen: features carried by at least `min_df` profiles,
    /// at most `max_features` of them (the most frequent, ties by name), sorted by name.
    #[must_use]
    pub fn finish(self) -> Vocabulary {
        self.counts.finish(self.config).0
    }

    /// The vocabulary, and the vectors of the profiles whose terms were kept.
    pub(crate) fn finish_with_vectors(self, terms: &TermArena) -> (Vocabulary, Vec<SparseVector>) {
        let (vocabulary, feature_of) = self.counts.finish(self.config);
        let profiles: Vec<usize> = (0..terms.ends.len()).collect();
        let vectors = crate::parallel::map_parts(&profiles, 2_000, |part| {
            let mut buffer: Vec<(u64, f64)> = Vec::new();
            part.iter()
                .map(|&p| {
                    let (ids, weights) = terms.get(p);
                    buffer.clear();
                    buffer.extend(
                        ids.iter()
                            .zip(weights)
                            .map(|(&id, &w)| (feature_of[id as usize], w))
                            .filter(|&(f, _)| f != u32::MAX)
                            .map(|(f, w)| (u64::from(f), w)),
                    );
                    // Distinct ids have distinct features: the order is total.
                    buffer.sort_unstable_by_key(|&(f, _)| f);
                    vocabulary.finish_vector(&mut buffer)
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        (vocabulary, vectors)
    }
}

/// 64-bit FNV-1a: tiny, stable forever (unlike `std`'s hasher), and enough to tell
/// vocabularies apart; it is not meant to resist forgery.
struct Fnv1a(u64);

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Length-prefixed, so that ("ab", "c") and ("a", "bc") hash differently.
    fn write_str(&mut self, s: &str) {
        self.write(&(s.len() as u64).to_le_bytes());
        self.write(s.as_bytes());
    }
}

fn content_version(
    config: &VectorizerConfig,
    documents: u64,
    terms: &[String],
    df: &[u32],
    idf: &[f32],
) -> String {
    let mut h = Fnv1a(0xcbf2_9ce4_8422_2325);
    h.write_str(VOCABULARY_FORMAT);
    h.write(&config.min_df.to_le_bytes());
    h.write(&config.max_features.to_le_bytes());
    h.write(&config.engagement_scale.to_bits().to_le_bytes());
    h.write(&documents.to_le_bytes());
    h.write(&(terms.len() as u64).to_le_bytes());
    for ((term, df), idf) in terms.iter().zip(df).zip(idf) {
        h.write_str(term);
        h.write(&df.to_le_bytes());
        h.write(&idf.to_bits().to_le_bytes());
    }
    format!("vocab-1-{:016x}", h.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::video;

    fn profile(videos: &[(&[&str], &[&str])]) -> Profile {
        let mut p = Profile::new("1", "u");
        p.liked_videos = videos
            .iter()
            .enumerate()
            .map(|(i, (categories, hashtags))| video(&i.to_string(), categories, hashtags))
            .collect();
        p
    }

    fn min_df(min_df: u32) -> VectorizerConfig {
        VectorizerConfig {
            min_df,
            ..VectorizerConfig::default()
        }
    }

    fn corpus() -> Vec<Profile> {
        vec![
            profile(&[(&["Music"], &["#dance"]), (&["Music", "Dance"], &["#fyp"])]),
            profile(&[(&["Dance"], &["#dance", "#fyp"])]),
            profile(&[(&["Food"], &["#fyp"])]),
        ]
    }

    #[test]
    fn fit_counts_document_frequencies_and_idf() {
        let config = min_df(1);
        let v = Vocabulary::fit(corpus(), config).unwrap();
        let terms: Vec<_> = v.terms().collect();
        // Sorted by name; categories ("c:") before hashtags ("h:"), and the category
        // Dance distinct from the hashtag #dance.
        assert_eq!(
            terms,
            ["c:Dance", "c:Food", "c:Music", "h:#dance", "h:#fyp"]
        );
        // df: Dance 2, Food 1, Music 1 (twice in profile 0, counted once), #dance 2, #fyp 3.
        let df: Vec<_> = (0..5).map(|i| v.document_frequency(i).unwrap()).collect();
        assert_eq!(df, [2, 1, 1, 2, 3]);
        // idf = 1 + ln((1 + 3) / (1 + df)): df 1 → 1 + ln 2 = 1.693147; df 2 → 1 + ln(4/3)
        // = 1.287682; df 3 → 1 + ln 1 = 1.
        let idf: Vec<_> = (0..5).map(|i| v.idf(i).unwrap()).collect();
        let expected = [1.287_682, 1.693_147, 1.693_147, 1.287_682, 1.0];
        for (got, want) in idf.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{idf:?}");
        }
        assert_eq!(v.documents(), 3);
        assert_eq!(v.index_of("h:#fyp"), Some(4));
        assert_eq!(v.index_of("h:#nope"), None);
    }

    #[test]
    fn min_df_and_max_features_cut_rare_features() {
        let config = min_df(2);
        let v = Vocabulary::fit(corpus(), config).unwrap();
        assert_eq!(
            v.terms().collect::<Vec<_>>(),
            ["c:Dance", "h:#dance", "h:#fyp"]
        );

        // Keep 2: #fyp (df 3) first, then c:Dance and h:#dance tie at 2 → "c:Dance" wins.
        let config = VectorizerConfig {
            min_df: 1,
            max_features: 2,
            ..VectorizerConfig::default()
        };
        let v = Vocabulary::fit(corpus(), config).unwrap();
        assert_eq!(v.terms().collect::<Vec<_>>(), ["c:Dance", "h:#fyp"]);
    }

    #[test]
    fn fitting_does_not_depend_on_corpus_order() {
        let config = VectorizerConfig::default();
        let mut reversed = corpus();
        reversed.reverse();
        let a = Vocabulary::fit(corpus(), config).unwrap();
        let b = Vocabulary::fit(reversed, config).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.version(), b.version());
    }

    #[test]
    fn version_changes_with_content_and_settings() {
        let config = min_df(1);
        let a = Vocabulary::fit(corpus(), config).unwrap();
        let b = Vocabulary::fit(&corpus()[..2], config).unwrap();
        let c = Vocabulary::fit(
            corpus(),
            VectorizerConfig {
                engagement_scale: 5.0,
                ..config
            },
        )
        .unwrap();
        assert!(a.version().starts_with("vocab-1-") && a.version().len() == 24);
        assert_ne!(a.version(), b.version());
        assert_ne!(a.version(), c.version());
    }

    #[test]
    fn json_round_trips_exactly() {
        let v = Vocabulary::fit(corpus(), VectorizerConfig::default()).unwrap();
        let json = v.to_json();
        let back = Vocabulary::from_json(&json).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.to_json(), json);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["format"], VOCABULARY_FORMAT);
        assert_eq!(value["version"], v.version());
    }

    #[test]
    fn from_json_refuses_another_format_by_name() {
        let v = Vocabulary::fit(corpus(), VectorizerConfig::default()).unwrap();
        let json = v.to_json().replace(VOCABULARY_FORMAT, "toker-vocabulary/9");
        let err = Vocabulary::from_json(&json).unwrap_err();
        assert_eq!(
            err,
            ProcessingError::UnsupportedVocabularyFormat {
                found: "toker-vocabulary/9".into(),
                expected: VOCABULARY_FORMAT
            }
        );
        assert!(err.to_string().contains("toker-vocabulary/9"), "{err}");
        let err = Vocabulary::from_json("{}").unwrap_err();
        assert!(matches!(
            err,
            ProcessingError::UnsupportedVocabularyFormat { .. }
        ));
    }

    #[test]
    fn from_json_refuses_edited_or_malformed_content() {
        let v = Vocabulary::fit(corpus(), VectorizerConfig::default()).unwrap();
        let json = v.to_json();
        let cases = [
            (
                json.replace("\"df\":3", "\"df\":2"),
                "does not match the content",
            ),
            (json.replace("h:#fyp", "x:#fyp"), "terms[2]"),
            (json.replace("h:#fyp", "c:Dance"), "sorted and unique"),
            (
                json.replace("\"df\":3", "\"df\":9"),
                "df must be between 1 and the 3",
            ),
            (json.replace("\"min_df\":2", "\"min_df\":0"), "min_df"),
            (
                json.replace("\"terms\"", "\"extra\":1,\"terms\""),
                "unknown field",
            ),
            ("not json".to_owned(), "not valid JSON"),
        ];
        for (bad, needle) in cases {
            let err = Vocabulary::from_json(&bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
    }

    proptest::proptest! {
        /// `from_json` reads numbers through `serde_json::Value` (as f64, then f32): every
        /// IDF must come back with the same bits, or a stored vocabulary would fail its
        /// version check.
        #[test]
        fn idf_values_survive_json_exactly(documents in 1u64..10_000_000, df in 1u64..10_000_000) {
            let (n, df) = (documents.max(df) as f64, df as f64);
            let idf = (1.0 + ((1.0 + n) / (1.0 + df)).ln()) as f32;
            let text = serde_json::to_string(&idf).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let back: f32 = serde_json::from_value(value).unwrap();
            proptest::prop_assert_eq!(back.to_bits(), idf.to_bits(), "{}", text);
        }

        #[test]
        fn any_finite_f32_survives_json_exactly(bits in proptest::prelude::any::<u32>()) {
            let x = f32::from_bits(bits);
            if x.is_finite() {
                let value: serde_json::Value =
                    serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
                let back: f32 = serde_json::from_value(value).unwrap();
                proptest::prop_assert_eq!(back.to_bits(), x.to_bits());
            }
        }
    }

    #[test]
    fn invalid_settings_are_refused_by_name() {
        for (config, field) in [
            (min_df(0), "min_df"),
            (
                VectorizerConfig {
                    max_features: 0,
                    ..VectorizerConfig::default()
                },
                "max_features",
            ),
            (
                VectorizerConfig {
                    engagement_scale: f32::NAN,
                    ..VectorizerConfig::default()
                },
                "engagement_scale",
            ),
            (
                VectorizerConfig {
                    engagement_scale: -1.0,
                    ..VectorizerConfig::default()
                },
                "engagement_scale",
            ),
        ] {
            let err = VocabularyBuilder::new(config).unwrap_err();
            assert!(
                matches!(err, ProcessingError::InvalidConfig { field: f, .. } if f == field),
                "{err}"
            );
        }
    }
}
