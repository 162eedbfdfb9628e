//! Webhook deliveries and their attempts. A delivery is written in the same transaction that
//! finishes its job; each attempt is written before its request goes out and completed with its
//! outcome, in batches (one transaction for many attempts), so the delivery rate is not bound to
//! one disk sync per attempt.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::schema::{AttemptRecord, DeliveryRecord, DeliveryStatus, table};
use super::{Page, Result, Store, get_in, put};

/// A delivery to create with its job's final state.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: u128,
    pub record: DeliveryRecord,
}

/// An attempt that is recorded as started and may now be made.
#[derive(Debug, Clone)]
pub struct StartedAttempt {
    pub delivery: u128,
    pub number: u32,
    pub record: DeliveryRecord,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery: u128,
    pub number: u32,
    pub finished_at_ms: u64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

impl AttemptOutcome {
    fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }

    fn gone(&self) -> bool {
        self.status_code == Some(410)
    }
}

pub(super) fn insert_delivery_in(txn: &WriteTransaction, d: &NewDelivery) -> Result<()> {
    put(txn, table::DELIVERIES, d.id, &d.record)?;
    if let Some(due) = d.record.next_attempt_ms {
        txn.open_table(table::DELIVERIES_DUE)?
            .insert((due, d.id), d.record.host)?;
    }
    txn.open_table(table::DELIVERIES_BY_PROJECT)?
        .insert((d.record.project, d.id), ())?;
    txn.open_table(table::DELIVERIES_BY_JOB)?
        .insert((d.record.job, d.id), ())?;
    Ok(())
}

/// Removes every delivery of `job` with its attempts and due entries.
pub(super) fn delete_job_deliveries_in(txn: &WriteTransaction, job: u128) -> Result<()> {
    let ids: Vec<u128> = {
        let idx = txn.open_table(table::DELIVERIES_BY_JOB)?;
        let mut ids = Vec::new();
        for e in idx.range((job, 0)..=(job, u128::MAX))? {
            ids.push(e?.0.value().1);
        }
        ids
    };
    let mut deliveries = txn.open_table(table::DELIVERIES)?;
    let mut due = txn.open_table(table::DELIVERIES_DUE)?;
    let mut by_project = txn.open_table(table::DELIVERIES_BY_PROJECT)?;
    let mut by_job = txn.open_table(table::DELIVERIES_BY_JOB)?;
    let mut attempts = txn.open_table(table::ATTEMPTS)?;
    for id in ids {
        let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", id)?;
        if let Some(r) = rec {
            if let Some(at) = r.next_attempt_ms {
                due.remove((at, id))?;
            }
            by_project.remove((r.project, id))?;
            for n in 1..=r.attempts {
                attempts.remove((id, n))?;
            }
        }
        deliveries.remove(id)?;
        by_job.remove((job, id))?;
    }
    Ok(())
}

