//! Request extractors whose every rejection is a [`Problem`] that says what was expected.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::problem::{Problem, ProblemKind};

/// Query parameters; a bad one answers 400 naming it.
#[derive(Debug, Clone)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| {
                Problem::new(
                    ProblemKind::BadRequest,
                    format!("query string: {}", e.body_text()),
                )
            })
    }
}

/// The `{id}` of a profile route; anything but an integer answers 400.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProfileId(pub(crate) i64);

impl<S: Send + Sync> FromRequestParts<S> for ProfileId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        integer_id(parts, state, "profile").await.map(ProfileId)
    }
}

/// The `{id}` of a job route; anything but an integer answers 400.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobId(pub(crate) i64);

impl<S: Send + Sync> FromRequestParts<S> for JobId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        integer_id(parts, state, "job").await.map(JobId)
    }
}

/// The route's `{id}` as an integer: 400 naming `what` otherwise.
async fn integer_id<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    what: &str,
) -> Result<i64, Problem> {
    let Path(raw) = Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|e| Problem::new(ProblemKind::BadRequest, e.body_text()))?;
    raw.parse().map_err(|_| {
        Problem::new(
            ProblemKind::BadRequest,
            format!("{what} id must be an integer, got {raw:?}"),
        )
    })
}

/// A request body that must be JSON (or JSON Lines, for batches): the raw bytes, after
/// checking the content type. Bodies over the limit answer 413 before reaching here.
#[derive(Debug, Clone)]
pub(crate) struct JsonBytes(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_json_content_type(request.headers().get(header::CONTENT_TYPE))?;
        Bytes::from_request(request, state)
            .await
            .map(JsonBytes)
            .map_err(|e| {
                let status = e.status();
                Problem::new(ProblemKind::from_status(status), e.body_text())
            })
    }
}

impl JsonBytes {
    /// Parses the body as one JSON document.
    ///
    /// # Errors
    /// 400 [`ProblemKind::MalformedJson`] naming the line and column.
    pub(crate) fn json(&self) -> Result<Value, Problem> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Err(Problem::new(
                ProblemKind::MalformedJson,
                "the request body is empty; send a JSON document",
            ));
        }
        serde_json::from_slice(&self.0)
            .map_err(|e| Problem::new(ProblemKind::MalformedJson, format!("request body: {e}")))
    }

    /// Parses the body as a JSON document into `T` (an optional body: empty or `null` gives
    /// `None`, as the OpenAPI document's nullable optional bodies say).
    ///
    /// # Errors
    /// 400 [`ProblemKind::MalformedJson`] for malformed JSON, 422 [`ProblemKind::Validation`]
    /// for fields of the wrong type.
    pub(crate) fn optional<T: DeserializeOwned>(&self) -> Result<Option<T>, Problem> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let mut value = self.json()?;
        if value.is_null() {
            return Ok(None);
        }
        if !value.is_object() {
            return Err(Problem::validation(
                "request body does not have the expected fields",
                vec![toker_model::Violation {
                    path: "$".to_owned(),
                    message: format!(
                        "must be a JSON object, got {}",
                        toker_model::describe(&value)
                    ),
                }],
            ));
        }
        whole_floats_as_integers(&mut value);
        serde_json::from_value(value).map(Some).map_err(|e| {
            Problem::validation(
                "request body does not have the expected fields",
                vec![toker_model::Violation {
                    path: "$".to_owned(),
                    message: e.to_string(),
                }],
            )
        })
    }
}

/// Rewrites every whole number written as a float (`2.0`) as the integer it is, as JSON
/// Schema reads it (up to 2^53, where floats stop holding integers exactly).
fn whole_floats_as_integers(value: &mut Value) {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT) {
                // Whole and within ±2^53: the cast is exact.
                #[allow(clippy::cast_possible_truncation)]
                let whole = f as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_floats_as_integers),
        _ => {}
    }
}

/// JSON, `+json` types and JSON Lines are read; a missing content type is taken as JSON.
fn check_json_content_type(value: Option<&header::HeaderValue>) -> Result<(), Problem> {
    let Some(value) = value else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = essence == "application/json"
        || essence.ends_with("+json")
        || matches!(
            essence.as_str(),
            "application/x-ndjson"
                | "application/jsonl"
                | "application/json-lines"
                | "application/x-jsonlines"
        );
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            ProblemKind::UnsupportedMediaType,
            format!(
                "content type {essence:?} is not read here; send application/json (or application/x-ndjson for batches)"
            ),
        ))
    }
}
