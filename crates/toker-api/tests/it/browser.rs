//! The web pages in a real browser: Debian's Chromium, headless, driven over chromedriver
//! with fantoccini, against `toker_api` serving on a socket and the platform replay. It
//! walks what a person does: the start page → "Connect with X" (the replay's consent) →
//! "You" with the stored profile and its chart → "Your matches" → download → erase (after
//! the confirmation) → signed out with the data gone; then an Instagram export uploaded
//! with the start page's form; then a consent the person denies. Every page is checked by
//! axe-core (no serious or critical violation) and must be under 100 KB.
//!
//! Without `chromium` and `chromedriver` on the `PATH` the test is skipped with a note,
//! except under `CI=true`, where it fails (`.ci/run` installs them). The screenshots of
//! "You" and "Your matches" in `docs/` are written when missing or when
//! `TOKER_SCREENSHOTS=1` (their timestamps change every run: rewriting them always would
//! churn git).

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use toker_api::ServeConfig;
use toker_model::Listing;
use toker_model::Platform;
use toker_store::Store;
use toker_store::testing::TestDb;

use crate::connect_support::{connect_config, expected, platforms::Replay};

/// The largest page, in bytes.
const PAGE_LIMIT: u64 = 100 * 1024;
/// axe-core, vendored (`fixtures/axe/README.md`).
const AXE: &str = include_str!("fixtures/axe/axe.min.js");
/// Chromium's flags: headless, and nothing that reaches the network by itself.
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1000,1400",
];

