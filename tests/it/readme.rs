//! The README points only at things that exist: no path outside the repository, every repository
//! path it names is there, and every `tonearm` command in its examples is one the binary has.
//! The Dockerfile leaves a mounted configuration in charge.

use std::path::Path;
use std::process::Command;

use crate::support::server::BIN;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn readme() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap()
}

/// Lines inside fenced code blocks.
fn code_lines(text: &str) -> Vec<&str> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            lines.push(line);
        }
    }
    lines
}

#[test]
fn readme_names_no_path_outside_the_repository() {
    let text = readme();
    for (n, line) in text.lines().enumerate() {
        assert!(
            !line.contains("../") && !line.contains("venv-anchor"),
            "README.md line {}: {line}",
            n + 1
        );
    }
}

#[test]
fn repository_paths_in_the_readme_exist() {
    const DIRS: [&str; 7] = [
        "scripts/", "config/", "systemd/", "docs/", "benches/", "tests/", "src/",
    ];
    let text = readme();
    let mut checked = 0;
    for token in text.split(|c: char| {
        c.is_whitespace() || matches!(c, '`' | '"' | '\'' | '(' | ')' | '[' | ']' | ',' | '*')
    }) {
        let token = token.trim_end_matches(['.', ':', ';']);
        if DIRS.iter().any(|d| token.starts_with(d)) {
            assert!(
                Path::new(ROOT).join(token).exists(),
                "README names {token}, which is not in the repository"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} paths found");
}

/// `tonearm <command> [<subcommand> …]` as written in the examples.
fn commands(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in code_lines(text) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            if !(*w == "tonearm" || w.ends_with("/tonearm")) {
                continue;
            }
            let sub: Vec<String> = words[i + 1..]
                .iter()
                .take(3)
                .take_while(|x| {
                    !x.starts_with('-') && x.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .map(|x| x.to_string())
                .collect();
            if !sub.is_empty() {
                found.push(sub);
            }
        }
    }
    found
}

#[test]
fn every_tonearm_command_in_the_readme_exists() {
    let cmds = commands(&readme());
    assert!(cmds.len() >= 20, "only {} commands found", cmds.len());
    for sub in cmds {
        let out = Command::new(BIN).args(&sub).arg("--help").output().unwrap();
        assert!(
            out.status.success(),
            "README runs `tonearm {}`, which the binary does not have: {}",
            sub.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_check_would_catch_a_command_that_does_not_exist() {
    let cmds = commands("```sh\ntonearm accounts frobnicate --x\n```\n");
    assert_eq!(
        cmds,
        vec![vec!["accounts".to_string(), "frobnicate".to_string()]]
    );
    let out = Command::new(BIN)
        .args(&cmds[0])
        .arg("--help")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Values baked into the image as environment variables would silently win over a mounted
/// configuration file.
#[test]
fn dockerfile_bakes_no_setting_over_the_configuration() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    for var in ["TONEARM_LISTEN", "TONEARM_DATA_DIR"] {
        assert!(!text.contains(&format!("{var}=")), "Dockerfile sets {var}");
    }
    let health = text
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK"))
        .nth(1)
        .unwrap();
    assert!(
        health.contains("\"health\"]") && !health.contains("--url"),
        "the health check must follow the configured listener: {health}"
    );
}
