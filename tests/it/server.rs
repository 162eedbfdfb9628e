//! Server behaviour: health, errors, request ids, limits, shutdown, single-process lock.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::client::{head, read_response};
use crate::support::server::{BIN, TestServer};

#[test]
fn health_and_readiness_need_no_credentials() {
    let s = TestServer::start();
    let c = s.client();
    let r = c.request("GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    let r = c.request("GET", "/readyz", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["database"], "ok");
}

#[test]
fn unknown_route_wrong_method_and_big_body_get_json_errors() {
    let s = TestServer::start_with(&[("server", "max_json_body_kb = 1")]);
    let c = s.client();
    let r = c.request("GET", "/nope", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "route_not_found");
    let r = c.request("DELETE", "/healthz", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    let auth = format!("Bearer {}", s.token);
    let big = vec![b' '; 4096];
    let r = c.request(
        "POST",
        "/admin/v1/accounts",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &big,
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
}

#[test]
fn bad_json_bodies_are_400_with_the_reason() {
    let s = TestServer::start();
    let c = s.client();
    let auth = format!("Bearer {}", s.token);
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = c.request("POST", "/admin/v1/accounts", &h, b"{not json");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_json");
    let r = c.request(
        "POST",
        "/admin/v1/accounts",
        &h,
        br#"{"name": "x", "colour": 1}"#,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let r = c.request("POST", "/admin/v1/accounts", &h, br#"{"name": ""}"#);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_request");
    let r = c.request(
        "POST",
        "/admin/v1/accounts",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "text/plain"),
        ],
        b"name",
    );
    assert_eq!(r.status, 415);
}

#[test]
fn request_id_is_echoed_or_generated_and_logged() {
    let s = TestServer::start();
    let c = s.client();
    let r = c.request("GET", "/healthz", &[("X-Request-Id", "pipeline-42.a")], b"");
    assert_eq!(r.header("x-request-id"), Some("pipeline-42.a"));
    let r = c.request(
        "GET",
        "/nope",
        &[("X-Request-Id", "bad id with spaces")],
        b"",
    );
    let generated = r.header("x-request-id").unwrap().to_string();
    assert!(generated.starts_with("req_"));
    assert_eq!(r.json()["error"]["request_id"], generated.as_str());
    assert!(crate::support::server::eventually(
        Duration::from_secs(5),
        || {
            let logs = s.logs();
            logs.contains("pipeline-42.a") && logs.contains(&generated)
        }
    ));
}

#[test]
fn second_server_on_the_same_data_dir_fails_fast() {
    let s = TestServer::start();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(s.config_path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another tonearm process"), "{err}");
    // The running server is unharmed.
    assert_eq!(s.client().request("GET", "/readyz", &[], b"").status, 200);
    // Bootstrap refuses too while the server holds the directory.
    let out = Command::new(BIN)
        .args(["admin", "bootstrap", "--config"])
        .arg(s.config_path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_exits_zero() {
    let mut s = TestServer::start();
    let c = s.client();
    let body = serde_json::to_vec(&json!({"name": "slow upload"})).unwrap();
    let auth = format!("Bearer {}", s.token);
    let mut conn = c.connect();
    conn.write_all(&head(
        "POST",
        "/admin/v1/accounts",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.len(),
    ))
    .unwrap();
    conn.write_all(&body[..5]).unwrap();
    conn.flush().unwrap();
    // The request is in flight (head received, body incomplete) when the signal arrives.
    std::thread::sleep(Duration::from_millis(300));
    s.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&body[5..]).unwrap();
    let r = read_response(&mut conn);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let status = s.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    // New connections are refused once shut down.
    assert!(std::net::TcpStream::connect(s.addr).is_err());
}

#[test]
fn idle_connections_are_closed() {
    let s = TestServer::start_with(&[("server", "idle_timeout = \"300ms\"")]);
    let mut conn = s.client().connect();
    // Send nothing: the server must close the connection rather than hold it forever.
    let mut buf = [0u8; 16];
    let start = std::time::Instant::now();
    let n = std::io::Read::read(&mut conn, &mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn slowloris_headers_are_cut_off() {
    let s = TestServer::start_with(&[("server", "header_read_timeout = \"300ms\"")]);
    let mut conn = s.client().connect();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Never finish the head.
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut conn, &mut buf);
    let text = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
}
