//! The management CLI against a live server, in the exact forms the README documents.

use serde_json::Value;

use crate::support::server::{TestServer, write_file};

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cli_creates_account_and_key_and_the_key_works() {
    let s = TestServer::start();
    let acct = json(&s.cli(&["accounts", "create", "--name", "Label X", "--json"]));
    let id = acct["id"].as_str().unwrap();
    assert!(id.starts_with("acct_"));
    let key = json(&s.cli(&[
        "keys",
        "create",
        "--account",
        id,
        "--label",
        "ci",
        "--scopes",
        "analyze,jobs:read",
        "--expires-in",
        "30d",
        "--json",
    ]));
    assert!(key["id"].as_str().unwrap().starts_with("key_"));
    let value = key["key"].as_str().unwrap();
    assert!(value.starts_with("tonearm_sk_"));
    assert_eq!(key["scopes"], serde_json::json!(["analyze", "jobs:read"]));
    let (st, _, me) = s.client().get("/api/v1/me", value);
    assert_eq!(st, 200);
    assert_eq!(me["id"], key["id"]);

    let list = json(&s.cli(&["keys", "list", "--account", id, "--json"]));
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let table = s.cli(&["keys", "list"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("PREFIX") && text.contains(key["id"].as_str().unwrap()));
    assert!(!text.contains(value));

    let out = s.cli(&["keys", "revoke", key["id"].as_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(s.client().get("/api/v1/me", value).0, 401);

    let updated = json(&s.cli(&["accounts", "update", id, "--name", "Label Y", "--json"]));
    assert_eq!(updated["name"], "Label Y");
    let got = json(&s.cli(&["accounts", "get", id, "--json"]));
    assert_eq!(got["name"], "Label Y");
    let p = json(&s.cli(&[
        "projects",
        "create",
        "--account",
        id,
        "--name",
        "stems",
        "--json",
    ]));
    let projects = json(&s.cli(&["projects", "list", "--account", id, "--json"]));
    assert_eq!(projects["data"].as_array().unwrap().len(), 2);
    assert!(
        s.cli(&["projects", "delete", p["id"].as_str().unwrap()])
            .status
            .success()
    );
    let t = json(&s.cli(&["tokens", "create", "--label", "ops", "--json"]));
    assert!(t["token"].as_str().unwrap().starts_with("tonearm_mt_"));
    assert!(
        s.cli(&["tokens", "revoke", t["id"].as_str().unwrap()])
            .status
            .success()
    );
    let tokens = json(&s.cli(&["tokens", "list", "--json"]));
    assert_eq!(tokens["data"].as_array().unwrap().len(), 2);
    assert!(s.cli(&["accounts", "delete", id]).status.success());
    let accounts = json(&s.cli(&["accounts", "list", "--json"]));
    assert!(accounts["data"].as_array().unwrap().is_empty());
}

#[test]
fn cli_reports_api_errors_and_missing_token() {
    let s = TestServer::start();
    let out = s.cli(&["accounts", "get", "acct_nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_found"));
    let out = std::process::Command::new(crate::support::server::BIN)
        .args(["accounts", "list"])
        .env_remove("TONEARM_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TONEARM_TOKEN"));
}

#[test]
fn health_command_checks_a_running_server() {
    let s = TestServer::start();
    let out = s.cli(&["health"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = s.cli(&["health", "--url", "http://127.0.0.1:1"]);
    assert!(!out.status.success());
}

/// Without --url, `health` asks the configured listener, over TLS when it is configured,
/// trusting the configured certificate whatever name it carries.
#[test]
fn health_follows_the_configured_listener_with_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["tonearm.example".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = write_file(dir.path(), "cert.pem", &cert.cert.pem());
    let key_path = write_file(dir.path(), "key.pem", &cert.signing_key.serialize_pem());
    let cert_line = format!("tls_cert = {:?}", cert_path.display().to_string());
    let key_line = format!("tls_key = {:?}", key_path.display().to_string());
    let s = TestServer::start_with(&[("server", &cert_line), ("server", &key_line)]);
    // The config the server runs with, with the port it was given.
    let text = std::fs::read_to_string(s.config_path())
        .unwrap()
        .replace("127.0.0.1:0", &s.addr.to_string());
    let cfg = write_file(dir.path(), "running.toml", &text);
    let out = std::process::Command::new(crate::support::server::BIN)
        .args(["health", "--config"])
        .arg(&cfg)
        .env_remove("TONEARM_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another certificate on that address is refused.
    let other = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
    std::fs::write(&cert_path, other.cert.pem()).unwrap();
    let out = std::process::Command::new(crate::support::server::BIN)
        .args(["health", "--config"])
        .arg(&cfg)
        .env_remove("TONEARM_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// `analyze --threads 0` means all cores; `--max-duration` takes 10m like the config does.
#[test]
fn analyze_takes_zero_threads_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let wav = crate::support::audio::Audio::mono(
        22_050,
        crate::support::audio::sine(22_050, 440.0, -12.0, 2.0),
    )
    .write_wav(dir.path(), "a.wav", crate::support::audio::Encoding::Pcm16);
    let out = std::process::Command::new(crate::support::server::BIN)
        .args([
            "analyze",
            "--threads",
            "0",
            "--max-duration",
            "10m",
            "--jsonl",
        ])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(crate::support::server::BIN)
        .args(["analyze", "--max-duration", "1s", "--jsonl"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("too_long"));
}
