//! The durable delivery scheduler. Pending deliveries live in redb, in due order; this loop
//! takes the due ones within the concurrency limits (overall and per receiver host), records
//! the start of their attempts in one transaction, makes the requests, and records the outcomes
//! in batches. Nothing about a pending delivery is only in memory: after a crash the due index
//! still holds it (overdue), and the next start sends it at once.
//!
//! Deliveries are at least once (a crash between a receiver's 2xx and the record of it sends
//! the event again, with the same `webhook-id`) and unordered.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{Notify, mpsc, watch};

use super::client::{Answer, WebhookClient};
use super::event;
use super::sign::{self, Secret};
use super::url::WebhookUrl;
use super::vault::Vault;
use crate::ids::{DeliveryId, EventId, JobId, now_ms, random_bytes};
use crate::store::schema::{DeliveryRecord, DeliveryStatus};
use crate::store::{AttemptOutcome, NewDelivery, StartedAttempt, Store};

/// Entries of the due index looked at per pass; bounds a pass's work when the head of the
/// index is held up (its hosts at their limit).
const SCAN_PER_PASS: usize = 10_000;
/// Longest sleep between passes: a safety net; passes are normally woken by events.
const IDLE_PASS: Duration = Duration::from_secs(60);
/// When due deliveries are held back by the limits, the next pass comes at an outcome or after
/// this long.
const BLOCKED_PASS: Duration = Duration::from_millis(500);
/// Outcomes recorded per transaction at most.
const OUTCOME_BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Tls(#[from] crate::http::outbound::TlsError),
}

#[derive(Default)]
struct InFlight {
    ids: HashSet<u128>,
    per_host: HashMap<u64, usize>,
}

pub struct Deliveries {
    store: Store,
    vault: Arc<Vault>,
    client: WebhookClient,
    schedule_ms: Vec<u64>,
    max_in_flight: usize,
    max_per_host: usize,
    in_flight: Mutex<InFlight>,
    wake: Notify,
    outcomes: mpsc::UnboundedSender<AttemptOutcome>,
    outcomes_rx: Mutex<Option<mpsc::UnboundedReceiver<AttemptOutcome>>>,
    /// Set once by the composition root; absent in benchmarks that run deliveries alone.
    pub metrics: std::sync::OnceLock<Arc<crate::metrics::Metrics>>,
}

