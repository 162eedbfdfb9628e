//! Every table tonearm keeps and the record stored in it. Keys are native redb types (u128 ids
//! sort by creation time); values are `[version][postcard]` (see codec.rs). Change a record →
//! bump its VERSION and add a decode arm.

use serde::{Deserialize, Serialize};

use super::codec::Record;

pub mod table {
    use redb::TableDefinition;

    /// Small facts about the database itself (format version, readiness probe).
    pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    /// AccountRecord by account id.
    pub const ACCOUNTS: TableDefinition<u128, &[u8]> = TableDefinition::new("accounts");
    /// ProjectRecord by project id.
    pub const PROJECTS: TableDefinition<u128, &[u8]> = TableDefinition::new("projects");
    /// (account id, project id): an account's projects, in creation order.
    pub const PROJECTS_BY_ACCOUNT: TableDefinition<(u128, u128), ()> =
        TableDefinition::new("projects_by_account");
    /// KeyRecord by key id. The SHA-256 of the secret is inside; the secret never is.
    pub const KEYS: TableDefinition<u128, &[u8]> = TableDefinition::new("keys");
    /// (account id, key id): an account's keys, in creation order.
    pub const KEYS_BY_ACCOUNT: TableDefinition<(u128, u128), ()> =
        TableDefinition::new("keys_by_account");
    /// TokenRecord (management tokens) by token id.
    pub const TOKENS: TableDefinition<u128, &[u8]> = TableDefinition::new("tokens");
    /// API calls per account per UTC month (months since 1970-01), written in batches.
    pub const USAGE: TableDefinition<(u128, u32), u64> = TableDefinition::new("usage");
    /// (account id, key id, UTC day since 1970-01-01) → (API calls, analyses accepted), added
    /// to in batches; days older than `DAILY_USAGE_DAYS` are pruned.
    pub const USAGE_DAILY: TableDefinition<(u128, u128, u32), (u64, u64)> =
        TableDefinition::new("usage_daily");
    /// LedgerRecord by (account id, entry id); entry ids sort by time.
    pub const LEDGER: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("ledger");
    /// JobRecord by job id (ids sort by creation time, so this is also the queue order).
    pub const JOBS: TableDefinition<u128, &[u8]> = TableDefinition::new("jobs");
    /// (project id, job id): a project's jobs.
    pub const JOBS_BY_PROJECT: TableDefinition<(u128, u128), ()> =
        TableDefinition::new("jobs_by_project");
    /// (project id, SHA-256 of the Idempotency-Key as two halves) → (job id, created ms).
    pub const IDEMPOTENCY: TableDefinition<(u128, u128, u128), (u128, u64)> =
        TableDefinition::new("idempotency");
    /// WebhookSecretRecord by secret id.
    pub const WEBHOOK_SECRETS: TableDefinition<u128, &[u8]> =
        TableDefinition::new("webhook_secrets");
    /// (project id, secret id): a project's signing secrets, in creation order.
    pub const WEBHOOK_SECRETS_BY_PROJECT: TableDefinition<(u128, u128), ()> =
        TableDefinition::new("webhook_secrets_by_project");
    /// DeliveryRecord by delivery id: one event to one URL.
    pub const DELIVERIES: TableDefinition<u128, &[u8]> = TableDefinition::new("deliveries");
    /// (due Unix ms, delivery id) → receiver host key: the pending deliveries in due order.
    /// An entry stays until its delivery succeeds or gives up, so a delivery in flight when the
    /// process dies is still here, overdue, at the next start.
    pub const DELIVERIES_DUE: TableDefinition<(u64, u128), u64> =
        TableDefinition::new("deliveries_due");
    /// (project id, delivery id): a project's deliveries.
    pub const DELIVERIES_BY_PROJECT: TableDefinition<(u128, u128), ()> =
        TableDefinition::new("deliveries_by_project");
    /// (job id, delivery id): the deliveries of a job's events.
    pub const DELIVERIES_BY_JOB: TableDefinition<(u128, u128), ()> =
        TableDefinition::new("deliveries_by_job");
    /// AttemptRecord by (delivery id, attempt number from 1); written before the request goes
    /// out and completed with its outcome.
    pub const ATTEMPTS: TableDefinition<(u128, u32), &[u8]> = TableDefinition::new("attempts");
    /// AuditRecord by entry id (ids sort by time): who changed which credential or balance.
    pub const AUDIT: TableDefinition<u128, &[u8]> = TableDefinition::new("audit");
    /// SoundRecord by sound id (the slug the API shows).
    pub const SOUNDS: TableDefinition<&str, &[u8]> = TableDefinition::new("sounds");
    /// Sound id by the SHA-256 of its original file: the same bytes are never imported twice.
    pub const SOUNDS_BY_SHA256: TableDefinition<&[u8; 32], &str> =
        TableDefinition::new("sounds_by_sha256");
    /// WaveformRecord by sound id: drawn peaks, apart from the record search reads.
    pub const SOUND_WAVEFORMS: TableDefinition<&str, &[u8]> =
        TableDefinition::new("sound_waveforms");
}

