#![allow(clippy::unwrap_used)]
//! `toker import-export` on the platforms' data-export fixtures (copies kept in
//! toker-sources/tests/fixtures): the stored profile is the expected one, re-importing
//! changes nothing, and broken or too-small exports store nothing.

use std::path::Path;

mod common;

use assert_cmd::Command;
use common::{comparable, fixture};
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