impl Deliveries {
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        cfg: &crate::config::WebhooksConfig,
    ) -> Result<Arc<Deliveries>, Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(Arc::new(Deliveries {
            store,
            vault,
            client: WebhookClient::new(cfg)?,
            schedule_ms: cfg
                .retry_schedule
                .iter()
                .map(|d| d.as_millis() as u64)
                .collect(),
            max_in_flight: cfg.max_in_flight,
            max_per_host: cfg.max_in_flight_per_host,
            in_flight: Mutex::new(InFlight::default()),
            wake: Notify::new(),
            outcomes: tx,
            outcomes_rx: Mutex::new(Some(rx)),
            metrics: std::sync::OnceLock::new(),
        }))
    }

    /// Checks a `webhook_url` at submission: its form, then every address its host resolves to
    /// against the target policy (the same check every attempt repeats).
    pub async fn check_url(&self, raw: &str) -> Result<WebhookUrl, UrlRefused> {
        let url = WebhookUrl::parse(raw).map_err(|e| UrlRefused::Invalid(e.to_string()))?;
        match url.ip() {
            Some(ip) => self
                .client
                .policy()
                .check(ip)
                .map_err(|e| UrlRefused::Target(e.to_string()))?,
            None => {
                let lookup =
                    super::client::resolve_checked(self.client.policy(), &url.host, url.port);
                match tokio::time::timeout(Duration::from_secs(5), lookup).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                        return Err(UrlRefused::Target(e.to_string()));
                    }
                    Ok(Err(e)) => {
                        return Err(UrlRefused::Invalid(format!(
                            "cannot resolve {}: {e}",
                            url.host
                        )));
                    }
                    Err(_) => {
                        return Err(UrlRefused::Invalid(format!(
                            "resolving {} took longer than 5 s",
                            url.host
                        )));
                    }
                }
            }
        }
        Ok(url)
    }

    /// The delivery of a job's final event, to be stored with the job's end. `outcome` is the
    /// result document or the error (code, message).
    pub fn new_delivery(
        &self,
        job: u128,
        project: u128,
        url: &str,
        outcome: Result<Value, (&str, &str)>,
        now_ms: u64,
    ) -> Option<NewDelivery> {
        let parsed = WebhookUrl::parse(url).ok()?;
        let id = DeliveryId::generate().ok()?.0;
        let event = EventId::generate().ok()?;
        let (kind, body) = event::job_event(event, JobId(job), now_ms, outcome);
        Some(NewDelivery {
            id,
            record: DeliveryRecord {
                project,
                job,
                event: event.0,
                event_type: kind.to_string(),
                url: url.to_string(),
                host: parsed.host_key(),
                body,
                created_at_ms: now_ms,
                status: DeliveryStatus::Pending,
                attempts: 0,
                schedule_pos: 0,
                next_attempt_ms: Some(now_ms + jittered(&self.schedule_ms, 0).unwrap_or(0)),
                finished_at_ms: None,
            },
        })
    }

    /// A delivery of an event that belongs to no job (`key.leaked`), signed and retried like
    /// any other.
    pub fn new_event_delivery(
        &self,
        project: u128,
        url: &str,
        event_type: &str,
        event: EventId,
        body: Vec<u8>,
        now_ms: u64,
    ) -> Option<NewDelivery> {
        let parsed = WebhookUrl::parse(url).ok()?;
        let id = DeliveryId::generate().ok()?.0;
        Some(NewDelivery {
            id,
            record: DeliveryRecord {
                project,
                job: 0,
                event: event.0,
                event_type: event_type.to_string(),
                url: url.to_string(),
                host: parsed.host_key(),
                body,
                created_at_ms: now_ms,
                status: DeliveryStatus::Pending,
                attempts: 0,
                schedule_pos: 0,
                next_attempt_ms: Some(now_ms + jittered(&self.schedule_ms, 0).unwrap_or(0)),
                finished_at_ms: None,
            },
        })
    }

    /// Makes a delivery pending again with a fresh schedule, first attempt at once.
    pub async fn redeliver(&self, id: u128) -> Result<Option<DeliveryRecord>, Error> {
        let now = now_ms();
        let rec = self.db(move |s| s.redeliver(id, now)).await?;
        self.wake();
        Ok(rec)
    }

    /// Tells the loop that something changed (a new delivery, a redelivery).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, crate::store::Error> + Send + 'static,
    ) -> Result<T, Error> {
        self.store.call(f).await.map_err(Error::from)
    }

    /// Starts the loop and the outcome recorder. Attempts left open by the last process get an
    /// outcome saying they were interrupted; their deliveries are overdue and go out first.
    pub async fn start(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        let now = now_ms();
        let closed = self.db(move |s| s.close_interrupted_attempts(now)).await?;
        let pending = self.db(|s| s.pending_deliveries()).await?;
        if pending > 0 {
            tracing::info!(pending, interrupted = closed, "webhook deliveries pending");
        }
        let rx = self
            .outcomes_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(rx) = rx {
            tokio::spawn(self.clone().record_loop(rx));
        }
        tokio::spawn(self.clone().dispatch_loop(shutdown));
        Ok(())
    }

    async fn dispatch_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let pause = match self.pass().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook scheduler pass failed");
                    BLOCKED_PASS
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// One pass: start what is due and allowed; returns how long to wait for the next one
    /// unless woken earlier.
    async fn pass(self: &Arc<Self>) -> Result<Duration, Error> {
        let now = now_ms();
        let (free, mut hosts, busy) = {
            let f = lock(&self.in_flight);
            (
                self.max_in_flight.saturating_sub(f.ids.len()),
                f.per_host.clone(),
                f.ids.clone(),
            )
        };
        if free == 0 {
            return Ok(IDLE_PASS);
        }
        let max_per_host = self.max_per_host;
        let mut held_back = false;
        let picked = self
            .db(move |s| {
                s.due_deliveries(now, SCAN_PER_PASS, free, |id, host| {
                    if busy.contains(&id) {
                        return false;
                    }
                    let n = hosts.entry(host).or_insert(0);
                    if *n >= max_per_host {
                        return false;
                    }
                    *n += 1;
                    true
                })
            })
            .await?;
        if !picked.is_empty() {
            let ids: Vec<u128> = picked.iter().map(|(id, _)| *id).collect();
            {
                let mut f = lock(&self.in_flight);
                for (id, host) in &picked {
                    f.ids.insert(*id);
                    *f.per_host.entry(*host).or_insert(0) += 1;
                }
            }
            let started = self.db(move |s| s.start_attempts(&ids, now)).await;
            let started = match started {
                Ok(s) => s,
                Err(e) => {
                    let mut f = lock(&self.in_flight);
                    for (id, host) in &picked {
                        release(&mut f, *id, *host);
                    }
                    return Err(e);
                }
            };
            let started_ids: HashSet<u128> = started.iter().map(|a| a.delivery).collect();
            {
                // Picked but no longer pending (deleted, settled meanwhile): not in flight.
                let mut f = lock(&self.in_flight);
                for (id, host) in &picked {
                    if !started_ids.contains(id) {
                        release(&mut f, *id, *host);
                    }
                }
            }
            for a in started {
                tokio::spawn(self.clone().attempt(a));
            }
            held_back = picked.len() == free;
        }
        let next = self.db(|s| s.next_due_ms()).await?;
        Ok(match next {
            _ if held_back => Duration::ZERO,
            Some(at) if at > now => Duration::from_millis(at - now).min(IDLE_PASS),
            // Due but held back by a host's limit or in flight: an outcome wakes the loop.
            Some(_) => BLOCKED_PASS,
            None => IDLE_PASS,
        })
    }

    async fn attempt(self: Arc<Self>, a: StartedAttempt) {
        let host = a.record.host;
        let answer = self.send(&a).await;
        let outcome = AttemptOutcome {
            delivery: a.delivery,
            number: a.number,
            finished_at_ms: now_ms(),
            status_code: answer.status,
            error: answer.error,
            response_excerpt: answer.excerpt,
        };
        tracing::debug!(
            delivery = %DeliveryId(a.delivery),
            attempt = a.number,
            status = ?outcome.status_code,
            error = ?outcome.error,
            ms = answer.latency.as_millis() as u64,
            "webhook attempt"
        );
        if let Some(m) = self.metrics.get() {
            m.delivery(match outcome.status_code {
                Some(c) if (200..300).contains(&c) => "success",
                Some(410) => "gone",
                _ => "failure",
            });
        }
        // The receiver is free for the next delivery now; the delivery itself stays in flight
        // until its outcome is stored, so no pass picks its old due entry meanwhile.
        release_host(&mut lock(&self.in_flight), host);
        self.wake();
        if self.outcomes.send(outcome).is_err() {
            // The recorder is gone (shutting down): the attempt stays open and is closed as
            // interrupted at the next start, which sends the delivery again.
            lock(&self.in_flight).ids.remove(&a.delivery);
        }
    }

    /// Signs with the project's active secrets (read per attempt, so a revoked secret stops
    /// signing at once) and POSTs.
    async fn send(&self, a: &StartedAttempt) -> Answer {
        let fail = |e: String| Answer {
            status: None,
            error: Some(e),
            excerpt: None,
            latency: Duration::ZERO,
        };
        let project = a.record.project;
        let secrets = match self.db(move |s| s.active_webhook_secrets(project)).await {
            Ok(s) => s,
            Err(e) => return fail(format!("cannot read the signing secrets: {e}")),
        };
        let secrets: Vec<Secret> = secrets
            .iter()
            .filter_map(|(id, r)| self.vault.open_secret(*id, &r.sealed).ok())
            .collect();
        if secrets.is_empty() {
            return fail(
                "the project has no active webhook signing secret; create one and the delivery is retried"
                    .into(),
            );
        }
        let url = match WebhookUrl::parse(&a.record.url) {
            Ok(u) => u,
            Err(e) => return fail(e.to_string()),
        };
        let id = EventId(a.record.event).to_string();
        let signed = sign::sign(&secrets, &id, now_ms() / 1000, &a.record.body);
        let mut headers: Vec<(&str, &str)> = signed.headers().to_vec();
        headers.push(("x-tonearm-event", &a.record.event_type));
        self.client
            .post(&url, &headers, Bytes::from(a.record.body.clone()))
            .await
    }

    async fn store_outcomes(&self, batch: Vec<AttemptOutcome>) -> Result<(), Error> {
        let schedule = self.schedule_ms.clone();
        self.db(move |s| s.record_outcomes(&batch, |pos| jittered(&schedule, pos)))
            .await
    }

    async fn record_loop(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<AttemptOutcome>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < OUTCOME_BATCH {
                match rx.try_recv() {
                    Ok(o) => batch.push(o),
                    Err(_) => break,
                }
            }
            // Until the outcome is stored the delivery stays in flight, so a pass cannot pick
            // its old due entry again.
            while let Err(e) = self.store_outcomes(batch.clone()).await {
                tracing::warn!(error = %e, "cannot record webhook outcomes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            {
                let mut f = lock(&self.in_flight);
                for o in &batch {
                    f.ids.remove(&o.delivery);
                }
            }
            self.wake();
        }
    }
}

/// Entry `pos` of `schedule_ms` plus up to 10% of random jitter, so retries to one receiver
/// do not arrive in lockstep; `None` past the end.
fn jittered(schedule_ms: &[u64], pos: usize) -> Option<u64> {
    let d = *schedule_ms.get(pos)?;
    let mut b = [0u8; 8];
    let r = random_bytes(&mut b).map_or(0, |()| u64::from_le_bytes(b));
    Some(match d / 10 {
        0 => d,
        spread => d + r % (spread + 1),
    })
}

/// Why a `webhook_url` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefused {
    /// Not a usable http(s) URL, or its host does not resolve.
    Invalid(String),
    /// It resolves to an address the target policy refuses.
    Target(String),
}

/// Gives back a delivery picked but not started.
fn release(f: &mut InFlight, id: u128, host: u64) {
    if f.ids.remove(&id) {
        release_host(f, host);
    }
}

fn release_host(f: &mut InFlight, host: u64) {
    if let Some(n) = f.per_host.get_mut(&host) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            f.per_host.remove(&host);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
