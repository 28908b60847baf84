//! Connecting accounts logs what happened (routes, statuses, the principal) but never a
//! platform token, an authorization code, a state, a session token or a client secret.
//! Reads the binary's shared log capture (`LogCapture::install`).

use crate::connect_support;

use connect_support::{Auth, Flow, SECRETS, session_of, succeeded};
use toker_testkit::LogCapture;

#[tokio::test]
async fn no_token_code_state_or_session_is_ever_logged() {
    let captured = LogCapture::install();

    let f = Flow::sqlite().await;
    f.replay.set_expires_in(Some(0));
    let mut states = Vec::new();
    let mut sessions = Vec::new();
    // X and TikTok through OAuth (cookie and bearer sessions), with a renewal.
    for (platform, query) in [("x", ""), ("tiktok", "?session=bearer")] {
        let (authorize, cookie) = f.start(platform, query, None).await;
        states.push(
            authorize
                .split("state=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned(),
        );
        states.push(cookie.split_once('=').unwrap().1.to_owned());
        let back = f.consent(&authorize, None).await;
        let reply = f.call("GET", &back, None, Some(&cookie)).await;
        assert!(reply.status.is_success(), "{}", reply.body);
        let session = session_of(&reply);
        sessions.push(match &session {
            Auth::Bearer(t) => t.clone(),
            Auth::Cookie(c) => c.split_once('=').unwrap().1.to_owned(),
        });
        let refreshed = f
            .call("POST", "/v1/me/refresh?wait=20", Some(&session), None)
            .await;
        assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
        f.call("GET", "/v1/me/export", Some(&session), None).await;
    }
    // Instagram: proven without a profile (its API has no likes), then the export upload.
    let instagram = f.connect("instagram", "", None).await;
    assert_eq!(instagram.status.as_u16(), 200, "{}", instagram.body);
    let lea = session_of(&instagram);
    let uploaded = f.import("instagram", "legacy.zip", Some(&lea)).await;
    assert_eq!(succeeded(&uploaded)["outcome"], "created");
    // Failures: an expired code, a replayed state.
    let (authorize, cookie) = f.start("x", "", None).await;
    let back = f.consent(&authorize, Some("expire")).await;
    f.call("GET", &back, None, Some(&cookie)).await;
    f.call("GET", &back, None, Some(&cookie)).await;

    let logs = captured.text();
    assert!(
        logs.contains("account connected"),
        "connects are logged: {logs}"
    );
    assert!(logs.contains("status=201"), "{logs}");
    for secret in SECRETS {
        assert!(!logs.contains(secret), "{secret:?} was logged");
    }
    for code in f.codes() {
        assert!(!logs.contains(&code), "the code {code:?} was logged");
    }
    for value in states.iter().chain(&sessions) {
        assert!(
            !logs.contains(value.as_str()),
            "a state, cookie or session was logged"
        );
    }
    assert!(
        !logs.contains("renewed-"),
        "renewed tokens are not logged either"
    );
    f.assert_no_secret_answered();
}
