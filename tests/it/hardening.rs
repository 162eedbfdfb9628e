//! One tenant or one bad socket never takes the service down: silent connections, slow bodies,
//! non-audio uploads, header floods, key guessing, request ids, file permissions, a full disk.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::jobs::{multipart, wav};
use crate::support::client::{head, parse_response, read_response};
use crate::support::server::{BIN, TestServer, eventually, write_file};

/// Reads whatever the server sends until it closes or `limit` passes; `None` on timeout.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(out),
            Err(_) => return None,
        }
    }
}

fn healthz(s: &TestServer) -> u16 {
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(&head("GET", "/healthz", &[], 0)).unwrap();
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    if raw.is_empty() {
        return 0;
    }
    parse_response(&raw).status
}

#[test]
fn silent_connections_are_closed_and_healthz_keeps_answering() {
    let s = TestServer::start_with(&[
        ("server", "header_read_timeout = \"1s\""),
        ("server", "max_connections = 16"),
    ]);
    let mut silent: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    // Over the limit: answered at once with a JSON 503, not left in the accept queue.
    let mut extra = TcpStream::connect(s.addr).unwrap();
    let raw = read_until_closed(&mut extra, Duration::from_secs(5)).expect("no answer");
    let r = parse_response(&raw);
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "too_many_connections");
    assert!(r.header("retry-after").is_some());
    // The silent sockets are closed after header_read_timeout, counted from accept.
    let start = Instant::now();
    for c in &mut silent {
        let left = Duration::from_secs(10).saturating_sub(start.elapsed());
        let got = read_until_closed(c, left.max(Duration::from_millis(1)));
        assert_eq!(got, Some(vec![]), "a silent connection was kept open");
    }
    assert!(eventually(Duration::from_secs(5), || healthz(&s) == 200));
}

#[test]
fn a_request_head_sent_too_slowly_is_cut_off() {
    let s = TestServer::start_with(&[("server", "header_read_timeout = \"1s\"")]);
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (closed, _) = trickle_headers_until_closed(&mut c);
    assert!(closed, "a trickled request head was never cut off");
}

/// Sends one header line every 300 ms for up to 10 s; whether the server closed the connection
/// (or answered), and after how long.
fn trickle_headers_until_closed(c: &mut TcpStream) -> (bool, Duration) {
    let start = Instant::now();
    let mut b = [0u8; 512];
    while start.elapsed() < Duration::from_secs(10) {
        if c.write_all(b"X-Slow: 1\r\n").is_err() {
            return (true, start.elapsed());
        }
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        match c.read(&mut b) {
            Ok(_) => return (true, start.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (true, start.elapsed());
            }
            Err(_) => {}
        }
    }
    (false, start.elapsed())
}

/// The head of a later request on a kept-alive connection has the same deadline as the first.
#[test]
fn a_second_request_head_sent_too_slowly_is_cut_off() {
    let s = TestServer::start_with(&[("server", "header_read_timeout = \"1s\"")]);
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 4096];
    let n = c.read(&mut b).unwrap();
    assert!(
        b[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&b[..n])
    );
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (closed, after) = trickle_headers_until_closed(&mut c);
    assert!(closed, "a trickled second request head was never cut off");
    assert!(
        after >= Duration::from_millis(900),
        "cut before the timeout"
    );
}

/// Starts an upload (headers and the first bytes of a WAV) and returns the open socket.
fn start_slow_upload(s: &TestServer, key: &str) -> TcpStream {
    let audio = wav(3.0, 120.0);
    let (ct, body) = multipart(&[("file", Some("slow.wav"), &audio)]);
    let auth = format!("Bearer {key}");
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(&head(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        body.len(),
    ))
    .unwrap();
    c.write_all(&body[..400]).unwrap();
    c
}