/// Layout version of the database as a whole, for migrations that move keys between tables.
pub const SCHEMA_VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub name: String,
    pub plan: String,
    pub created_at_ms: u64,
    pub disabled: bool,
    /// Addresses and CIDR ranges allowed to call the API; empty = any.
    pub allowed_ips: Vec<String>,
    /// Credit balance (unused on plans with unlimited credits).
    pub credits: i64,
    /// Month index of the last monthly credit grant; the next grant is due when it differs.
    pub credits_month: u32,
}
impl Record for AccountRecord {
    const VERSION: u8 = 1;
}

/// One movement of an account's credits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRecord {
    pub at_ms: u64,
    /// `grant`, `monthly_reset`, `analysis`, `download`, `refund` or `bonus`.
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    /// The job or sound the movement is for.
    pub reference: Option<String>,
    pub note: Option<String>,
}
impl Record for LedgerRecord {
    const VERSION: u8 = 1;
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

/// One analysis job. The result is the engine's document, postcard-encoded by the jobs layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub account: u128,
    pub project: u128,
    /// The API key that submitted it.
    pub key: u128,
    pub status: JobStatus,
    /// Last stage reached ("decode", "loudness", …); progress lives in memory while running.
    pub stage: String,
    pub created_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub filename: String,
    pub format: String,
    pub size_bytes: u64,
    pub blake3: String,
    pub sha256: String,
    /// File name of the stored upload inside the uploads directory; `None` once deleted.
    pub upload: Option<String>,
    pub result: Option<Vec<u8>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// A credit was taken at acceptance (refunded if the job fails).
    pub credit_charged: bool,
    /// Times the job was started and not finished by the same process; a graceful stop takes
    /// its start back. At `jobs::MAX_ATTEMPTS` the job fails instead of running again.
    pub attempts: u32,
    /// Where the job's final event is delivered.
    pub webhook_url: Option<String>,
}
impl Record for JobRecord {
    const VERSION: u8 = 2;

    fn upgrade(version: u8, body: &[u8]) -> Option<Result<Self, postcard::Error>> {
        (version == 1).then(|| postcard::from_bytes::<JobRecordV1>(body).map(JobRecord::from))
    }
}

/// JobRecord as written before jobs could carry a webhook URL.
#[derive(Deserialize)]
struct JobRecordV1 {
    account: u128,
    project: u128,
    key: u128,
    status: JobStatus,
    stage: String,
    created_at_ms: u64,
    started_at_ms: Option<u64>,
    finished_at_ms: Option<u64>,
    filename: String,
    format: String,
    size_bytes: u64,
    blake3: String,
    sha256: String,
    upload: Option<String>,
    result: Option<Vec<u8>>,
    error_code: Option<String>,
    error_message: Option<String>,
    credit_charged: bool,
    attempts: u32,
}

