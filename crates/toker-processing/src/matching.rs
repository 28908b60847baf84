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