fn partial_files(s: &TestServer) -> usize {
    std::fs::read_dir(s.data_dir().join("uploads"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn slow_uploads_are_capped_and_dropped_without_starving_other_tenants() {
    let s = TestServer::start_with(&[
        ("server", "body_idle_timeout = \"2s\""),
        ("server", "body_min_bytes_per_sec = 1024"),
        ("analysis", "max_queued = 1"),
        ("analysis", "max_uploads_per_key = 2"),
        ("analysis", "max_uploads_per_account = 3"),
    ]);
    let (_, key_a) = s.account_and_key(json!({}));
    let key_a = key_a["key"].as_str().unwrap().to_string();
    let mut slow: Vec<TcpStream> = (0..2).map(|_| start_slow_upload(&s, &key_a)).collect();
    assert!(eventually(Duration::from_secs(5), || partial_files(&s) == 2));

    // A third upload from the same key is refused at once, with Retry-After.
    let audio = wav(3.0, 120.0);
    let (ct, body) = multipart(&[("file", Some("third.wav"), &audio)]);
    let auth_a = format!("Bearer {key_a}");
    let headers_a = [("Authorization", auth_a.as_str()), ("Content-Type", &ct)];
    let r = s
        .client()
        .request("POST", "/api/v1/analyze", &headers_a, &body);
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["code"], "too_many_uploads");
    assert!(r.header("retry-after").is_some());

    // Another tenant gets the one queue place: uploads in progress hold none.
    let (_, key_b) = s.account_and_key(json!({}));
    let auth_b = format!("Bearer {}", key_b["key"].as_str().unwrap());
    let headers_b = [("Authorization", auth_b.as_str()), ("Content-Type", &ct)];
    let r = s
        .client()
        .request("POST", "/api/v1/analyze", &headers_b, &body);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));

    // The trickling uploads are dropped, with their partial files.
    let start = Instant::now();
    let mut dropped = 0;
    while start.elapsed() < Duration::from_secs(20) && dropped < slow.len() {
        dropped = 0;
        for c in &mut slow {
            if c.write_all(b"x").is_err() {
                dropped += 1;
                continue;
            }
            c.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut b = [0u8; 1024];
            match c.read(&mut b) {
                Ok(_) => dropped += 1,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => dropped += 1,
                Err(_) => {}
            }
        }
    }
    assert_eq!(dropped, 2, "slow uploads were never cut off");
    assert!(eventually(Duration::from_secs(5), || partial_files(&s) == 0));
}

#[test]
fn a_large_non_audio_upload_is_refused_after_its_first_bytes() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let auth = format!("Bearer {}", key["key"].as_str().unwrap());
    let boundary = "----tonearm-noise";
    let part_head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"noise.wav\"\r\n\r\n"
    );
    let declared = 64 * 1024 * 1024;
    let ct = format!("multipart/form-data; boundary={boundary}");
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(&head(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        declared,
    ))
    .unwrap();
    c.write_all(part_head.as_bytes()).unwrap();
    let noise: Vec<u8> = (0..256 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    c.write_all(&noise).unwrap();
    // The answer comes while 60+ MiB are still unsent.
    let raw = read_until_closed(&mut c, Duration::from_secs(10)).expect("no answer in time");
    let r = parse_response(&raw);
    assert_eq!(r.status, 415, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["code"], "not_audio");
    assert_eq!(partial_files(&s), 0);
}

#[test]
fn an_empty_file_part_is_400_empty_file() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let auth = format!("Bearer {}", key["key"].as_str().unwrap());
    let (ct, body) = multipart(&[("file", Some("empty.wav"), b"")]);
    let r = s.client().request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "empty_file");
}

