//! The engine against hostile files: mutations of the committed fixtures (truncations, bit flips
//! in headers and bodies, absurd size fields, splices between containers, repeated and deleted
//! regions) go through `tonearm analyze --jsonl` in batches. Every file must get its own line,
//! no panic may escape (exit 101 or a signal), and no file may take more than 10 s alone.
//!
//! `TONEARM_FUZZ_INPUTS` (default 5000) and `TONEARM_FUZZ_SEED` (default fixed, so CI is
//! reproducible) change the run, `TONEARM_FUZZ_BIN` the binary under test, and
//! `TONEARM_FUZZ_KEEP_PEAK=DIR` keeps the batch that took the most memory;
//! `scripts/fuzz-engine.sh` runs long campaigns against a release build.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::server::BIN;

/// Files per `tonearm analyze` run.
const BATCH: usize = 50;
/// A file that takes longer than this alone is a hang.
const HANG: Duration = Duration::from_secs(10);

/// xorshift64*: reproducible from the seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// An offset biased towards the first bytes, where headers live.
    fn offset(&mut self, len: usize) -> usize {
        if self.below(2) == 0 {
            self.below(len.min(512))
        } else {
            self.below(len)
        }
    }
}

/// The seeds: every committed fixture, plus a CAF file made here (none is committed).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let ext = p.extension()?.to_str()?.to_string();
            (ext != "md").then(|| (ext, std::fs::read(&p).unwrap()))
        })
        .collect();
    out.sort();
    out.push(("caf".into(), caf_pcm16(22_050, 1.0)));
    out
}

/// A minimal Core Audio Format file: `desc` (big-endian 16-bit PCM, mono) and `data` chunks.
fn caf_pcm16(rate: u32, secs: f64) -> Vec<u8> {
    let n = (f64::from(rate) * secs) as usize;
    let mut b = b"caff\x00\x01\x00\x00".to_vec();
    b.extend_from_slice(b"desc");
    b.extend_from_slice(&32u64.to_be_bytes());
    b.extend_from_slice(&f64::from(rate).to_be_bytes());
    b.extend_from_slice(b"lpcm");
    b.extend_from_slice(&0u32.to_be_bytes()); // flags: big-endian integer
    for v in [2u32, 1, 1, 16] {
        // bytes per packet, frames per packet, channels, bits
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(4 + 2 * n as u64).to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes()); // edit count
    for i in 0..n {
        let s = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate)).sin();
        b.extend_from_slice(&((s * 12_000.0) as i16).to_be_bytes());
    }
    b
}

const ABSURD: [u32; 6] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE];

