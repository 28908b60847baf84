//! The API's body extractors: the input (after a first byte choosing the route, platform
//! and content type) is the body of `POST /v1/profiles` or `POST /v1/profiles:batch`,
//! sent as an admin through the real router over a SQLite store. Any 5xx or panic is a
//! finding.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use toker_api::{AppState, Role, ServeConfig, create_api_key, router};
use toker_store::Store;
use tower::ServiceExt;

/// The routes, platforms and content types the first byte picks from.
const ROUTES: [(&str, &str); 6] = [
    ("/v1/profiles?platform=tiktok", "application/json"),
    ("/v1/profiles", "application/json"),
    ("/v1/profiles?platform=instagram", "application/json"),
    ("/v1/profiles:batch?platform=tiktok", "application/json"),
    ("/v1/profiles:batch", "application/x-ndjson"),
    ("/v1/profiles:batch?platform=x", "application/json"),
];

struct App {
    runtime: tokio::runtime::Runtime,
    router: Router,
    admin: String,
}

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let url = toker_fuzz::scratch()
            .join("toker.db")
            .to_string_lossy()
            .into_owned();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let mut config = ServeConfig::for_database(url.clone());
        config.rate_limit_per_minute = None;
        config.auth_failures_per_minute = None;
        config.pool_size = Some(2);
        let state = {
            let _guard = runtime.enter();
            AppState::open(config).expect("the app state")
        };
        let mut store = Store::open(&url).expect("the fuzz database");
        let (admin, _) =
            create_api_key(&mut store, Role::Admin, Some("fuzz")).expect("an admin key");
        App {
            router: router(state),
            runtime,
            admin,
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (uri, content_type) = ROUTES[usize::from(pick) % ROUTES.len()];
    let app = app();
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let (status, reply) = app.runtime.block_on(async {
        let response = app
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let reply = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        (status, reply)
    });
    assert!(
        !status.is_server_error(),
        "{uri} answered {status}: {}",
        String::from_utf8_lossy(&reply)
    );
});
