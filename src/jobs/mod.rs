//! Analysis jobs: a durable queue (the records live in redb, the order in memory), workers that
//! run the engine on a dedicated rayon pool, live progress for event streams, and retention.
//! No HTTP here: handlers submit and read through this module.

pub mod retention;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot, watch};

use crate::engine;
use crate::ids::now_ms;
use crate::policy::month::month_index;
use crate::store::Store;
use crate::store::schema::{JobRecord, JobStatus};

/// Live state of an unfinished job, for polling and event streams.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub status: JobStatus,
    pub stage: &'static str,
    pub progress: f32,
    /// When a thread took the job up: set with `status: Running`, before the database records
    /// it, so a running job always has a start time.
    pub started_at_ms: Option<u64>,
}

impl Live {
    /// Progress rounded to two decimals (`0.6`, not the f32's `0.6000000238418579`).
    pub fn progress_rounded(&self) -> f64 {
        (f64::from(self.progress) * 100.0).round() / 100.0
    }
}

/// Position of a stage in an analysis, so that a late report of an earlier stage is dropped.
fn stage_rank(stage: &str) -> usize {
    const ORDER: [&str; 6] = ["queued", "decode", "loudness", "tempo", "key", "finish"];
    ORDER.iter().position(|s| *s == stage).unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("cannot prepare the uploads directory {path}: {source}")]
    Uploads {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the analysis thread pool: {0}")]
    Pool(String),
}

pub struct Jobs {
    store: Store,
    uploads: PathBuf,
    keep_uploads: bool,
    options: engine::Options,
    max_pending: usize,
    /// Accepted jobs not yet finished (queued + running), plus uploads holding a slot.
    pending: AtomicUsize,
    queue: Mutex<VecDeque<u128>>,
    wake: Notify,
    live: Mutex<HashMap<u128, watch::Sender<Live>>>,
    pool: rayon::ThreadPool,
    workers: usize,
    webhooks: Arc<crate::webhooks::deliver::Deliveries>,
    /// Set once by the composition root; absent in tools that run jobs without a server.
    pub metrics: std::sync::OnceLock<Arc<crate::metrics::Metrics>>,
}

/// A place in the bounded queue, held while an upload is received. Dropping it gives the place
/// back; `Jobs::enqueue` consumes it.
pub struct Slot<'a> {
    jobs: &'a Jobs,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.jobs.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Jobs handed to the analysis pool beyond one per thread. One on deck leaves a thread idle
/// when two come free together; more only nest jobs deeper on the threads' stacks, each
/// holding its decoded audio. At most `workers + ON_DECK` analyses hold memory at once.
const ON_DECK: usize = 2;

/// Starts a job may have that the process did not survive. A file that crashes the analyser
/// (or a machine that keeps losing power mid-job) would otherwise be re-run at every start and
/// take the server down each time; after this many, the job fails with `analysis_interrupted`.
/// Starts cut off by a graceful stop are not counted (see `release_running`).
pub const MAX_ATTEMPTS: u32 = 3;

/// Smallest change of progress worth telling subscribers about.
const PROGRESS_STEP: f32 = 0.01;

/// Shortest time between two progress updates within one stage. Five a second is as smooth
/// as a progress bar needs; each update wakes the server and every subscriber, and those
/// wake-ups take cores from the analyses themselves.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

pub const UPLOAD_SUFFIX: &str = "audio";
pub const PARTIAL_SUFFIX: &str = "part";

