//! Webhook deliveries end to end: a receiver on loopback inside the test gets signed events;
//! signatures are checked by code written here from the published formats (not the server's
//! own helpers); retries, 410, SIGKILL with deliveries pending, rotation, target policy and a
//! slow receiver.

use std::net::TcpListener;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::jobs::{multipart, wait_done, wav};
use crate::support::client::Response;
use crate::support::receiver::{Received, Receiver};
use crate::support::server::{TestServer, eventually};

const WAIT: Duration = Duration::from_secs(120);

/// Fast retries so a test sees a whole schedule in about a second.
const FAST: (&str, &str) = (
    "webhooks",
    r#"retry_schedule = ["0s", "200ms", "200ms", "200ms", "200ms"]"#,
);

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn key_bytes(secret: &str) -> Vec<u8> {
    STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `X-Tonearm-Signature: t=…,v1=…[,v1=…]`: HMAC-SHA256 over "t.body" keyed with the whole
/// `whsec_…` string (as Stripe's libraries key it), hex. True when one of the v1 values
/// matches `secret` and t is within 300 s.
fn tonearm_signature_ok(r: &Received, secret: &str) -> bool {
    let header = r.header("x-tonearm-signature");
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if t.abs_diff(now()) > 300 {
        return false;
    }
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(&r.body);
    let want: String = hmac(secret.as_bytes(), &msg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sigs.contains(&want)
}

/// Standard Webhooks: `webhook-signature: v1,<base64> [v1,<base64>]` over "id.timestamp.body".
fn standard_signature_ok(r: &Received, secret: &str) -> bool {
    let id = r.header("webhook-id");
    let ts = r.header("webhook-timestamp");
    if ts.parse::<u64>().map_or(true, |t| t.abs_diff(now()) > 300) {
        return false;
    }
    let mut msg = format!("{id}.{ts}.").into_bytes();
    msg.extend_from_slice(&r.body);
    let want = format!("v1,{}", STANDARD.encode(hmac(&key_bytes(secret), &msg)));
    r.header("webhook-signature").split(' ').any(|s| s == want)
}

fn signature_count(r: &Received) -> (usize, usize) {
    (
        r.header("x-tonearm-signature").matches("v1=").count(),
        r.header("webhook-signature").split(' ').count(),
    )
}

/// An account, an API key and a signing secret in its project: (key, secret).
fn key_and_secret(s: &TestServer) -> (String, String) {
    let (_, key) = s.account_and_key(json!({}));
    let key = key["key"].as_str().unwrap().to_string();
    let secret = new_secret(s, &key);
    (key, secret)
}

fn new_secret(s: &TestServer, key: &str) -> String {
    let (st, _, v) = s
        .client()
        .post_json("/api/v1/webhook-secrets", key, &json!({"label": "rx"}));
    assert_eq!(st, 201, "{v}");
    v["secret"].as_str().unwrap().to_string()
}

fn submit_with_hook(s: &TestServer, key: &str, url: &str) -> Response {
    let audio = wav(2.0, 120.0);
    let (ct, body) = multipart(&[
        ("file", Some("take.wav"), &audio),
        ("webhook_url", None, url.as_bytes()),
    ]);
    let auth = format!("Bearer {key}");
    s.client().request(
        "POST",
        "/api/v1/analyze",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", ct.as_str()),
        ],
        &body,
    )
}

/// Submits and returns the job id, checking the 202 says a delivery is scheduled.
pub fn submit_job(s: &TestServer, key: &str, url: &str) -> String {
    let r = submit_with_hook(s, key, url);
    let v = r.json();
    assert_eq!(r.status, 202, "{v}");
    assert_eq!(v["webhook_delivery"], "scheduled");
    v["job_id"].as_str().unwrap().to_string()
}

fn deliveries_of(s: &TestServer, key: &str, job: &str) -> Vec<Value> {
    let (st, _, v) = s
        .client()
        .get(&format!("/api/v1/webhooks/deliveries?job_id={job}"), key);
    assert_eq!(st, 200, "{v}");
    v["data"].as_array().unwrap().clone()
}

fn delivery(s: &TestServer, key: &str, id: &str) -> Value {
    let (st, _, v) = s
        .client()
        .get(&format!("/api/v1/webhooks/deliveries/{id}"), key);
    assert_eq!(st, 200, "{v}");
    v
}

/// Waits until the job's single delivery has `status`; returns it with its attempts.
fn wait_delivery(s: &TestServer, key: &str, job: &str, status: &str) -> Value {
    let mut found = Value::Null;
    assert!(
        eventually(WAIT, || {
            let list = deliveries_of(s, key, job);
            match list.first() {
                Some(d) if d["status"] == status => {
                    found = delivery(s, key, d["id"].as_str().unwrap());
                    true
                }
                _ => false,
            }
        }),
        "delivery of {job} never became {status}: {:?}",
        deliveries_of(s, key, job)
    );
    found
}

#[test]
fn completed_event_is_signed_in_both_styles_and_logged() {
    let s = TestServer::start_with(&[FAST]);
    let rx = Receiver::ok();
    let (key, secret) = key_and_secret(&s);
    let job = submit_job(&s, &key, &rx.url("/hooks/tonearm"));
    let done = wait_done(&s, &key, &job);
    assert!(eventually(WAIT, || rx.count() == 1));
    let got = &rx.received()[0];
    assert!(tonearm_signature_ok(got, &secret), "{:?}", got.headers);
    assert!(standard_signature_ok(got, &secret), "{:?}", got.headers);
    assert_eq!(got.header("x-tonearm-event"), "analysis.completed");
    assert_eq!(got.header("content-type"), "application/json");
    let event = got.json();
    assert_eq!(event["type"], "analysis.completed");
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["id"].as_str().unwrap(), got.header("webhook-id"));
    assert!(event["created"].as_u64().unwrap().abs_diff(now()) < 300);
    assert_eq!(event["data"]["job_id"], job.as_str());
    assert_eq!(event["data"]["result"], done["result"]);
    // A tampered body fails the check written here.
    let mut tampered = got.clone();
    tampered.body.push(b' ');
    assert!(!tonearm_signature_ok(&tampered, &secret));
    assert!(!standard_signature_ok(&tampered, &secret));

    let d = wait_delivery(&s, &key, &job, "succeeded");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["event_id"], event["id"]);
    let log = d["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status_code"], 200);
    assert_eq!(log[0]["response_excerpt"], "ok");
    assert!(log[0]["latency_ms"].is_u64());
    // The job shows its webhook; filters work.
    assert_eq!(done["webhook_url"], rx.url("/hooks/tonearm").as_str());
    let (_, _, pending) = s
        .client()
        .get("/api/v1/webhooks/deliveries?status=pending", &key);
    assert_eq!(pending["data"].as_array().unwrap().len(), 0);
    let (st, _, _) = s
        .client()
        .get("/api/v1/webhooks/deliveries?status=nope", &key);
    assert_eq!(st, 400);
}

