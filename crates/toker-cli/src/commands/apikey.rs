//! `toker apikey create|list|revoke`: the REST API's keys (toker-api owns the rules).

use std::io::Write;

use serde_json::json;
use toker_api::{Role, create_api_key, list_api_keys, parse_key, revoke_api_key};

use crate::cli::ApikeyCommand;
use crate::commands::Ctx;
use crate::error::CliResult;

pub(crate) fn run(ctx: &mut Ctx, command: ApikeyCommand) -> CliResult {
    match command {
        ApikeyCommand::Create { role, label } => {
            let role: Role = role.parse()?;
            let (key, record) = create_api_key(ctx.store()?, role, label.as_deref())?;
            if ctx.json() {
                ctx.out.json(&json!({
                    "key": key,
                    "key_id": record.key_id,
                    "role": record.role,
                    "label": record.label,
                }))?;
            } else {
                writeln!(ctx.out, "{key}")?;
                if !ctx.global.quiet {
                    eprintln!(
                        "Created {role} key {} — shown once: store it now (send it as `Authorization: Bearer <key>`)",
                        record.key_id
                    );
                }
            }
        }
        ApikeyCommand::List => {
            let keys = list_api_keys(ctx.store()?)?;
            if ctx.json() {
                let keys: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({
                            "key_id": k.key_id, "role": k.role, "label": k.label,
                            "created_at": k.created_at, "revoked_at": k.revoked_at,
                        })
                    })
                    .collect();
                ctx.out.json(&json!({ "keys": keys }))?;
            } else {
                writeln!(ctx.out, "Total keys: {}", keys.len())?;
                for k in &keys {
                    writeln!(
                        ctx.out,
                        "Key: {} | Role: {} | Label: {} | Created: {} | {}",
                        k.key_id,
                        k.role,
                        k.label.as_deref().unwrap_or("-"),
                        k.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        k.revoked_at.map_or_else(
                            || "active".to_owned(),
                            |at| format!("revoked {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
                        )
                    )?;
                }
            }
        }
        ApikeyCommand::Revoke { key } => {
            revoke_api_key(ctx.store()?, &key)?;
            // Given the whole key, echo only its id: the secret never reaches the output.
            let key_id = parse_key(&key).map_or(key.as_str(), |(id, _)| id);
            if ctx.json() {
                ctx.out.json(&json!({ "revoked": key_id }))?;
            } else {
                writeln!(ctx.out, "Revoked key {key_id}")?;
            }
        }
    }
    Ok(())
}
