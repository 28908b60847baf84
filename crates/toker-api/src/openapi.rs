//! The OpenAPI 3.1 description, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{PlatformDoc, VideoDoc};
use crate::problem::{ProblemBody, ProblemViolation};
use crate::routes::{admin, connect, health, insights, me, profiles};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Toker API",
        description = "Store, summarise and match social-media interest profiles. \
            Errors are application/problem+json (RFC 9457) with a stable `type` URI.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(ProblemBody, ProblemViolation, PlatformDoc, VideoDoc)),
    modifiers(&BearerKey),
    tags(
        (name = "profiles", description = "Create, list, read, replace and delete profiles"),
        (name = "insights", description = "Summaries and matches"),
        (name = "admin", description = "Refit the vectors; database numbers"),
        (name = "health", description = "Probes and this document"),
        (name = "connect", description = "Connect a social account (OAuth or a data export) and sign in"),
        (name = "me", description = "The signed-in person's data: see, export, refresh, erase"),
    )
)]
struct ApiDoc;

/// Declares the `api_key` bearer scheme the operations refer to.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("tok_<key_id>_<secret>".to_owned());
        scheme.description = Some(
            "An API key from `toker apikey create`, as `Authorization: Bearer <key>`. Role \
             `admin`: every profile, refits and numbers. Role `member`: creates, reads, replaces \
             and deletes only its own profiles, reads numbers. Operations that list only \
             `api_key` refuse a session with 403."
                .to_owned(),
        );
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

/// The whole document: every route module's part merged.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for part in [
        health::Doc::openapi(),
        profiles::Doc::openapi(),
        insights::Doc::openapi(),
        admin::Doc::openapi(),
        connect::Doc::openapi(),
        me::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}
