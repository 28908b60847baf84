//! `cargo xtask release <major|minor|patch|X.Y.Z> [--dry-run] [--skip-ci]`.
//!
//! Checks the tree is clean and CI passes, bumps the workspace version, writes the
//! `CHANGELOG.md` section from the commits since the last tag (Keep a Changelog), packages
//! every library crate in dependency order, builds the release `toker` binary into
//! `dist/toker-<version>-<target>.tar.gz` with its SHA-256, commits and tags (never pushes).
//! `--dry-run` does all of it except writing the version, the changelog and the tag.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{cargo, output, run as sh, workspace_root};

const USAGE: &str = "usage: cargo xtask release <major|minor|patch|X.Y.Z> [--dry-run] [--skip-ci]";

/// A semantic version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version(u64, u64, u64);

impl Version {
    fn parse(text: &str) -> Option<Version> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().ok());
        let v = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(v)
    }

    fn bump(self, how: &str) -> Option<Version> {
        let Version(major, minor, patch) = self;
        match how {
            "major" => Some(Version(major + 1, 0, 0)),
            "minor" => Some(Version(major, minor + 1, 0)),
            "patch" => Some(Version(major, minor, patch + 1)),
            exact => Version::parse(exact).filter(|v| *v > self),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1, self.2).cmp(&(other.0, other.1, other.2))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Runs a release.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let skip_ci = args.iter().any(|a| a == "--skip-ci");
    let Some(how) = args.iter().find(|a| !a.starts_with("--")) else {
        return Err(USAGE.to_owned());
    };
    let root = workspace_root();
    let manifest_path = root.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let current = workspace_version(&manifest)
        .ok_or("Cargo.toml: [workspace.package] has no version = \"X.Y.Z\"")?;
    let next = current.bump(how).ok_or_else(|| {
        format!("{how:?}: expected major, minor, patch or a version above {current}\n{USAGE}")
    })?;
    eprintln!(
        "release {current} → {next}{}",
        if dry_run { " (dry run)" } else { "" }
    );

    let dirty = output(git(&root).args(["status", "--porcelain"]))?;
    if !dirty.trim().is_empty() {
        return Err(format!(
            "the working tree is not clean; commit or stash first:\n{dirty}"
        ));
    }
    if skip_ci {
        eprintln!("--skip-ci: not running `cargo xtask ci` (the caller has just run it)");
    } else {
        crate::ci::run(&[])?;
    }

    let last_tag = output(git(&root).args(["describe", "--tags", "--abbrev=0"]))
        .ok()
        .map(|t| t.trim().to_owned());
    let range = last_tag
        .as_deref()
        .map_or_else(|| "HEAD".to_owned(), |t| format!("{t}..HEAD"));
    let log = output(git(&root).args(["log", "--no-merges", "--format=%s", &range]))?;
    let section = changelog_section(&next, &today()?, &log);
    let changelog_path = root.join("CHANGELOG.md");
    let changelog = read(&changelog_path).unwrap_or_default();
    let changelog = insert_section(&changelog, &section);

    if dry_run {
        eprintln!("\nCHANGELOG.md would gain:\n{section}");
    } else {
        write(&manifest_path, &set_version(&manifest, current, next))?;
        write(&changelog_path, &changelog)?;
        // Refresh Cargo.lock with the new version.
        sh(cargo()
            .args(["metadata", "--format-version", "1", "--offline"])
            .stdout(std::process::Stdio::null()))?;
    }

    // Every publishable crate packages (metadata, readme, license, files) in dependency
    // order; cargo resolves each one's unpublished workspace dependencies locally.
    let metadata = output(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let metadata: Value =
        serde_json::from_str(&metadata).map_err(|e| format!("cargo metadata: {e}"))?;
    let crates = publish_order(&metadata)?;
    eprintln!("packaging in dependency order: {}", crates.join(", "));
    let mut package = cargo();
    package.args(["package", "--no-verify", "--allow-dirty", "--locked"]);
    for name in &crates {
        package.args(["-p", name]);
    }
    sh(&mut package)?;

    let version = if dry_run { current } else { next };
    build_dist(&root, version)?;

    if dry_run {
        eprintln!("\ndry run: version, CHANGELOG.md and tag left as they were");
        return Ok(());
    }
    // `-a` alone would leave a first CHANGELOG.md out of the release commit.
    sh(git(&root).args(["add", "Cargo.toml", "Cargo.lock", "CHANGELOG.md"]))?;
    sh(git(&root).args(["commit", "-q", "-m", &format!("Release {next}")]))?;
    sh(git(&root).args([
        "tag",
        "-a",
        &format!("v{next}"),
        "-m",
        &format!("Toker {next}"),
    ]))?;
    eprintln!("\ntagged v{next}; push it yourself: git push origin main v{next}");
    Ok(())
}

/// The workspace's publishable crates (not `publish = false`), each after the workspace
/// crates it depends on (normal and build dependencies; dev-dependencies may cycle).
fn publish_order(metadata: &Value) -> Result<Vec<String>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    let publishable = |p: &Value| !matches!(p["publish"].as_array(), Some(list) if list.is_empty());
    let mut pending: Vec<(String, Vec<String>)> = packages
        .iter()
        .filter(|p| publishable(p))
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_owned();
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["path"].is_string() && d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .filter(|d| *d != name)
                .collect();
            Some((name, deps))
        })
        .collect();
    let mut order: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|(_, deps)| deps.iter().all(|d| order.contains(d)))
            .ok_or_else(|| {
                let names: Vec<&str> = pending.iter().map(|(n, _)| n.as_str()).collect();
                format!(
                    "cannot order {} for publishing: a dependency is unpublishable or cyclic",
                    names.join(", ")
                )
            })?;
        order.push(pending.remove(ready).0);
    }
    Ok(order)
}

