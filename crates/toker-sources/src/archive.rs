//! Reading a "download your data" export the way people have it: the `.zip` as downloaded,
//! the folder it unpacks to, or one file taken out of it.
//!
//! Files are found by name or path suffix anywhere inside (platforms move them between
//! years and zips often add a top folder). Nothing is extracted to disk: zip entry names
//! are only labels, so a hostile name (`../x`) cannot write anywhere. Reads are bounded
//! ([`ArchiveLimits`]) so that a zip bomb or a stray video cannot exhaust memory. Listing is
//! sorted by path, so every lookup is deterministic.

// With no platform compiled in, nothing reads exports.
#![cfg_attr(
    not(any(feature = "tiktok", feature = "x", feature = "instagram")),
    allow(dead_code)
)]

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;
use toker_model::Platform;
use zip::ZipArchive;

use crate::error::SourceError;

/// Bounds on what an export may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// The largest single file that is read into memory, in bytes.
    pub max_file_bytes: u64,
    /// The most files listed in a folder export (zip listings come from the zip's index).
    pub max_entries: usize,
    /// How deep a folder export is walked.
    pub max_depth: usize,
}

impl Default for ArchiveLimits {
    /// 512 MiB per file (TikTok's `user_data.json` of a heavy user is a few hundred MB),
    /// 200,000 files, 16 folders deep.
    fn default() -> Self {
        ArchiveLimits {
            max_file_bytes: 512 * 1024 * 1024,
            max_entries: 200_000,
            max_depth: 16,
        }
    }
}

/// One file inside an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    /// The path inside the export, `/`-separated, without a leading `/`.
    pub path: String,
    /// The (uncompressed) size the archive declares, in bytes.
    pub size: u64,
    location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Zip(usize),
    File(PathBuf),
}

enum Container {
    Zip(Box<ZipArchive<BufReader<File>>>),
    Files,
}

/// An opened export: a zip, a folder, or a single file.
pub struct ExportArchive {
    platform: Platform,
    path: PathBuf,
    limits: ArchiveLimits,
    container: Container,
    entries: Vec<ArchiveEntry>,
}

