//! Analysis jobs over HTTP: submit (streaming multipart upload), poll, stream events, list,
//! delete. A job belongs to the submitting key's project; other projects see 404.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderValue, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Ctx, PageParams, view};
use crate::config::Quota;
use crate::engine;
use crate::http::body::{Body, content_length, discard, json_response, linger_unread};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::sse;
use crate::http::upload::{self, UploadError};
use crate::ids::{JobId, ProjectId, now_ms, rfc3339};
use crate::jobs::{Live, PARTIAL_SUFFIX, UPLOAD_SUFFIX, decode_result};
use crate::policy::month::month_index;
use crate::policy::uploads::UploadCap;
use crate::store::disk;
use crate::store::schema::{JobRecord, JobStatus};
use crate::store::{InsertJob, JobInserted};

/// Multipart framing around the file: boundaries, part headers, the small text fields.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Retry-After for an upload refused by the in-flight caps: uploads take seconds to minutes.
const UPLOAD_RETRY_AFTER_S: u64 = 5;
/// Interval between keep-alive comments on an event stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn job_not_found() -> ApiError {
    ApiError::not_found("job")
}

/// The key's upload limit: the plan's, capped by the server's.
fn max_upload_bytes(ctx: &Ctx, account: u128) -> u64 {
    let server = ctx.state.config.analysis.max_upload_bytes;
    ctx.state
        .policy
        .plan_of(account)
        .map_or(server, |p| server.min(p.max_upload_mb * 1024 * 1024))
}

