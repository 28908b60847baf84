//! Hostile and oversized exports: a zip bomb is refused before it is decompressed, a zip
//! whose headers lie is stopped while reading, a huge list is read item by item within
//! the limits, and warnings are counted per kind instead of one per item.
#![cfg(all(feature = "instagram", feature = "tiktok"))]

use crate::export_support;

use std::io::Write;
use std::path::{Path, PathBuf};

use export_support::fixture;
use toker_model::Platform;
use toker_sources::{
    ImportLimits, MAX_EXAMPLES, SourceError, WarningKind, import_export, import_export_with_limits,
};
use zip::write::SimpleFileOptions;

const LIKES: &str = "your_instagram_activity/likes/liked_posts.json";
const PERSONAL: &str = "personal_information/personal_information/personal_information.json";

/// `[0,0,…,0]` with `zeros` elements: a list of liked posts that are not posts at all.
fn zeros_json(zeros: usize, out: &mut impl Write) {
    out.write_all(b"[").unwrap();
    let chunk = "0,".repeat(64 * 1024);
    let mut left = zeros.saturating_sub(1);
    while left > 0 {
        let n = left.min(64 * 1024);
        out.write_all(&chunk.as_bytes()[..2 * n]).unwrap();
        left -= n;
    }
    out.write_all(b"0]").unwrap();
}

/// An Instagram export zip whose `liked_posts.json` is `zeros` zeros, deflated.
fn bomb_zip(dir: &Path, zeros: usize) -> PathBuf {
    let path = dir.join("bomb.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(LIKES, options).unwrap();
    zeros_json(zeros, &mut zip);
    zip.start_file(PERSONAL, options).unwrap();
    zip.write_all(&std::fs::read(fixture("instagram", &format!("newer/{PERSONAL}"))).unwrap())
        .unwrap();
    zip.finish().unwrap();
    path
}

/// The same export, unzipped.
fn bomb_folder(dir: &Path, zeros: usize) -> PathBuf {
    let root = dir.join("bomb");
    std::fs::create_dir_all(root.join(LIKES).parent().unwrap()).unwrap();
    std::fs::create_dir_all(root.join(PERSONAL).parent().unwrap()).unwrap();
    let mut likes = std::io::BufWriter::new(std::fs::File::create(root.join(LIKES)).unwrap());
    zeros_json(zeros, &mut likes);
    likes.flush().unwrap();
    std::fs::copy(
        fixture("instagram", &format!("newer/{PERSONAL}")),
        root.join(PERSONAL),
    )
    .unwrap();
    root
}

#[test]
fn a_zip_bomb_is_refused_by_its_ratio_before_it_is_decompressed() {
    let tmp = tempfile::tempdir().unwrap();
    // 8 MB of `0,` deflates to about 8 KB: a ratio near 1,000.
    let bomb = bomb_zip(tmp.path(), 4_000_000);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 * 1024);
    let err = import_export(Platform::Instagram, &bomb).unwrap_err();
    let SourceError::ExportTooLarge {
        file, limit, value, ..
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(*limit, "max_ratio");
    assert_eq!(*value, 100);
    assert_eq!(file.as_deref(), Some(LIKES));
    let text = err.to_string();
    assert!(
        text.contains("zip bomb") && text.contains("(limit `max_ratio` = 100)"),
        "{text}"
    );
    assert!(text.len() < 1024, "a bounded message: {text}");
}

#[test]
fn an_export_unpacking_past_the_total_limit_is_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = bomb_zip(tmp.path(), 4_000_000);
    let mut limits = ImportLimits::default();
    limits.archive.max_ratio = 10_000;
    limits.archive.max_unpacked_bytes = 1024 * 1024;
    for path in [bomb, bomb_folder(tmp.path(), 1_000_000)] {
        let err = import_export_with_limits(Platform::Instagram, &path, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::ExportTooLarge {
                    limit: "max_unpacked_bytes",
                    value: 1_048_576,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

/// Rewrites the uncompressed size of every entry (local and central headers) to `size`.
fn lie_about_sizes(zip: &Path, size: u32) {
    let mut bytes = std::fs::read(zip).unwrap();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let at = match &bytes[i..i + 4] {
            b"PK\x03\x04" => Some(i + 22),
            b"PK\x01\x02" => Some(i + 24),
            _ => None,
        };
        if let Some(at) = at {
            bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
        }
        i += 1;
    }
    std::fs::write(zip, bytes).unwrap();
}

#[test]
fn a_zip_whose_headers_understate_the_size_is_stopped_while_inflating() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = bomb_zip(tmp.path(), 4_000_000);
    // Each file now claims 400 KB: under the ratio exemption, so only the read can tell.
    lie_about_sizes(&bomb, 400_000);
    let err = import_export(Platform::Instagram, &bomb).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            SourceError::ExportTooLarge {
                limit: "max_ratio",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("inflates past the 400000 bytes the zip declares"),
        "{text}"
    );
    assert!(text.len() < 1024, "{text}");
}

#[test]
fn an_unzipped_bomb_streams_within_the_limits_with_warnings_counted_per_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = bomb_folder(tmp.path(), 2_000_000);
    let limits = ImportLimits {
        max_items_per_list: 300_000,
        ..ImportLimits::default()
    };
    let raw = import_export_with_limits(Platform::Instagram, &folder, &limits).unwrap();
    // Only the first 300,000 items are read; none names a post.
    assert_eq!(raw.profile.number_of_likes, Some(300_000));
    assert!(raw.profile.liked_videos.is_empty());
    assert_eq!(raw.warnings.count(WarningKind::ItemUnnamed), 300_000);
    assert_eq!(raw.warnings.count(WarningKind::ListTruncated), 1);
    assert_eq!(raw.warnings.count(WarningKind::RawTruncated), 0);
    for warning in &raw.warnings {
        assert!(warning.examples.len() <= MAX_EXAMPLES, "{warning:?}");
    }
    let truncated = raw
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::ListTruncated)
        .unwrap();
    assert!(
        truncated.examples[0].contains("holds 2000000 items; only the first 300000 were read"),
        "{truncated:?}"
    );
    let shown = serde_json::to_string(&raw.warnings).unwrap();
    assert!(shown.len() < 2048, "{shown}");
    // The raw JSON keeps the items read, within its own bound.
    assert_eq!(raw.raw["liked_posts"].as_array().unwrap().len(), 300_000);
}

