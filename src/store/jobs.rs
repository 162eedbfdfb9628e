//! Job records: insertion together with its credit charge and idempotency entry, state
//! changes, listing, deletion and retention. Each operation is one write transaction.

use redb::ReadableTable;

use super::deliveries::{NewDelivery, delete_job_deliveries_in, insert_delivery_in};
use super::schema::{JobRecord, JobStatus, table};
use super::{CreditChange, Error, Page, Result, Store, credits_in, get_in, put, update_in};

/// How long an Idempotency-Key maps to its job.
pub const IDEMPOTENCY_MS: u64 = 24 * 3600 * 1000;

/// What `insert_job` needs beside the record.
pub struct InsertJob {
    pub id: u128,
    pub record: JobRecord,
    /// SHA-256 of the Idempotency-Key, as two halves.
    pub idempotency: Option<(u128, u128)>,
    /// (month index, monthly grant) when the account's plan keeps a credit balance: one credit
    /// is taken in the same transaction.
    pub charge: Option<(u32, i64)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum JobInserted {
    New,
    /// The Idempotency-Key was used for this job within 24 hours; nothing was written.
    Existing(u128),
}

/// The live job an idempotency entry names, if the entry is younger than 24 hours.
fn idempotent_job(
    keys: &impl ReadableTable<(u128, u128, u128), (u128, u64)>,
    jobs: &impl ReadableTable<u128, &'static [u8]>,
    project: u128,
    key: (u128, u128),
    now_ms: u64,
) -> Result<Option<u128>> {
    let found = keys.get((project, key.0, key.1))?.map(|v| v.value());
    Ok(match found {
        Some((job, at)) if now_ms.saturating_sub(at) < IDEMPOTENCY_MS => {
            jobs.get(job)?.is_some().then_some(job)
        }
        _ => None,
    })
}

impl Store {
    /// The job an Idempotency-Key already names, if it is younger than 24 hours.
    pub fn job_for_idempotency_key(
        &self,
        project: u128,
        key: (u128, u128),
        now_ms: u64,
    ) -> Result<Option<u128>> {
        let txn = self.begin_read()?;
        idempotent_job(
            &txn.open_table(table::IDEMPOTENCY)?,
            &txn.open_table(table::JOBS)?,
            project,
            key,
            now_ms,
        )
    }

