//! Access policy: plans, minute and month limits with their headers, scopes, IP allowlists,
//! trusted proxies, credits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::support::server::TestServer;

#[test]
fn minute_limit_is_exact_under_16_concurrent_clients() {
    let s = TestServer::start_with(&[("plans.default", "requests_per_minute = 20")]);
    let (_, key) = s.account_and_key(json!({}));
    let value = Arc::new(key["key"].as_str().unwrap().to_string());
    let ok = Arc::new(AtomicUsize::new(0));
    let limited = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (c, v, ok, limited) = (s.client(), value.clone(), ok.clone(), limited.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    match c.get("/api/v1/me", &v).0 {
                        200 => ok.fetch_add(1, Ordering::SeqCst),
                        429 => limited.fetch_add(1, Ordering::SeqCst),
                        other => panic!("status {other}"),
                    };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 80 requests well inside one minute: exactly the limit gets through.
    assert_eq!(ok.load(Ordering::SeqCst), 20);
    assert_eq!(limited.load(Ordering::SeqCst), 60);
}

#[test]
fn limit_headers_on_200_and_429() {
    let s = TestServer::start_with(&[
        ("plans.default", "requests_per_minute = 2"),
        ("plans.default", "calls_per_month = 1000"),
    ]);
    let (_, key) = s.account_and_key(json!({}));
    let v = key["key"].as_str().unwrap();
    let c = s.client();
    let (st, r, me) = c.get("/api/v1/me", v);
    assert_eq!(st, 200);
    assert_eq!(r.header("x-ratelimit-limit-minute"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining-minute"), Some("1"));
    assert_eq!(r.header("x-ratelimit-limit-month"), Some("1000"));
    assert_eq!(r.header("x-ratelimit-remaining-month"), Some("999"));
    let reset: u64 = r
        .header("x-ratelimit-reset-minute")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset >= now && reset <= now + 61);
    assert!(
        r.header("x-ratelimit-reset-month")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > now
    );
    assert!(
        r.header("ratelimit-policy")
            .unwrap()
            .contains("\"minute\";q=2;w=60")
    );
    assert!(r.header("ratelimit").unwrap().contains("\"minute\";r=1"));
    assert_eq!(me["rate_limits"]["minute"]["remaining"], 1);
    assert_eq!(me["rate_limits"]["month"]["limit"], 1000);
    assert_eq!(c.get("/api/v1/me", v).0, 200);
    let (st, r, e) = c.get("/api/v1/me", v);
    assert_eq!(st, 429);
    assert_eq!(e["error"]["code"], "rate_limit_exceeded");
    assert_eq!(e["error"]["details"]["scope"], "minute");
    assert_eq!(e["error"]["details"]["limit"], 2);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    // The window is 60 s; the log's 10 ms buckets can push the free slot into second 61.
    assert!((1..=61).contains(&retry), "{retry}");
    assert_eq!(r.header("x-ratelimit-remaining-minute"), Some("0"));
}

#[test]
fn month_limit_survives_a_restart() {
    let mut s = TestServer::start_with(&[("plans.default", "calls_per_month = 3")]);
    let (_, key) = s.account_and_key(json!({}));
    let v = key["key"].as_str().unwrap().to_string();
    assert_eq!(s.client().get("/api/v1/me", &v).0, 200);
    assert_eq!(s.client().get("/api/v1/me", &v).0, 200);
    // Graceful shutdown writes every count.
    s.restart();
    let (st, r, _) = s.client().get("/api/v1/me", &v);
    assert_eq!(st, 200);
    assert_eq!(r.header("x-ratelimit-remaining-month"), Some("0"));
    let (st, r, e) = s.client().get("/api/v1/me", &v);
    assert_eq!(st, 429);
    assert_eq!(e["error"]["details"]["scope"], "month");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 31 * 86_400);
}

#[test]
fn plan_without_api_access_gets_403_and_a_plan_change_applies_at_once() {
    let s = TestServer::start_with(&[("plans.free", "api_access = false")]);
    let c = s.client();
    let (st, _, acct) = c.post_json(
        "/admin/v1/accounts",
        &s.token,
        &json!({"name": "x", "plan": "free"}),
    );
    assert_eq!(st, 201);
    let id = acct["id"].as_str().unwrap();
    let (_, _, key) = c.post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": id, "label": "k"}),
    );
    let v = key["key"].as_str().unwrap();
    let (st, _, e) = c.get("/api/v1/me", v);
    assert_eq!(st, 403);
    assert_eq!(e["error"]["code"], "plan_required");
    let (st, _, _) = c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"plan": "default"}),
    );
    assert_eq!(st, 200);
    assert_eq!(c.get("/api/v1/me", v).0, 200);
    let out = s.cli(&["accounts", "update", id, "--plan", "free"]);
    assert!(out.status.success());
    assert_eq!(c.get("/api/v1/me", v).0, 403);
    let (st, _, e) = c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"plan": "gold"}),
    );
    assert_eq!(st, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("gold"));
}

