//! Profiles as sparse, L2-normalised `f32` TF-IDF vectors over a [`Vocabulary`].
//!
//! For a cleaned profile `p`, a feature `t` (a category or hashtag) and a corpus of `N`
//! profiles of which `df(t)` carry `t`:
//!
//! ```text
//! tf(t)  = Σ over p's videos v that carry t:  relation_weight(v) × engagement(v)
//!          (+ 1 when t is a category among the profile's own `interests`)
//!          relation_weight = 1 for a liked video, 2 for a shared one (crate::summary)
//!          engagement(v)   = 1 + ln(1 + likes + comments + shares) / engagement_scale
//!                            (unknown counts count 0, so a video without counts weighs 1)
//! idf(t) = 1 + ln((1 + N) / (1 + df(t)))
//! x(t)   = tf(t) × idf(t);   vector = x / ‖x‖₂
//! ```
//!
//! Features missing from the vocabulary are ignored; a profile with none left gets the
//! empty vector. Everything is computed in `f64` in index order and rounded to `f32` once,
//! so transforming the same profile with the same vocabulary is bit-for-bit stable.
//!
//! Vectors are sparse ([`SparseVector`]): a profile carries tens of features out of a
//! vocabulary of thousands, and a dense 100k × vocabulary matrix would not fit in memory.

use serde::{Deserialize, Serialize};
use toker_model::{Profile, Video};

use crate::ProcessingError;
use crate::summary::{INTEREST_WEIGHT, relation_weight};
use crate::vocab::{Kind, Vocabulary};

/// A sparse `f32` vector: strictly increasing feature indices and their values, exactly as
/// the store persists them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredSparseVector")]
pub struct SparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

#[derive(Deserialize)]
struct StoredSparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl TryFrom<StoredSparseVector> for SparseVector {
    type Error = ProcessingError;

    fn try_from(stored: StoredSparseVector) -> Result<Self, Self::Error> {
        SparseVector::from_parts(stored.indices, stored.values)
    }
}

impl SparseVector {
    /// Builds a vector from stored parts, checking them.
    ///
    /// # Errors
    /// [`ProcessingError::LengthMismatch`], [`ProcessingError::UnsortedIndices`] (unsorted
    /// or repeated) or [`ProcessingError::NonFiniteValue`], naming the position at fault.
    pub fn from_parts(indices: Vec<u32>, values: Vec<f32>) -> Result<Self, ProcessingError> {
        if indices.len() != values.len() {
            return Err(ProcessingError::LengthMismatch {
                indices: indices.len(),
                values: values.len(),
            });
        }
        for (position, pair) in indices.windows(2).enumerate() {
            if pair[0] >= pair[1] {
                return Err(ProcessingError::UnsortedIndices {
                    position: position + 1,
                    previous: pair[0],
                    index: pair[1],
                });
            }
        }
        if let Some((position, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ProcessingError::NonFiniteValue { position, value });
        }
        Ok(SparseVector { indices, values })
    }

    /// The parts to store: (indices, values).
    #[must_use]
    pub fn into_parts(self) -> (Vec<u32>, Vec<f32>) {
        (self.indices, self.values)
    }

    /// The feature indices, strictly increasing.
    #[must_use]
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The values, one per index.
    #[must_use]
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// How many features are stored (non-zero entries).
    #[must_use]
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether no feature is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// (index, value) pairs in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u32, f32)> + '_ {
        self.indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// The Euclidean norm.
    #[must_use]
    pub fn norm(&self) -> f32 {
        self.values
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt() as f32
    }