    /// Stores a new queued job, its project index entry, its idempotency entry and its credit
    /// charge atomically.
    pub fn insert_job(&self, job: InsertJob, now_ms: u64) -> Result<JobInserted> {
        let txn = self.begin_write()?;
        if let Some(k) = job.idempotency
            && let Some(existing) = idempotent_job(
                &txn.open_table(table::IDEMPOTENCY)?,
                &txn.open_table(table::JOBS)?,
                job.record.project,
                k,
                now_ms,
            )?
        {
            return Ok(JobInserted::Existing(existing));
        }
        let mut record = job.record;
        if let Some((month, grant)) = job.charge {
            let charge = CreditChange {
                kind: "analysis".into(),
                amount: -1,
                reference: Some(crate::ids::JobId(job.id).to_string()),
                note: None,
            };
            match credits_in(
                &txn,
                record.account,
                month,
                Some(grant),
                Some(charge),
                now_ms,
            ) {
                Ok(_) => record.credit_charged = true,
                Err(e @ Error::InsufficientCredits { .. }) => {
                    txn.commit()?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        put(&txn, table::JOBS, job.id, &record)?;
        txn.open_table(table::JOBS_BY_PROJECT)?
            .insert((record.project, job.id), ())?;
        if let Some(k) = job.idempotency {
            txn.open_table(table::IDEMPOTENCY)?
                .insert((record.project, k.0, k.1), (job.id, now_ms))?;
        }
        txn.commit()?;
        Ok(JobInserted::New)
    }

    pub fn get_job(&self, id: u128) -> Result<Option<JobRecord>> {
        self.get(table::JOBS, "jobs", id)
    }

    pub fn update_job(
        &self,
        id: u128,
        change: impl FnOnce(&mut JobRecord),
    ) -> Result<Option<JobRecord>> {
        self.update(table::JOBS, "jobs", id, change)
    }

    /// Puts back jobs this process took up but did not finish because it is stopping: they are
    /// queued again, and their interrupted start is not counted against `attempts`. Jobs that
    /// finished meanwhile are left alone. Returns how many were put back.
    pub fn release_jobs(&self, ids: &[u128]) -> Result<usize> {
        let txn = self.begin_write()?;
        let mut released = 0;
        for &id in ids {
            let mut was_running = false;
            update_in::<JobRecord>(&txn, table::JOBS, "jobs", id, |j| {
                if j.status == JobStatus::Running {
                    was_running = true;
                    j.status = JobStatus::Queued;
                    j.attempts = j.attempts.saturating_sub(1);
                }
            })?;
            released += usize::from(was_running);
        }
        txn.commit()?;
        Ok(released)
    }

    /// Ends a job: applies `change`, refunds the credit when the job failed after one was
    /// taken, and stores the webhook delivery of its final event — all in one transaction, so
    /// a finished job always has its delivery.
    pub fn finish_job(
        &self,
        id: u128,
        change: impl FnOnce(&mut JobRecord),
        delivery: Option<NewDelivery>,
        month: u32,
        now_ms: u64,
    ) -> Result<Option<JobRecord>> {
        let txn = self.begin_write()?;
        let Some(rec) = update_in::<JobRecord>(&txn, table::JOBS, "jobs", id, change)? else {
            return Ok(None);
        };
        if let Some(d) = &delivery {
            insert_delivery_in(&txn, d)?;
        }
        if rec.status == JobStatus::Failed && rec.credit_charged {
            let refund = CreditChange {
                kind: "refund".into(),
                amount: 1,
                reference: Some(crate::ids::JobId(id).to_string()),
                note: rec.error_code.clone(),
            };
            match credits_in(&txn, rec.account, month, None, Some(refund), now_ms) {
                Ok(_) | Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
            update_in::<JobRecord>(&txn, table::JOBS, "jobs", id, |j| j.credit_charged = false)?;
        }
        txn.commit()?;
        Ok(Some(rec))
    }

    /// Every job, in creation order, through `pick`: the one full scan the start-up recovery
    /// and the retention sweep share.
    fn scan_jobs<T>(&self, mut pick: impl FnMut(u128, JobRecord) -> Option<T>) -> Result<Vec<T>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::JOBS)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            let rec: JobRecord = super::codec::decode("jobs", v.value())?;
            out.extend(pick(k.value(), rec));
        }
        Ok(out)
    }

    /// Queued and running jobs in creation order: the work to resume after a restart.
    pub fn unfinished_jobs(&self) -> Result<Vec<(u128, JobRecord)>> {
        self.scan_jobs(|id, rec| (!rec.status.is_finished()).then_some((id, rec)))
    }

    /// A project's jobs, newest first, strictly older than `before`, optionally of one status.
    pub fn list_jobs(
        &self,
        project: u128,
        status: Option<JobStatus>,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Page<JobRecord>> {
        let txn = self.begin_read()?;
        let idx = txn.open_table(table::JOBS_BY_PROJECT)?;
        let jobs = txn.open_table(table::JOBS)?;
        let end = before.unwrap_or(u128::MAX);
        let mut items = Vec::new();
        let mut next = None;
        for entry in idx.range((project, 0)..(project, end))?.rev() {
            let (k, _) = entry?;
            let id = k.value().1;
            let Some(rec): Option<JobRecord> = get_in(&jobs, "jobs", id)? else {
                continue;
            };
            if status.is_some_and(|s| s != rec.status) {
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

    /// Deletes a job, its index entry and its webhook deliveries (their bodies hold the
    /// result); returns the record so the caller can remove its file.
    pub fn delete_job(&self, id: u128) -> Result<Option<JobRecord>> {
        let txn = self.begin_write()?;
        let rec: Option<JobRecord> = get_in(&txn.open_table(table::JOBS)?, "jobs", id)?;
        if let Some(r) = &rec {
            txn.open_table(table::JOBS)?.remove(id)?;
            txn.open_table(table::JOBS_BY_PROJECT)?
                .remove((r.project, id))?;
            delete_job_deliveries_in(&txn, id)?;
        }
        txn.commit()?;
        Ok(rec)
    }

    /// Ids of finished jobs that ended before `cutoff_ms` (retention).
    pub fn expired_jobs(&self, cutoff_ms: u64) -> Result<Vec<u128>> {
        self.scan_jobs(|id, rec| {
            (rec.status.is_finished() && rec.finished_at_ms.is_some_and(|f| f < cutoff_ms))
                .then_some(id)
        })
    }

    /// Upload file names still needed: those of queued and running jobs, and of finished jobs
    /// whose upload is kept.
    pub fn referenced_uploads(&self) -> Result<Vec<String>> {
        self.scan_jobs(|_, rec| rec.upload)
    }

    /// Forgets Idempotency-Keys older than 24 hours.
    pub fn purge_idempotency(&self, now_ms: u64) -> Result<()> {
        let txn = self.begin_write()?;
        txn.open_table(table::IDEMPOTENCY)?
            .retain(|_, (_, at)| now_ms.saturating_sub(at) < IDEMPOTENCY_MS)?;
        txn.commit()?;
        Ok(())
    }
}
