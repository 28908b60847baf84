//! What the fuzz targets share: turning one fuzz input into a data export on disk and
//! importing it the way `toker import` and the export upload do.
//!
//! An input that starts with `PK` (a zip's local-file signature) is written as
//! `export.zip`. Any other input is a folder: a NUL-separated list
//! `path\0content\0path\0content…` whose files are written under a fresh directory
//! (paths are relative; `..`, absolute and empty components are dropped). The seed corpus
//! `cargo xtask fuzz` builds from the fixtures uses both forms.

use std::path::{Component, Path, PathBuf};

use toker_model::{Platform, ValidationRules};

/// Most files a folder input may hold, and the longest path kept, so that one input stays
/// cheap to write.
const MAX_FILES: usize = 64;
const MAX_PATH: usize = 200;

/// A scratch directory for the inputs, under `TMPDIR` (`cargo xtask fuzz` points it at a
/// RAM disk when there is one, and removes it after the run: libFuzzer exits without
/// running destructors).
pub fn scratch() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("toker-fuzz-")
            .tempdir()
            .expect("a scratch directory for fuzz inputs")
    })
    .path()
}

/// Writes `data` as an export (see the module docs) and returns the path to import.
pub fn write_export(data: &[u8]) -> PathBuf {
    let root = scratch().join("input");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("scratch directory");
    if data.starts_with(b"PK") {
        let zip = root.join("export.zip");
        std::fs::write(&zip, data).expect("write the zip input");
        return zip;
    }
    let folder = root.join("export");
    std::fs::create_dir_all(&folder).expect("scratch directory");
    let mut parts = data.split(|&b| b == 0);
    let mut files = 0;
    while let (Some(name), Some(content)) = (parts.next(), parts.next()) {
        if files == MAX_FILES {
            break;
        }
        let Some(rel) = relative_path(name) else {
            continue;
        };
        let path = folder.join(rel);
        if let Some(parent) = path.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                continue;
            }
        }
        if std::fs::write(&path, content).is_ok() {
            files += 1;
        }
    }
    folder
}

/// `name` as a safe relative path, or `None` when nothing of it is usable.
fn relative_path(name: &[u8]) -> Option<PathBuf> {
    let name = String::from_utf8_lossy(&name[..name.len().min(MAX_PATH)]).into_owned();
    let rel: PathBuf = Path::new(&name)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    (!rel.as_os_str().is_empty()).then_some(rel)
}

/// Imports `data` as `platform`'s export through the public API the CLI and the upload
/// route use, then validates and cleans the profile as they do. Errors are fine; a panic
/// is a finding.
pub fn import(platform: Platform, data: &[u8]) {
    let path = write_export(data);
    if let Ok(raw) = toker_sources::import_export(platform, &path) {
        let _ = toker_processing::prepare::prepare_profile(
            raw.platform,
            raw.profile,
            raw.raw,
            &ValidationRules::default(),
        );
    }
}
