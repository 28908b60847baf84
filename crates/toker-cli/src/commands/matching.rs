//! `toker match`: the profiles most similar to one profile, from the stored vectors (no
//! refit: the vocabulary they were made with is stored beside them).

use std::io::Write;

use serde_json::json;
use toker_processing::{MatchIndex, SparseVector, Vocabulary};

use crate::cli::MatchArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &mut Ctx, args: &MatchArgs) -> CliResult {
    let query = ctx.find(&args.profile)?;
    let store = ctx.store()?;
    let Some(record) = store.load_vocabulary()? else {
        return Err(CliError::runtime(
            "no vectors are stored yet: run `toker vectorize` first",
        ));
    };
    let vocabulary = Vocabulary::from_json(&record.json).map_err(|e| {
        CliError::runtime(format!(
            "the stored vocabulary {} cannot be read ({e}): run `toker vectorize` again",
            record.version
        ))
    })?;
    let mut entries = Vec::new();
    for v in store.load_vectors(None)? {
        let vector = SparseVector::from_parts(v.indices, v.values).map_err(|e| {
            CliError::runtime(format!(
                "the stored vector of profile {} is damaged ({e}): run `toker vectorize` again",
                v.profile_id
            ))
        })?;
        entries.push((v.profile_id, v.platform, vector));
    }
    let index = MatchIndex::new(&vocabulary, entries)
        .map_err(|e| CliError::runtime(format!("{e}: run `toker vectorize` again")))?;
    let k = usize::try_from(args.top).unwrap_or(10);
    // Every profile Toker writes is stored with its vector; one written without (by a
    // library user's store without a vectorizer) is matched with the stored vocabulary.
    let (matches, fresh) = match index.top_k(query.id, k, args.platform) {
        Ok(matches) => (matches, false),
        Err(_) => {
            let vector = vocabulary.transform(&query.profile);
            let matches = index
                .top_k_vector(&vector, k + 1, args.platform)
                .into_iter()
                .filter(|m| m.id != query.id)
                .take(k)
                .collect();
            (matches, true)
        }
    };
    let mut rows = Vec::with_capacity(matches.len());
    for m in &matches {
        let other = store.get_profile(m.id)?;
        rows.push((m, other.profile.username, other.profile.user_id));
    }
    let query_key = format!("{}:{}", query.platform, query.profile.user_id);
    if ctx.json() {
        let matches: Vec<_> = rows
            .iter()
            .map(|(m, username, user_id)| {
                json!({
                    "id": m.id,
                    "platform": m.platform,
                    "user_id": user_id,
                    "username": username,
                    "score": m.score,
                    "features": m.features.iter().map(|(f, w)| json!({"feature": f, "weight": w})).collect::<Vec<_>>(),
                })
            })
            .collect();
        ctx.out.json(&json!({
            "profile": {"id": query.id, "key": query_key},
            "vocabulary_version": vocabulary.version(),
            "vectorized_now": fresh,
            "matches": matches,
        }))?;
        return Ok(());
    }
    writeln!(
        ctx.out,
        "Profiles most similar to {} ({query_key}, @{}):",
        query.id, query.profile.username
    )?;
    if rows.is_empty() {
        writeln!(ctx.out, "  none share an interest with this profile")?;
    }
    for (rank, (m, username, user_id)) in rows.iter().enumerate() {
        let features = m
            .features
            .iter()
            .map(|(f, _)| display_feature(f))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            ctx.out,
            "{:>3}. ID: {} | {}:{} | @{} | score {:.3} | shared: {}",
            rank + 1,
            m.id,
            m.platform,
            user_id,
            username,
            m.score,
            features
        )?;
    }
    Ok(())
}

/// `c:Music` → `Music`, `h:#dance` → `#dance`.
fn display_feature(feature: &str) -> &str {
    feature
        .strip_prefix(toker_processing::CATEGORY_PREFIX)
        .or_else(|| feature.strip_prefix(toker_processing::HASHTAG_PREFIX))
        .unwrap_or(feature)
}
