//! Analysis jobs end to end over HTTP: upload, poll, event stream, limits, projects,
//! idempotency, the bounded queue, credits, and recovery after SIGKILL.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::audio::{Audio, Encoding, click_track};
use crate::support::client::{Response, head, read_response};
use crate::support::server::{BIN, TestServer, eventually};

const WAIT: Duration = Duration::from_secs(180);

/// A multipart/form-data body: (field name, file name, bytes).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----tonearm-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn submit(s: &TestServer, key: &str, name: &str, audio: &[u8], extra: &[(&str, &str)]) -> Response {
    let (ct, body) = multipart(&[("file", Some(name), audio)]);
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", ct.as_str()),
    ];
    headers.extend_from_slice(extra);
    s.client()
        .request("POST", "/api/v1/analyze", &headers, &body)
}

pub fn wav(secs: f64, bpm: f64) -> Vec<u8> {
    Audio::copies(44_100, click_track(44_100, bpm, 4, secs), 2).wav_bytes(Encoding::Pcm16, None)
}

pub fn wait_done(s: &TestServer, key: &str, job: &str) -> Value {
    let mut done = Value::Null;
    assert!(
        eventually(WAIT, || {
            let (st, _, v) = s.client().get(&format!("/api/v1/jobs/{job}"), key);
            if st == 200 {
                done = v;
                true
            } else {
                assert_eq!(st, 202, "{v}");
                false
            }
        }),
        "job {job} did not finish"
    );
    done
}

fn key_of(s: &TestServer, extra: Value) -> String {
    s.account_and_key(extra).1["key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Reads a whole event stream (the server closes it after `done`): (event, data) pairs.
fn read_events(s: &TestServer, key: &str, job: &str) -> Vec<(String, Value)> {
    let auth = format!("Bearer {key}");
    let r = s.client().request(
        "GET",
        &format!("/api/v1/jobs/{job}/stream"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = String::from_utf8(r.body).unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(d).unwrap());
                }
            }
            Some((event?, data?))
        })
        .collect()
}

#[test]
fn uploaded_wav_and_mp3_give_the_same_result_as_tonearm_analyze() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let wav_path = dir.path().join("click_120.wav");
    std::fs::write(&wav_path, wav(40.0, 120.0)).unwrap();
    let mp3_path = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mp3_cbr192_44k_stereo.mp3"
    ));
    for path in [&wav_path, &mp3_path] {
        let name = path.file_name().unwrap().to_str().unwrap();
        let r = submit(&s, &key, name, &std::fs::read(path).unwrap(), &[]);
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let accepted = r.json();
        assert_eq!(accepted["object"], "analysis_job");
        assert_eq!(accepted["status"], "queued");
        assert_eq!(accepted["webhook_delivery"], "none");
        let job = accepted["job_id"].as_str().unwrap().to_string();
        assert!(job.starts_with("job_"));
        assert_eq!(accepted["poll_url"], format!("/api/v1/jobs/{job}"));
        assert_eq!(accepted["stream_url"], format!("/api/v1/jobs/{job}/stream"));
        let (st, resp, pending) = s.client().get(&format!("/api/v1/jobs/{job}"), &key);
        if st == 202 {
            assert!(resp.header("retry-after").is_some());
            assert!(["queued", "running"].contains(&pending["status"].as_str().unwrap()));
            assert!(pending["progress"].is_number());
        }
        let done = wait_done(&s, &key, &job);
        assert_eq!(done["status"], "succeeded", "{done}");
        assert!(done["finished_at"].is_string());
        let out = std::process::Command::new(BIN)
            .args(["analyze", "--json"])
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(done["result"], cli, "API and CLI differ for {name}");
    }
    // The 40 s click track is read at its tempo.
    let (_, _, list) = s.client().get("/api/v1/jobs?status=succeeded", &key);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
}

