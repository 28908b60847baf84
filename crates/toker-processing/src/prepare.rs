//! The path every incoming profile takes before it is stored, whatever its source:
//! platform resolution → validation (toker-model) → cleaning.
//!
//! The CLI's `import`/`create`, the REST API and the collectors all call [`prepare`] so
//! that a profile is judged by the same rules everywhere.

use serde_json::Value;
use toker_model::{Platform, Profile, ValidationError, ValidationRules, Violation, parse_profile};

use crate::clean::clean_profile;

/// A profile ready to store: valid, cleaned, with the raw JSON it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The platform it belongs to.
    pub platform: Platform,
    /// The validated, cleaned profile.
    pub profile: Profile,
    /// The record as received (unknown keys kept).
    pub raw: Value,
}

impl Prepared {
    /// `platform:user_id`.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.profile.user_id)
    }
}

/// Why a record was not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejected {
    /// The record names no platform and none was given.
    #[error(
        "platform: missing: add a \"platform\" key (tiktok, instagram or x) or pass --platform"
    )]
    MissingPlatform,
    /// The record's platform is not one Toker knows, or conflicts with the given one.
    #[error("platform: {0}")]
    Platform(String),
    /// The profile broke one or more rules.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl Rejected {
    /// The violations behind the rejection, each with its path.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        match self {
            Rejected::Invalid(e) => e.violations.clone(),
            other => vec![Violation {
                path: "platform".to_owned(),
                message: other
                    .to_string()
                    .trim_start_matches("platform: ")
                    .to_owned(),
            }],
        }
    }
}

/// Resolves the platform of a raw record: its own `"platform"` key, else `default`.
///
/// # Errors
/// [`Rejected`] when neither names a platform, the name is unknown, or they disagree.
pub fn resolve_platform(raw: &Value, default: Option<Platform>) -> Result<Platform, Rejected> {
    match raw.get("platform") {
        None | Some(Value::Null) => default.ok_or(Rejected::MissingPlatform),
        Some(Value::String(name)) => {
            let own: Platform = name
                .parse()
                .map_err(|e: toker_model::UnknownPlatform| Rejected::Platform(e.to_string()))?;
            match default {
                Some(given) if given != own => Err(Rejected::Platform(format!(
                    "the record says {own} but {given} was asked for"
                ))),
                _ => Ok(own),
            }
        }
        Some(other) => Err(Rejected::Platform(format!(
            "must be a string naming tiktok, instagram or x, got {}",
            toker_model::describe(other)
        ))),
    }
}

/// Validates and cleans one raw record.
///
/// # Errors
/// [`Rejected`] with every violation, each with its field path.
pub fn prepare(
    raw: Value,
    default_platform: Option<Platform>,
    rules: &ValidationRules,
) -> Result<Prepared, Rejected> {
    let platform = resolve_platform(&raw, default_platform);
    let parsed = parse_profile(&raw, rules);
    // Report platform and profile problems together when both are wrong.
    match (platform, parsed) {
        (Ok(platform), Ok(profile)) => Ok(Prepared {
            platform,
            profile: clean_profile(profile),
            raw,
        }),
        (Ok(_), Err(invalid)) => Err(Rejected::Invalid(invalid)),
        (Err(rejected), Ok(_)) => Err(rejected),
        (Err(rejected), Err(mut invalid)) => {
            let mut all = rejected.violations();
            all.append(&mut invalid.violations);
            Err(Rejected::Invalid(ValidationError { violations: all }))
        }
    }
}

/// Validates and cleans a profile that a source produced (already typed).
///
/// # Errors
/// [`Rejected::Invalid`] with every violation.
pub fn prepare_profile(
    platform: Platform,
    profile: Profile,
    raw: Value,
    rules: &ValidationRules,
) -> Result<Prepared, Rejected> {
    profile.validate(rules)?;
    Ok(Prepared {
        platform,
        profile: clean_profile(profile),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({ "user_id": "1", "username": "ana", "number_of_likes": 150,
                "liked_videos": [{ "video_id": "v1", "hashtags": [" #Fun", "#fun"] }] })
    }

    #[test]
    fn the_record_platform_wins_and_must_agree_with_the_given_one() {
        let mut r = record();
        r["platform"] = json!("Twitter");
        let p = prepare(r.clone(), None, &ValidationRules::default()).unwrap();
        assert_eq!(p.platform, Platform::X);
        assert_eq!(p.raw["platform"], "Twitter");
        let err = prepare(r, Some(Platform::TikTok), &ValidationRules::default()).unwrap_err();
        assert!(err.to_string().contains("says x but tiktok"), "{err}");
    }

    #[test]
    fn a_record_without_platform_needs_a_default() {
        let err = prepare(record(), None, &ValidationRules::default()).unwrap_err();
        assert_eq!(err, Rejected::MissingPlatform);
        let p = prepare(
            record(),
            Some(Platform::TikTok),
            &ValidationRules::default(),
        )
        .unwrap();
        assert_eq!(p.key(), "tiktok:1");
    }

    #[test]
    fn prepared_profiles_are_cleaned() {
        let p = prepare(
            record(),
            Some(Platform::TikTok),
            &ValidationRules::default(),
        )
        .unwrap();
        assert_eq!(p.profile.liked_videos[0].hashtags, ["#fun"]);
    }

    #[test]
    fn a_platform_that_is_not_a_string_is_named() {
        let mut r = record();
        r["platform"] = json!(3);
        let err = prepare(r, Some(Platform::X), &ValidationRules::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("platform: must be a string naming tiktok"),
            "{err}"
        );
        let v = Rejected::MissingPlatform.violations();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "platform");
        assert!(v[0].message.starts_with("missing"), "{}", v[0].message);
    }

    #[test]
    fn typed_profiles_are_validated_then_cleaned() {
        let rules = ValidationRules::default();
        let mut profile = toker_model::Profile::new("1", "ana");
        profile.number_of_likes = Some(150);
        profile.liked_videos = vec![toker_model::Video {
            categories: vec!["  diy ".into()],
            ..toker_model::Video::new("v1")
        }];
        let p = prepare_profile(Platform::Instagram, profile.clone(), json!({}), &rules).unwrap();
        assert_eq!(p.profile.liked_videos[0].categories, ["DIY"]);
        assert_eq!(p.key(), "instagram:1");

        profile.number_of_likes = Some(99);
        let err = prepare_profile(Platform::Instagram, profile, json!({}), &rules).unwrap_err();
        let paths: Vec<String> = err.violations().into_iter().map(|v| v.path).collect();
        assert_eq!(paths, ["number_of_likes"]);
    }

    #[test]
    fn platform_and_profile_violations_are_reported_together() {
        let mut r = record();
        r["platform"] = json!("vine");
        r["number_of_likes"] = json!(5);
        let err = prepare(r, None, &ValidationRules::default()).unwrap_err();
        let paths: Vec<String> = err.violations().into_iter().map(|v| v.path).collect();
        assert_eq!(paths, ["platform", "number_of_likes"]);
    }
}
