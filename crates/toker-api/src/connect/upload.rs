//! Connecting an account from its data export, in two halves: the request
//! ([`queue_import`]) receives the zip (streamed to a temporary file, size-limited,
//! within the server's spool budget), checks that it is a zip whose index is within the
//! import limits, and queues an [`IMPORT_EXPORT`] job carrying it, in the transaction
//! that also signs a new uploader up; a worker then reads, judges and stores it
//! ([`import`]), exactly as a synchronous upload did. The request holds a database
//! connection only for that one transaction, and the CPU-heavy reading runs in the
//! bounded CPU pool of whichever process runs the job.

use std::io::Read;
use std::path::Path;

use axum::body::{Body, HttpBody};
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use toker_collect::jobs::JobFailure;
use toker_model::Platform;
use toker_sources::{ExportArchive, ImportLimits, SourceError, import_export_with_limits};
use toker_store::{AccountMethod, Claimed, Job, NewJob, Store};
use tokio::io::AsyncWriteExt;

use super::flow::{Connecting, invalid_upload, judge, rejected, store_for};
use super::session::{new_principal_id, new_session, optional};
use crate::jobs::IMPORT_EXPORT;
use crate::limits::UploadTicket;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// How many attempts an import gets (only a database failure is retried).
const IMPORT_ATTEMPTS: u32 = 3;

/// A queued import, and the session it opened for a new uploader.
pub(crate) struct QueuedImport {
    pub(crate) job: Job,
    /// The new session's token and end, unless the uploader was signed in.
    pub(crate) session: Option<(String, DateTime<Utc>)>,
}

/// The payload of an [`IMPORT_EXPORT`] job.
#[derive(Debug, Deserialize)]
struct ImportPayload {
    platform: Platform,
    principal: String,
    /// Whether the upload signed the principal up (its answer's `new_principal`).
    #[serde(default)]
    new_principal: bool,
}

/// Receives an export upload of `platform` and queues its import for the uploader (a
/// new principal with a new session unless the request is signed in). Everything that
/// can be told without reading the export is told here, as a [`Problem`].
pub(crate) async fn queue_import(
    state: &AppState,
    platform: Platform,
    headers: &HeaderMap,
    body: Body,
) -> Result<QueuedImport, Problem> {
    if state.connector().cipher().is_none() {
        return Err(Problem::new(
            ProblemKind::ConnectDisabled,
            "connecting accounts is not enabled on this server (no TOKER_SECRET_KEY); GET /readyz says so",
        ));
    }
    check_zip_type(headers)?;
    let ticket = state.uploads().admit()?;
    let signed_in = optional(state, headers).await?;
    let limit = state.connector().config().export_limit;
    let limits = state.connector().config().import_limits;
    let upload = receive(body, limit, ticket).await?;
    // The spooled file (and its slot and spool bytes) is held until the job is queued.
    let (upload, bytes) = state
        .cpu(move || {
            check_archive(platform, &upload.path, &limits)?;
            let bytes = std::fs::read(&upload.path).map_err(|e| crate::error::internal(&e))?;
            Ok((upload, bytes))
        })
        .await?;
    let (principal, session) = match signed_in {
        Some(signed_in) => (signed_in.principal_id, None),
        None => (
            new_principal_id(),
            Some(new_session(state.connector().config().session_ttl)),
        ),
    };
    let payload = json!({
        "platform": platform,
        "principal": principal,
        "new_principal": session.is_some(),
    });
    let record = session.as_ref().map(|(_, record)| record.clone());
    let job = state
        .db(move |store| {
            let job = NewJob {
                kind: IMPORT_EXPORT,
                payload: &payload,
                input: Some(&bytes),
                owner: Some(&principal),
                max_attempts: IMPORT_ATTEMPTS,
                run_after: Utc::now(),
                dedup_key: None,
            };
            let queued = match &record {
                Some(session) => store.create_principal_with_job(&principal, session, &job)?,
                None => store.enqueue_job(&job)?,
            };
            Ok(queued.job)
        })
        .await?;
    drop(upload);
    state.jobs_queued().notify_one();
    tracing::info!(%platform, job = job.id, "export upload queued");
    Ok(QueuedImport {
        job,
        session: session.map(|(token, record)| (token, record.expires_at)),
    })
}

/// Runs an [`IMPORT_EXPORT`] job on `store` (a worker's connection): reads the export it
/// carries in the bounded CPU pool, judges it and stores it for the payload's principal;
/// its result is the connect's answer. A refusal the old synchronous upload answered with
/// a 4xx is a permanent failure saying the same; a database failure is retried.
pub(crate) async fn import(
    state: &AppState,
    store: &mut Store,
    job: &Claimed,
) -> Result<Value, JobFailure> {
    let payload: ImportPayload = serde_json::from_value(job.job.payload.clone()).map_err(|e| {
        JobFailure::Permanent(format!(
            "the payload is not {{\"platform\": \"…\", \"principal\": \"<id>\"}}: {e}"
        ))
    })?;
    let platform = payload.platform;
    let input = job
        .input
        .as_deref()
        .ok_or_else(|| JobFailure::Permanent("the job carries no export to import".to_owned()))?;
    // The worker runs jobs on a blocking thread: writing the file here blocks nothing.
    let dir = tempfile::Builder::new()
        .prefix("toker-import-")
        .tempdir()
        .map_err(|e| JobFailure::Retry(format!("no temporary file for the export: {e}")))?;
    let path = dir.path().join("export.zip");
    std::fs::write(&path, input)
        .map_err(|e| JobFailure::Retry(format!("the export cannot be written out: {e}")))?;
    let limits = state.connector().config().import_limits;
    let raw = state
        .cpu(move || {
            let result = import_export_with_limits(platform, &path, &limits);
            drop(dir);
            result.map_err(|e| export_problem(platform, &e))
        })
        .await
        .map_err(failure)?;
    let warnings = raw.warnings.clone();
    let prepared = judge(state, raw).await.map_err(failure)?.map_err(|r| {
        failure(rejected(
            platform,
            &r,
            state.rules().min_likes,
            AccountMethod::Export,
        ))
    })?;
    let connecting = Connecting {
        platform,
        user_id: prepared.profile.user_id.clone(),
        username: prepared.profile.username.clone(),
        prepared: Some(prepared),
        method: AccountMethod::Export,
        tokens: None,
        warnings,
    };
    let mut response = store_for(store, state, connecting, &payload.principal).map_err(failure)?;
    response.new_principal = payload.new_principal;
    serde_json::to_value(response)
        .map_err(|e| JobFailure::Permanent(format!("the answer cannot be told: {e}")))
}

