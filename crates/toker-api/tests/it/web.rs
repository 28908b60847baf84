//! The web pages in-process: their security headers, CSRF on every form, the session role,
//! problems as pages in the API's words, and a browser's connect ending on `/me`.

use axum::body::Body;
use axum::http::{Request, header};

use crate::common::Reply;
use crate::connect_support::{Auth, Flow, session_of, set_cookie};

/// A page request with `cookies` (`name=value; …`), asking for HTML as a browser does.
fn page(method: &str, uri: &str, cookies: &str) -> axum::http::request::Builder {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    request
}

fn html(reply: &Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

/// The value of the first hidden `csrf` field of a page.
fn token_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

fn cookie_of(auth: &Auth) -> String {
    match auth {
        Auth::Cookie(c) => c.clone(),
        Auth::Bearer(_) => panic!("a cookie session"),
    }
}

/// A person connected with X (cookie session), their session and CSRF cookies, and a
/// token of the `/me/erase` page.
async fn signed_in(f: &Flow) -> (String, String) {
    let connected = f.connect("x", "", None).await;
    assert_eq!(connected.status.as_u16(), 201, "{}", connected.body);
    let session = cookie_of(&session_of(&connected));
    let confirm = f
        .send(
            page("GET", "/me/erase", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(confirm.status.as_u16(), 200, "{}", confirm.body);
    let csrf = set_cookie(&confirm, "toker_csrf").expect("a CSRF cookie");
    let token = token_of(html(&confirm));
    (format!("{session}; {csrf}"), token)
}

fn form(token: Option<&str>) -> Body {
    Body::from(
        token
            .map(|t| format!("csrf={}", urlencode(t)))
            .unwrap_or_default(),
    )
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post_form(f: &Flow, uri: &str, cookies: &str, token: Option<&str>) -> Reply {
    f.send(
        page("POST", uri, cookies)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(token))
            .unwrap(),
    )
    .await
}

/// How many profiles are stored, unproven uploads included.
fn profiles(f: &Flow) -> usize {
    let mut store = f.store();
    let all = toker_model::Listing {
        unproven: true,
        ..toker_model::Listing::default()
    };
    store.load_profiles(&all).unwrap().len()
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_the_stylesheet_is_served_from_the_binary() {
    let f = Flow::sqlite().await;
    let start = f
        .send(page("GET", "/", "").body(Body::empty()).unwrap())
        .await;
    assert_eq!(start.status.as_u16(), 200);
    assert!(start.content_type().starts_with("text/html"));
    let policy = start.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("default-src 'none'") && !policy.contains("unsafe-inline"));
    assert_eq!(start.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(start.headers[header::REFERRER_POLICY], "no-referrer");
    let body = html(&start);
    for platform in ["TikTok", "Instagram", "X"] {
        assert!(body.contains(&format!("Connect with {platform}")), "{body}");
        assert!(
            body.contains(&format!("Upload {platform} export")),
            "{body}"
        );
    }
    assert!(!body.contains("<script") && !body.contains(" style="));
    assert!(
        set_cookie(&start, "toker_csrf").is_some(),
        "the forms' CSRF cookie"
    );
    let css = f
        .send(
            page("GET", "/assets/toker.css", "")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(css.status.as_u16(), 200);
    assert!(css.content_type().starts_with("text/css"));
    assert!(html(&css).contains(":focus-visible"));
}

#[tokio::test]
async fn a_form_without_its_token_or_with_a_wrong_one_changes_nothing() {
    let f = Flow::sqlite().await;
    let (cookies, token) = signed_in(&f).await;
    assert_eq!(profiles(&f), 1);
    for (what, sent) in [
        ("no token", None),
        ("a wrong token", Some("not-a-token")),
        (
            "the cookie's value itself",
            Some(cookies.rsplit('=').next().unwrap()),
        ),
    ] {
        for uri in ["/me/erase", "/me/sign-out", "/me/refresh"] {
            let refused = post_form(&f, uri, &cookies, sent).await;
            assert_eq!(refused.status.as_u16(), 400, "{uri} with {what}");
            assert!(html(&refused).contains("safety token"), "{uri} with {what}");
        }
    }
    // The right token, but without the CSRF cookie (another browser's token).
    let session_only = cookies.split("; ").next().unwrap();
    let refused = post_form(&f, "/me/erase", session_only, Some(&token)).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert_eq!(profiles(&f), 1, "nothing was erased");
    let me = f
        .send(page("GET", "/me", &cookies).body(Body::empty()).unwrap())
        .await;
    assert_eq!(me.status.as_u16(), 200, "still signed in");

    // With it, the erasure happens and signs the person out.
    let erased = post_form(&f, "/me/erase", &cookies, Some(&token)).await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
    assert!(html(&erased).contains("Profiles: 1"), "{}", erased.body);
    let cleared = erased
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("toker_session=;"));
    assert!(cleared, "the session cookie is cleared");
    assert_eq!(profiles(&f), 0);
}

#[tokio::test]
async fn sign_out_ends_the_session_and_keeps_the_data() {
    let f = Flow::sqlite().await;
    let (cookies, token) = signed_in(&f).await;
    let out = post_form(&f, "/me/sign-out", &cookies, Some(&token)).await;
    assert_eq!(out.status.as_u16(), 303);
    assert_eq!(out.headers[header::LOCATION], "/");
    let me = f
        .send(page("GET", "/me", &cookies).body(Body::empty()).unwrap())
        .await;
    assert_eq!(me.status.as_u16(), 401);
    assert!(html(&me).contains("Authentication required"), "{}", me.body);
    assert_eq!(profiles(&f), 1, "the data stays");
}

#[tokio::test]
async fn the_pages_answer_a_person_only_and_problems_in_the_apis_words() {
    let f = Flow::sqlite().await;
    let anonymous = f
        .send(page("GET", "/me", "").body(Body::empty()).unwrap())
        .await;
    assert_eq!(anonymous.status.as_u16(), 401);
    assert!(anonymous.content_type().starts_with("text/html"));
    let api = f.call("GET", "/v1/me", None, None).await;
    let detail = api.assert_problem(401, "unauthenticated");
    assert!(
        html(&anonymous).contains(&escape(&detail)),
        "{}",
        anonymous.body
    );
    // An API key is not a person: its pages are refused as its /v1/me is.
    let mut store = f.store();
    let (key, _) = toker_api::create_api_key(&mut store, toker_api::Role::Admin, None).unwrap();
    let keyed = f
        .send(
            page("GET", "/me/matches", "")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(keyed.status.as_u16(), 403, "{}", keyed.body);
    assert!(
        html(&keyed).contains("an API key has no /v1/me"),
        "{}",
        keyed.body
    );
}

#[tokio::test]
async fn a_browsers_connect_ends_on_its_page_and_an_api_clients_stays_json() {
    let f = Flow::sqlite().await;
    let (authorize, binding) = f.start("x", "", None).await;
    let back = f.consent(&authorize, None).await;
    let browser = f
        .send(page("GET", &back, &binding).body(Body::empty()).unwrap())
        .await;
    assert_eq!(browser.status.as_u16(), 303, "{}", browser.body);
    assert_eq!(browser.headers[header::LOCATION], "/me");
    let session = set_cookie(&browser, "toker_session").expect("signed in");
    let me = f
        .send(page("GET", "/me", &session).body(Body::empty()).unwrap())
        .await;
    assert_eq!(me.status.as_u16(), 200);
    assert!(html(&me).contains("@jonasweber_dev"), "{}", me.body);
    assert!(html(&me).contains("<svg"), "the chart");

    let (authorize, binding) = f.start("x", "", None).await;
    let back = f.consent(&authorize, Some("deny")).await;
    let away = f
        .send(page("GET", &back, &binding).body(Body::empty()).unwrap())
        .await;
    // Away from the callback's address (its state), to a page of its own.
    assert_eq!(away.status.as_u16(), 303, "{}", away.body);
    assert_eq!(away.headers[header::LOCATION], "/problem");
    let carried = set_cookie(&away, "toker_problem").expect("the problem, sealed");
    let denied = f
        .send(
            page("GET", "/problem", &carried)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(denied.status.as_u16(), 403);
    // Shown once; a forged cookie shows nothing.
    let cleared = denied
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("toker_problem=;"));
    assert!(cleared, "the problem's cookie is cleared");
    let forged = f
        .send(
            page("GET", "/problem", "toker_problem=made-up")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status.as_u16(), 404, "{}", forged.body);
    assert!(
        html(&denied).contains("Access not granted"),
        "{}",
        denied.body
    );
    assert!(
        html(&denied).contains("approve the access"),
        "{}",
        denied.body
    );
    // Without Accept: text/html, the same answer as before: problem+json.
    let (authorize, binding) = f.start("x", "", None).await;
    let back = f.consent(&authorize, Some("deny")).await;
    let api = f.call("GET", &back, None, Some(&binding)).await;
    api.assert_problem(403, "consent-denied");
    f.assert_no_secret_answered();
}

/// A `multipart/form-data` body of the start page's upload form.
fn upload_form(token: Option<&str>, archive: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----tokerboundary7";
    let mut body = Vec::new();
    if let Some(token) = token {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"export.zip\"\r\nContent-Type: application/zip\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(archive);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn the_upload_form_needs_its_token_and_a_bad_archive_says_what_to_do() {
    let f = Flow::sqlite().await;
    let start = f
        .send(page("GET", "/", "").body(Body::empty()).unwrap())
        .await;
    let csrf = set_cookie(&start, "toker_csrf").unwrap();
    let token = token_of(html(&start));
    let archive =
        std::fs::read(toker_testkit::fixtures().join("instagram/export/legacy.zip")).unwrap();
    let send = |token: Option<String>, bytes: Vec<u8>| {
        let (content_type, body) = upload_form(token.as_deref(), &bytes);
        page("POST", "/upload/instagram", &csrf)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let refused = f.send(send(None, archive.clone())).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
    assert!(html(&refused).contains("safety token"));
    assert_eq!(profiles(&f), 0);

    let broken = f
        .send(send(Some(token.clone()), b"not a zip at all".to_vec()))
        .await;
    assert!(broken.status.is_client_error(), "{}", broken.body);
    assert!(broken.content_type().starts_with("text/html"));
    let api = f
        .upload_bytes(
            "instagram",
            b"not a zip at all".to_vec(),
            "application/zip",
            "",
            None,
        )
        .await;
    let detail = api.body["detail"].as_str().unwrap();
    assert_eq!(broken.status, api.status);
    assert!(
        html(&broken).contains(&escape(detail)),
        "{detail}\n{}",
        broken.body
    );
    assert!(html(&broken).contains("What to do next"));

    assert_eq!(imports(&f), 0, "nothing refused is queued");

    // The upload is queued and the browser follows its import, signed in.
    let uploaded = f.send(send(Some(token), archive)).await;
    assert_eq!(uploaded.status.as_u16(), 303, "{}", uploaded.body);
    let job = uploaded.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(job.starts_with("/me/jobs/"), "{job}");
    let session = set_cookie(&uploaded, "toker_session").expect("signed in");
    assert_eq!(imports(&f), 1);
    // Once the import is done, its page is the person's page, which shows the profile.
    let followed = f
        .send(page("GET", &job, &session).body(Body::empty()).unwrap())
        .await;
    assert_eq!(followed.status.as_u16(), 303, "{}", followed.body);
    assert_eq!(followed.headers[header::LOCATION], "/me");
    assert_eq!(profiles(&f), 1);
    let me = f
        .send(page("GET", "/me", &session).body(Body::empty()).unwrap())
        .await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert!(html(&me).contains("Instagram @lea.cooks"), "{}", me.body);
    assert!(
        !html(&me).contains("http-equiv"),
        "nothing under way: the page stays"
    );
    // Nobody else follows it.
    let (other, _) = signed_in(&f).await;
    let foreign = f
        .send(page("GET", &job, &other).body(Body::empty()).unwrap())
        .await;
    assert_eq!(foreign.status.as_u16(), 404, "{}", foreign.body);
}

/// The export imports queued so far.
fn imports(f: &Flow) -> usize {
    f.store().list_jobs(Some("import-export")).unwrap().len()
}

#[tokio::test]
async fn an_import_under_way_is_a_page_that_looks_again_by_itself() {
    let f = Flow::with(toker_store::testing::TestDb::sqlite(), |c| {
        // The page waits half the request timeout at most for the import to end.
        c.request_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let (session, _) = signed_in(&f).await;
    let me = f
        .call("GET", "/v1/me", Some(&Auth::Cookie(session.clone())), None)
        .await;
    let principal = me.body["principal"].as_str().unwrap().to_owned();
    // An import no worker takes yet: due in an hour.
    let payload = serde_json::json!({ "platform": "tiktok", "principal": principal });
    let job = f
        .store()
        .enqueue_job(&toker_store::NewJob {
            kind: "import-export",
            payload: &payload,
            input: Some(b"PK\x05\x06"),
            owner: Some(&principal),
            max_attempts: 1,
            run_after: chrono::Utc::now() + chrono::Duration::hours(1),
            dedup_key: None,
        })
        .unwrap()
        .job;
    // Its page and the person's page say so, and look again by themselves.
    let job_page = format!("/me/jobs/{}", job.id);
    for (uri, says) in [
        (
            job_page.as_str(),
            "Your TikTok upload is being imported as soon as it is its turn",
        ),
        (
            "/me",
            "Your TikTok upload is being imported; this page looks again by itself",
        ),
    ] {
        let shown = f
            .send(page("GET", uri, &session).body(Body::empty()).unwrap())
            .await;
        assert_eq!(shown.status.as_u16(), 200, "{uri}: {}", shown.body);
        let text = html(&shown);
        assert!(text.contains(says), "{uri}: {text}");
        assert!(
            text.contains(r#"<meta http-equiv="refresh" content="2">"#),
            "{uri}: {text}"
        );
        assert!(
            text.contains(&format!(r#"href="{job_page}""#)),
            "{uri}: {text}"
        );
    }
}

/// `text` as maud escapes it.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn too_few_likes_and_a_rate_limit_are_pages_that_say_what_to_do() {
    let f = Flow::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.connect.as_mut().unwrap().rate_limit_per_minute = Some(1);
    })
    .await;
    let start = f
        .send(page("GET", "/", "").body(Body::empty()).unwrap())
        .await;
    let csrf = set_cookie(&start, "toker_csrf").unwrap();
    let (content_type, body) = upload_form(
        Some(&token_of(html(&start))),
        &toker_testkit::zip_folder("tiktok/export/few_likes"),
    );
    let queued = f
        .send(
            page("POST", "/upload/tiktok", &csrf)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(queued.status.as_u16(), 303, "{}", queued.body);
    let job = queued.headers[header::LOCATION].to_str().unwrap();
    let session = set_cookie(&queued, "toker_session").expect("signed in");
    // The import's page says why it failed and what to do, and looks no more.
    let few = f
        .send(page("GET", job, &session).body(Body::empty()).unwrap())
        .await;
    assert_eq!(few.status.as_u16(), 200, "{}", few.body);
    let text = html(&few);
    assert!(text.contains("Your upload could not be imported"), "{text}");
    assert!(text.contains("at least 100 likes you gave"), "{text}");
    assert!(text.contains("number_of_likes"), "{text}");
    assert!(text.contains("connect another platform"), "{text}");
    assert!(text.contains("Nothing of this upload was stored"), "{text}");
    assert!(!text.contains("http-equiv"), "{text}");
    assert_eq!(profiles(&f), 0);

    // The connect start's budget: one a minute here.
    let first = f
        .send(
            page("GET", "/v1/connect/x", "")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(first.status.as_u16(), 302);
    let limited = f
        .send(
            page("GET", "/v1/connect/x", "")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(limited.status.as_u16(), 429, "{}", limited.body);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    let text = html(&limited);
    assert!(text.contains("Too many requests"), "{text}");
    assert!(text.contains("1 per minute"), "{text}");
    assert!(text.contains("then try again"), "{text}");
    assert!(
        limited
            .headers
            .contains_key(header::CONTENT_SECURITY_POLICY)
    );
}
