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

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeSeed;
use serde_json::Value;
use toker_model::Platform;
use zip::ZipArchive;

use crate::error::SourceError;

/// Bounds on what an export may contain.
///
/// The sizes and the compression ratio of a zip are checked against its central directory
/// before anything is decompressed, and enforced again while reading (a zip's headers can
/// lie): a file that inflates past its declared size, past [`ArchiveLimits::max_file_bytes`]
/// or past the export's [`ArchiveLimits::max_unpacked_bytes`] stops the read with
/// [`SourceError::ExportTooLarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// The largest single file that is read, in bytes.
    pub max_file_bytes: u64,
    /// The most bytes the whole export may unpack to (every file's uncompressed size).
    pub max_unpacked_bytes: u64,
    /// The highest compression ratio (uncompressed ÷ compressed) of the zip and of any file
    /// in it larger than [`RATIO_EXEMPT_BYTES`]; JSON deflates about 5–20 times, a zip
    /// bomb about 1,000 times.
    pub max_ratio: u64,
    /// The most files listed in a folder export (zip listings come from the zip's index).
    pub max_entries: usize,
    /// How deep a folder export is walked.
    pub max_depth: usize,
}

/// Files (and zips) smaller than this are never refused for their compression ratio: a
/// small file cannot amplify much, and tiny files of repeated keys deflate very well.
pub const RATIO_EXEMPT_BYTES: u64 = 1024 * 1024;

impl Default for ArchiveLimits {
    /// 512 MiB per file (TikTok's `user_data.json` of a heavy user is a few hundred MB),
    /// 4 GiB unpacked (Instagram exports may hold media), a ratio of 100, 200,000 files,
    /// 16 folders deep.
    fn default() -> Self {
        ArchiveLimits {
            max_file_bytes: 512 * 1024 * 1024,
            max_unpacked_bytes: 4 * 1024 * 1024 * 1024,
            max_ratio: 100,
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
    /// The compressed size in the zip (the size itself for files on disk).
    pub compressed_size: u64,
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
    /// Bytes read (uncompressed) from the export so far, bounded by `max_unpacked_bytes`.
    unpacked: Cell<u64>,
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
            check_sizes(platform, path, &entries, &limits)?;
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
            check_sizes(platform, path, &entries, &limits)?;
            (Container::Zip(Box::new(zip)), entries)
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let entry = ArchiveEntry {
                path: name,
                size: meta.len(),
                compressed_size: meta.len(),
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
            unpacked: Cell::new(0),
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
    /// [`SourceError::ExportFileInvalid`] naming the file when it is not inside or cannot
    /// be read; [`SourceError::ExportTooLarge`] when it is larger than
    /// [`ArchiveLimits::max_file_bytes`] or than what the export may still unpack to.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, SourceError> {
        let mut reader = self.open_file(path)?;
        let mut bytes = Vec::new();
        let read = reader.read_to_end(&mut bytes);
        drop(reader);
        match read {
            Ok(_) => Ok(bytes),
            Err(e) => Err(self.read_error(path, &e)),
        }
    }

    /// A bounded reader of the file at `path`: it fails with a [`LimitHit`] I/O error once
    /// the file passes its declared size, `max_file_bytes` or the export's unpacked budget.
    fn open_file(&mut self, path: &str) -> Result<Bounded<'_>, SourceError> {
        let Some(entry) = self.entry(path).cloned() else {
            return Err(self.invalid(path, None, "not in the export".to_owned()));
        };
        let max = self.limits.max_file_bytes;
        if entry.size > max {
            return Err(self.too_large(
                Some(path),
                "max_file_bytes",
                max,
                format!(
                    "is {} bytes, more than the {max}-byte limit for one file; remove \
                     unrelated files (e.g. media) from the export",
                    entry.size
                ),
            ));
        }
        let left = self
            .limits
            .max_unpacked_bytes
            .saturating_sub(self.unpacked.get());
        if entry.size > left {
            return Err(self.unpacked_too_large(Some(path)));
        }
        // A zip file may not inflate past the size it declares (checked for its ratio);
        // a file on disk may not grow past the limit while being read.
        let cap = match entry.location {
            Location::Zip(_) => entry.size,
            Location::File(_) => max.min(left),
        };
        let inner: Box<dyn Read + '_> = match (&entry.location, &mut self.container) {
            (Location::Zip(index), Container::Zip(zip)) => Box::new(
                zip.by_index(*index)
                    .map_err(|e| std::io::Error::other(e.to_string()))
                    .map_err(|e| {
                        invalid_file(
                            self.platform,
                            &self.path,
                            path,
                            format!("cannot read it: {e}"),
                        )
                    })?,
            ),
            (Location::File(file), _) => Box::new(File::open(file).map_err(|e| {
                invalid_file(
                    self.platform,
                    &self.path,
                    path,
                    format!("cannot read it: {e}"),
                )
            })?),
            (Location::Zip(_), Container::Files) => {
                return Err(invalid_file(
                    self.platform,
                    &self.path,
                    path,
                    "not in the export".to_owned(),
                ));
            }
        };
        Ok(Bounded {
            inner,
            read: 0,
            cap,
            declared: matches!(entry.location, Location::Zip(_)),
            unpacked: &self.unpacked,
            max_unpacked: self.limits.max_unpacked_bytes,
        })
    }