fn build_dist(root: &Path, version: Version) -> Result<(), String> {
    sh(cargo().args(["build", "--release", "-p", "toker-cli", "--locked"]))?;
    let host = output(Command::new("rustc").arg("-vV"))?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or("rustc -vV did not name the host target")?;
    let name = format!("toker-{version}-{host}");
    let dist = root.join("dist");
    let stage = dist.join(&name);
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)
        .map_err(|e| format!("cannot create {}: {e}", stage.display()))?;
    for (from, to) in [
        (crate::util::target_dir().join("release/toker"), "toker"),
        (root.join("README.md"), "README.md"),
        (root.join("CHANGELOG.md"), "CHANGELOG.md"),
        (root.join("LICENSE-MIT"), "LICENSE-MIT"),
        (root.join("LICENSE-APACHE"), "LICENSE-APACHE"),
    ] {
        if from.exists() {
            std::fs::copy(&from, stage.join(to))
                .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
        }
    }
    // The shipped binary carries no debug line tables (the build keeps them for profiling).
    if Command::new("strip")
        .arg("--strip-debug")
        .arg(stage.join("toker"))
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("stripped the debug information from the packaged toker");
    } else {
        eprintln!("note: `strip` is not available; the packaged toker keeps its line tables");
    }
    // The packaged binary runs and reports the version it is released as.
    let reported = output(Command::new(stage.join("toker")).arg("--version"))?;
    if !reported.contains(&version.to_string()) {
        return Err(format!(
            "the built toker reports {:?}, expected version {version}",
            reported.trim()
        ));
    }
    let tarball = format!("{name}.tar.gz");
    sh(Command::new("tar")
        .current_dir(&dist)
        .args(["czf", &tarball, &name]))?;
    let sum = output(Command::new("sha256sum").current_dir(&dist).arg(&tarball))?;
    write(&dist.join(format!("{tarball}.sha256")), &sum)?;
    let _ = std::fs::remove_dir_all(&stage);
    eprintln!("wrote dist/{tarball} and dist/{tarball}.sha256");
    Ok(())
}

/// The `version = "X.Y.Z"` of `[workspace.package]`.
fn workspace_version(manifest: &str) -> Option<Version> {
    let section = manifest.split("[workspace.package]").nth(1)?;
    let section = section.split("\n[").next()?;
    section.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix("version")?
            .trim()
            .strip_prefix('=')?;
        Version::parse(value.trim().trim_matches('"'))
    })
}

