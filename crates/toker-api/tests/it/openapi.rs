//! The OpenAPI document is valid OpenAPI 3.1 and describes exactly the routes served.

use crate::common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::Value;

/// Every route the router serves, as (method, path).
const ROUTES: [(&str, &str); 25] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("get", "/v1/profiles"),
    ("post", "/v1/profiles"),
    ("post", "/v1/profiles:batch"),
    ("post", "/v1/profiles:generate"),
    ("get", "/v1/profiles/{id}"),
    ("put", "/v1/profiles/{id}"),
    ("delete", "/v1/profiles/{id}"),
    ("get", "/v1/profiles/{id}/summary"),
    ("get", "/v1/profiles/{id}/matches"),
    ("post", "/v1/vectorize"),
    ("get", "/v1/stats"),
    ("get", "/v1/connect/{platform}"),
    ("get", "/v1/connect/{platform}/callback"),
    ("post", "/v1/connect/{platform}/export"),
    ("get", "/v1/me"),
    ("delete", "/v1/me"),
    ("get", "/v1/me/export"),
    ("get", "/v1/me/matches"),
    ("post", "/v1/me/refresh"),
    ("delete", "/v1/me/session"),
    ("get", "/v1/jobs/{id}"),
];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                ops.insert((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let doc = toker_api::openapi();
    let text = doc.to_pretty_json().unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert!(
        json["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        json["openapi"]
    );
    assert_eq!(json["info"]["title"], "Toker API");
    assert!(
        json["info"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );

    // A typed OpenAPI 3.1 reader accepts it whole.
    let spec = oas3::from_json(&text).unwrap();
    assert!(spec.openapi.starts_with("3.1."));
    assert_eq!(spec.paths.as_ref().map(|p| p.len()), Some(21));

    // Every reference resolves to a component.
    let mut refs = Vec::new();
    collect_refs(&json, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let (kind, name) = r
            .strip_prefix("#/components/")
            .and_then(|r| r.split_once('/'))
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            ["schemas", "responses"].contains(&kind),
            "{r} is not a schema or a response"
        );
        assert!(json["components"][kind].get(name).is_some(), "dangling {r}");
    }

    // Operations are uniquely named, answer something, and say how to authenticate.
    let mut ids = BTreeSet::new();
    for (method, path) in documented(&json) {
        let op = &json["paths"][&path][&method];
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{method} {path}"
        );
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
        let secured = op.get("security").is_some();
        // `/v1/…` and `/metrics` (an admin key's unless the server opens it).
        let needs_key = path.starts_with("/v1/") || path == "/metrics";
        assert_eq!(secured, needs_key, "{method} {path}");
    }
    assert_eq!(
        json["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn the_document_covers_every_route_and_only_routes() {
    let t = TestApp::sqlite();
    let served = t.call("GET", "/openapi.json", None, None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(
        served.body,
        serde_json::to_value(toker_api::openapi()).unwrap()
    );

    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented(&served.body), expected);

    // Each documented operation is routed: no "no route" 404 and no 405.
    let id = t.create(&t.admin, common::profile("1")).await;
    for (method, path) in &expected {
        let uri = path.replace("{id}", &id.to_string());
        let body = (method == "put" || method == "post").then(|| common::profile("2"));
        let reply = t
            .call(&method.to_uppercase(), &uri, Some(&t.admin), body)
            .await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let unrouted = reply.status == StatusCode::NOT_FOUND
            && reply.body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("no route"));
        assert!(!unrouted, "{method} {path}: {}", reply.body);
    }
    // The check above can tell: an undocumented path is "no route".
    let reply = t
        .call("GET", "/v1/undocumented", Some(&t.admin), None)
        .await;
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("no route")
    );
}

#[test]
fn problem_bodies_are_documented_with_their_required_fields() {
    let json = serde_json::to_value(toker_api::openapi()).unwrap();
    let problem = &json["components"]["schemas"]["ProblemBody"];
    let required: Vec<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in ["type", "title", "status", "detail"] {
        assert!(required.contains(&field), "{field}");
    }
    assert!(problem["properties"].get("violations").is_some());
}

/// The statuses an operation documents, resolving shared component responses.
fn statuses(doc: &Value, method: &str, path: &str) -> BTreeSet<String> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} has no responses"))
        .keys()
        .cloned()
        .collect()
}

/// Whether some security alternative of the operation is anonymous (`{}`).
fn anonymous(op: &Value) -> bool {
    op["security"].as_array().is_none_or(|alternatives| {
        alternatives
            .iter()
            .any(|a| a.as_object().is_some_and(serde_json::Map::is_empty))
    })
}