    /// The dot product with another sparse vector (a merge of the two index lists).
    #[must_use]
    pub fn dot(&self, other: &SparseVector) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.values[i] * other.values[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// The cosine similarity with another vector; 0 when either is all zeros.
    #[must_use]
    pub fn cosine(&self, other: &SparseVector) -> f32 {
        let norms = self.norm() * other.norm();
        if norms > 0.0 {
            self.dot(other) / norms
        } else {
            0.0
        }
    }
}

/// How much a video's popularity raises its weight:
/// `1 + ln(1 + likes + comments + shares) / engagement_scale`, unknown counts as 0.
#[must_use]
pub fn engagement(video: &Video, engagement_scale: f32) -> f64 {
    let interactions = [video.likes, video.comments, video.shares]
        .into_iter()
        .flatten()
        .fold(0u64, u64::saturating_add);
    // u64 → f64 rounds above 2^53; irrelevant at the scale of a logarithm.
    1.0 + (interactions as f64).ln_1p() / f64::from(engagement_scale)
}

/// Every (category or hashtag, video) occurrence of a profile that `id_of` numbers, into
/// `entries` (cleared first) as `(id << 32 | occurrence number, relation weight ×
/// engagement)`: the keys are unique, so sorting them groups each id's occurrences in
/// video order.
pub(crate) fn weighted_occurrences(
    profile: &Profile,
    engagement_scale: f32,
    entries: &mut Vec<(u64, f64)>,
    mut id_of: impl FnMut(Kind, &str) -> Option<u32>,
) {
    entries.clear();
    let total: usize = profile
        .all_videos()
        .map(|(_, v)| v.categories.len() + v.hashtags.len())
        .sum();
    entries.reserve(total + profile.interests.len());
    for (relation, video) in profile.all_videos() {
        let weight = f64::from(relation_weight(relation)) * engagement(video, engagement_scale);
        let categories = video.categories.iter().map(|c| (Kind::Category, c));
        let hashtags = video.hashtags.iter().map(|h| (Kind::Hashtag, h));
        for (kind, name) in categories.chain(hashtags) {
            if let Some(id) = id_of(kind, name) {
                // A profile with 2^32 tags would not fit in memory first.
                let occurrence = entries.len() as u64 & u64::from(u32::MAX);
                entries.push(((u64::from(id) << 32) | occurrence, weight));
            }
        }
    }
    // The profile's own interests come after every video, as categories of weight
    // INTEREST_WEIGHT (no engagement: they are no video).
    let weight = f64::from(INTEREST_WEIGHT);
    for name in &profile.interests {
        if let Some(id) = id_of(Kind::Category, name) {
            let occurrence = entries.len() as u64 & u64::from(u32::MAX);
            entries.push(((u64::from(id) << 32) | occurrence, weight));
        }
    }
}

/// Sorts [`weighted_occurrences`] and sums them per id in place, in video order: `entries`
/// becomes one `(id, sum)` per id, ids ascending.
pub(crate) fn sum_by_id(entries: &mut Vec<(u64, f64)>) {
    entries.sort_unstable_by_key(|&(key, _)| key);
    let mut kept = 0;
    for read in 0..entries.len() {
        let (key, weight) = entries[read];
        let id = key >> 32;
        if kept > 0 && entries[kept - 1].0 == id {
            entries[kept - 1].1 += weight;
        } else {
            entries[kept] = (id, weight);
            kept += 1;
        }
    }
    entries.truncate(kept);
}

impl Vocabulary {
    /// The TF-IDF vector of a cleaned profile (formula in [`crate::vectorize`]).
    #[must_use]
    pub fn transform(&self, profile: &Profile) -> SparseVector {
        self.transform_with(profile, &mut Vec::new())
    }

    /// [`Vocabulary::transform`] with a reusable buffer.
    fn transform_with(&self, profile: &Profile, buffer: &mut Vec<(u64, f64)>) -> SparseVector {
        weighted_occurrences(
            profile,
            self.config.engagement_scale,
            buffer,
            |kind, name| {
                match kind {
                    Kind::Category => self.category_index.get(name),
                    Kind::Hashtag => self.hashtag_index.get(name),
                }
                .copied()
            },
        );
        sum_by_id(buffer);
        self.finish_vector(buffer)
    }