/// One hostile file from the seeds: one to three mutations, each chosen at random.
fn mutate(rng: &mut Rng, seeds: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
    let (ext, base) = &seeds[rng.below(seeds.len())];
    let mut b = base.clone();
    for _ in 0..1 + rng.below(3) {
        if b.is_empty() {
            break;
        }
        match rng.below(7) {
            0 => {
                let at = rng.offset(b.len());
                b.truncate(at.max(1));
            }
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let at = rng.offset(b.len());
                    b[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                let at = rng.offset(b.len().saturating_sub(4));
                let v = ABSURD[rng.below(ABSURD.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                let end = (at + 4).min(b.len());
                b[at..end].copy_from_slice(&bytes[..end - at]);
            }
            3 => {
                // The head of this file on the body of another (containers spliced).
                let (_, other) = &seeds[rng.below(seeds.len())];
                let cut = rng.offset(b.len());
                let from = rng.below(other.len());
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            4 => {
                let at = rng.below(b.len());
                let len = (1 + rng.below(4096)).min(b.len() - at);
                let region = b[at..at + len].to_vec();
                for _ in 0..1 + rng.below(4) {
                    b.splice(at..at, region.iter().copied());
                }
            }
            5 => {
                let at = rng.offset(b.len());
                let len = (1 + rng.below(2048)).min(b.len() - at);
                b.drain(at..at + len);
            }
            _ => {
                let at = rng.offset(b.len());
                let len = (1 + rng.below(64)).min(b.len() - at);
                for x in &mut b[at..at + len] {
                    *x = rng.next() as u8;
                }
            }
        }
    }
    (ext.clone(), b)
}

/// How one `tonearm analyze` run ended.
struct Run {
    /// `None`: killed at the deadline.
    status: Option<std::process::ExitStatus>,
    stdout: String,
    /// Peak resident set of the run, KiB.
    max_rss_kib: i64,
}

// The child is reaped with wait4 (which Command cannot do) to read its own peak memory.
#[allow(clippy::zombie_processes)]
fn analyze(files: &[PathBuf], deadline: Duration, out_dir: &Path) -> Run {
    let out_path = out_dir.join("out.jsonl");
    let out = std::fs::File::create(&out_path).unwrap();
    let bin = std::env::var("TONEARM_FUZZ_BIN").unwrap_or_else(|_| BIN.to_string());
    let child = Command::new(bin)
        .args(["analyze", "--jsonl", "--threads", "2"])
        .args(files)
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let finished = loop {
        // wait4 rather than Child::wait: it reports this child's own peak memory.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break true;
        }
        if start.elapsed() > deadline {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut usage);
            }
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        status: finished.then(|| std::process::ExitStatus::from_raw(status)),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        max_rss_kib: usage.ru_maxrss,
    }
}

/// Paths that got a well-formed line (a result or an error with a code).
fn answered(stdout: &str) -> std::collections::HashSet<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["result"].is_object() || v["error"]["code"].is_string())
        .filter_map(|v| v["path"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn mutated_inputs_never_crash_or_hang_the_analyzer() {
    let inputs: usize = std::env::var("TONEARM_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let seed: u64 = std::env::var("TONEARM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7031_6e5e_ed00_0001);
    let mut rng = Rng(seed | 1);
    let seeds = seeds();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (mut done, mut peak_kib, mut failures) = (0usize, 0i64, Vec::new());
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    while done < inputs {
        let n = BATCH.min(inputs - done);
        let batch_dir = dir.path().join(format!("b{}", done / BATCH));
        std::fs::create_dir_all(&batch_dir).unwrap();
        let files: Vec<PathBuf> = (0..n)
            .map(|i| {
                let (ext, bytes) = mutate(&mut rng, &seeds);
                let p = batch_dir.join(format!("in{i}.{ext}"));
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect();
        // Generous for the batch; a batch that overruns is retried file by file against HANG.
        let run = analyze(&files, HANG * 6, &batch_dir);
        if run.max_rss_kib > peak_kib
            && let Ok(keep) = std::env::var("TONEARM_FUZZ_KEEP_PEAK")
        {
            // The batch behind the peak memory, for whoever wants to know which input it was.
            let _ = std::fs::remove_dir_all(&keep);
            std::fs::create_dir_all(&keep).unwrap();
            for f in &files {
                std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
            }
        }
        peak_kib = peak_kib.max(run.max_rss_kib);
        let seen = answered(&run.stdout);
        for l in run.stdout.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                let code = v["error"]["code"].as_str().unwrap_or("ok").to_string();
                *codes.entry(code).or_default() += 1;
            }
        }
        let clean = run.status.is_some_and(|s| s.code().is_some_and(|c| c <= 1));
        if !clean || seen.len() != files.len() {
            for f in &files {
                if seen.contains(f.to_str().unwrap()) {
                    continue;
                }
                let alone = analyze(std::slice::from_ref(f), HANG, &batch_dir);
                peak_kib = peak_kib.max(alone.max_rss_kib);
                let kept = dir.path().join(format!(
                    "failure{}.{}",
                    failures.len(),
                    f.extension().unwrap().to_str().unwrap()
                ));
                match alone.status {
                    None => failures.push(format!("hang over {HANG:?}: {}", kept.display())),
                    Some(s) if s.code().is_none_or(|c| c > 1) => {
                        failures.push(format!("exit {s:?}: {}", kept.display()))
                    }
                    Some(_) if answered(&alone.stdout).len() != 1 => {
                        failures.push(format!("no line: {}", kept.display()))
                    }
                    Some(_) => continue,
                }
                std::fs::copy(f, &kept).unwrap();
            }
        }
        std::fs::remove_dir_all(&batch_dir).unwrap();
        done += n;
    }
    println!(
        "fuzz: {inputs} inputs, seed {seed}, {:.1} s, peak RSS {:.1} MiB, outcomes {codes:?}",
        started.elapsed().as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    if !failures.is_empty() {
        // Keep the reproducers for whoever reads the failure.
        let keep = dir.keep();
        panic!(
            "{} of {inputs} inputs crashed or hung (kept in {}):\n{}",
            failures.len(),
            keep.display(),
            failures.join("\n")
        );
    }
}
