//! Top-k cosine matching over stored vectors.
//!
//! [`MatchIndex`] keeps the vectors twice, as ndarray arrays: by profile (CSR rows, to read
//! a profile's own vector and explain a match) and by feature (CSC posting lists, to score).
//! A query walks only the posting lists of its own features and adds each posting into a
//! dense per-profile accumulator, so its cost is the total length of those lists, not
//! the number of profiles times the vector length as a pairwise loop would be.
//!
//! Scores are cosine similarities (vectors are L2-normalised when the index is built).
//! Only positive scores are matches; results are ordered by score, then by id. Each match
//! lists the [`MATCH_FEATURES`] features that contributed most to its score
//! (contribution of a feature = query weight × match weight; they sum to the score).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::num::NonZeroUsize;

use ndarray::{Array1, ArrayView1, Axis, Slice};
use serde::{Deserialize, Serialize};
use toker_model::Platform;

use crate::{ProcessingError, SparseVector, Vocabulary};

/// How many contributing features each [`Match`] lists.
pub const MATCH_FEATURES: usize = 5;

/// How many queries [`MatchIndex::for_each_top_k`] answers between two calls of its
/// callback batch; bounds the memory held for results in flight.
const BLOCK: usize = 4_096;

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
    row_offsets: Array1<usize>,
    row_features: Array1<u32>,
    row_values: Array1<f32>,
    /// Feature `f`'s postings are `col_rows[col_offsets[f]..col_offsets[f + 1]]`, by row.
    col_offsets: Array1<usize>,
    col_rows: Array1<u32>,
    col_values: Array1<f32>,
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
        let mut col_counts = vec![0usize; features + 1];
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
                    col_counts[index as usize + 1] += 1;
                }
            }
            row_offsets.push(row_features.len());
        }
        // Counting sort into posting lists; rows are visited in order, so each list is
        // sorted by row.
        for f in 0..features {
            col_counts[f + 1] += col_counts[f];
        }
        let col_offsets = col_counts.clone();
        let mut next = col_counts;
        let mut col_rows = vec![0u32; row_features.len()];
        let mut col_values = vec![0f32; row_features.len()];
        for row in 0..rows {
            for p in row_offsets[row]..row_offsets[row + 1] {
                let f = row_features[p] as usize;
                // Row numbers fit u32: a Vec of u32 postings that long would not fit anyway
                // before 4 billion profiles; guard rather than wrap.
                col_rows[next[f]] = u32::try_from(row).unwrap_or(u32::MAX);
                col_values[next[f]] = row_values[p];
                next[f] += 1;
            }
        }
        Ok(MatchIndex {
            ids,
            platforms,
            rows_by_id,
            feature_names: vocabulary.terms().map(str::to_owned).collect(),
            row_offsets: Array1::from(row_offsets),
            row_features: Array1::from(row_features),
            row_values: Array1::from(row_values),
            col_offsets: Array1::from(col_offsets),
            col_rows: Array1::from(col_rows),
            col_values: Array1::from(col_values),
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
        let mut scratch = Scratch::new(self.len());
        let query = self.row(row);
        Ok(self.search(query, Some(row), k, platform, &mut scratch))
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
        let query = Row {
            features: ArrayView1::from(vector.indices()),
            values: ArrayView1::from(&values[..]),
        };
        let mut scratch = Scratch::new(self.len());
        self.search(query, None, k, platform, &mut scratch)
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
        mut visit: impl FnMut(i64, Vec<Match>),
    ) {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&r| platform.is_none_or(|p| self.platforms[r] == p))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let mut scratches: Vec<Scratch> = (0..threads).map(|_| Scratch::new(self.len())).collect();
        for block in rows.chunks(BLOCK) {
            let per_thread = block.len().div_ceil(threads);
            let results: Vec<Vec<Vec<Match>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = block
                    .chunks(per_thread)
                    .zip(scratches.iter_mut())
                    .map(|(part, scratch)| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|&r| self.search(self.row(r), Some(r), k, platform, scratch))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| match h.join() {
                        Ok(matches) => matches,
                        // `search` does not panic; if it ever did, re-raise it here.
                        Err(panic) => std::panic::resume_unwind(panic),
                    })
                    .collect()
            });
            for (&r, matches) in block.iter().zip(results.into_iter().flatten()) {
                visit(self.ids[r], matches);
            }
        }
    }

    fn row(&self, row: usize) -> Row<'_> {
        let range = self.row_offsets[row]..self.row_offsets[row + 1];
        Row {
            features: self
                .row_features
                .slice_axis(Axis(0), Slice::from(range.clone())),
            values: self.row_values.slice_axis(Axis(0), Slice::from(range)),
        }
    }

    /// Scores every profile sharing a feature with `query`, then keeps the best `k`.
    fn search(
        &self,
        query: Row<'_>,
        exclude: Option<usize>,
        k: usize,
        platform: Option<Platform>,
        scratch: &mut Scratch,
    ) -> Vec<Match> {
        if k == 0 || query.features.is_empty() {
            return Vec::new();
        }
        let scores = &mut scratch.scores;
        scores.fill(0.0);
        let n_features = self.col_offsets.len() - 1;
        for (&f, &q) in query.features.iter().zip(query.values.iter()) {
            let f = f as usize;
            if f >= n_features {
                continue;
            }
            let range = self.col_offsets[f]..self.col_offsets[f + 1];
            let rows = self
                .col_rows
                .slice_axis(Axis(0), Slice::from(range.clone()));
            let values = self.col_values.slice_axis(Axis(0), Slice::from(range));
            for (&r, &v) in rows.iter().zip(values.iter()) {
                scores[r as usize] += q * v;
            }
        }
        if let Some(r) = exclude {
            scores[r] = 0.0;
        }
        let best = self.best(scores.view(), k, platform);
        best.into_iter()
            .map(|(score, row)| Match {
                id: self.ids[row],
                platform: self.platforms[row],
                score,
                features: self.contributions(&query, self.row(row)),
            })
            .collect()
    }

    /// The `k` best (score, row) with a positive score, best first, ties by id.
    fn best(
        &self,
        scores: ArrayView1<'_, f32>,
        k: usize,
        platform: Option<Platform>,
    ) -> Vec<(f32, usize)> {
        let better = |a: &(f32, usize), b: &(f32, usize)| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.ids[a.1].cmp(&self.ids[b.1]))
        };
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        for (row, &score) in scores.iter().enumerate() {
            // Cheap rejections first: most rows score 0 or below the current k-th.
            if score <= 0.0 {
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
        }
        best
    }

    /// The features `query` and `other` share, by contribution, largest first.
    fn contributions(&self, query: &Row<'_>, other: Row<'_>) -> Vec<(String, f32)> {
        let mut shared: Vec<(u32, f32)> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < query.features.len() && j < other.features.len() {
            match query.features[i].cmp(&other.features[j]) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    shared.push((query.features[i], query.values[i] * other.values[j]));
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

/// One vector as views into the index or the query.
struct Row<'a> {
    features: ArrayView1<'a, u32>,
    values: ArrayView1<'a, f32>,
}

/// Per-thread working memory: one score accumulator per profile.
struct Scratch {
    scores: Array1<f32>,
}

impl Scratch {
    fn new(rows: usize) -> Self {
        Scratch {
            scores: Array1::zeros(rows),
        }
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
        let entries = vec![
            (1, Platform::TikTok, sparse(&[(0, 3.0), (1, 4.0)])),
            (2, Platform::TikTok, sparse(&[(0, 1.0)])),
            (3, Platform::Instagram, sparse(&[(1, 1.0)])),
            (4, Platform::X, sparse(&[(0, 4.0), (1, 3.0)])),
            (5, Platform::TikTok, sparse(&[(2, 7.0)])),
            (6, Platform::TikTok, SparseVector::default()),
            (7, Platform::X, sparse(&[(0, 2.0)])),
        ];
        MatchIndex::new(&vocabulary(3), entries).unwrap()
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
        ) {
            let index = MatchIndex::new(&vocabulary(12), entries.clone()).unwrap();
            for (query, (id, _, _)) in entries.iter().enumerate() {
                let got: Vec<(i64, f32)> = index
                    .top_k(*id, k, platform)
                    .unwrap()
                    .into_iter()
                    .map(|m| (m.id, m.score))
                    .collect();
                prop_assert_eq!(got, brute_force(&entries, query, k, platform));
            }
        }
    }
}
