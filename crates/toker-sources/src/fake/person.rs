//! One fake person: interests, identity, counts and the videos they liked and shared.

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt, SeedableRng};
use toker_model::taxonomy::CATEGORIES;
use toker_model::{MAX_COUNT, Platform, Profile, Video};

use super::counts::{fraction, log_normal, scale};
use super::ids::{self, PersonName};
use super::pools::{CATEGORY_COUNT, HANDLE_WORDS, HASHTAGS, RELATED, generic_hashtags};

/// Fewest and most liked videos a person lists.
pub(super) const LIKED_RANGE: (usize, usize) = (5, 50);
/// Most shared videos a person lists.
pub(super) const MAX_SHARED: usize = 20;
/// One video in this many is about something outside the person's interests.
const NOISE_EVERY: usize = 10;
/// Share of videos that are one of a category's popular videos (seen by many people).
const POPULAR_SHARE: f64 = 0.25;
/// How many popular videos each category has.
const POPULAR_PER_CATEGORY: u64 = 200;
/// Chance that a video also carries its category's related category.
const SECOND_CATEGORY: f64 = 0.15;
/// Chance that a shared video is one the person also liked.
const RESHARE: f64 = 0.3;

/// The SplitMix64 finaliser: a fast, well-mixing bijection on `u64`.
pub(super) const fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fixed number per platform, mixed into every key (independent of enum layout).
pub(super) const fn platform_tag(platform: Platform) -> u64 {
    match platform {
        Platform::TikTok => 1,
        Platform::Instagram => 2,
        Platform::X => 3,
    }
}

/// Two values mixed into one key.
pub(super) const fn mix(a: u64, b: u64) -> u64 {
    splitmix(a ^ splitmix(b))
}

/// Who a generated person is, when the caller decides it.
pub(super) enum Identity<'a> {
    /// The `index`-th person of the stream: ids unique per index.
    Index(u64),
    /// The platform's id is given (an X numeric id): the handle is made up.
    UserId(&'a str),
    /// The handle is given; TikTok and Instagram use it as the id too.
    Handle(&'a str),
}

/// Everything needed to generate people for one seed and platform.
#[derive(Debug, Clone)]
pub(super) struct Generator {
    pub(super) platform: Platform,
    /// Keys derived from the random seed and platform, one per purpose so draws do not
    /// correlate.
    handle_key: u64,
    id_key: u64,
    popular_key: u64,
}

/// A person's 1–3 dominant categories and how often each comes up (cumulative).
struct Interests {
    categories: [usize; 3],
    cumulative: [f64; 3],
    len: usize,
}

impl Interests {
    fn draw<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let len = match rng.random_range(0..10u8) {
            0..=3 => 1,
            4..=7 => 2,
            _ => 3,
        };
        let mut categories = [0; 3];
        for i in 0..len {
            categories[i] = loop {
                let c = rng.random_range(0..CATEGORY_COUNT);
                if !categories[..i].contains(&c) {
                    break c;
                }
            };
        }
        // Weights strictly decrease, so `categories` is in order of importance.
        let cumulative = match len {
            1 => [1.0; 3],
            2 => {
                let first = rng.random_range(0.55..0.8);
                [first, 1.0, 1.0]
            }
            _ => {
                let first = rng.random_range(0.4..0.6);
                let second = (1.0 - first) * rng.random_range(0.5..0.65);
                [first, first + second, 1.0]
            }
        };
        Interests {
            categories,
            cumulative,
            len,
        }
    }

    fn dominant(&self) -> &[usize] {
        &self.categories[..self.len]
    }

    fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let u = rng.random::<f64>();
        let i = self.cumulative[..self.len]
            .iter()
            .position(|c| u < *c)
            .unwrap_or(self.len - 1);
        self.categories[i]
    }

    /// The category of the `i`-th of `len` videos: the first tenth lie outside the
    /// interests (the list is shuffled afterwards), the rest follow the weights.
    fn category_of<R: Rng + ?Sized>(&self, rng: &mut R, i: usize, len: usize) -> usize {
        if i < len / NOISE_EVERY {
            self.outside(rng)
        } else {
            self.pick(rng)
        }
    }

    fn outside<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        loop {
            let c = rng.random_range(0..CATEGORY_COUNT);
            if !self.dominant().contains(&c) {
                return c;
            }
        }
    }
}