#[test]
fn event_stream_sends_progress_then_result_then_done() {
    let s = TestServer::start_with(&[("analysis", "workers = 1")]);
    let key = key_of(&s, json!({}));
    // A long job first keeps the second queued while we subscribe.
    let first = submit(&s, &key, "long.wav", &wav(120.0, 100.0), &[]).json();
    let r = submit(&s, &key, "click.wav", &wav(20.0, 120.0), &[]);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    let events = read_events(&s, &key, &job);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert!(names.len() >= 3, "{names:?}");
    assert_eq!(&names[names.len() - 2..], ["result", "done"], "{names:?}");
    assert!(
        names[..names.len() - 2].iter().all(|n| *n == "progress"),
        "{names:?}"
    );
    assert_eq!(names[0], "progress");
    assert!(events[0].1["progress"].is_number() && events[0].1["stage"].is_string());
    assert_eq!(events.last().unwrap().1, json!({"ok": true}));
    let result = &events[events.len() - 2].1;
    assert_eq!(result["file_meta"]["filename"], "click.wav");
    wait_done(&s, &key, first["job_id"].as_str().unwrap());
}

/// `server.header_read_timeout` bounds how long a request head may take to arrive, never how
/// long a response may stream: an event stream that waits longer still ends with its result.
#[test]
fn an_event_stream_outlives_the_header_read_timeout() {
    let s = TestServer::start_with(&[
        ("analysis", "workers = 1"),
        ("server", "header_read_timeout = \"1s\""),
    ]);
    let key = key_of(&s, json!({}));
    // Long jobs ahead keep the streamed one queued for longer than the timeout.
    let long = wav(300.0, 100.0);
    let ahead: Vec<Value> = (0..3)
        .map(|i| submit(&s, &key, &format!("long{i}.wav"), &long, &[]).json())
        .collect();
    let r = submit(&s, &key, "click.wav", &wav(20.0, 120.0), &[]);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let events = read_events(&s, &key, &job);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    let took = started.elapsed();
    assert!(
        names.ends_with(&["result", "done"]),
        "{names:?} after {took:?}"
    );
    assert!(
        took > std::time::Duration::from_millis(1500),
        "the stream must outlast the timeout for this test to mean anything"
    );
    for j in &ahead {
        wait_done(&s, &key, j["job_id"].as_str().unwrap());
    }
}