/// A program on the `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A free port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver and a Chromium session of it, both ended on drop.
struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` (with a note) when Chromium or chromedriver is missing, unless `CI=true`.
    async fn start() -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
        else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium or chromedriver is missing: apt-get install chromium chromium-driver"
            );
            eprintln!(
                "NOTE: the browser test is skipped: chromium and chromedriver are not on the PATH \
                 (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = free_port();
        // Its own process group: on drop the whole group (chromedriver and the Chromium it
        // started) is ended, also when the test failed before closing the session.
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver did not start a Chromium session: {e}"),
            }
        };
        Some(Browser {
            client: Some(client),
            driver,
            _profile: profile,
        })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Toker on a socket of its own, connecting against `replay`; `authorize_query` is added
/// to X's consent URL (`consent=deny` plays a refusal).
async fn serve(db: &TestDb, replay: &Replay, authorize_query: &str) -> String {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut connect = connect_config(replay);
    connect.public_url = Some(base.clone());
    connect.cookie_secure = false;
    for app in &mut connect.apps {
        if app.platform == Platform::X {
            app.endpoints.authorize_url.push_str(authorize_query);
        }
    }
    let mut config = ServeConfig::for_database(db.url.clone());
    config.bind = format!("127.0.0.1:{port}");
    config.rate_limit_per_minute = None;
    config.auth_failures_per_minute = None;
    config.pool_size = Some(2);
    config.connect = Some(connect);
    let server = toker_api::bind(config).await.unwrap();
    assert_eq!(
        server.local_addr(),
        base[7..].parse::<SocketAddr>().unwrap()
    );
    tokio::spawn(server.run(std::future::pending()));
    base
}

/// Three people who like what the replay's X person likes, stored and vectorized.
fn people_like_jonas(db: &TestDb) -> Vec<String> {
    let template: toker_model::Profile =
        serde_json::from_value(expected("x", "expected/api_profile.json")).unwrap();
    let mut store = Store::open(&db.url).unwrap();
    let names: Vec<String> = ["ada.codes", "ben_builds", "chiara.dev"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for (i, name) in names.iter().enumerate() {
        let mut p = template.clone();
        p.user_id = format!("fan{i}");
        p.username.clone_from(name);
        // Fewer of the same likes each: alike, and less so down the list.
        p.liked_videos
            .truncate(template.liked_videos.len() * (4 - i) / 5);
        p.shared_videos.clear();
        let raw = serde_json::to_value(&p).unwrap();
        store
            .create_profile(Platform::TikTok, &p, &raw, None)
            .unwrap();
    }
    toker_collect::vectorize_store(&mut store, toker_processing::VectorizerConfig::default())
        .unwrap();
    names
}

/// The page's path (the address bar, without origin).
async fn path(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}{query}", url.path())
}

/// Waits until the browser's path satisfies `arrived` (`what` names it for the failure).
async fn wait_for(client: &Client, what: &str, arrived: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = path(client).await;
        if arrived(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "still at {now}, not {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the browser shows `expected` (a path).
async fn wait_for_path(client: &Client, expected: &str) {
    wait_for(client, expected, |now| now == expected).await;
}

/// The text the page shows.
async fn text(client: &Client) -> String {
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The page's text once it shows `needle` (a form that posts to its own address changes
/// no path to wait for), or after 10 s.
async fn text_showing(client: &Client, needle: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let now = text(client).await;
        if now.contains(needle) || started.elapsed() > std::time::Duration::from_secs(10) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Checks the page a person sees now: no secret in its address, under the size limit,
/// no serious or critical accessibility violation. Returns its size in bytes.
async fn check_page(client: &Client, name: &str) -> u64 {
    let address = path(client).await;
    for leak in ["code=", "state=", "tks_", "token"] {
        assert!(
            !address.contains(leak),
            "{name}: the address {address} carries {leak}"
        );
    }
    let size = client
        .execute(
            "return performance.getEntriesByType('navigation')[0].encodedBodySize;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert!(size > 0 && size < PAGE_LIMIT, "{name}: {size} bytes");
    let html = client.source().await.unwrap();
    assert!(!html.contains("<script"), "{name}: a page has no script");
    assert!(
        !html.contains(" style="),
        "{name}: a page has no inline style"
    );
    assert_accessible(client, name).await;
    println!("page {name}: {size} bytes, axe: no serious or critical violation");
    size
}

/// Writes a screenshot of the page to `docs/<file>` when it is missing or when
/// `TOKER_SCREENSHOTS=1`.
async fn screenshot(client: &Client, file: &str) {
    let target = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(file);
    if target.exists() && std::env::var("TOKER_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(&target, png).unwrap();
    println!("wrote {}", target.display());
}

async fn click_link(client: &Client, text: &str) {
    client
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn click_button(client: &Client, text: &str) {
    client
        .find(Locator::XPath(&format!(
            "//button[normalize-space(.)='{text}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("no button {text:?}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_connects_sees_their_profile_and_matches_and_erases_it_in_a_real_browser() {
    let started = Instant::now();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let client = browser.client();
    let replay = Replay::start("127.0.0.1:0").await;
    let db = TestDb::sqlite();
    let base = serve(&db, &replay, "").await;
    let fans = people_like_jonas(&db);
    let mut sizes = Vec::new();

    // Start → "Connect with X": the replay's consent sends the browser back, and the
    // callback sends it on to "You".
    client.goto(&format!("{base}/")).await.unwrap();
    let start = text(client).await;
    assert!(start.contains("What Toker keeps, and why"), "{start}");
    assert!(start.contains("How long, and how to erase it"), "{start}");
    sizes.push(("/", check_page(client, "start").await));
    fits_a_phone(client, "start").await;
    click_link(client, "Connect with X").await;
    wait_for_path(client, "/me").await;
    let you = text(client).await;
    assert!(you.contains("X @jonasweber_dev"), "{you}");
    assert!(you.contains("signing in on the platform"), "{you}");
    assert!(you.contains("Your top categories"), "{you}");
    let charts = client.find_all(Locator::Css("svg.chart")).await.unwrap();
    assert_eq!(charts.len(), 2, "categories and hashtags");
    let stored = {
        let mut store = Store::open(&db.url).unwrap();
        let profiles = store.load_profiles(&Listing::default()).unwrap();
        profiles
            .into_iter()
            .find(|p| p.platform == Platform::X)
            .expect("the X profile is stored")
    };
    let summary = toker_processing::summarize(&stored.profile);
    let chart = charts[0].text().await.unwrap();
    let (top, count) = &summary.top_categories[0];
    assert!(
        chart.contains(top.as_str()) && chart.contains(&count.to_string()),
        "{chart}"
    );
    sizes.push(("/me", check_page(client, "you").await));
    screenshot(client, "web-you.png").await;
    fits_a_phone(client, "you").await;

    // "Your matches": the people stored before, with what they share.
    click_link(client, "See your matches").await;
    wait_for_path(client, "/me/matches").await;
    let matches = text(client).await;
    for fan in &fans {
        assert!(matches.contains(&format!("@{fan}")), "{fan}: {matches}");
    }
    assert!(matches.contains("% alike"), "{matches}");
    sizes.push(("/me/matches", check_page(client, "matches").await));
    screenshot(client, "web-matches.png").await;
    fits_a_phone(client, "matches").await;

    // Refresh: the API's refresh with the stored token; "You" then shows the run.
    click_link(client, "Back to your page").await;
    wait_for_path(client, "/me").await;
    click_button(client, "Refresh from the platforms").await;
    wait_for_path(client, "/me/refresh").await;
    let refreshed = text(client).await;
    assert!(refreshed.contains("unchanged"), "{refreshed}");
    sizes.push(("/me/refresh", check_page(client, "refreshed").await));
    click_link(client, "Back to your page").await;
    wait_for_path(client, "/me").await;
    assert!(
        text(client).await.contains("Complete, "),
        "the refresh's run"
    );

    // Download: the link is the API's export, which the session cookie opens.
    let href = client
        .find(Locator::LinkText("Download everything (JSON)"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(href.as_deref(), Some("/v1/me/export"));
    let session = client.get_named_cookie("toker_session").await.unwrap();
    let export: Value = reqwest::Client::new()
        .get(format!("{base}/v1/me/export"))
        .header("cookie", format!("toker_session={}", session.value()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        export["profiles"][0]["profile"]["username"],
        "jonasweber_dev"
    );

    // Erase, after the confirmation: signed out, and nothing of the person is left.
    click_link(client, "Erase everything…").await;
    wait_for_path(client, "/me/erase").await;
    sizes.push(("/me/erase", check_page(client, "erase").await));
    click_button(client, "Erase everything").await;
    wait_for_path(client, "/me/erase").await;
    let erased = text_showing(client, "is erased").await;
    assert!(
        erased.contains("is erased, and you are signed out"),
        "{erased}"
    );
    assert!(erased.contains("Profiles: 1"), "{erased}");
    check_page(client, "erased").await;
    assert!(
        client.get_named_cookie("toker_session").await.is_err(),
        "the cookie is gone"
    );
    client.goto(&format!("{base}/me")).await.unwrap();
    let after = text(client).await;
    assert!(after.contains("Authentication required"), "{after}");
    check_page(client, "signed out").await;
    let mut store = Store::open(&db.url).unwrap();
    let left = store.load_profiles(&Listing::default()).unwrap();
    assert!(
        left.iter().all(|p| p.platform != Platform::X),
        "the X profile is erased"
    );
    assert_eq!(left.len(), fans.len());

    // The Instagram export, uploaded with the start page's form.
    client.delete_all_cookies().await.unwrap();
    let archive = toker_testkit::fixtures().join("instagram/export/legacy.zip");
    upload_with_the_form(client, &base, "instagram", &archive).await;
    wait_for_path(client, "/me").await;
    let uploaded = text(client).await;
    assert!(uploaded.contains("Instagram @lea.cooks"), "{uploaded}");
    assert!(
        uploaded.contains("an upload you have not proven yours"),
        "{uploaded}"
    );
    assert!(uploaded.contains("not proven yours yet"), "{uploaded}");
    check_page(client, "you (instagram upload)").await;

    // A TikTok export with too few likes: the import's page says why nothing was stored.
    let few = tempfile::tempdir().unwrap();
    let archive = few.path().join("few_likes.zip");
    std::fs::write(
        &archive,
        toker_testkit::zip_folder("tiktok/export/few_likes"),
    )
    .unwrap();
    upload_with_the_form(client, &base, "tiktok", &archive).await;
    wait_for(client, "the import's page", |now| {
        now.starts_with("/me/jobs/")
    })
    .await;
    let refused = text_showing(client, "could not be imported").await;
    assert!(refused.contains("at least 100 likes you gave"), "{refused}");
    assert!(
        refused.contains("Nothing of this upload was stored"),
        "{refused}"
    );
    sizes.push(("/me/jobs/{id}", check_page(client, "failed import").await));

    // A refused consent: the page says what happened and what to do, in the API's words.
    client.delete_all_cookies().await.unwrap();
    let refusing = serve(&db, &replay, "?consent=deny").await;
    client.goto(&format!("{refusing}/")).await.unwrap();
    click_link(client, "Connect with X").await;
    wait_for_path(client, "/problem").await;
    let denied = text(client).await;
    assert!(denied.contains("Access not granted"), "{denied}");
    assert!(
        denied.contains("X says access was not granted (access_denied"),
        "{denied}"
    );
    assert!(denied.contains("What to do next"), "{denied}");
    sizes.push(("/problem", check_page(client, "denied consent").await));

    browser.close().await;
    let wall = started.elapsed();
    for (page, size) in &sizes {
        println!("size {page}: {size} bytes");
    }
    println!("browser test wall time: {:.1} s", wall.as_secs_f64());
}

/// Chooses `archive` in the start page's upload form of `platform` and sends it.
async fn upload_with_the_form(client: &Client, base: &str, platform: &str, archive: &Path) {
    client.goto(&format!("{base}/")).await.unwrap();
    client
        .find(Locator::Id(&format!("archive-{platform}")))
        .await
        .unwrap()
        .send_keys(&archive.display().to_string())
        .await
        .unwrap();
    let name = platform.parse::<Platform>().unwrap().display_name();
    click_button(client, &format!("Upload {name} export")).await;
}

/// Checks that the page needs no sideways scrolling at a phone's width (390 CSS pixels).
async fn fits_a_phone(client: &Client, name: &str) {
    let (width, height) = client.get_window_size().await.unwrap();
    client.set_window_size(390, 844).await.unwrap();
    let wider = client
        .execute(
            "return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));",
            vec![],
        )
        .await
        .unwrap();
    client
        .set_window_size(
            u32::try_from(width).unwrap(),
            u32::try_from(height).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(wider, json!([]), "{name}: wider than a phone");
}

/// Runs axe-core in the page and fails on any serious or critical violation.
async fn assert_accessible(client: &Client, name: &str) {
    client.execute(AXE, vec![]).await.unwrap();
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
                .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                    help: v.help, nodes: v.nodes.map(n => n.html).slice(0, 3) }))))
                .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e) }]));",
            vec![],
        )
        .await
        .unwrap();
    let bad: Vec<&Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(bad.is_empty(), "{name}: accessibility violations {bad:#?}");
}
