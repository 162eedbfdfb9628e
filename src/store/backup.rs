//! A consistent copy of the database while the server keeps serving: one redb read transaction
//! (a fixed MVCC snapshot; writers go on committing beside it) whose tables are copied row by
//! row into a fresh database file. Copying the live file's bytes instead could tear a page that
//! a concurrent commit is writing; a read transaction cannot.

use std::path::Path;

use redb::{Database, MultimapTableHandle, ReadableTable, TableHandle};

use super::schema::{JobRecord, table};
use super::{Error, Result, Store, decode};

/// What a snapshot holds besides its rows.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub schema_version: u64,
    pub rows: u64,
    /// Upload files (names in the uploads directory) that jobs in the snapshot still refer to.
    pub uploads: Vec<String>,
}

/// Copies every listed table; the table list is checked against the database's own, so a table
/// added to the schema without being added here makes backups fail loudly instead of silently
/// leaving it out.
macro_rules! copy_tables {
    ($src:expr, $dst:expr, $rows:expr, $names:expr, $($t:expr),* $(,)?) => {{
        $(
            {
                let from = $src.open_table($t)?;
                let mut to = $dst.open_table($t)?;
                for entry in from.iter()? {
                    let (k, v) = entry?;
                    to.insert(k.value(), v.value())?;
                    $rows += 1;
                }
                $names.push($t.name().to_string());
            }
        )*
    }};
}

impl Store {
    /// Writes a consistent copy of the database to `dest` (which must not exist).
    pub fn snapshot_to(&self, dest: &Path) -> Result<SnapshotInfo> {
        let src = self.begin_read()?;
        let out = Database::builder()
            .create(dest)
            .map_err(|e| Error::Db(e.into()))?;
        let dst = out.begin_write()?;
        let mut rows = 0u64;
        let mut names: Vec<String> = Vec::new();
        copy_tables!(
            src,
            dst,
            rows,
            names,
            table::META,
            table::ACCOUNTS,
            table::PROJECTS,
            table::PROJECTS_BY_ACCOUNT,
            table::KEYS,
            table::KEYS_BY_ACCOUNT,
            table::TOKENS,
            table::USAGE,
            table::USAGE_DAILY,
            table::LEDGER,
            table::JOBS,
            table::JOBS_BY_PROJECT,
            table::IDEMPOTENCY,
            table::WEBHOOK_SECRETS,
            table::WEBHOOK_SECRETS_BY_PROJECT,
            table::DELIVERIES,
            table::DELIVERIES_DUE,
            table::DELIVERIES_BY_PROJECT,
            table::DELIVERIES_BY_JOB,
            table::ATTEMPTS,
            table::AUDIT,
            table::SOUNDS,
            table::SOUNDS_BY_SHA256,
            table::SOUND_WAVEFORMS,
        );
        for t in src.list_tables()? {
            if !names.iter().any(|n| n == t.name()) {
                return Err(Error::Encode(format!(
                    "table {} is not covered by the backup; this build cannot back it up",
                    t.name()
                )));
            }
        }
        if let Some(t) = src.list_multimap_tables()?.next() {
            return Err(Error::Encode(format!(
                "table {} is not covered by the backup; this build cannot back it up",
                t.name()
            )));
        }
        let schema_version = src
            .open_table(table::META)?
            .get("schema_version")?
            .map_or(super::schema::SCHEMA_VERSION, |v| v.value());
        let mut uploads = Vec::new();
        for entry in src.open_table(table::JOBS)?.iter()? {
            let (_, v) = entry?;
            let job: JobRecord = decode("jobs", v.value())?;
            if let Some(name) = job.upload {
                uploads.push(name);
            }
        }
        dst.commit()?;
        drop(out);
        Ok(SnapshotInfo {
            schema_version,
            rows,
            uploads,
        })
    }

    /// Size of the database file in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.inner.path).map_or(0, |m| m.len())
    }
}
