//! `POST /upload/{platform}`: a data export sent by the start page's form
//! (`multipart/form-data`: the CSRF token first, then the file), handed as it streams in
//! to what `POST /v1/connect/{platform}/export` does: checked, queued as an import job
//! and the person signed in; the browser then goes to the job's page (`/me/jobs/{id}`),
//! which follows the import and, once it is done, shows `/me`.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::csrf::{self, CSRF_FIELD};
use crate::connect::upload::queue_import;
use crate::problem::{Problem, ProblemKind};
use crate::routes::connect as api;
use crate::state::AppState;

/// The form field of the archive.
pub(crate) const ARCHIVE_FIELD: &str = "archive";
/// The longest CSRF field read.
const MAX_TOKEN: u64 = 1024;

/// Receives the form and passes the archive on.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, Problem> {
    let (mut parts, body) = request.into_parts();
    let boundary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::UnsupportedMediaType,
                "send the start page's upload form (multipart/form-data with the export .zip)",
            )
        })?;
    let constraints = multer::Constraints::new()
        .allowed_fields(vec![CSRF_FIELD, ARCHIVE_FIELD])
        .size_limit(multer::SizeLimit::new().for_field(CSRF_FIELD, MAX_TOKEN));
    let mut form =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let broken = |e: multer::Error| {
        Problem::new(
            ProblemKind::BadRequest,
            format!("the upload form could not be read: {e}"),
        )
    };
    let token = match form.next_field().await.map_err(broken)? {
        Some(field) if field.name() == Some(CSRF_FIELD) => {
            Some(field.text().await.map_err(broken)?)
        }
        _ => None,
    };
    csrf::check(&state, &parts.headers, token.as_deref())?;
    let archive = match form.next_field().await.map_err(broken)? {
        Some(field) if field.name() == Some(ARCHIVE_FIELD) => field,
        _ => {
            return Err(Problem::new(
                ProblemKind::BadRequest,
                "the form carries no export: choose your .zip file and upload it",
            ));
        }
    };
    // The archive alone, as the API's upload takes it: its length is not the form's.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    let platform = api::upload_platform(&state, &name, &parts)?;
    let queued = queue_import(&state, platform, &parts.headers, Body::from_stream(archive)).await?;
    let mut response = super::see_other(&format!("/me/jobs/{}", queued.job.id));
    if let Some((token, _)) = &queued.session {
        response
            .headers_mut()
            .append(header::SET_COOKIE, api::session_cookie(&state, token));
    }
    Ok(response)
}