    /// The vector of summed weights per feature (`(feature, weight)`, features strictly
    /// increasing): × IDF, then L2-normalised, rounded to `f32` once.
    pub(crate) fn finish_vector(&self, weights: &mut [(u64, f64)]) -> SparseVector {
        for (index, w) in weights.iter_mut() {
            *w *= f64::from(self.idf[*index as usize]);
        }
        let norm = weights.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            SparseVector {
                indices: weights.iter().map(|&(index, _)| index as u32).collect(),
                values: weights.iter().map(|&(_, w)| (w / norm) as f32).collect(),
            }
        } else {
            SparseVector::default()
        }
    }

    /// The vectors of many profiles, in order, using every core: the result is identical
    /// to transforming them one by one.
    #[must_use]
    pub fn transform_all(&self, profiles: &[Profile]) -> Vec<SparseVector> {
        // Below a few thousand profiles a thread costs more than it saves.
        crate::parallel::map_parts(profiles, 2_000, |part| {
            let mut buffer = Vec::new();
            part.iter()
                .map(|p| self.transform_with(p, &mut buffer))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::VectorizerConfig;
    use toker_model::Video;

    fn video(id: &str, categories: &[&str], hashtags: &[&str], likes: Option<u64>) -> Video {
        Video {
            likes,
            ..crate::test_support::video(id, categories, hashtags)
        }
    }

    #[test]
    fn from_parts_checks_what_the_store_hands_back() {
        let ok = SparseVector::from_parts(vec![1, 4, 9], vec![0.5, -0.25, 0.0]).unwrap();
        assert_eq!(
            ok.clone().into_parts(),
            (vec![1, 4, 9], vec![0.5, -0.25, 0.0])
        );
        assert_eq!(
            SparseVector::from_parts(vec![1, 2], vec![0.5]),
            Err(ProcessingError::LengthMismatch {
                indices: 2,
                values: 1
            })
        );
        assert_eq!(
            SparseVector::from_parts(vec![1, 5, 5], vec![0.1; 3]),
            Err(ProcessingError::UnsortedIndices {
                position: 2,
                previous: 5,
                index: 5
            })
        );
        assert_eq!(
            SparseVector::from_parts(vec![3, 2], vec![0.1; 2]),
            Err(ProcessingError::UnsortedIndices {
                position: 1,
                previous: 3,
                index: 2
            })
        );
        let err = SparseVector::from_parts(vec![1, 2], vec![0.1, f32::NAN]).unwrap_err();
        assert!(matches!(
            err,
            ProcessingError::NonFiniteValue { position: 1, .. }
        ));
        let err = SparseVector::from_parts(vec![1], vec![f32::INFINITY]).unwrap_err();
        assert!(
            err.to_string().contains("values[0] must be finite"),
            "{err}"
        );
    }

    #[test]
    fn serde_checks_vectors_too() {
        let v: SparseVector =
            serde_json::from_str(r#"{"indices":[0,2],"values":[0.6,0.8]}"#).unwrap();
        assert_eq!(v.indices(), [0, 2]);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"indices":[0,2],"values":[0.6,0.8]}"#
        );
        let err = serde_json::from_str::<SparseVector>(r#"{"indices":[2,0],"values":[0.6,0.8]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("strictly increasing"), "{err}");
    }

    #[test]
    fn dot_norm_and_cosine() {
        let a = SparseVector::from_parts(vec![0, 2, 5], vec![1.0, 2.0, 2.0]).unwrap();
        let b = SparseVector::from_parts(vec![2, 3, 5], vec![3.0, 1.0, -1.0]).unwrap();
        // dot = 2×3 + 2×(−1) = 4; ‖a‖ = 3; ‖b‖ = √11; cosine = 4 / (3√11) = 0.402015
        assert_eq!(a.dot(&b), 4.0);
        assert_eq!(a.norm(), 3.0);
        assert!((a.cosine(&b) - 0.402_015).abs() < 1e-6);
        assert_eq!(a.cosine(&SparseVector::default()), 0.0);
    }

    #[test]
    fn engagement_grows_with_the_log_of_interactions() {
        let mut v = Video::new("1");
        assert_eq!(engagement(&v, 10.0), 1.0);
        v.likes = Some(9);
        // 1 + ln(10) / 10 = 1.2302585
        assert!((engagement(&v, 10.0) - 1.230_258_5).abs() < 1e-7);
        v.comments = Some(u64::MAX);
        assert!(engagement(&v, 10.0).is_finite());
    }

    /// A corpus small enough to compute by hand, with `engagement_scale` = ln 2 / 1 so that
    /// a video with 1 interaction weighs exactly 2.
    #[test]
    fn transform_matches_hand_computed_tf_idf() {
        let mut a = Profile::new("a", "a");
        a.liked_videos = vec![
            video("1", &["Music"], &["#dance"], None),
            video("2", &["Music"], &[], Some(1)),
        ];
        a.shared_videos = vec![video("3", &[], &["#dance", "#rare"], None)];
        let mut b = Profile::new("b", "b");
        b.liked_videos = vec![video("4", &["Food"], &["#dance"], None)];
        let config = VectorizerConfig {
            min_df: 1,
            max_features: 100,
            engagement_scale: std::f32::consts::LN_2,
        };
        let vocab = Vocabulary::fit([&a, &b], config).unwrap();
        assert_eq!(
            vocab.terms().collect::<Vec<_>>(),
            ["c:Food", "c:Music", "h:#dance", "h:#rare"]
        );
        // N = 2. idf: Food, Music, #rare have df 1 → 1 + ln(3/2) = 1.4054651;
        //            #dance has df 2 → 1 + ln(3/3) = 1.
        // Profile a:
        //   tf(Music)  = liked 1 (weight 1 × eng 1) + liked 2 (1 × (1 + ln 2 / ln 2 = 2)) = 3
        //   tf(#dance) = liked 1 (1) + shared 3 (2 × 1)                                  = 3
        //   tf(#rare)  = shared 3 (2)                                                     = 2
        //   x = [Music 3 × 1.4054651 = 4.2163953, #dance 3, #rare 2 × 1.4054651 = 2.8109302]
        //   ‖x‖ = √(17.777990 + 9 + 7.901329) = √34.679319 = 5.8889149
        //   vector = [0.7159885, 0.5094317, 0.4773257] at indices [1, 2, 3]
        let va = vocab.transform(&a);
        assert_eq!(va.indices(), [1, 2, 3]);
        let expected = [0.715_988_5, 0.509_431_7, 0.477_325_7];
        for (got, want) in va.values().iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{:?}", va.values());
        }
        assert!((va.norm() - 1.0).abs() < 1e-6);
        // Profile b: x = [Food 1.4054651, #dance 1], ‖x‖ = √2.9753322 = 1.7249151
        //   vector = [0.8148025, 0.5797387] at [0, 2]
        let vb = vocab.transform(&b);
        assert_eq!(vb.indices(), [0, 2]);
        for (got, want) in vb.values().iter().zip([0.814_802_5, 0.579_738_7]) {
            assert!((got - want).abs() < 1e-6, "{:?}", vb.values());
        }
        // cosine(a, b) = 0.5094317 × 0.5797387 = 0.2953373
        assert!((va.cosine(&vb) - 0.295_337_3).abs() < 1e-6);
    }

    #[test]
    fn unknown_features_are_ignored_and_featureless_profiles_are_empty() {
        let mut a = Profile::new("a", "a");
        a.liked_videos = vec![video("1", &["Music"], &["#x"], None)];
        let vocab = Vocabulary::fit([&a, &a], VectorizerConfig::default()).unwrap();
        let mut other = Profile::new("b", "b");
        other.liked_videos = vec![video("2", &["Food"], &["#y", "#x"], Some(5))];
        let v = vocab.transform(&other);
        assert_eq!(v.indices(), [vocab.index_of("h:#x").unwrap()]);
        assert_eq!(v.values(), [1.0]);
        assert!(vocab.transform(&Profile::new("c", "c")).is_empty());
    }

    #[test]
    fn transform_is_bit_for_bit_stable_and_transform_all_agrees() {
        let profiles: Vec<Profile> = (0..2_500u64)
            .map(|i| {
                let mut p = Profile::new(i.to_string(), "u");
                p.liked_videos = (0..6)
                    .map(|j| {
                        let tag = format!("#t{}", (i * 7 + j * 13) % 97);
                        let cat = ["Music", "Food", "Dance"][((i + j) % 3) as usize];
                        video(&j.to_string(), &[cat], &[&tag, "#fyp"], Some(i * j))
                    })
                    .collect();
                // A tag only this profile has (dropped by min_df) and a repeated one.
                let own = format!("#only{i}");
                p.shared_videos = vec![video("s", &["Music"], &[&own, "#fyp"], Some(i))];
                p
            })
            .collect();
        let vocab = Vocabulary::fit(&profiles, VectorizerConfig::default()).unwrap();
        assert_eq!(vocab.index_of("h:#only7"), None);
        // Counting one profile at a time gives what the parallel fit gives.
        let mut builder = crate::VocabularyBuilder::new(VectorizerConfig::default()).unwrap();
        for p in &profiles {
            builder.add(p);
        }
        assert_eq!(builder.finish(), vocab);
        let all = vocab.transform_all(&profiles);
        assert_eq!(all.len(), profiles.len());
        let again = Vocabulary::from_json(&vocab.to_json()).unwrap();
        let bits = |v: &SparseVector| v.values().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (p, v) in profiles.iter().zip(&all) {
            let one = again.transform(p);
            assert_eq!(one.indices(), v.indices());
            assert_eq!(bits(&one), bits(v));
        }
        // One pass gives the same vocabulary and the same bits.
        let (fitted, vectors) =
            Vocabulary::fit_transform(&profiles, VectorizerConfig::default()).unwrap();
        assert_eq!(fitted, vocab);
        assert_eq!(vectors.len(), all.len());
        for (one, v) in vectors.iter().zip(&all) {
            assert_eq!(one.indices(), v.indices());
            assert_eq!(bits(one), bits(v));
        }
    }

    /// A profile known only by its interests (an Instagram export's topics) shares the
    /// category feature with a video-carried category, at the weight of one liked video.
    #[test]
    fn interests_are_category_features_of_weight_one() {
        let mut instagram = Profile::new("i", "i");
        instagram.interests = vec!["Sports".into(), "Basketball".into()];
        let mut tiktok = Profile::new("t", "t");
        tiktok.liked_videos = vec![video("1", &["Sports"], &["#nba"], None)];
        let mut other = Profile::new("o", "o");
        other.liked_videos = vec![video("2", &["Food"], &["#nba"], None)];
        let config = VectorizerConfig {
            min_df: 1,
            ..VectorizerConfig::default()
        };
        let vocab = Vocabulary::fit([&instagram, &tiktok, &other], config).unwrap();
        let sports = vocab.index_of("c:Sports").unwrap();
        assert!(vocab.index_of("c:Basketball").is_some());
        let vi = vocab.transform(&instagram);
        assert!(vi.indices().contains(&sports), "{vi:?}");
        assert!(vi.cosine(&vocab.transform(&tiktok)) > 0.0);
        assert_eq!(vi.cosine(&vocab.transform(&other)), 0.0);
        // Equal to a profile that liked one video per interest (no counts): same bits.
        let mut as_videos = Profile::new("v", "v");
        as_videos.liked_videos = vec![
            video("a", &["Sports"], &[], None),
            video("b", &["Basketball"], &[], None),
        ];
        assert_eq!(vocab.transform(&as_videos), vi);
    }

    #[test]
    fn fit_transform_of_nothing_is_empty() {
        let (vocab, vectors) =
            Vocabulary::fit_transform(Vec::<Profile>::new(), VectorizerConfig::default()).unwrap();
        assert!(vocab.is_empty() && vectors.is_empty());
        assert_eq!(vocab.documents(), 0);
        assert!(
            Vocabulary::fit_transform(
                Vec::<Profile>::new(),
                VectorizerConfig {
                    min_df: 0,
                    ..VectorizerConfig::default()
                }
            )
            .is_err()
        );
    }
}
