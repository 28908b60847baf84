//! Feature gating: a platform whose cargo feature is off is refused with an error that
//! names the feature, by the fake source and the registry alike, and `generate_many`
//! yields no one for it. CI runs this file with default features, each feature alone and
//! none.

use toker_model::Platform;
use toker_sources::fake::{FakeSource, generate_many};
use toker_sources::{Registry, enabled_platforms, is_enabled};

/// Asserts that every way to reach `platform`'s fake data is refused, naming `feature`.
#[cfg(not(all(feature = "tiktok", feature = "instagram", feature = "x")))]
fn assert_refused(platform: Platform, feature: &str) {
    use toker_sources::{SourceError, feature_of};

    assert!(!is_enabled(platform));
    assert_eq!(feature_of(platform), feature);
    assert!(!enabled_platforms().contains(&platform));
    assert_eq!(generate_many(Some(platform), 1, 10).count(), 0);
    let errors = [
        FakeSource::new(platform, 1).unwrap_err(),
        Registry::fake(1).get(platform).err().unwrap(),
    ];
    for err in errors {
        assert!(
            matches!(err, SourceError::FeatureDisabled { platform: p, feature: f } if p == platform && f == feature),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&format!("`{feature}`")), "{message}");
    }
}

/// Asserts that `platform` works.
#[cfg(any(feature = "tiktok", feature = "instagram", feature = "x"))]
fn assert_served(platform: Platform) {
    assert!(is_enabled(platform));
    assert!(enabled_platforms().contains(&platform));
    let person = FakeSource::new(platform, 1).unwrap().generate(0);
    assert_eq!(person.raw.platform, platform);
    assert!(Registry::fake(1).get(platform).is_ok());
}

#[cfg(not(feature = "tiktok"))]
#[test]
fn tiktok_off_is_refused_naming_the_feature() {
    assert_refused(Platform::TikTok, "tiktok");
}

#[cfg(feature = "tiktok")]
#[test]
fn tiktok_on_is_served() {
    assert_served(Platform::TikTok);
}

#[cfg(not(feature = "instagram"))]
#[test]
fn instagram_off_is_refused_naming_the_feature() {
    assert_refused(Platform::Instagram, "instagram");
}

#[cfg(feature = "instagram")]
#[test]
fn instagram_on_is_served() {
    assert_served(Platform::Instagram);
}

#[cfg(not(feature = "x"))]
#[test]
fn x_off_is_refused_naming_the_feature() {
    assert_refused(Platform::X, "x");
}

#[cfg(feature = "x")]
#[test]
fn x_on_is_served() {
    assert_served(Platform::X);
}

#[test]
fn enabled_platforms_are_exactly_the_features_on() {
    let expected: Vec<Platform> = [
        (Platform::TikTok, cfg!(feature = "tiktok")),
        (Platform::Instagram, cfg!(feature = "instagram")),
        (Platform::X, cfg!(feature = "x")),
    ]
    .into_iter()
    .filter_map(|(p, on)| on.then_some(p))
    .collect();
    assert_eq!(enabled_platforms(), expected);
    assert_eq!(Registry::fake(1).platforms(), expected);
}

#[cfg(not(any(feature = "tiktok", feature = "instagram", feature = "x")))]
#[test]
fn with_no_platform_compiled_in_generate_many_yields_no_one() {
    let mut many = generate_many(None, 1, 10);
    assert_eq!(many.len(), 0);
    assert_eq!(many.next(), None);
}

#[cfg(any(feature = "tiktok", feature = "instagram", feature = "x"))]
#[test]
fn generate_many_without_a_platform_uses_those_compiled_in() {
    let platforms: Vec<Platform> = generate_many(None, 1, 6).map(|p| p.raw.platform).collect();
    let enabled = enabled_platforms();
    assert_eq!(
        platforms,
        (0..6)
            .map(|i| enabled[i % enabled.len()])
            .collect::<Vec<_>>()
    );
}