impl From<JobRecordV1> for JobRecord {
    fn from(v: JobRecordV1) -> JobRecord {
        JobRecord {
            account: v.account,
            project: v.project,
            key: v.key,
            status: v.status,
            stage: v.stage,
            created_at_ms: v.created_at_ms,
            started_at_ms: v.started_at_ms,
            finished_at_ms: v.finished_at_ms,
            filename: v.filename,
            format: v.format,
            size_bytes: v.size_bytes,
            blake3: v.blake3,
            sha256: v.sha256,
            upload: v.upload,
            result: v.result,
            error_code: v.error_code,
            error_message: v.error_message,
            credit_charged: v.credit_charged,
            attempts: v.attempts,
            webhook_url: None,
        }
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in one).
    Pending,
    /// A receiver answered 2xx.
    Succeeded,
    /// Gave up: the retry schedule ran out, or the receiver answered 410 Gone.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One event sent to one URL. The body is stored as sent, so every attempt carries the same
/// bytes and the same `webhook-id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub project: u128,
    pub job: u128,
    pub event: u128,
    pub event_type: String,
    pub url: String,
    /// Hash of the URL's host:port, for the per-host concurrency limit.
    pub host: u64,
    pub body: Vec<u8>,
    pub created_at_ms: u64,
    pub status: DeliveryStatus,
    /// Attempts made so far (numbered from 1 in ATTEMPTS).
    pub attempts: u32,
    /// Position in the retry schedule of the next attempt; a redelivery starts it again.
    pub schedule_pos: u32,
    /// Key of the entry in DELIVERIES_DUE while pending.
    pub next_attempt_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
}
impl Record for DeliveryRecord {
    const VERSION: u8 = 1;
}

/// One attempt of a delivery. Written with only `started_at_ms` before the request goes out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub started_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed without an answer (connect error, timeout, refused target).
    pub error: Option<String>,
    /// The start of the receiver's answer (at most 1 KiB, lossy UTF-8).
    pub response_excerpt: Option<String>,
}
impl Record for AttemptRecord {
    const VERSION: u8 = 1;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectRecord {
    pub account: u128,
    pub name: String,
    pub created_at_ms: u64,
}
impl Record for ProjectRecord {
    const VERSION: u8 = 1;
}

/// The public parts of a secret plus its hash: enough to verify and to show, never to recover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretDigest {
    pub sha256: [u8; 32],
    /// First 4 characters of the random part, for display.
    pub prefix: String,
    /// Last 4 characters of the whole value, for display.
    pub last4: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub account: u128,
    pub project: u128,
    pub label: String,
    pub scopes: Vec<String>,
    pub digest: SecretDigest,
    pub created_at_ms: u64,
    /// Written at most once a minute per key, from memory, never per request.
    pub last_used_at_ms: Option<u64>,
    pub expires_at_ms: Option<u64>,
    pub revoked_at_ms: Option<u64>,
}
impl Record for KeyRecord {
    const VERSION: u8 = 1;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub label: String,
    pub digest: SecretDigest,
    pub created_at_ms: u64,
    pub last_used_at_ms: Option<u64>,
    pub revoked_at_ms: Option<u64>,
}
impl Record for TokenRecord {
    const VERSION: u8 = 1;
}

/// A project's webhook signing secret, sealed with the server's master key (webhooks::vault).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSecretRecord {
    pub project: u128,
    pub label: String,
    pub created_at_ms: u64,
    pub revoked_at_ms: Option<u64>,
    /// nonce ‖ ciphertext ‖ tag.
    pub sealed: Vec<u8>,
}
impl Record for WebhookSecretRecord {
    const VERSION: u8 = 1;
}

/// One change to credentials or money, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at_ms: u64,
    /// `mt_…` for a management token, `key_…` for an API key, `leak_report` for a public
    /// report, `cli` for a command run on the data directory. Never a secret.
    pub actor: String,
    /// What happened: `account.create`, `key.revoke`, `key.leak_revoke`, …
    pub action: String,
    /// The id of what changed (`acct_…`, `key_…`, …).
    pub target: String,
    pub request_id: Option<String>,
    /// Client address, when the change came over HTTP.
    pub ip: Option<String>,
    /// A small JSON object with the change's particulars (new plan, amount, report URL).
    pub details: String,
}
impl Record for AuditRecord {
    const VERSION: u8 = 1;
}