    /// The error for a failed read of `path`: a limit hit, or the I/O error.
    fn read_error(&self, path: &str, error: &std::io::Error) -> SourceError {
        match error.get_ref().and_then(|e| e.downcast_ref::<LimitHit>()) {
            Some(LimitHit::Declared { declared }) => self.too_large(
                Some(path),
                "max_ratio",
                self.limits.max_ratio,
                format!(
                    "inflates past the {declared} bytes the zip declares for it: a damaged zip \
                     or a zip bomb; download the export again"
                ),
            ),
            Some(LimitHit::File) => self.too_large(
                Some(path),
                "max_file_bytes",
                self.limits.max_file_bytes,
                format!(
                    "is more than the {}-byte limit for one file",
                    self.limits.max_file_bytes
                ),
            ),
            Some(LimitHit::Unpacked) => self.unpacked_too_large(Some(path)),
            None => self.invalid(path, None, format!("cannot read it: {error}")),
        }
    }

    fn unpacked_too_large(&self, path: Option<&str>) -> SourceError {
        let max = self.limits.max_unpacked_bytes;
        self.too_large(
            path,
            "max_unpacked_bytes",
            max,
            format!("the export unpacks to more than the limit of {max} bytes"),
        )
    }

    fn too_large(
        &self,
        path: Option<&str>,
        limit: &'static str,
        value: u64,
        message: String,
    ) -> SourceError {
        SourceError::ExportTooLarge {
            platform: self.platform,
            archive: self.path.clone(),
            file: path.map(str::to_owned),
            limit,
            value,
            message,
        }
    }

