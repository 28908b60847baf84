//! The ingest ceiling of `cargo xtask bench`: the same rows `toker import` stores (profiles,
//! videos, tags, liked/shared links) inserted by a minimal hand-written loop of cached
//! prepared statements (rusqlite), batches of 1,000 profiles per transaction, no
//! validation, no cleaning, no ORM. Toker's import is reported as a ratio of this.
//!
//! `cargo run --release -p toker-store --example ingest_ceiling -- --database PATH FILE.jsonl`
//! (SQLite only; with a `postgres://` URL it says so and exits 2.)

use std::io::{BufRead, BufReader};
use std::time::Instant;

use rusqlite::{Connection, params};
use serde_json::Value;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE profiles (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, user_id TEXT NOT NULL,
  username TEXT NOT NULL, number_of_likes INTEGER, followers_count INTEGER, raw_json TEXT NOT NULL,
  UNIQUE (platform, user_id));
CREATE TABLE videos (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, video_id TEXT NOT NULL,
  likes INTEGER, comments INTEGER, shares INTEGER, UNIQUE (platform, video_id));
CREATE TABLE video_tags (video INTEGER NOT NULL, kind TEXT NOT NULL, tag TEXT NOT NULL,
  PRIMARY KEY (video, kind, tag));
CREATE TABLE links (profile INTEGER NOT NULL, video INTEGER NOT NULL, relation TEXT NOT NULL,
  position INTEGER NOT NULL, PRIMARY KEY (profile, relation, video));
";

fn main() {
    if let Err(e) = run() {
        eprintln!("ingest_ceiling: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (database, file) = match args.as_slice() {
        [flag, database, file] if flag == "--database" => (database.clone(), file.clone()),
        _ => return Err("usage: ingest_ceiling --database PATH FILE.jsonl".into()),
    };
    if database.starts_with("postgres") {
        eprintln!("ingest_ceiling: only SQLite has a hand-written ceiling");
        std::process::exit(2);
    }
    let mut db = Connection::open(database.trim_start_matches("sqlite://"))?;
    db.execute_batch(SCHEMA)?;
    let started = Instant::now();
    let mut lines = BufReader::new(std::fs::File::open(&file)?).lines();
    let mut stored = 0u64;
    loop {
        let tx = db.transaction()?;
        let mut in_batch = 0;
        for line in lines.by_ref() {
            let record: Value = serde_json::from_str(&line?)?;
            insert(&tx, &record)?;
            in_batch += 1;
            if in_batch == 1000 {
                break;
            }
        }
        tx.commit()?;
        stored += in_batch;
        if in_batch < 1000 {
            break;
        }
    }
    println!(
        "{{\"profiles\":{stored},\"seconds\":{}}}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn insert(tx: &rusqlite::Transaction<'_>, r: &Value) -> rusqlite::Result<()> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let platform = text(&r["platform"]);
    tx.prepare_cached(
        "INSERT INTO profiles (platform, user_id, username, number_of_likes, followers_count, raw_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        platform,
        text(&r["user_id"]),
        text(&r["username"]),
        r["number_of_likes"].as_i64(),
        r["followers_count"].as_i64(),
        r.to_string()
    ])?;
    let profile = tx.last_insert_rowid();
    for relation in ["liked_videos", "shared_videos"] {
        let Some(videos) = r[relation].as_array() else {
            continue;
        };
        for (position, v) in videos.iter().enumerate() {
            let video: i64 = tx
                .prepare_cached(
                    "INSERT INTO videos (platform, video_id, likes, comments, shares) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (platform, video_id) DO UPDATE SET likes = excluded.likes,
                       comments = excluded.comments, shares = excluded.shares
                     RETURNING id",
                )?
                .query_row(
                    params![platform, text(&v["video_id"]), v["likes"].as_i64(), v["comments"].as_i64(), v["shares"].as_i64()],
                    |row| row.get(0),
                )?;
            for kind in ["categories", "hashtags"] {
                for tag in v[kind].as_array().into_iter().flatten() {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO video_tags (video, kind, tag) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![video, kind, text(tag)])?;
                }
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO links (profile, video, relation, position) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![profile, video, relation, position as i64])?;
        }
    }
    Ok(())
}