/// The manifest with the workspace version and every `toker-*` dependency's version bumped.
fn set_version(manifest: &str, from: Version, to: Version) -> String {
    manifest
        .lines()
        .map(|line| {
            let is_ours = line.trim_start().starts_with("version = ") || line.starts_with("toker-");
            if is_ours {
                line.replace(&format!("\"{from}\""), &format!("\"{to}\""))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The Keep a Changelog group of a commit subject, from its leading verb (after an
/// optional `scope:` or conventional-commit `type(scope):` prefix); `None` for a release
/// commit. Anything that is not a fix, a removal or a change of something existing is an
/// addition.
fn change_group(subject: &str) -> Option<usize> {
    const ADDED: usize = 0;
    const CHANGED: usize = 1;
    const FIXED: usize = 2;
    const REMOVED: usize = 3;
    let lower = subject.trim().to_lowercase();
    if lower.starts_with("release ") {
        return None;
    }
    // "toker-store: drop …", "fix(cli): …", "feat: …": the prefix names the scope or type.
    let (prefix, rest) = match lower.split_once(": ") {
        Some((prefix, rest)) if !prefix.contains(' ') => (prefix, rest),
        _ => ("", lower.as_str()),
    };
    let kind = prefix.split('(').next().unwrap_or_default();
    match kind {
        "fix" | "bugfix" | "hotfix" => return Some(FIXED),
        "feat" => return Some(ADDED),
        "refactor" | "perf" | "style" => return Some(CHANGED),
        _ => {}
    }
    let verb = rest
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    Some(match verb {
        "fix" | "fixes" | "fixed" | "repair" | "repairs" | "correct" | "corrects" => FIXED,
        "remove" | "removes" | "removed" | "drop" | "drops" | "delete" | "deletes" => REMOVED,
        "change" | "changes" | "rename" | "renames" | "refactor" | "bump" | "bumps"
        | "simplify" | "simplifies" | "faster" | "speed" | "move" | "moves" | "replace"
        | "replaces" | "update" | "updates" => CHANGED,
        _ => ADDED,
    })
}

/// A Keep a Changelog section from commit subjects.
fn changelog_section(version: &Version, date: &str, log: &str) -> String {
    let mut groups: [(&str, Vec<&str>); 4] = [
        ("Added", Vec::new()),
        ("Changed", Vec::new()),
        ("Fixed", Vec::new()),
        ("Removed", Vec::new()),
    ];
    for subject in log.lines().map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(group) = change_group(subject) {
            groups[group].1.push(subject);
        }
    }
    let mut text = format!("## [{version}] - {date}\n");
    for (title, items) in &groups {
        if !items.is_empty() {
            text.push_str(&format!("\n### {title}\n"));
            for item in items {
                text.push_str(&format!("- {item}\n"));
            }
        }
    }
    text
}

const CHANGELOG_HEAD: &str = "# Changelog\n\nAll notable changes to this project are documented here. The format follows\n[Keep a Changelog](https://keepachangelog.com/en/1.1.0/) and the project uses\n[Semantic Versioning](https://semver.org/).\n";

/// The changelog with `section` inserted above the previous releases.
fn insert_section(changelog: &str, section: &str) -> String {
    let body = if changelog.trim().is_empty() {
        CHANGELOG_HEAD
    } else {
        changelog
    };
    match body.find("\n## ") {
        Some(at) => format!("{}\n{section}{}", &body[..at + 1], &body[at..]),
        None => format!(
            "{}\n{section}",
            body.trim_end_matches('\n').to_owned() + "\n"
        ),
    }
}

fn today() -> Result<String, String> {
    output(Command::new("date").args(["-u", "+%Y-%m-%d"])).map(|d| d.trim().to_owned())
}

fn git(root: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(root);
    cmd
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_publishable_workspace_crate_is_packaged_after_its_dependencies() {
        let metadata = output(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))
            .expect("cargo metadata runs");
        let metadata: Value = serde_json::from_str(&metadata).expect("cargo metadata is JSON");
        let order = publish_order(&metadata).expect("the workspace orders");
        let at = |name: &str| order.iter().position(|n| n == name);
        for name in [
            "toker-model",
            "toker-sources",
            "toker-processing",
            "toker-store",
            "toker-collect",
            "toker-api",
            "toker-cli",
        ] {
            assert!(at(name).is_some(), "{name} missing from {order:?}");
        }
        assert_eq!(at("xtask"), None, "xtask is publish = false");
        assert!(at("toker-model") < at("toker-store"));
        assert!(at("toker-store") < at("toker-collect"));
        assert!(at("toker-collect") < at("toker-api"));
        assert!(at("toker-api") < at("toker-cli"));
    }

    #[test]
    fn a_dependency_outside_the_publishable_set_stops_the_release() {
        let metadata = serde_json::json!({"packages": [
            {"name": "a", "publish": null, "dependencies": [{"name": "b", "path": "../b", "kind": null}]},
            {"name": "b", "publish": [], "dependencies": []},
        ]});
        let err = publish_order(&metadata).expect_err("b is publish = false");
        assert!(err.contains('a'), "{err}");
    }

    #[test]
    fn commits_are_grouped_by_their_leading_verb_not_by_words_inside() {
        let group = |s: &str| change_group(s).map(|g| ["Added", "Changed", "Fixed", "Removed"][g]);
        assert_eq!(
            group("toker-sources: X API client tests against the replayed fixtures"),
            Some("Added"),
            "\"fixtures\" is not a fix"
        );
        assert_eq!(
            group("toker-store: drop the duplicate conn_mut"),
            Some("Removed")
        );
        assert_eq!(group("Fix import of empty files"), Some("Fixed"));
        assert_eq!(
            group("fix(cli): exit code of a failed import"),
            Some("Fixed")
        );
        assert_eq!(group("feat: toker serve"), Some("Added"));
        assert_eq!(group("toker-store: delete unused helpers"), Some("Removed"));
        assert_eq!(group("Rename store methods"), Some("Changed"));
        assert_eq!(
            group("docs: the connect flow's rules (refactor later)"),
            Some("Added")
        );
        assert_eq!(group("Release 0.1.0"), None);
    }

    #[test]
    fn versions_bump_as_semver_says() {
        let v = Version(1, 4, 2);
        assert_eq!(v.bump("patch"), Some(Version(1, 4, 3)));
        assert_eq!(v.bump("minor"), Some(Version(1, 5, 0)));
        assert_eq!(v.bump("major"), Some(Version(2, 0, 0)));
        assert_eq!(v.bump("1.10.0"), Some(Version(1, 10, 0)));
        assert_eq!(v.bump("1.4.2"), None, "a release must move forward");
        assert_eq!(v.bump("banana"), None);
    }

    #[test]
    fn the_workspace_version_is_read_and_bumped_with_our_path_dependencies() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace.dependencies]\ntoker-model = { path = \"crates/toker-model\", version = \"0.1.0\" }\nserde = { version = \"0.1.0\" }\n";
        assert_eq!(workspace_version(manifest), Some(Version(0, 1, 0)));
        let bumped = set_version(manifest, Version(0, 1, 0), Version(0, 2, 0));
        assert_eq!(workspace_version(&bumped), Some(Version(0, 2, 0)));
        assert!(
            bumped.contains("toker-model = { path = \"crates/toker-model\", version = \"0.2.0\" }")
        );
        assert!(
            bumped.contains("serde = { version = \"0.1.0\" }"),
            "third-party versions stay"
        );
    }

    #[test]
    fn the_changelog_groups_commits_and_keeps_older_releases_below() {
        let section = changelog_section(
            &Version(0, 2, 0),
            "2026-11-25",
            "Add toker serve\nFix import of empty files\nRelease 0.1.0\nRename store methods\n",
        );
        assert!(section.starts_with("## [0.2.0] - 2026-11-25\n"));
        assert!(section.contains("### Added\n- Add toker serve\n"));
        assert!(section.contains("### Fixed\n- Fix import of empty files\n"));
        assert!(section.contains("### Changed\n- Rename store methods\n"));
        assert!(!section.contains("Release 0.1.0"));
        let first = insert_section("", &section);
        assert!(first.starts_with("# Changelog\n"));
        let older = "## [0.1.0] - 2026-01-01\n\n### Added\n- x\n";
        let both = insert_section(&format!("{CHANGELOG_HEAD}\n{older}"), &section);
        let (new_at, old_at) = (both.find("[0.2.0]"), both.find("[0.1.0]"));
        assert!(new_at < old_at, "{both}");
    }
}
