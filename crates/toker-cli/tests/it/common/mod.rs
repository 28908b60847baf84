//! Helpers the CLI test files share: the platforms' fixtures (copies kept in
//! the test kit's fixtures) and profile comparison.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses a part of it

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub(crate) use toker_testkit::{fixture, fixture_json};

/// The profile with its video lists turned into maps keyed by `video_id` (order is not part
/// of the contract).
pub(crate) fn comparable(mut profile: Value) -> Value {
    for list in ["liked_videos", "shared_videos"] {
        let videos: BTreeMap<String, Value> = profile[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["video_id"].as_str().unwrap().to_owned(), v.clone()))
            .collect();
        profile[list] = serde_json::to_value(videos).unwrap();
    }
    profile
}

const LIKES: &str = "your_instagram_activity/likes/liked_posts.json";
const PERSONAL: &str = "personal_information/personal_information/personal_information.json";

/// Writes a `liked_posts.json` of `posts` real liked posts followed by `zeros` zeros
/// (items that name no post; millions of them deflate into a zip bomb).
fn likes_json(posts: usize, zeros: usize, out: &mut impl Write) {
    out.write_all(b"[").unwrap();
    for i in 0..posts {
        write!(
            out,
            r#"{{"timestamp": {i}, "label_values": [{{"label": "URL", "value": "https://www.instagram.com/p/Post{i}/"}}]}},"#
        )
        .unwrap();
    }
    let chunk = "0,".repeat(64 * 1024);
    let mut left = zeros;
    while left > 0 {
        let n = left.min(64 * 1024);
        out.write_all(&chunk.as_bytes()[..2 * n]).unwrap();
        left -= n;
    }
    out.write_all(b"0]").unwrap();
}

fn personal_information() -> Vec<u8> {
    std::fs::read(fixture(&format!("instagram/export/newer/{PERSONAL}"))).unwrap()
}

/// `<dir>/export.zip`: an Instagram export (of Léa's fixture identity) whose likes are
/// `posts` posts and `zeros` zeros, deflated.
pub(crate) fn instagram_export_zip(dir: &Path, posts: usize, zeros: usize) -> PathBuf {
    let path = dir.join("export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(LIKES, options).unwrap();
    likes_json(posts, zeros, &mut zip);
    zip.start_file(PERSONAL, options).unwrap();
    zip.write_all(&personal_information()).unwrap();
    zip.finish().unwrap();
    path
}

/// The same export, unzipped into `<dir>/export`.
pub(crate) fn instagram_export_folder(dir: &Path, posts: usize, zeros: usize) -> PathBuf {
    let root = dir.join("export");
    std::fs::create_dir_all(root.join(LIKES).parent().unwrap()).unwrap();
    std::fs::create_dir_all(root.join(PERSONAL).parent().unwrap()).unwrap();
    let mut likes = std::io::BufWriter::new(std::fs::File::create(root.join(LIKES)).unwrap());
    likes_json(posts, zeros, &mut likes);
    likes.flush().unwrap();
    std::fs::write(root.join(PERSONAL), personal_information()).unwrap();
    root
}

/// The base URL (`http://…`) a `toker serve` started with a piped stderr announces there;
/// the rest of its stderr is drained on a thread so that it never blocks on a full pipe.
pub(crate) fn served_base(server: &mut std::process::Child) -> String {
    announced_base(server, "toker: serving the REST API on ")
}

/// The base URL a process started with a piped stderr announces after `prefix` there,
/// the rest of its stderr drained as by [`served_base`].
pub(crate) fn announced_base(server: &mut std::process::Child, prefix: &str) -> String {
    use std::io::{BufRead, BufReader};
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the process exited"
        );
        if let Some(url) = line.trim().strip_prefix(prefix) {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || for _ in stderr.lines() {});
    base
}

/// `GET url` with `token` as the bearer, its body as JSON.
pub(crate) async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