/// A refusal as a job's failure: its detail, with each violation's path and message
/// (what the old answer's `violations` said). What another attempt could mend (the
/// database, the server) is retried; anything about the export is not.
fn failure(problem: Problem) -> JobFailure {
    let mut text = problem.detail;
    if !problem.violations.is_empty() {
        let said: Vec<String> = problem
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.path, v.message))
            .collect();
        text = format!("{text} ({})", said.join("; "));
    }
    match problem.kind {
        ProblemKind::Unavailable | ProblemKind::Timeout | ProblemKind::Internal => {
            JobFailure::Retry(text)
        }
        _ => JobFailure::Permanent(text),
    }
}

/// The upload's content type must name a zip.
fn check_zip_type(headers: &HeaderMap) -> Result<(), Problem> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/zip" | "application/x-zip-compressed" | "application/octet-stream") => {
            Ok(())
        }
        other => Err(Problem::new(
            ProblemKind::UnsupportedMediaType,
            format!(
                "send the export .zip as the body with content type application/zip, got {}",
                other.unwrap_or("none")
            ),
        )),
    }
}

/// Refuses an upload that is no zip, a damaged zip (no end-of-central-directory record),
/// or one whose index already breaks the import limits (too many files, too large
/// unpacked, a zip bomb's ratio): what the zip's index tells, without decompressing.
fn check_archive(platform: Platform, path: &Path, limits: &ImportLimits) -> Result<(), Problem> {
    let mut magic = [0_u8; 4];
    let read = std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut magic));
    // A local file header, or the end-of-central-directory record of an empty zip.
    if read.is_err() || !(magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
        return Err(invalid_upload(
            platform,
            "not a zip archive: send the .zip the platform's \"Download your data\" gives"
                .to_owned(),
        ));
    }
    ExportArchive::open_with_limits(platform, path, limits.archive)
        .map(drop)
        .map_err(|e| export_problem(platform, &e))
}

/// An upload on disk, removed when dropped (and then its slot and spool bytes freed).
struct Upload {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    _ticket: UploadTicket,
}

/// Streams the body to a temporary file, refusing it past `limit` bytes (early by its
/// `Content-Length`, else as soon as the stream passes the limit) or past the server's
/// spool budget (the bytes are reserved as they arrive, the declared length up front).
async fn receive(mut body: Body, limit: u64, mut ticket: UploadTicket) -> Result<Upload, Problem> {
    let too_large = || {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the export is larger than this server's limit of {limit} bytes"),
        )
    };
    let declared = body.size_hint().lower();
    if declared > limit {
        return Err(too_large());
    }
    ticket.reserve(declared)?;
    let mut reserved = declared;
    let dir = tempfile::Builder::new()
        .prefix("toker-upload-")
        .tempdir()
        .map_err(|e| crate::error::internal(&e))?;
    let path = dir.path().join("export.zip");
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| crate::error::internal(&e))?;
    let mut received = 0u64;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| {
            Problem::new(
                ProblemKind::BadRequest,
                format!("the upload broke off: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received += data.len() as u64;
        if received > limit {
            return Err(too_large());
        }
        if received > reserved {
            ticket.reserve(received - reserved)?;
            reserved = received;
        }
        file.write_all(&data)
            .await
            .map_err(|e| crate::error::internal(&e))?;
    }
    file.flush().await.map_err(|e| crate::error::internal(&e))?;
    if received == 0 {
        return Err(Problem::new(
            ProblemKind::BadRequest,
            "the request body is empty; send the export .zip",
        ));
    }
    Ok(Upload {
        _dir: dir,
        path,
        _ticket: ticket,
    })
}

/// An export that cannot be read, named without the temporary path.
fn export_problem(platform: Platform, error: &SourceError) -> Problem {
    match error {
        SourceError::FeatureDisabled { .. } => {
            Problem::new(ProblemKind::ConnectDisabled, error.to_string())
        }
        SourceError::ExportUnreadable { message, .. } => invalid_upload(platform, message.clone()),
        SourceError::ExportTooLarge {
            file,
            limit,
            value,
            message,
            ..
        } => Problem::new(
            ProblemKind::PayloadTooLarge,
            format!(
                "this {} export breaks the server's limit `{limit}` = {value}: {}{message}; \
                 nothing was stored",
                platform.display_name(),
                file.as_deref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default()
            ),
        ),
        SourceError::ExportFileMissing { .. } | SourceError::ExportFileInvalid { .. } => {
            let text = error.to_string();
            // "<platform> export <temp path>: …" → what follows the path.
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            invalid_upload(platform, message.to_owned())
        }
        other => crate::error::internal(other),
    }
}
