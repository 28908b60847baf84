//! The OpenAPI 3.1 description, generated from the handlers' annotations.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi};

use crate::dto::{PlatformDoc, VideoDoc};
use crate::problem::{PROBLEM_JSON, ProblemBody, ProblemKind, ProblemViolation};
use crate::routes::{admin, connect, health, insights, jobs, me, metrics, profiles};

/// Declares `$name`, a problem answer (`application/problem+json`, a [`ProblemBody`]) with
/// `$status` and `$description` that several operations share: `responses(..., $name)` in
/// their `#[utoipa::path]` documents it, so its words are written once. The type is never
/// built.
macro_rules! problem_response {
    ($name:ident, $status:tt, $description:tt) => {
        #[doc = concat!("The documented ", stringify!($status), " answer: ", $description, ".")]
        #[derive(utoipa::IntoResponses)]
        #[response(status = $status, description = $description, content_type = "application/problem+json")]
        #[allow(dead_code, reason = "a documentation type: only its IntoResponses impl is used")]
        pub(crate) struct $name($crate::problem::ProblemBody);
    };
}
pub(crate) use problem_response;

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
        (name = "jobs", description = "Long work queued by a request (a refresh): its state, progress and result"),
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
        metrics::Doc::openapi(),
        profiles::Doc::openapi(),
        insights::Doc::openapi(),
        admin::Doc::openapi(),
        connect::Doc::openapi(),
        me::Doc::openapi(),
        jobs::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    CommonResponses.modify(&mut doc);
    crate::dto::require_likes(&mut doc, toker_model::DEFAULT_MIN_LIKES);
    doc
}

/// The document a server with `rules` serves: its `number_of_likes` minimum is the one it
/// enforces (`toker serve --min-likes`).
#[must_use]
pub(crate) fn openapi_for(rules: &toker_model::ValidationRules) -> utoipa::openapi::OpenApi {
    let mut doc = openapi();
    crate::dto::require_likes(&mut doc, rules.min_likes);
    doc
}

/// The error answers many operations share, documented once as components and referred to
/// from every operation they apply to (an operation's own entry for a status, with a more
/// specific description, is kept):
///
/// - 400 where the operation takes parameters or a body (a query or path value of the wrong
///   form, malformed JSON);
/// - 401 and 403 where it needs credentials (none of its security alternatives is
///   anonymous): missing or bad credentials, or a role that may not do this;
/// - 413 and 415 where it reads a body (too large, wrong content type);
/// - 429 and 503 on every `/v1/` operation (rate limits; a busy database or the timeout).
struct CommonResponses;

/// The shared responses: the component name, the kind and the description.
const COMMON: [(&str, ProblemKind, &str); 7] = [
    (
        "BadRequest",
        ProblemKind::BadRequest,
        "A query or path parameter is not what the operation expects, or the body is not \
         well-formed JSON; the detail says which",
    ),
    (
        "Unauthenticated",
        ProblemKind::Unauthenticated,
        "No valid credentials: missing, unknown, wrong, expired and revoked ones get the same answer",
    ),
    (
        "Forbidden",
        ProblemKind::Forbidden,
        "The credentials are valid but may not do this (e.g. a member key asking for an admin \
         operation, or an API key asking for a signed-in person's `/v1/me`)",
    ),
    (
        "PayloadTooLarge",
        ProblemKind::PayloadTooLarge,
        "The body is larger than the server accepts",
    ),
    (
        "UnsupportedMediaType",
        ProblemKind::UnsupportedMediaType,
        "The body's content type is not one this operation reads",
    ),
    (
        "RateLimited",
        ProblemKind::RateLimited,
        "Too many requests; `Retry-After` says in how many seconds to try again",
    ),
    (
        "Unavailable",
        ProblemKind::Unavailable,
        "The database is busy or unreachable, or the request took longer than the server's \
         timeout; nothing was changed",
    ),
];

impl CommonResponses {
    fn response(kind: ProblemKind, description: &str) -> Response {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemBody")))
            .build();
        let mut response = ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, content);
        let header = match kind {
            ProblemKind::Unauthenticated => Some(("WWW-Authenticate", Type::String, "`Bearer`")),
            ProblemKind::RateLimited => Some(("Retry-After", Type::Integer, "Seconds to wait")),
            _ => None,
        };
        if let Some((name, of, description)) = header {
            let header = HeaderBuilder::new()
                .schema(utoipa::openapi::schema::Object::with_type(of))
                .description(Some(description))
                .build();
            response = response.header(name, header);
        }
        response.build()
    }

    /// The component names that apply to `operation` at `path`.
    fn applicable(path: &str, operation: &Operation) -> Vec<&'static str> {
        let mut names = Vec::new();
        let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
        if has_parameters || operation.request_body.is_some() {
            names.push("BadRequest");
        }
        if needs_credentials(operation) {
            names.extend(["Unauthenticated", "Forbidden"]);
        }
        if operation.request_body.is_some() {
            names.extend(["PayloadTooLarge", "UnsupportedMediaType"]);
        }
        if path.starts_with("/v1/") {
            names.extend(["RateLimited", "Unavailable"]);
        }
        names
    }
}

/// Whether every security alternative of `operation` names a scheme (none is `{}`).
fn needs_credentials(operation: &Operation) -> bool {
    let Some(security) = &operation.security else {
        return false;
    };
    let alternatives = serde_json::to_value(security).unwrap_or_default();
    alternatives.as_array().is_some_and(|alternatives| {
        !alternatives.is_empty()
            && alternatives
                .iter()
                .all(|a| a.as_object().is_some_and(|a| !a.is_empty()))
    })
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, kind, description) in COMMON {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(Self::response(kind, description)));
        }
        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for name in Self::applicable(path, operation) {
                    let Some((_, kind, _)) = COMMON.iter().find(|(n, _, _)| *n == name) else {
                        continue;
                    };
                    let status = kind.status().as_u16().to_string();
                    operation
                        .responses
                        .responses
                        .entry(status)
                        .or_insert_with(|| {
                            RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
                        });
                }
            }
        }
    }
}
