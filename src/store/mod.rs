//! The database: one redb file in the data dir, opened by one process at a time. Typed accessors,
//! one write transaction per logical operation. Synchronous: async callers wrap calls in
//! `spawn_blocking`. Knows nothing of HTTP, scopes or audio.

mod accounts;
pub mod audit;
pub mod backup;
pub mod codec;
mod credits;
mod deliveries;
pub mod disk;
mod jobs;
mod keys;
mod library;
mod projects;
pub mod schema;
mod webhooks;

pub use credits::CreditChange;
use credits::credits_in;
pub use deliveries::{AttemptOutcome, NewDelivery, StartedAttempt};
pub use jobs::{InsertJob, JobInserted};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use codec::{Record, decode, encode};
use schema::table;

pub const DB_FILE: &str = "tonearm.redb";

/// redb's page cache. Its default (1 GiB) would let resident memory grow with the database
/// (stored results, a large webhook backlog); the hot paths read from memory-resident indexes,
/// so a modest cache keeps the server's footprint bounded at no cost to them.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the data directory {0} is in use by another tonearm process; stop it first (a data \
         directory can be opened by one process at a time)"
    )]
    Locked(PathBuf),
    #[error("cannot create data directory {path}: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "the data directory {path} is writable by other users (mode {mode:o}); anyone who can \
         write there can replace the database. Run `chmod 700 {path}` and start again"
    )]
    UnsafePermissions { path: PathBuf, mode: u32 },
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    #[error("stored record in table {table} is corrupt")]
    Corrupt { table: &'static str },
    #[error("stored record in table {table} has unknown format version {version}; upgrade tonearm")]
    UnknownVersion { table: &'static str, version: u8 },
    #[error("cannot encode record: {0}")]
    Encode(String),
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Exists,
    #[error("limit of {0} reached")]
    LimitReached(usize),
    #[error("insufficient credits: balance {balance}")]
    InsufficientCredits { balance: i64 },
    #[error("database task stopped: {0}")]
    Task(String),
    #[error("the database is unavailable after a failed write (disk full?); retry shortly")]
    Unavailable,
    #[error("a sound with id {0} exists")]
    SoundIdTaken(String),
    #[error("the same file is already in the library as sound {0}")]
    SoundDuplicate(String),
}

impl Error {
    /// A failure after which redb refuses every operation until the file is opened again: an
    /// I/O error (typically a full disk) or the "previous I/O error" that follows it.
    pub fn needs_reopen(&self) -> bool {
        matches!(
            self,
            Error::Db(redb::Error::Io(_) | redb::Error::PreviousIo)
        )
    }

    /// Whether the client should be told to retry: the storage is failing, not the request.
    pub fn is_storage_unavailable(&self) -> bool {
        self.needs_reopen() || matches!(self, Error::Unavailable)
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self { Error::Db(e.into()) }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub type Result<T> = std::result::Result<T, Error>;

/// One page of a listing: items in id order and the id to pass as `after` for the next page.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(u128, T)>,
    pub next: Option<u128>,
}

/// Handle to the open database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Handle>,
    /// An audit entry waiting for this handle's next committed write transaction (see
    /// `audited`).
    audit: Option<Arc<PendingAudit>>,
}

/// The audit entry of a change, written by the write transaction that makes the change.
type PendingAudit = Mutex<Option<(u128, schema::AuditRecord)>>;

/// A write transaction of a `Store` handle. Committing it also writes the handle's pending
/// audit entry, inside the same transaction.
pub(crate) struct WriteTxn<'a> {
    txn: WriteTransaction,
    audit: Option<&'a PendingAudit>,
}

impl std::ops::Deref for WriteTxn<'_> {
    type Target = WriteTransaction;
    fn deref(&self) -> &WriteTransaction {
        &self.txn
    }
}

impl WriteTxn<'_> {
    pub(crate) fn commit(self) -> Result<()> {
        let Some(slot) = self.audit else {
            self.txn.commit()?;
            return Ok(());
        };
        let mut pending = match slot.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((id, rec)) = pending.as_ref() {
            put(&self.txn, table::AUDIT, *id, rec)?;
        }
        self.txn.commit()?;
        // Only once committed: a failed commit leaves the entry unwritten with the change.
        pending.take();
        Ok(())
    }
}

