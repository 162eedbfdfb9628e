//! Online backup under load, restore into a fresh data directory, and refusal of damaged
//! archives and non-empty targets.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::server::{BIN, TestServer, eventually};

fn restore(file: &std::path::Path, dir: &std::path::Path, force: bool) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.args(["admin", "restore"])
        .arg(file)
        .arg("--data-dir")
        .arg(dir);
    if force {
        c.arg("--force");
    }
    c.output().unwrap()
}

fn list(s: &TestServer, path: &str, bearer: &str) -> Vec<Value> {
    let (st, _, v) = s.client().get(path, bearer);
    assert_eq!(st, 200, "{path}: {v}");
    v["data"].as_array().unwrap().clone()
}

#[test]
fn a_backup_taken_under_load_restores_every_key_job_and_delivery() {
    // The receiver always fails, so deliveries stay pending with retries while jobs run.
    let rx = Receiver::scripted(|_| (500, Duration::ZERO));
    let s = TestServer::start_with(&[("webhooks", r#"retry_schedule = ["0s", "1s", "1h"]"#)]);
    let (account, key) = s.account_and_key(json!({"webhook_secret": true}));
    let value = key["key"].as_str().unwrap().to_string();
    let hook = rx.url("/hook");
    let mut done = Vec::new();
    for _ in 0..3 {
        let job = crate::deliveries::submit_job(&s, &value, &hook);
        crate::jobs::wait_done(&s, &value, &job);
        done.push(job);
    }
    assert!(eventually(Duration::from_secs(60), || rx.count() >= 3));
    let (st, _, _) = s.client().post_json(
        &format!("/admin/v1/accounts/{account}/credits"),
        &s.token,
        &json!({"amount": 7}),
    );
    assert_eq!(st, 201);
    // Load while the backup runs: uploads and polling from another thread.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loader = {
        let (stop, client, value, hook) = (stop.clone(), s.client(), value.clone(), hook.clone());
        let audio = crate::jobs::wav(1.0, 120.0);
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 20 {
                let (ct, body) = crate::jobs::multipart(&[
                    ("file", Some("load.wav"), &audio),
                    ("webhook_url", None, hook.as_bytes()),
                ]);
                let auth = format!("Bearer {value}");
                let r = client.request(
                    "POST",
                    "/api/v1/analyze",
                    &[("Authorization", &auth), ("Content-Type", &ct)],
                    &body,
                );
                assert!(r.status == 202 || r.status == 503, "{}", r.status);
                client.get("/api/v1/me", &value);
                n += 1;
            }
        })
    };
    let out_dir = tempfile::tempdir().unwrap();
    let archive = out_dir.path().join("backup.tar");
    let out = s.cli(&["admin", "backup", "--out", archive.to_str().unwrap()]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    loader.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
    assert!(!out_dir.path().join("backup.tar.part").exists());
    // The server kept serving and left no frozen files behind.
    assert_eq!(s.client().get("/api/v1/me", &value).0, 200);
    assert!(!std::fs::read_dir(s.data_dir()).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".backup-")
    }));

    let before_jobs = list(&s, "/api/v1/jobs?limit=100", &value);
    let restored = TestServer::start_prepared(&[], |dir| {
        let out = restore(&archive, dir, false);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let r = restored.client();
    // Keys, the old management token, accounts, credits.
    assert_eq!(r.get("/api/v1/me", &value).0, 200);
    assert_eq!(r.get("/admin/v1/keys", &s.token).0, 200);
    let (st, _, acct) = r.get(&format!("/admin/v1/accounts/{account}"), &s.token);
    assert_eq!(st, 200, "{acct}");
    let ledger = list(
        &restored,
        &format!("/admin/v1/accounts/{account}/ledger"),
        &s.token,
    );
    assert!(ledger.iter().any(|e| e["amount"] == 7));
    // Every finished job with the same result; the snapshot's jobs are a subset of the later
    // listing, and every restored job is readable.
    for job in &done {
        let (st, _, a) = s.client().get(&format!("/api/v1/jobs/{job}"), &value);
        let (st2, _, b) = r.get(&format!("/api/v1/jobs/{job}"), &value);
        assert_eq!((st, st2), (200, 200));
        assert_eq!(a["result"], b["result"]);
    }
    let restored_jobs = list(&restored, "/api/v1/jobs?limit=100", &value);
    assert!(restored_jobs.len() >= done.len());
    for j in &restored_jobs {
        assert!(
            before_jobs.iter().any(|b| b["job_id"] == j["job_id"]),
            "{j} was not on the source"
        );
        let (st, _, _) = r.get(
            &format!("/api/v1/jobs/{}", j["job_id"].as_str().unwrap()),
            &value,
        );
        assert!(st == 200 || st == 202);
    }
    // Deliveries with their attempts, and the project's signing secret.
    let deliveries = list(&restored, "/api/v1/webhooks/deliveries?limit=100", &value);
    for job in &done {
        let d = deliveries
            .iter()
            .find(|d| d["job_id"] == job.as_str())
            .unwrap();
        assert!(d["attempts"].as_u64().unwrap() >= 1, "{d}");
    }
    assert_eq!(list(&restored, "/api/v1/webhook-secrets", &value).len(), 1);
    let (_, _, audit) = r.get("/admin/v1/audit?action=key.create", &s.token);
    assert_eq!(audit["data"].as_array().unwrap().len(), 1);
    // The restored server sends the pending deliveries again, signed with the restored secret.
    let seen = rx.count();
    assert!(eventually(Duration::from_secs(60), || rx.count() > seen));
}

#[test]
fn damaged_archives_and_non_empty_targets_are_refused_before_anything_is_written() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("b.tar");
    let out = s.cli(&["admin", "backup", "--out", archive.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&archive).unwrap();

    // One flipped byte in the database snapshot (past the manifest's first blocks).
    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x40;
    let bad = dir.path().join("flipped.tar");
    std::fs::write(&bad, &flipped).unwrap();
    let target = dir.path().join("target");
    let out = restore(&bad, &target, false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") || err.contains("mismatch"), "{err}");
    assert!(!target.exists(), "nothing is written for a damaged archive");

    let short = dir.path().join("short.tar");
    std::fs::write(&short, &bytes[..bytes.len() / 3]).unwrap();
    let out = restore(&short, &target, false);
    assert!(!out.status.success());
    assert!(!target.exists());

    // A good archive into a non-empty directory needs --force.
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("stray"), "x").unwrap();
    let out = restore(&archive, &target, false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = restore(&archive, &target, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!target.join("stray").exists());
    assert!(target.join("tonearm.redb").exists());
    assert!(target.join("webhook-master.key").exists());
    // A running server's directory is never overwritten.
    let out = restore(&archive, &s.data_dir(), true);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
    assert_eq!(
        s.client().get("/api/v1/me", key["key"].as_str().unwrap()).0,
        200
    );
}
