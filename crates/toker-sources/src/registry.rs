//! The registry from [`Platform`] to the sources compiled in.

use std::collections::HashMap;
use std::sync::Arc;

use toker_model::Platform;

use crate::error::SourceError;
use crate::fake::FakeSource;
use crate::source::Source;

/// The cargo feature that compiles in a platform's module.
#[must_use]
pub const fn feature_of(platform: Platform) -> &'static str {
    match platform {
        Platform::TikTok => "tiktok",
        Platform::Instagram => "instagram",
        Platform::X => "x",
    }
}

/// Whether a platform's module is compiled in.
#[must_use]
pub const fn is_enabled(platform: Platform) -> bool {
    match platform {
        Platform::TikTok => cfg!(feature = "tiktok"),
        Platform::Instagram => cfg!(feature = "instagram"),
        Platform::X => cfg!(feature = "x"),
    }
}

/// The platforms whose modules are compiled in, in [`Platform::ALL`] order.
#[must_use]
pub fn enabled_platforms() -> Vec<Platform> {
    Platform::ALL
        .into_iter()
        .filter(|p| is_enabled(*p))
        .collect()
}

/// Checks that a platform's module is compiled in.
///
/// # Errors
/// [`SourceError::FeatureDisabled`] naming the feature to enable.
pub fn ensure_enabled(platform: Platform) -> Result<(), SourceError> {
    if is_enabled(platform) {
        Ok(())
    } else {
        Err(SourceError::FeatureDisabled {
            platform,
            feature: feature_of(platform),
        })
    }
}

/// Maps each platform to one source.
#[derive(Clone, Default)]
pub struct Registry {
    sources: HashMap<Platform, Arc<dyn Source>>,
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Registry::default()
    }

    /// A registry with a [`FakeSource`] of `seed` for every platform compiled in.
    #[must_use]
    pub fn fake(seed: u64) -> Self {
        let mut registry = Registry::new();
        for platform in enabled_platforms() {
            if let Ok(source) = FakeSource::new(platform, seed) {
                registry.sources.insert(platform, Arc::new(source));
            }
        }
        registry
    }

    /// Registers `source` for its platform, replacing any earlier one.
    ///
    /// # Errors
    /// [`SourceError::FeatureDisabled`] when the platform's feature is off.
    pub fn register(&mut self, source: Arc<dyn Source>) -> Result<(), SourceError> {
        ensure_enabled(source.platform())?;
        self.sources.insert(source.platform(), source);
        Ok(())
    }

    /// The source for `platform`.
    ///
    /// # Errors
    /// [`SourceError::FeatureDisabled`] when the feature is off, or
    /// [`SourceError::Config`] when nothing is registered for an enabled platform.
    pub fn get(&self, platform: Platform) -> Result<Arc<dyn Source>, SourceError> {
        ensure_enabled(platform)?;
        self.sources
            .get(&platform)
            .cloned()
            .ok_or_else(|| SourceError::Config {
                platform,
                message: "no source is registered for this platform".to_owned(),
            })
    }

    /// The platforms that have a source.
    #[must_use]
    pub fn platforms(&self) -> Vec<Platform> {
        let mut p: Vec<Platform> = self.sources.keys().copied().collect();
        p.sort();
        p
    }
}
