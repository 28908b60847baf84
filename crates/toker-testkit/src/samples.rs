//! Deterministic sample profiles: every field filled or null depending on a number, videos
//! drawn from a small pool so that profiles share them.

use serde_json::{Value, json};
use toker_model::{Platform, Profile, Video};

/// A video whose whole description follows from its number, so that profiles sharing it
/// describe it identically.
pub fn video(n: u64) -> Video {
    Video {
        video_id: format!("{}", 967_235_098_700 + n),
        categories: match n % 3 {
            0 => vec!["Technology".into(), "Education".into()],
            1 => vec!["Music".into()],
            _ => vec![],
        },
        hashtags: (0..n % 4).map(|k| format!("#tag{}", (n + k) % 7)).collect(),
        likes: Some(n * 10),
        comments: if n % 5 == 0 { None } else { Some(n) },
        shares: Some(n % 13),
    }
}

/// The `i`-th sample profile: every field filled or null depending on `i`, a few liked
/// and shared videos drawn from a pool of 40 (so profiles share videos).
pub fn profile(i: u64) -> Profile {
    let mut p = Profile::new(format!("{}", 100_000 + i), format!("user_{i}"));
    p.user_pseudo = (i % 3 != 0).then(|| format!("Pseudo {i} ✓"));
    p.verified = match i % 3 {
        0 => None,
        1 => Some(true),
        _ => Some(false),
    };
    p.followers_count = Some(1500 + i);
    p.following_count = (i % 4 != 0).then_some(300);
    p.likes_count = Some(5000 * i);
    p.videos_count = Some(i % 100);
    p.number_of_comments = (i % 2 == 0).then_some(200);
    p.number_of_likes_on_own_videos = None;
    p.number_of_likes = Some(100 + i);
    p.number_of_shares = Some(800);
    p.liked_videos = (0..(i % 5)).map(|k| video((i * 7 + k) % 40)).collect();
    p.shared_videos = (0..(i % 3)).map(|k| video((i * 11 + k * 3) % 40)).collect();
    p.interests = match i % 4 {
        1 => vec!["Sports".into(), "Basketball".into()],
        3 => vec!["Home Décor".into()],
        _ => Vec::new(),
    };
    p
}

/// The raw JSON of a profile, with a key Toker does not know.
pub fn raw(p: &Profile) -> Value {
    let mut raw = serde_json::to_value(p).unwrap();
    raw["source_extra"] = json!({ "kept": true, "n": [1, 2, 3] });
    raw
}

/// Platforms in turn.
pub fn platform(i: u64) -> Platform {
    Platform::ALL[usize::try_from(i % 3).unwrap()]
}
