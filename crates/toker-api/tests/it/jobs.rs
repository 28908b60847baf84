//! Long work through the queue: a person's refresh answers 202 with a job at once, the
//! in-process worker runs it on connections of its own (the request pool stays free while
//! the platform is slow), `GET /v1/jobs/{id}` follows it, and only its owner (or an admin
//! key) sees it.

use std::time::{Duration, Instant};

use axum::http::header;
use toker_api::{Role, create_api_key};

use crate::connect_support::{Auth, Flow, session_of};

#[tokio::test]
async fn a_refresh_is_a_job_that_holds_no_request_connection_while_the_platform_is_slow() {
    // One pooled connection: a refresh that held it would block every other request.
    let f = Flow::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.pool_size = Some(1);
    })
    .await;
    let connected = f.connect("x", "", None).await;
    assert!(connected.status.is_success(), "{}", connected.body);
    let jonas = session_of(&connected);
    f.replay.set_delay(Duration::from_millis(400));

    let queued = f.call("POST", "/v1/me/refresh", Some(&jonas), None).await;
    assert_eq!(queued.status.as_u16(), 202, "{}", queued.body);
    let id = queued.body["id"].as_i64().unwrap();
    assert_eq!(queued.body["kind"], "refresh");
    assert!(
        queued.body["state"] == "queued" || queued.body["state"] == "running",
        "{}",
        queued.body
    );
    assert_eq!(
        queued.headers[header::LOCATION].to_str().unwrap(),
        format!("/v1/jobs/{id}")
    );
    // Asked again while it is unfinished: the same job, not a second refresh.
    let again = f.call("POST", "/v1/me/refresh", Some(&jonas), None).await;
    assert_eq!(again.body["id"], id, "{}", again.body);

    // While the worker waits on the platform, the person's other requests are answered.
    let mut running = false;
    for _ in 0..100 {
        let job = f
            .call("GET", &format!("/v1/jobs/{id}"), Some(&jonas), None)
            .await;
        if job.body["state"] == "running" {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(running, "the worker never took the job");
    let asked = Instant::now();
    let me = f.call("GET", "/v1/me", Some(&jonas), None).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    let still = f
        .call("GET", &format!("/v1/jobs/{id}"), Some(&jonas), None)
        .await;
    assert_eq!(
        still.body["state"],
        "running",
        "GET /v1/me was answered only after the refresh ended ({:?})",
        asked.elapsed()
    );
    assert_eq!(still.status.as_u16(), 202);

    // Following it to its end: the result is the refresh report.
    let done = f
        .call("GET", &format!("/v1/jobs/{id}?wait=20"), Some(&jonas), None)
        .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
    assert_eq!(done.body["state"], "succeeded", "{}", done.body);
    assert_eq!(done.body["attempts"], 1);
    let account = &done.body["result"]["accounts"][0];
    assert_eq!(account["platform"], "x", "{account}");
    assert!(
        account["outcome"] == "updated" || account["outcome"] == "unchanged",
        "{account}"
    );
    assert!(done.body["finished_at"].is_string());
}

#[tokio::test]
async fn a_job_is_seen_only_by_its_owner_and_admins() {
    let f = Flow::sqlite().await;
    let connected = f.connect("x", "", None).await;
    let jonas = session_of(&connected);
    let queued = f
        .call("POST", "/v1/me/refresh?wait=20", Some(&jonas), None)
        .await;
    assert_eq!(queued.status.as_u16(), 200, "{}", queued.body);
    let id = queued.body["id"].as_i64().unwrap();

    let other = f.connect("tiktok", "?session=bearer", None).await;
    let bob = session_of(&other);
    f.call("GET", &format!("/v1/jobs/{id}"), Some(&bob), None)
        .await
        .assert_problem(404, "not-found");
    f.call("GET", "/v1/jobs/999999", Some(&jonas), None)
        .await
        .assert_problem(404, "not-found");
    f.call("GET", "/v1/jobs/nope", Some(&jonas), None)
        .await
        .assert_problem(400, "bad-request");
    f.call(
        "GET",
        &format!("/v1/jobs/{id}?wait=soon"),
        Some(&jonas),
        None,
    )
    .await
    .assert_problem(400, "bad-request");
    f.call("GET", &format!("/v1/jobs/{id}"), None, None)
        .await
        .assert_problem(401, "unauthenticated");

    let mut store = f.store();
    let (member, _) = create_api_key(&mut store, Role::Member, None).unwrap();
    f.call(
        "GET",
        &format!("/v1/jobs/{id}"),
        Some(&Auth::Bearer(member)),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    let (admin, _) = create_api_key(&mut store, Role::Admin, None).unwrap();
    let seen = f
        .call(
            "GET",
            &format!("/v1/jobs/{id}"),
            Some(&Auth::Bearer(admin)),
            None,
        )
        .await;
    assert_eq!(seen.status.as_u16(), 200, "{}", seen.body);
    assert_eq!(seen.body["state"], "succeeded");

    // Erasing the person erases their jobs.
    let erased = f.call("DELETE", "/v1/me", Some(&jonas), None).await;
    assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
    assert!(store.get_job(id).unwrap().is_none());
}

#[tokio::test]
async fn connected_accounts_are_refreshed_on_a_schedule_planned_in_the_database() {
    let period = Duration::from_secs(4);
    let f = Flow::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.refresh_period = period;
    })
    .await;
    let connected = f.connect("x", "", None).await;
    assert!(connected.status.is_success(), "{}", connected.body);
    let principal = connected.body["principal"].as_str().unwrap().to_owned();
    let mut store = f.store();
    let mine = |store: &mut toker_store::Store| -> Vec<toker_store::Job> {
        store
            .list_jobs(Some(toker_api::jobs::REFRESH))
            .unwrap()
            .into_iter()
            .filter(|j| j.owner.as_deref() == Some(principal.as_str()))
            .collect()
    };
    // The planner (looking every half period) plans a first run within one period; each
    // run that ends plans the next one a period later.
    let started = Instant::now();
    while mine(&mut store)
        .iter()
        .filter(|j| j.state == toker_store::JobState::Succeeded)
        .count()
        < 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "two scheduled refreshes did not run: {:?}",
            mine(&mut store)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jobs = mine(&mut store);
    let unfinished: Vec<_> = jobs.iter().filter(|j| !j.state.is_finished()).collect();
    assert_eq!(unfinished.len(), 1, "one run planned at a time: {jobs:?}");
    let last = jobs
        .iter()
        .filter(|j| j.state == toker_store::JobState::Succeeded)
        .max_by_key(|j| j.finished_at)
        .unwrap();
    let gap = (unfinished[0].run_after - last.finished_at.unwrap())
        .to_std()
        .unwrap();
    assert!(
        gap >= period.mul_f64(0.85) && gap <= period.mul_f64(1.15),
        "the next run is planned a period (±10 %) after the last: {gap:?}"
    );
    // Each run read the platform with the person's token.
    let reads = f
        .replay
        .log()
        .iter()
        .filter(|l| l.path == "/x/2/users/me")
        .count();
    assert!(
        reads >= 3,
        "connect and two refreshes read the account: {reads}"
    );
    // One planner, however often it ran.
    let planners = store.list_jobs(Some(toker_api::jobs::PLAN)).unwrap();
    assert_eq!(
        planners.iter().filter(|j| !j.state.is_finished()).count(),
        1,
        "{planners:?}"
    );
}

