//! Deterministic synthetic people with known dominant interests, for the cluster tests and
//! the benchmark (`examples/bench_processing.rs` includes this file).
//!
//! Each person has 1–3 dominant categories of the taxonomy. Nine in ten of their videos
//! are about one of them (the first-named interest most often), the rest about any
//! category; a video's hashtags come from a pool of 40 per category (skewed, so a few tags
//! per category are common), with generic tags (`#fyp`, …) on about half the videos and
//! a rare personal tag now and then. Counts are heavy-tailed and sometimes unknown.
//! No `rand`: a SplitMix64 stream per person makes the output identical everywhere.

#![allow(dead_code)]

use toker_model::taxonomy::CATEGORIES;
use toker_model::{Platform, Profile, Video};

/// A generated person and the truth behind it.
pub(crate) struct Person {
    pub(crate) platform: Platform,
    pub(crate) profile: Profile,
    /// Indices into `CATEGORIES`, most important first.
    pub(crate) dominant: Vec<usize>,
}

const TAGS_PER_CATEGORY: u64 = 40;
const GENERIC_TAGS: [&str; 6] = ["#fyp", "#foryou", "#viral", "#trending", "#love", "#funny"];

/// SplitMix64: tiny, fast, good enough for test data, and the same on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The `index`-th person of `seed`.
pub(crate) fn person(seed: u64, index: u64) -> Person {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let platform = Platform::ALL[(index % 3) as usize];
    let n = CATEGORIES.len() as u64;
    let mut dominant = Vec::new();
    let wanted = 1 + rng.below(3) as usize;
    while dominant.len() < wanted {
        let c = rng.below(n) as usize;
        if !dominant.contains(&c) {
            dominant.push(c);
        }
    }
    let mut profile = Profile::new(format!("user{index}"), format!("user_{index}"));
    profile.number_of_likes = Some(100 + rng.below(10_000));
    let liked = 5 + rng.below(46);
    let shared = rng.below(21);
    profile.liked_videos = (0..liked)
        .map(|j| video(&mut rng, &dominant, index, j))
        .collect();
    profile.shared_videos = (0..shared)
        .map(|j| video(&mut rng, &dominant, index, 1_000 + j))
        .collect();
    Person {
        platform,
        profile,
        dominant,
    }
}

/// `n` people of `seed`.
pub(crate) fn people(seed: u64, n: usize) -> Vec<Person> {
    (0..n as u64).map(|i| person(seed, i)).collect()
}

fn video(rng: &mut Rng, dominant: &[usize], person: u64, j: u64) -> Video {
    let category = if rng.chance(0.9) {
        // The first interest weighs most: weights 3, 2, 1.
        let weights: Vec<u64> = (0..dominant.len() as u64).map(|i| 3 - i).collect();
        let mut pick = rng.below(weights.iter().sum());
        let mut chosen = dominant[0];
        for (&c, &w) in dominant.iter().zip(&weights) {
            if pick < w {
                chosen = c;
                break;
            }
            pick -= w;
        }
        chosen
    } else {
        rng.below(CATEGORIES.len() as u64) as usize
    };
    let mut categories = vec![CATEGORIES[category].to_owned()];
    if rng.chance(0.2) {
        let other = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
        if other != categories[0] {
            categories.push(other.to_owned());
        }
    }
    let stem = CATEGORIES[category].to_lowercase();
    let mut hashtags: Vec<String> = (0..1 + rng.below(4))
        .map(|_| {
            // Skewed towards the first tags of the pool.
            let u = rng.unit();
            format!("#{stem}{}", (u * u * TAGS_PER_CATEGORY as f64) as u64)
        })
        .collect();
    if rng.chance(0.5) {
        hashtags.push(GENERIC_TAGS[rng.below(GENERIC_TAGS.len() as u64) as usize].to_owned());
    }
    if rng.chance(0.05) {
        hashtags.push(format!("#p{person}"));
    }
    hashtags.sort();
    hashtags.dedup();
    let likes = (10.0 * (1.0 - rng.unit()).powf(-1.5)) as u64;
    let known = rng.chance(0.9);
    Video {
        video_id: format!("{person}-{j}"),
        categories,
        hashtags,
        likes: known.then_some(likes),
        comments: known.then_some(likes / 20),
        shares: known.then_some(likes / 50),
    }
}