#[test]
fn every_operation_documents_the_errors_it_can_answer() {
    let doc = serde_json::to_value(toker_api::openapi()).unwrap();
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let got = statuses(&doc, &method, &path);
        let mut expected: Vec<&str> = Vec::new();
        if !anonymous(op) {
            expected.extend(["401", "403"]);
        }
        if op.get("parameters").is_some() || op.get("requestBody").is_some() {
            expected.push("400");
        }
        if op.get("requestBody").is_some() {
            expected.extend(["413", "415"]);
        }
        if path.starts_with("/v1/") {
            expected.extend(["429", "503"]);
        }
        if path.contains("{id}") || path.contains("{platform}") {
            expected.push("404");
        }
        for status in expected {
            assert!(
                got.contains(status),
                "{method} {path} does not document {status}: {got:?}"
            );
        }
        // Every error response is problem+json with the documented body, directly or
        // through a shared component.
        for (status, response) in op["responses"].as_object().unwrap() {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let response = match response["$ref"].as_str() {
                Some(r) => {
                    let name = r.strip_prefix("#/components/responses/").unwrap();
                    &doc["components"]["responses"][name]
                }
                None => response,
            };
            assert_eq!(
                response["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/ProblemBody",
                "{method} {path} {status}"
            );
        }
    }
}

fn param<'a>(doc: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

#[test]
fn limits_enums_and_required_parameters_are_in_the_schema() {
    let doc = serde_json::to_value(toker_api::openapi()).unwrap();
    let limit = &param(&doc, "get", "/v1/profiles", "limit")["schema"];
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&1.into(), &500.into())
    );
    let top = &param(&doc, "get", "/v1/profiles/{id}/matches", "top")["schema"];
    assert_eq!((&top["minimum"], &top["maximum"]), (&1.into(), &100.into()));
    let schemas = &doc["components"]["schemas"];
    let count = &schemas["GenerateRequest"]["properties"]["count"];
    assert_eq!(
        (&count["minimum"], &count["maximum"]),
        (&1.into(), &1000.into())
    );
    let profile = &schemas["ProfileDoc"];
    assert_eq!(profile["properties"]["number_of_likes"]["minimum"], 100);
    let required = profile["required"].as_array().unwrap();
    for field in ["user_id", "username", "number_of_likes"] {
        assert!(required.iter().any(|r| r == field), "{field}");
    }
    assert_eq!(profile["properties"]["user_id"]["maxLength"], 256);

    for path in ["/v1/connect/{platform}", "/v1/connect/{platform}/export"] {
        let method = if path.ends_with("export") {
            "post"
        } else {
            "get"
        };
        let session = &param(&doc, method, path, "session")["schema"];
        let name = session["$ref"].as_str().unwrap();
        let enumerated = &schemas[name.rsplit('/').next().unwrap()]["enum"];
        assert!(
            enumerated
                .as_array()
                .is_some_and(|e| e.contains(&"bearer".into())),
            "{path}: {session}"
        );
    }
    let state = param(&doc, "get", "/v1/connect/{platform}/callback", "state");
    assert_eq!(state["required"], true);
    assert_eq!(state["schema"]["minLength"], 1);
    // The create route needs a platform; the batch judges each record, so there it may be left out.
    assert_eq!(
        param(&doc, "post", "/v1/profiles", "platform")["required"],
        true
    );
    assert_eq!(
        param(&doc, "post", "/v1/profiles:batch", "platform")["required"],
        false
    );
}

#[tokio::test]
async fn the_served_document_states_the_servers_minimum_of_likes() {
    let t = TestApp::with(toker_store::testing::TestDb::sqlite(), |c| c.min_likes = 5);
    let served = t.call("GET", "/openapi.json", None, None).await;
    let likes =
        &served.body["components"]["schemas"]["ProfileDoc"]["properties"]["number_of_likes"];
    assert_eq!(likes["minimum"], 5, "{likes}");
    // And the server takes what the document allows.
    let mut profile = common::profile("few");
    profile["number_of_likes"] = 5.into();
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=tiktok",
            Some(&t.admin),
            Some(profile),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[tokio::test]
async fn an_empty_batch_is_a_422_naming_the_body_as_documented() {
    let t = TestApp::sqlite();
    let doc = serde_json::to_value(toker_api::openapi()).unwrap();
    assert!(statuses(&doc, "post", "/v1/profiles:batch").contains("422"));
    for body in ["[]", "", "  \n"] {
        let reply = t
            .raw(
                "POST",
                "/v1/profiles:batch?platform=tiktok",
                Some(&t.admin),
                Some(body),
                Some("application/json"),
            )
            .await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.violation_paths(), ["$"], "{body:?}: {}", reply.body);
    }
    let reply = t
        .raw("POST", "/v1/profiles:batch", Some(&t.admin), None, None)
        .await;
    reply.assert_problem(422, "validation");
}