#[test]
fn receiver_failing_three_times_gets_the_event_on_the_fourth_attempt() {
    let s = TestServer::start_with(&[FAST]);
    let rx = Receiver::scripted(|n| (if n < 3 { 503 } else { 200 }, Duration::ZERO));
    let (key, secret) = key_and_secret(&s);
    let job = submit_job(&s, &key, &rx.url("/h"));
    let d = wait_delivery(&s, &key, &job, "succeeded");
    let got = rx.received();
    assert_eq!(got.len(), 4);
    let id = got[0].header("webhook-id").to_string();
    assert!(got.iter().all(|r| r.header("webhook-id") == id));
    assert!(got.iter().all(|r| r.body == got[0].body));
    assert!(got.iter().all(|r| tonearm_signature_ok(r, &secret)));
    let codes: Vec<u64> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [503, 503, 503, 200]);
    assert_eq!(d["attempts"], 4);
}

#[test]
fn gone_stops_retries_and_redeliver_sends_again() {
    let s = TestServer::start_with(&[FAST]);
    let rx = Receiver::scripted(|n| (if n == 0 { 410 } else { 200 }, Duration::ZERO));
    let (key, _) = key_and_secret(&s);
    let job = submit_job(&s, &key, &rx.url("/h"));
    let d = wait_delivery(&s, &key, &job, "failed");
    // The schedule would have allowed four more attempts in well under a second.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rx.count(), 1);
    assert_eq!(d["attempt_log"][0]["status_code"], 410);

    let id = d["id"].as_str().unwrap();
    let (st, _, v) = s.client().post_json(
        &format!("/api/v1/webhooks/deliveries/{id}/redeliver"),
        &key,
        &json!({}),
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["status"], "pending");
    let d = wait_delivery(&s, &key, &job, "succeeded");
    assert_eq!(d["attempts"], 2);
    let got = rx.received();
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
}

#[test]
fn pending_deliveries_survive_sigkill() {
    // A port with nobody listening: deliveries fail and wait for their next attempt.
    let parked = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = parked.local_addr().unwrap();
    drop(parked);
    let url = format!("http://{addr}/h");
    let mut s = TestServer::start_with(&[(
        "webhooks",
        r#"retry_schedule = ["0s", "2s", "2s", "2s", "2s", "2s", "2s", "2s", "2s", "2s"]"#,
    )]);
    let (key, secret) = key_and_secret(&s);
    let jobs: Vec<String> = (0..3).map(|_| submit_job(&s, &key, &url)).collect();
    for job in &jobs {
        wait_done(&s, &key, job);
    }
    // Every delivery has failed at least once against the closed port.
    assert!(eventually(WAIT, || jobs.iter().all(|j| {
        deliveries_of(&s, &key, j)
            .first()
            .is_some_and(|d| d["attempts"].as_u64().unwrap_or(0) >= 1)
    })));
    s.kill9_and_restart();
    let rx = Receiver::on(TcpListener::bind(addr).unwrap(), |_| (200, Duration::ZERO));
    assert!(
        eventually(WAIT, || {
            let got = rx.received();
            jobs.iter()
                .all(|j| got.iter().any(|r| r.json()["data"]["job_id"] == j.as_str()))
        }),
        "not every event arrived after the restart: {}",
        rx.count()
    );
    for r in rx.received() {
        assert!(tonearm_signature_ok(&r, &secret));
    }
    for job in &jobs {
        wait_delivery(&s, &key, job, "succeeded");
    }
}

