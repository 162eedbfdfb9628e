//! Webhooks: signing secrets, signed deliveries and the receiver tools. Signatures are checked
//! by code written here from the published header formats, not by the server's own helpers.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use serde_json::json;

use crate::support::server::{BIN, TestServer};

/// A Standard Webhooks receiver's view of a `whsec_` secret: the HMAC key is the base64 after
/// the prefix.
fn key_of(secret: &str) -> Vec<u8> {
    STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap()
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn verify_cli(secret: &str, headers: &[String], body: &[u8]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["webhooks", "verify", "--secret", secret]);
    for h in headers {
        cmd.args(["--header", h]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn cli_verify_accepts_both_header_styles_and_refuses_tampering_and_replays() {
    let secret = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    let key = key_of(&secret);
    let body = br#"{"id":"evt_x","type":"analysis.completed","data":{}}"#;
    let sign = |t: u64, body: &[u8]| {
        let mut msg = format!("{t}.").into_bytes();
        msg.extend_from_slice(body);
        // Stripe style: keyed with the secret string itself.
        let tonearm = format!(
            "X-Tonearm-Signature: t={t},v1={}",
            hex(&hmac(secret.as_bytes(), &msg))
        );
        let mut msg = format!("evt_x.{t}.").into_bytes();
        msg.extend_from_slice(body);
        let std_sig = STANDARD.encode(hmac(&key, &msg));
        vec![
            tonearm,
            "webhook-id: evt_x".to_string(),
            format!("webhook-timestamp: {t}"),
            format!("webhook-signature: v1,{std_sig}"),
        ]
    };
    let t = now();
    let ok = verify_cli(&secret, &sign(t, body), body);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.contains("X-Tonearm-Signature") && out.contains("Standard Webhooks"));
    // Each style alone.
    let h = sign(t, body);
    assert!(verify_cli(&secret, &h[..1], body).status.success());
    assert!(verify_cli(&secret, &h[1..], body).status.success());
    // Tampered body, wrong secret, a header set with a piece missing, a replay after 300 s.
    assert!(!verify_cli(&secret, &h, b"{}").status.success());
    let other = format!("whsec_{}", STANDARD.encode([8u8; 32]));
    assert!(!verify_cli(&other, &h, body).status.success());
    assert!(!verify_cli(&secret, &h[1..3], body).status.success());
    let old = sign(t - 400, body);
    assert!(!verify_cli(&secret, &old[..1], body).status.success());
    let bad = verify_cli(&secret, &old[1..], body);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tolerance is 300 s"));
}

#[test]
fn signing_secrets_are_per_project_shown_once_and_independent_of_keys() {
    let s = TestServer::start();
    let c = s.client();
    let (_, key) = s.account_and_key(json!({"webhook_secret": true}));
    let k = key["key"].as_str().unwrap();
    let project = key["project_id"].as_str().unwrap();
    // Minted beside the key, for the key's project.
    let minted = &key["webhook_secret"];
    assert!(minted["id"].as_str().unwrap().starts_with("whk_"));
    assert_eq!(minted["project_id"], project);
    assert_eq!(key_of(minted["secret"].as_str().unwrap()).len(), 32);

    let (st, _, created) = c.post_json("/api/v1/webhook-secrets", k, &json!({"label": "rx v2"}));
    assert_eq!(st, 201, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap();

    // Listing never shows a value, through the API or the admin routes.
    let (st, _, list) = c.get("/api/v1/webhook-secrets", k);
    assert_eq!(st, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains("whsec_"));
    let admin_path = format!("/admin/v1/projects/{project}/webhook-secrets");
    let (st, _, admin_list) = c.get(&admin_path, &s.token);
    assert_eq!(st, 200);
    assert_eq!(admin_list["data"], list["data"]);
    // The master key is a private file; the database does not hold the value.
    let mk = std::fs::metadata(s.data_dir().join("webhook-master.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mk.permissions()) & 0o777,
        0o600
    );
    let db = std::fs::read(s.data_dir().join("tonearm.redb")).unwrap();
    let raw = key_of(secret);
    assert!(!db.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));

    // Revoking a secret leaves the key working; another project's key cannot see or revoke it.
    let (_, other) = s.account_and_key(json!({}));
    let ok = other["key"].as_str().unwrap();
    assert_eq!(c.get("/api/v1/webhook-secrets", ok).2["data"], json!([]));
    let path = format!("/api/v1/webhook-secrets/{id}");
    assert_eq!(c.delete(&path, ok).0, 404);
    let (st, _, revoked) = c.delete(&path, k);
    assert_eq!(st, 200);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(c.get("/api/v1/me", k).0, 200);
    // Revoking the key leaves the secrets in place.
    let key_id = key["id"].as_str().unwrap();
    assert_eq!(
        c.delete(&format!("/admin/v1/keys/{key_id}"), &s.token).0,
        200
    );
    let (_, _, after) = c.get(&admin_path, &s.token);
    assert_eq!(after["data"].as_array().unwrap().len(), 2);
    assert_eq!(after["data"][0]["status"], "active");

    // Admin create and revoke; the active limit; scope and unknown project.
    let (st, _, a) = c.post_json(&admin_path, &s.token, &json!({"label": "ops"}));
    assert_eq!(st, 201, "{a}");
    assert!(a["secret"].as_str().unwrap().starts_with("whsec_"));
    let a_id = a["id"].as_str().unwrap();
    assert_eq!(c.delete(&format!("{admin_path}/{a_id}"), &s.token).0, 200);
    let (_, limited) = s.account_and_key(json!({"scopes": ["analyze"]}));
    let lk = limited["key"].as_str().unwrap();
    assert_eq!(c.get("/api/v1/webhook-secrets", lk).0, 403);
    assert_eq!(
        c.get(
            "/admin/v1/projects/proj_0000000000000000000000/webhook-secrets",
            &s.token
        )
        .0,
        404
    );
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(
            c.post_json(
                "/api/v1/webhook-secrets",
                ok,
                &json!({"label": format!("s{i}")}),
            )
            .0,
        );
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 409]);
}

#[test]
fn cli_manages_signing_secrets() {
    let s = TestServer::start();
    let (_, key) = s.account_and_key(json!({}));
    let project = key["project_id"].as_str().unwrap();
    let out = s.cli(&[
        "webhooks",
        "secrets",
        "create",
        "--project",
        project,
        "--label",
        "rx",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(key_of(secret).len(), 32);
    let id = created["id"].as_str().unwrap();
    let list = s.cli(&["webhooks", "secrets", "list", "--project", project]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success() && text.contains(id) && text.contains("active"));
    assert!(!text.contains(secret));
    let out = s.cli(&[
        "webhooks",
        "secrets",
        "revoke",
        "--project",
        project,
        id,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let revoked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(revoked["status"], "revoked");
}