#[cfg(test)]
mod tests {
    //! Golden bytes pin the on-disk format: a change here needs a VERSION bump and a migration.
    use super::*;
    use crate::store::codec::{decode, encode};

    fn digest() -> SecretDigest {
        SecretDigest {
            sha256: [7; 32],
            prefix: "abcd".into(),
            last4: "wxyz".into(),
        }
    }

    #[test]
    fn account_record_golden_bytes() {
        let r = AccountRecord {
            name: "Label".into(),
            plan: "default".into(),
            created_at_ms: 1,
            disabled: false,
            allowed_ips: vec!["::1".into()],
            credits: -1,
            credits_month: 2,
        };
        let b = encode(&r).unwrap();
        let mut expected = vec![1, 5];
        expected.extend_from_slice(b"Label");
        expected.push(7);
        expected.extend_from_slice(b"default");
        // created_at 1, disabled false, one allowed ip "::1", credits -1 (zigzag 1), month 2.
        expected.extend_from_slice(&[1, 0, 1, 3, b':', b':', b'1', 1, 2]);
        assert_eq!(b, expected);
        assert_eq!(decode::<AccountRecord>("accounts", &b).unwrap(), r);
    }

    #[test]
    fn project_record_golden_bytes() {
        let r = ProjectRecord {
            account: 2,
            name: "p".into(),
            created_at_ms: 3,
        };
        let b = encode(&r).unwrap();
        assert_eq!(b, [1, 2, 1, b'p', 3]);
        assert_eq!(decode::<ProjectRecord>("projects", &b).unwrap(), r);
    }

    #[test]
    fn key_record_round_trips_and_starts_with_version() {
        let r = KeyRecord {
            account: 1,
            project: 2,
            label: "ci".into(),
            scopes: vec!["analyze".into()],
            digest: digest(),
            created_at_ms: 5,
            last_used_at_ms: None,
            expires_at_ms: Some(9),
            revoked_at_ms: None,
        };
        let b = encode(&r).unwrap();
        assert_eq!(&b[..6], &[1, 1, 2, 2, b'c', b'i']);
        assert_eq!(decode::<KeyRecord>("keys", &b).unwrap(), r);
    }

    #[test]
    fn token_record_round_trips() {
        let r = TokenRecord {
            label: "ops".into(),
            digest: digest(),
            created_at_ms: 5,
            last_used_at_ms: Some(6),
            revoked_at_ms: None,
        };
        let b = encode(&r).unwrap();
        assert_eq!(&b[..5], &[1, 3, b'o', b'p', b's']);
        assert_eq!(decode::<TokenRecord>("tokens", &b).unwrap(), r);
    }

    #[test]
    fn ledger_record_golden_bytes() {
        let r = LedgerRecord {
            at_ms: 1,
            kind: "grant".into(),
            amount: 5,
            balance_after: 5,
            reference: None,
            note: Some("x".into()),
        };
        let b = encode(&r).unwrap();
        assert_eq!(
            b,
            [1, 1, 5, b'g', b'r', b'a', b'n', b't', 10, 10, 0, 1, 1, b'x']
        );
        assert_eq!(decode::<LedgerRecord>("ledger", &b).unwrap(), r);
    }

    #[test]
    fn webhook_secret_record_golden_bytes() {
        let r = WebhookSecretRecord {
            project: 2,
            label: "rx".into(),
            created_at_ms: 3,
            revoked_at_ms: Some(4),
            sealed: vec![9, 8],
        };
        let b = encode(&r).unwrap();
        assert_eq!(b, [1, 2, 2, b'r', b'x', 3, 1, 4, 2, 9, 8]);
        assert_eq!(
            decode::<WebhookSecretRecord>("webhook_secrets", &b).unwrap(),
            r
        );
    }