#[tokio::test]
async fn answers_are_the_documented_ones() {
    let t = TestApp::sqlite();
    let doc = serde_json::to_value(toker_api::openapi()).unwrap();
    // Each (method, path as documented, uri, key, body) answers a status the operation
    // documents.
    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
    let cases: [Case<'_>; 9] = [
        ("get", "/v1/profiles", "/v1/profiles", None, None),
        ("get", "/v1/stats", "/v1/stats", None, None),
        (
            "get",
            "/v1/profiles/{id}",
            "/v1/profiles/x",
            Some(&t.admin),
            None,
        ),
        (
            "get",
            "/v1/profiles",
            "/v1/profiles?limit=0",
            Some(&t.admin),
            None,
        ),
        (
            "post",
            "/v1/vectorize",
            "/v1/vectorize",
            Some(&t.alice),
            None,
        ),
        (
            "post",
            "/v1/vectorize",
            "/v1/vectorize",
            Some(&t.admin),
            Some("{"),
        ),
        ("get", "/v1/me", "/v1/me", Some(&t.admin), None),
        (
            "delete",
            "/v1/me/session",
            "/v1/me/session",
            Some(&t.admin),
            None,
        ),
        (
            "post",
            "/v1/profiles:generate",
            "/v1/profiles:generate",
            Some(&t.admin),
            Some("[\"x\", 5]"),
        ),
    ];
    for (method, path, uri, key, body) in cases {
        let reply = t
            .raw(
                &method.to_uppercase(),
                uri,
                key,
                body,
                Some("application/json"),
            )
            .await;
        assert!(reply.status.is_client_error(), "{uri}: {}", reply.status);
        assert!(
            statuses(&doc, method, path).contains(reply.status.as_str()),
            "{method} {uri} answered {} which {path} does not document",
            reply.status
        );
    }
}

#[tokio::test]
async fn optional_bodies_read_null_and_whole_floats_as_the_schema_does() {
    let t = TestApp::sqlite();
    t.create(&t.admin, common::profile("1")).await;
    // `null` is the documented "no settings" of a refit.
    let reply = t
        .raw(
            "POST",
            "/v1/vectorize",
            Some(&t.admin),
            Some("null"),
            Some("application/json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // `2.0` is the integer 2, as JSON Schema reads it; `2.5` is not.
    let reply = t
        .raw(
            "POST",
            "/v1/profiles:generate",
            Some(&t.admin),
            Some(r#"{"platform": "x", "count": 2.0}"#),
            Some("application/json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 2);
    let reply = t
        .raw(
            "POST",
            "/v1/profiles:generate",
            Some(&t.admin),
            Some(r#"{"platform": "x", "count": 2.5}"#),
            Some("application/json"),
        )
        .await;
    reply.assert_problem(422, "validation");
    let mut profile = common::profile("3");
    profile["followers_count"] = serde_json::json!(12.0);
    let reply = t
        .call(
            "POST",
            "/v1/profiles?platform=tiktok",
            Some(&t.admin),
            Some(profile),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["profile"]["followers_count"], 12);
}

/// The schema a property refers to, resolved in `doc`.
fn resolved<'a>(doc: &'a Value, schema: &str, property: &str) -> &'a Value {
    let prop = &doc["components"]["schemas"][schema]["properties"][property];
    match prop["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => prop,
    }
}

#[test]
fn outcomes_are_enums_of_the_strings_answered() {
    let doc = serde_json::to_value(toker_api::openapi()).unwrap();
    for (schema, expected) in [
        (
            "RefreshResult",
            &[
                "updated",
                "unchanged",
                "skipped",
                "rejected",
                "reconnect",
                "failed",
            ][..],
        ),
        ("ConnectResponse", &["created", "updated", "proven"][..]),
    ] {
        let outcome = resolved(&doc, schema, "outcome");
        let values: Vec<&str> = outcome["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema}.outcome is not an enum: {outcome}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(values, expected, "{schema}.outcome");
        assert_eq!(outcome["type"], "string", "{schema}.outcome");
    }
}
