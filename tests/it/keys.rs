//! API keys and management tokens: lifecycle, rejection codes, storage hygiene.

use std::time::Duration;

use serde_json::json;

use crate::support::server::{TestServer, eventually};

#[test]
fn key_lifecycle_bootstrap_account_key_me_revoke() {
    let s = TestServer::start();
    let c = s.client();
    let (account, key) = s.account_and_key(json!({}));
    let value = key["key"].as_str().unwrap();
    assert!(
        value.starts_with("tonearm_sk_") && value.len() == 49,
        "{value}"
    );
    assert_eq!(key["status"], "active");

    let (st, _, me) = c.get("/api/v1/me", value);
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["id"], key["id"]);
    assert_eq!(me["account_id"], account.as_str());
    assert_eq!(me["project_id"], key["project_id"]);
    assert_eq!(me["label"], "test");
    assert!(me["scopes"].as_array().unwrap().len() == 8);
    assert!(me["last_used_at"].is_string());
    assert!(me["created_at"].is_string() && me["expires_at"].is_null());
    // The fixed fields are rendered once per key; the windows are live on every call.
    let (_, _, again) = c.get("/api/v1/me", value);
    let remaining = |m: &serde_json::Value| m["rate_limits"]["minute"]["remaining"].as_u64();
    assert_eq!(
        remaining(&again),
        remaining(&me).map(|r| r - 1),
        "{me} {again}"
    );
    assert_eq!(again["label"], me["label"]);
    assert_eq!(again["object"], "api_key");

    let (st, _, revoked) = c.delete(
        &format!("/admin/v1/keys/{}", key["id"].as_str().unwrap()),
        &s.token,
    );
    assert_eq!(st, 200);
    assert_eq!(revoked["status"], "revoked");
    let (st, r, err) = c.get("/api/v1/me", value);
    assert_eq!(st, 401);
    assert_eq!(err["error"]["code"], "revoked_api_key");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[test]
fn key_value_is_returned_once_and_never_listed() {
    let s = TestServer::start();
    let (account, key) = s.account_and_key(json!({}));
    let value = key["key"].as_str().unwrap();
    let (st, _, list) = s
        .client()
        .get(&format!("/admin/v1/keys?account={account}"), &s.token);
    assert_eq!(st, 200);
    let text = list.to_string();
    assert!(!text.contains(value));
    assert_eq!(list["data"][0]["prefix"], &value[..15]);
    assert_eq!(list["data"][0]["last4"], &value[value.len() - 4..]);
    let (_, _, one) = s.client().get(
        &format!("/admin/v1/keys/{}", key["id"].as_str().unwrap()),
        &s.token,
    );
    assert!(one.get("key").is_none());
}

#[test]
fn expired_key_is_rejected() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({"expires_in": "1s"}));
    let value = key["key"].as_str().unwrap().to_string();
    let c = s.client();
    assert!(eventually(Duration::from_secs(10), || {
        let (st, _, e) = c.get("/api/v1/me", &value);
        st == 401 && e["error"]["code"] == "expired_api_key"
    }));
}

#[test]
fn broken_checksum_is_rejected_as_malformed() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let mut value = key["key"].as_str().unwrap().to_string().into_bytes();
    value[20] = if value[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(value).unwrap();
    let (st, _, e) = s.client().get("/api/v1/me", &typo);
    assert_eq!(st, 401);
    assert_eq!(e["error"]["code"], "malformed_api_key");
    // A well-formed key that was never issued is a different case.
    let (st, _, e) = s.client().get(
        "/api/v1/me",
        "tonearm_sk_00000000000000000000000000000000000000",
    );
    assert_eq!(st, 401);
    assert!(
        ["malformed_api_key", "invalid_api_key"].contains(&e["error"]["code"].as_str().unwrap())
    );
}

#[test]
fn credentials_of_the_other_kind_are_refused() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let c = s.client();
    let (st, _, e) = c.get("/api/v1/me", &s.token);
    assert_eq!(st, 401);
    assert_eq!(e["error"]["code"], "wrong_credential_type");
    let (st, _, e) = c.get("/admin/v1/accounts", key["key"].as_str().unwrap());
    assert_eq!(st, 401);
    assert_eq!(e["error"]["code"], "wrong_credential_type");
}

#[test]
fn malformed_authorization_headers_get_401_never_500() {
    let s = TestServer::start();
    let c = s.client();
    let (_, key) = s.account_and_key(json!({}));
    let value = key["key"].as_str().unwrap();
    let basic = format!("Basic {value}");
    for h in [
        value,
        basic.as_str(),
        "",
        "Bearer",
        "Bearer    ",
        "Bearer a b",
        "Token abc",
    ] {
        let r = c.request("GET", "/api/v1/me", &[("Authorization", h)], b"");
        assert_eq!(r.status, 401, "header {h:?}");
        assert!(r.json()["error"]["code"].is_string());
    }
    let r = c.request("GET", "/api/v1/me", &[], b"");
    assert_eq!(r.json()["error"]["code"], "missing_api_key");
    let huge = format!("Bearer {}", "a".repeat(64 * 1024));
    let r = c.request("GET", "/api/v1/me", &[("Authorization", &huge)], b"");
    assert!(r.status == 401 || r.status == 431, "status {}", r.status);
}