    #[test]
    fn job_record_version_1_upgrades_without_a_webhook_url() {
        // A version-1 job as written before webhook URLs: every field, then nothing.
        #[derive(Serialize)]
        struct V1<'a> {
            account: u128,
            project: u128,
            key: u128,
            status: JobStatus,
            stage: &'a str,
            created_at_ms: u64,
            started_at_ms: Option<u64>,
            finished_at_ms: Option<u64>,
            filename: &'a str,
            format: &'a str,
            size_bytes: u64,
            blake3: &'a str,
            sha256: &'a str,
            upload: Option<&'a str>,
            result: Option<Vec<u8>>,
            error_code: Option<&'a str>,
            error_message: Option<&'a str>,
            credit_charged: bool,
            attempts: u32,
        }
        let old = V1 {
            account: 1,
            project: 2,
            key: 3,
            status: JobStatus::Succeeded,
            stage: "finish",
            created_at_ms: 4,
            started_at_ms: Some(5),
            finished_at_ms: Some(6),
            filename: "a.wav",
            format: "wav",
            size_bytes: 7,
            blake3: "b3",
            sha256: "s2",
            upload: None,
            result: Some(vec![1, 2]),
            error_code: None,
            error_message: None,
            credit_charged: true,
            attempts: 1,
        };
        let mut bytes = vec![1u8];
        bytes.extend(postcard::to_stdvec(&old).unwrap());
        let rec: JobRecord = decode("jobs", &bytes).unwrap();
        assert_eq!(rec.webhook_url, None);
        assert_eq!(
            (rec.account, rec.filename.as_str(), rec.attempts),
            (1, "a.wav", 1)
        );
        assert_eq!(rec.result, Some(vec![1, 2]));
        // Re-encoding writes the current version.
        assert_eq!(encode(&rec).unwrap()[0], 2);
    }

    #[test]
    fn delivery_records_round_trip() {
        let d = DeliveryRecord {
            project: 1,
            job: 2,
            event: 3,
            event_type: "analysis.completed".into(),
            url: "http://127.0.0.1:9/h".into(),
            host: 7,
            body: b"{}".to_vec(),
            created_at_ms: 4,
            status: DeliveryStatus::Pending,
            attempts: 1,
            schedule_pos: 1,
            next_attempt_ms: Some(5),
            finished_at_ms: None,
        };
        let b = encode(&d).unwrap();
        assert_eq!(&b[..4], &[1, 1, 2, 3]);
        assert_eq!(decode::<DeliveryRecord>("deliveries", &b).unwrap(), d);
        let a = AttemptRecord {
            started_at_ms: 1,
            finished_at_ms: Some(2),
            status_code: Some(500),
            error: None,
            response_excerpt: Some("oops".into()),
        };
        let b = encode(&a).unwrap();
        assert_eq!(decode::<AttemptRecord>("attempts", &b).unwrap(), a);
    }

    #[test]
    fn unknown_version_and_garbage_are_errors_not_panics() {
        assert!(matches!(
            decode::<ProjectRecord>("projects", &[9, 1, 2]),
            Err(crate::store::Error::UnknownVersion { version: 9, .. })
        ));
        assert!(decode::<ProjectRecord>("projects", &[1, 0xff]).is_err());
        assert!(decode::<ProjectRecord>("projects", &[]).is_err());
    }
}

/// A sound of the library: curated metadata and what the engine measured on import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoundRecord {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub category: String,
    pub subcategory: String,
    pub creator: String,
    /// `royalty-free`, `copyleft` or `editorial`.
    pub license_type: String,
    pub license: String,
    pub attribution_required: bool,
    pub created_at_ms: u64,
    /// File name of the original under `<data_dir>/sounds/`.
    pub file: String,
    /// Container recognised on import (`wav`, `flac`, `ogg`, …).
    pub format: String,
    pub file_size_bytes: u64,
    pub sha256: [u8; 32],
    pub duration_s: f64,
    pub sample_rate_hz: u32,
    pub bit_depth: Option<u32>,
    pub channels: u32,
    pub loudness_lufs: Option<f64>,
    pub loudness_note: Option<String>,
    pub true_peak_db: Option<f64>,
    /// The strongest spectral peaks: (frequency Hz, level dB relative to the strongest).
    pub spectral_peaks: Vec<(f32, f32)>,
    pub download_count: u64,
    /// What the tagging model heard; `None` until the sound has been listened to (sounds
    /// imported before the library had the model are tagged in the background at start).
    pub machine: Option<MachineTags>,
}
impl Record for SoundRecord {
    const VERSION: u8 = 2;