#[test]
fn disabled_account_gets_403_and_keeps_its_keys() {
    let s = TestServer::start();
    let (id, key) = s.account_and_key(json!({}));
    let v = key["key"].as_str().unwrap();
    let c = s.client();
    c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"disabled": true}),
    );
    let (st, _, e) = c.get("/api/v1/me", v);
    assert_eq!(st, 403);
    assert_eq!(e["error"]["code"], "account_disabled");
    c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"disabled": false}),
    );
    assert_eq!(c.get("/api/v1/me", v).0, 200);
}

#[test]
fn scope_denial_names_the_needed_scope() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({"scopes": ["analyze"]}));
    let (st, _, e) = s
        .client()
        .get("/api/v1/account", key["key"].as_str().unwrap());
    assert_eq!(st, 403);
    assert_eq!(e["error"]["code"], "insufficient_scope");
    assert_eq!(e["error"]["details"]["required_scope"], "account:read");
}

#[test]
fn ipv4_allowlist_allows_and_denies() {
    let s = TestServer::start();
    let (id, key) = s.account_and_key(json!({}));
    let v = key["key"].as_str().unwrap();
    let c = s.client();
    let out = s.cli(&[
        "accounts",
        "update",
        &id,
        "--allowed-ips",
        "10.0.0.0/8,192.168.1.1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (st, _, e) = c.get("/api/v1/me", v);
    assert_eq!(st, 401);
    assert_eq!(e["error"]["code"], "ip_not_allowed");
    assert!(
        s.cli(&[
            "accounts",
            "update",
            &id,
            "--allowed-ips",
            "10.0.0.0/8,127.0.0.1"
        ])
        .status
        .success()
    );
    assert_eq!(c.get("/api/v1/me", v).0, 200);
    assert!(
        s.cli(&["accounts", "update", &id, "--allowed-ips", ""])
            .status
            .success()
    );
    assert_eq!(c.get("/api/v1/me", v).0, 200);
    let (st, _, _) = c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"allowed_ips": ["not-an-ip"]}),
    );
    assert_eq!(st, 400);
}

#[test]
fn ipv6_allowlist_allows_and_denies() {
    let s = TestServer::start_with(&[("server", "listen = \"[::1]:0\"")]);
    let (id, key) = s.account_and_key(json!({}));
    let v = key["key"].as_str().unwrap();
    let c = s.client();
    assert!(s.addr.is_ipv6());
    let patch = |ips: serde_json::Value| {
        let (st, _, _) = c.send_json(
            "PATCH",
            &format!("/admin/v1/accounts/{id}"),
            &s.token,
            &json!({"allowed_ips": ips}),
        );
        assert_eq!(st, 200);
    };
    patch(json!(["2001:db8::/32"]));
    let (st, _, e) = c.get("/api/v1/me", v);
    assert_eq!(st, 401);
    assert_eq!(e["error"]["code"], "ip_not_allowed");
    patch(json!(["::1/128"]));
    assert_eq!(c.get("/api/v1/me", v).0, 200);
}

#[test]
fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let s = TestServer::start();
    let (id, key) = s.account_and_key(json!({}));
    let auth = format!("Bearer {}", key["key"].as_str().unwrap());
    let c = s.client();
    c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"allowed_ips": ["10.1.2.3"]}),
    );
    for h in [
        ("X-Forwarded-For", "10.1.2.3"),
        ("Forwarded", "for=10.1.2.3"),
    ] {
        let r = c.request("GET", "/api/v1/me", &[("Authorization", &auth), h], b"");
        assert_eq!(r.status, 401, "{h:?}");
        assert_eq!(r.json()["error"]["code"], "ip_not_allowed");
    }
}

