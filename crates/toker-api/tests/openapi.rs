#![allow(clippy::unwrap_used)]
//! The OpenAPI document is valid OpenAPI 3.1 and describes exactly the routes served.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::Value;

/// Every route the router serves, as (method, path).
const ROUTES: [(&str, &str); 22] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
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
    ("post", "/v1/me/refresh"),
    ("delete", "/v1/me/session"),
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
    assert_eq!(spec.paths.as_ref().map(|p| p.len()), Some(18));

    // Every reference resolves to a component.
    let mut refs = Vec::new();
    collect_refs(&json, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            json["components"]["schemas"].get(name).is_some(),
            "dangling {r}"
        );
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
        assert_eq!(secured, path.starts_with("/v1/"), "{method} {path}");
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