fn monthly_grant(ctx: &Ctx, account: u128) -> Option<i64> {
    match ctx.state.policy.plan_of(account)?.credits_per_month {
        Quota::Unlimited => None,
        Quota::Max(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
    }
}

/// SHA-256 of a valid `Idempotency-Key` (1-255 visible ASCII characters), as two halves.
fn idempotency_key(ctx: &Ctx) -> Result<Option<(u128, u128)>, ApiError> {
    let Some(v) = ctx.parts.headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = v.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(|c| (0x21..0x7f).contains(c)) {
        return Err(ApiError::invalid(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    let h: [u8; 32] = Sha256::digest(bytes).into();
    let (hi, lo) = h.split_at(16);
    let to_u128 = |s: &[u8]| s.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    Ok(Some((to_u128(hi), to_u128(lo))))
}

/// Idempotency-Keys (project, key hash) whose request is being processed: a second request
/// with the same key meanwhile is refused with 409 instead of racing the first.
#[derive(Default)]
pub struct IdempotencyClaims(Arc<Mutex<HashSet<(u128, u128, u128)>>>);

/// Releases its key when the request that claimed it ends, however it ends.
struct Claim {
    set: Arc<Mutex<HashSet<(u128, u128, u128)>>>,
    key: (u128, u128, u128),
}

impl IdempotencyClaims {
    fn claim(&self, project: u128, (hi, lo): (u128, u128)) -> Option<Claim> {
        let key = (project, hi, lo);
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(key).then(|| Claim {
            set: self.0.clone(),
            key,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

fn accepted(id: u128, status: JobStatus, replayed: bool, webhook: bool) -> Response<Body> {
    let job = JobId(id).to_string();
    let mut r = json_response(
        StatusCode::ACCEPTED,
        &json!({
            "job_id": job,
            "object": "analysis_job",
            "status": status.as_str(),
            "stream_url": format!("/api/v1/jobs/{job}/stream"),
            "poll_url": format!("/api/v1/jobs/{job}"),
            "webhook_delivery": if webhook { "scheduled" } else { "none" },
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/jobs/{job}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// Streams the upload to `partial`, at the server's pace, refusing anything that is not audio.
async fn receive_audio(
    ctx: &Ctx,
    body: Incoming,
    partial: std::path::PathBuf,
    max: u64,
) -> Result<upload::Upload, ApiError> {
    upload::receive(
        &ctx.parts.headers,
        body,
        partial,
        max,
        ctx.body_pace(),
        engine::sniff,
        upload::ANALYZE_FIELDS,
    )
    .await
    .map_err(upload_error)
}

fn queue_full() -> ApiError {
    ApiError::new(
        ErrorCode::QueueFull,
        "the analysis queue is full; retry after the Retry-After delay",
    )
}

fn too_many_uploads(cap: UploadCap) -> ApiError {
    let (who, n) = match cap {
        UploadCap::Key(n) => ("this API key", n),
        UploadCap::Account(n) => ("this account", n),
    };
    ApiError::new(
        ErrorCode::TooManyUploads,
        format!("{who} already has {n} uploads in progress; retry when one has finished"),
    )
    .with_details(json!({ "limit": n, "retry_after": UPLOAD_RETRY_AFTER_S }))
}

/// 507 while the data directory's file system is below `storage.min_free_mb`, or would be
/// after an upload of the declared size.
fn check_free_space(ctx: &Ctx, declared: u64) -> Result<(), ApiError> {
    let min = ctx.state.config.storage.min_free_bytes;
    if min == 0 {
        return Ok(());
    }
    let free = match disk::free_bytes(ctx.state.jobs.uploads_dir()) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read free disk space");
            return Ok(());
        }
    };
    if free < min.saturating_add(declared) {
        return Err(insufficient_storage());
    }
    Ok(())
}

fn insufficient_storage() -> ApiError {
    ApiError::new(
        ErrorCode::InsufficientStorage,
        "the server is low on disk space and cannot store uploads now; retry later",
    )
}

pub(super) fn upload_error(e: UploadError) -> ApiError {
    match e {
        UploadError::NotMultipart => ApiError::new(
            ErrorCode::MalformedMultipart,
            "send the audio as multipart/form-data with a `file` part",
        ),
        UploadError::MissingFile => ApiError::new(
            ErrorCode::MissingFile,
            "the form has no `file` part holding the audio",
        ),
        UploadError::TooLarge(n) => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the upload is larger than the {} MB allowed",
                n / (1024 * 1024)
            ),
        ),
        UploadError::EmptyFile => {
            ApiError::new(ErrorCode::EmptyFile, "the `file` part is empty (0 bytes)")
        }
        UploadError::NotAudio => ApiError::new(
            ErrorCode::NotAudio,
            "the file is not audio in a format tonearm reads (WAV, AIFF, FLAC, MP3, Ogg Vorbis/Opus, AAC/ALAC in MP4, CAF, MKV/WebM)",
        ),
        UploadError::TooSlow => ApiError::new(
            ErrorCode::BodyTimeout,
            "the upload arrived too slowly (see server.body_idle_timeout) and was dropped",
        ),
        UploadError::Io(e) if disk::is_out_of_space(&e) => {
            tracing::warn!(error = %e, "disk full while storing an upload");
            insufficient_storage()
        }
        UploadError::Io(e) => {
            tracing::error!(error = %e, "cannot store upload");
            ApiError::internal()
        }
        UploadError::UnknownField(..) | UploadError::FieldTooLong(_) => {
            ApiError::invalid(e.to_string())
        }
        UploadError::Malformed(_) | UploadError::DuplicateFile => {
            ApiError::new(ErrorCode::MalformedMultipart, e.to_string())
        }
    }
}

/// `POST /api/v1/analyze`. Cheap refusals (idempotent replay, credits, queue, declared size)
/// come before a byte of the body is stored; credits and queue refusals still read the body
/// away in the background (`linger_unread`) so the client gets to see them.
pub async fn submit(ctx: Ctx, body: Incoming) -> Result<Response<Body>, ApiError> {
    let key = ctx.key()?.clone();
    let (account, project) = (key.account.0, key.project.0);
    let now = now_ms();
    let idempotency = idempotency_key(&ctx)?;
    let max = max_upload_bytes(&ctx, account);
    // Held until this request is answered: the same key meanwhile gets 409.
    let _claim = match idempotency {
        Some(k) => match ctx.state.idempotency.claim(project, k) {
            Some(c) => Some(c),
            None => {
                linger_unread(body, max + MULTIPART_OVERHEAD);
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyInUse,
                    "a request with this Idempotency-Key is still being processed; retry once it has been answered",
                ));
            }
        },
        None => None,
    };
    if let Some(k) = idempotency
        && let Some(existing) = ctx
            .state
            .db(move |s| s.job_for_idempotency_key(project, k, now))
            .await?
    {
        return replay_if_same(&ctx, body, existing, max).await;
    }
    let grant = monthly_grant(&ctx, account);
    if let Some(g) = grant {
        let month = month_index(now);
        let balance = ctx
            .state
            .db(move |s| s.apply_credits(account, month, Some(g), None, now))
            .await?;
        if balance < 1 {
            linger_unread(body, max + MULTIPART_OVERHEAD);
            return Err(crate::store::Error::InsufficientCredits { balance }.into());
        }
    }
    let jobs = ctx.state.jobs.clone();
    if !jobs.has_room() {
        linger_unread(body, max + MULTIPART_OVERHEAD);
        return Err(queue_full());
    }
    // Over the limit by its declared length: answered at once, nothing is read.
    let declared = content_length(&ctx.parts.headers);
    if declared.is_some_and(|n| n > max + MULTIPART_OVERHEAD) {
        return Err(upload_error(UploadError::TooLarge(max)));
    }
    if let Err(e) = check_free_space(&ctx, declared.unwrap_or(0)) {
        linger_unread(body, max + MULTIPART_OVERHEAD);
        return Err(e);
    }
    let _permit = match ctx.state.uploads.try_acquire(key.id.0, account) {
        Ok(p) => p,
        Err(cap) => {
            linger_unread(body, max + MULTIPART_OVERHEAD);
            return Err(too_many_uploads(cap));
        }
    };
    let id = JobId::generate().map_err(|_| ApiError::internal())?.0;
    let job = JobId(id).to_string();
    let partial = jobs.uploads_dir().join(format!("{job}.{PARTIAL_SUFFIX}"));
    let mut up = receive_audio(&ctx, body, partial, max).await?;
    // The queue place is taken only now that the upload is whole: slow uploads never hold one.
    let Some(slot) = jobs.try_reserve() else {
        return Err(queue_full());
    };
    let webhook_url = match up.fields.get("webhook_url").map(|u| u.trim()) {
        Some(u) => Some(check_webhook_url(&ctx, project, u).await?),
        None => None,
    };
    let filename = display_name(&up);
    let stored = format!("{job}.{UPLOAD_SUFFIX}");
    up.persist(&jobs.uploads_dir().join(&stored))
        .await
        .map_err(|e| upload_error(UploadError::Io(e)))?;
    let (sha256, filename_sent) = (up.sha256.clone(), filename.clone());
    let record = JobRecord {
        account,
        project,
        key: key.id.0,
        status: JobStatus::Queued,
        stage: "queued".into(),
        created_at_ms: now,
        started_at_ms: None,
        finished_at_ms: None,
        filename,
        format: up.format.to_string(),
        size_bytes: up.size,
        blake3: up.blake3.clone(),
        sha256: up.sha256.clone(),
        upload: Some(stored.clone()),
        result: None,
        error_code: None,
        error_message: None,
        credit_charged: false,
        attempts: 0,
        webhook_url: webhook_url.clone(),
    };
    let insert = InsertJob {
        id,
        record,
        idempotency,
        charge: grant.map(|g| (month_index(now), g)),
    };
    let stored_path = jobs.uploads_dir().join(&stored);
    let (charged, size) = (insert.charge.is_some(), up.size);
    match ctx.state.db(move |s| s.insert_job(insert, now)).await {
        Ok(JobInserted::New) => {
            jobs.enqueue(id, slot);
            ctx.state.policy.count_analysis(key.id.0, account, now);
            ctx.state.metrics.uploaded(size);
            if charged {
                ctx.state.metrics.credits_spent(1);
            }
            Ok(accepted(
                id,
                JobStatus::Queued,
                false,
                webhook_url.is_some(),
            ))
        }
        Ok(JobInserted::Existing(other)) => {
            // Claimed by another server process's request in the meantime (one process holds
            // the database, so only after a restart): compare as a replay would.
            let _ = tokio::fs::remove_file(&stored_path).await;
            let original = ctx.state.db(move |s| s.get_job(other)).await?;
            match original {
                Some(o)
                    if o.sha256 == sha256
                        && o.filename == filename_sent
                        && o.webhook_url == webhook_url =>
                {
                    replay(&ctx, other).await
                }
                _ => Err(key_reused()),
            }
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&stored_path).await;
            Err(e)
        }
    }
}

/// The name a job shows: the `filename` field, else the part's file name, without control
/// characters, at most 255 characters.
fn display_name(up: &upload::Upload) -> String {
    up.fields
        .get("filename")
        .filter(|f| !f.is_empty())
        .cloned()
        .or_else(|| up.part_filename.clone())
        .map(|f| {
            f.chars()
                .filter(|c| !c.is_control())
                .take(255)
                .collect::<String>()
        })
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| "upload".into())
}

fn key_reused() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was used within the last 24 hours for a different upload (file, filename or webhook_url); use a new key",
    )
}

/// A repeated Idempotency-Key: the upload is received (bounded, then removed) and compared with
/// the original job's file, name and webhook URL. The same request gets the original job in
/// its current state; a different one gets 422.
async fn replay_if_same(
    ctx: &Ctx,
    body: Incoming,
    original: u128,
    max: u64,
) -> Result<Response<Body>, ApiError> {
    let Some(rec) = ctx.state.db(move |s| s.get_job(original)).await? else {
        discard(body, max + MULTIPART_OVERHEAD).await;
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyInUse,
            "the job of this Idempotency-Key was deleted while this request was read; retry",
        ));
    };
    let tmp = JobId::generate().map_err(|_| ApiError::internal())?;
    let partial = ctx
        .state
        .jobs
        .uploads_dir()
        .join(format!("{tmp}.replay.{PARTIAL_SUFFIX}"));
    // Dropped at the end of this function, which removes the file.
    let up = receive_audio(ctx, body, partial, max).await?;
    let url = up.fields.get("webhook_url").map(|u| u.trim().to_string());
    let same =
        up.sha256 == rec.sha256 && display_name(&up) == rec.filename && url == rec.webhook_url;
    if !same {
        return Err(key_reused());
    }
    replay(ctx, original).await
}