impl Generator {
    pub(super) fn new(platform: Platform, seed: u64) -> Self {
        let stream = mix(seed, platform_tag(platform));
        Generator {
            platform,
            handle_key: mix(stream, 0x68616e646c65),
            id_key: mix(stream, 0x6964),
            popular_key: mix(stream, 0x706f70),
        }
    }

    /// The person for a key, with its dominant categories (most important first).
    pub(super) fn person(
        &self,
        key: u64,
        identity: Identity<'_>,
        min_likes: u64,
    ) -> (Profile, Vec<&'static str>) {
        let rng = &mut Xoshiro256PlusPlus::seed_from_u64(key);
        let interests = Interests::draw(rng);
        let name = PersonName::draw(rng);
        let words = HANDLE_WORDS[interests.categories[0]];
        let word = words[rng.random_range(0..words.len())];
        let casual = matches!(self.platform, Platform::X);
        let (user_id, username) = match identity {
            Identity::Index(i) if casual => (
                ids::x_account_id(i, self.id_key),
                ids::casual_handle(rng, self.platform, &name, word),
            ),
            Identity::Index(i) => {
                let handle =
                    ids::unique_handle(rng, self.platform, &name, word, i, self.handle_key);
                (handle.clone(), handle)
            }
            Identity::UserId(id) => (
                id.to_owned(),
                ids::casual_handle(rng, self.platform, &name, word),
            ),
            Identity::Handle(handle) if casual => {
                (ids::x_random_account_id(rng), handle.to_owned())
            }
            Identity::Handle(handle) => (handle.to_owned(), handle.to_owned()),
        };

        let mut p = Profile::new(user_id, username);
        p.user_pseudo = Some(name.pseudo(rng));
        self.fill_videos(rng, &interests, &mut p);
        self.fill_counts(rng, &mut p, min_likes);
        let dominant = interests
            .dominant()
            .iter()
            .map(|c| CATEGORIES[*c])
            .collect();
        (p, dominant)
    }

    fn fill_videos<R: Rng + ?Sized>(&self, rng: &mut R, interests: &Interests, p: &mut Profile) {
        // Most people list few videos, some many: u^2 skews both counts towards their least.
        let span = (LIKED_RANGE.1 - LIKED_RANGE.0 + 1) as f64;
        let liked_len = LIKED_RANGE.0 + (span * rng.random::<f64>().powi(2)) as usize;
        let liked_len = liked_len.min(LIKED_RANGE.1);
        p.liked_videos = Vec::with_capacity(liked_len);
        for i in 0..liked_len {
            let category = interests.category_of(rng, i, liked_len);
            let video = self.distinct_video(rng, category, &p.liked_videos);
            p.liked_videos.push(video);
        }
        p.liked_videos.shuffle(rng);

        let shared_len = ((MAX_SHARED + 1) as f64 * rng.random::<f64>().powi(2)) as usize;
        let shared_len = shared_len.min(MAX_SHARED);
        p.shared_videos = Vec::with_capacity(shared_len);
        for i in 0..shared_len {
            if rng.random_bool(RESHARE) {
                let liked = &p.liked_videos[rng.random_range(0..p.liked_videos.len())];
                if !p.shared_videos.iter().any(|v| v.video_id == liked.video_id) {
                    p.shared_videos.push(liked.clone());
                    continue;
                }
            }
            let category = interests.category_of(rng, i, shared_len);
            let video = self.distinct_video(rng, category, &p.shared_videos);
            p.shared_videos.push(video);
        }
        p.shared_videos.shuffle(rng);
    }

