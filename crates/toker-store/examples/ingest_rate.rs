//! Measures bulk-ingest throughput on a fresh SQLite file (or `--database URL`).
//!
//! `cargo run --release -p toker-store --example ingest_rate -- [PROFILES] [VIDEOS] [TAGS]
//! [--database URL] [--batch N]`: PROFILES synthetic profiles (default 20000), each with
//! about VIDEOS liked+shared videos (default 27, like the fake source) of TAGS tags each
//! (default 5), one video in ten drawn from a pool shared by everyone.

use std::time::Instant;

use toker_model::{Platform, Profile, Video};
use toker_store::{IngestItem, IngestOptions, Store};

fn video(n: u64, tags: u64) -> Video {
    Video {
        video_id: format!("{}", 7_000_000_000_000_000_000u64 + n),
        categories: vec!["Technology".into()],
        hashtags: (1..tags)
            .map(|k| format!("#tag{}", (n + k) % 500))
            .collect(),
        likes: Some(n % 10_000),
        comments: Some(n % 300),
        shares: Some(n % 50),
    }
}

fn profile(i: u64, videos: u64, tags: u64) -> Profile {
    let mut p = Profile::new(format!("user{i}"), format!("user_{i}"));
    p.number_of_likes = Some(1000 + i);
    p.followers_count = Some(i * 3);
    p.verified = Some(i % 2 == 0);
    let pick = |k: u64| {
        if k % 10 == 0 {
            k % 1000 // popular
        } else {
            1000 + i * videos + k
        }
    };
    let liked = videos * 3 / 4;
    p.liked_videos = (0..liked).map(|k| video(pick(k), tags)).collect();
    p.shared_videos = (liked..videos).map(|k| video(pick(k), tags)).collect();
    p
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut numbers = Vec::new();
    let mut database = None;
    let mut batch = 1000;
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--database" => database = rest.next().cloned(),
            "--batch" => batch = rest.next().and_then(|b| b.parse().ok()).unwrap_or(1000),
            n => numbers.push(
                n.parse::<u64>()
                    .unwrap_or_else(|_| panic!("not a number: {n}")),
            ),
        }
    }
    let count = numbers.first().copied().unwrap_or(20_000);
    let videos = numbers.get(1).copied().unwrap_or(27);
    let tags = numbers.get(2).copied().unwrap_or(5);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url =
        database.unwrap_or_else(|| dir.path().join("bench.db").to_string_lossy().into_owned());
    let mut store = Store::open(&url).expect("open the database");

    let items = (0..count).map(|i| {
        let p = profile(i, videos, tags);
        IngestItem {
            label: format!("item {i}"),
            platform: Platform::TikTok,
            raw: serde_json::to_value(&p).expect("JSON"),
            profile: p,
            owner: None,
        }
    });
    let start = Instant::now();
    let report = store
        .ingest(
            items,
            &IngestOptions {
                batch_size: batch,
                upsert: false,
            },
            &mut |_| {},
        )
        .expect("ingest");
    let secs = start.elapsed().as_secs_f64();
    let stats = store.stats().expect("stats");
    println!(
        "{} profiles ({videos} videos × {tags} tags each) in {secs:.2} s: {:.0} profiles/s \
         ({} batches; {} videos, {} links, {} tags stored)",
        report.created,
        report.created as f64 / secs,
        report.batches,
        stats.videos,
        stats.liked_links + stats.shared_links,
        stats.tags
    );
}