/// The answer to a repeated Idempotency-Key: the original job in its current state.
async fn replay(ctx: &Ctx, id: u128) -> Result<Response<Body>, ApiError> {
    let original = ctx
        .state
        .db(move |s| s.get_job(id))
        .await?
        .ok_or_else(ApiError::internal)?;
    let status = if original.status.is_finished() {
        original.status
    } else {
        ctx.state
            .jobs
            .live(id)
            .map_or(original.status, |l| l.status)
    };
    Ok(accepted(id, status, true, original.webhook_url.is_some()))
}

/// A submitted `webhook_url`: well-formed, resolving only to allowed addresses, and the project
/// has a signing secret to sign its deliveries with.
async fn check_webhook_url(ctx: &Ctx, project: u128, url: &str) -> Result<String, ApiError> {
    use crate::webhooks::deliver::UrlRefused;
    match ctx.state.deliveries.check_url(url).await {
        Ok(_) => {}
        Err(UrlRefused::Invalid(m)) => return Err(ApiError::new(ErrorCode::InvalidWebhookUrl, m)),
        Err(UrlRefused::Target(m)) => {
            return Err(ApiError::new(
                ErrorCode::WebhookTargetRefused,
                format!("the webhook_url is not an allowed target: {m}"),
            ));
        }
    }
    let secrets = ctx
        .state
        .db(move |s| s.active_webhook_secrets(project))
        .await?;
    if secrets.is_empty() {
        return Err(ApiError::new(
            ErrorCode::WebhookSecretRequired,
            "the project has no webhook signing secret to sign deliveries with; create one with POST /api/v1/webhook-secrets",
        ));
    }
    Ok(url.to_string())
}

