//! `toker show`: one profile in full (also what `listfull` prints per profile).

use std::io::{self, Write};

use serde_json::{Value, json};
use toker_model::{Profile, Video};
use toker_processing::summarize;
use toker_store::StoredProfile;

use crate::cli::ShowArgs;
use crate::commands::Ctx;
use crate::error::CliResult;
use crate::output::count;

pub(crate) fn run(ctx: &mut Ctx, args: &ShowArgs) -> CliResult {
    let stored = ctx.find(&args.profile)?;
    if ctx.json() {
        ctx.out.json(&full_json(&stored))?;
    } else {
        write_full(&mut ctx.out, &stored)?;
    }
    Ok(())
}

/// The profile with its row data, summary and raw JSON, as one JSON value.
pub(crate) fn full_json(stored: &StoredProfile) -> Value {
    json!({
        "id": stored.id,
        "platform": stored.platform,
        "owner": stored.owner,
        "created_at": stored.created_at,
        "updated_at": stored.updated_at,
        "profile": stored.profile,
        "summary": summarize(&stored.profile),
        "raw_json": stored.raw_json,
    })
}

/// The profile as text: info, statistics, videos, top interests and raw JSON.
pub(crate) fn write_full(out: &mut impl Write, stored: &StoredProfile) -> io::Result<()> {
    let p: &Profile = &stored.profile;
    writeln!(
        out,
        "Profile {} | Platform: {} | User ID: {} | Username: {}",
        stored.id, stored.platform, p.user_id, p.username
    )?;
    writeln!(
        out,
        "  Pseudo: {} | Verified: {}",
        p.user_pseudo.as_deref().unwrap_or("unknown"),
        p.verified
            .map_or("unknown", |v| if v { "yes" } else { "no" })
    )?;
    writeln!(
        out,
        "  Followers: {} | Following: {} | Likes received: {} | Videos: {}",
        count(p.followers_count),
        count(p.following_count),
        count(p.likes_count),
        count(p.videos_count)
    )?;
    writeln!(
        out,
        "  Likes given: {} | Comments: {} | Shares: {} | Likes on own videos: {}",
        count(p.number_of_likes),
        count(p.number_of_comments),
        count(p.number_of_shares),
        count(p.number_of_likes_on_own_videos)
    )?;
    writeln!(
        out,
        "  Created: {} | Updated: {}",
        stored.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        stored.updated_at.format("%Y-%m-%d %H:%M:%S UTC")
    )?;
    let summary = summarize(p);
    writeln!(out, "  Top categories: {}", ranked(&summary.top_categories))?;
    writeln!(out, "  Top hashtags: {}", ranked(&summary.top_hashtags))?;
    if !p.interests.is_empty() {
        writeln!(out, "  Interests: {}", p.interests.join(", "))?;
    }
    for (title, videos) in [
        ("Liked videos", &p.liked_videos),
        ("Shared videos", &p.shared_videos),
    ] {
        writeln!(out, "  {title} ({}):", videos.len())?;
        for video in videos {
            write_video(out, video)?;
        }
    }
    let raw = serde_json::to_string(&stored.raw_json).unwrap_or_default();
    writeln!(out, "  Raw JSON: {raw}")
}

fn write_video(out: &mut impl Write, v: &Video) -> io::Result<()> {
    writeln!(
        out,
        "    - {} | Likes: {} | Comments: {} | Shares: {} | Categories: {} | Hashtags: {}",
        v.video_id,
        count(v.likes),
        count(v.comments),
        count(v.shares),
        or_none(&v.categories.join(", ")),
        or_none(&v.hashtags.join(" "))
    )
}

fn ranked(items: &[(String, u32)]) -> String {
    let text = items
        .iter()
        .map(|(name, n)| format!("{name} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    or_none(&text).to_owned()
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}
