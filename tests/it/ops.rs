//! Operations: Prometheus metrics (management token and the separate listener), JSON logs
//! without secrets, the audit log, leaked-key reports, `tonearm keys scan`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::server::{TestServer, eventually};

const WAIT: Duration = Duration::from_secs(60);

fn metrics_text(s: &TestServer) -> String {
    let auth = format!("Bearer {}", s.token);
    let r = s
        .client()
        .request("GET", "/metrics", &[("Authorization", auth.as_str())], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    String::from_utf8(r.body).unwrap()
}

/// The line of `text` for `name` whose labels contain every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_count_requests_by_route_template_and_need_a_management_token() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let key = key["key"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(s.client().get("/api/v1/me", key).0, 200);
    }
    // A raw id in the path must show up as its template, never as itself.
    let (st, _, _) = s
        .client()
        .get("/api/v1/jobs/job_0AbCdEfGhIjKlMnOpQrStU", key);
    assert_eq!(st, 404);
    assert_eq!(s.client().get("/api/v1/me", "tonearm_sk_nope").0, 401);
    assert_eq!(
        s.client().get("/metrics", key).0,
        401,
        "an API key is not enough"
    );
    let text = metrics_text(&s);
    let me = sample(
        &text,
        "tonearm_http_requests_total",
        &["route=\"/api/v1/me\"", "status=\"200\""],
    );
    assert_eq!(me, Some(3.0), "{text}");
    assert!(text.contains("route=\"/api/v1/jobs/{job_id}\""), "{text}");
    assert!(!text.contains("job_0AbCdEfGhIjKlMnOpQrStU"));
    assert!(!text.contains(key));
    assert!(
        sample(
            &text,
            "tonearm_http_request_duration_seconds_count",
            &["route=\"/api/v1/me\""]
        ) == Some(4.0),
        "three answered and one refused"
    );
    assert_eq!(
        sample(&text, "tonearm_auth_failures_total", &["realm=\"api\""]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "tonearm_auth_failures_total",
            &["realm=\"management\""]
        ),
        Some(1.0)
    );
    for name in [
        "tonearm_jobs{",
        "tonearm_job_queue_depth ",
        "tonearm_webhook_deliveries_pending ",
        "tonearm_database_size_bytes ",
        "tonearm_open_connections ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds ",
        "process_open_fds ",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(sample(&text, "tonearm_database_size_bytes", &[]).unwrap() > 0.0);
    assert!(sample(&text, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(text.trim_end().ends_with("# EOF"));
}

#[test]
fn the_metrics_listener_serves_metrics_without_a_token_and_nothing_else() {
    let s = TestServer::start_with(&[("metrics", "listen = \"127.0.0.1:0\"")]);
    let mut addr = None;
    assert!(eventually(WAIT, || {
        addr = s
            .logs()
            .lines()
            .find(|l| l.contains("metrics listening"))
            .and_then(|l| l.split("address=").nth(1))
            .and_then(|a| a.split_whitespace().next())
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
        addr.is_some()
    }));
    let c = crate::support::client::Client::new(addr.unwrap());
    let r = c.request("GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("tonearm_job_queue_depth 0"));
    assert_eq!(c.request("GET", "/api/v1/me", &[], b"").status, 404);
    assert_eq!(c.request("POST", "/metrics", &[], b"").status, 405);
}

#[test]
fn metrics_can_be_turned_off() {
    let s = TestServer::start_with(&[("metrics", "enabled = false")]);
    let (st, _, v) = s.client().get("/metrics", &s.token);
    assert_eq!(st, 404, "{v}");
}

#[test]
fn json_logs_are_one_object_per_line_with_request_fields_and_no_secret() {
    let s = TestServer::start_with(&[("log", "format = \"json\"")]);
    let (_, key) = s.account_and_key(json!({"webhook_secret": true}));
    let value = key["key"].as_str().unwrap();
    let whsec = key["webhook_secret"]["secret"].as_str().unwrap();
    let c = s.client();
    let r = c.request(
        "GET",
        "/api/v1/me",
        &[
            ("Authorization", &format!("Bearer {value}")),
            ("X-Request-Id", "trace-json-1"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    // Secrets where a careless client might put them: a path, a query, a bad header, a body.
    c.get(&format!("/api/v1/jobs/{value}"), value);
    c.get(&format!("/api/v1/me?key={whsec}"), value);
    c.get("/api/v1/me", &format!("{value}x"));
    c.get("/admin/v1/keys", &s.token);
    c.post_json(
        "/api/v1/leaks",
        "",
        &json!({"tokens": ["tonearm_sk_0000"], "url": whsec}),
    );
    let mut line = Value::Null;
    assert!(eventually(WAIT, || {
        let logs = s.logs();
        line = logs
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["request_id"] == "trace-json-1")
            .unwrap_or(Value::Null);
        !line.is_null()
    }));
    assert_eq!(line["message"], "request");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["route"], "me");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].is_number(), "{line}");
    assert!(line["timestamp"].is_string());
    assert_eq!(line["key_id"], key["id"]);
    assert_eq!(line["account_id"], key["account_id"]);
    assert_eq!(line["project_id"], key["project_id"]);
    let logs = s.logs();
    for l in logs.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(l).is_ok(),
            "not one JSON object: {l}"
        );
    }
    let admin = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["route"] == "keysList")
        .unwrap();
    assert!(admin["token_id"].as_str().unwrap().starts_with("mt_"));
    for prefix in ["tonearm_sk_", "tonearm_mt_", "whsec_"] {
        assert!(!logs.contains(prefix), "{prefix} in the logs:\n{logs}");
    }
}