/// The job if it belongs to the caller's project; 404 otherwise, alike for unknown ids.
async fn own_job(ctx: &Ctx) -> Result<(u128, JobRecord), ApiError> {
    let project = ctx.key()?.project.0;
    find_job(ctx, Some(project)).await
}

/// The job named by the first path parameter; with `project`, only if it belongs there (404
/// otherwise, alike for unknown ids).
async fn find_job(ctx: &Ctx, project: Option<u128>) -> Result<(u128, JobRecord), ApiError> {
    let id = JobId::parse(ctx.param(0)).ok_or_else(job_not_found)?.0;
    let rec = ctx
        .state
        .db(move |s| s.get_job(id))
        .await?
        .filter(|r| project.is_none_or(|p| r.project == p))
        .ok_or_else(job_not_found)?;
    Ok((id, rec))
}

/// The job document. `live` overrides the stored state of a job running in this process.
fn job_view(id: u128, r: &JobRecord, live: Option<&Live>) -> Value {
    let status = live.map_or(r.status, |l| l.status);
    let mut v = json!({
        "job_id": JobId(id).to_string(),
        "object": "analysis_job",
        "status": status.as_str(),
        "created_at": rfc3339(r.created_at_ms),
        // The database learns of the start a moment after the job runs; the live state has it.
        "started_at": view::time(r.started_at_ms.or(live.and_then(|l| l.started_at_ms))),
        "finished_at": view::time(r.finished_at_ms),
        "webhook_url": r.webhook_url,
        "file": {
            "filename": r.filename,
            "format": r.format,
            "size_bytes": r.size_bytes,
            "blake3": r.blake3,
            "sha256": r.sha256,
        },
    });
    if !status.is_finished() {
        v["stage"] = live.map_or(r.stage.as_str(), |l| l.stage).into();
        v["progress"] = live.map_or(0.0, Live::progress_rounded).into();
    }
    match r.status {
        JobStatus::Succeeded => {
            v["result"] = r
                .result
                .as_deref()
                .and_then(decode_result)
                .and_then(|rep| serde_json::to_value(rep).ok())
                .unwrap_or(Value::Null);
        }
        JobStatus::Failed => {
            v["error"] = json!({
                "code": r.error_code.as_deref().unwrap_or("internal"),
                "message": r.error_message.as_deref().unwrap_or(""),
            });
        }
        _ => {}
    }
    v
}