/// The database behind every clone of a `Store`. redb refuses every operation after one failed
/// write (a full disk, an I/O error) until the file is opened again, so the handle can put a
/// fresh `Database` in place once that happens: the server recovers when space returns instead
/// of failing until it is restarted.
struct Handle {
    path: PathBuf,
    db: RwLock<Option<Arc<Database>>>,
    /// Set when an operation failed in a way that leaves redb needing a reopen.
    failed: AtomicBool,
}

type IdTable = TableDefinition<'static, u128, &'static [u8]>;

impl Store {
    /// Runs `f` on the blocking thread pool: redb calls block (a commit waits for the disk), so
    /// async code reaches the store through here.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.watch(f(&store)))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Passes `r` through, noting a failure after which redb needs the file opened again.
    pub fn watch<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && e.needs_reopen()
            && !self.inner.failed.swap(true, Ordering::AcqRel)
        {
            tracing::error!(error = %e, "database write failed; writes are refused until it can be reopened");
        }
        r
    }

    fn begin_write(&self) -> Result<WriteTxn<'_>> {
        let db = self.database()?;
        let txn = self.watch(db.begin_write().map_err(Error::from))?;
        Ok(WriteTxn {
            txn,
            audit: self.audit.as_deref(),
        })
    }

    /// A handle on the same database whose next committed write transaction also writes `entry`
    /// to the audit log with id `id`. A change to credentials or money and its audit entry so
    /// commit together: a crash loses both or neither. A call that commits nothing (a refused
    /// change, an unknown id) writes no entry.
    pub fn audited(&self, id: u128, entry: schema::AuditRecord) -> Store {
        Store {
            inner: self.inner.clone(),
            audit: Some(Arc::new(Mutex::new(Some((id, entry))))),
        }
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction> {
        let db = self.database()?;
        self.watch(db.begin_read().map_err(Error::from))
    }

    /// The open database, reopened first after a failure.
    fn database(&self) -> Result<Arc<Database>> {
        if !self.inner.failed.load(Ordering::Acquire)
            && let Some(db) = lock_read(&self.inner.db).as_ref()
        {
            return Ok(db.clone());
        }
        self.reopen()
    }

    /// Closes and opens the database file again (redb repairs it on open). Only possible once no
    /// other operation holds the old handle; until then, and while the disk is still full,
    /// callers get `Error::Unavailable` and may retry.
    fn reopen(&self) -> Result<Arc<Database>> {
        let mut slot = match self.inner.db.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !self.inner.failed.load(Ordering::Acquire)
            && let Some(db) = slot.as_ref()
        {
            return Ok(db.clone());
        }
        if let Some(old) = slot.take() {
            if Arc::strong_count(&old) > 1 {
                *slot = Some(old);
                return Err(Error::Unavailable);
            }
            drop(old);
        }
        match open_database(&self.inner.path) {
            Ok(db) => {
                let db = Arc::new(db);
                *slot = Some(db.clone());
                self.inner.failed.store(false, Ordering::Release);
                tracing::info!("database reopened; writes are accepted again");
                Ok(db)
            }
            Err(e) => {
                tracing::warn!(error = %e, "database cannot be reopened yet");
                Err(Error::Unavailable)
            }
        }
    }

    /// Opens (creating if needed) the database in `data_dir`. Fails fast with `Error::Locked` when
    /// another process holds it: redb takes an exclusive file lock.
    pub fn open(data_dir: &Path) -> Result<Store> {
        let data_dir = &prepare_data_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let db = match open_database(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(Error::Locked(data_dir.to_path_buf()));
            }
            Err(e) => return Err(Error::Db(e.into())),
        };
        let store = Store {
            inner: Arc::new(Handle {
                path,
                db: RwLock::new(Some(Arc::new(db))),
                failed: AtomicBool::new(false),
            }),
            audit: None,
        };
        store.init()?;
        Ok(store)
    }

    fn init(&self) -> Result<()> {
        let txn = self.begin_write()?;
        {
            let mut meta = txn.open_table(table::META)?;
            if meta.get("schema_version")?.is_none() {
                meta.insert("schema_version", schema::SCHEMA_VERSION)?;
            }
            // Create every table so readers never meet a missing one.
            txn.open_table(table::ACCOUNTS)?;
            txn.open_table(table::PROJECTS)?;
            txn.open_table(table::PROJECTS_BY_ACCOUNT)?;
            txn.open_table(table::KEYS)?;
            txn.open_table(table::KEYS_BY_ACCOUNT)?;
            txn.open_table(table::TOKENS)?;
            txn.open_table(table::USAGE)?;
            txn.open_table(table::USAGE_DAILY)?;
            txn.open_table(table::LEDGER)?;
            txn.open_table(table::JOBS)?;
            txn.open_table(table::JOBS_BY_PROJECT)?;
            txn.open_table(table::IDEMPOTENCY)?;
            txn.open_table(table::WEBHOOK_SECRETS)?;
            txn.open_table(table::WEBHOOK_SECRETS_BY_PROJECT)?;
            txn.open_table(table::DELIVERIES)?;
            txn.open_table(table::DELIVERIES_DUE)?;
            txn.open_table(table::DELIVERIES_BY_PROJECT)?;
            txn.open_table(table::DELIVERIES_BY_JOB)?;
            txn.open_table(table::ATTEMPTS)?;
            txn.open_table(table::AUDIT)?;
            txn.open_table(table::SOUNDS)?;
            txn.open_table(table::SOUNDS_BY_SHA256)?;
            txn.open_table(table::SOUND_WAVEFORMS)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// A real write and commit: what `/readyz` means by "writable".
    pub fn probe_write(&self, now_ms: u64) -> Result<()> {
        let txn = self.begin_write()?;
        txn.open_table(table::META)?
            .insert("ready_probe_ms", now_ms)?;
        txn.commit()?;
        Ok(())
    }

    // ---- generic helpers ----

    fn get<T: Record>(&self, def: IdTable, name: &'static str, id: u128) -> Result<Option<T>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(def)?;
        get_in(&t, name, id)
    }

    fn update<T: Record>(
        &self,
        def: IdTable,
        name: &'static str,
        id: u128,
        change: impl FnOnce(&mut T),
    ) -> Result<Option<T>> {
        let txn = self.begin_write()?;
        let out = update_in(&txn, def, name, id, change)?;
        // An unknown id changes nothing: nothing to commit, and no audit entry.
        if out.is_some() {
            txn.commit()?;
        }
        Ok(out)
    }

    fn list<T: Record>(
        &self,
        def: IdTable,
        name: &'static str,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Page<T>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(def)?;
        let start = after.map_or(0, |a| a.saturating_add(1));
        let mut items = Vec::new();
        let mut next = None;
        if after != Some(u128::MAX) {
            for entry in t.range(start..)? {
                let (k, v) = entry?;
                if items.len() == limit {
                    next = items.last().map(|(id, _)| *id);
                    break;
                }
                items.push((k.value(), decode(name, v.value())?));
            }
        }
        Ok(Page { items, next })
    }

    fn list_by_index<T: Record>(
        &self,
        index: TableDefinition<'static, (u128, u128), ()>,
        def: IdTable,
        name: &'static str,
        parent: u128,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Page<T>> {
        let txn = self.begin_read()?;
        let idx = txn.open_table(index)?;
        let t = txn.open_table(def)?;
        let start = after.map_or(0, |a| a.saturating_add(1));
        let mut items = Vec::new();
        let mut next = None;
        if after != Some(u128::MAX) {
            for entry in idx.range((parent, start)..=(parent, u128::MAX))? {
                let (k, _) = entry?;
                let (_, id) = k.value();
                if items.len() == limit {
                    next = items.last().map(|(id, _)| *id);
                    break;
                }
                if let Some(rec) = get_in(&t, name, id)? {
                    items.push((id, rec));
                }
            }
        }
        Ok(Page { items, next })
    }
}

fn put<T: Record>(txn: &WriteTransaction, def: IdTable, id: u128, rec: &T) -> Result<()> {
    let bytes = encode(rec)?;
    txn.open_table(def)?.insert(id, bytes.as_slice())?;
    Ok(())
}

fn get_in<T: Record>(
    t: &impl ReadableTable<u128, &'static [u8]>,
    name: &'static str,
    id: u128,
) -> Result<Option<T>> {
    match t.get(id)? {
        Some(v) => Ok(Some(decode(name, v.value())?)),
        None => Ok(None),
    }
}

fn update_in<T: Record>(
    txn: &WriteTransaction,
    def: IdTable,
    name: &'static str,
    id: u128,
    change: impl FnOnce(&mut T),
) -> Result<Option<T>> {
    let mut t = txn.open_table(def)?;
    let current: Option<T> = get_in(&t, name, id)?;
    let Some(mut rec) = current else {
        return Ok(None);
    };
    change(&mut rec);
    let bytes = encode(&rec)?;
    t.insert(id, bytes.as_slice())?;
    Ok(Some(rec))
}

fn index_ids(
    txn: &WriteTransaction,
    index: TableDefinition<'static, (u128, u128), ()>,
    parent: u128,
) -> Result<Vec<u128>> {
    let idx = txn.open_table(index)?;
    let mut out = Vec::new();
    for entry in idx.range((parent, 0)..=(parent, u128::MAX))? {
        let (k, _) = entry?;
        out.push(k.value().1);
    }
    Ok(out)
}

fn open_database(path: &Path) -> std::result::Result<Database, redb::DatabaseError> {
    Database::builder().set_cache_size(CACHE_BYTES).create(path)
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match l.read() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Creates the data directory (0700) or checks an existing one, and returns its absolute path.
/// Studios keep unreleased audio here: a directory others can write is refused, and one others
/// can read (made by an older version or by hand) is closed to them, database file included.
pub fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    // Everything this process creates from here on (database, uploads, partial files) is for
    // its own user only, whatever umask it was started with.
    // SAFETY: umask only swaps the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let abs = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let err = |error| Error::DataDir {
        path: abs.clone(),
        error,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&abs)
        .map_err(err)?;
    let mode = std::fs::metadata(&abs).map_err(err)?.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(Error::UnsafePermissions { path: abs, mode });
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(&abs, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        tracing::warn!(path = %abs.display(), "data directory was readable by other users; now 0700");
    }
    let db = abs.join(DB_FILE);
    if let Ok(m) = std::fs::metadata(&db)
        && m.permissions().mode() & 0o077 != 0
    {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    Ok(abs)
}

#[cfg(test)]
mod tests {
    use super::schema::{AccountRecord, KeyRecord, ProjectRecord, SecretDigest};
    use super::*;

    fn account() -> AccountRecord {
        AccountRecord {
            name: "a".into(),
            plan: "default".into(),
            created_at_ms: 1,
            disabled: false,
            allowed_ips: vec![],
            credits: 0,
            credits_month: 0,
        }
    }

    fn key(account: u128, project: u128) -> KeyRecord {
        KeyRecord {
            account,
            project,
            label: "k".into(),
            scopes: vec![],
            digest: SecretDigest {
                sha256: [0; 32],
                prefix: "abcd".into(),
                last4: "wxyz".into(),
            },
            created_at_ms: 1,
            last_used_at_ms: None,
            expires_at_ms: None,
            revoked_at_ms: None,
        }
    }

    fn project(account: u128, name: &str) -> ProjectRecord {
        ProjectRecord {
            account,
            name: name.into(),
            created_at_ms: 1,
        }
    }

    fn queued_job(project: u128) -> schema::JobRecord {
        schema::JobRecord {
            account: 1,
            project,
            key: 100,
            status: schema::JobStatus::Queued,
            stage: "queued".into(),
            created_at_ms: 0,
            started_at_ms: None,
            finished_at_ms: None,
            filename: "a.wav".into(),
            format: "wav".into(),
            size_bytes: 1,
            blake3: String::new(),
            sha256: String::new(),
            upload: None,
            result: None,
            error_code: None,
            error_message: None,
            credit_charged: false,
            attempts: 0,
            webhook_url: None,
        }
    }

    /// An Idempotency-Key names its job for 24 hours, then it is free for a new job.
    #[test]
    fn idempotency_keys_expire_after_24_hours() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let key = (7, 8);
        let insert = |id, at| {
            s.insert_job(
                InsertJob {
                    id,
                    record: queued_job(10),
                    idempotency: Some(key),
                    charge: None,
                },
                at,
            )
            .unwrap()
        };
        assert_eq!(insert(1, 0), JobInserted::New);
        let day = jobs::IDEMPOTENCY_MS;
        assert_eq!(
            s.job_for_idempotency_key(10, key, day - 1).unwrap(),
            Some(1)
        );
        assert_eq!(insert(2, day - 1), JobInserted::Existing(1));
        assert_eq!(
            s.job_for_idempotency_key(11, key, 1).unwrap(),
            None,
            "per project"
        );
        assert_eq!(s.job_for_idempotency_key(10, key, day).unwrap(), None);
        assert_eq!(insert(3, day), JobInserted::New);
        assert_eq!(
            s.job_for_idempotency_key(10, key, day + 1).unwrap(),
            Some(3)
        );
    }

    #[test]
    fn second_open_of_same_dir_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _a = Store::open(dir.path()).unwrap();
        assert!(matches!(Store::open(dir.path()), Err(Error::Locked(_))));
    }

    #[test]
    fn deleting_an_account_deletes_its_projects_keys_and_index_entries() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_account(1, &account(), (10, &project(1, "default")))
            .unwrap();
        s.create_project(11, &project(1, "other")).unwrap();
        s.insert_key(100, &key(1, 10), 5, 0).unwrap();
        assert_eq!(s.delete_account(1).unwrap(), Some(vec![100]));
        assert!(s.get_project(10).unwrap().is_none());
        assert!(s.get_key(100).unwrap().is_none());
        assert!(s.list_projects(1, None, 10).unwrap().items.is_empty());
        assert!(s.list_keys(Some(1), None, 10).unwrap().items.is_empty());
    }

    #[test]
    fn deleting_a_project_deletes_only_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_account(1, &account(), (10, &project(1, "default")))
            .unwrap();
        s.create_project(11, &project(1, "other")).unwrap();
        s.insert_key(100, &key(1, 10), 5, 0).unwrap();
        s.insert_key(101, &key(1, 11), 5, 0).unwrap();
        assert_eq!(s.delete_project(11).unwrap(), Some(vec![101]));
        let keys: Vec<u128> = s
            .list_keys(Some(1), None, 10)
            .unwrap()
            .items
            .iter()
            .map(|k| k.0)
            .collect();
        assert_eq!(keys, vec![100]);
    }

    #[test]
    fn project_names_are_unique_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_account(1, &account(), (10, &project(1, "default")))
            .unwrap();
        assert!(matches!(
            s.create_project(11, &project(1, "default")),
            Err(Error::Exists)
        ));
        assert!(matches!(
            s.create_project(12, &project(2, "x")),
            Err(Error::NotFound)
        ));
    }

    #[test]
    fn active_key_limit_ignores_revoked_and_expired_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_account(1, &account(), (10, &project(1, "default")))
            .unwrap();
        s.insert_key(100, &key(1, 10), 2, 50).unwrap();
        let mut expired = key(1, 10);
        expired.expires_at_ms = Some(40);
        s.insert_key(101, &expired, 2, 30).unwrap();
        // At t=50 key 101 has expired: one active, so one more fits.
        s.insert_key(102, &key(1, 10), 2, 50).unwrap();
        assert!(matches!(
            s.insert_key(103, &key(1, 10), 2, 50),
            Err(Error::LimitReached(2))
        ));
        s.update_key(100, |k| k.revoked_at_ms = Some(50)).unwrap();
        s.insert_key(103, &key(1, 10), 2, 50).unwrap();
    }

    #[test]
    fn credits_grant_monthly_once_and_refuse_overdraft() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_account(1, &account(), (10, &project(1, "default")))
            .unwrap();
        let debit = || CreditChange {
            kind: "analysis".into(),
            amount: -1,
            reference: Some("job_x".into()),
            note: None,
        };
        assert_eq!(
            s.apply_credits(1, 7, Some(2), Some(debit()), 100).unwrap(),
            1
        );
        assert_eq!(
            s.apply_credits(1, 7, Some(2), Some(debit()), 101).unwrap(),
            0
        );
        assert!(matches!(
            s.apply_credits(1, 7, Some(2), Some(debit()), 102),
            Err(Error::InsufficientCredits { balance: 0 })
        ));
        // Next month's grant arrives with the next movement.
        assert_eq!(
            s.apply_credits(1, 8, Some(2), Some(debit()), 103).unwrap(),
            1
        );
        let page = s.list_ledger(1, None, 2).unwrap();
        let kinds: Vec<&str> = page.items.iter().map(|(_, e)| e.kind.as_str()).collect();
        assert_eq!(kinds, vec!["analysis", "monthly_reset"]);
        let rest = s.list_ledger(1, page.next, 10).unwrap();
        assert_eq!(rest.items.len(), 3);
        assert!(rest.next.is_none());
        s.delete_account(1).unwrap();
        assert!(s.list_ledger(1, None, 10).unwrap().items.is_empty());
    }

    #[test]
    fn pages_follow_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        for i in 1..=5u128 {
            s.create_account(i, &account(), (100 + i, &project(i, "default")))
                .unwrap();
        }
        let p1 = s.list_accounts(None, 2).unwrap();
        assert_eq!(p1.items.iter().map(|i| i.0).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(p1.next, Some(2));
        let p3 = s.list_accounts(Some(4), 2).unwrap();
        assert_eq!(p3.items.iter().map(|i| i.0).collect::<Vec<_>>(), vec![5]);
        assert_eq!(p3.next, None);
    }
}
