//! The fake-data source: realistic, clustered, deterministic by seed.
//!
//! A [`FakeSource`] makes up people for one platform. Each person has 1–3 dominant
//! interests (categories of [`toker_model::taxonomy::CATEGORIES`]); about nine in ten of
//! the videos they liked or shared are about those interests, and their hashtags come
//! from a pool per category, so people with the same interests look alike and matching
//! can be tested meaningfully. Counts are heavy-tailed (log-normal) and consistent:
//! `number_of_likes` is at least the minimum of validation and at least the number of
//! liked videos listed, `number_of_shares` at least the shared ones, `likes_count` at
//! least `number_of_likes_on_own_videos`.
//!
//! Ids have the platform's shape: X people get snowflake ids; TikTok and Instagram people
//! are keyed by their handle, as every real source for those platforms keys them
//! (`docs/DECISIONS.md`, on `user_id`). Video ids are 19-digit TikTok ids, X snowflakes or
//! Instagram shortcodes, unique within each list; some videos are "popular" and appear,
//! identical, in many people's lists.
//!
//! The same seed, platform and index always give the same profile: no clock, no thread
//! RNG, only seeded `Xoshiro256PlusPlus` streams. [`FakeConfig::invalidity`] makes each
//! kind of invalid profile for tests.
//!
//! ```
//! use toker_model::{Platform, ValidationRules, parse_profile};
//! use toker_sources::fake::{FakeSource, generate_many};
//!
//! # fn main() -> Result<(), toker_sources::SourceError> {
//! # if !toker_sources::is_enabled(Platform::X) { return Ok(()); }
//! let source = FakeSource::new(Platform::X, 42)?;
//! let person = source.generate(7);
//! assert_eq!(person, source.generate(7));
//! assert!(parse_profile(&person.raw.raw, &ValidationRules::default()).is_ok());
//! assert!((1..=3).contains(&person.dominant.len()));
//!
//! // 1,000 people spread over every platform compiled in.
//! assert_eq!(generate_many(None, 42, 1_000).count(), 1_000);
//! # Ok(())
//! # }
//! ```

mod counts;
mod ids;
mod invalid;
mod person;
mod pools;

use async_trait::async_trait;
use serde_json::Value;
use toker_model::{DEFAULT_MIN_LIKES, Platform, Profile};

use crate::error::SourceError;
use crate::registry::{enabled_platforms, ensure_enabled};
use crate::source::{RawProfile, Source, SourceKind, UserRef};

pub use invalid::{Invalidity, UnknownInvalidity};
use person::{Generator, Identity, mix, platform_tag};

/// The longest user reference [`FakeSource::generate_for`] accepts (validation's default).
const MAX_REF_LEN: usize = 256;
/// Keeps people made from a reference apart from people made from an index.
const REF_DOMAIN: u64 = 0x7265_6665_7265_6e63;

/// What the fake source makes, beyond its random seed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeConfig {
    /// The least `number_of_likes` a valid profile gets (default: validation's default, 100).
    pub min_likes: u64,
    /// Make every profile invalid in this way (default: none, every profile is valid).
    pub invalidity: Option<Invalidity>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            min_likes: DEFAULT_MIN_LIKES,
            invalidity: None,
        }
    }
}

impl FakeConfig {
    /// The default configuration, making every profile invalid in one way.
    #[must_use]
    pub fn invalid(kind: Invalidity) -> Self {
        FakeConfig {
            invalidity: Some(kind),
            ..FakeConfig::default()
        }
    }

    /// This configuration with another minimum of likes.
    #[must_use]
    pub fn with_min_likes(mut self, min_likes: u64) -> Self {
        self.min_likes = min_likes;
        self
    }
}

/// A generated person: the raw profile a source would return, and the truth behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeProfile {
    /// The profile; `raw.raw` is its JSON (corrupted too when the profile is made invalid).
    pub raw: RawProfile,
    /// The person's 1–3 dominant categories, most important first.
    pub dominant: Vec<&'static str>,
}

/// A deterministic fake source for one platform.
#[derive(Debug, Clone)]
pub struct FakeSource {
    seed: u64,
    config: FakeConfig,
    generator: Generator,
    stream: u64,
}

impl FakeSource {
    /// A fake source for `platform` with the default configuration.
    ///
    /// # Errors
    /// [`SourceError::FeatureDisabled`] naming the feature when the platform is not
    /// compiled in.
    pub fn new(platform: Platform, seed: u64) -> Result<Self, SourceError> {
        FakeSource::with_config(platform, seed, FakeConfig::default())
    }

    /// A fake source for `platform` with a configuration.
    ///
    /// # Errors
    /// [`SourceError::FeatureDisabled`] naming the feature when the platform is not
    /// compiled in.
    pub fn with_config(
        platform: Platform,
        seed: u64,
        config: FakeConfig,
    ) -> Result<Self, SourceError> {
        ensure_enabled(platform)?;
        Ok(FakeSource {
            seed,
            config,
            generator: Generator::new(platform, seed),
            stream: mix(seed, REF_DOMAIN ^ platform_tag(platform)),
        })
    }