/// `GET /api/v1/jobs/{id}`.
pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, rec) = own_job(&ctx).await?;
    Ok(job_response(&ctx, id, &rec, false))
}

/// `GET /admin/v1/jobs/{id}`: any project's job, for operators and the console.
pub async fn admin_get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, rec) = find_job(&ctx, None).await?;
    Ok(job_response(&ctx, id, &rec, true))
}

/// 200 with the finished job, or 202 with `Retry-After` while it is queued or running. The
/// admin view names the owning project, which a key's own view leaves implicit.
fn job_response(ctx: &Ctx, id: u128, rec: &JobRecord, with_owner: bool) -> Response<Body> {
    let live = if rec.status.is_finished() {
        None
    } else {
        ctx.state.jobs.live(id)
    };
    // The stored record is authoritative once finished; live state only refines an unfinished one.
    let live = live.filter(|l| !l.status.is_finished());
    let mut v = job_view(id, rec, live.as_ref());
    if with_owner {
        v["project_id"] = ProjectId(rec.project).to_string().into();
    }
    if rec.status.is_finished() {
        return json_response(StatusCode::OK, &v);
    }
    let mut r = json_response(StatusCode::ACCEPTED, &v);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// `GET /api/v1/jobs?status=&limit=&cursor=`.
pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let project = ctx.key()?.project.0;
    list_project(ctx, project).await
}

