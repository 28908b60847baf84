//! The social platforms Toker collects from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A social platform. Parsed case-insensitively; `twitter` is accepted as an alias of `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// TikTok, named `tiktok`.
    TikTok,
    /// Instagram, named `instagram`.
    Instagram,
    /// X (formerly Twitter), named `x`; `twitter` parses as it too.
    X,
}

impl Platform {
    /// Every platform, in a stable order.
    pub const ALL: [Platform; 3] = [Platform::TikTok, Platform::Instagram, Platform::X];

    /// The canonical lower-case name (`tiktok`, `instagram`, `x`), as stored and printed.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::TikTok => "tiktok",
            Platform::Instagram => "instagram",
            Platform::X => "x",
        }
    }

    /// The platform's display name (`TikTok`, `Instagram`, `X`).
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        match self {
            Platform::TikTok => "TikTok",
            Platform::Instagram => "Instagram",
            Platform::X => "X",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a platform name that is not one Toker knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {given:?}: expected one of tiktok, instagram, x (alias: twitter)")]
pub struct UnknownPlatform {
    /// The name that was given.
    pub given: String,
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tiktok" => Ok(Platform::TikTok),
            "instagram" => Ok(Platform::Instagram),
            "x" | "twitter" => Ok(Platform::X),
            _ => Err(UnknownPlatform {
                given: s.to_owned(),
            }),
        }
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_with_twitter_alias() {
        assert_eq!("TikTok".parse::<Platform>(), Ok(Platform::TikTok));
        assert_eq!("INSTAGRAM".parse::<Platform>(), Ok(Platform::Instagram));
        assert_eq!("x".parse::<Platform>(), Ok(Platform::X));
        assert_eq!("Twitter".parse::<Platform>(), Ok(Platform::X));
        // Letter case is forgiven, surrounding spaces are not (the API's schema says so).
        assert!(" X".parse::<Platform>().is_err());
        assert!("tiktok ".parse::<Platform>().is_err());
    }

    #[test]
    fn unknown_platform_error_lists_valid_names() {
        let err = "myspace".parse::<Platform>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("myspace"), "{msg}");
        for name in ["tiktok", "instagram", "x", "twitter"] {
            assert!(msg.contains(name), "{msg} lacks {name}");
        }
    }

    #[test]
    fn serde_uses_canonical_names() {
        assert_eq!(serde_json::to_string(&Platform::X).unwrap(), "\"x\"");
        let p: Platform = serde_json::from_str("\"Twitter\"").unwrap();
        assert_eq!(p, Platform::X);
        assert!(serde_json::from_str::<Platform>("\"vine\"").is_err());
    }

    #[test]
    fn display_round_trips_through_parse() {
        for p in Platform::ALL {
            assert_eq!(p.to_string().parse::<Platform>(), Ok(p));
        }
    }
}