#[test]
fn progress_events_are_bounded_and_never_go_back() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    // 200 decoded seconds: the engine reports each one, subscribers hear of a new stage and of
    // progress within a stage at most five times a second.
    let r = submit(&s, &key, "long.wav", &wav(200.0, 100.0), &[]);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    let events = read_events(&s, &key, &job);
    let progress: Vec<f64> = events
        .iter()
        .filter(|(name, v)| name == "progress" && v["status"] == "running")
        .map(|(_, v)| v["progress"].as_f64().unwrap())
        .collect();
    assert!(!progress.is_empty());
    assert!(progress.len() <= 70, "{} progress events", progress.len());
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    // Two decimals, as people read them: 0.6, never 0.6000000238418579.
    assert!(
        progress.iter().all(|p| (p * 100.0).round() / 100.0 == *p),
        "{progress:?}"
    );
    // Stages in the engine's order, never back to an earlier one (tempo and key run side by
    // side and may finish in either order).
    let order = ["queued", "decode", "loudness", "tempo", "key", "finish"];
    let ranks: Vec<usize> = events
        .iter()
        .filter(|(name, _)| name == "progress")
        .map(|(_, v)| {
            let stage = v["stage"].as_str().unwrap();
            order.iter().position(|o| *o == stage).unwrap()
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert_eq!(events.last().unwrap().1, json!({"ok": true}));
}

#[test]
fn late_subscriber_gets_the_result_at_once_and_failures_end_with_error() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let job = submit(&s, &key, "a.wav", &wav(5.0, 120.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_done(&s, &key, &job);
    let events = read_events(&s, &key, &job);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["result", "done"]);
    // A WAV header with a handful of samples is audio to the sniffer but fails analysis.
    let tiny = Audio::mono(8_000, vec![0.1; 10]).wav_bytes(Encoding::Pcm16, None);
    let job = submit(&s, &key, "tiny.wav", &tiny, &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = wait_done(&s, &key, &job);
    assert_eq!(done["status"], "failed");
    assert!(done["error"]["code"].is_string() && done["error"]["message"].is_string());
    let events = read_events(&s, &key, &job);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["error", "done"]);
    assert_eq!(events[1].1, json!({"ok": false}));
}

#[test]
fn oversized_upload_is_413_by_content_length_before_reading() {
    let s = TestServer::start_with(&[("analysis", "max_upload_mb = 1")]);
    let key = key_of(&s, json!({}));
    let mut conn = s.client().connect();
    let auth = format!("Bearer {key}");
    conn.write_all(&head(
        "POST",
        "/api/v1/analyze",
        &[
            ("Authorization", &auth),
            ("Content-Type", "multipart/form-data; boundary=x"),
        ],
        50 * 1024 * 1024,
    ))
    .unwrap();
    // No body is sent: the answer must come from the header alone.
    let r = read_response(&mut conn);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
}

#[test]
fn oversized_upload_is_413_while_streaming_and_leaves_no_file() {
    let s = TestServer::start_with(&[("plans.default", "max_upload_mb = 1")]);
    let key = key_of(&s, json!({}));
    // Audio from its first bytes (a WAV header), so only the size can refuse it.
    let mut big = wav(1.0, 120.0);
    big.resize(3 * 1024 * 1024, 0);
    let (ct, body) = multipart(&[("file", Some("big.wav"), &big)]);
    let mut conn = s.client().connect();
    let auth = format!("Bearer {key}");
    let mut h = format!(
        "POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    conn.write_all(h.as_bytes()).unwrap();
    for chunk in body.chunks(64 * 1024) {
        h = format!("{:x}\r\n", chunk.len());
        if conn
            .write_all(h.as_bytes())
            .and_then(|_| conn.write_all(chunk))
            .and_then(|_| conn.write_all(b"\r\n"))
            .is_err()
        {
            break; // the server answered and closed
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    let r = crate::support::client::parse_response(&raw);
    assert_eq!(r.status, 413);
    let uploads = s.data_dir().join("uploads");
    assert!(eventually(Duration::from_secs(10), || std::fs::read_dir(
        &uploads
    )
    .unwrap()
    .count()
        == 0));
}

#[test]
fn text_file_named_mp3_is_415_and_missing_file_is_400() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let r = submit(
        &s,
        &key,
        "song.mp3",
        b"this is not audio, just text with an mp3 name\n",
        &[],
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["error"]["code"], "not_audio");
    let auth = format!("Bearer {key}");
    let (ct, body) = multipart(&[("filename", None, b"x.wav")]);
    let r = s.client().request(
        "POST",
        "/api/v1/analyze",
        &[("Authorization", &auth), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "missing_file");
    let r = s.client().request(
        "POST",
        "/api/v1/analyze",
        &[
            ("Authorization", &auth),
            ("Content-Type", "multipart/form-data; boundary=zz"),
        ],
        b"--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "malformed_multipart");
    let r = s.client().request(
        "POST",
        "/api/v1/analyze",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "malformed_multipart");
    assert_eq!(
        std::fs::read_dir(s.data_dir().join("uploads"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn jobs_of_another_project_are_404_like_unknown_ones() {
    let s = TestServer::start();
    let key_a = key_of(&s, json!({}));
    let key_b = key_of(&s, json!({}));
    let job = submit(&s, &key_a, "a.wav", &wav(3.0, 120.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, _, e) = s.client().get(&format!("/api/v1/jobs/{job}"), &key_b);
    assert_eq!(st, 404);
    let (st2, _, e2) = s
        .client()
        .get("/api/v1/jobs/job_0000000000000000000000", &key_b);
    assert_eq!(st2, 404);
    assert_eq!(e["error"]["code"], e2["error"]["code"]);
    assert_eq!(e["error"]["message"], e2["error"]["message"]);
    assert_eq!(
        s.client().delete(&format!("/api/v1/jobs/{job}"), &key_b).0,
        404
    );
    let (_, _, list) = s.client().get("/api/v1/jobs", &key_b);
    assert!(list["data"].as_array().unwrap().is_empty());
    wait_done(&s, &key_a, &job);
}

#[test]
fn same_idempotency_key_returns_the_original_job() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let audio = wav(3.0, 120.0);
    let r1 = submit(
        &s,
        &key,
        "a.wav",
        &audio,
        &[("Idempotency-Key", "upload-42")],
    );
    let r2 = submit(
        &s,
        &key,
        "a.wav",
        &audio,
        &[("Idempotency-Key", "upload-42")],
    );
    assert_eq!(r1.status, 202);
    assert_eq!(r2.status, 202);
    assert_eq!(r1.json()["job_id"], r2.json()["job_id"]);
    assert_eq!(r2.header("idempotent-replayed"), Some("true"));
    let r3 = submit(
        &s,
        &key,
        "a.wav",
        &audio,
        &[("Idempotency-Key", "upload-43")],
    );
    assert_ne!(r1.json()["job_id"], r3.json()["job_id"]);
    let (_, _, list) = s.client().get("/api/v1/jobs", &key);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
}

/// An Idempotency-Key names one request: the same key with another file, name or webhook URL
/// within 24 hours is refused instead of silently answering with the first job.
#[test]
fn idempotency_key_reused_for_another_upload_is_422() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let k = [("Idempotency-Key", "batch-1")];
    let first = submit(&s, &key, "a.wav", &wav(3.0, 120.0), &k);
    assert_eq!(first.status, 202);
    let other_file = submit(&s, &key, "a.wav", &wav(3.0, 90.0), &k);
    assert_eq!(other_file.status, 422);
    assert_eq!(other_file.json()["error"]["code"], "idempotency_key_reused");
    let other_name = submit(&s, &key, "b.wav", &wav(3.0, 120.0), &k);
    assert_eq!(other_name.status, 422);
    let (_, _, list) = s.client().get("/api/v1/jobs", &key);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

/// A replay says what the job is now, not what it was when first accepted.
#[test]
fn idempotent_replay_shows_the_jobs_current_state() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let audio = wav(3.0, 120.0);
    let k = [("Idempotency-Key", "track-7")];
    let first = submit(&s, &key, "a.wav", &audio, &k);
    assert_eq!(first.status, 202);
    let job = first.json()["job_id"].as_str().unwrap().to_string();
    assert_eq!(wait_done(&s, &key, &job)["status"], "succeeded");
    let again = submit(&s, &key, "a.wav", &audio, &k);
    assert_eq!(again.status, 202);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let v = again.json();
    assert_eq!(v["job_id"], job.as_str());
    assert_eq!(v["status"], "succeeded", "{v}");
}

/// While the first request with a key is still being received, a second one with the same key
/// is refused with 409; the first then completes normally.
#[test]
fn concurrent_request_with_the_same_idempotency_key_is_409() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let audio = wav(3.0, 120.0);
    let (ct, body) = multipart(&[("file", Some("a.wav"), &audio)]);
    let auth = format!("Bearer {key}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", ct.as_str()),
        ("Idempotency-Key", "slow-1"),
    ];
    let c = s.client();
    let mut slow = c.connect();
    slow.write_all(&head("POST", "/api/v1/analyze", &headers, body.len()))
        .unwrap();
    let half = body.len() / 2;
    slow.write_all(&body[..half]).unwrap();
    slow.flush().unwrap();
    // The key is claimed before the upload is written: once its partial file exists, the
    // first request holds it.
    let uploads = s.data_dir().join("uploads");
    assert!(eventually(WAIT, || {
        std::fs::read_dir(&uploads).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".part"))
        })
    }));
    let second = c.request("POST", "/api/v1/analyze", &headers, &body);
    assert_eq!(second.status, 409);
    assert_eq!(second.json()["error"]["code"], "idempotency_key_in_use");
    slow.write_all(&body[half..]).unwrap();
    let first = read_response(&mut slow);
    assert_eq!(first.status, 202, "{:?}", first.json());
    // Once answered, the key replays.
    let again = c.request("POST", "/api/v1/analyze", &headers, &body);
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["job_id"], first.json()["job_id"]);
}

/// `started_at` is set whenever a job shows as running, including the moment between a thread
/// taking the job up and the database recording it.
#[test]
fn a_running_job_always_has_started_at() {
    let s = TestServer::start_with(&[("analysis", "workers = 1")]);
    let key = key_of(&s, json!({}));
    let long =
        Audio::mono(44_100, click_track(44_100, 100.0, 4, 120.0)).wav_bytes(Encoding::Pcm16, None);
    let mut running = 0;
    for _ in 0..3 {
        let r = submit(&s, &key, "long.wav", &long, &[]);
        assert_eq!(r.status, 202);
        let job = r.json()["job_id"].as_str().unwrap().to_string();
        let c = s.client();
        assert!(eventually(WAIT, || {
            let (st, _, v) = c.get(&format!("/api/v1/jobs/{job}"), &key);
            if v["status"] == "running" {
                running += 1;
                assert!(
                    v["started_at"].is_string(),
                    "running without started_at: {v}"
                );
            }
            st == 200
        }));
    }
    assert!(running > 0, "never saw the job running");
}

#[test]
fn full_queue_gets_503_with_retry_after() {
    let s = TestServer::start_with(&[("analysis", "workers = 1"), ("analysis", "max_queued = 1")]);
    let key = key_of(&s, json!({}));
    let long =
        Audio::mono(44_100, click_track(44_100, 100.0, 4, 240.0)).wav_bytes(Encoding::Pcm16, None);
    let first = submit(&s, &key, "long.wav", &long, &[]);
    assert_eq!(first.status, 202);
    let r = submit(&s, &key, "b.wav", &wav(2.0, 120.0), &[]);
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["code"], "queue_full");
    assert!(r.header("retry-after").is_some());
    wait_done(&s, &key, first.json()["job_id"].as_str().unwrap());
    assert_eq!(submit(&s, &key, "b.wav", &wav(2.0, 120.0), &[]).status, 202);
}

