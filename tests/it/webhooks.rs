//! Webhooks: signing secrets, signed deliveries and the receiver tools. Signatures are checked
//! by code written here from the published header formats, not by the server's own helpers.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::support::server::BIN;

/// A receiver's view of a `whsec_` secret: the HMAC key is the base64 after the prefix.
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
        let tonearm = format!("X-Tonearm-Signature: t={t},v1={}", hex(&hmac(&key, &msg)));
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