#[test]
fn two_active_secrets_sign_twice_and_a_revoked_one_stops_signing() {
    let s = TestServer::start_with(&[FAST]);
    let rx = Receiver::ok();
    let (key, old) = key_and_secret(&s);
    let new = new_secret(&s, &key);
    let job = submit_job(&s, &key, &rx.url("/h"));
    wait_delivery(&s, &key, &job, "succeeded");
    let first = rx.received()[0].clone();
    assert_eq!(signature_count(&first), (2, 2));
    for secret in [&old, &new] {
        assert!(tonearm_signature_ok(&first, secret));
        assert!(standard_signature_ok(&first, secret));
    }

    let (_, _, list) = s.client().get("/api/v1/webhook-secrets", &key);
    let old_id = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["status"] == "active")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, _, _) = s
        .client()
        .delete(&format!("/api/v1/webhook-secrets/{old_id}"), &key);
    assert_eq!(st, 200);
    let job = submit_job(&s, &key, &rx.url("/h"));
    wait_delivery(&s, &key, &job, "succeeded");
    let second = rx.received()[1].clone();
    assert_eq!(signature_count(&second), (1, 1));
    assert!(tonearm_signature_ok(&second, &new));
    assert!(standard_signature_ok(&second, &new));
    assert!(!tonearm_signature_ok(&second, &old));
    assert!(!standard_signature_ok(&second, &old));
}

#[test]
fn refused_and_malformed_webhook_urls_are_400_at_submit() {
    let s = TestServer::start_with(&[("webhooks", r#"deny_cidrs = ["10.9.0.0/16"]"#)]);
    let (_, key) = s.account_and_key(json!({}));
    let key = key["key"].as_str().unwrap().to_string();
    // No signing secret yet: nothing could sign the deliveries.
    let r = submit_with_hook(&s, &key, "http://127.0.0.1:9/h");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "webhook_secret_required");
    new_secret(&s, &key);
    for (url, code) in [
        (
            "http://169.254.169.254/latest/meta-data",
            "webhook_target_refused",
        ),
        ("http://[fd00:ec2::254]/", "webhook_target_refused"),
        ("http://10.9.1.1/h", "webhook_target_refused"),
        ("ftp://example.com/h", "invalid_webhook_url"),
        ("http://user:pw@127.0.0.1/h", "invalid_webhook_url"),
        ("not a url", "invalid_webhook_url"),
    ] {
        let r = submit_with_hook(&s, &key, url);
        assert_eq!(r.status, 400, "{url}");
        assert_eq!(r.json()["error"]["code"], code, "{url}");
    }
    let (_, _, jobs) = s.client().get("/api/v1/jobs", &key);
    assert_eq!(jobs["data"].as_array().unwrap().len(), 0);
}

#[test]
fn a_slow_receiver_times_out_without_holding_up_others() {
    // Two attempts in flight at most, one per host: if the per-host limit did not hold, the
    // slow receiver's two deliveries would take both slots and the other event would wait for
    // their timeout.
    let s = TestServer::start_with(&[
        FAST,
        ("webhooks", r#"timeout = "8s""#),
        ("webhooks", "max_in_flight = 2"),
        ("webhooks", "max_in_flight_per_host = 1"),
    ]);
    let slow = Receiver::scripted(|_| (200, Duration::from_secs(60)));
    let fast = Receiver::ok();
    let (key, _) = key_and_secret(&s);
    let slow_jobs: Vec<String> = (0..2)
        .map(|_| submit_job(&s, &key, &slow.url("/h")))
        .collect();
    for job in &slow_jobs {
        wait_done(&s, &key, job);
    }
    assert!(eventually(WAIT, || slow.count() >= 1));
    let fast_job = submit_job(&s, &key, &fast.url("/h"));
    wait_delivery(&s, &key, &fast_job, "succeeded");
    // The slow receiver is still holding its one attempt; its other delivery has not started.
    assert_eq!(slow.count(), 1);
    // And that attempt ends in a timeout, not a hang.
    assert!(eventually(WAIT, || {
        slow_jobs.iter().any(|j| {
            let list = deliveries_of(&s, &key, j);
            let d = delivery(&s, &key, list[0]["id"].as_str().unwrap());
            d["attempt_log"][0]["error"]
                .as_str()
                .is_some_and(|e| e.contains("timed out"))
        })
    }));
}
