//! The ingest ceiling of `cargo xtask bench`: the same rows `toker import` stores (profiles,
//! videos, tags, liked/shared links) inserted by a minimal hand-written loop of prepared
//! statements, batches of 1,000 profiles per transaction, no validation, no cleaning, no
//! ORM: rusqlite on SQLite, the `postgres` client on PostgreSQL (with the `postgres`
//! feature). Toker's import is reported as a ratio of this.
//!
//! ```text
//! cargo run --release -p toker-store --example ingest_ceiling -- --database PATH FILE.jsonl
//! cargo run --release -p toker-store --features postgres --example ingest_ceiling -- \
//!     --database postgres://…/empty_db FILE.jsonl
//! ```
//! The database must be new (a file that does not exist, or an empty PostgreSQL database):
//! the ceiling creates its own minimal tables.

use std::io::{BufRead, BufReader};
use std::time::Instant;

use serde_json::Value;

type Error = Box<dyn std::error::Error>;

/// Where the rows go.
trait Sink {
    /// Stores one batch of profiles in one transaction.
    fn batch(&mut self, records: &[Value]) -> Result<(), Error>;
}

fn main() {
    if let Err(e) = run() {
        eprintln!("ingest_ceiling: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (database, file) = match args.as_slice() {
        [flag, database, file] if flag == "--database" => (database.clone(), file.clone()),
        _ => return Err("usage: ingest_ceiling --database PATH|URL FILE.jsonl".into()),
    };
    let mut sink: Box<dyn Sink> = if database.starts_with("postgres") {
        postgres_sink(&database)?
    } else {
        Box::new(sqlite::Sqlite::open(
            database.trim_start_matches("sqlite://"),
        )?)
    };
    let started = Instant::now();
    let mut lines = BufReader::new(std::fs::File::open(&file)?).lines();
    let mut stored = 0u64;
    loop {
        let mut batch = Vec::with_capacity(1000);
        for line in lines.by_ref() {
            batch.push(serde_json::from_str::<Value>(&line?)?);
            if batch.len() == 1000 {
                break;
            }
        }
        sink.batch(&batch)?;
        stored += batch.len() as u64;
        if batch.len() < 1000 {
            break;
        }
    }
    println!(
        "{{\"profiles\":{stored},\"seconds\":{}}}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(feature = "postgres")]
fn postgres_sink(url: &str) -> Result<Box<dyn Sink>, Error> {
    Ok(Box::new(pg::Pg::connect(url)?))
}

#[cfg(not(feature = "postgres"))]
fn postgres_sink(_url: &str) -> Result<Box<dyn Sink>, Error> {
    Err("a PostgreSQL ceiling needs the `postgres` feature (--features postgres)".into())
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

mod sqlite {
    use rusqlite::{Connection, params};
    use serde_json::Value;

    use super::{Error, Sink, text};

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

    /// rusqlite with cached prepared statements.
    pub(crate) struct Sqlite(Connection);

    impl Sqlite {
        pub(crate) fn open(path: &str) -> Result<Sqlite, Error> {
            let db = Connection::open(path)?;
            db.execute_batch(SCHEMA)?;
            Ok(Sqlite(db))
        }
    }

    impl Sink for Sqlite {
        /// Row by row with cached statements: what an in-process database does fastest.
        fn batch(&mut self, records: &[Value]) -> Result<(), Error> {
            self.0.execute_batch("BEGIN")?;
            for record in records {
                self.insert(record)?;
            }
            Ok(self.0.execute_batch("COMMIT")?)
        }
    }

    impl Sqlite {
        fn insert(&mut self, r: &Value) -> Result<(), Error> {
            let platform = text(&r["platform"]);
            let profile = self.profile(platform, r)?;
            for relation in ["liked_videos", "shared_videos"] {
                let Some(videos) = r[relation].as_array() else {
                    continue;
                };
                for (position, v) in videos.iter().enumerate() {
                    let video = self.video(platform, v)?;
                    for kind in ["categories", "hashtags"] {
                        for tag in v[kind].as_array().into_iter().flatten() {
                            self.tag(video, kind, text(tag))?;
                        }
                    }
                    self.link(profile, video, relation, i64::try_from(position)?)?;
                }
            }
            Ok(())
        }

        fn profile(&mut self, platform: &str, r: &Value) -> Result<i64, Error> {
            self.0
                .prepare_cached(
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
            Ok(self.0.last_insert_rowid())
        }

        fn video(&mut self, platform: &str, v: &Value) -> Result<i64, Error> {
            Ok(self
                .0
                .prepare_cached(
                    "INSERT INTO videos (platform, video_id, likes, comments, shares) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (platform, video_id) DO UPDATE SET likes = excluded.likes,
                       comments = excluded.comments, shares = excluded.shares
                     RETURNING id",
                )?
                .query_row(
                    params![
                        platform,
                        text(&v["video_id"]),
                        v["likes"].as_i64(),
                        v["comments"].as_i64(),
                        v["shares"].as_i64()
                    ],
                    |row| row.get(0),
                )?)
        }

        fn tag(&mut self, video: i64, kind: &str, tag: &str) -> Result<(), Error> {
            self.0
                .prepare_cached(
                    "INSERT OR IGNORE INTO video_tags (video, kind, tag) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![video, kind, tag])?;
            Ok(())
        }

        fn link(
            &mut self,
            profile: i64,
            video: i64,
            relation: &str,
            position: i64,
        ) -> Result<(), Error> {
            self.0
                .prepare_cached(
                    "INSERT OR IGNORE INTO links (profile, video, relation, position) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![profile, video, relation, position])?;
            Ok(())
        }
    }
}

#[cfg(feature = "postgres")]
mod pg {
    use std::collections::HashMap;

    use postgres::{Client, NoTls, Statement};
    use serde_json::Value;

    use super::{Error, Sink, text};

    const SCHEMA: &str = "
CREATE TABLE profiles (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  platform TEXT NOT NULL, user_id TEXT NOT NULL, username TEXT NOT NULL,
  number_of_likes BIGINT, followers_count BIGINT, raw_json TEXT NOT NULL,
  UNIQUE (platform, user_id));
CREATE TABLE videos (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  platform TEXT NOT NULL, video_id TEXT NOT NULL, likes BIGINT, comments BIGINT,
  shares BIGINT, UNIQUE (platform, video_id));
CREATE TABLE video_tags (video BIGINT NOT NULL, kind TEXT NOT NULL, tag TEXT NOT NULL,
  PRIMARY KEY (video, kind, tag));
CREATE TABLE links (profile BIGINT NOT NULL, video BIGINT NOT NULL, relation TEXT NOT NULL,
  position BIGINT NOT NULL, PRIMARY KEY (profile, relation, video));
";

    /// The synchronous `postgres` client, every statement prepared once. A network round
    /// trip per row would make this no ceiling at all (Toker's import inserts many rows per
    /// statement), so each batch is one `INSERT … SELECT FROM UNNEST(arrays)` per table.
    pub(crate) struct Pg {
        client: Client,
        profiles: Statement,
        videos: Statement,
        tags: Statement,
        links: Statement,
    }

    impl Pg {
        pub(crate) fn connect(url: &str) -> Result<Pg, Error> {
            let mut client = Client::connect(url, NoTls)?;
            client.batch_execute(SCHEMA)?;
            let profiles = client.prepare(
                "INSERT INTO profiles (platform, user_id, username, number_of_likes, followers_count, raw_json)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
                 RETURNING id",
            )?;
            let videos = client.prepare(
                "INSERT INTO videos (platform, video_id, likes, comments, shares)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
                 ON CONFLICT (platform, video_id) DO UPDATE SET likes = excluded.likes,
                   comments = excluded.comments, shares = excluded.shares
                 RETURNING platform, video_id, id",
            )?;
            let tags = client.prepare(
                "INSERT INTO video_tags (video, kind, tag)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
            )?;
            let links = client.prepare(
                "INSERT INTO links (profile, video, relation, position)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
                 ON CONFLICT DO NOTHING",
            )?;
            Ok(Pg {
                client,
                profiles,
                videos,
                tags,
                links,
            })
        }
    }

    impl Sink for Pg {
        fn batch(&mut self, records: &[Value]) -> Result<(), Error> {
            let mut tx = self.client.transaction()?;
            // Profiles, in order: RETURNING gives their ids in the same order.
            let (mut platform, mut user_id, mut username) = (Vec::new(), Vec::new(), Vec::new());
            let (mut likes, mut followers, mut raw) = (Vec::new(), Vec::new(), Vec::new());
            for r in records {
                platform.push(text(&r["platform"]));
                user_id.push(text(&r["user_id"]));
                username.push(text(&r["username"]));
                likes.push(r["number_of_likes"].as_i64());
                followers.push(r["followers_count"].as_i64());
                raw.push(r.to_string());
            }
            let ids: Vec<i64> = tx
                .query(
                    &self.profiles,
                    &[&platform, &user_id, &username, &likes, &followers, &raw],
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            // Videos, once each per batch (the latest counts), then tags and links by id.
            let mut latest: HashMap<(&str, &str), &Value> = HashMap::new();
            for r in records {
                for relation in ["liked_videos", "shared_videos"] {
                    for v in r[relation].as_array().into_iter().flatten() {
                        latest.insert((text(&r["platform"]), text(&v["video_id"])), v);
                    }
                }
            }
            let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for ((platform, video_id), v) in &latest {
                columns.0.push(*platform);
                columns.1.push(*video_id);
                columns.2.push(v["likes"].as_i64());
                columns.3.push(v["comments"].as_i64());
                columns.4.push(v["shares"].as_i64());
            }
            let mut video_ids: HashMap<(String, String), i64> = HashMap::new();
            for row in tx.query(
                &self.videos,
                &[&columns.0, &columns.1, &columns.2, &columns.3, &columns.4],
            )? {
                video_ids.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
            }
            let (mut tag_video, mut tag_kind, mut tag_text) = (Vec::new(), Vec::new(), Vec::new());
            for ((platform, video_id), v) in &latest {
                let id = video_ids[&((*platform).to_owned(), (*video_id).to_owned())];
                for kind in ["categories", "hashtags"] {
                    for tag in v[kind].as_array().into_iter().flatten() {
                        tag_video.push(id);
                        tag_kind.push(kind);
                        tag_text.push(text(tag));
                    }
                }
            }
            tx.execute(&self.tags, &[&tag_video, &tag_kind, &tag_text])?;
            let mut link = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (r, profile) in records.iter().zip(&ids) {
                for relation in ["liked_videos", "shared_videos"] {
                    for (position, v) in r[relation].as_array().into_iter().flatten().enumerate() {
                        let key = (
                            text(&r["platform"]).to_owned(),
                            text(&v["video_id"]).to_owned(),
                        );
                        link.0.push(*profile);
                        link.1.push(video_ids[&key]);
                        link.2.push(relation);
                        link.3.push(i64::try_from(position)?);
                    }
                }
            }
            tx.execute(&self.links, &[&link.0, &link.1, &link.2, &link.3])?;
            Ok(tx.commit()?)
        }
    }
}