#[test]
fn items_per_list_and_the_raw_json_are_bounded() {
    let export = fixture("tiktok", "activity_layout");
    let full = import_export(Platform::TikTok, &export).unwrap();
    assert!(full.profile.liked_videos.len() > 3);
    let limits = ImportLimits {
        max_items_per_list: 3,
        max_raw_bytes: 200,
        ..ImportLimits::default()
    };
    let raw = import_export_with_limits(Platform::TikTok, &export, &limits).unwrap();
    assert_eq!(raw.profile.liked_videos.len(), 3);
    assert_eq!(
        raw.profile.liked_videos[..],
        full.profile.liked_videos[..3],
        "the first items, in order"
    );
    assert_eq!(
        raw.warnings.count(WarningKind::ListTruncated),
        2,
        "{:?}",
        raw.warnings
    );
    assert_eq!(raw.warnings.count(WarningKind::RawTruncated), 1);
    let kept = raw.raw["like_list"].as_array().unwrap().len();
    assert!(kept < 3, "about 200 bytes of rows kept, got {kept}");
}

#[test]
fn an_item_larger_than_the_item_limit_is_refused_with_the_limit_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join(LIKES).parent().unwrap()).unwrap();
    let long = "x".repeat(64 * 1024);
    std::fs::write(
        root.join(LIKES),
        format!(r#"[{{"label_values": [{{"value": "{long}"}}]}}]"#),
    )
    .unwrap();
    let limits = ImportLimits {
        max_item_bytes: 16 * 1024,
        ..ImportLimits::default()
    };
    let err = import_export_with_limits(Platform::Instagram, root, &limits).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("liked_posts.json") && text.contains("max_item_bytes"),
        "{text}"
    );
}

#[test]
fn a_high_ratio_export_passes_once_the_ratio_limit_allows_it() {
    // A valid TikTok export padded with 4 MB of spaces: real data, a bomb's ratio.
    let tmp = tempfile::tempdir().unwrap();
    let doc = std::fs::read_to_string(fixture("tiktok", "activity_layout/user_data.json")).unwrap();
    let padded = format!("{}{doc}", " ".repeat(4 * 1024 * 1024));
    let path = tmp.path().join("padded.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("user_data.json", options).unwrap();
    zip.write_all(padded.as_bytes()).unwrap();
    zip.finish().unwrap();

    let err = import_export(Platform::TikTok, &path).unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::ExportTooLarge {
                limit: "max_ratio",
                ..
            }
        ),
        "{err:?}"
    );
    let mut limits = ImportLimits::default();
    limits.archive.max_ratio = 100_000;
    let raw = import_export_with_limits(Platform::TikTok, &path, &limits).unwrap();
    let plain = import_export(
        Platform::TikTok,
        &fixture("tiktok", "activity_layout/user_data.json"),
    )
    .unwrap();
    assert_eq!(raw.profile, plain.profile);
}