#[test]
fn forwarded_for_from_a_trusted_proxy_is_believed() {
    let s = TestServer::start_with(&[("server", "trusted_proxies = [\"127.0.0.1\"]")]);
    let (id, key) = s.account_and_key(json!({}));
    let auth = format!("Bearer {}", key["key"].as_str().unwrap());
    let c = s.client();
    c.send_json(
        "PATCH",
        &format!("/admin/v1/accounts/{id}"),
        &s.token,
        &json!({"allowed_ips": ["10.1.2.3"]}),
    );
    let r = c.request(
        "GET",
        "/api/v1/me",
        &[("Authorization", &auth), ("X-Forwarded-For", "10.1.2.3")],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = c.request(
        "GET",
        "/api/v1/me",
        &[("Authorization", &auth), ("X-Forwarded-For", "10.9.9.9")],
        b"",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn sighup_applies_new_plan_numbers_without_restart() {
    let mut s = TestServer::start_with(&[("plans.default", "requests_per_minute = 50")]);
    let (_, key) = s.account_and_key(json!({}));
    let v = key["key"].as_str().unwrap().to_string();
    let (_, r, _) = s.client().get("/api/v1/me", &v);
    assert_eq!(r.header("x-ratelimit-limit-minute"), Some("50"));
    s.rewrite_config(&[("plans.default", "requests_per_minute = 7")]);
    s.signal("HUP");
    assert!(crate::support::server::eventually(
        std::time::Duration::from_secs(10),
        || {
            let (_, r, _) = s.client().get("/api/v1/me", &v);
            r.header("x-ratelimit-limit-minute") == Some("7")
        }
    ));
}

#[test]
fn account_endpoint_shows_credits_and_the_ledger_records_grants() {
    let s = TestServer::start_with(&[("plans.studio", "credits_per_month = 500")]);
    let c = s.client();
    let (_, _, acct) = c.post_json(
        "/admin/v1/accounts",
        &s.token,
        &json!({"name": "S", "plan": "studio"}),
    );
    let id = acct["id"].as_str().unwrap();
    let (_, _, key) = c.post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": id, "label": "k"}),
    );
    let v = key["key"].as_str().unwrap();
    let (st, _, a) = c.get("/api/v1/account", v);
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["id"], id);
    assert_eq!(a["plan"], "studio");
    assert_eq!(a["credits_remaining"], 500);
    assert_eq!(a["credits_total"], 500);
    assert_eq!(a["api_key_id"], key["id"]);
    assert!(
        a["monthly_reset_date"]
            .as_str()
            .unwrap()
            .ends_with("-01T00:00:00Z")
    );
    let out = s.cli(&[
        "accounts",
        "grant",
        id,
        "--credits",
        "25",
        "--type",
        "bonus",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, _, a) = c.get("/api/v1/account", v);
    assert_eq!(a["credits_remaining"], 525);
    let (st, _, ledger) = c.get("/api/v1/account/ledger", v);
    assert_eq!(st, 200);
    let types: Vec<&str> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["bonus", "monthly_reset"]);
    assert_eq!(ledger["data"][0]["balance_after"], 525);
    // Unlimited plans keep no balance.
    let (acct2, key2) = s.account_and_key(json!({}));
    let (_, _, a) = c.get("/api/v1/account", key2["key"].as_str().unwrap());
    assert!(a["credits_remaining"].is_null());
    // A grant to such an account says the same as the account does: no balance.
    let (st, _, g) = c.post_json(
        &format!("/admin/v1/accounts/{acct2}/credits"),
        &s.token,
        &json!({"amount": 5}),
    );
    assert_eq!(st, 201, "{g}");
    assert!(g["credits_remaining"].is_null(), "{g}");
    let (_, _, a) = c.get("/api/v1/account", key2["key"].as_str().unwrap());
    assert!(a["credits_remaining"].is_null());
}
