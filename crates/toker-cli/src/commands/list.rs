//! `toker list` (one summary line per profile) and `toker listfull` (every profile in full).

use std::io::Write;

use serde_json::json;
use toker_model::Listing;

use crate::cli::ListArgs;
use crate::commands::{Ctx, show};
use crate::error::CliResult;
use crate::output::count;

/// Profiles read from the database per page while listing.
const PAGE: u64 = 500;

/// How much of each profile a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// One summary line (`toker list`).
    Summary,
    /// Every field and video (`toker listfull`).
    Full,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ListArgs, detail: Detail) -> CliResult {
    let total = ctx.store()?.count_profiles(&Listing {
        platform: args.platform,
        ..Listing::default()
    })?;
    if !ctx.json() {
        writeln!(ctx.out, "Total profiles: {total}")?;
    } else {
        // Stream one JSON document without holding every row: {"total": N, "profiles": [...]}.
        write!(ctx.out, "{{\"total\":{total},\"profiles\":[")?;
    }
    let mut remaining = args.limit.unwrap_or(u64::MAX);
    // The first page skips `--offset` rows; later pages continue after the last id seen
    // (keyset pagination: each page costs the same however deep the listing goes).
    let mut offset = args.offset;
    let mut after_id = None;
    let mut first = true;
    while remaining > 0 {
        let page = remaining.min(PAGE);
        let rows = ctx.store()?.list_profiles(&Listing {
            platform: args.platform,
            limit: Some(page),
            offset,
            after_id,
            ..Listing::default()
        })?;
        if rows.is_empty() {
            break;
        }
        let fetched = rows.len() as u64;
        after_id = rows.last().map(|r| r.id);
        offset = 0;
        for row in rows {
            if detail == Detail::Full {
                let stored = ctx.store()?.get_profile(row.id)?;
                if ctx.json() {
                    if !first {
                        ctx.out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut ctx.out, &show::full_json(&stored))?;
                } else {
                    writeln!(ctx.out)?;
                    show::write_full(&mut ctx.out, &stored)?;
                }
            } else if ctx.json() {
                if !first {
                    ctx.out.write_all(b",")?;
                }
                let value = json!({
                    "id": row.id,
                    "platform": row.platform,
                    "user_id": row.user_id,
                    "username": row.username,
                    "number_of_likes": row.number_of_likes,
                    "liked_videos": row.liked_count,
                    "shared_videos": row.shared_count,
                    "created_at": row.created_at,
                });
                serde_json::to_writer(&mut ctx.out, &value)?;
            } else {
                writeln!(
                    ctx.out,
                    "ID: {} | Platform: {} | Username: {} | Likes: {} | Liked videos: {} | Created: {}",
                    row.id,
                    row.platform,
                    row.username,
                    count(row.number_of_likes),
                    row.liked_count,
                    row.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                )?;
            }
            first = false;
        }
        remaining = remaining.saturating_sub(fetched);
        if fetched < page {
            break;
        }
    }
    if ctx.json() {
        ctx.out.write_all(b"]}\n")?;
    }
    Ok(())
}
