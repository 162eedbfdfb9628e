//! Retention: deletes finished jobs after `storage.keep_results_days`, upload files no job
//! needs any more (left by a crash between a job's end and the file's removal, or by an
//! interrupted upload), and Idempotency-Keys older than 24 hours.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::{Jobs, PARTIAL_SUFFIX, UPLOAD_SUFFIX};
use crate::ids::now_ms;

/// An unreferenced finished upload younger than this may belong to a request that is between
/// writing its file and storing its job.
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);
/// A partial upload older than this belongs to no live request.
const PARTIAL_GRACE: Duration = Duration::from_secs(24 * 3600);

impl Jobs {
    /// One sweep. `startup` also removes every partial upload: no request is in flight yet.
    pub async fn sweep(
        &self,
        keep_results: Duration,
        startup: bool,
    ) -> Result<usize, super::Error> {
        let cutoff = now_ms().saturating_sub(keep_results.as_millis() as u64);
        let expired = self.db(move |s| s.expired_jobs(cutoff)).await?;
        let mut removed = 0;
        for id in expired {
            if let Some(rec) = self.db(move |s| s.delete_job(id)).await? {
                if let Some(name) = rec.upload {
                    let _ = tokio::fs::remove_file(self.uploads.join(name)).await;
                }
                removed += 1;
            }
        }
        let now = now_ms();
        self.db(move |s| s.purge_idempotency(now)).await?;
        let referenced: HashSet<String> = self
            .db(|s| s.referenced_uploads())
            .await?
            .into_iter()
            .collect();
        let mut dir = match tokio::fs::read_dir(&self.uploads).await {
            Ok(d) => d,
            Err(_) => return Ok(removed),
        };
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name().to_string_lossy().to_string();
            let age = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            let stale = if name.ends_with(PARTIAL_SUFFIX) {
                startup || age > PARTIAL_GRACE
            } else if name.ends_with(UPLOAD_SUFFIX) {
                !referenced.contains(&name) && (startup || age > ORPHAN_GRACE)
            } else {
                false
            };
            if stale {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(removed)
    }
}
