//! What anyone can reach without credentials is bounded per client address: connect starts
//! and callbacks, export uploads (per address, and server-wide: uploads at once and bytes
//! spooled at once), and failed sign-ins, which are refused before the database is asked.
//! Wrong secrets never lock out the right one. Addresses are the peer's (`ConnectInfo`):
//! in-process requests carry one explicitly, socket tests get the server's.

use crate::common;
use crate::connect_support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use common::{Reply, TestApp};
use connect_support::platforms::Replay;
use connect_support::{Flow, connect_config};
use toker_api::ServeConfig;
use toker_store::testing::TestDb;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// `request` as if it came from `ip`.
fn from(ip: &str, mut request: Request<Body>) -> Request<Body> {
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

fn get(uri: &str, bearer: Option<&str>, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().uri(uri);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn upload(bytes: &'static [u8]) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/v1/connect/x/export")
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(bytes))
        .unwrap()
}

fn retry_after(reply: &Reply) -> u64 {
    reply.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn connect_starts_and_callbacks_are_limited_per_client_address() {
    let f = Flow::with(TestDb::sqlite(), |c| {
        c.connect.as_mut().unwrap().rate_limit_per_minute = Some(3);
    })
    .await;
    for _ in 0..3 {
        let reply = f
            .send(from("10.0.0.1", get("/v1/connect/x", None, None)))
            .await;
        assert_eq!(reply.status.as_u16(), 302, "{}", reply.body);
    }
    let refused = f
        .send(from("10.0.0.1", get("/v1/connect/x", None, None)))
        .await;
    let detail = refused.assert_problem(429, "rate-limited");
    assert!(detail.contains("3 per minute"), "{detail}");
    assert!(retry_after(&refused) >= 1);
    // The callback shares the start's budget.
    f.send(from(
        "10.0.0.1",
        get("/v1/connect/x/callback?code=c&state=s", None, None),
    ))
    .await
    .assert_problem(429, "rate-limited");
    // Another address is not affected, nor another IPv6 network; one /64 is one client.
    let other = f
        .send(from("10.0.0.2", get("/v1/connect/x", None, None)))
        .await;
    assert_eq!(other.status.as_u16(), 302, "{}", other.body);
    for host in [
        "[2001:db8:1:1::1]",
        "[2001:db8:1:1::2]",
        "[2001:db8:1:1::3]",
    ] {
        let reply = f.send(from(host, get("/v1/connect/x", None, None))).await;
        assert_eq!(reply.status.as_u16(), 302, "{}", reply.body);
    }
    f.send(from(
        "[2001:db8:1:1::ffff]",
        get("/v1/connect/x", None, None),
    ))
    .await
    .assert_problem(429, "rate-limited");
    let v6 = f
        .send(from("[2001:db8:1:2::1]", get("/v1/connect/x", None, None)))
        .await;
    assert_eq!(v6.status.as_u16(), 302, "{}", v6.body);
}

#[tokio::test]
async fn export_uploads_are_limited_per_client_address() {
    let f = Flow::with(TestDb::sqlite(), |c| {
        c.connect.as_mut().unwrap().upload_rate_limit_per_minute = Some(2);
    })
    .await;
    for _ in 0..2 {
        let reply = f.send(from("10.0.0.1", upload(b"not a zip"))).await;
        reply.assert_problem(422, "validation");
    }
    let detail = f
        .send(from("10.0.0.1", upload(b"not a zip")))
        .await
        .assert_problem(429, "rate-limited");
    assert!(
        detail.contains("export uploads") && detail.contains("2 per minute"),
        "{detail}"
    );
    f.send(from("10.0.0.2", upload(b"not a zip")))
        .await
        .assert_problem(422, "validation");
}

/// A server on a real socket with connecting enabled against a replay, tweaked.
async fn serve(replay: &Replay, db: &TestDb, tweak: impl FnOnce(&mut ServeConfig)) -> String {
    let mut config = ServeConfig {
        bind: "127.0.0.1:0".to_owned(),
        connect: Some(connect_config(replay)),
        ..ServeConfig::for_database(db.url.clone())
    };
    tweak(&mut config);
    let server = toker_api::bind(config).await.unwrap();
    let addr = server.local_addr().to_string();
    tokio::spawn(server.run(std::future::pending()));
    addr
}

/// Starts an upload that declares `declared` bytes, sends `sent` of them and then holds
/// the connection open (until the stream is dropped).
async fn hold_upload(addr: &str, declared: usize, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/connect/x/export HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/zip\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'P'; sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

async fn upload_over_socket(addr: &str, bytes: Vec<u8>) -> (u16, String) {
    let reply = reqwest::Client::new()
        .post(format!("http://{addr}/v1/connect/x/export"))
        .header("content-type", "application/zip")
        .body(bytes)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// Uploads until the answer is `status` (the held upload reaches the server meanwhile).
async fn upload_until(addr: &str, bytes: &[u8], status: u16) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (got, body) = upload_over_socket(addr, bytes.to_vec()).await;
        if got == status {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {status}; last {got} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn uploads_past_the_server_wide_cap_are_refused_until_one_ends() {
    let replay = Replay::start("127.0.0.1:0").await;
    let db = TestDb::sqlite();
    let addr = serve(&replay, &db, |c| {
        let connect = c.connect.as_mut().unwrap();
        connect.max_concurrent_uploads = 1;
        connect.upload_rate_limit_per_minute = None;
    })
    .await;
    let held = hold_upload(&addr, 1000, 10).await;
    let body = upload_until(&addr, b"not a zip", 503).await;
    assert!(
        body.contains("export uploads") && body.contains("(1)"),
        "{body}"
    );
    drop(held);
    // Once the held upload broke off, its slot is free again.
    upload_until(&addr, b"not a zip", 422).await;
}

#[tokio::test]
async fn uploads_past_the_spool_budget_are_refused() {
    let replay = Replay::start("127.0.0.1:0").await;
    let db = TestDb::sqlite();
    let addr = serve(&replay, &db, |c| {
        let connect = c.connect.as_mut().unwrap();
        connect.export_limit = 1000;
        connect.upload_spool_limit = 1000;
        connect.max_concurrent_uploads = 4;
        connect.upload_rate_limit_per_minute = None;
    })
    .await;
    // 600 bytes declared (and so reserved) by an upload in progress…
    let held = hold_upload(&addr, 600, 100).await;
    // …leave no room for another 600.
    let body = upload_until(&addr, &[b'P'; 600], 503).await;
    assert!(body.contains("spool budget of 1000 bytes"), "{body}");
    // A small one still fits.
    let (status, body) = upload_over_socket(&addr, b"not a zip".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    drop(held);
    upload_until(&addr, &[b'P'; 600], 422).await;
}

#[tokio::test]
async fn the_server_meters_connect_starts_by_the_peer_address() {
    let replay = Replay::start("127.0.0.1:0").await;
    let db = TestDb::sqlite();
    let addr = serve(&replay, &db, |c| {
        c.connect.as_mut().unwrap().rate_limit_per_minute = Some(2);
    })
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = || client.get(format!("http://{addr}/v1/connect/x")).send();
    assert_eq!(start().await.unwrap().status(), 302);
    assert_eq!(start().await.unwrap().status(), 302);
    let refused = start().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
}

/// A well-formed key that no one holds.
const BOGUS_KEY: &str = "tok_zzzzzzzzzzzz_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn";
/// A well-formed session token that no one holds.
const BOGUS_SESSION: &str = "tks_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq";

#[tokio::test]
async fn a_flood_of_bogus_credentials_is_refused_before_the_database() {
    let t = TestApp::with(TestDb::sqlite(), |c| c.auth_failures_per_minute = Some(5));
    // Alice's key works once from the flooding address before the flood (remembered).
    let ok = t
        .send(from("10.0.0.1", get("/v1/profiles", Some(&t.alice), None)))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    for _ in 0..5 {
        t.send(from("10.0.0.1", get("/v1/profiles", Some(BOGUS_KEY), None)))
            .await
            .assert_problem(401, "unauthenticated");
    }
    let refused = t
        .send(from("10.0.0.1", get("/v1/profiles", Some(BOGUS_KEY), None)))
        .await;
    let detail = refused.assert_problem(429, "rate-limited");
    assert!(detail.contains("5 per minute"), "{detail}");
    assert!(retry_after(&refused) >= 1);
    // A key this server verified before still works from there; one it never saw waits.
    let ok = t
        .send(from("10.0.0.1", get("/v1/profiles", Some(&t.alice), None)))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    t.send(from("10.0.0.1", get("/v1/profiles", Some(&t.bob), None)))
        .await
        .assert_problem(429, "rate-limited");
    let ok = t
        .send(from("10.0.0.2", get("/v1/profiles", Some(&t.bob), None)))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);

    // Break the database: a lookup would now fail with 500, yet the flooding address is
    // still answered 429, for keys, sessions and no credentials alike: nothing was looked up.
    let conn = rusqlite::Connection::open(&t.db.url).unwrap();
    conn.execute_batch("DROP TABLE api_keys; DROP TABLE sessions;")
        .unwrap();
    drop(conn);
    for request in [
        get("/v1/profiles", Some(BOGUS_KEY), None),
        get("/v1/me", Some(BOGUS_SESSION), None),
        get(
            "/v1/me",
            None,
            Some(&format!("toker_session={BOGUS_SESSION}")),
        ),
        get("/v1/profiles", None, None),
    ] {
        t.send(from("10.0.0.1", request))
            .await
            .assert_problem(429, "rate-limited");
    }
    let looked_up = t
        .send(from("10.0.0.3", get("/v1/profiles", Some(BOGUS_KEY), None)))
        .await;
    assert_eq!(
        looked_up.status.as_u16(),
        500,
        "another address is looked up (and the broken database shows): {}",
        looked_up.body
    );
}

#[tokio::test]
async fn wrong_secrets_for_a_key_id_never_lock_out_its_right_secret() {
    // With the per-address failure budget on: the guesser is slowed, the owner is not.
    let t = TestApp::with(TestDb::sqlite(), |c| c.auth_failures_per_minute = Some(5));
    let (key_id, _) = t.alice["tok_".len()..].split_once('_').unwrap();
    let wrong = format!("tok_{key_id}_{}", "W".repeat(40));
    let mut answers = Vec::new();
    for _ in 0..20 {
        let reply = t
            .send(from("10.0.0.66", get("/v1/profiles", Some(&wrong), None)))
            .await;
        answers.push(reply.status.as_u16());
    }
    assert_eq!(&answers[..5], &[401; 5]);
    assert!(answers[5..].iter().all(|s| *s == 429), "{answers:?}");
    let ok = t
        .send(from("10.0.0.7", get("/v1/profiles", Some(&t.alice), None)))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);

    // Without any failure budget, twenty wrong secrets from one address lock nothing out,
    // not even from that address.
    let t = TestApp::with(TestDb::sqlite(), |_| {});
    let (key_id, _) = t.bob["tok_".len()..].split_once('_').unwrap();
    let wrong = format!("tok_{key_id}_{}", "W".repeat(40));
    for _ in 0..20 {
        t.send(from("10.0.0.66", get("/v1/profiles", Some(&wrong), None)))
            .await
            .assert_problem(401, "unauthenticated");
    }
    let ok = t
        .send(from("10.0.0.66", get("/v1/profiles", Some(&t.bob), None)))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
}

#[tokio::test]
async fn a_configured_proxy_header_names_the_client_and_is_ignored_otherwise() {
    let forwarded = |value: &str| {
        let mut request = get("/v1/profiles", Some(BOGUS_KEY), None);
        request
            .headers_mut()
            .insert("x-forwarded-for", value.parse().unwrap());
        from("10.0.0.1", request)
    };
    // Behind a proxy: the last address in its header is the client.
    let t = TestApp::with(TestDb::sqlite(), |c| {
        c.auth_failures_per_minute = Some(2);
        c.client_ip_header = Some("x-forwarded-for".to_owned());
    });
    for _ in 0..2 {
        t.send(forwarded("203.0.113.5"))
            .await
            .assert_problem(401, "unauthenticated");
    }
    t.send(forwarded("203.0.113.5"))
        .await
        .assert_problem(429, "rate-limited");
    t.send(forwarded("198.51.100.1, 203.0.113.5"))
        .await
        .assert_problem(429, "rate-limited");
    t.send(forwarded("203.0.113.6"))
        .await
        .assert_problem(401, "unauthenticated");
    // Without the setting, a client cannot pick its address by sending the header.
    let t = TestApp::with(TestDb::sqlite(), |c| c.auth_failures_per_minute = Some(2));
    for value in ["203.0.113.5", "203.0.113.6"] {
        t.send(forwarded(value))
            .await
            .assert_problem(401, "unauthenticated");
    }
    t.send(forwarded("203.0.113.7"))
        .await
        .assert_problem(429, "rate-limited");
}

/// Two replicas on one database: a client address that used up the connect limit on one
/// is refused by the other within a sync or two, when the limits are shared; each
/// process holds its own limit when they are not.
async fn two_replicas_meter_one_address(db: &TestDb, shared: Option<bool>) -> u16 {
    let replay = Replay::start("127.0.0.1:0").await;
    let tweak = |c: &mut ServeConfig| {
        c.connect.as_mut().unwrap().rate_limit_per_minute = Some(4);
        c.shared_limits = shared;
        c.workers = Some(0);
    };
    let a = serve(&replay, db, tweak).await;
    let b = serve(&replay, db, tweak).await;
    // The shared counters are per minute: start early enough in one.
    while chrono::Utc::now().timestamp() % 60 > 45 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = |addr: &str| client.get(format!("http://{addr}/v1/connect/x")).send();
    for _ in 0..4 {
        assert_eq!(start(&a).await.unwrap().status(), 302);
    }
    assert_eq!(start(&a).await.unwrap().status(), 429);
    // Both replicas sync every second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let other = start(&b).await.unwrap();
    let status = other.status().as_u16();
    if status == 429 {
        let wait: u64 = other.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let body = other.text().await.unwrap();
        assert!(body.contains("4 per minute"), "{body}");
    }
    status
}

#[tokio::test]
async fn shared_limits_hold_across_replicas_on_sqlite_when_asked() {
    let db = TestDb::sqlite();
    assert_eq!(two_replicas_meter_one_address(&db, Some(true)).await, 429);
    // Not shared: the other replica has its own allowance.
    let db = TestDb::sqlite();
    assert_eq!(two_replicas_meter_one_address(&db, Some(false)).await, 302);
}

#[tokio::test]
async fn limits_hold_across_replicas_on_postgres_by_default() {
    if let Some(db) = TestDb::postgres() {
        assert_eq!(two_replicas_meter_one_address(&db, None).await, 429);
    }
}