#[test]
fn deleting_a_job_removes_it_and_its_audio() {
    let s = TestServer::start_with(&[("storage", "keep_uploads = true")]);
    let key = key_of(&s, json!({}));
    let job = submit(&s, &key, "a.wav", &wav(3.0, 120.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_done(&s, &key, &job);
    let uploads = s.data_dir().join("uploads");
    assert_eq!(
        std::fs::read_dir(&uploads).unwrap().count(),
        1,
        "keep_uploads keeps the audio"
    );
    let (st, _, _) = s.client().delete(&format!("/api/v1/jobs/{job}"), &key);
    assert_eq!(st, 200);
    assert_eq!(s.client().get(&format!("/api/v1/jobs/{job}"), &key).0, 404);
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
}

#[test]
fn uploads_are_deleted_when_the_job_ends_by_default() {
    let s = TestServer::start();
    let key = key_of(&s, json!({}));
    let job = submit(&s, &key, "a.wav", &wav(3.0, 120.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_done(&s, &key, &job);
    assert_eq!(
        std::fs::read_dir(s.data_dir().join("uploads"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn credits_are_taken_refunded_on_failure_and_402_at_zero() {
    let s = TestServer::start_with(&[("plans.default", "credits_per_month = 2")]);
    let key = key_of(&s, json!({}));
    let ok = submit(&s, &key, "a.wav", &wav(3.0, 120.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_done(&s, &key, &ok);
    let tiny = Audio::mono(8_000, vec![0.1; 10]).wav_bytes(Encoding::Pcm16, None);
    let bad = submit(&s, &key, "tiny.wav", &tiny, &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait_done(&s, &key, &bad)["status"], "failed");
    let (_, _, account) = s.client().get("/api/v1/account", &key);
    assert_eq!(account["credits_remaining"], 1, "{account}");
    let (_, _, ledger) = s.client().get("/api/v1/account/ledger", &key);
    let types: Vec<&str> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["refund", "analysis", "analysis", "monthly_reset"]);
    assert_eq!(ledger["data"][0]["job_id"], bad.as_str());
    let last = submit(&s, &key, "b.wav", &wav(3.0, 120.0), &[]);
    assert_eq!(last.status, 202);
    let r = submit(&s, &key, "c.wav", &wav(3.0, 120.0), &[]);
    assert_eq!(r.status, 402);
    assert_eq!(r.json()["error"]["code"], "insufficient_credits");
    wait_done(&s, &key, last.json()["job_id"].as_str().unwrap());
}

#[test]
fn a_client_that_sends_its_whole_upload_before_reading_gets_the_refusal() {
    let s = TestServer::start_with(&[("plans.default", "credits_per_month = 0")]);
    let key = key_of(&s, json!({}));
    // 20 MB: far more than the socket buffers hold, so the server must read while it refuses.
    let r = submit(&s, &key, "big.wav", &wav(120.0, 120.0), &[]);
    assert_eq!(r.status, 402);
    assert_eq!(r.json()["error"]["code"], "insufficient_credits");
    // Refused before any handler runs: a key that does not exist.
    // A different last character, whatever the real one is.
    let last = if key.ends_with('x') { 'y' } else { 'x' };
    let bogus = format!("{}{last}", &key[..key.len() - 1]);
    let r = submit(&s, &bogus, "big.wav", &wav(120.0, 120.0), &[]);
    assert_eq!(r.status, 401);
}

/// Waits until the job is running and its start is on record (the record is written beside the
/// analysis, a moment after the live status changes).
fn wait_running(s: &TestServer, key: &str, job: &str) {
    assert!(
        eventually(WAIT, || {
            let (_, _, v) = s.client().get(&format!("/api/v1/jobs/{job}"), key);
            assert_ne!(
                v["status"], "succeeded",
                "the job ended before the test could stop it"
            );
            v["status"] == "running"
        }),
        "the job never started"
    );
    std::thread::sleep(Duration::from_millis(500));
}

/// Submits a ten-minute track on one analysis thread and stops the server with `stop` three
/// times while it runs; returns the server, the key and the job.
fn job_stopped_three_times(stop: fn(&mut TestServer)) -> (TestServer, String, String) {
    let mut s = TestServer::start_with(&[("analysis", "workers = 1")]);
    let key = key_of(&s, json!({}));
    let job = submit(&s, &key, "long.wav", &wav(600.0, 100.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        wait_running(&s, &key, &job);
        stop(&mut s);
    }
    (s, key, job)
}

#[test]
fn a_job_cut_off_by_three_abrupt_stops_fails_instead_of_running_again() {
    let (s, key, job) = job_stopped_three_times(TestServer::kill9_and_restart);
    let done = wait_done(&s, &key, &job);
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "analysis_interrupted", "{done}");
    // The server keeps working: the next job runs as usual.
    let next = submit(&s, &key, "short.wav", &wav(5.0, 120.0), &[]).json()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait_done(&s, &key, &next)["status"], "succeeded");
}

#[test]
fn graceful_restarts_while_a_job_runs_do_not_count_against_it() {
    let (s, key, job) = job_stopped_three_times(TestServer::restart);
    let done = wait_done(&s, &key, &job);
    assert_eq!(done["status"], "succeeded", "{done}");
}

#[test]
fn every_job_finishes_after_sigkill_during_queued_and_running_work() {
    let mut s = TestServer::start_with(&[("analysis", "workers = 1")]);
    let key = key_of(&s, json!({}));
    let jobs: Vec<String> = (0..4)
        .map(|i| {
            let r = submit(
                &s,
                &key,
                &format!("j{i}.wav"),
                &wav(60.0, 90.0 + f64::from(i) * 10.0),
                &[],
            );
            assert_eq!(r.status, 202);
            r.json()["job_id"].as_str().unwrap().to_string()
        })
        .collect();
    // Kill while the first job is running and the others are queued.
    assert!(eventually(WAIT, || {
        let (_, _, v) = s.client().get(&format!("/api/v1/jobs/{}", jobs[0]), &key);
        v["status"] == "running" || v["status"] == "succeeded"
    }));
    s.kill9_and_restart();
    for job in &jobs {
        let done = wait_done(&s, &key, job);
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    let (_, _, list) = s.client().get("/api/v1/jobs", &key);
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
    assert!(eventually(Duration::from_secs(10), || std::fs::read_dir(
        s.data_dir().join("uploads")
    )
    .unwrap()
    .count()
        == 0));
}
