//! `toker import-export` on the platforms' data-export fixtures (copies kept in
//! toker-testkit/fixtures): the stored profile is the expected one, re-importing
//! changes nothing, and broken, too-small or hostile exports (zip bombs) store nothing.

use std::path::Path;

use crate::common;

use assert_cmd::Command;
use common::{comparable, fixture, instagram_export_folder, instagram_export_zip};
use predicates::prelude::*;
use serde_json::Value;

fn toker(db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.env_remove("DATABASE_URL")
        .arg("--database")
        .arg(db)
        .args(args);
    cmd
}

fn json(db: &Path, args: &[&str]) -> Value {
    let out = toker(db, args).arg("--json").assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn each_platform_export_stores_the_expected_profile_and_reimports_as_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    for (platform, archive, expected) in [
        (
            "tiktok",
            "tiktok/export/activity_layout.zip",
            "tiktok/export/expected/export_profile.json",
        ),
        (
            "x",
            "x/export/archive.zip",
            "x/export/expected/export_profile.json",
        ),
        (
            "instagram",
            "instagram/export/legacy.zip",
            "instagram/export/expected/export_profile.json",
        ),
    ] {
        let archive = fixture(archive);
        let expected = std::fs::read_to_string(fixture(expected)).unwrap();
        let expected: Value = serde_json::from_str(&expected).unwrap();
        let report = json(&db, &["import-export", platform, archive.to_str().unwrap()]);
        assert_eq!(report["outcome"], "created", "{platform}");
        let key = format!("{platform}:{}", expected["user_id"].as_str().unwrap());
        let stored = json(&db, &["show", &key]);
        assert_eq!(
            comparable(stored["profile"].clone()),
            comparable(expected.clone()),
            "{platform}"
        );
        let again = json(&db, &["import-export", platform, archive.to_str().unwrap()]);
        assert_eq!(again["outcome"], "unchanged", "{platform}");
        let restored = json(&db, &["show", &key]);
        assert_eq!(restored["profile"], stored["profile"], "{platform}");
    }
    assert_eq!(json(&db, &["stats"])["profiles"], 3);
}

#[test]
fn an_export_below_the_minimum_likes_is_rejected_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let few = fixture("tiktok/export/few_likes");
    toker(&db, &["import-export", "tiktok", few.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("number_of_likes"));
    assert_eq!(json(&db, &["stats"])["profiles"], 0);
}

#[test]
fn a_broken_export_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let broken = fixture("instagram/export/broken_wrong_type");
    toker(
        &db,
        &["import-export", "instagram", broken.to_str().unwrap()],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains("liked_posts.json"))
    .stderr(predicate::str::contains("likes_media_likes"));
    let missing = dir.path().join("nothing-here.zip");
    toker(&db, &["import-export", "x", missing.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing-here.zip"));
}

fn stored_profiles(db: &Path) -> u64 {
    json(db, &["stats"])["profiles"].as_u64().unwrap()
}

#[test]
fn a_zip_bomb_is_refused_with_the_limit_named_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    // 8 MB of `0,` deflated into about 8 KB.
    let bomb = instagram_export_zip(dir.path(), 0, 4_000_000);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 * 1024);
    let out = toker(&db, &["import-export", "instagram", bomb.to_str().unwrap()])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("zip bomb"))
        .stderr(predicate::str::contains("(limit `max_ratio` = 100)"));
    let stderr = &out.get_output().stderr;
    assert!(stderr.len() < 2048, "{}", String::from_utf8_lossy(stderr));
    assert!(out.get_output().stdout.is_empty());
    assert_eq!(stored_profiles(&db), 0);

    // The limit is the operator's to raise; the total unpacked size still bounds it.
    toker(
        &db,
        &[
            "import-export",
            "instagram",
            bomb.to_str().unwrap(),
            "--max-ratio",
            "100000",
            "--max-unpacked-bytes",
            "1000000",
        ],
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains(
        "(limit `max_unpacked_bytes` = 1000000)",
    ));
    assert_eq!(stored_profiles(&db), 0);
}

#[test]
fn an_unzipped_export_of_many_odd_items_is_stored_with_warnings_counted_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let root = instagram_export_folder(dir.path(), 150, 20_000);

    let report = json(&db, &["import-export", "instagram", root.to_str().unwrap()]);
    assert_eq!(report["liked_videos"], 150);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "item_unnamed");
    assert_eq!(warnings[0]["count"], 20_001);
    assert_eq!(warnings[0]["examples"].as_array().unwrap().len(), 3);
    assert_eq!(stored_profiles(&db), 1);

    // Without --json: the three examples and one line counting the rest, on stderr.
    let out = toker(&db, &["import-export", "instagram", root.to_str().unwrap()])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines[3].contains("19998 more `item_unnamed` warning(s)"),
        "{stderr}"
    );
}