    /// A video of `category` whose id is not in `taken`: sometimes one of the category's
    /// popular videos, otherwise a new one.
    fn distinct_video<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        category: usize,
        taken: &[Video],
    ) -> Video {
        loop {
            let video = if rng.random_bool(POPULAR_SHARE) {
                // u^3 makes the first popular videos far more common than the last.
                let rank = (POPULAR_PER_CATEGORY as f64 * rng.random::<f64>().powi(3)) as u64;
                self.popular_video(category, rank)
            } else {
                self.video(rng, category, false)
            };
            if !taken.iter().any(|v| v.video_id == video.video_id) {
                return video;
            }
        }
    }

    /// The `rank`-th popular video of a category: the same for everyone in the stream.
    fn popular_video(&self, category: usize, rank: u64) -> Video {
        let key = mix(
            self.popular_key,
            category as u64 * POPULAR_PER_CATEGORY + rank,
        );
        self.video(&mut Xoshiro256PlusPlus::seed_from_u64(key), category, true)
    }

    fn video<R: Rng + ?Sized>(&self, rng: &mut R, category: usize, popular: bool) -> Video {
        let mut video = Video::new(ids::video_id(rng, self.platform));
        let second = rng.random_bool(SECOND_CATEGORY).then(|| RELATED[category]);
        video.categories.push(CATEGORIES[category].to_owned());
        if let Some(s) = second {
            video.categories.push(CATEGORIES[s].to_owned());
        }

        let (fewest, most) = match self.platform {
            Platform::TikTok => (1, 4),
            Platform::Instagram => (2, 6),
            Platform::X => (0, 2),
        };
        let topical = rng.random_range(fewest..=most);
        video.hashtags.reserve(topical + 2);
        let pool = HASHTAGS[category];
        for _ in 0..topical {
            // u^2 favours the pool's popular (first) tags.
            let i =
                ((pool.len() as f64 * rng.random::<f64>().powi(2)) as usize).min(pool.len() - 1);
            push_new(&mut video.hashtags, pool[i]);
        }
        if let Some(s) = second
            && rng.random_bool(0.5)
        {
            let pool = HASHTAGS[s];
            push_new(&mut video.hashtags, pool[rng.random_range(0..pool.len())]);
        }
        let generic = generic_hashtags(self.platform);
        if !generic.is_empty() && rng.random_bool(0.5) {
            push_new(
                &mut video.hashtags,
                generic[rng.random_range(0..generic.len())],
            );
        }

        let likes = if popular {
            log_normal(rng, 400_000.0, 1.0, 5_000_000_000)
        } else {
            log_normal(rng, 2_000.0, 2.0, 5_000_000_000)
        };
        video.likes = Some(likes);
        video.comments = Some(fraction(rng, likes, 0.002, 0.03));
        video.shares = Some(fraction(rng, likes, 0.001, 0.05));
        video
    }

    fn fill_counts<R: Rng + ?Sized>(&self, rng: &mut R, p: &mut Profile, min_likes: u64) {
        let followers = log_normal(rng, 400.0, 2.3, 300_000_000);
        let videos = match self.platform {
            Platform::X => log_normal(rng, 900.0, 1.5, 500_000),
            Platform::TikTok | Platform::Instagram => log_normal(rng, 40.0, 1.6, 50_000),
        };
        // Likes received grow with the audience and the number of videos.
        let per_video = log_normal(rng, followers as f64 * 0.05 + 5.0, 0.8, 50_000_000);
        let likes_received = scale(videos as f64, per_video as f64, 100_000_000_000);
        let verified_odds = match followers {
            1_000_001.. => 0.7,
            100_001..=1_000_000 => 0.1,
            _ => 0.002,
        };
        let least_likes = min_likes.max(p.liked_videos.len() as u64);

        p.verified = Some(rng.random_bool(verified_odds));
        p.followers_count = Some(followers);
        p.following_count = Some(log_normal(rng, 250.0, 1.0, 7_500));
        p.likes_count = Some(likes_received);
        p.videos_count = Some(videos);
        p.number_of_comments = Some(log_normal(rng, 60.0, 1.8, 10_000_000));
        p.number_of_likes_on_own_videos = Some(fraction(rng, likes_received, 0.7, 1.0));
        p.number_of_likes = Some(
            least_likes
                .saturating_add(log_normal(rng, 1_500.0, 1.5, 50_000_000))
                .min(MAX_COUNT),
        );
        p.number_of_shares =
            Some(p.shared_videos.len() as u64 + log_normal(rng, 25.0, 1.5, 1_000_000));
    }
}

fn push_new(tags: &mut Vec<String>, tag: &str) {
    if !tags.iter().any(|t| t == tag) {
        tags.push(tag.to_owned());
    }
}
