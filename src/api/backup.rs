//! `GET /admin/v1/backup`: flushes the in-memory counters, freezes a consistent snapshot (see
//! `crate::backup`) and streams it as a tar archive while the server keeps serving. One backup
//! runs at a time; the frozen files are removed when the stream ends or the client goes away.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;
use tokio::sync::mpsc;

use super::{Ctx, State, audit};
use crate::http::body::Body;
use crate::http::error::{ApiError, ErrorCode};

/// Bytes per chunk sent to the client, and chunks buffered: a slow reader holds the writer
/// thread, never the server's memory.
const CHUNK_BYTES: usize = 256 * 1024;
const CHUNKS_BUFFERED: usize = 8;

/// Clears the one-backup-at-a-time flag when the backup ends however it ends.
struct Running(Arc<State>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.backup_running.store(false, Ordering::SeqCst);
    }
}

pub async fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    if ctx.state.backup_running.swap(true, Ordering::SeqCst) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "a backup is already running; retry when it has finished",
        ));
    }
    let running = Running(ctx.state.clone());
    crate::app::flush_counters(&ctx.state).await;
    let store = ctx.state.store.clone();
    let dir = ctx.state.config.storage.data_dir.clone();
    let started = std::time::Instant::now();
    let staged = tokio::task::spawn_blocking(move || crate::backup::prepare(&store, &dir))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(request_id = %ctx.request_id, error = %e, "backup failed");
            match e {
                crate::backup::Error::Store(s) => ApiError::from(s),
                _ => ApiError::internal(),
            }
        })?;
    let (files, bytes) = (staged.manifest.files.len(), staged.total_bytes());
    tracing::info!(
        request_id = %ctx.request_id,
        files,
        bytes,
        snapshot_ms = started.elapsed().as_millis() as u64,
        "backup snapshot taken; streaming"
    );
    audit::record(
        &ctx,
        "backup.create",
        "database".into(),
        json!({"files": files, "bytes": bytes, "schema_version": staged.manifest.schema_version}),
    )
    .await;
    let (tx, rx) = mpsc::channel::<Bytes>(CHUNKS_BUFFERED);
    let request_id = ctx.request_id.clone();
    tokio::task::spawn_blocking(move || {
        let _running = running;
        let out = std::io::BufWriter::with_capacity(CHUNK_BYTES, ChannelWriter(tx));
        if let Err(e) = crate::backup::write_tar(&staged, out) {
            // The client sees a truncated archive, which `verify` and restore refuse.
            tracing::warn!(request_id = %request_id, error = %e, "backup stream ended early");
        }
        drop(staged);
    });
    let name = format!(
        "attachment; filename=\"tonearm-backup-{}.tar\"",
        crate::ids::now_ms() / 1000
    );
    let mut resp = Response::new(crate::http::body::channel(rx));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// A blocking writer whose bytes become response chunks; fails once the client is gone.
struct ChannelWriter(mpsc::Sender<Bytes>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
