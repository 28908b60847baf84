//! Top-k cosine matching over stored vectors.
//!
//! [`MatchIndex`] scores a query against every profile at once, into one `f32`
//! accumulator per profile, visiting only the (profile, feature)
//! pairs the query shares, in one of two ways:
//!
//! - a feature that few profiles carry has a posting list (CSC: the profiles that carry
//!   it, by row, with their weights); the query adds `its weight × theirs` into those
//!   profiles' accumulators;
//! - a feature that at least one profile in [`DENSE_SHARE`] carries (`#fyp`, a big
//!   category; at most [`MAX_DENSE`] of them) is a dense column instead, and the query adds
//!   it to all accumulators with ndarray's `scaled_add`, a contiguous loop the compiler
//!   vectorises: cheaper than a posting list that long.
//!
//! Adding `weight × 0` for the profiles that lack a dense feature changes no sum, and the
//! features are added in the query's feature order either way, so every score is exactly
//! the sparse dot product computed pairwise, whichever way each feature is stored, and a
//! query gets the same scores alone ([`MatchIndex::top_k`]) as in a batch
//! ([`MatchIndex::all_top_k`]). The vectors are also kept by profile (CSR rows), to build
//! queries and explain matches. Batches are split over every core, one accumulator per
//! thread.
//!
//! Scores are cosine similarities (vectors are L2-normalised when the index is built).
//! Only positive scores are matches; results are ordered by score, then by id. Each match
//! lists the [`MATCH_FEATURES`] features that contributed most to its score
//! (contribution of a feature = query weight × match weight; they sum to the score).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use ndarray::{Array2, ArrayViewMut1};
use serde::{Deserialize, Serialize};
use toker_model::Platform;

use crate::{ProcessingError, SparseVector, Vocabulary};

/// How many contributing features each [`Match`] lists.
pub const MATCH_FEATURES: usize = 5;

/// A feature carried by at least one profile in this many is scored densely: a posting
/// costs about four times a dense element (an index load and a scattered write).
pub const DENSE_SHARE: usize = 4;
/// ... and by at least this many profiles (below that, it makes no difference).
pub const DENSE_MIN_ROWS: usize = 256;
/// At most this many features are scored densely (the most common ones).
pub const MAX_DENSE: usize = 64;

/// How many queries [`MatchIndex::for_each_top_k`] answers between two calls of its
/// callback batch; bounds the memory held for results in flight.
const BLOCK: usize = 4_096;

/// Batches of fewer queries than this are answered on the calling thread.
const SERIAL_BELOW: usize = 64;

/// A profile similar to the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The matched profile's id (as the store numbers profiles).
    pub id: i64,
    /// The matched profile's platform.
    pub platform: Platform,
    /// Cosine similarity, in (0, 1] for TF-IDF vectors.
    pub score: f32,
    /// Up to [`MATCH_FEATURES`] features shared with the query, with their contribution to
    /// the score, largest first (ties by feature name).
    pub features: Vec<(String, f32)>,
}

/// Stored vectors, indexed for fast top-k cosine queries.
#[derive(Debug, Clone)]
pub struct MatchIndex {
    ids: Vec<i64>,
    platforms: Vec<Platform>,
    rows_by_id: HashMap<i64, usize>,
    feature_names: Vec<String>,
    /// Row `r`'s features are `row_features[row_offsets[r]..row_offsets[r + 1]]`.
    row_offsets: Vec<usize>,
    row_features: Vec<u32>,
    row_values: Vec<f32>,
    /// The dense column of each feature, or `u32::MAX` for a feature with a posting list.
    dense_column: Vec<u32>,
    /// `dense features × rows`: each dense feature's weight in every row (0 where absent),
    /// one contiguous row per feature.
    dense: Array2<f32>,
    /// Feature `f`'s postings are `col_rows[col_offsets[f]..col_offsets[f + 1]]`, by row
    /// (empty for dense features).
    col_offsets: Vec<usize>,
    col_rows: Vec<u32>,
    col_values: Vec<f32>,
}

