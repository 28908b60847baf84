//! Resumable, incremental collection through the `toker` binary, against a local server
//! replaying TikTok Research API pages made from the fixtures (the 120 liked videos of
//! `liked_videos_page1/2.json` re-cut into pages of 30): a fetch killed (SIGKILL) after
//! page k resumes without gaps, duplicates or repeated pages; a daily quota stops cleanly
//! and the run resumes the next day; Ctrl-C keeps the committed pages; `--since-last`
//! after an interrupted run fetches what it missed; importing an archive twice is a no-op.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;

use assert_cmd::Command;
use common::comparable;
use serde_json::{Value, json};
use toker_model::Platform;
use toker_store::Store;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Cursor of the page at index `i` (≥ 1): TikTok's liked cursors are Unix times.
const CURSOR_BASE: i64 = 1_754_000_000;
const PER_PAGE: usize = 30;

/// A TikTok fixture.
fn fixture(rel: &str) -> PathBuf {
    common::fixture(&format!("tiktok/{rel}"))
}

fn fixture_json(rel: &str) -> Value {
    common::fixture_json(&format!("tiktok/{rel}"))
}

/// A fixture response with the status and headers of its `.headers` file.
fn replay(rel: &str) -> ResponseTemplate {
    let body = std::fs::read(fixture(rel)).unwrap();
    let stem = rel.split('.').next().unwrap();
    let mut template = ResponseTemplate::new(200);
    if let Ok(head) = std::fs::read_to_string(fixture(&format!("{stem}.headers"))) {
        let mut lines = head.lines();
        let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
        template = ResponseTemplate::new(status.parse::<u16>().unwrap());
        for line in lines.filter(|l| l.contains(':')) {
            let (k, v) = line.split_once(':').unwrap();
            if !k.eq_ignore_ascii_case("content-type") {
                template = template.insert_header(k.trim(), v.trim());
            }
        }
    }
    template.set_body_raw(body, "application/json")
}