/// `GET /admin/v1/projects/{id}/jobs`: the same listing for any project.
pub async fn admin_list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let project = super::projects::existing(&ctx, ctx.param(0)).await?;
    list_project(ctx, project).await
}

async fn list_project(ctx: Ctx, project: u128) -> Result<Response<Body>, ApiError> {
    let q = ctx.query();
    let status = match q.get("status").map(String::as_str) {
        None => None,
        Some("queued") => Some(JobStatus::Queued),
        Some("running") => Some(JobStatus::Running),
        Some("succeeded") => Some(JobStatus::Succeeded),
        Some("failed") => Some(JobStatus::Failed),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "status {other:?} is not one of queued, running, succeeded, failed"
            )));
        }
    };
    let page = PageParams::from_query(&q, |c| JobId::parse(c).map(|j| j.0))?;
    let result = ctx
        .state
        .db(move |s| s.list_jobs(project, status, page.after, page.limit))
        .await?;
    let data: Vec<Value> = result
        .items
        .iter()
        .map(|(id, r)| {
            let mut v = job_view(*id, r, None);
            // Lists stay small: the result is fetched per job.
            if let Some(o) = v.as_object_mut() {
                o.remove("result");
            }
            v
        })
        .collect();
    Ok(ctx.list_response(&json!({
        "object": "list",
        "data": data,
        "has_more": result.next.is_some(),
        "next_cursor": result.next.map(|id| JobId(id).to_string()),
    })))
}

/// `DELETE /api/v1/jobs/{id}`: the job, its result and its audio.
pub async fn delete(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, _) = own_job(&ctx).await?;
    let rec = ctx
        .state
        .db(move |s| s.delete_job(id))
        .await?
        .ok_or_else(job_not_found)?;
    ctx.state.jobs.forget(id);
    if let Some(name) = rec.upload {
        let _ = tokio::fs::remove_file(ctx.state.jobs.uploads_dir().join(name)).await;
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"job_id": JobId(id).to_string(), "object": "analysis_job", "deleted": true}),
    ))
}

/// `GET /api/v1/jobs/{id}/stream`: the current state at once, progress as it changes, then the
/// result (or error) and `done`.
pub async fn stream(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let (id, rec) = own_job(&ctx).await?;
    let state = ctx.state.clone();
    let mut rx = if rec.status.is_finished() {
        None
    } else {
        state.jobs.subscribe(id)
    };
    let (resp, sink) = sse::stream();
    tokio::spawn(async move {
        if let Some(rx) = rx.as_mut() {
            loop {
                let live = rx.borrow_and_update().clone();
                if live.status.is_finished() {
                    break;
                }
                let data = json!({"status": live.status.as_str(), "stage": live.stage, "progress": live.progress_rounded()});
                if !sink.event("progress", &data).await {
                    return;
                }
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { break },
                    _ = tokio::time::sleep(KEEP_ALIVE) => {
                        if !sink.keep_alive().await {
                            return;
                        }
                    }
                }
            }
        }
        // Finished (or no longer pending here): the stored record has the outcome.
        let rec = state.db(move |s| s.get_job(id)).await.ok().flatten();
        let (ok, name, data) = match rec {
            Some(r) if r.status == JobStatus::Succeeded => {
                let result = job_view(id, &r, None)["result"].clone();
                (true, "result", result)
            }
            Some(r) if r.status == JobStatus::Failed => {
                (false, "error", job_view(id, &r, None)["error"].clone())
            }
            Some(_) => (
                false,
                "error",
                json!({"code": "interrupted", "message": "the server stopped before the job finished; it resumes at the next start"}),
            ),
            None => (
                false,
                "error",
                json!({"code": "not_found", "message": "the job was deleted"}),
            ),
        };
        if sink.event(name, &data).await {
            sink.event("done", &json!({"ok": ok})).await;
        }
    });
    Ok(resp)
}