#[test]
fn secrets_never_reach_the_database_file_or_the_logs() {
    let mut s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let value = key["key"].as_str().unwrap().to_string();
    let (st, _, _) = s.client().get("/api/v1/me", &value);
    assert_eq!(st, 200);
    s.restart();
    let db = std::fs::read(s.data_dir().join("tonearm.redb")).unwrap();
    for secret in [
        value.as_bytes(),
        s.token.as_bytes(),
        &value.as_bytes()[11..43],
    ] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret),
            "secret in database"
        );
    }
    let logs = s.logs();
    assert!(
        !logs.contains(&value) && !logs.contains(&s.token),
        "secret in logs"
    );
    assert!(
        logs.contains(key["id"].as_str().unwrap()),
        "key id should be logged"
    );
}

#[test]
fn key_survives_a_restart_with_last_used_kept() {
    let mut s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let value = key["key"].as_str().unwrap().to_string();
    assert_eq!(s.client().get("/api/v1/me", &value).0, 200);
    s.restart();
    let (st, _, me) = s.client().get("/api/v1/me", &value);
    assert_eq!(st, 200);
    assert_eq!(me["id"], key["id"]);
    let (_, _, k) = s.client().get(
        &format!("/admin/v1/keys/{}", key["id"].as_str().unwrap()),
        &s.token,
    );
    assert!(k["last_used_at"].is_string());
}

#[test]
fn active_key_limit_is_enforced_per_account() {
    let s = TestServer::start_with(&[("plans.default", "max_keys = 2")]);
    let (account, first) = s.account_and_key(json!({}));
    let c = s.client();
    let body = json!({"account_id": account, "label": "two"});
    assert_eq!(c.post_json("/admin/v1/keys", &s.token, &body).0, 201);
    let (st, _, e) = c.post_json("/admin/v1/keys", &s.token, &body);
    assert_eq!(st, 409);
    assert_eq!(e["error"]["code"], "key_limit_reached");
    c.delete(
        &format!("/admin/v1/keys/{}", first["id"].as_str().unwrap()),
        &s.token,
    );
    assert_eq!(c.post_json("/admin/v1/keys", &s.token, &body).0, 201);
}

#[test]
fn scopes_are_validated_and_stored() {
    let s = TestServer::start();
    let (account, key) = s.account_and_key(json!({"scopes": ["analyze", "jobs:read"]}));
    assert_eq!(key["scopes"], json!(["analyze", "jobs:read"]));
    let (st, _, e) = s.client().post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": account, "label": "x", "scopes": ["everything"]}),
    );
    assert_eq!(st, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("everything")
    );
}

#[test]
fn revoked_management_token_stops_working() {
    let s = TestServer::start();
    let c = s.client();
    let (st, _, t) = c.post_json("/admin/v1/tokens", &s.token, &json!({"label": "ops"}));
    assert_eq!(st, 201);
    let value = t["token"].as_str().unwrap();
    assert!(value.starts_with("tonearm_mt_"));
    assert_eq!(c.get("/admin/v1/accounts", value).0, 200);
    assert_eq!(
        c.delete(
            &format!("/admin/v1/tokens/{}", t["id"].as_str().unwrap()),
            &s.token
        )
        .0,
        200
    );
    let (st, _, e) = c.get("/admin/v1/accounts", value);
    assert_eq!(st, 401);
    assert_eq!(e["error"]["code"], "revoked_management_token");
}

#[test]
fn deleting_a_project_or_account_removes_its_keys() {
    let s = TestServer::start();
    let c = s.client();
    let (account, _) = s.account_and_key(json!({}));
    let (st, _, p) = c.post_json(
        &format!("/admin/v1/accounts/{account}/projects"),
        &s.token,
        &json!({"name": "mastering"}),
    );
    assert_eq!(st, 201);
    let (st, _, k) = c.post_json(
        "/admin/v1/keys",
        &s.token,
        &json!({"account_id": account, "label": "m", "project": "mastering"}),
    );
    assert_eq!(st, 201);
    assert_eq!(k["project_id"], p["id"]);
    let v = k["key"].as_str().unwrap();
    assert_eq!(c.get("/api/v1/me", v).0, 200);
    assert_eq!(
        c.delete(
            &format!("/admin/v1/projects/{}", p["id"].as_str().unwrap()),
            &s.token
        )
        .0,
        200
    );
    assert_eq!(
        c.get("/api/v1/me", v).1.json()["error"]["code"],
        "invalid_api_key"
    );
    assert_eq!(
        c.delete(&format!("/admin/v1/accounts/{account}"), &s.token)
            .0,
        200
    );
    assert_eq!(
        c.get(&format!("/admin/v1/accounts/{account}"), &s.token).0,
        404
    );
}

#[test]
fn lists_are_paginated_with_a_cursor() {
    let s = TestServer::start();
    let c = s.client();
    for i in 0..5 {
        c.post_json(
            "/admin/v1/accounts",
            &s.token,
            &json!({"name": format!("a{i}")}),
        );
    }
    let (_, _, p1) = c.get("/admin/v1/accounts?limit=2", &s.token);
    assert_eq!(p1["data"].as_array().unwrap().len(), 2);
    assert_eq!(p1["has_more"], true);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, _, p2) = c.get(
        &format!("/admin/v1/accounts?limit=2&cursor={cursor}"),
        &s.token,
    );
    assert_eq!(p2["data"][0]["name"], "a2");
    let (_, _, p3) = c.get(
        &format!(
            "/admin/v1/accounts?limit=2&cursor={}",
            p2["next_cursor"].as_str().unwrap()
        ),
        &s.token,
    );
    assert_eq!(p3["data"].as_array().unwrap().len(), 1);
    assert_eq!(p3["has_more"], false);
    assert_eq!(c.get("/admin/v1/accounts?limit=0", &s.token).0, 400);
}