/// One query: a normalised vector, and the row to leave out (the profile itself).
struct Query<'a> {
    features: &'a [u32],
    values: &'a [f32],
    exclude: Option<usize>,
}

impl MatchIndex {
    /// Indexes `(profile id, platform, vector)` entries made with `vocabulary`. Vectors are
    /// L2-normalised here, so stored vectors need not be; an all-zero vector never matches.
    ///
    /// # Errors
    /// [`ProcessingError::DuplicateProfile`] if an id repeats,
    /// [`ProcessingError::FeatureOutOfRange`] if a vector uses a feature the vocabulary
    /// lacks (it was made with another vocabulary).
    pub fn new(
        vocabulary: &Vocabulary,
        entries: Vec<(i64, Platform, SparseVector)>,
    ) -> Result<Self, ProcessingError> {
        let min_dense = (entries.len() / DENSE_SHARE).max(DENSE_MIN_ROWS);
        Self::build(vocabulary, entries, min_dense)
    }

    /// [`MatchIndex::new`] with features carried by at least `min_dense` profiles scored
    /// densely (tests use it to exercise both paths on small corpora).
    fn build(
        vocabulary: &Vocabulary,
        entries: Vec<(i64, Platform, SparseVector)>,
        min_dense: usize,
    ) -> Result<Self, ProcessingError> {
        let features = vocabulary.len();
        let rows = entries.len();
        let mut ids = Vec::with_capacity(rows);
        let mut platforms = Vec::with_capacity(rows);
        let mut rows_by_id = HashMap::with_capacity(rows);
        let mut row_offsets = Vec::with_capacity(rows + 1);
        row_offsets.push(0);
        let total: usize = entries.iter().map(|(_, _, v)| v.len()).sum();
        let mut row_features = Vec::with_capacity(total);
        let mut row_values = Vec::with_capacity(total);
        let mut carriers = vec![0usize; features];
        for (row, (id, platform, vector)) in entries.into_iter().enumerate() {
            match rows_by_id.entry(id) {
                Entry::Occupied(_) => return Err(ProcessingError::DuplicateProfile { id }),
                Entry::Vacant(slot) => slot.insert(row),
            };
            if let Some(&index) = vector.indices().last()
                && index as usize >= features
            {
                return Err(ProcessingError::FeatureOutOfRange {
                    id,
                    index,
                    features,
                });
            }
            ids.push(id);
            platforms.push(platform);
            let norm = vector.norm();
            if norm > 0.0 {
                for (index, value) in vector.iter() {
                    row_features.push(index);
                    row_values.push(value / norm);
                    carriers[index as usize] += 1;
                }
            }
            row_offsets.push(row_features.len());
        }

        // The most common features (ties by index) go dense.
        let mut common: Vec<usize> = (0..features)
            .filter(|&f| carriers[f] >= min_dense.max(1))
            .collect();
        common.sort_by(|&a, &b| carriers[b].cmp(&carriers[a]).then(a.cmp(&b)));
        common.truncate(MAX_DENSE);
        common.sort_unstable();
        let mut dense_column = vec![u32::MAX; features];
        for (column, &f) in (0u32..).zip(&common) {
            dense_column[f] = column;
        }
        let mut dense = Array2::<f32>::zeros((common.len(), rows));
        // Counting sort of the other features into posting lists; rows are visited in
        // order, so each list is sorted by row.
        let mut col_offsets = vec![0usize; features + 1];
        for f in 0..features {
            let postings = if dense_column[f] == u32::MAX {
                carriers[f]
            } else {
                0
            };
            col_offsets[f + 1] = col_offsets[f] + postings;
        }
        let mut next = col_offsets.clone();
        let mut col_rows = vec![0u32; col_offsets[features]];
        let mut col_values = vec![0f32; col_offsets[features]];
        for row in 0..rows {
            for p in row_offsets[row]..row_offsets[row + 1] {
                let f = row_features[p] as usize;
                match dense_column[f] {
                    u32::MAX => {
                        // Row numbers fit u32: 4 billion profiles would not fit in memory
                        // first; saturate rather than wrap.
                        col_rows[next[f]] = u32::try_from(row).unwrap_or(u32::MAX);
                        col_values[next[f]] = row_values[p];
                        next[f] += 1;
                    }
                    column => dense[[column as usize, row]] = row_values[p],
                }
            }
        }
        Ok(MatchIndex {
            ids,
            platforms,
            rows_by_id,
            feature_names: vocabulary.terms().map(str::to_owned).collect(),
            row_offsets,
            row_features,
            row_values,
            dense_column,
            dense,
            col_offsets,
            col_rows,
            col_values,
        })
    }