    /// Streams the JSON file at `path` through `seed` without holding the whole document:
    /// a leading byte-order mark is skipped; with `js_prefix`, so is X's
    /// `window.YTD.<name>.part<N> =` before the JSON; a trailing `;` is allowed. Every item
    /// `seed` reads is bounded by `meter` (see [`Meter`]).
    ///
    /// # Errors
    /// As [`ExportArchive::read`]; [`SourceError::ExportFileInvalid`] for JSON that is not
    /// valid (with line and column) or a shape `seed` refused (naming the key).
    pub(crate) fn stream_json<'de, S>(
        &mut self,
        path: &str,
        js_prefix: bool,
        meter: &Meter,
        seed: S,
    ) -> Result<S::Value, SourceError>
    where
        S: DeserializeSeed<'de>,
    {
        let platform = self.platform;
        let archive = self.path.clone();
        let invalid = |message: String| invalid_file(platform, &archive, path, message);
        let bounded = self.open_file(path)?;
        let mut reader = BufReader::with_capacity(64 * 1024, bounded);
        let outcome = (|| {
            let prefix = skip_prefix(&mut reader, js_prefix)?;
            let mut counted = Counted {
                inner: &mut reader,
                meter,
            };
            let mut de = serde_json::Deserializer::from_reader(&mut counted);
            let value = seed.deserialize(&mut de);
            drop(de);
            Ok::<_, std::io::Error>((prefix, value.map(|v| (v, trailing_ok(&mut counted)))))
        })();
        drop(reader);
        let what = |prefix: &Option<String>| match prefix {
            Some(p) => format!(" after the `{p} =` prefix"),
            None => String::new(),
        };
        match outcome {
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData && e.get_ref().is_none() => {
                Err(invalid(e.to_string()))
            }
            Err(e) => Err(self.read_error(path, &e)),
            Ok((prefix, Ok((value, Ok(true))))) => {
                let _ = prefix;
                Ok(value)
            }
            Ok((prefix, Ok((_, Ok(false))))) => Err(invalid(format!(
                "not valid JSON{}: trailing characters after the data",
                what(&prefix)
            ))),
            Ok((_, Ok((_, Err(e))))) => Err(self.read_error(path, &e)),
            Ok((prefix, Err(e))) => {
                if let Some((key, message)) = meter.problem.take() {
                    return Err(self.invalid(path, key, message));
                }
                if e.is_io() {
                    let io = std::io::Error::from(e);
                    return Err(self.read_error(path, &io));
                }
                let cut = if e.is_eof() {
                    " (the file is cut short: download the export again)"
                } else {
                    ""
                };
                Err(invalid(format!(
                    "not valid JSON{}: {e}{cut}",
                    what(&prefix)
                )))
            }
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

    /// The file at `path` parsed as JSON (read whole: for small files; importers stream).
    ///
    /// # Errors
    /// As [`ExportArchive::read_text`], and when the text is not JSON (with line and column).
    pub fn read_json(&mut self, path: &str) -> Result<Value, SourceError> {
        let text = self.read_text(path)?;
        serde_json::from_str(&text).map_err(|e| {
            let cut = if e.is_eof() {
                " (the file is cut short: download the export again)"
            } else {
                ""
            };
            self.invalid(path, None, format!("not valid JSON: {e}{cut}"))
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
            compressed_size: file.compressed_size(),
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
            compressed_size: meta.len(),
            location: Location::File(item.path()),
        });
    }
    Ok(())
}

/// Refuses an export whose declared sizes already break the limits, before anything is
/// decompressed: its total, and (for a zip) the ratio of the whole and of each file.
fn check_sizes(
    platform: Platform,
    path: &Path,
    entries: &[ArchiveEntry],
    limits: &ArchiveLimits,
) -> Result<(), SourceError> {
    let too_large = |file: Option<&str>, limit: &'static str, value: u64, message: String| {
        SourceError::ExportTooLarge {
            platform,
            archive: path.to_path_buf(),
            file: file.map(str::to_owned),
            limit,
            value,
            message,
        }
    };
    let unpacked = entries
        .iter()
        .fold(0_u64, |sum, e| sum.saturating_add(e.size));
    let packed = entries
        .iter()
        .fold(0_u64, |sum, e| sum.saturating_add(e.compressed_size));
    if unpacked > limits.max_unpacked_bytes {
        return Err(too_large(
            None,
            "max_unpacked_bytes",
            limits.max_unpacked_bytes,
            format!(
                "the export unpacks to {unpacked} bytes, more than the limit of {} bytes",
                limits.max_unpacked_bytes
            ),
        ));
    }
    let ratio_too_high = |size: u64, compressed: u64| {
        size > RATIO_EXEMPT_BYTES && size > compressed.saturating_mul(limits.max_ratio)
    };
    let ratio_message = |size: u64, compressed: u64| {
        format!(
            "{size} bytes compressed into {compressed} (a ratio of {}), more than the limit of \
             {}: this looks like a zip bomb, not a data export",
            size / compressed.max(1),
            limits.max_ratio
        )
    };
    if let Some(bomb) = entries
        .iter()
        .find(|e| ratio_too_high(e.size, e.compressed_size))
    {
        return Err(too_large(
            Some(&bomb.path),
            "max_ratio",
            limits.max_ratio,
            ratio_message(bomb.size, bomb.compressed_size),
        ));
    }
    if ratio_too_high(unpacked, packed) {
        return Err(too_large(
            None,
            "max_ratio",
            limits.max_ratio,
            ratio_message(unpacked, packed),
        ));
    }
    Ok(())
}

fn invalid_file(platform: Platform, archive: &Path, file: &str, message: String) -> SourceError {
    SourceError::ExportFileInvalid {
        platform,
        archive: archive.to_path_buf(),
        file: file.to_owned(),
        key: None,
        message,
    }
}

/// Which bound a read hit (the payload of its I/O error).
#[derive(Debug)]
enum LimitHit {
    /// A zip file inflated past the size the zip declares for it.
    Declared { declared: u64 },
    /// A file on disk grew past `max_file_bytes`.
    File,
    /// The export as a whole passed `max_unpacked_bytes`.
    Unpacked,
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for LimitHit {}

/// A file's reader that stops at its bounds, counting into the export's unpacked bytes.
struct Bounded<'a> {
    inner: Box<dyn Read + 'a>,
    read: u64,
    cap: u64,
    /// Whether `cap` is the zip's declared size (else `max_file_bytes`).
    declared: bool,
    unpacked: &'a Cell<u64>,
    max_unpacked: u64,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // One byte past the cap is asked for, so that a file exactly at it still ends.
        let room = self.cap.saturating_sub(self.read).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        let total = self.unpacked.get().saturating_add(n as u64);
        self.unpacked.set(total);
        if self.read > self.cap {
            let hit = if self.declared {
                LimitHit::Declared { declared: self.cap }
            } else {
                LimitHit::File
            };
            return Err(std::io::Error::other(hit));
        }
        if total > self.max_unpacked {
            return Err(std::io::Error::other(LimitHit::Unpacked));
        }
        Ok(n)
    }
}

