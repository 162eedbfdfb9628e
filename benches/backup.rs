//! Backup of a database with N finished jobs (default 100,000): the time to take the snapshot
//! and hash it (`backup::prepare`), the time to write the tar archive, and the archive's size.
//! Each job carries the result document of a real analysis (a 30 s click track analysed once
//! here), so the database has the size a real one of that many jobs has.
//!
//! `cargo bench --bench backup [-- N]`

// A benchmark that cannot set itself up has nothing to report: it stops with the reason.
#![allow(clippy::expect_used)]

use std::io::Write;
use std::time::Instant;

use redb::Database;

use tonearm::store::codec::encode;
use tonearm::store::schema::{JobRecord, JobStatus, table};
use tonearm::store::{DB_FILE, Store};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A 16-bit mono WAV of a click track at 120 BPM.
fn wav(secs: f64) -> Vec<u8> {
    let rate = 44_100u32;
    let n = (secs * f64::from(rate)) as usize;
    let mut pcm = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let beat = (t * 2.0).fract();
        let v = if beat < 0.01 {
            (t * 2.0 * std::f64::consts::PI * 1000.0).sin() * 0.8
        } else {
            (t * 2.0 * std::f64::consts::PI * 220.0).sin() * 0.1
        };
        pcm.extend_from_slice(&((v * 32767.0) as i16).to_le_bytes());
    }
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + pcm.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
    w.extend_from_slice(&pcm);
    w
}

fn main() {
    let n: u128 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    let audio = dir.path().join("click.wav");
    std::fs::write(&audio, wav(30.0)).expect("wav");
    let report = tonearm::engine::analyze_file(
        &audio,
        Some("click.wav"),
        &tonearm::engine::Options::default(),
        &|_, _| {},
    )
    .expect("analysis");
    let result = postcard::to_stdvec(&report).expect("encode");

    let started = Instant::now();
    {
        let db = Database::create(data.join(DB_FILE)).expect("db");
        let txn = db.begin_write().expect("txn");
        {
            let mut jobs = txn.open_table(table::JOBS).expect("jobs");
            let mut by_project = txn.open_table(table::JOBS_BY_PROJECT).expect("index");
            for i in 0..n {
                let id = (1_700_000_000_000u128 + i) << 80 | i;
                let rec = JobRecord {
                    account: 1,
                    project: 2,
                    key: 3,
                    status: JobStatus::Succeeded,
                    stage: "finish".into(),
                    created_at_ms: 1_700_000_000_000,
                    started_at_ms: Some(1_700_000_000_100),
                    finished_at_ms: Some(1_700_000_000_900),
                    filename: format!("take-{i}.wav"),
                    format: "wav".into(),
                    size_bytes: 5_292_044,
                    blake3: "b".repeat(64),
                    sha256: "s".repeat(64),
                    upload: None,
                    result: Some(result.clone()),
                    error_code: None,
                    error_message: None,
                    credit_charged: true,
                    attempts: 1,
                    webhook_url: None,
                };
                let bytes = encode(&rec).expect("record");
                jobs.insert(id, bytes.as_slice()).expect("insert");
                by_project.insert((2u128, id), ()).expect("index");
            }
        }
        txn.commit().expect("commit");
    }
    let store = Store::open(&data).expect("store");
    println!(
        "{n} jobs ({} B result each) written in {:.1} s; database file {:.1} MB",
        result.len(),
        started.elapsed().as_secs_f64(),
        store.file_size() as f64 / 1e6
    );

    let t = Instant::now();
    let staged = tonearm::backup::prepare(&store, &data).expect("prepare");
    let snapshot_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out_path = dir.path().join("backup.tar");
    let out = std::io::BufWriter::new(std::fs::File::create(&out_path).expect("out"));
    tonearm::backup::write_tar(&staged, out).expect("tar");
    let tar_s = t.elapsed().as_secs_f64();
    drop(staged);
    let size = std::fs::metadata(&out_path).expect("size").len();
    let t = Instant::now();
    let m = tonearm::backup::verify(&out_path).expect("verify");
    let verify_s = t.elapsed().as_secs_f64();
    let target = dir.path().join("restored");
    let t = Instant::now();
    tonearm::backup::restore(&out_path, &target, false).expect("restore");
    let restore_s = t.elapsed().as_secs_f64();
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "snapshot + hash {snapshot_s:.2} s, tar {tar_s:.2} s, total {:.2} s; archive {:.1} MB ({} files); verify {verify_s:.2} s; restore {restore_s:.2} s",
        snapshot_s + tar_s,
        size as f64 / 1e6,
        m.files.len()
    );
}
