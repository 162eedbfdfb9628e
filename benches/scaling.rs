//! The store operations a multi-node tonearm would move to a shared engine, measured on redb
//! through the crate's own store API, so `scripts/scaling-spike.sh` can set them beside the same
//! operations on PostgreSQL in one run.
//!
//! - `commit`: one small write transaction (`Store::probe_write`), one thread: what a disk sync
//!   costs here.
//! - `claim`: jobs inserted beforehand, then THREADS workers take ids from one in-memory queue
//!   (as `jobs::Jobs` does) and mark the job running (`update_job`, attempts + 1): one commit
//!   per claim. Checks that no job was taken twice.
//! - `job`: the same, then each job is ended (`finish_job` with a 2 KB result and its webhook
//!   delivery): two commits per job.
//! - `counter_commit`: THREADS threads, one commit per counted call (`record_usage`): a counter
//!   kept durable per request.
//! - `counter_admit`: the path a node really takes: `Policy::admit` in memory per call (minute
//!   window and month count), the month counts written once a second (`record_usage`).
//! - `delivery`: deliveries stored and due; one scheduler takes up to BATCH due ones
//!   (`due_deliveries`), records their attempts (`start_attempts`) and outcomes
//!   (`record_outcomes`): two commits per batch, as the webhook scheduler does.
//!
//! `cargo bench --bench scaling -- [SECS] [THREADS,...] [OP,...]`: each operation runs for SECS
//! seconds (default 3) or a bounded count, whichever ends first, at each thread count (default
//! 1,4). One tab-separated line per figure: `redb OP THREADS OPS SECONDS RATE_PER_S`.

// A benchmark that cannot set itself up has nothing to report: it stops with the reason.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonearm::config::{Plan, Quota};
use tonearm::ids::now_ms;
use tonearm::policy::month::month_index;
use tonearm::policy::{AccountState, Policy};
use tonearm::store::schema::{DeliveryRecord, DeliveryStatus, JobRecord, JobStatus};
use tonearm::store::{AttemptOutcome, InsertJob, NewDelivery, Store};

/// Upper bound on the jobs or deliveries one measurement stores beforehand.
const MAX_ITEMS: usize = 200_000;
/// Size of a stored analysis result (a postcard report is 1-3 KB).
const RESULT_BYTES: usize = 2_000;
/// Size of an `analysis.completed` webhook body.
const BODY_BYTES: usize = 1_700;
/// Deliveries the scheduler takes per pass.
const BATCH: usize = 64;

fn job_record(i: u128) -> JobRecord {
    JobRecord {
        account: 1,
        project: 2,
        key: 3,
        status: JobStatus::Queued,
        stage: "queued".into(),
        created_at_ms: now_ms(),
        started_at_ms: None,
        finished_at_ms: None,
        filename: format!("track-{i}.flac"),
        format: "flac".into(),
        size_bytes: 30_000_000,
        blake3: "0".repeat(64),
        sha256: "0".repeat(64),
        upload: Some(format!("{i}.audio")),
        result: None,
        error_code: None,
        error_message: None,
        credit_charged: false,
        attempts: 0,
        webhook_url: Some("https://hooks.example.com/tonearm".into()),
    }
}

fn delivery(id: u128, job: u128, due_ms: u64) -> NewDelivery {
    NewDelivery {
        id,
        record: DeliveryRecord {
            project: 2,
            job,
            event: id,
            event_type: "analysis.completed".into(),
            url: "https://hooks.example.com/tonearm".into(),
            host: 42,
            body: vec![b'x'; BODY_BYTES],
            created_at_ms: due_ms,
            status: DeliveryStatus::Pending,
            attempts: 0,
            schedule_pos: 0,
            next_attempt_ms: Some(due_ms),
            finished_at_ms: None,
        },
    }
}

fn report(op: &str, threads: usize, ops: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { ops as f64 / secs } else { 0.0 };
    println!("redb\t{op}\t{threads}\t{ops}\t{secs:.3}\t{rate:.0}");
}

fn fresh_store(root: &Path, name: &str) -> Store {
    let dir = root.join(name);
    Store::open(&dir).expect("open store")
}

fn bench_commit(root: &Path, secs: f64) {
    let store = fresh_store(root, "commit");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs && n < MAX_ITEMS as u64 {
        store.probe_write(n).expect("commit");
        n += 1;
    }
    report("commit", 1, n, start.elapsed());
}

