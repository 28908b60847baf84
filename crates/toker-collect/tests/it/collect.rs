//! Resumable collection against a scripted API client (TikTok-shaped pages, no network):
//! interruption and resume, quotas, incremental runs, idempotent re-runs, bounds, refused
//! lists. On SQLite, and on PostgreSQL with the `postgres` feature.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};
use toker_collect::{CollectError, CollectRequest, NoProgress, Start, StopCause, collect_api};
use toker_model::{Platform, ValidationRules};
use toker_sources::http::{Account, ApiClient, Listing, Page, PageRequest};
use toker_sources::{RawProfile, Source, SourceError, SourceKind, UserRef};
use toker_store::testing::TestDb;
use toker_store::{ListingState, RunStatus, Store, Written};
use tokio::sync::Notify;

/// What a scripted page request does instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// Never answers (the test stops the run meanwhile).
    Stall,
    /// TikTok's daily quota.
    Quota,
    /// A private list.
    Refuse,
}

/// A TikTok-like client over lists of videos, split into pages; cursors are page numbers.
struct Scripted {
    per_page: usize,
    lists: Mutex<BTreeMap<Listing, Vec<Value>>>,
    trouble: Mutex<HashMap<(Listing, usize), Trouble>>,
    requests: Mutex<Vec<(Listing, Option<String>)>>,
    stalled: Notify,
}

fn video(n: u64, likes: u64) -> Value {
    json!({"id": format!("v{n}"), "like_count": likes, "comment_count": 1, "share_count": 2,
           "hashtag_names": [format!("tag{}", n % 5)]})
}

fn videos(range: std::ops::Range<u64>) -> Vec<Value> {
    range.map(|n| video(n, n * 10)).collect()
}

impl Scripted {
    fn new(liked: Vec<Value>, reposted: Vec<Value>) -> Self {
        Scripted {
            per_page: 30,
            lists: Mutex::new(BTreeMap::from([
                (Listing::Liked, liked),
                (Listing::Reposted, reposted),
            ])),
            trouble: Mutex::default(),
            requests: Mutex::default(),
            stalled: Notify::new(),
        }
    }

    fn set(&self, listing: Listing, items: Vec<Value>) {
        self.lists.lock().unwrap().insert(listing, items);
    }

    fn trouble(&self, listing: Listing, page: usize, what: Option<Trouble>) {
        let mut t = self.trouble.lock().unwrap();
        match what {
            Some(what) => t.insert((listing, page), what),
            None => t.remove(&(listing, page)),
        };
    }

    /// The requests so far, and forget them.
    fn take_requests(&self) -> Vec<(Listing, Option<String>)> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

#[async_trait]
impl Source for Scripted {
    fn platform(&self) -> Platform {
        Platform::TikTok
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Api
    }

    async fn fetch(&self, user: &UserRef) -> Result<RawProfile, SourceError> {
        toker_sources::http::collect(self, user, None).await
    }
}

#[async_trait]
impl ApiClient for Scripted {
    async fn fetch_account(&self, user: &UserRef) -> Result<Account, SourceError> {
        let username = user.as_str().trim_start_matches('@').to_lowercase();
        Ok(Account {
            platform: Platform::TikTok,
            key: username.clone(),
            username: username.clone(),
            listings: vec![Listing::Liked, Listing::Reposted],
            raw: json!({"api": "research", "username": username,
                        "response": {"data": {"display_name": "Mila", "follower_count": 5}}}),
            warnings: Vec::new(),
        })
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let (listing, cursor) = (request.listing, request.cursor);
        self.requests
            .lock()
            .unwrap()
            .push((listing, cursor.map(str::to_owned)));
        let index: usize = cursor.map_or(0, |c| c.parse().unwrap());
        let trouble = self.trouble.lock().unwrap().get(&(listing, index)).copied();
        let endpoint = format!("POST /v2/research/user/{listing}/");
        match trouble {
            Some(Trouble::Stall) => {
                self.stalled.notify_one();
                std::future::pending::<()>().await;
            }
            Some(Trouble::Quota) => {
                return Err(SourceError::QuotaExceeded {
                    platform: Platform::TikTok,
                    endpoint,
                    message: "the Research API daily quota is spent; it resets at 00:00 UTC"
                        .to_owned(),
                });
            }
            Some(Trouble::Refuse) => {
                return Err(SourceError::PermissionDenied {
                    platform: Platform::TikTok,
                    endpoint,
                    status: 403,
                    message: "private".to_owned(),
                    hint: "ask them".to_owned(),
                });
            }
            None => {}
        }
        let all = self.lists.lock().unwrap()[&listing].clone();
        let start = index * self.per_page;
        let end = (start + self.per_page).min(all.len());
        let mut items: Vec<Value> = all[start.min(end)..end].to_vec();
        let before = items.len();
        if let Some(max) = request.max_items {
            items.truncate(usize::try_from(max).unwrap());
        }
        let has_more = end < all.len();
        let next_cursor = has_more.then(|| (index + 1).to_string());
        Ok(Page {
            listing,
            item_count: items.len() as u64,
            truncated: items.len() < before,
            raw: json!({"data": {"videos": items, "cursor": index + 1, "has_more": has_more},
                        "error": {"code": "ok"}}),
            next_cursor,
            warnings: Vec::new(),
        })
    }