    fn upgrade(version: u8, body: &[u8]) -> Option<Result<Self, postcard::Error>> {
        (version == 1).then(|| postcard::from_bytes::<SoundRecordV1>(body).map(SoundRecord::from))
    }
}

#[cfg(test)]
impl SoundRecord {
    /// A record for tests: a Foley sound of one second in `file`, whose checksum is `sha`
    /// repeated, with nothing else filled in; tests change what they look at.
    pub fn sample(title: &str, file: &str, sha: u8) -> SoundRecord {
        SoundRecord {
            title: title.into(),
            description: String::new(),
            tags: vec![],
            category: "Foley".into(),
            subcategory: String::new(),
            creator: String::new(),
            license_type: "royalty-free".into(),
            license: "CC0".into(),
            attribution_required: false,
            created_at_ms: u64::from(sha),
            file: file.into(),
            format: "wav".into(),
            file_size_bytes: 10,
            sha256: [sha; 32],
            duration_s: 1.0,
            sample_rate_hz: 48_000,
            bit_depth: Some(16),
            channels: 1,
            loudness_lufs: None,
            loudness_note: None,
            true_peak_db: None,
            spectral_peaks: vec![],
            download_count: 0,
            machine: None,
        }
    }
}

/// The tagging model's view of a sound (see `library::machine`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MachineTags {
    /// AudioSet class names with their confidence in thousandths, most likely first.
    pub tags: Vec<(String, u16)>,
    /// √p of the 527 class probabilities, one byte each; empty when nothing was heard.
    pub vector: Vec<u8>,
}

/// SoundRecord as written before the library listened to its sounds.
#[derive(Deserialize)]
struct SoundRecordV1 {
    title: String,
    description: String,
    tags: Vec<String>,
    category: String,
    subcategory: String,
    creator: String,
    license_type: String,
    license: String,
    attribution_required: bool,
    created_at_ms: u64,
    file: String,
    format: String,
    file_size_bytes: u64,
    sha256: [u8; 32],
    duration_s: f64,
    sample_rate_hz: u32,
    bit_depth: Option<u32>,
    channels: u32,
    loudness_lufs: Option<f64>,
    loudness_note: Option<String>,
    true_peak_db: Option<f64>,
    spectral_peaks: Vec<(f32, f32)>,
    download_count: u64,
}

impl From<SoundRecordV1> for SoundRecord {
    fn from(v: SoundRecordV1) -> SoundRecord {
        SoundRecord {
            title: v.title,
            description: v.description,
            tags: v.tags,
            category: v.category,
            subcategory: v.subcategory,
            creator: v.creator,
            license_type: v.license_type,
            license: v.license,
            attribution_required: v.attribution_required,
            created_at_ms: v.created_at_ms,
            file: v.file,
            format: v.format,
            file_size_bytes: v.file_size_bytes,
            sha256: v.sha256,
            duration_s: v.duration_s,
            sample_rate_hz: v.sample_rate_hz,
            bit_depth: v.bit_depth,
            channels: v.channels,
            loudness_lufs: v.loudness_lufs,
            loudness_note: v.loudness_note,
            true_peak_db: v.true_peak_db,
            spectral_peaks: v.spectral_peaks,
            download_count: v.download_count,
            machine: None,
        }
    }
}

/// A sound's waveform: per column, the lowest and highest sample (over all channels) scaled
/// to i16.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaveformRecord {
    pub peaks: Vec<(i16, i16)>,
}
impl Record for WaveformRecord {
    const VERSION: u8 = 1;
}