/// The 120 liked videos of the fixture pages, newest first.
fn liked_videos() -> Vec<Value> {
    let mut all = Vec::new();
    for page in ["api/liked_videos_page1.json", "api/liked_videos_page2.json"] {
        let body = fixture_json(page);
        all.extend(
            body["data"]["user_liked_videos"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    assert_eq!(all.len(), 120);
    all
}

/// What the liked endpoint serves, and what it was asked.
#[derive(Default)]
struct Script {
    videos: Vec<Value>,
    /// The page index that never answers in time.
    stall_at: Option<usize>,
    /// The page index that answers with the daily-quota error.
    quota_at: Option<usize>,
    /// The `cursor` of every liked request (`None`: the first page).
    log: Vec<Option<i64>>,
}

#[derive(Clone, Default)]
struct Liked(Arc<Mutex<Script>>);

impl Respond for Liked {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let cursor = body.get("cursor").and_then(Value::as_i64);
        let mut script = self.0.lock().unwrap();
        script.log.push(cursor);
        let index = cursor.map_or(0, |c| usize::try_from(c - CURSOR_BASE).unwrap());
        if script.quota_at == Some(index) {
            return replay("api/error_429_daily_quota.json");
        }
        let pages = script.videos.len().div_ceil(PER_PAGE);
        let start = index * PER_PAGE;
        let items = &script.videos[start..(start + PER_PAGE).min(script.videos.len())];
        let has_more = index + 1 < pages;
        let page = json!({
            "data": {
                "user_liked_videos": items,
                "cursor": CURSOR_BASE + i64::try_from(index).unwrap() + 1,
                "has_more": has_more,
            },
            // Like TikTok's, every response has its own log id.
            "error": {"code": "ok", "message": "", "log_id": format!("log-{}", script.log.len())},
        });
        let template = ResponseTemplate::new(200).set_body_json(page);
        if script.stall_at == Some(index) {
            template.set_delay(Duration::from_secs(30))
        } else {
            template
        }
    }
}

/// A TikTok Research API replay server.
struct TikTok {
    server: MockServer,
    liked: Liked,
}

impl TikTok {
    async fn start(videos: Vec<Value>) -> TikTok {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/oauth/token/"))
            .respond_with(replay("api/oauth_token.json"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/research/user/info/"))
            .respond_with(replay("api/user_info.json"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/research/user/reposted_videos/"))
            .respond_with(replay("api/reposted_videos.json"))
            .mount(&server)
            .await;
        let liked = Liked::default();
        liked.0.lock().unwrap().videos = videos;
        Mock::given(method("POST"))
            .and(path("/v2/research/user/liked_videos/"))
            .respond_with(liked.clone())
            .mount(&server)
            .await;
        TikTok { server, liked }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.liked.0.lock().unwrap()
    }

    /// The liked cursors asked for since the last call.
    fn take_log(&self) -> Vec<Option<i64>> {
        std::mem::take(&mut self.script().log)
    }

    async fn requests_to(&self, endpoint: &str) -> usize {
        let all = self.server.received_requests().await.unwrap();
        all.iter().filter(|r| r.url.path() == endpoint).count()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TOKER_TIKTOK_API_URL", self.server.uri()),
            ("TOKER_TIKTOK_CLIENT_KEY", "test-client-key".to_owned()),
            (
                "TOKER_TIKTOK_CLIENT_SECRET",
                "test-client-secret".to_owned(),
            ),
            ("TOKER_API_MAX_RETRIES", "0".to_owned()),
            ("TOKER_API_TIMEOUT", "60".to_owned()),
        ]
    }
}

fn cursor(index: i64) -> Option<i64> {
    Some(CURSOR_BASE + index)
}

/// `toker --database DB ARGS… --min-likes 1`, run to its end off the async runtime.
async fn toker(db: &Path, env: Vec<(&'static str, String)>, args: &[&str]) -> std::process::Output {
    let db = db.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::cargo_bin("toker")
            .unwrap()
            .env_remove("DATABASE_URL")
            .envs(env)
            .arg("--database")
            .arg(&db)
            .args(&args)
            .args(["--min-likes", "1"])
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// `toker --json … fetch tiktok --user mila.reyes ARGS`.
async fn fetch_json(
    db: &Path,
    env: Vec<(&'static str, String)>,
    args: &[&str],
) -> std::process::Output {
    let mut all = vec!["--json", "fetch", "tiktok", "--user", "mila.reyes"];
    all.extend_from_slice(args);
    toker(db, env, &all).await
}

/// Starts `toker … fetch tiktok --user mila.reyes ARGS` in the background.
fn spawn_fetch(db: &Path, env: &[(&'static str, String)], args: &[&str]) -> Child {
    StdCommand::new(assert_cmd::cargo::cargo_bin("toker"))
        .env_remove("DATABASE_URL")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .arg("--database")
        .arg(db)
        .args([
            "fetch",
            "tiktok",
            "--user",
            "mila.reyes",
            "--min-likes",
            "1",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the server was asked for the liked page at `index` (the one that stalls):
/// the pages before it are committed, since a run asks for a page only after committing
/// the one before.
async fn until_asked_for(tiktok: &TikTok, index: i64) {
    let wanted = if index == 0 { None } else { cursor(index) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !tiktok.script().log.contains(&wanted) {
        assert!(
            Instant::now() < deadline,
            "page {index} was never asked for"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The stored profile with video lists as sorted id lists (plus the whole profile).
fn stored(db: &Path) -> (Value, Vec<String>) {
    let mut store = Store::open(db.to_str().unwrap()).unwrap();
    let p = store
        .get_profile_by_key(Platform::TikTok, "mila.reyes")
        .unwrap();
    let mut ids: Vec<String> = p
        .profile
        .liked_videos
        .iter()
        .map(|v| v.video_id.clone())
        .collect();
    ids.sort();
    (serde_json::to_value(&p.profile).unwrap(), ids)
}

fn assert_full_set(db: &Path) {
    let (profile, ids) = stored(db);
    let mut distinct = ids.clone();
    distinct.dedup();
    assert_eq!((ids.len(), distinct.len()), (120, 120), "no item twice");
    assert_eq!(
        comparable(profile),
        comparable(fixture_json("expected/api_profile.json")),
        "exactly the expected profile: no item missing"
    );
    let stats = Store::open(db.to_str().unwrap()).unwrap().stats().unwrap();
    assert_eq!((stats.liked_links, stats.shared_links), (120, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_killed_after_page_k_resumes_with_no_gap_no_duplicate_and_no_repeated_page() {
    let tiktok = TikTok::start(liked_videos()).await;
    tiktok.script().stall_at = Some(2);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let env = tiktok.env();

    let mut child = spawn_fetch(&db, &env, &[]);
    until_asked_for(&tiktok, 2).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Pages 1 and 2 are committed, with their checkpoint and the profile.
    let mut store = Store::open(db.to_str().unwrap()).unwrap();
    let run = store
        .unfinished_run(Platform::TikTok, "mila.reyes")
        .unwrap()
        .expect("an unfinished run");
    assert_eq!((run.pages, run.items), (2, 60));
    let liked = store
        .run_checkpoints(run.id)
        .unwrap()
        .into_iter()
        .find(|c| c.listing == "liked")
        .unwrap();
    assert_eq!(liked.next_cursor, Some((CURSOR_BASE + 2).to_string()));
    drop(store);
    assert_eq!(stored(&db).1.len(), 60);
    assert_eq!(tiktok.take_log(), [None, cursor(1), cursor(2)]);

    // A plain fetch says so, and how to resume or restart; it asks for no page.
    let out = toker(
        &db,
        env.clone(),
        &["fetch", "tiktok", "--user", "mila.reyes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("unfinished run"), "{err}");
    assert!(
        err.contains("toker fetch tiktok --user mila.reyes --resume"),
        "{err}"
    );
    assert!(err.contains("--restart"), "{err}");
    assert!(tiktok.take_log().is_empty());

    tiktok.script().stall_at = None;
    let infos = tiktok.requests_to("/v2/research/user/info/").await;
    let out = fetch_json(&db, env.clone(), &["--resume"]).await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        tiktok.take_log(),
        [cursor(2), cursor(3)],
        "pages 1..2 are not asked for again"
    );
    assert_eq!(
        tiktok.requests_to("/v2/research/user/info/").await,
        infos,
        "nor is the account"
    );
    let report = json_of(&out);
    assert_eq!(report["run"]["resumed"], true);
    assert_eq!(report["run"]["pages_resumed"], 2);
    assert_eq!(report["run"]["pages_fetched"], 3, "liked 3 and 4, reposted");
    assert_eq!(report["run"]["marker_moved"], true);
    assert_eq!(report["items"]["new"], 60 + 6);
    assert_eq!(report["liked_videos"], 120);
    assert_full_set(&db);

    // Fetching again changes nothing and says so, item by item.
    let (before, _) = stored(&db);
    let updated_at = |db: &Path| {
        Store::open(db.to_str().unwrap())
            .unwrap()
            .get_profile_by_key(Platform::TikTok, "mila.reyes")
            .unwrap()
            .updated_at
    };
    let stamp = updated_at(&db);
    let out = fetch_json(&db, env, &[]).await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = json_of(&out);
    assert_eq!(report["outcome"], "unchanged");
    assert_eq!(
        report["items"],
        json!({"new": 0, "updated": 0, "unchanged": 126, "removed": 0})
    );
    assert_eq!(stored(&db).0, before);
    assert_eq!(updated_at(&db), stamp);
    assert_full_set(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_quota_stops_cleanly_and_the_run_resumes_the_next_day() {
    let tiktok = TikTok::start(liked_videos()).await;
    tiktok.script().quota_at = Some(2);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let env = tiktok.env();

    let out = fetch_json(&db, env.clone(), &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("daily quota"), "{err}");
    assert!(err.contains("00:00 UTC"), "{err}");
    assert!(err.contains("2 page(s) committed"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let report = json_of(&out);
    assert_eq!(report["run"]["status"], "unfinished");
    assert_eq!(report["run"]["pages_fetched"], 2);
    assert!(report["run"]["stopped"].as_str().unwrap().contains("quota"));
    assert_eq!(tiktok.take_log(), [None, cursor(1), cursor(2)]);
    assert_eq!(stored(&db).1.len(), 60, "the committed pages are kept");

    // The next day the quota is back.
    tiktok.script().quota_at = None;
    let out = toker(
        &db,
        env,
        &["fetch", "tiktok", "--user", "mila.reyes", "--resume"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tiktok:mila.reyes"), "{stdout}");
    assert!(
        stdout.contains("committed before (not asked for again)"),
        "{stdout}"
    );
    assert_eq!(tiktok.take_log(), [cursor(2), cursor(3)]);
    assert_full_set(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_last_after_an_interrupted_run_fetches_what_that_run_missed() {
    // The newest 60 likes arrive after the first run, which sees only the older 60.
    let all = liked_videos();
    let tiktok = TikTok::start(all[60..].to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let env = tiktok.env();

    // A complete run over the 60 older likes.
    let out = toker(
        &db,
        env.clone(),
        &["fetch", "tiktok", "--user", "mila.reyes"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(tiktok.take_log(), [None, cursor(1)]);

    // 60 new likes arrive at the head; a run is stopped with Ctrl-C after their first page.
    {
        let mut script = tiktok.script();
        script.videos = all.clone();
        script.stall_at = Some(1);
    }
    let child = spawn_fetch(&db, &env, &[]);
    until_asked_for(&tiktok, 1).await;
    let sent = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("interrupted"), "{err}");
    assert!(err.contains("1 page(s) committed"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(stored(&db).1.len(), 90, "its committed page is kept");
    assert_eq!(tiktok.take_log(), [None, cursor(1)]);

    // --since-last reads both new pages (the second was missed), then one page of likes
    // already collected by the complete run, and stops: the last page is not asked for.
    tiktok.script().stall_at = None;
    let out = fetch_json(&db, env.clone(), &["--since-last"]).await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("abandoned"), "{}", stderr_of(&out));
    assert_eq!(tiktok.take_log(), [None, cursor(1), cursor(2)]);
    let report = json_of(&out);
    assert_eq!(report["run"]["mode"], "since_last");
    assert_eq!(report["run"]["listings"][0]["state"], "caught_up");
    assert_eq!(report["run"]["marker_moved"], true);
    assert_eq!(report["items_by_list"]["liked_videos"]["new"], 30);
    assert_full_set(&db);

    // Nothing new since: one page, nothing written.
    let out = fetch_json(&db, env, &["--since-last"]).await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(tiktok.take_log(), [None]);
    let report = json_of(&out);
    assert_eq!(report["outcome"], "unchanged");
    assert_eq!(report["items"]["new"], 0);
    assert_full_set(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_an_archive_twice_is_a_no_op_and_a_newer_one_adds_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("toker.db");
    let archive = fixture("export/activity_layout");
    let archive = archive.to_str().unwrap();
    let first = toker(&db, vec![], &["--json", "import-export", "tiktok", archive]).await;
    assert!(first.status.success(), "{}", stderr_of(&first));
    let first = json_of(&first);
    assert_eq!(first["outcome"], "created");
    let liked = first["liked_videos"].as_u64().unwrap();
    let shared = first["shared_videos"].as_u64().unwrap();
    let snapshot = |db: &Path| {
        let mut store = Store::open(db.to_str().unwrap()).unwrap();
        let p = store
            .get_profile_by_key(Platform::TikTok, "mila.reyes")
            .unwrap();
        (p.updated_at, p.profile, p.raw_json, store.stats().unwrap())
    };
    let before = snapshot(&db);

    let again = toker(&db, vec![], &["--json", "import-export", "tiktok", archive]).await;
    assert!(again.status.success(), "{}", stderr_of(&again));
    let again = json_of(&again);
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(
        again["items"],
        json!({"new": 0, "updated": 0, "unchanged": liked + shared, "removed": 0})
    );
    assert_eq!(
        snapshot(&db),
        before,
        "nothing changed, not even updated_at"
    );

    // A newer archive of the same account, with one more like.
    let newer = dir.path().join("newer");
    std::fs::create_dir(&newer).unwrap();
    let mut data = fixture_json("export/activity_layout/user_data.json");
    data["Activity"]["Like List"]["ItemFavoriteList"]
        .as_array_mut()
        .unwrap()
        .insert(
            0,
            json!({"Date": "2026-11-24 09:00:00",
                   "Link": "https://www.tiktokv.com/share/video/7799999999999999999/"}),
        );
    std::fs::write(
        newer.join("user_data.json"),
        serde_json::to_vec_pretty(&data).unwrap(),
    )
    .unwrap();
    let out = toker(
        &db,
        vec![],
        &["--json", "import-export", "tiktok", newer.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = json_of(&out);
    assert_eq!(report["outcome"], "updated");
    assert_eq!(
        report["items_by_list"]["liked_videos"],
        json!({"new": 1, "updated": 0, "unchanged": liked, "removed": 0})
    );
    assert_eq!(report["liked_videos"], liked + 1);
    let after = snapshot(&db);
    assert_eq!(
        after.1.number_of_likes,
        before.1.number_of_likes.map(|n| n + 1)
    );
    assert_eq!(after.3.liked_links, before.3.liked_links + 1);
}