    /// How many profiles it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds no profile.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many features are scored densely (see the module documentation).
    #[must_use]
    pub fn dense_features(&self) -> usize {
        self.dense.nrows()
    }

    /// About how many bytes of heap it holds (its arrays and maps, not the allocator's
    /// overhead), for capacity planning.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let names: usize = self
            .feature_names
            .iter()
            .map(|n| n.capacity() + size_of::<String>())
            .sum();
        let map = self.rows_by_id.capacity() * (size_of::<(i64, usize)>() + 1);
        self.ids.capacity() * size_of::<i64>()
            + self.platforms.capacity() * size_of::<Platform>()
            + map
            + names
            + (self.row_offsets.len() + self.col_offsets.len()) * size_of::<usize>()
            + (self.row_features.len() + self.col_rows.len() + self.dense_column.len())
                * size_of::<u32>()
            + (self.row_values.len() + self.col_values.len() + self.dense.len()) * size_of::<f32>()
    }

    /// The `k` profiles most similar to profile `id`, excluding itself, optionally only
    /// those of `platform`.
    ///
    /// # Errors
    /// [`ProcessingError::UnknownProfile`] if the index holds no vector for `id`.
    pub fn top_k(
        &self,
        id: i64,
        k: usize,
        platform: Option<Platform>,
    ) -> Result<Vec<Match>, ProcessingError> {
        let row = *self
            .rows_by_id
            .get(&id)
            .ok_or(ProcessingError::UnknownProfile { id })?;
        Ok(self.search(&self.query(row), k, platform, &mut self.scratch()))
    }

    /// The `k` indexed profiles most similar to `vector` (e.g. a profile not stored yet),
    /// optionally only those of `platform`. Features beyond the vocabulary match nothing.
    #[must_use]
    pub fn top_k_vector(
        &self,
        vector: &SparseVector,
        k: usize,
        platform: Option<Platform>,
    ) -> Vec<Match> {
        let norm = vector.norm();
        if norm == 0.0 {
            return Vec::new();
        }
        let values: Vec<f32> = vector.values().iter().map(|v| v / norm).collect();
        let query = Query {
            features: vector.indices(),
            values: &values,
            exclude: None,
        };
        self.search(&query, k, platform, &mut self.scratch())
    }

    /// The top `k` matches of every profile (of `platform`, matched within `platform`, if
    /// given), in index order. Equal to calling [`MatchIndex::top_k`] for each.
    #[must_use]
    pub fn all_top_k(&self, k: usize, platform: Option<Platform>) -> Vec<(i64, Vec<Match>)> {
        let mut all = Vec::new();
        self.for_each_top_k(k, platform, |id, matches| all.push((id, matches)));
        all
    }

    /// Like [`MatchIndex::all_top_k`], but hands each profile's matches to `visit` (in
    /// index order) instead of collecting them, so memory stays bounded: queries are
    /// answered in blocks, each block split over every core.
    pub fn for_each_top_k(
        &self,
        k: usize,
        platform: Option<Platform>,
        visit: impl FnMut(i64, Vec<Match>),
    ) {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&r| platform.is_none_or(|p| self.platforms[r] == p))
            .collect();
        self.run_queries(&rows, k, platform, visit);
    }

    /// The top `k` matches of each of `ids` (matches only of `platform`, if given), in the
    /// order of `ids`, answered over every core. Equal to calling [`MatchIndex::top_k`] for
    /// each.
    ///
    /// # Errors
    /// [`ProcessingError::UnknownProfile`] for the first id the index does not hold.
    pub fn top_k_many(
        &self,
        ids: &[i64],
        k: usize,
        platform: Option<Platform>,
    ) -> Result<Vec<Vec<Match>>, ProcessingError> {
        let rows = ids
            .iter()
            .map(|&id| {
                self.rows_by_id
                    .get(&id)
                    .copied()
                    .ok_or(ProcessingError::UnknownProfile { id })
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let mut all = Vec::with_capacity(rows.len());
        self.run_queries(&rows, k, platform, |_, matches| all.push(matches));
        Ok(all)
    }

    /// Answers the queries of `rows` in blocks over every core, visiting results in order.
    fn run_queries(
        &self,
        rows: &[usize],
        k: usize,
        platform: Option<Platform>,
        mut visit: impl FnMut(i64, Vec<Match>),
    ) {
        for block in rows.chunks(BLOCK) {
            let parts = crate::parallel::map_parts(block, SERIAL_BELOW, |part| {
                let mut scores = self.scratch();
                part.iter()
                    .map(|&r| self.search(&self.query(r), k, platform, &mut scores))
                    .collect::<Vec<_>>()
            });
            for (&r, matches) in block.iter().zip(parts.into_iter().flatten()) {
                visit(self.ids[r], matches);
            }
        }
    }

    /// A score accumulator, one per profile.
    fn scratch(&self) -> Vec<f32> {
        vec![0.0; self.len()]
    }

    /// Row `row` as a query that leaves itself out.
    fn query(&self, row: usize) -> Query<'_> {
        let range = self.row_offsets[row]..self.row_offsets[row + 1];
        Query {
            features: &self.row_features[range.clone()],
            values: &self.row_values[range],
            exclude: Some(row),
        }
    }

    /// Scores every profile against `query` (see the module documentation), then keeps
    /// the best `k`.
    fn search(
        &self,
        query: &Query<'_>,
        k: usize,
        platform: Option<Platform>,
        scores: &mut [f32],
    ) -> Vec<Match> {
        if k == 0 || query.features.is_empty() {
            return Vec::new();
        }
        scores.fill(0.0);
        let n_features = self.dense_column.len();
        for (&f, &v) in query.features.iter().zip(query.values) {
            let f = f as usize;
            if f >= n_features {
                continue;
            }
            match self.dense_column[f] {
                u32::MAX => {
                    let range = self.col_offsets[f]..self.col_offsets[f + 1];
                    let rows = &self.col_rows[range.clone()];
                    for (&r, &w) in rows.iter().zip(&self.col_values[range]) {
                        scores[r as usize] += v * w;
                    }
                }
                column => {
                    ArrayViewMut1::from(&mut *scores)
                        .scaled_add(v, &self.dense.row(column as usize));
                }
            }
        }
        if let Some(r) = query.exclude {
            scores[r] = 0.0;
        }
        self.best(scores, k, platform)
            .into_iter()
            .map(|(score, row)| Match {
                id: self.ids[row],
                platform: self.platforms[row],
                score,
                features: self.contributions(query, row),
            })
            .collect()
    }

    /// The `k` best (score, row) with a positive score, best first, ties by id.
    fn best(&self, scores: &[f32], k: usize, platform: Option<Platform>) -> Vec<(f32, usize)> {
        let better = |a: &(f32, usize), b: &(f32, usize)| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.ids[a.1].cmp(&self.ids[b.1]))
        };
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        // The k-th score so far: most rows fall below it and cost one comparison.
        let mut floor = 0.0f32;
        for (row, &score) in scores.iter().enumerate() {
            if score <= 0.0 || score < floor {
                continue;
            }
            if best.len() == k
                && best
                    .last()
                    .is_some_and(|worst| better(worst, &(score, row)) != Ordering::Greater)
            {
                continue;
            }
            if platform.is_some_and(|p| self.platforms[row] != p) {
                continue;
            }
            let at = best.partition_point(|b| better(b, &(score, row)) == Ordering::Less);
            best.insert(at, (score, row));
            best.truncate(k);
            if best.len() == k {
                floor = best.last().map_or(0.0, |w| w.0);
            }
        }
        best
    }

    /// The features the query and row `row` share, by contribution, largest first.
    fn contributions(&self, query: &Query<'_>, row: usize) -> Vec<(String, f32)> {
        let range = self.row_offsets[row]..self.row_offsets[row + 1];
        let (features, values) = (&self.row_features[range.clone()], &self.row_values[range]);
        let mut shared: Vec<(u32, f32)> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < query.features.len() && j < features.len() {
            match query.features[i].cmp(&features[j]) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    shared.push((query.features[i], query.values[i] * values[j]));
                    i += 1;
                    j += 1;
                }
            }
        }
        // Feature indices follow name order, so the index breaks ties by name.
        shared.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        shared
            .into_iter()
            .take(MATCH_FEATURES)
            .filter_map(|(f, c)| Some((self.feature_names.get(f as usize)?.clone(), c)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VectorizerConfig;
    use crate::test_support::video;
    use proptest::prelude::*;
    use toker_model::Profile;

    /// A vocabulary of `n` hashtag features `h:#t00`, `h:#t01`, … (index = number).
    fn vocabulary(n: usize) -> Vocabulary {
        let mut p = Profile::new("v", "v");
        let tags: Vec<String> = (0..n).map(|i| format!("#t{i:02}")).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        p.liked_videos = vec![video("1", &[], &tags)];
        let config = VectorizerConfig {
            min_df: 1,
            ..VectorizerConfig::default()
        };
        Vocabulary::fit([p], config).unwrap()
    }

    fn sparse(pairs: &[(u32, f32)]) -> SparseVector {
        let (indices, values) = pairs.iter().copied().unzip();
        SparseVector::from_parts(indices, values).unwrap()
    }

    fn ids(matches: &[Match]) -> Vec<i64> {
        matches.iter().map(|m| m.id).collect()
    }

    /// Hand-made vectors over 3 features; the index normalises them:
    /// 1 tiktok    [3, 4, 0] → [0.6, 0.8, 0]
    /// 2 tiktok    [1, 0, 0] → [1, 0, 0]
    /// 3 instagram [0, 1, 0] → [0, 1, 0]
    /// 4 x         [4, 3, 0] → [0.8, 0.6, 0]
    /// 5 tiktok    [0, 0, 7] → [0, 0, 1]
    /// 6 tiktok    []        (no feature: never matches, never matched)
    /// 7 x         [2, 0, 0] → [1, 0, 0]
    fn index() -> MatchIndex {
        index_with(usize::MAX)
    }

    /// [`index`] with features carried by at least `min_dense` profiles scored densely.
    fn index_with(min_dense: usize) -> MatchIndex {
        let entries = vec![
            (1, Platform::TikTok, sparse(&[(0, 3.0), (1, 4.0)])),
            (2, Platform::TikTok, sparse(&[(0, 1.0)])),
            (3, Platform::Instagram, sparse(&[(1, 1.0)])),
            (4, Platform::X, sparse(&[(0, 4.0), (1, 3.0)])),
            (5, Platform::TikTok, sparse(&[(2, 7.0)])),
            (6, Platform::TikTok, SparseVector::default()),
            (7, Platform::X, sparse(&[(0, 2.0)])),
        ];
        MatchIndex::build(&vocabulary(3), entries, min_dense).unwrap()
    }

    #[test]
    fn top_k_ranks_by_hand_computed_cosine() {
        let index = index();
        // From 1 = [0.6, 0.8, 0]:
        //   4: 0.6×0.8 + 0.8×0.6 = 0.96   (contributions 0.48 and 0.48: a tie, by name)
        //   3: 0.8×1             = 0.8
        //   2: 0.6×1             = 0.6    and 7 the same: ties go by id, 2 before 7
        //   5: 0 (nothing shared), 6: empty, 1: itself → none of them match.
        let m = index.top_k(1, 10, None).unwrap();
        assert_eq!(ids(&m), [4, 3, 2, 7]);
        let scores: Vec<f32> = m.iter().map(|m| m.score).collect();
        for (got, want) in scores.iter().zip([0.96, 0.8, 0.6, 0.6]) {
            assert!((got - want).abs() < 1e-6, "{scores:?}");
        }
        assert_eq!(m[0].platform, Platform::X);
        let names: Vec<&str> = m[0].features.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["h:#t00", "h:#t01"]);
        assert!((m[0].features[0].1 - 0.48).abs() < 1e-6);
        assert_eq!(m[1].features.len(), 1);
        assert_eq!(m[1].features[0].0, "h:#t01");
        // The contributions add up to the score.
        let sum: f32 = m[0].features.iter().map(|(_, c)| c).sum();
        assert!((sum - m[0].score).abs() < 1e-6);
    }

    #[test]
    fn dense_and_sparse_scoring_agree() {
        // Feature 0 is carried by 4 profiles, 1 by 3, 2 by 1: 3 makes 0 and 1 dense.
        for (min_dense, dense) in [(usize::MAX, 0), (3, 2), (1, 3)] {
            let index = index_with(min_dense);
            assert_eq!(index.dense_features(), dense);
            let m = index.top_k(1, 10, None).unwrap();
            assert_eq!(ids(&m), [4, 3, 2, 7], "min_dense {min_dense}");
            for (got, want) in m.iter().zip([0.96, 0.8, 0.6, 0.6]) {
                assert!(
                    (got.score - want).abs() < 1e-6,
                    "min_dense {min_dense}: {m:?}"
                );
            }
            assert_eq!(
                index.all_top_k(3, None),
                index_with(usize::MAX).all_top_k(3, None)
            );
        }
    }

    #[test]
    fn k_and_platform_restrict_the_matches() {
        let index = index();
        assert_eq!(ids(&index.top_k(1, 2, None).unwrap()), [4, 3]);
        assert_eq!(
            ids(&index.top_k(1, 10, Some(Platform::TikTok)).unwrap()),
            [2]
        );
        assert_eq!(ids(&index.top_k(1, 10, Some(Platform::X)).unwrap()), [4, 7]);
        assert!(index.top_k(1, 0, None).unwrap().is_empty());
        // 2 and 7 are the same direction: cosine 1 (up to rounding).
        let m = index.top_k(2, 1, None).unwrap();
        assert_eq!(ids(&m), [7]);
        assert!((m[0].score - 1.0).abs() < 1e-6);
    }

    #[test]
    fn featureless_and_unknown_profiles() {
        let index = index();
        assert!(index.top_k(6, 5, None).unwrap().is_empty());
        assert!(index.top_k(5, 5, None).unwrap().is_empty());
        assert_eq!(
            index.top_k(99, 5, None).unwrap_err(),
            ProcessingError::UnknownProfile { id: 99 }
        );
        assert_eq!(index.len(), 7);
    }

    #[test]
    fn a_vector_not_in_the_index_can_be_matched() {
        let index = index();
        // [0, 5, 0] → [0, 1, 0]: 1 scores 0.8, 3 scores 1, 4 scores 0.6.
        let m = index.top_k_vector(&sparse(&[(1, 5.0)]), 10, None);
        assert_eq!(ids(&m), [3, 1, 4]);
        // Features beyond the vocabulary are ignored rather than read out of bounds.
        let m = index.top_k_vector(&sparse(&[(1, 1.0), (40, 1.0)]), 10, None);
        assert_eq!(ids(&m), [3, 1, 4]);
        assert!(
            index
                .top_k_vector(&SparseVector::default(), 10, None)
                .is_empty()
        );
    }

    #[test]
    fn all_top_k_equals_one_query_per_profile() {
        let index = index();
        let all = index.all_top_k(2, None);
        assert_eq!(ids_of(&all), [1, 2, 3, 4, 5, 6, 7]);
        for (id, matches) in &all {
            assert_eq!(matches, &index.top_k(*id, 2, None).unwrap(), "profile {id}");
        }
        let many = index
            .top_k_many(&[7, 1, 7], 2, Some(Platform::TikTok))
            .unwrap();
        assert_eq!(many.len(), 3);
        assert_eq!(many[0], index.top_k(7, 2, Some(Platform::TikTok)).unwrap());
        assert_eq!(many[1], index.top_k(1, 2, Some(Platform::TikTok)).unwrap());
        assert_eq!(many[2], many[0]);
        assert_eq!(
            index.top_k_many(&[1, 42], 2, None).unwrap_err(),
            ProcessingError::UnknownProfile { id: 42 }
        );
        // With a platform, only that platform's profiles are queried, matched within it.
        let x = index.all_top_k(2, Some(Platform::X));
        assert_eq!(ids_of(&x), [4, 7]);
        assert_eq!(ids(&x[0].1), [7]);
    }

    fn ids_of(all: &[(i64, Vec<Match>)]) -> Vec<i64> {
        all.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        let err = MatchIndex::new(
            &vocabulary(3),
            vec![
                (1, Platform::X, sparse(&[(0, 1.0)])),
                (1, Platform::X, sparse(&[(1, 1.0)])),
            ],
        )
        .unwrap_err();
        assert_eq!(err, ProcessingError::DuplicateProfile { id: 1 });
        let err = MatchIndex::new(
            &vocabulary(3),
            vec![(8, Platform::X, sparse(&[(0, 1.0), (3, 1.0)]))],
        )
        .unwrap_err();
        assert_eq!(
            err,
            ProcessingError::FeatureOutOfRange {
                id: 8,
                index: 3,
                features: 3
            }
        );
        assert!(err.to_string().contains("profile 8"), "{err}");
    }

    /// What the index must compute, the slow way: every pair, with the same normalisation
    /// and the same order of additions, so scores agree to the bit.
    fn brute_force(
        entries: &[(i64, Platform, SparseVector)],
        query: usize,
        k: usize,
        platform: Option<Platform>,
    ) -> Vec<(i64, f32)> {
        let unit = |v: &SparseVector| {
            let n = v.norm();
            let values = v.values().iter().map(|x| x / n).collect();
            SparseVector::from_parts(v.indices().to_vec(), values).unwrap()
        };
        let q = unit(&entries[query].2);
        let mut scored: Vec<(i64, f32)> = entries
            .iter()
            .enumerate()
            .filter(|(i, (_, p, v))| {
                *i != query && !v.is_empty() && platform.is_none_or(|want| *p == want)
            })
            .map(|(_, (id, _, v))| (*id, q.dot(&unit(v))))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }

    fn arb_entries() -> impl Strategy<Value = Vec<(i64, Platform, SparseVector)>> {
        let vector = proptest::collection::btree_map(0u32..12, 0.01f32..10.0, 0..5).prop_map(|m| {
            let (indices, values) = m.into_iter().unzip();
            SparseVector::from_parts(indices, values).unwrap()
        });
        let platform = proptest::sample::select(Platform::ALL.to_vec());
        proptest::collection::vec((platform, vector), 1..40).prop_map(|rows| {
            // Ids out of order, so that ties by id are not ties by position.
            (0..)
                .zip(rows)
                .map(|(i, (p, v))| ((i * 37) % 101, p, v))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_index_agrees_with_a_pairwise_loop(
            entries in arb_entries(),
            k in 1usize..8,
            platform in proptest::option::of(proptest::sample::select(Platform::ALL.to_vec())),
            min_dense in proptest::sample::select(vec![1usize, 4, usize::MAX]),
        ) {
            let index = MatchIndex::build(&vocabulary(12), entries.clone(), min_dense).unwrap();
            let all = index.all_top_k(k, None);
            for (query, (id, _, _)) in entries.iter().enumerate() {
                let got: Vec<(i64, f32)> = index
                    .top_k(*id, k, platform)
                    .unwrap()
                    .into_iter()
                    .map(|m| (m.id, m.score))
                    .collect();
                // Dense or not, features are added in the same order as the loop adds
                // them: the same bits.
                prop_assert_eq!(got, brute_force(&entries, query, k, platform));
                // A batch gives what one query gives, to the bit.
                prop_assert_eq!(&all[query].1, &index.top_k(*id, k, None).unwrap());
            }
        }
    }
}