#[tokio::test]
async fn the_refresh_page_of_a_job_follows_it_for_its_owner_only() {
    // A page waits up to half the request timeout for the job to end: 2 s here.
    let f = Flow::with(toker_store::testing::TestDb::sqlite(), |c| {
        c.request_timeout = Duration::from_secs(4);
    })
    .await;
    let connected = f.connect("x", "", None).await;
    let jonas = session_of(&connected);
    assert!(matches!(jonas, Auth::Cookie(_)), "a browser's connect");
    // The refresh reads four pages of 1.5 s each: still running at the first look.
    f.replay.set_delay(Duration::from_millis(1500));
    let queued = f.call("POST", "/v1/me/refresh", Some(&jonas), None).await;
    assert_eq!(queued.status.as_u16(), 202, "{}", queued.body);
    let id = queued.body["id"].as_i64().unwrap();
    let page = format!("/me/jobs/{id}");

    let first = f.call("GET", &page, Some(&jonas), None).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    let html = first.body.as_str().unwrap();
    // Where it is, and a link that looks again.
    assert!(html.contains("<h1>Refreshing</h1>"), "{html}");
    assert!(
        html.contains("It goes on if you leave this page."),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{page}\"")), "{html}");
    f.replay.set_delay(Duration::ZERO);
    // Looked at again until it ends (each look waits up to 2 s): the refresh's table.
    let mut ended = String::new();
    for _ in 0..8 {
        let again = f.call("GET", &page, Some(&jonas), None).await;
        let html = again.body.as_str().unwrap().to_owned();
        if html.contains("<h1>Refreshed</h1>") {
            ended = html;
            break;
        }
    }
    assert!(ended.contains("<th scope=\"row\">X "), "{ended}");
    assert!(
        ended.contains("<td>updated</td>") || ended.contains("<td>unchanged</td>"),
        "{ended}"
    );

    // Somebody else's page of it is not found, and needs a session at all.
    let other = f.connect("tiktok", "", None).await;
    let bob = session_of(&other);
    let refused = f.call("GET", &page, Some(&bob), None).await;
    assert_eq!(refused.status.as_u16(), 404, "{}", refused.body);
    let signed_out = f.call("GET", &page, None, None).await;
    assert_ne!(signed_out.status.as_u16(), 200, "{}", signed_out.body);
}