impl Jobs {
    pub fn new(
        store: Store,
        data_dir: &Path,
        cfg: &crate::config::Config,
        webhooks: Arc<crate::webhooks::deliver::Deliveries>,
    ) -> Result<Arc<Jobs>, Error> {
        let uploads = data_dir.join("uploads");
        std::fs::create_dir_all(&uploads).map_err(|e| Error::Uploads {
            path: uploads.clone(),
            source: e,
        })?;
        let workers = cfg.analysis.workers.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("analysis-{i}"))
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        Ok(Arc::new(Jobs {
            store,
            uploads,
            keep_uploads: cfg.storage.keep_uploads,
            options: engine::Options {
                max_duration_sec: cfg.analysis.max_duration.as_secs_f64(),
                mix: cfg.analysis.mix.clone(),
            },
            max_pending: cfg.analysis.max_queued,
            pending: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            live: Mutex::new(HashMap::new()),
            pool,
            workers,
            webhooks,
            metrics: std::sync::OnceLock::new(),
        }))
    }

    pub fn uploads_dir(&self) -> &Path {
        &self.uploads
    }

    /// (queued, running, waiting in the queue) right now, for the metrics.
    pub fn counts(&self) -> (i64, i64, i64) {
        let (mut queued, mut running) = (0, 0);
        for tx in lock(&self.live).values() {
            match tx.borrow().status {
                JobStatus::Queued => queued += 1,
                JobStatus::Running => running += 1,
                _ => {}
            }
        }
        (queued, running, lock(&self.queue).len() as i64)
    }

    /// Takes a place in the queue, or `None` when `analysis.max_queued` jobs are pending.
    /// Whether a place is free now (without taking it): lets a request be refused before its
    /// upload is read, while the place itself is taken only once the upload has arrived.
    pub fn has_room(&self) -> bool {
        self.pending.load(Ordering::SeqCst) < self.max_pending
    }

    pub fn try_reserve(&self) -> Option<Slot<'_>> {
        let mut cur = self.pending.load(Ordering::SeqCst);
        loop {
            if cur >= self.max_pending {
                return None;
            }
            match self
                .pending
                .compare_exchange(cur, cur + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return Some(Slot { jobs: self }),
                Err(now) => cur = now,
            }
        }
    }

    /// Queues a stored job; its slot is held until the job ends.
    pub fn enqueue(&self, id: u128, slot: Slot<'_>) {
        std::mem::forget(slot);
        self.track(id);
        lock(&self.queue).push_back(id);
        self.wake.notify_one();
    }

    fn track(&self, id: u128) {
        let (tx, _) = watch::channel(Live {
            status: JobStatus::Queued,
            stage: "queued",
            progress: 0.0,
            started_at_ms: None,
        });
        lock(&self.live).insert(id, tx);
    }

    /// The live state of an unfinished job handled by this process.
    pub fn live(&self, id: u128) -> Option<Live> {
        lock(&self.live).get(&id).map(|tx| tx.borrow().clone())
    }

    /// Follows a job until it ends; `None` when it is not pending here (finished or unknown).
    pub fn subscribe(&self, id: u128) -> Option<watch::Receiver<Live>> {
        lock(&self.live).get(&id).map(|tx| tx.subscribe())
    }

    /// Re-queues every job a previous process accepted but did not finish (running ones are run
    /// again from their stored upload). Called once at start-up, before workers start.
    pub fn recover(&self) -> Result<usize, Error> {
        let unfinished = self.store.unfinished_jobs()?;
        let n = unfinished.len();
        for (id, rec) in unfinished {
            if rec.status == JobStatus::Running {
                self.store
                    .update_job(id, |j| j.status = JobStatus::Queued)?;
            }
            self.pending.fetch_add(1, Ordering::SeqCst);
            self.track(id);
            lock(&self.queue).push_back(id);
        }
        self.wake.notify_waiters();
        Ok(n)
    }

    /// At a graceful stop: the jobs still running here go back to the queue without their
    /// start counting against `MAX_ATTEMPTS`, so restarts for an upgrade never fail a job.
    pub async fn release_running(&self) -> Result<usize, Error> {
        let running: Vec<u128> = lock(&self.live)
            .iter()
            .filter(|(_, tx)| tx.borrow().status == JobStatus::Running)
            .map(|(id, _)| *id)
            .collect();
        if running.is_empty() {
            return Ok(0);
        }
        self.db(move |s| s.release_jobs(&running)).await
    }

    /// Starts the workers; they stop taking jobs when `shutdown` flips. A job still running at
    /// exit is queued again (`release_running`) and run at the next start.
    ///
    /// There are `ON_DECK` workers more than analysis threads: their jobs wait on deck in the
    /// pool, so a thread that comes free, or that waits for a half of its own job another
    /// thread took, starts one at once instead of waiting for a worker to finish a job's
    /// bookkeeping and claim the next.
    pub fn start_workers(self: &Arc<Self>, shutdown: watch::Receiver<bool>) {
        for _ in 0..self.workers + ON_DECK {
            let jobs = self.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    let id = tokio::select! {
                        id = jobs.next() => id,
                        _ = shutdown.changed() => return,
                    };
                    jobs.process(id).await;
                    if *shutdown.borrow() {
                        return;
                    }
                }
            });
        }
    }

    async fn next(&self) -> u128 {
        loop {
            let notified = self.wake.notified();
            if let Some(id) = lock(&self.queue).pop_front() {
                return id;
            }
            notified.await;
        }
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, crate::store::Error> + Send + 'static,
    ) -> Result<T, Error> {
        self.store.call(f).await.map_err(Error::from)
    }

    async fn process(&self, id: u128) {
        if let Err(e) = self.run(id).await {
            tracing::error!(job = %crate::ids::JobId(id), error = %e, "job processing failed; it will be retried at the next start");
        }
        if let Some(tx) = lock(&self.live).remove(&id) {
            tx.send_modify(|l| {
                if !l.status.is_finished() {
                    l.status = JobStatus::Failed;
                }
            });
        }
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }

    async fn run(&self, id: u128) -> Result<(), Error> {
        let Some(rec) = self.db(move |s| s.get_job(id)).await? else {
            return Ok(()); // deleted while queued
        };
        if rec.status.is_finished() {
            return Ok(());
        }
        let live_tx = lock(&self.live).get(&id).cloned();
        let (started, outcome) = match &rec.upload {
            Some(name) if rec.attempts < MAX_ATTEMPTS => {
                let (started_tx, started_rx) = oneshot::channel();
                let answer =
                    self.analyze(self.uploads.join(name), &rec, live_tx.clone(), started_tx);
                // The job is `running` from the moment a thread takes it up; the record says
                // so while the analysis goes on, so the thread never waits for the database.
                let started = started_rx.await.unwrap_or_else(|_| now_ms());
                self.mark_running(id, started).await?;
                let answer = answer.await;
                if let Some(m) = self.metrics.get() {
                    let audio = match &answer {
                        Ok(Ok(report)) => Some(report.file_meta.duration_sec),
                        _ => None,
                    };
                    let secs = now_ms().saturating_sub(started) as f64 / 1000.0;
                    m.job_finished(audio.is_some(), secs, audio);
                }
                (started, analysis_outcome(answer))
            }
            Some(_) => {
                let why = format!(
                    "the server stopped abruptly {} times while analysing this file \
                     (a crash, kill -9 or power loss); it is not run again",
                    rec.attempts
                );
                self.fail_unrun(id, "analysis_interrupted", why).await?
            }
            None => {
                let why = "the uploaded audio is gone".to_string();
                self.fail_unrun(id, "upload_missing", why).await?
            }
        };
        let finished = now_ms();
        let keep = self.keep_uploads;
        let upload = rec.upload.clone();
        let final_status = if outcome.is_ok() {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        };
        let delivery = rec.webhook_url.as_deref().and_then(|url| {
            let event = match &outcome {
                Ok(bytes) => Ok(decode_result(bytes)
                    .and_then(|r| serde_json::to_value(r).ok())
                    .unwrap_or(serde_json::Value::Null)),
                Err((code, message)) => Err((code.as_str(), message.as_str())),
            };
            self.webhooks
                .new_delivery(id, rec.project, url, event, finished)
        });
        let has_delivery = delivery.is_some();
        let rec = self
            .db(move |s| {
                s.finish_job(
                    id,
                    |j| {
                        j.status = final_status;
                        j.finished_at_ms = Some(finished);
                        j.stage = "finish".into();
                        match outcome {
                            Ok(bytes) => j.result = Some(bytes),
                            Err((code, message)) => {
                                j.error_code = Some(code);
                                j.error_message = Some(message);
                            }
                        }
                        if !keep {
                            j.upload = None;
                        }
                    },
                    delivery,
                    month_index(finished),
                    finished,
                )
            })
            .await?;
        // The record says the upload is gone before the file goes: a crash in between leaves
        // an unreferenced file, which the retention sweep removes.
        if (!keep || rec.is_none())
            && let Some(name) = upload
        {
            let _ = tokio::fs::remove_file(self.uploads.join(name)).await;
        }
        if has_delivery {
            self.webhooks.wake();
        }
        if let Some(tx) = live_tx {
            tx.send_replace(Live {
                status: final_status,
                stage: "finish",
                progress: 1.0,
                started_at_ms: Some(started),
            });
        }
        tracing::info!(job = %crate::ids::JobId(id), status = final_status.as_str(), ms = finished.saturating_sub(started), "job finished");
        Ok(())
    }

    /// Starts a job that will not be analysed, with the failure it ends with.
    async fn fail_unrun(
        &self,
        id: u128,
        code: &str,
        message: String,
    ) -> Result<(u64, Result<Vec<u8>, (String, String)>), Error> {
        let started = now_ms();
        self.mark_running(id, started).await?;
        Ok((started, Err((code.to_string(), message))))
    }

    async fn mark_running(&self, id: u128, started: u64) -> Result<(), Error> {
        self.db(move |s| {
            s.update_job(id, |j| {
                if !j.status.is_finished() {
                    j.status = JobStatus::Running;
                    j.started_at_ms = Some(started);
                    j.attempts += 1;
                }
            })
        })
        .await?;
        Ok(())
    }

    /// Hands the job to the analysis pool. `started` fires when a thread takes it up; the
    /// receiver returned yields the engine's answer.
    fn analyze(
        &self,
        path: PathBuf,
        rec: &JobRecord,
        live: Option<watch::Sender<Live>>,
        started: oneshot::Sender<u64>,
    ) -> oneshot::Receiver<Result<engine::Report, engine::Error>> {
        let (tx, rx) = oneshot::channel();
        let name = rec.filename.clone();
        let opts = self.options.clone();
        self.pool.spawn(move || {
            let started_at = now_ms();
            let _ = started.send(started_at);
            // The engine reports every decoded second; subscribers hear of every new stage,
            // and within a stage of another percent at most every `PROGRESS_INTERVAL`, so
            // neither a long file nor a fast machine multiplies events and wake-ups.
            let last_sent = Mutex::new(Instant::now());
            let progress = |stage: engine::Stage, fraction: f32| {
                if let Some(l) = &live {
                    let (stage, fraction) = (stage.as_str(), fraction.clamp(0.0, 1.0));
                    l.send_if_modified(|cur| {
                        // Analysers run side by side and may report out of order; clients see
                        // stages and progress only move forward.
                        if cur.status == JobStatus::Running
                            && stage_rank(stage) < stage_rank(cur.stage)
                        {
                            return false;
                        }
                        let fraction = fraction.max(cur.progress);
                        let mut last = lock(&last_sent);
                        let news = cur.status != JobStatus::Running
                            || cur.stage != stage
                            || (fraction >= cur.progress + PROGRESS_STEP
                                && last.elapsed() >= PROGRESS_INTERVAL);
                        if news {
                            *last = Instant::now();
                            *cur = Live {
                                status: JobStatus::Running,
                                stage,
                                progress: fraction,
                                started_at_ms: Some(started_at),
                            };
                        }
                        news
                    });
                }
            };
            progress(engine::Stage::Decode, 0.0);
            let _ = tx.send(engine::analyze_file(&path, Some(&name), &opts, &progress));
        });
        rx
    }

    /// Removes a deleted job's live state and queue entry.
    pub fn forget(&self, id: u128) {
        let removed = {
            let mut q = lock(&self.queue);
            let before = q.len();
            q.retain(|j| *j != id);
            before != q.len()
        };
        if removed {
            lock(&self.live).remove(&id);
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Ok holds the postcard-encoded report; Err a stable error code and message.
fn analysis_outcome(
    answer: Result<Result<engine::Report, engine::Error>, oneshot::error::RecvError>,
) -> Result<Vec<u8>, (String, String)> {
    match answer {
        Ok(Ok(report)) => postcard::to_stdvec(&report).map_err(|e| {
            (
                "internal".to_string(),
                format!("cannot store the result: {e}"),
            )
        }),
        Ok(Err(e)) => Err((e.code().to_string(), e.to_string())),
        Err(_) => Err((
            "corrupt_audio".to_string(),
            "the analysis stopped unexpectedly on this file".to_string(),
        )),
    }
}

/// Decodes a stored result.
pub fn decode_result(bytes: &[u8]) -> Option<engine::Report> {
    engine::Report::from_stored(bytes)
}

// A poisoned lock means a panic mid-update of a plain queue or map; keep serving.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
