//! `toker delete`: profiles with their links and vectors (videos others link to stay).

use std::io::Write;

use serde_json::json;

use crate::cli::DeleteArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};

pub(crate) fn run(ctx: &mut Ctx, args: &DeleteArgs) -> CliResult {
    // Resolve every reference first: one that does not exist deletes nothing.
    let mut targets = Vec::with_capacity(args.profiles.len());
    for reference in &args.profiles {
        let stored = ctx.find(reference).map_err(|e| CliError {
            message: format!("{}: nothing deleted", e.message),
            ..e
        })?;
        let key = format!("{}:{}", stored.platform, stored.profile.user_id);
        if !targets.iter().any(|(id, _)| *id == stored.id) {
            targets.push((stored.id, key));
        }
    }
    for (id, key) in &targets {
        ctx.store()?.delete_profile(*id)?;
        if !ctx.json() {
            writeln!(ctx.out, "Deleted profile {id} ({key})")?;
        }
    }
    if ctx.json() {
        let deleted: Vec<_> = targets
            .iter()
            .map(|(id, key)| json!({"id": id, "key": key}))
            .collect();
        ctx.out.json(&json!({ "deleted": deleted }))?;
    }
    Ok(())
}
