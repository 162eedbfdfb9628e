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