/// What a streaming parse of one file may hold at once, and where it stands: every item
/// (one element of a list, one section) may span at most `max_item_bytes` of the file, so
/// no single value held in memory is larger than that, however large the file.
pub(crate) struct Meter {
    /// Bytes of the file handed to the parser so far.
    pos: Cell<u64>,
    /// Where the item being read started, when one is.
    item_start: Cell<Option<u64>>,
    max_item_bytes: u64,
    /// A shape problem a visitor found: the key to blame and what was wrong.
    problem: RefCell<Option<(Option<String>, String)>>,
}

impl Meter {
    pub(crate) fn new(max_item_bytes: u64) -> Self {
        Meter {
            pos: Cell::new(0),
            item_start: Cell::new(None),
            max_item_bytes,
            problem: RefCell::new(None),
        }
    }

    /// Reads one item with `read`, bounded by `max_item_bytes`; returns it with the
    /// number of bytes it spanned.
    pub(crate) fn item<T, E>(&self, read: impl FnOnce() -> Result<T, E>) -> Result<(T, u64), E> {
        let outer = self.item_start.get();
        let start = self.pos.get();
        if outer.is_none() {
            self.item_start.set(Some(start));
        }
        let value = read();
        self.item_start.set(outer);
        Ok((value?, self.pos.get() - start))
    }

    /// Records a shape problem and returns the error that stops the parse.
    pub(crate) fn fail<E: serde::de::Error>(&self, key: Option<String>, message: String) -> E {
        let text = message.clone();
        self.problem.replace(Some((key, message)));
        E::custom(text)
    }
}

/// Counts the bytes the parser takes and enforces the item bound.
struct Counted<'a, R> {
    inner: &'a mut R,
    meter: &'a Meter,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let pos = self.meter.pos.get() + n as u64;
        self.meter.pos.set(pos);
        if let Some(start) = self.meter.item_start.get() {
            if pos - start > self.meter.max_item_bytes {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "one item is larger than the {}-byte limit for one item (max_item_bytes), \
                         at byte {start}",
                        self.meter.max_item_bytes
                    ),
                ));
            }
        }
        Ok(n)
    }
}

/// Skips a byte-order mark, whitespace and (with `js_prefix`, unless the JSON starts
/// right away) the text up to the first `=`, which it returns trimmed.
fn skip_prefix(reader: &mut impl BufRead, js_prefix: bool) -> std::io::Result<Option<String>> {
    const MAX_PREFIX: usize = 1024;
    let buf = reader.fill_buf()?;
    if buf.starts_with("\u{feff}".as_bytes()) {
        reader.consume("\u{feff}".len());
    }
    if !js_prefix {
        return Ok(None);
    }
    loop {
        let buf = reader.fill_buf()?;
        match buf.first() {
            Some(b) if b.is_ascii_whitespace() => reader.consume(1),
            Some(b'[' | b'{') | None => return Ok(None),
            Some(_) => break,
        }
    }
    let mut prefix = Vec::new();
    loop {
        let mut byte = [0_u8; 1];
        if reader.read(&mut byte)? == 0 || prefix.len() > MAX_PREFIX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "expected `window.YTD.<name>.part<N> = [ … ]`, found no `=`",
            ));
        }
        if byte[0] == b'=' {
            break;
        }
        prefix.push(byte[0]);
    }
    Ok(Some(String::from_utf8_lossy(&prefix).trim().to_owned()))
}

/// Whether only whitespace and `;` follow the JSON.
fn trailing_ok(reader: &mut impl Read) -> std::io::Result<bool> {
    let mut buf = [0_u8; 4096];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        if !buf[..n]
            .iter()
            .all(|b| b.is_ascii_whitespace() || *b == b';')
        {
            return Ok(false);
        }
    }
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
    fn a_bounded_read_refuses_one_byte_more_than_its_cap() {
        let unpacked = Cell::new(0);
        let bounded = |data: &'static [u8]| Bounded {
            inner: Box::new(data),
            read: 0,
            cap: 3,
            declared: true,
            unpacked: &unpacked,
            max_unpacked: 100,
        };
        let mut out = Vec::new();
        bounded(b"abc").read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
        let err = bounded(b"abcd").read_to_end(&mut out).unwrap_err();
        assert!(matches!(
            err.get_ref().and_then(|e| e.downcast_ref::<LimitHit>()),
            Some(LimitHit::Declared { declared: 3 })
        ));
    }

    #[test]
    fn file_name_is_the_last_component() {
        assert_eq!(file_name("a/b/c.json"), "c.json");
        assert_eq!(file_name("c.json"), "c.json");
    }
}
