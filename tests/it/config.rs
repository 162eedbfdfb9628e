//! Configuration: start-up validation, `config check`, `config print`, env overrides.

use std::process::Command;

use crate::support::server::{BIN, write_file};

fn serve_with(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "t.toml", text);
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&p)
        .env("TONEARM_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn malformed_toml_fails_startup_naming_the_key_and_line() {
    let (ok, err) = serve_with("[server]\nlisten = \"127.0.0.1:0\"\nmax_conections = 5\n");
    assert!(!ok);
    assert!(
        err.contains("max_conections") && err.contains("line 3"),
        "{err}"
    );
    let (ok, err) = serve_with("[server]\nshutdown_grace = 30\n");
    assert!(!ok);
    assert!(err.contains("shutdown_grace"), "{err}");
    let (ok, err) = serve_with("[server]\nlisten = \"localhost\"\n");
    assert!(!ok);
    assert!(
        err.contains("server.listen") && err.contains("line 2"),
        "{err}"
    );
    let (ok, err) = serve_with("[server\nlisten=1");
    assert!(!ok);
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn config_check_validates_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_file(dir.path(), "good.toml", "[log]\nformat = \"json\"\n");
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let bad = write_file(dir.path(), "bad.toml", "[log]\nformat = \"xml\"\n");
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("log.format"));
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/tonearm.toml");
    let out = Command::new(BIN)
        .args(["config", "check", example])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn config_print_shows_effective_values_with_env_overrides() {
    let out = Command::new(BIN)
        .args(["config", "print"])
        .env_remove("TONEARM_CONFIG")
        .env("TONEARM_LISTEN", "127.0.0.1:9999")
        .env("TONEARM_DATA_DIR", "/var/lib/x")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("data_dir = \"/var/lib/x\""), "{text}");
    assert!(
        text.contains("[plans.default]") && text.contains("max_keys = 5"),
        "{text}"
    );
}

#[test]
fn every_commented_example_in_the_shipped_config_is_valid_toml_when_uncommented() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/tonearm.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut examples = 0;
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                }) =>
            {
                examples += 1;
                format!("{rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert!(examples >= 3, "{examples}");
    if let Err(e) = uncommented.parse::<toml::Table>() {
        panic!("the uncommented example is not TOML: {e}");
    }
}

/// `--config` after the subcommand works for `config check` as for every other command.
#[test]
fn config_check_takes_config_like_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "bad.toml", "[log]\nformat = \"xml\"\n");
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("log.format"), "{err}");
    assert_eq!(err.lines().count(), 1, "printed once: {err}");
    let good = write_file(dir.path(), "good.toml", "[log]\nformat = \"json\"\n");
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// `serve --listen` wins over the file and TONEARM_LISTEN, and the start-up log says which
/// setting came from where; a server that cannot bind says so once and never "stopped".
#[test]
fn listen_precedence_is_logged_and_a_failed_start_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = write_file(
        dir.path(),
        "t.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:1\"\n[storage]\ndata_dir = {:?}\n",
            data.display().to_string()
        ),
    );
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .env("TONEARM_LISTEN", "127.0.0.1:2")
        .env_remove("TONEARM_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("listening on 127.0.0.1:"), "{line}");
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("\"127.0.0.1:2\" from TONEARM_LISTEN"), "{log}");
    assert!(log.contains("\"127.0.0.1:0\" from --listen"), "{log}");

    // The port is taken: the error once, no "stopped".
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--config"])
        .arg(&cfg)
        .env_remove("TONEARM_LISTEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("already in use").count(), 1, "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert!(!err.contains("stopped"), "{err}");
}