/// `finish`: claim and finish each job (`job`), or only claim it (`claim`).
fn bench_jobs(root: &Path, secs: f64, threads: usize, finish: bool) {
    let op = if finish { "job" } else { "claim" };
    let store = fresh_store(root, &format!("{op}-{threads}"));
    // Enough jobs for the time budget, inserted as the upload path does (one commit each): a
    // job takes two commits, so half the commit rate would do, but the rate of this disk's
    // syncs varies several-fold within a run; workers that run out of jobs end the measurement
    // early, which the rate allows for.
    let probe = Instant::now();
    let mut probes = 0u64;
    while probe.elapsed() < Duration::from_millis(300) {
        store.probe_write(probes).expect("commit");
        probes += 1;
    }
    let per_s = probes as f64 / probe.elapsed().as_secs_f64();
    let count = MAX_ITEMS.min((per_s * secs * 2.0) as usize + 500);
    for i in 0..count as u128 {
        store
            .insert_job(
                InsertJob {
                    id: i + 1,
                    record: job_record(i),
                    idempotency: None,
                    charge: None,
                },
                now_ms(),
            )
            .expect("insert job");
    }
    let queue = Arc::new(Mutex::new((1..=count as u128).collect::<VecDeque<u128>>()));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (store, queue, stop) = (store.clone(), queue.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut taken = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let Some(id) = queue.lock().expect("queue").pop_front() else {
                        break;
                    };
                    let started = now_ms();
                    store
                        .update_job(id, |j| {
                            if !j.status.is_finished() {
                                j.status = JobStatus::Running;
                                j.started_at_ms = Some(started);
                                j.attempts += 1;
                            }
                        })
                        .expect("claim");
                    if !finish {
                        taken.push(id);
                        continue;
                    }
                    let finished = now_ms();
                    let hook = delivery(id, id, finished);
                    store
                        .finish_job(
                            id,
                            |j| {
                                j.status = JobStatus::Succeeded;
                                j.finished_at_ms = Some(finished);
                                j.stage = "finish".into();
                                j.result = Some(vec![7; RESULT_BYTES]);
                            },
                            Some(hook),
                            month_index(finished),
                            finished,
                        )
                        .expect("finish");
                    taken.push(id);
                }
                taken
            })
        })
        .collect();
    while start.elapsed().as_secs_f64() < secs && handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen = HashSet::new();
    let mut twice = 0u64;
    for h in handles {
        for id in h.join().expect("worker") {
            if !seen.insert(id) {
                twice += 1;
            }
        }
    }
    let elapsed = start.elapsed();
    // Every job taken was started exactly once (and, when finished, succeeded).
    let want = if finish {
        JobStatus::Succeeded
    } else {
        JobStatus::Running
    };
    let mut restarted = 0u64;
    for &id in &seen {
        let rec = store.get_job(id).expect("read").expect("job exists");
        if rec.status != want || rec.attempts != 1 {
            restarted += 1;
        }
    }
    assert_eq!(twice, 0, "a job was taken by two workers");
    assert_eq!(restarted, 0, "a job was started more than once");
    report(op, threads, seen.len() as u64, elapsed);
}

fn bench_counter_commit(root: &Path, secs: f64, threads: usize) {
    let store = fresh_store(root, &format!("counter-{threads}"));
    let month = month_index(now_ms());
    let total = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, total) = (store.clone(), total.clone());
            std::thread::spawn(move || {
                // Each thread counts calls of its own account, as requests of many keys do.
                let account = t as u128 + 1;
                let mut count = 0u64;
                while start.elapsed().as_secs_f64() < secs && count < MAX_ITEMS as u64 {
                    count += 1;
                    store
                        .record_usage(&[(account, month, count)])
                        .expect("count");
                }
                total.fetch_add(count, Ordering::Relaxed);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("counter thread");
    }
    report(
        "counter_commit",
        threads,
        total.load(Ordering::Relaxed),
        start.elapsed(),
    );
}