impl Store {
    /// Stores deliveries without a job transaction (benchmarks and tools; jobs store theirs in
    /// `finish_job`).
    pub fn insert_deliveries(&self, deliveries: &[NewDelivery]) -> Result<()> {
        let txn = self.begin_write()?;
        for d in deliveries {
            insert_delivery_in(&txn, d)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Pending deliveries due at `now_ms`, oldest due first: up to `want` of them for which
    /// `take(id, host)` says yes, looking at no more than `scan` entries.
    pub fn due_deliveries(
        &self,
        now_ms: u64,
        scan: usize,
        want: usize,
        mut take: impl FnMut(u128, u64) -> bool,
    ) -> Result<Vec<(u128, u64)>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::DELIVERIES_DUE)?;
        let mut out = Vec::new();
        for e in t.range((0, 0)..=(now_ms, u128::MAX))?.take(scan) {
            let (k, v) = e?;
            let (_, id) = k.value();
            let host = v.value();
            if take(id, host) {
                out.push((id, host));
                if out.len() == want {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// When the earliest pending delivery is due.
    pub fn next_due_ms(&self) -> Result<Option<u64>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::DELIVERIES_DUE)?;
        Ok(t.first()?.map(|(k, _)| k.value().0))
    }

    /// Pending deliveries in all.
    pub fn pending_deliveries(&self) -> Result<u64> {
        let txn = self.begin_read()?;
        Ok(txn.open_table(table::DELIVERIES_DUE)?.len()?)
    }

    /// Records the start of one attempt for each of `ids` that is still pending, in one
    /// transaction, before any request goes out.
    pub fn start_attempts(&self, ids: &[u128], now_ms: u64) -> Result<Vec<StartedAttempt>> {
        let txn = self.begin_write()?;
        let mut out = Vec::new();
        {
            let mut deliveries = txn.open_table(table::DELIVERIES)?;
            let mut attempts = txn.open_table(table::ATTEMPTS)?;
            for &id in ids {
                let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", id)?;
                let Some(mut rec) = rec else { continue };
                if rec.status != DeliveryStatus::Pending {
                    continue;
                }
                rec.attempts += 1;
                rec.schedule_pos += 1;
                let attempt = AttemptRecord {
                    started_at_ms: now_ms,
                    finished_at_ms: None,
                    status_code: None,
                    error: None,
                    response_excerpt: None,
                };
                let bytes = super::codec::encode(&attempt)?;
                attempts.insert((id, rec.attempts), bytes.as_slice())?;
                let bytes = super::codec::encode(&rec)?;
                deliveries.insert(id, bytes.as_slice())?;
                out.push(StartedAttempt {
                    delivery: id,
                    number: rec.attempts,
                    record: rec,
                });
            }
        }
        txn.commit()?;
        Ok(out)
    }

    /// Completes attempts and moves each delivery on: done on a 2xx, given up on 410 or when
    /// the schedule is used up, otherwise due again after `delay_ms(schedule position)` (`None`
    /// past the schedule's end).
    pub fn record_outcomes(
        &self,
        outcomes: &[AttemptOutcome],
        delay_ms: impl Fn(usize) -> Option<u64>,
    ) -> Result<()> {
        let txn = self.begin_write()?;
        {
            let mut deliveries = txn.open_table(table::DELIVERIES)?;
            let mut attempts = txn.open_table(table::ATTEMPTS)?;
            let mut due = txn.open_table(table::DELIVERIES_DUE)?;
            for o in outcomes {
                let attempt: Option<AttemptRecord> = match attempts.get((o.delivery, o.number))? {
                    Some(v) => Some(super::codec::decode("attempts", v.value())?),
                    None => None,
                };
                let Some(mut attempt) = attempt else { continue };
                attempt.finished_at_ms = Some(o.finished_at_ms);
                attempt.status_code = o.status_code;
                attempt.error = o.error.clone();
                attempt.response_excerpt = o.response_excerpt.clone();
                let bytes = super::codec::encode(&attempt)?;
                attempts.insert((o.delivery, o.number), bytes.as_slice())?;

                let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", o.delivery)?;
                let Some(mut rec) = rec else { continue };
                if rec.status != DeliveryStatus::Pending {
                    continue;
                }
                if let Some(at) = rec.next_attempt_ms {
                    due.remove((at, o.delivery))?;
                }
                let retry = delay_ms(rec.schedule_pos as usize);
                rec.next_attempt_ms = match retry {
                    Some(delay) if !o.succeeded() && !o.gone() => {
                        let at = o.finished_at_ms + delay;
                        due.insert((at, o.delivery), rec.host)?;
                        Some(at)
                    }
                    _ => {
                        rec.status = if o.succeeded() {
                            DeliveryStatus::Succeeded
                        } else {
                            DeliveryStatus::Failed
                        };
                        rec.finished_at_ms = Some(o.finished_at_ms);
                        None
                    }
                };
                let bytes = super::codec::encode(&rec)?;
                deliveries.insert(o.delivery, bytes.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Attempts that were out when the process stopped get an outcome saying so. Their
    /// deliveries are still in the due index, overdue, and go out again at once.
    pub fn close_interrupted_attempts(&self, now_ms: u64) -> Result<usize> {
        let txn = self.begin_write()?;
        let mut closed = 0;
        {
            let due = txn.open_table(table::DELIVERIES_DUE)?;
            let deliveries = txn.open_table(table::DELIVERIES)?;
            let mut attempts = txn.open_table(table::ATTEMPTS)?;
            let mut open = Vec::new();
            for e in due.iter()? {
                let (k, _) = e?;
                let id = k.value().1;
                let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", id)?;
                if let Some(r) = rec
                    && r.attempts > 0
                {
                    open.push((id, r.attempts));
                }
            }
            for key in open {
                let attempt: Option<AttemptRecord> = match attempts.get(key)? {
                    Some(v) => Some(super::codec::decode("attempts", v.value())?),
                    None => None,
                };
                if let Some(mut a) = attempt
                    && a.finished_at_ms.is_none()
                {
                    a.finished_at_ms = Some(now_ms);
                    a.error = Some("interrupted: the server stopped during this attempt".into());
                    let bytes = super::codec::encode(&a)?;
                    attempts.insert(key, bytes.as_slice())?;
                    closed += 1;
                }
            }
        }
        txn.commit()?;
        Ok(closed)
    }

    pub fn get_delivery(&self, id: u128) -> Result<Option<DeliveryRecord>> {
        self.get(table::DELIVERIES, "deliveries", id)
    }

    /// A delivery's attempts, oldest first.
    pub fn delivery_attempts(&self, id: u128) -> Result<Vec<(u32, AttemptRecord)>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::ATTEMPTS)?;
        let mut out = Vec::new();
        for e in t.range((id, 0)..=(id, u32::MAX))? {
            let (k, v) = e?;
            out.push((k.value().1, super::codec::decode("attempts", v.value())?));
        }
        Ok(out)
    }

    /// A project's deliveries, newest first, strictly older than `before`; optionally only one
    /// job's and one status.
    pub fn list_deliveries(
        &self,
        project: u128,
        job: Option<u128>,
        status: Option<DeliveryStatus>,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Page<DeliveryRecord>> {
        let txn = self.begin_read()?;
        let deliveries = txn.open_table(table::DELIVERIES)?;
        // A job's deliveries through the job index, else the project's through its index.
        let (index, owner) = match job {
            Some(j) => (table::DELIVERIES_BY_JOB, j),
            None => (table::DELIVERIES_BY_PROJECT, project),
        };
        let idx = txn.open_table(index)?;
        let end = before.unwrap_or(u128::MAX);
        let mut items = Vec::new();
        let mut next = None;
        for e in idx.range((owner, 0)..(owner, end))?.rev() {
            let id = e?.0.value().1;
            let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", id)?;
            let Some(rec) = rec else { continue };
            if rec.project != project || status.is_some_and(|s| s != rec.status) {
                continue;
            }
            if items.len() == limit {
                next = items.last().map(|(id, _)| *id);
                break;
            }
            items.push((id, rec));
        }
        Ok(Page { items, next })
    }

    /// The distinct URLs a project's most recent deliveries went to (at most `max_urls`, from
    /// its newest `scan` deliveries): where its receivers are, for events that no job names.
    pub fn recent_webhook_urls(
        &self,
        project: u128,
        scan: usize,
        max_urls: usize,
    ) -> Result<Vec<String>> {
        let txn = self.begin_read()?;
        let deliveries = txn.open_table(table::DELIVERIES)?;
        let idx = txn.open_table(table::DELIVERIES_BY_PROJECT)?;
        let mut urls: Vec<String> = Vec::new();
        for e in idx
            .range((project, 0)..=(project, u128::MAX))?
            .rev()
            .take(scan)
        {
            let id = e?.0.value().1;
            let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", id)?;
            if let Some(r) = rec
                && !urls.contains(&r.url)
            {
                urls.push(r.url);
                if urls.len() == max_urls {
                    break;
                }
            }
        }
        Ok(urls)
    }

    /// Makes a delivery pending again with a fresh retry schedule, due at `due_ms`. Returns the
    /// updated record; `None` when there is no such delivery.
    pub fn redeliver(&self, id: u128, due_ms: u64) -> Result<Option<DeliveryRecord>> {
        let txn = self.begin_write()?;
        let out = {
            let mut deliveries = txn.open_table(table::DELIVERIES)?;
            let mut due = txn.open_table(table::DELIVERIES_DUE)?;
            let rec: Option<DeliveryRecord> = get_in(&deliveries, "deliveries", id)?;
            match rec {
                None => None,
                Some(mut rec) => {
                    if let Some(at) = rec.next_attempt_ms {
                        due.remove((at, id))?;
                    }
                    rec.status = DeliveryStatus::Pending;
                    rec.schedule_pos = 0;
                    rec.next_attempt_ms = Some(due_ms);
                    rec.finished_at_ms = None;
                    due.insert((due_ms, id), rec.host)?;
                    let bytes = super::codec::encode(&rec)?;
                    deliveries.insert(id, bytes.as_slice())?;
                    Some(rec)
                }
            }
        };
        txn.commit()?;
        Ok(out)
    }
}
