//! The export reader: zip or folder, lookups by name and suffix, junk skipped, bounds.

use crate::export_support;

use std::io::Write;

use export_support::zip_folder;
use toker_model::Platform;
use toker_sources::{ArchiveLimits, ExportArchive, SourceError};

/// A folder with a nested data file, a BOM-prefixed file and a non-UTF-8 file.
fn sample_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("your_instagram_activity/likes")).unwrap();
    std::fs::create_dir_all(root.join("xlikes")).unwrap();
    std::fs::write(
        root.join("your_instagram_activity/likes/liked_posts.json"),
        "[1, 2]",
    )
    .unwrap();
    std::fs::write(root.join("xlikes/liked_posts.json"), "[]").unwrap();
    std::fs::write(root.join("bom.json"), "\u{feff}{\"a\": 1}").unwrap();
    std::fs::write(root.join("latin1.txt"), b"caf\xe9").unwrap();
    dir
}

fn paths(archive: &ExportArchive) -> Vec<&str> {
    archive.entries().iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn zip_and_folder_list_the_same_files_sorted_without_macos_junk() {
    let folder = sample_folder();
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_folder(folder.path(), tmp.path(), "a.zip", None);
    let from_folder = ExportArchive::open(Platform::Instagram, folder.path()).unwrap();
    let from_zip = ExportArchive::open(Platform::Instagram, &zip).unwrap();
    let expected = [
        "bom.json",
        "latin1.txt",
        "xlikes/liked_posts.json",
        "your_instagram_activity/likes/liked_posts.json",
    ];
    assert_eq!(paths(&from_folder), expected);
    assert_eq!(paths(&from_zip), expected);
    assert_eq!(
        from_zip.entries()[0].size,
        "\u{feff}{\"a\": 1}".len() as u64
    );
}

#[test]
fn files_are_found_by_name_or_by_suffix_at_a_folder_boundary() {
    let folder = sample_folder();
    let archive = ExportArchive::open(Platform::Instagram, folder.path()).unwrap();
    assert_eq!(
        archive.find_named("LIKED_POSTS.json"),
        [
            "xlikes/liked_posts.json",
            "your_instagram_activity/likes/liked_posts.json"
        ]
    );
    assert_eq!(
        archive.find_suffix("likes/liked_posts.json"),
        ["your_instagram_activity/likes/liked_posts.json"]
    );
    assert_eq!(archive.find_suffix("bom.json"), ["bom.json"]);
    assert!(archive.find_named("missing.json").is_empty());
}

#[test]
fn reads_json_without_bom_from_zip_and_folder() {
    let folder = sample_folder();
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_folder(folder.path(), tmp.path(), "a.zip", Some("top"));
    let mut archive = ExportArchive::open(Platform::X, &zip).unwrap();
    assert_eq!(
        archive.read_json("top/bom.json").unwrap(),
        serde_json::json!({"a": 1})
    );
    let mut archive = ExportArchive::open(Platform::X, folder.path()).unwrap();
    assert_eq!(
        archive.read_json("bom.json").unwrap(),
        serde_json::json!({"a": 1})
    );
}

#[test]
fn unreadable_files_are_named_in_the_error() {
    let folder = sample_folder();
    let mut archive = ExportArchive::open(Platform::Instagram, folder.path()).unwrap();
    let err = archive.read_text("latin1.txt").unwrap_err().to_string();
    assert!(
        err.ends_with(": latin1.txt: not UTF-8 text (invalid byte at offset 3)"),
        "{err}"
    );
    let err = archive
        .read_json("xlikes/nothing.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(": xlikes/nothing.json: not in the export"),
        "{err}"
    );
    std::fs::write(folder.path().join("cut.json"), "[{\"a\": ").unwrap();
    let mut archive = ExportArchive::open(Platform::Instagram, folder.path()).unwrap();
    let err = archive.read_json("cut.json").unwrap_err().to_string();
    assert!(
        err.contains(": cut.json: not valid JSON: EOF while parsing"),
        "{err}"
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_in_zip_and_folder() {
    let folder = sample_folder();
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_folder(folder.path(), tmp.path(), "a.zip", None);
    let limits = ArchiveLimits {
        max_file_bytes: 4,
        ..ArchiveLimits::default()
    };
    for path in [folder.path(), zip.as_path()] {
        let mut archive = ExportArchive::open_with_limits(Platform::TikTok, path, limits).unwrap();
        assert_eq!(archive.read("xlikes/liked_posts.json").unwrap(), b"[]");
        let err = archive
            .read("your_instagram_activity/likes/liked_posts.json")
            .unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::ExportTooLarge {
                    limit: "max_file_bytes",
                    value: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("more than the 4-byte limit"),
            "{err}"
        );
    }
}

#[test]
fn a_folder_with_too_many_files_is_refused() {
    let folder = sample_folder();
    let limits = ArchiveLimits {
        max_entries: 2,
        ..ArchiveLimits::default()
    };
    let err = ExportArchive::open_with_limits(Platform::TikTok, folder.path(), limits).unwrap_err();
    assert!(
        matches!(err, SourceError::ExportUnreadable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("more than 2 files"), "{err}");
}

#[test]
fn a_damaged_zip_and_a_missing_path_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let damaged = tmp.path().join("export.zip");
    let mut f = std::fs::File::create(&damaged).unwrap();
    f.write_all(b"PK\x03\x04 this is not really a zip").unwrap();
    drop(f);
    let err = ExportArchive::open(Platform::X, &damaged)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "x export {}: not a readable zip",
            damaged.display()
        )),
        "{err}"
    );

    let missing = tmp.path().join("nowhere.zip");
    let err = ExportArchive::open(Platform::X, &missing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere.zip: no such file or folder"), "{err}");
}

#[test]
fn a_single_file_is_an_export_holding_just_that_file() {
    let folder = sample_folder();
    let mut archive =
        ExportArchive::open(Platform::TikTok, &folder.path().join("bom.json")).unwrap();
    assert_eq!(paths(&archive), ["bom.json"]);
    assert_eq!(archive.read_json("bom.json").unwrap()["a"], 1);
}
