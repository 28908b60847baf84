//! What Toker's integration tests share, so that no test file copies it: the platforms'
//! fixtures (recorded API answers and data exports with the profiles they must yield), a
//! local replay of the platforms over a socket, deterministic sample profiles, the binary's
//! log capture and `on_both_backends!` (feature `store`), which runs one test body on SQLite and on
//! PostgreSQL. Not published; every crate's `[dev-dependencies]` names the features it uses.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use std::path::PathBuf;

#[cfg(feature = "logs")]
mod logs;
#[cfg(feature = "replay")]
pub mod replay;
#[cfg(feature = "store")]
pub mod samples;

#[cfg(feature = "logs")]
pub use logs::LogCapture;
#[cfg(feature = "store")]
pub use toker_store::testing::TestDb;

/// An environment for the crates' `from_lookup` constructors: the value of each of
/// `pairs`' names, `None` for any other.
pub fn env_lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

/// The fixtures folder: `<platform>/api/…` (recorded API answers), `<platform>/export/…`
/// (data exports, with `expected/` profiles), and shared files at its top.
#[must_use]
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A file under [`fixtures`].
#[must_use]
pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// A JSON fixture, parsed.
///
/// # Panics
/// If the file is missing or not JSON.
#[must_use]
pub fn fixture_json(rel: &str) -> serde_json::Value {
    let path = fixture(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The fixture folder `rel` as a zip archive (entries relative to it, sorted, stored), as
/// a person would upload it.
///
/// # Panics
/// If the folder cannot be read.
#[cfg(feature = "zip")]
#[must_use]
pub fn zip_folder(rel: &str) -> Vec<u8> {
    use std::io::Write;
    fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = fixture(rel);
    let mut paths = Vec::new();
    files(&root, &mut paths);
    paths.sort();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for path in paths {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        out.start_file(name, options).unwrap();
        out.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Runs test bodies on a fresh SQLite file and on a fresh PostgreSQL database (skipped with a
/// loud warning when no server answers, a failure with `CI=true`): for each `NAME` a module
/// `NAME` with the tests `sqlite` and `postgres`.
///
/// - `on_both_backends!(store: a, b)`: `fn a(store: &mut toker_store::Store)`.
/// - `on_both_backends!(async Fixture: a, b)`: `async fn a(f: Fixture)`, where `Fixture`
///   has `fn sqlite() -> Fixture` and `fn postgres() -> Option<Fixture>` (a `#[tokio::test]`).
#[cfg(feature = "store")]
#[macro_export]
macro_rules! on_both_backends {
    (store: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let db = $crate::TestDb::sqlite();
                let mut store = ::toker_store::Store::open(&db.url).unwrap();
                assert_eq!(store.backend(), ::toker_store::Backend::Sqlite);
                super::$name(&mut store);
            }

            #[test]
            fn postgres() {
                let Some(db) = $crate::TestDb::postgres() else {
                    return;
                };
                let mut store = ::toker_store::Store::open(&db.url).unwrap();
                assert_eq!(store.backend(), ::toker_store::Backend::Postgres);
                super::$name(&mut store);
                drop(store);
            }
        }
    )*};
    (async $fixture:ty: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                super::$name(<$fixture>::sqlite()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(fixture) = <$fixture>::postgres() {
                    super::$name(fixture).await;
                }
            }
        }
    )*};
}