fn audit(s: &TestServer, query: &str) -> Value {
    let (st, _, v) = s.client().get(&format!("/admin/v1/audit{query}"), &s.token);
    assert_eq!(st, 200, "{v}");
    v
}

#[test]
fn credential_and_money_changes_are_audited_with_actor_target_and_request_id() {
    let s = TestServer::start();
    let c = s.client();
    let (account, key) = s.account_and_key(json!({}));
    let key_id = key["id"].as_str().unwrap();
    let r = c.request(
        "DELETE",
        &format!("/admin/v1/keys/{key_id}"),
        &[
            ("Authorization", &format!("Bearer {}", s.token)),
            ("X-Request-Id", "revoke-1"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    let (st, _, _) = c.post_json(
        &format!("/admin/v1/accounts/{account}/credits"),
        &s.token,
        &json!({"amount": 25, "note": "promo"}),
    );
    assert_eq!(st, 201);
    let (st, _, _) = c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{account}"),
        &s.token,
        &json!({"plan": "default", "disabled": true}),
    );
    assert_eq!(st, 200);
    // Refused changes are not changes: no entry for an unknown key or account.
    let r = c.request(
        "DELETE",
        "/admin/v1/keys/key_0000000000000000000000",
        &[("Authorization", &format!("Bearer {}", s.token))],
        b"",
    );
    assert_eq!(r.status, 404);
    let (st, _, _) = c.send_json(
        "PATCH",
        "/admin/v1/accounts/acct_0000000000000000000000",
        &s.token,
        &json!({"disabled": true}),
    );
    assert_eq!(st, 404);

    let all = audit(&s, "");
    let actions: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "account.update",
            "credits.grant",
            "key.revoke",
            "key.create",
            "account.create",
            "token.create",
        ]
    );
    let revoke = &all["data"][2];
    assert_eq!(revoke["target"], key_id);
    assert_eq!(revoke["request_id"], "revoke-1");
    assert!(revoke["actor"].as_str().unwrap().starts_with("mt_"));
    assert_eq!(revoke["ip"], "127.0.0.1");
    assert_eq!(all["data"][1]["details"]["amount"], 25);
    assert_eq!(all["data"][0]["details"]["disabled"], true);
    assert_eq!(all["data"][5]["actor"], "cli", "admin bootstrap");
    let text = all.to_string();
    assert!(!text.contains("tonearm_sk_") && !text.contains("tonearm_mt_"));

    // Filters and the cursor.
    let keys = audit(&s, "?action=key.");
    assert_eq!(keys["data"].as_array().unwrap().len(), 2);
    let target = audit(&s, &format!("?target={account}"));
    assert_eq!(target["data"].as_array().unwrap().len(), 3);
    let p1 = audit(&s, "?limit=4");
    assert_eq!(p1["has_more"], true);
    let next = p1["next_cursor"].as_str().unwrap();
    let p2 = audit(&s, &format!("?limit=4&cursor={next}"));
    assert_eq!(p2["data"].as_array().unwrap().len(), 2);
    assert_eq!(p2["has_more"], false);
    let future = audit(&s, "?since=2999-01-01T00:00:00Z");
    assert!(future["data"].as_array().unwrap().is_empty());
    let (st, _, v) = c.get("/admin/v1/audit?since=yesterday", &s.token);
    assert_eq!(st, 400, "{v}");
    let (st, _, _) = c.get("/admin/v1/audit", "");
    assert_eq!(st, 401);
}