fn bench_counter_admit(root: &Path, secs: f64, threads: usize) {
    let store = fresh_store(root, &format!("admit-{threads}"));
    let mut plans = BTreeMap::new();
    plans.insert(
        "default".to_string(),
        Plan {
            requests_per_minute: u64::MAX / 2,
            calls_per_month: Quota::Max(u64::MAX / 2),
            ..Plan::builtin_default()
        },
    );
    let policy = Arc::new(Policy::new(plans, vec![]));
    for account in 1..=threads as u128 {
        policy.set_account(
            account,
            AccountState {
                plan: "default".into(),
                disabled: false,
                allowed_ips: vec![],
            },
        );
    }
    let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let total = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (policy, total, stop) = (policy.clone(), total.clone(), stop.clone());
            std::thread::spawn(move || {
                let (key, account) = (100 + t as u128, 1 + t as u128);
                let mut n = 0u64;
                // Bounded: the window log holds one bucket per 10 ms whatever the rate.
                while !stop.load(Ordering::Relaxed) && n < 500_000_000 {
                    for _ in 0..1_000 {
                        std::hint::black_box(policy.admit(key, account, ip, now_ms()));
                    }
                    n += 1_000;
                }
                total.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    // The server's flusher: dirty month counts to the database once a second.
    let mut flushes = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        std::thread::sleep(Duration::from_millis(200).min(Duration::from_secs_f64(secs)));
        if start.elapsed().as_millis() as u64 / 1_000 > flushes {
            store
                .record_usage(&policy.take_dirty_months())
                .expect("flush");
            flushes += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("admit thread");
    }
    store
        .record_usage(&policy.take_dirty_months())
        .expect("flush");
    report(
        "counter_admit",
        threads,
        total.load(Ordering::Relaxed),
        start.elapsed(),
    );
}

fn bench_delivery(root: &Path, secs: f64) {
    let store = fresh_store(root, "delivery");
    let count = MAX_ITEMS.min((secs * 10_000.0) as usize + 1_000);
    let now = now_ms();
    let all: Vec<NewDelivery> = (1..=count as u128).map(|i| delivery(i, i, now)).collect();
    for chunk in all.chunks(1_000) {
        store.insert_deliveries(chunk).expect("insert deliveries");
    }
    drop(all);
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        let due = store
            .due_deliveries(now_ms(), BATCH * 4, BATCH, |_, _| true)
            .expect("due");
        if due.is_empty() {
            break;
        }
        let ids: Vec<u128> = due.iter().map(|d| d.0).collect();
        let started = store.start_attempts(&ids, now_ms()).expect("start");
        let finished = now_ms();
        let outcomes: Vec<AttemptOutcome> = started
            .iter()
            .map(|a| AttemptOutcome {
                delivery: a.delivery,
                number: a.number,
                finished_at_ms: finished,
                status_code: Some(200),
                error: None,
                response_excerpt: None,
            })
            .collect();
        store
            .record_outcomes(&outcomes, |_| Some(60_000))
            .expect("outcomes");
        done += outcomes.len() as u64;
    }
    report("delivery", 1, done, start.elapsed());
}

fn main() {
    // `cargo bench` passes `--bench`; positional arguments are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let secs: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let secs = secs.clamp(0.1, 60.0);
    let threads: Vec<usize> = args
        .get(1)
        .map(|a| {
            a.split(',')
                .filter_map(|t| t.parse().ok())
                .map(|t: usize| t.clamp(1, 64))
                .collect()
        })
        .unwrap_or_else(|| vec![1, 4]);
    let ops: Vec<String> = args.get(2).map_or_else(
        || {
            [
                "commit",
                "claim",
                "job",
                "counter_commit",
                "counter_admit",
                "delivery",
            ]
            .map(String::from)
            .to_vec()
        },
        |a| a.split(',').map(String::from).collect(),
    );
    // On the disk the data directory would be on (not a tmpfs), beside the other engine's.
    let root = match std::env::var_os("SCALING_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    for op in &ops {
        match op.as_str() {
            "commit" => bench_commit(root.path(), secs),
            "delivery" => bench_delivery(root.path(), secs),
            "claim" | "job" | "counter_commit" | "counter_admit" => {
                for &t in &threads {
                    match op.as_str() {
                        "claim" => bench_jobs(root.path(), secs, t, false),
                        "job" => bench_jobs(root.path(), secs, t, true),
                        "counter_commit" => bench_counter_commit(root.path(), secs, t),
                        _ => bench_counter_admit(root.path(), secs, t),
                    }
                }
            }
            other => eprintln!(
                "unknown operation {other}; known: commit, claim, job, counter_commit, counter_admit, \
                 delivery"
            ),
        }
    }
}