impl std::fmt::Debug for ExportArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportArchive")
            .field("platform", &self.platform)
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl ExportArchive {
    /// Opens `path` as `platform`'s export with the default [`ArchiveLimits`].
    ///
    /// A folder is walked (symbolic links to folders are not followed); a file that starts
    /// like a zip is read as a zip; any other file is an export holding just that file.
    ///
    /// # Errors
    /// [`SourceError::ExportUnreadable`] when the path does not exist, cannot be read, is a
    /// damaged zip, or holds more files than the limits allow.
    pub fn open(platform: Platform, path: &Path) -> Result<Self, SourceError> {
        Self::open_with_limits(platform, path, ArchiveLimits::default())
    }

    /// Opens `path` like [`ExportArchive::open`], with explicit limits.
    ///
    /// # Errors
    /// As [`ExportArchive::open`].
    pub fn open_with_limits(
        platform: Platform,
        path: &Path,
        limits: ArchiveLimits,
    ) -> Result<Self, SourceError> {
        let unreadable = |message: String| SourceError::ExportUnreadable {
            platform,
            archive: path.to_path_buf(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            unreadable(if e.kind() == std::io::ErrorKind::NotFound {
                "no such file or folder: give the downloaded .zip or the folder it unpacks to"
                    .to_owned()
            } else {
                format!("cannot read it: {e}")
            })
        })?;
        let (container, mut entries) = if meta.is_dir() {
            let mut entries = Vec::new();
            walk_folder(path, "", 0, &limits, &mut entries).map_err(unreadable)?;
            (Container::Files, entries)
        } else if looks_like_zip(path).map_err(|e| unreadable(format!("cannot read it: {e}")))? {
            let file = File::open(path).map_err(|e| unreadable(format!("cannot read it: {e}")))?;
            let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|e| {
                unreadable(format!(
                    "not a readable zip ({e}); download the export again or unpack it and give the folder"
                ))
            })?;
            if zip.len() > limits.max_entries {
                return Err(unreadable(format!(
                    "holds {} files, more than the {} allowed: give the export of one account",
                    zip.len(),
                    limits.max_entries
                )));
            }
            let entries = zip_entries(&mut zip).map_err(unreadable)?;
            (Container::Zip(Box::new(zip)), entries)
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let entry = ArchiveEntry {
                path: name,
                size: meta.len(),
                location: Location::File(path.to_path_buf()),
            };
            (Container::Files, vec![entry])
        };
        entries.retain(|e| !is_junk(&e.path));
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        Ok(ExportArchive {
            platform,
            path: path.to_path_buf(),
            limits,
            container,
            entries,
        })
    }

    /// The platform this export is read for.
    #[must_use]
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The path that was opened.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every file inside, sorted by path (folders and macOS `__MACOSX`/`._*` junk left out).
    #[must_use]
    pub fn entries(&self) -> &[ArchiveEntry] {
        &self.entries
    }

    /// The paths of the files whose name is `name` (ASCII case-insensitive), shortest
    /// path first, then alphabetical.
    #[must_use]
    pub fn find_named(&self, name: &str) -> Vec<String> {
        self.find(|path| file_name(path).eq_ignore_ascii_case(name))
    }

    /// The paths of the files whose path ends with `suffix` at a `/` boundary
    /// (ASCII case-insensitive): `likes/liked_posts.json` matches
    /// `your_instagram_activity/likes/liked_posts.json`. Shortest path first.
    #[must_use]
    pub fn find_suffix(&self, suffix: &str) -> Vec<String> {
        let suffix = suffix.trim_start_matches('/');
        self.find(|path| {
            path.len() >= suffix.len()
                && path.is_char_boundary(path.len() - suffix.len())
                && path[path.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && (path.len() == suffix.len()
                    || path.as_bytes()[path.len() - suffix.len() - 1] == b'/')
        })
    }

    fn find(&self, matches: impl Fn(&str) -> bool) -> Vec<String> {
        let mut found: Vec<String> = self
            .entries
            .iter()
            .filter(|e| matches(&e.path))
            .map(|e| e.path.clone())
            .collect();
        found.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        found
    }

    /// Whether a file with exactly this path is inside.
    #[must_use]
    pub fn contains(&self, path: &str) -> bool {
        self.entry(path).is_some()
    }

    fn entry(&self, path: &str) -> Option<&ArchiveEntry> {
        self.entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// The bytes of the file at `path` (as listed by [`ExportArchive::entries`]).
    ///
    /// # Errors
    /// [`SourceError::ExportFileInvalid`] naming the file when it is not inside, cannot be
    /// read, or is larger than [`ArchiveLimits::max_file_bytes`].
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, SourceError> {
        let max = self.limits.max_file_bytes;
        let Some(entry) = self.entry(path).cloned() else {
            return Err(self.invalid(path, None, "not in the export".to_owned()));
        };
        let too_large = |size: u64| {
            format!(
                "is {size} bytes, more than the {max}-byte limit for one file; \
                 remove unrelated files (e.g. media) from the export"
            )
        };
        if entry.size > max {
            return Err(self.invalid(path, None, too_large(entry.size)));
        }
        let read = match (&entry.location, &mut self.container) {
            (Location::Zip(index), Container::Zip(zip)) => zip
                .by_index(*index)
                .map_err(|e| e.to_string())
                .and_then(|file| read_bounded(file, max).map_err(|e| e.to_string())),
            (Location::File(file), _) => File::open(file)
                .and_then(|f| read_bounded(f, max))
                .map_err(|e| e.to_string()),
            (Location::Zip(_), Container::Files) => Err("not in the export".to_owned()),
        };
        match read {
            Ok(Some(bytes)) => Ok(bytes),
            // The zip's declared size lied (a zip bomb) or the file grew while being read.
            Ok(None) => Err(self.invalid(path, None, too_large(max.saturating_add(1)))),
            Err(e) => Err(self.invalid(path, None, format!("cannot read it: {e}"))),
        }
    }

    /// The text of the file at `path`: UTF-8, a leading byte-order mark removed.
    ///
    /// # Errors
    /// As [`ExportArchive::read`], and when the file is not UTF-8.
    pub fn read_text(&mut self, path: &str) -> Result<String, SourceError> {
        let bytes = self.read(path)?;
        let mut text = String::from_utf8(bytes).map_err(|e| {
            self.invalid(
                path,
                None,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        Ok(text)
    }

    /// The file at `path` parsed as JSON.
    ///
    /// # Errors
    /// As [`ExportArchive::read_text`], and when the text is not JSON (with line and column).
    pub fn read_json(&mut self, path: &str) -> Result<Value, SourceError> {
        let text = self.read_text(path)?;
        self.parse_json(path, &text, "")
    }

    /// Parses `text` (from the file at `path`) as JSON; `what` describes the text when it is
    /// only part of the file (e.g. " after the `window.YTD.like.part0 =` prefix").
    pub(crate) fn parse_json(
        &self,
        path: &str,
        text: &str,
        what: &str,
    ) -> Result<Value, SourceError> {
        serde_json::from_str(text).map_err(|e| {
            let cut = if e.is_eof() {
                " (the file is cut short: download the export again)"
            } else {
                ""
            };
            self.invalid(path, None, format!("not valid JSON{what}: {e}{cut}"))
        })
    }

    /// An error about the file at `path` (and, when given, the JSON key to blame).
    pub(crate) fn invalid(&self, path: &str, key: Option<String>, message: String) -> SourceError {
        SourceError::ExportFileInvalid {
            platform: self.platform,
            archive: self.path.clone(),
            file: path.to_owned(),
            key,
            message,
        }
    }

    /// An error saying that no `wanted` file is inside; `hint` follows after "; ".
    pub(crate) fn missing(&self, wanted: &str, hint: &str) -> SourceError {
        SourceError::ExportFileMissing {
            platform: self.platform,
            archive: self.path.clone(),
            wanted: wanted.to_owned(),
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!("; {hint}")
            },
        }
    }
}

/// The last `/`-separated component of a path inside an export.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// macOS adds `__MACOSX/` and `._name` resource forks to zips it makes: never data.
fn is_junk(path: &str) -> bool {
    path.split('/')
        .any(|part| part == "__MACOSX" || part.starts_with("._") || part == ".DS_Store")
}

fn looks_like_zip(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0_u8; 4];
    let mut file = File::open(path)?;
    let mut filled = 0;
    while filled < magic.len() {
        match file.read(&mut magic[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    // Local file header, or the end-of-central-directory record of an empty zip.
    Ok(filled == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06"))
}

fn zip_entries(zip: &mut ZipArchive<BufReader<File>>) -> Result<Vec<ArchiveEntry>, String> {
    let mut entries = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        // `by_index_raw` reads only the headers: names and declared sizes, no decompression.
        let file = zip
            .by_index_raw(index)
            .map_err(|e| format!("damaged zip entry #{index} ({e}); download the export again"))?;
        if file.is_dir() {
            continue;
        }
        let path = file
            .name()
            .replace('\\', "/")
            .trim_start_matches('/')
            .to_owned();
        entries.push(ArchiveEntry {
            path,
            size: file.size(),
            location: Location::Zip(index),
        });
    }
    Ok(entries)
}

fn walk_folder(
    dir: &Path,
    prefix: &str,
    depth: usize,
    limits: &ArchiveLimits,
    out: &mut Vec<ArchiveEntry>,
) -> Result<(), String> {
    if depth > limits.max_depth {
        return Ok(());
    }
    let read = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for item in read {
        let item = item.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = item
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", item.path().display()))?;
        if kind.is_dir() {
            walk_folder(&item.path(), &rel, depth + 1, limits, out)?;
            continue;
        }
        // A symbolic link counts only when it points at a file: links to folders could loop.
        let Ok(meta) = std::fs::metadata(item.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if out.len() >= limits.max_entries {
            return Err(format!(
                "holds more than {} files: give the folder of one export",
                limits.max_entries
            ));
        }
        out.push(ArchiveEntry {
            path: rel,
            size: meta.len(),
            location: Location::File(item.path()),
        });
    }
    Ok(())
}

/// Reads at most `max` bytes; `None` when there are more.
fn read_bounded(reader: impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(u64::try_from(bytes.len())
        .ok()
        .filter(|&len| len <= max)
        .map(|_| bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_from_macos_zips_is_recognised() {
        assert!(is_junk("__MACOSX/data/._like.js"));
        assert!(is_junk("data/._like.js"));
        assert!(!is_junk("data/like.js"));
    }

    #[test]
    fn read_bounded_refuses_one_byte_more_than_the_limit() {
        assert_eq!(read_bounded(&b"abc"[..], 3).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_bounded(&b"abcd"[..], 3).unwrap(), None);
    }

    #[test]
    fn file_name_is_the_last_component() {
        assert_eq!(file_name("a/b/c.json"), "c.json");
        assert_eq!(file_name("c.json"), "c.json");
    }
}