#[test]
fn a_leaked_key_is_revoked_audited_and_announced_to_its_project() {
    let s = TestServer::start_with(&[("webhooks", r#"retry_schedule = ["0s", "200ms", "200ms"]"#)]);
    let rx = Receiver::ok();
    let (_, key) = s.account_and_key(json!({"webhook_secret": true}));
    let value = key["key"].as_str().unwrap();
    let key_id = key["id"].as_str().unwrap();
    // The project's receiver is known from a job's webhook.
    let job = crate::deliveries::submit_job(&s, value, &rx.url("/hook"));
    crate::jobs::wait_done(&s, value, &job);
    assert!(eventually(WAIT, || rx.count() == 1));

    // A second key that is not reported stays valid.
    let (st, _, other) = s.client().post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": key["account_id"], "label": "other"}),
    );
    assert_eq!(st, 201);
    let other = other["key"].as_str().unwrap();
    let mut typo = value.to_string();
    typo.replace_range(20..21, if &value[20..21] == "a" { "b" } else { "a" });
    let (st, _, v) = s.client().post_json(
        "/api/v1/leaks",
        "",
        &json!({"tokens": [value, value, typo, "hello"], "url": "https://example.com/repo/blob/main/.env"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"object": "leak_report", "received": 4, "well_formed": 1, "revoked": 1})
    );
    assert_eq!(s.client().get("/api/v1/me", value).0, 401);
    assert_eq!(s.client().get("/api/v1/me", other).0, 200);
    // Reported again: nothing left to revoke, and the answer says no more.
    let (_, _, v) = s
        .client()
        .post_json("/api/v1/leaks", "", &json!({"tokens": [value]}));
    assert_eq!(v["revoked"], 0);

    let leaks = audit(&s, "?action=key.leak_revoke");
    let entry = &leaks["data"][0];
    assert_eq!(entry["target"], key_id);
    assert_eq!(entry["actor"], "leak_report");
    assert_eq!(
        entry["details"]["found_at"],
        "https://example.com/repo/blob/main/.env"
    );

    assert!(eventually(WAIT, || rx.count() == 2));
    let event = rx.received()[1].clone();
    let body = event.json();
    assert_eq!(body["type"], "key.leaked");
    assert_eq!(body["data"]["key_id"], key_id);
    assert!(!event.header("x-tonearm-signature").is_empty());
    assert!(!event.header("webhook-signature").is_empty());
    let text = metrics_text(&s);
    assert_eq!(
        sample(&text, "tonearm_leaked_credentials_revoked_total", &[]),
        Some(1.0)
    );
}

#[test]
fn a_leaked_management_token_is_revoked_and_reports_are_rate_limited() {
    let s = TestServer::start_with(&[("leaks", "reports_per_minute = 3")]);
    let (st, _, t) = s
        .client()
        .post_json("/admin/v1/tokens", &s.token, &json!({"label": "ci"}));
    assert_eq!(st, 201);
    let leaked = t["token"].as_str().unwrap();
    assert_eq!(s.client().get("/admin/v1/keys", leaked).0, 200);
    let (_, _, v) = s
        .client()
        .post_json("/api/v1/leaks", "", &json!({"tokens": [leaked]}));
    assert_eq!(v["revoked"], 1, "{v}");
    assert_eq!(s.client().get("/admin/v1/keys", leaked).0, 401);
    let entries = audit(&s, "?action=token.leak_revoke");
    assert_eq!(entries["data"][0]["target"], t["id"]);
    let (st, _, v) = s
        .client()
        .post_json("/api/v1/leaks", "", &json!({"tokens": []}));
    assert_eq!(st, 400, "{v}");
    let (st, _, _) = s
        .client()
        .post_json("/api/v1/leaks", "", &json!({"tokens": ["x"]}));
    assert_eq!(st, 200);
    let (st, r, v) = s
        .client()
        .post_json("/api/v1/leaks", "", &json!({"tokens": ["x"]}));
    assert_eq!(st, 429, "{v}");
    assert_eq!(v["error"]["code"], "too_many_reports");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn keys_scan_finds_secrets_by_format_and_checksum_and_exits_1() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({"webhook_secret": true}));
    let value = key["key"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("app/config");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(
        nested.join("settings.env"),
        format!("DEBUG=1\nTONEARM_KEY={value}\n"),
    )
    .unwrap();
    let mut fake = value.to_string();
    fake.replace_range(15..16, if &value[15..16] == "a" { "b" } else { "a" });
    std::fs::write(dir.path().join("clean.txt"), format!("example: {fake}\n")).unwrap();
    let out = s.cli(&["keys", "scan", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("settings.env:2: api_key tonearm_sk_"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "the bad checksum is not reported"
    );
    assert!(
        !stdout.contains(value),
        "the secret itself is never printed"
    );
    let clean = s.cli(&[
        "keys",
        "scan",
        dir.path().join("clean.txt").to_str().unwrap(),
    ]);
    assert_eq!(clean.status.code(), Some(0));
}