#[test]
fn many_headers_are_accepted_and_too_many_get_a_json_431() {
    let s = TestServer::start_with(&[("server", "max_headers = 200")]);
    let names: Vec<String> = (0..150).map(|i| format!("X-Trace-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let r = s.client().request("GET", "/healthz", &headers, b"");
    assert_eq!(r.status, 200);

    let names: Vec<String> = (0..250).map(|i| format!("X-Trace-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let r = s.client().request("GET", "/healthz", &headers, b"");
    assert_eq!(r.status, 431);
    assert_eq!(r.json()["error"]["code"], "headers_too_large");
    assert!(r.header("x-request-id").is_some());

    let big = "v".repeat(20 * 1024);
    let r = s
        .client()
        .request("GET", "/healthz", &[("X-Big", &big)], b"");
    assert_eq!(r.status, 431);
    assert_eq!(r.json()["error"]["code"], "headers_too_large");
}

#[test]
fn failed_authentication_is_throttled_per_address_while_valid_keys_work() {
    let s = TestServer::start_with(&[("server", "auth_failures_per_minute = 5")]);
    let (_, key) = s.account_and_key(json!({}));
    let key = key["key"].as_str().unwrap().to_string();
    let c = s.client();
    let wrong = format!("{}x", &key[..key.len() - 1]);
    for _ in 0..5 {
        let (st, _, v) = c.get("/api/v1/me", &wrong);
        assert_eq!(st, 401, "{v}");
    }
    let (st, r, v) = c.get("/api/v1/me", &wrong);
    assert_eq!(st, 429, "{v}");
    assert_eq!(v["error"]["code"], "too_many_auth_failures");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // The management API counts the same address.
    let (st, _, v) = c.get("/admin/v1/accounts", "tonearm_mt_wrong");
    assert_eq!(st, 429, "{v}");
    // Valid credentials from the same address keep working.
    let (st, _, v) = c.get("/api/v1/me", &key);
    assert_eq!(st, 200, "{v}");
    let (st, _, v) = c.get("/admin/v1/accounts", &s.token);
    assert_eq!(st, 200, "{v}");
    // A request without credentials is not a guess and is not throttled.
    let r = c.request("GET", "/api/v1/me", &[], b"");
    assert_eq!(r.status, 401);
}

#[test]
fn a_client_request_id_is_echoed_only_when_short_plain_and_not_secret_like() {
    let s = TestServer::start();
    let c = s.client();
    let echo = |id: &str| {
        c.request("GET", "/healthz", &[("X-Request-Id", id)], b"")
            .header("x-request-id")
            .unwrap()
            .to_string()
    };
    assert_eq!(echo("trace-42.a_b"), "trace-42.a_b");
    for bad in [
        "tonearm_sk_0123456789abcdef".to_string(),
        "x".repeat(65),
        "has space".to_string(),
        "<script>".to_string(),
    ] {
        let got = echo(&bad);
        assert_ne!(got, bad);
        assert!(got.starts_with("req_"), "{got}");
    }
    assert!(!s.logs().contains("tonearm_sk_0123456789abcdef"));
}

#[test]
fn the_data_directory_and_its_files_are_private() {
    let s = TestServer::start();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.data_dir()), 0o700);
    assert_eq!(mode(&s.data_dir().join("tonearm.redb")), 0o600);
    assert_eq!(mode(&s.data_dir().join("uploads")), 0o700);
}

/// Runs `tonearm serve` on `listen` and `data`, expecting it to refuse to start; returns stderr.
fn serve_refused(dir: &std::path::Path, listen: &str, data: &std::path::Path) -> String {
    let cfg = write_file(
        dir,
        "tonearm.toml",
        &format!(
            "[server]\nlisten = \"{listen}\"\n[storage]\ndata_dir = {:?}\n",
            data.display().to_string()
        ),
    );
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .env_remove("TONEARM_DATA_DIR")
        .env_remove("TONEARM_LISTEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_data_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = serve_refused(dir.path(), "127.0.0.1:0", &data);
    assert!(err.contains("writable by other users"), "{err}");
    assert!(err.contains(&data.display().to_string()), "{err}");
    assert!(!data.join("tonearm.redb").exists());
}

#[test]
fn a_server_that_cannot_bind_leaves_no_data_directory() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    serve_refused(dir.path(), &taken.local_addr().unwrap().to_string(), &data);
    assert!(!data.exists(), "an empty data directory was left behind");
}

#[test]
fn the_absolute_data_directory_and_the_open_file_limit_are_logged_at_start() {
    let s = TestServer::start();
    let abs = s.data_dir().display().to_string();
    assert!(
        eventually(Duration::from_secs(5), || s.logs().contains(&abs)),
        "{}",
        s.logs()
    );
    assert!(s.logs().contains("open-file limit"), "{}", s.logs());
}

#[test]
fn uploads_get_507_while_the_disk_is_below_min_free_mb() {
    // More free space than any test machine has: the check must refuse.
    let s = TestServer::start_with(&[("storage", "min_free_mb = 1000000000000")]);
    let (_, key) = s.account_and_key(json!({}));
    let auth = format!("Bearer {}", key["key"].as_str().unwrap());
    let audio = wav(3.0, 120.0);
    let (ct, body) = multipart(&[("file", Some("a.wav"), &audio)]);
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(&head(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        body.len(),
    ))
    .unwrap();
    c.write_all(&body).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let r = read_response(&mut c);
    assert_eq!(r.status, 507, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["code"], "insufficient_storage");
    let stored = std::fs::read_dir(s.data_dir().join("uploads"))
        .unwrap()
        .count();
    assert_eq!(stored, 0);
    // Everything else keeps working.
    let (st, _, _) = s.client().get("/api/v1/me", key["key"].as_str().unwrap());
    assert_eq!(st, 200);
}

/// A small tmpfs mounted for one test; unmounted on drop.
struct Mount(std::path::PathBuf);

impl Mount {
    /// `None` when this process may not mount (not root): the caller skips the test.
    fn tmpfs(at: &std::path::Path, size_mb: u32) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m,mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` with one file; returns its path.
fn fill_disk(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0xA5u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_fails_writes_cleanly_loses_nothing_and_recovers_when_space_returns() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small file system needs root");
        return;
    }
    let mut mount = None;
    let mut s = TestServer::start_prepared(&[("storage", "min_free_mb = 0")], |data| {
        mount = Mount::tmpfs(data, 24);
    });
    let Some(_mount) = mount else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let (_, key) = s.account_and_key(json!({}));
    let key = key["key"].as_str().unwrap().to_string();
    let audio = wav(3.0, 120.0);
    let (ct, body) = multipart(&[("file", Some("a.wav"), &audio)]);
    let auth = format!("Bearer {key}");
    let r = s.client().request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 202);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    crate::jobs::wait_done(&s, &key, &job);

    let filler = fill_disk(&s.data_dir());
    // Writes now fail, as 503 storage_unavailable (or 507 for an upload), never as 500.
    let c = s.client();
    let mut created = 0;
    let mut refused = None;
    for i in 0..5000 {
        let (st, r, v) = c.post_json(
            "/admin/v1/accounts",
            &s.token,
            &json!({"name": format!("Studio {i}")}),
        );
        match st {
            201 => created += 1,
            _ => {
                refused = Some((st, v, r.header("retry-after").map(str::to_string)));
                break;
            }
        }
    }
    let (st, v, retry) = refused.expect("a full disk never refused a write");
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["error"]["code"], "storage_unavailable");
    assert!(retry.is_some());
    let r = s.client().request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert!(matches!(r.status, 503 | 507), "{}", r.status);
    assert_eq!(healthz(&s), 200);

    // Space returns: writes succeed again without a restart, and nothing was lost.
    std::fs::remove_file(filler).unwrap();
    assert!(
        eventually(Duration::from_secs(20), || {
            c.post_json("/admin/v1/accounts", &s.token, &json!({"name": "after"}))
                .0
                == 201
        }),
        "the server did not recover; log:\n{}",
        s.logs()
    );
    assert!(s.logs().contains("database reopened"), "{}", s.logs());
    let (st, _, v) = c.get(&format!("/api/v1/jobs/{job}"), &key);
    assert_eq!(st, 200);
    assert_eq!(v["status"], "succeeded");
    let (st, _, v) = c.get("/admin/v1/accounts?limit=100", &s.token);
    assert_eq!(st, 200);
    // The test's own account, the ones created before the disk filled, and "after".
    let listed = v["data"].as_array().unwrap().len();
    assert!(
        listed >= (created + 2).min(100),
        "{listed} < {}",
        created + 2
    );
    s.signal("TERM");
    s.wait_exit(Duration::from_secs(30));
}

#[test]
fn a_data_directory_that_cannot_be_made_is_named_once_by_its_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file, not a directory").unwrap();
    let cfg = write_file(
        dir.path(),
        "tonearm.toml",
        "[storage]\ndata_dir = \"blocker/data\"\n",
    );
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["admin", "bootstrap", "--config"])
        .arg(&cfg)
        .env_remove("TONEARM_DATA_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let abs = dir.path().join("blocker/data").display().to_string();
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or("");
    assert!(line.contains(&abs), "{err}");
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}