    fn profile_from_raw(&self, raw: &Value) -> Result<RawProfile, SourceError> {
        toker_sources::tiktok::api::profile_from_raw(raw)
    }

    fn max_items(&self) -> Option<u64> {
        None
    }
}

fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite()];
    if cfg!(feature = "postgres") {
        dbs.extend(TestDb::postgres());
    }
    dbs
}

fn rules() -> ValidationRules {
    ValidationRules::with_min_likes(1)
}

async fn run(
    store: &mut Store,
    client: &Scripted,
    start: Start,
    max_items: Option<u64>,
) -> Result<toker_collect::CollectReport, CollectError> {
    let user = UserRef::new("@Mila.Reyes");
    let rules = rules();
    let request = CollectRequest {
        user: &user,
        start,
        max_items,
        rules: &rules,
        owner: None,
    };
    // Stops when the client stalls.
    let stop = client.stalled.notified();
    collect_api(store, client, &request, &mut NoProgress, stop).await
}

fn liked_ids(store: &mut Store) -> Vec<String> {
    store
        .get_profile_by_key(Platform::TikTok, "mila.reyes")
        .unwrap()
        .profile
        .liked_videos
        .into_iter()
        .map(|v| v.video_id)
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn expected_ids(range: std::ops::Range<u64>) -> Vec<String> {
    sorted(range.map(|n| format!("v{n}")).collect())
}

fn cursors(requests: &[(Listing, Option<String>)], listing: Listing) -> Vec<Option<&str>> {
    requests
        .iter()
        .filter(|(l, _)| *l == listing)
        .map(|(_, c)| c.as_deref())
        .collect()
}

#[tokio::test]
async fn an_interrupted_run_resumes_after_its_last_committed_page() {
    for db in databases() {
        let mut store = Store::open(&db.url).unwrap();
        let client = Scripted::new(videos(0..150), videos(1000..1006));
        client.trouble(Listing::Liked, 2, Some(Trouble::Stall));
        let err = run(&mut store, &client, Start::Fresh, None)
            .await
            .unwrap_err();
        let CollectError::Stopped {
            report: Some(report),
            cause: StopCause::Interrupted,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (report.pages_fetched, report.status),
            (2, RunStatus::Unfinished)
        );
        assert!(err.to_string().contains("2 page(s) committed"), "{err}");
        assert_eq!(
            liked_ids(&mut store).len(),
            60,
            "two committed pages are stored"
        );
        assert_eq!(
            cursors(&client.take_requests(), Listing::Liked),
            [None, Some("1"), Some("2")]
        );

        // A plain run refuses, naming the unfinished run; it asks for nothing.
        let err = run(&mut store, &client, Start::Fresh, None)
            .await
            .unwrap_err();
        assert!(matches!(err, CollectError::Unfinished { .. }), "{err:?}");
        assert!(err.to_string().contains("interrupted"), "{err}");
        assert!(client.take_requests().is_empty());

        client.trouble(Listing::Liked, 2, None);
        let report = run(&mut store, &client, Start::Resume, None).await.unwrap();
        let requests = client.take_requests();
        assert_eq!(
            cursors(&requests, Listing::Liked),
            [Some("2"), Some("3"), Some("4")],
            "pages 1 and 2 are not asked for again"
        );
        assert_eq!(cursors(&requests, Listing::Reposted), [None]);
        assert!(report.resumed && report.marker_moved);
        assert_eq!((report.pages_resumed, report.pages_fetched), (2, 4));
        assert_eq!(report.status, RunStatus::Complete);
        let liked = liked_ids(&mut store);
        assert_eq!(liked.len(), 150, "none twice");
        assert_eq!(sorted(liked), expected_ids(0..150), "none missing");
        assert_eq!(report.items.new, 90 + 6);
        assert!(matches!(
            report.profile.as_ref().unwrap().outcome,
            Written::Updated(_)
        ));
        assert_eq!(store.stats().unwrap().liked_links, 150);
        assert!(
            store
                .unfinished_run(Platform::TikTok, "mila.reyes")
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_daily_quota_stops_cleanly_and_the_run_resumes_the_next_day() {
    for db in databases() {
        let mut store = Store::open(&db.url).unwrap();
        let client = Scripted::new(videos(0..90), videos(1000..1006));
        client.trouble(Listing::Liked, 1, Some(Trouble::Quota));
        let err = run(&mut store, &client, Start::Fresh, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                CollectError::Stopped {
                    cause: StopCause::Source(SourceError::QuotaExceeded { .. }),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("00:00 UTC"), "{err}");
        let unfinished = store
            .unfinished_run(Platform::TikTok, "mila.reyes")
            .unwrap()
            .unwrap();
        assert!(unfinished.stop_reason.unwrap().contains("daily quota"));
        assert_eq!(unfinished.pages, 1);
        client.take_requests();

        // The next day.
        client.trouble(Listing::Liked, 1, None);
        let report = run(&mut store, &client, Start::Resume, None).await.unwrap();
        assert_eq!(
            cursors(&client.take_requests(), Listing::Liked),
            [Some("1"), Some("2")]
        );
        assert_eq!(sorted(liked_ids(&mut store)), expected_ids(0..90));
        assert!(report.marker_moved);
    }
}

#[tokio::test]
async fn since_last_reads_what_is_new_including_what_an_interrupted_run_missed() {
    for db in databases() {
        let mut store = Store::open(&db.url).unwrap();
        let client = Scripted::new(videos(0..60), videos(1000..1006));
        let first = run(&mut store, &client, Start::Fresh, None).await.unwrap();
        assert!(first.marker_moved);
        client.take_requests();

        // 60 new likes arrive at the head of the list; a full run dies after one page.
        let mut grown = videos(100..160);
        grown.extend(videos(0..60));
        client.set(Listing::Liked, grown);
        client.trouble(Listing::Liked, 1, Some(Trouble::Stall));
        run(&mut store, &client, Start::Fresh, None)
            .await
            .unwrap_err();
        let marker = store
            .collection_marker(Platform::TikTok, "mila.reyes")
            .unwrap()
            .unwrap();
        assert_eq!(
            marker.run_id, first.run_id,
            "an interrupted run never moves the marker"
        );
        client.take_requests();
        client.trouble(Listing::Liked, 1, None);

        let report = run(&mut store, &client, Start::SinceLast, None)
            .await
            .unwrap();
        let requests = client.take_requests();
        assert_eq!(
            cursors(&requests, Listing::Liked),
            [None, Some("1"), Some("2")],
            "both new pages, then one page of known items; the last page is not asked for"
        );
        let liked_state = report.listings[0];
        assert_eq!(liked_state.state, ListingState::CaughtUp);
        assert!(report.marker_moved);
        assert_eq!(sorted(liked_ids(&mut store)), {
            let mut all = expected_ids(0..60);
            all.extend(expected_ids(100..160));
            sorted(all)
        });
        let runs = store
            .collection_runs(Platform::TikTok, "mila.reyes")
            .unwrap();
        assert_eq!(runs[1].status, RunStatus::Abandoned);

        // Nothing new: one page per list.
        let again = run(&mut store, &client, Start::SinceLast, None)
            .await
            .unwrap();
        assert_eq!(cursors(&client.take_requests(), Listing::Liked), [None]);
        assert_eq!(again.items.new, 0);
        assert!(matches!(
            again.profile.unwrap().outcome,
            Written::Unchanged(_)
        ));
        assert_eq!(liked_ids(&mut store).len(), 120);
    }
}

#[tokio::test]
async fn re_runs_are_idempotent_and_report_what_changed() {
    let db = TestDb::sqlite();
    let mut store = Store::open(&db.url).unwrap();
    let client = Scripted::new(videos(0..70), videos(1000..1006));
    let first = run(&mut store, &client, Start::Fresh, None).await.unwrap();
    assert!(matches!(
        first.profile.as_ref().unwrap().outcome,
        Written::Created(_)
    ));
    assert_eq!((first.items.new, first.items.unchanged), (76, 0));
    let id = first.profile.unwrap().id;
    let stored = store.get_profile(id).unwrap();

    let second = run(&mut store, &client, Start::Fresh, None).await.unwrap();
    assert!(matches!(
        second.profile.unwrap().outcome,
        Written::Unchanged(_)
    ));
    assert_eq!((second.items.new, second.items.unchanged), (0, 76));
    assert_eq!(store.get_profile(id).unwrap().updated_at, stored.updated_at);
    let stats = store.stats().unwrap();
    assert_eq!((stats.liked_links, stats.shared_links), (70, 6));

    // One video's counts changed: the latest counts are stored, once.
    let mut changed = videos(0..70);
    changed[5] = video(5, 99_999);
    client.set(Listing::Liked, changed);
    let third = run(&mut store, &client, Start::Fresh, None).await.unwrap();
    assert_eq!(third.items_by_list.liked_videos.updated, 1);
    assert_eq!(third.items.unchanged, 75);
    let liked = store.get_profile(id).unwrap().profile.liked_videos;
    assert_eq!(liked.iter().filter(|v| v.video_id == "v5").count(), 1);
    assert_eq!(
        liked.iter().find(|v| v.video_id == "v5").unwrap().likes,
        Some(99_999)
    );
}

#[tokio::test]
async fn bounded_and_refused_lists() {
    let db = TestDb::sqlite();
    let mut store = Store::open(&db.url).unwrap();
    let client = Scripted::new(videos(0..90), videos(1000..1006));
    let bounded = run(&mut store, &client, Start::Fresh, Some(40))
        .await
        .unwrap();
    assert_eq!(bounded.listings[0].state, ListingState::Bounded);
    assert!(
        !bounded.marker_moved,
        "a bounded run did not read every page"
    );
    assert_eq!(liked_ids(&mut store).len(), 40);
    assert!(
        store
            .collection_marker(Platform::TikTok, "mila.reyes")
            .unwrap()
            .is_none()
    );
    client.take_requests();

    client.trouble(Listing::Reposted, 0, Some(Trouble::Refuse));
    let refused = run(&mut store, &client, Start::Fresh, None).await.unwrap();
    assert_eq!(refused.listings[1].state, ListingState::Refused);
    assert!(
        refused
            .warnings
            .iter()
            .any(|w| w.contains("reposted not read"))
    );
    assert!(refused.marker_moved);
    let profile = store
        .get_profile_by_key(Platform::TikTok, "mila.reyes")
        .unwrap()
        .profile;
    assert_eq!(profile.liked_videos.len(), 90);
    assert_eq!(profile.shared_videos.len(), 6, "kept from the run before");
}

#[tokio::test]
async fn restart_abandons_the_unfinished_run_and_a_rejected_profile_is_not_stored() {
    let db = TestDb::sqlite();
    let mut store = Store::open(&db.url).unwrap();
    let client = Scripted::new(videos(0..90), videos(1000..1006));
    client.trouble(Listing::Liked, 1, Some(Trouble::Stall));
    run(&mut store, &client, Start::Fresh, None)
        .await
        .unwrap_err();
    client.trouble(Listing::Liked, 1, None);
    client.take_requests();
    let report = run(&mut store, &client, Start::Restart, None)
        .await
        .unwrap();
    assert_eq!(
        cursors(&client.take_requests(), Listing::Liked),
        [None, Some("1"), Some("2")]
    );
    assert!(!report.resumed);
    let runs = store
        .collection_runs(Platform::TikTok, "mila.reyes")
        .unwrap();
    assert_eq!(
        runs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RunStatus::Abandoned, RunStatus::Complete]
    );

    // Below the likes minimum: the run ends as rejected and nothing is stored.
    let other = TestDb::sqlite();
    let mut store = Store::open(&other.url).unwrap();
    let few = Scripted::new(videos(0..3), Vec::new());
    let user = UserRef::new("mila.reyes");
    let strict = ValidationRules::default();
    let err = collect_api(
        &mut store,
        &few,
        &CollectRequest {
            user: &user,
            start: Start::Fresh,
            max_items: None,
            rules: &strict,
            owner: None,
        },
        &mut NoProgress,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("number_of_likes"), "{err}");
    assert_eq!(store.stats().unwrap().profiles, 0);
    let runs = store
        .collection_runs(Platform::TikTok, "mila.reyes")
        .unwrap();
    assert_eq!(runs[0].status, RunStatus::Rejected);
}
