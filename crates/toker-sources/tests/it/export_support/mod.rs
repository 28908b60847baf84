//! Helpers shared by the `export_*` tests: fixture paths, zips built at test time, and the
//! comparison with the expected profiles.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use toker_model::{Platform, Profile};
use toker_sources::{RawProfile, SourceError, import_export};
use zip::write::SimpleFileOptions;

/// `<platform>/export/<rel>` under the test kit's fixtures.
pub fn fixture(platform: &str, rel: &str) -> PathBuf {
    toker_testkit::fixtures()
        .join(platform)
        .join("export")
        .join(rel)
}

/// The expected (stored) profile `<platform>/export/expected/<name>` of the fixtures.
pub fn expected(platform: &str, name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(platform, &format!("expected/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Asserts that `profile` serialises to exactly `expected`, naming the first differing
/// field (and video) rather than dumping two large documents.
pub fn assert_profile_eq(profile: &Profile, expected: &Value) {
    let actual = serde_json::to_value(profile).unwrap();
    let (Value::Object(a), Value::Object(e)) = (&actual, expected) else {
        panic!("profiles must be objects");
    };
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        e.keys().collect::<Vec<_>>(),
        "field names/order differ"
    );
    for (key, want) in e {
        let got = &a[key];
        if let (Value::Array(got), Value::Array(want)) = (got, want) {
            assert_eq!(got.len(), want.len(), "{key}: number of videos");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert_eq!(g, w, "{key}[{i}]");
            }
        } else {
            assert_eq!(got, want, "{key}");
        }
    }
    assert_eq!(&actual, expected);
}

/// Zips the folder `dir` into `<tmp>/<name>`, every file under `top/` when given, plus the
/// junk macOS adds (`__MACOSX/…/._name`, `.DS_Store`) so the reader must skip it.
pub fn zip_folder(dir: &Path, tmp: &Path, name: &str, top: Option<&str>) -> PathBuf {
    let out = tmp.join(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let prefix = top.map(|t| format!("{t}/")).unwrap_or_default();
    if !prefix.is_empty() {
        zip.add_directory(prefix.clone(), options).unwrap();
    }
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    for (rel, path) in files {
        let bytes = std::fs::read(path).unwrap();
        zip.start_file(format!("{prefix}{rel}"), options).unwrap();
        zip.write_all(&bytes).unwrap();
        let junk = match rel.rsplit_once('/') {
            Some((dir, file)) => format!("__MACOSX/{prefix}{dir}/._{file}"),
            None => format!("__MACOSX/{prefix}._{rel}"),
        };
        zip.start_file(junk, options).unwrap();
        zip.write_all(b"\x00\x05\x16\x07 not json").unwrap();
    }
    zip.start_file(format!("{prefix}.DS_Store"), options)
        .unwrap();
    zip.write_all(b"\x00\x00\x00\x01Bud1").unwrap();
    zip.finish().unwrap();
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
}

/// Copies the folder `src` into `dst` (created), for tests that alter a fixture.
pub fn copy_folder(src: &Path, dst: &Path) {
    let mut files = Vec::new();
    collect(src, src, &mut files);
    for (rel, path) in files {
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(path, to).unwrap();
    }
}

/// Imports `path`, which must fail with [`SourceError::ExportFileMissing`]; returns the
/// message after checking that it contains every one of `needles`.
pub fn assert_file_missing(platform: Platform, path: &Path, needles: &[&str]) -> String {
    let err = import_export(platform, path).unwrap_err();
    assert!(
        matches!(err, SourceError::ExportFileMissing { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    for needle in needles {
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
    message
}

/// Imports `path`, which must fail; the error as the person would read it.
pub fn error_text(platform: Platform, path: &Path) -> String {
    import_export(platform, path).unwrap_err().to_string()
}

/// Imports `path`, which must succeed for `platform`.
pub fn import_ok(platform: Platform, path: &Path) -> RawProfile {
    let raw = import_export(platform, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(raw.platform, platform);
    raw
}

/// Imports the fixture folder `variant` and a zip of it (inside the folder `top`, as the
/// platform ships it): both must give the same profile and raw JSON, without warnings.
pub fn import_folder_and_zip(platform: Platform, variant: &str, top: &str) -> RawProfile {
    let tmp = tempfile::tempdir().unwrap();
    let folder = fixture(platform.as_str(), variant);
    let from_folder = import_ok(platform, &folder);
    let zip = zip_folder(&folder, tmp.path(), "export.zip", Some(top));
    assert_eq!(
        import_ok(platform, &zip),
        from_folder,
        "{variant}: zip and folder differ"
    );
    assert!(
        from_folder.warnings.is_empty(),
        "{:?}",
        from_folder.warnings
    );
    from_folder
}

/// The ids of the liked videos, in order.
pub fn liked_ids(profile: &Profile) -> Vec<&str> {
    profile
        .liked_videos
        .iter()
        .map(|v| v.video_id.as_str())
        .collect()
}

/// Asserts that there are exactly `count` warnings and that the first contains `needle`.
pub fn assert_warnings(raw: &RawProfile, count: u64, needle: &str) {
    assert_eq!(raw.warnings.total(), count, "{:?}", raw.warnings);
    assert!(
        raw.warnings.messages().next().unwrap().contains(needle),
        "{:?} lacks {needle:?}",
        raw.warnings
    );
}
