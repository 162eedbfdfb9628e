//! Starts the real `tonearm` binary on an ephemeral loopback port with a temporary data dir.
//! Readiness is the `listening on ADDR` line on stdout: no fixed port, no sleeps.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_tonearm");

pub struct TestServer {
    pub dir: TempDir,
    pub addr: SocketAddr,
    /// A management token made by `tonearm admin bootstrap` before the first start.
    pub token: String,
    child: Option<Child>,
    extra: Vec<(String, String)>,
    pub tls: bool,
}

/// `(table, "key = value")` lines added to the generated config.
pub type Overrides<'a> = &'a [(&'a str, &'a str)];

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    pub fn start_with(overrides: Overrides) -> TestServer {
        TestServer::start_prepared(overrides, |_| {})
    }

    /// Like `start_with`, with `prepare(data_dir)` run before anything touches the data
    /// directory (to mount a small file system there, say).
    pub fn start_prepared(overrides: Overrides, prepare: impl FnOnce(&Path)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut s = TestServer {
            dir,
            addr: "127.0.0.1:0".parse().unwrap(),
            token: String::new(),
            child: None,
            extra: overrides
                .iter()
                .map(|(t, l)| (t.to_string(), l.to_string()))
                .collect(),
            tls: overrides.iter().any(|(_, l)| l.starts_with("tls_cert")),
        };
        s.write_config();
        prepare(&s.data_dir());
        s.token = s.bootstrap();
        s.spawn();
        s
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("tonearm.toml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Rewrites the config file with other overrides (for SIGHUP reload tests).
    pub fn rewrite_config(&mut self, overrides: Overrides) {
        self.extra = overrides
            .iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect();
        self.write_config();
    }

    fn write_config(&self) {
        let custom_listen = self
            .extra
            .iter()
            .any(|(t, l)| t == "server" && l.starts_with("listen"));
        let listen = if custom_listen {
            vec![]
        } else {
            vec!["listen = \"127.0.0.1:0\"".to_string()]
        };
        let mut tables: Vec<(String, Vec<String>)> = vec![
            ("server".into(), listen),
            (
                "storage".into(),
                vec![format!(
                    "data_dir = {:?}",
                    self.data_dir().display().to_string()
                )],
            ),
        ];
        for (t, line) in &self.extra {
            match tables.iter_mut().find(|(name, _)| name == t) {
                Some((_, lines)) => lines.push(line.clone()),
                None => tables.push((t.clone(), vec![line.clone()])),
            }
        }
        let mut text = String::new();
        for (t, lines) in tables {
            text.push_str(&format!("[{t}]\n{}\n\n", lines.join("\n")));
        }
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn bootstrap(&self) -> String {
        let out = Command::new(BIN)
            .args(["admin", "bootstrap", "--json", "--config"])
            .arg(self.config_path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bootstrap failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    /// Starts `tonearm serve` and waits for its readiness line.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path())
            .unwrap();
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--config")
            .arg(self.config_path())
            .env_remove("TONEARM_LISTEN")
            .env_remove("TONEARM_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => self.addr = addr.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log:\n{}", self.logs());
            }
        }
        self.child = Some(child);
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([format!("-{sig}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the server process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "server did not exit; log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, wait for a clean exit, start again on the same data dir.
    pub fn restart(&mut self) {
        self.signal("TERM");
        let status = self.wait_exit(Duration::from_secs(30));
        assert!(
            status.success(),
            "exit status {status:?}; log:\n{}",
            self.logs()
        );
        self.spawn();
    }

    /// SIGKILL and start again on the same data dir.
    pub fn kill9_and_restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        self.spawn();
    }

    pub fn client(&self) -> super::client::Client {
        super::client::Client::new(self.addr)
    }

    /// Runs a `tonearm` CLI command against this server with its management token.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(args)
            .env("TONEARM_URL", format!("http://{}", self.addr))
            .env("TONEARM_TOKEN", &self.token)
            .output()
            .unwrap()
    }

    /// Creates an account and an API key through the admin API; returns (account id, key).
    pub fn account_and_key(&self, body_extra: serde_json::Value) -> (String, serde_json::Value) {
        let c = self.client();
        let (st, _, acct) = c.post_json(
            "/admin/v1/accounts",
            &self.token,
            &serde_json::json!({"name": "Test Studio"}),
        );
        assert_eq!(st, 201, "{acct}");
        let account = acct["id"].as_str().unwrap().to_string();
        let mut body = serde_json::json!({"account_id": account, "label": "test"});
        if let (Some(b), Some(extra)) = (body.as_object_mut(), body_extra.as_object()) {
            for (k, v) in extra {
                b.insert(k.clone(), v.clone());
            }
        }
        let (st, _, key) = c.post_json("/admin/v1/keys", &self.token, &body);
        assert_eq!(st, 201, "{key}");
        (account, key)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}", self.logs());
        }
    }
}

/// Polls `cond` until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
