//! Supply-chain checks: licenses, banned crates and sources of the dependency tree.
//!
//! With cargo-deny installed, `deny.toml` is checked by cargo-deny (plus advisories where
//! the RustSec database can be fetched). Without it — installing it compiles ~300 crates,
//! more than CI's time budget allows on two cores — the same three rules are read from
//! `deny.toml` and checked here over `cargo metadata`. `cargo xtask ci --install-tools`
//! installs cargo-deny first.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{cargo, output, run as sh, workspace_root};

/// Runs the checks; `install` installs cargo-deny when it is missing.
pub(crate) fn check(install: bool) -> Result<(), String> {
    let have_deny = || {
        cargo()
            .args(["deny", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have_deny() && install {
        sh(cargo().args(["install", "--locked", "cargo-deny"]))?;
    }
    if have_deny() {
        sh(cargo().args([
            "deny",
            "--all-features",
            "check",
            "licenses",
            "bans",
            "sources",
        ]))?;
        return advisories();
    }
    eprintln!(
        "supply chain: cargo-deny is not installed (`cargo xtask ci --install-tools` installs it); \
         checking deny.toml's licenses, bans and sources over cargo metadata"
    );
    let config = std::fs::read_to_string(workspace_root().join("deny.toml"))
        .map_err(|e| format!("cannot read deny.toml: {e}"))?;
    let rules = Rules::parse(&config);
    let metadata = output(cargo().args([
        "metadata",
        "--format-version",
        "1",
        "--all-features",
        "--locked",
    ]))
    .or_else(|_| output(cargo().args(["metadata", "--format-version", "1", "--all-features"])))?;
    let metadata: Value =
        serde_json::from_str(&metadata).map_err(|e| format!("cargo metadata: {e}"))?;
    let problems = rules.violations(&metadata);
    if problems.is_empty() {
        eprintln!(
            "supply chain: licenses, bans and sources ok; advisories NOT checked (needs cargo-deny and the network)"
        );
        Ok(())
    } else {
        Err(format!("supply chain:\n  {}", problems.join("\n  ")))
    }
}

fn advisories() -> Result<(), String> {
    let reachable = Command::new("timeout")
        .args(["20", "git", "ls-remote", "--exit-code"])
        .args(["https://github.com/rustsec/advisory-db", "HEAD"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if reachable {
        sh(cargo().args(["deny", "--all-features", "check", "advisories"]))
    } else {
        eprintln!(
            "supply chain: advisories NOT checked: the RustSec advisory database cannot be \
             fetched from here (licenses, bans and sources were checked)"
        );
        Ok(())
    }
}

/// The parts of `deny.toml` the fallback checks.
#[derive(Debug, Default)]
struct Rules {
    allowed_licenses: Vec<String>,
    banned: Vec<String>,
}

impl Rules {
    /// Reads `[licenses] allow = [...]` and `[bans] deny = [{ name = "..." }]` (the subset
    /// of TOML deny.toml uses).
    fn parse(toml: &str) -> Rules {
        let mut rules = Rules::default();
        let mut section = "";
        let mut in_allow = false;
        for line in toml
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
        {
            if line.starts_with('[') && !line.starts_with("[[") && line.ends_with(']') && !in_allow
            {
                section = line;
                continue;
            }
            let quoted = || line.split('"').nth(1).map(str::to_owned);
            match section {
                "[licenses]" => {
                    if line.starts_with("allow") {
                        in_allow = true;
                    }
                    if in_allow {
                        if let Some(name) = quoted() {
                            rules.allowed_licenses.push(name);
                        }
                        if line.ends_with(']') {
                            in_allow = false;
                        }
                    }
                }
                "[bans]" if line.starts_with("{ name") => {
                    if let Some(name) = quoted() {
                        rules.banned.push(name);
                    }
                }
                _ => {}
            }
        }
        rules
    }

    fn violations(&self, metadata: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        for package in metadata["packages"].as_array().into_iter().flatten() {
            let name = package["name"].as_str().unwrap_or("?");
            let version = package["version"].as_str().unwrap_or("?");
            let id = format!("{name} {version}");
            if self.banned.iter().any(|b| b == name) {
                problems.push(format!("{id}: banned in deny.toml"));
            }
            match package["source"].as_str() {
                None => {} // a path in this workspace
                Some("registry+https://github.com/rust-lang/crates.io-index") => {}
                Some(other) => problems.push(format!("{id}: source {other} is not crates.io")),
            }
            if package["source"].is_null() {
                continue; // our own crates carry the workspace license
            }
            match package["license"].as_str() {
                Some(expr) if license_allowed(expr, &self.allowed_licenses) => {}
                Some(expr) => problems.push(format!(
                    "{id}: license {expr:?} is not allowed by deny.toml"
                )),
                None => problems.push(format!("{id}: no license expression")),
            }
        }
        problems
    }
}

/// Whether an SPDX expression (`A OR B`, `A AND (B OR C)`, `A WITH E`, old-style `A/B`) can
/// be satisfied with the allowed licenses.
fn license_allowed(expression: &str, allowed: &[String]) -> bool {
    let spaced = expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut at = 0;
    parse_or(&tokens, &mut at, allowed).unwrap_or(false) && at == tokens.len()
}

fn parse_or(t: &[&str], at: &mut usize, allowed: &[String]) -> Option<bool> {
    let mut value = parse_and(t, at, allowed)?;
    while t.get(*at) == Some(&"OR") {
        *at += 1;
        value |= parse_and(t, at, allowed)?;
    }
    Some(value)
}

fn parse_and(t: &[&str], at: &mut usize, allowed: &[String]) -> Option<bool> {
    let mut value = parse_atom(t, at, allowed)?;
    while t.get(*at) == Some(&"AND") {
        *at += 1;
        value &= parse_atom(t, at, allowed)?;
    }
    Some(value)
}

fn parse_atom(t: &[&str], at: &mut usize, allowed: &[String]) -> Option<bool> {
    let token = *t.get(*at)?;
    *at += 1;
    if token == "(" {
        let value = parse_or(t, at, allowed)?;
        (t.get(*at) == Some(&")")).then(|| *at += 1)?;
        return Some(value);
    }
    let mut license = token.to_owned();
    if t.get(*at) == Some(&"WITH") {
        license = format!("{license} WITH {}", t.get(*at + 1)?);
        *at += 2;
    }
    // `Apache-2.0 WITH LLVM-exception` is allowed if listed, or if the bare license is.
    let bare = license.split(" WITH ").next().unwrap_or_default();
    Some(allowed.iter().any(|a| *a == license || *a == bare))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        ["MIT", "Apache-2.0", "Unicode-3.0"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    #[test]
    fn spdx_expressions_are_evaluated_against_the_allow_list() {
        let a = allowed();
        assert!(license_allowed("MIT OR Apache-2.0", &a));
        assert!(license_allowed("MIT/Apache-2.0", &a));
        assert!(license_allowed("(MIT OR Apache-2.0) AND Unicode-3.0", &a));
        assert!(license_allowed(
            "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT",
            &a
        ));
        assert!(license_allowed("GPL-3.0 OR MIT", &a));
        assert!(!license_allowed("GPL-3.0", &a));
        assert!(!license_allowed("MIT AND GPL-3.0", &a));
        assert!(!license_allowed("(MIT", &a), "malformed is not allowed");
    }

    #[test]
    fn deny_toml_rules_are_read_and_applied() {
        let rules = Rules::parse(
            "[licenses]\nallow = [\n  \"MIT\", # ok\n  \"Apache-2.0\",\n]\n[bans]\ndeny = [\n  { name = \"openssl-sys\" },\n]\n",
        );
        assert_eq!(rules.allowed_licenses, ["MIT", "Apache-2.0"]);
        assert_eq!(rules.banned, ["openssl-sys"]);
        let metadata = serde_json::json!({"packages": [
            {"name": "ok", "version": "1.0.0", "license": "MIT", "source": "registry+https://github.com/rust-lang/crates.io-index"},
            {"name": "ours", "version": "0.1.0", "license": null, "source": null},
            {"name": "openssl-sys", "version": "0.9.0", "license": "MIT", "source": "registry+https://github.com/rust-lang/crates.io-index"},
            {"name": "gpl", "version": "1.0.0", "license": "GPL-3.0", "source": "registry+https://github.com/rust-lang/crates.io-index"},
            {"name": "forked", "version": "1.0.0", "license": "MIT", "source": "git+https://example.com/x"},
        ]});
        let problems = rules.violations(&metadata);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("openssl-sys") && p.contains("banned"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("gpl") && p.contains("GPL-3.0"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("forked") && p.contains("not crates.io"))
        );
    }
}