    /// The random seed this source was made with: the same seed makes the same people.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &FakeConfig {
        &self.config
    }

    /// The `index`-th person of this seed and platform. Distinct indexes give distinct
    /// `user_id`s.
    #[must_use]
    pub fn generate(&self, index: u64) -> FakeProfile {
        let key = mix(self.stream, index);
        self.finish(
            self.generator
                .person(key, Identity::Index(index), self.config.min_likes),
        )
    }

    /// The person a reference names, made up deterministically from the random seed and the
    /// reference (trimmed, without a leading `@`).
    ///
    /// The reference becomes the profile's `user_id`: on X, a number is the account id
    /// and anything else the handle (the id is then made up); on TikTok and Instagram
    /// the handle is the id.
    ///
    /// # Errors
    /// [`SourceError::InvalidUserRef`] for an empty reference, one with whitespace or
    /// control characters, or one longer than 256 characters.
    pub fn generate_for(&self, user: &UserRef) -> Result<FakeProfile, SourceError> {
        let platform = self.platform();
        let trimmed = user.as_str().trim();
        let reference = trimmed.strip_prefix('@').unwrap_or(trimmed);
        if reference.is_empty()
            || reference.chars().count() > MAX_REF_LEN
            || reference
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(SourceError::InvalidUserRef {
                platform,
                user: user.as_str().to_owned(),
                expected: "an id or handle of 1 to 256 characters without spaces",
            });
        }
        let is_id = platform == Platform::X
            && !trimmed.starts_with('@')
            && reference.bytes().all(|b| b.is_ascii_digit());
        let identity = if is_id {
            Identity::UserId(reference)
        } else {
            Identity::Handle(reference)
        };
        let key = mix(self.stream ^ REF_DOMAIN, fnv1a(reference));
        Ok(self.finish(self.generator.person(key, identity, self.config.min_likes)))
    }

    fn finish(&self, (profile, dominant): (Profile, Vec<&'static str>)) -> FakeProfile {
        let mut raw = RawProfile {
            platform: self.platform(),
            raw: profile_json(&profile),
            profile,
            warnings: crate::Warnings::new(),
        };
        if let Some(kind) = self.config.invalidity {
            kind.apply(&mut raw, self.config.min_likes);
        }
        FakeProfile { raw, dominant }
    }
}

#[async_trait]
impl Source for FakeSource {
    fn platform(&self) -> Platform {
        self.generator.platform
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Fake
    }

    async fn fetch(&self, user: &UserRef) -> Result<RawProfile, SourceError> {
        self.generate_for(user).map(|fake| fake.raw)
    }
}

/// The category whose hashtag pool holds `tag` (`#guitar` → `Music`), for tests that check
/// how fake people cluster. Generic tags (`#fyp`) and unknown tags have none.
#[must_use]
pub fn hashtag_category(tag: &str) -> Option<&'static str> {
    pools::HASHTAGS
        .iter()
        .position(|pool| pool.contains(&tag))
        .map(|i| toker_model::taxonomy::CATEGORIES[i])
}

/// People `0..count` of a seed, for one platform or (with `None`) rotating over every
/// platform compiled in: person `i` is `FakeSource::new(platforms[i % n], seed).generate(i)`.
///
/// A platform that is not compiled in yields no one (nor does `None` when no platform
/// is); call [`ensure_enabled`](crate::ensure_enabled()) or [`FakeSource::new`] first to
/// get the error that names the feature.
#[must_use]
pub fn generate_many(platform: Option<Platform>, seed: u64, count: u64) -> FakeProfiles {
    let platforms = match platform {
        Some(p) => vec![p],
        None => enabled_platforms(),
    };
    let sources: Vec<FakeSource> = platforms
        .into_iter()
        .filter_map(|p| FakeSource::new(p, seed).ok())
        .collect();
    let end = if sources.is_empty() { 0 } else { count };
    FakeProfiles {
        sources,
        next: 0,
        end,
    }
}

/// The iterator of [`generate_many`].
#[derive(Debug, Clone)]
pub struct FakeProfiles {
    sources: Vec<FakeSource>,
    next: u64,
    end: u64,
}

impl Iterator for FakeProfiles {
    type Item = FakeProfile;

    fn next(&mut self) -> Option<FakeProfile> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next += 1;
        // `end` is 0 when there are no sources, so the modulo never divides by zero.
        let source = &self.sources[(index % self.sources.len() as u64) as usize];
        Some(source.generate(index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for FakeProfiles {}

/// The JSON of a profile, in Toker's profile format.
fn profile_json(profile: &Profile) -> Value {
    serde_json::to_value(profile).expect("a Profile has only string keys, so it always serialises")
}

/// FNV-1a: a stable hash of a reference (std's hasher may change between releases).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}
