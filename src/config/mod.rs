//! Configuration: one TOML file, every option defaulted, environment overrides
//! (`TONEARM_LISTEN`, `TONEARM_DATA_DIR`), validated into typed values at start-up. Reads the
//! config file and the environment; nothing else.

pub mod library;
pub mod ops;
mod raw;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use raw::{Quota, RawConfig, RawMix, RawPlan, RawPlatform};

use crate::webhooks::target::TargetPolicy;

/// The configuration as the server uses it: every value parsed and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub analysis: AnalysisConfig,
    pub log: LogConfig,
    pub webhooks: WebhooksConfig,
    pub metrics: ops::MetricsConfig,
    pub audit: ops::AuditConfig,
    pub leaks: ops::LeaksConfig,
    pub library: library::LibraryConfig,
    /// Plans by name; always holds `default`.
    pub plans: BTreeMap<String, Plan>,
    /// The validated file as written plus defaults, for `tonearm config print`.
    pub raw: RawConfig,
    /// Settings the environment or the command line gave over the file, one sentence each,
    /// for the start-up log: which source won is never silent.
    pub overridden: Vec<String>,
}

/// Settings given on the command line. Precedence: command line, then `TONEARM_LISTEN` /
/// `TONEARM_DATA_DIR`, then the file, then the defaults.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `serve --listen ADDR`.
    pub listen: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub shutdown_grace: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
    /// Header fields in one request; more gets 431.
    pub max_headers: usize,
    pub max_json_body_bytes: usize,
    pub max_connections: usize,
    /// A request body must deliver `body_min_bytes_per_sec` (and at least one byte) in every
    /// window of this length, or it is dropped.
    pub body_idle_timeout: Duration,
    pub body_min_bytes_per_sec: u64,
    /// Failed authentications one client address may make per minute before its further
    /// failures get 429; 0 turns the throttle off.
    pub auth_failures_per_minute: u32,
    /// Peers whose `Forwarded` / `X-Forwarded-For` headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    /// Keep uploaded audio after its job ends (default: delete at once).
    pub keep_uploads: bool,
    /// Finished jobs and their results are deleted this long after they end.
    pub keep_results: Duration,
    /// Uploads are refused with 507 while the data directory's file system has less free space.
    pub min_free_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub max_upload_bytes: u64,
    /// Jobs analysed at once, each on the analysis thread pool.
    pub workers: usize,
    /// Accepted jobs not yet finished (queued plus running); beyond it submissions get 503.
    pub max_queued: usize,
    /// Uploads being received at once per API key and per account.
    pub max_uploads_per_key: usize,
    pub max_uploads_per_account: usize,
    pub max_duration: Duration,
    /// `[mix]`: platform targets and the true-peak ceiling of the mix report.
    pub mix: crate::engine::reports::mix::MixTargets,
}

#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    /// Delay before each attempt, counted from the event (first entry) or from the previous
    /// failed attempt; one entry per attempt.
    pub retry_schedule: Vec<Duration>,
    pub targets: TargetPolicy,
    /// PEM file of extra CA certificates trusted for https receivers.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Whole attempt: connect, send, response head and up to 4 KiB of body.
    pub timeout: Duration,
    pub max_in_flight: usize,
    pub max_in_flight_per_host: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A `tracing_subscriber::filter::Targets` string, e.g. `info,tonearm=debug`.
    pub level: String,
    pub format: LogFormat,
}

/// What an account on a plan may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub api_access: bool,
    pub requests_per_minute: u64,
    pub calls_per_month: Quota,
    pub credits_per_month: Quota,
    pub max_upload_mb: u64,
    pub max_keys: usize,
}

impl Plan {
    /// The built-in `default` plan: generous enough that one team on a fresh install never
    /// meets a limit.
    pub fn builtin_default() -> Plan {
        Plan {
            api_access: true,
            requests_per_minute: 600,
            calls_per_month: Quota::Unlimited,
            credits_per_month: Quota::Unlimited,
            max_upload_mb: 1024,
            max_keys: 5,
        }
    }

    fn to_raw(&self) -> RawPlan {
        RawPlan {
            api_access: Some(self.api_access),
            requests_per_minute: Some(self.requests_per_minute),
            calls_per_month: Some(self.calls_per_month),
            credits_per_month: Some(self.credits_per_month),
            max_upload_mb: Some(self.max_upload_mb),
            max_keys: Some(self.max_keys as u64),
        }
    }
}

pub const DEFAULT_PLAN: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config: cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config: {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config: {location}{key}: {message}")]
    Invalid {
        location: String,
        key: String,
        message: String,
    },
}

/// Where a configuration comes from: a file, or only the built-in defaults.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Defaults,
}

impl Source {
    /// `--config PATH`, else `TONEARM_CONFIG`, else the built-in defaults.
    pub fn resolve(flag: Option<&Path>) -> Source {
        if let Some(p) = flag {
            return Source::File(p.to_path_buf());
        }
        match std::env::var_os("TONEARM_CONFIG") {
            Some(p) if !p.is_empty() => Source::File(PathBuf::from(p)),
            _ => Source::Defaults,
        }
    }
}

impl Config {
    /// Loads, applies environment overrides and validates.
    pub fn load(source: &Source) -> Result<Config, Error> {
        Config::load_with(source, &Overrides::default())
    }

    /// Loads with command-line settings, which win over the environment and the file.
    pub fn load_with(source: &Source, cli: &Overrides) -> Result<Config, Error> {
        let (text, path) = match source {
            Source::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::Read {
                    path: p.display().to_string(),
                    source: e,
                })?;
                (text, p.display().to_string())
            }
            Source::Defaults => (String::new(), "(built-in defaults)".to_string()),
        };
        let mut raw = parse_raw(&text, &path)?;
        let overridden = apply_env(&mut raw, cli, &path);
        let mut config = Config::from_raw(raw, &text, &path)?;
        config.overridden = overridden;
        Ok(config)
    }

    /// Validates a parsed file. `text` is used only to point at the offending line.
    pub fn from_raw(raw: RawConfig, text: &str, path: &str) -> Result<Config, Error> {
        let v = Validator { text, path };
        let s = &raw.server;
        let listen: SocketAddr = s.listen.parse().map_err(|_| {
            v.invalid(
                "server",
                "listen",
                format!(
                    "{:?} is not an address:port such as 127.0.0.1:8080 or [::]:8080",
                    s.listen
                ),
            )
        })?;
        let tls = match (&s.tls_cert, &s.tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            }),
            (Some(_), None) => {
                return Err(v.invalid(
                    "server",
                    "tls_key",
                    "tls_cert is set but tls_key is not; set both or neither".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(v.invalid(
                    "server",
                    "tls_cert",
                    "tls_key is set but tls_cert is not; set both or neither".into(),
                ));
            }
        };
        let shutdown_grace = v.duration("server", "shutdown_grace", &s.shutdown_grace)?;
        let header_read_timeout =
            v.duration("server", "header_read_timeout", &s.header_read_timeout)?;
        let idle_timeout = v.duration("server", "idle_timeout", &s.idle_timeout)?;
        let body_idle_timeout = v.duration("server", "body_idle_timeout", &s.body_idle_timeout)?;
        for (key, d) in [
            ("header_read_timeout", header_read_timeout),
            ("idle_timeout", idle_timeout),
            ("body_idle_timeout", body_idle_timeout),
        ] {
            if d.is_zero() {
                return Err(v.invalid("server", key, "must be longer than 0s".into()));
            }
        }
        let max_header_bytes = v.range(
            "server",
            "max_header_bytes",
            s.max_header_bytes,
            8192,
            1 << 20,
        )?;
        let max_headers = v.range("server", "max_headers", s.max_headers, 16, 10_000)?;
        let body_min_bytes_per_sec = v.range(
            "server",
            "body_min_bytes_per_sec",
            s.body_min_bytes_per_sec,
            0,
            1 << 30,
        )?;
        let auth_failures_per_minute = v.range(
            "server",
            "auth_failures_per_minute",
            s.auth_failures_per_minute,
            0,
            1_000_000,
        )?;
        let max_json_body_kb = v.range(
            "server",
            "max_json_body_kb",
            s.max_json_body_kb,
            1,
            64 * 1024,
        )?;
        let max_connections =
            v.range("server", "max_connections", s.max_connections, 1, 1_000_000)?;

        if raw.storage.data_dir.trim().is_empty() {
            return Err(v.invalid("storage", "data_dir", "must not be empty".into()));
        }
        let format = match raw.log.format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(v.invalid(
                    "log",
                    "format",
                    format!("{other:?} is not one of \"text\", \"json\""),
                ));
            }
        };
        if raw
            .log
            .level
            .parse::<tracing_subscriber::filter::Targets>()
            .is_err()
        {
            return Err(v.invalid(
                "log",
                "level",
                format!(
                    "{:?} is not a level filter such as \"info\" or \"info,tonearm=debug\"",
                    raw.log.level
                ),
            ));
        }
        let keep_results_days = v.range(
            "storage",
            "keep_results_days",
            raw.storage.keep_results_days,
            1,
            36_500,
        )?;
        let a = &raw.analysis;
        let max_upload_mb =
            v.range("analysis", "max_upload_mb", a.max_upload_mb, 1, 1024 * 1024)?;
        let workers = match v.range("analysis", "workers", a.workers, 0, 1024)? {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        };
        let max_queued = v.range("analysis", "max_queued", a.max_queued, 1, 1_000_000)?;
        let max_uploads_per_key = v.range(
            "analysis",
            "max_uploads_per_key",
            a.max_uploads_per_key,
            1,
            100_000,
        )?;
        let max_uploads_per_account = v.range(
            "analysis",
            "max_uploads_per_account",
            a.max_uploads_per_account,
            1,
            100_000,
        )?;
        let min_free_mb = v.range(
            "storage",
            "min_free_mb",
            raw.storage.min_free_mb,
            0,
            1 << 40,
        )?;
        let max_duration = v.duration("analysis", "max_duration", &a.max_duration)?;
        if max_duration < Duration::from_secs(1) || max_duration > Duration::from_secs(24 * 3600) {
            return Err(v.invalid(
                "analysis",
                "max_duration",
                "must be between 1s and 24h".into(),
            ));
        }
        let analysis = AnalysisConfig {
            max_upload_bytes: max_upload_mb * 1024 * 1024,
            workers,
            max_queued: max_queued as usize,
            max_uploads_per_key: max_uploads_per_key as usize,
            max_uploads_per_account: max_uploads_per_account as usize,
            max_duration,
            mix: v.mix(&raw.mix)?,
        };
        let mut trusted_proxies = Vec::new();
        for p in &s.trusted_proxies {
            trusted_proxies.push(parse_net(p).ok_or_else(|| {
                v.invalid(
                    "server",
                    "trusted_proxies",
                    format!("{p:?} is not an IP address or CIDR range"),
                )
            })?);
        }
        let webhooks = v.webhooks(&raw.webhooks)?;
        let plans = v.plans(&raw.plans)?;
        let mut raw = raw;
        raw.plans = plans.iter().map(|(n, p)| (n.clone(), p.to_raw())).collect();

        Ok(Config {
            server: ServerConfig {
                listen,
                tls,
                shutdown_grace,
                header_read_timeout,
                idle_timeout,
                max_header_bytes: max_header_bytes as usize,
                max_headers: max_headers as usize,
                max_json_body_bytes: (max_json_body_kb * 1024) as usize,
                max_connections: max_connections as usize,
                body_idle_timeout,
                body_min_bytes_per_sec,
                auth_failures_per_minute: auth_failures_per_minute as u32,
                trusted_proxies,
            },
            storage: StorageConfig {
                data_dir: PathBuf::from(&raw.storage.data_dir),
                keep_uploads: raw.storage.keep_uploads,
                keep_results: Duration::from_secs(keep_results_days * 86_400),
                min_free_bytes: min_free_mb * 1024 * 1024,
            },
            analysis,
            log: LogConfig {
                level: raw.log.level.clone(),
                format,
            },
            webhooks,
            metrics: ops::metrics(&v, &raw.metrics)?,
            audit: ops::audit(&v, &raw.audit)?,
            leaks: ops::leaks(&v, &raw.leaks)?,
            library: library::library(&v, &raw.library)?,
            plans,
            raw,
            overridden: Vec::new(),
        })
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_toml(&self) -> String {
        // No option holds a secret today (TLS settings are paths, not key material); options
        // that do will be replaced by "<redacted>" here.
        toml::to_string(&self.raw).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// An address (`10.0.0.1`, `::1`) or a range (`10.0.0.0/8`).
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

fn parse_raw(text: &str, path: &str) -> Result<RawConfig, Error> {
    toml::from_str(text).map_err(|e| Error::Parse {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// Applies `TONEARM_LISTEN`, `TONEARM_DATA_DIR` and the command line; says what each replaced.
fn apply_env(raw: &mut RawConfig, cli: &Overrides, path: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let mut set = |key: &str, slot: &mut String, value: String, from: &str| {
        if *slot != value {
            notes.push(format!(
                "{key} = {value:?} from {from}, over {:?} from {path}",
                slot
            ));
        }
        *slot = value;
    };
    if let Some(v) = env_nonempty("TONEARM_LISTEN") {
        set("server.listen", &mut raw.server.listen, v, "TONEARM_LISTEN");
    }
    if let Some(v) = env_nonempty("TONEARM_DATA_DIR") {
        set(
            "storage.data_dir",
            &mut raw.storage.data_dir,
            v,
            "TONEARM_DATA_DIR",
        );
    }
    if let Some(v) = cli.listen.clone() {
        set("server.listen", &mut raw.server.listen, v, "--listen");
    }
    notes
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

struct Validator<'a> {
    text: &'a str,
    path: &'a str,
}

impl Validator<'_> {
    fn invalid(&self, table: &str, key: &str, message: String) -> Error {
        let location = match find_line(self.text, table, key) {
            Some(line) => format!("{} line {line}: ", self.path),
            None => String::new(),
        };
        Error::Invalid {
            location,
            key: format!("{table}.{key}"),
            message,
        }
    }

    fn duration(&self, table: &str, key: &str, value: &str) -> Result<Duration, Error> {
        humantime::parse_duration(value).map_err(|e| {
            self.invalid(
                table,
                key,
                format!("{value:?} is not a duration such as \"30s\" or \"5m\" ({e})"),
            )
        })
    }

    fn webhooks(&self, w: &raw::RawWebhooks) -> Result<WebhooksConfig, Error> {
        const T: &str = "webhooks";
        if w.retry_schedule.is_empty() || w.retry_schedule.len() > 50 {
            return Err(self.invalid(
                T,
                "retry_schedule",
                "needs 1 to 50 entries, one per attempt".into(),
            ));
        }
        let mut retry_schedule = Vec::new();
        for d in &w.retry_schedule {
            let d = self.duration(T, "retry_schedule", d)?;
            if d > Duration::from_secs(7 * 86_400) {
                return Err(self.invalid(
                    T,
                    "retry_schedule",
                    "an entry longer than 7 days is not a retry".into(),
                ));
            }
            retry_schedule.push(d);
        }
        let nets = |key: &str, list: &[String]| -> Result<Vec<ipnet::IpNet>, Error> {
            list.iter()
                .map(|n| {
                    parse_net(n).ok_or_else(|| {
                        self.invalid(T, key, format!("{n:?} is not an IP address or CIDR range"))
                    })
                })
                .collect()
        };
        let connect_timeout = self.duration(T, "connect_timeout", &w.connect_timeout)?;
        let timeout = self.duration(T, "timeout", &w.timeout)?;
        for (key, d) in [("connect_timeout", connect_timeout), ("timeout", timeout)] {
            if d.is_zero() || d > Duration::from_secs(300) {
                return Err(self.invalid(T, key, "must be between 1ms and 300s".into()));
            }
        }
        if let Some(f) = &w.ca_file
            && f.trim().is_empty()
        {
            return Err(self.invalid(T, "ca_file", "must not be empty when set".into()));
        }
        Ok(WebhooksConfig {
            retry_schedule,
            targets: TargetPolicy {
                allow_private: w.allow_private,
                allow_cidrs: nets("allow_cidrs", &w.allow_cidrs)?,
                deny_cidrs: nets("deny_cidrs", &w.deny_cidrs)?,
            },
            ca_file: w.ca_file.as_ref().map(PathBuf::from),
            connect_timeout,
            timeout,
            max_in_flight: self.range(T, "max_in_flight", w.max_in_flight, 1, 10_000)? as usize,
            max_in_flight_per_host: self.range(
                T,
                "max_in_flight_per_host",
                w.max_in_flight_per_host,
                1,
                10_000,
            )? as usize,
        })
    }

    fn plans(&self, raw: &BTreeMap<String, RawPlan>) -> Result<BTreeMap<String, Plan>, Error> {
        let builtin = Plan::builtin_default();
        let base = match raw.get(DEFAULT_PLAN) {
            Some(r) => self.plan(DEFAULT_PLAN, r, &builtin)?,
            None => builtin,
        };
        let mut out = BTreeMap::new();
        for (name, r) in raw {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-'
                });
            if !ok {
                return Err(self.invalid(
                    "plans",
                    name,
                    "plan names are 1 to 64 characters of a-z, 0-9, '_' and '-'".into(),
                ));
            }
            out.insert(name.clone(), self.plan(name, r, &base)?);
        }
        out.insert(DEFAULT_PLAN.to_string(), base);
        Ok(out)
    }

    fn plan(&self, name: &str, r: &RawPlan, base: &Plan) -> Result<Plan, Error> {
        let table = format!("plans.{name}");
        let rpm = r.requests_per_minute.unwrap_or(base.requests_per_minute);
        let rpm = self.range(&table, "requests_per_minute", rpm, 1, 1_000_000)?;
        let upload = r.max_upload_mb.unwrap_or(base.max_upload_mb);
        let upload = self.range(&table, "max_upload_mb", upload, 1, 1024 * 1024)?;
        let keys = r.max_keys.unwrap_or(base.max_keys as u64);
        let keys = self.range(&table, "max_keys", keys, 1, 10_000)?;
        Ok(Plan {
            api_access: r.api_access.unwrap_or(base.api_access),
            requests_per_minute: rpm,
            calls_per_month: r.calls_per_month.unwrap_or(base.calls_per_month),
            credits_per_month: r.credits_per_month.unwrap_or(base.credits_per_month),
            max_upload_mb: upload,
            max_keys: keys as usize,
        })
    }

    /// `[mix]`: at least one platform, unique names, targets within -40..0 LUFS, dated entries.
    fn mix(&self, raw: &RawMix) -> Result<crate::engine::reports::mix::MixTargets, Error> {
        use crate::engine::reports::mix::{MixTargets, PlatformTarget};
        if !(-20.0..=0.0).contains(&raw.true_peak_max_dbtp) {
            return Err(self.invalid(
                "mix",
                "true_peak_max_dbtp",
                format!("{} is out of range (-20 to 0 dBTP)", raw.true_peak_max_dbtp),
            ));
        }
        if raw.platforms.is_empty() {
            return Err(self.invalid("mix", "platforms", "must list at least one platform".into()));
        }
        let mut platforms = Vec::new();
        for p in &raw.platforms {
            let bad = |m: String| self.invalid("mix", "platforms", format!("{:?}: {m}", p.name));
            if p.name.trim().is_empty() || p.name.len() > 64 {
                return Err(bad("a name of 1 to 64 characters is needed".into()));
            }
            if platforms.iter().any(|x: &PlatformTarget| x.name == p.name) {
                return Err(bad("listed twice".into()));
            }
            if !(-40.0..=0.0).contains(&p.target_lufs) {
                return Err(bad(format!(
                    "target_lufs {} is out of range (-40 to 0)",
                    p.target_lufs
                )));
            }
            let date_ok = p.read_on.len() == 10
                && p.read_on.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            if !date_ok {
                return Err(bad(format!(
                    "read_on {:?} is not a date such as 2026-11-28",
                    p.read_on
                )));
            }
            if p.source.trim().is_empty() {
                return Err(bad("source must say where the target was read".into()));
            }
            platforms.push(PlatformTarget {
                name: p.name.clone(),
                target_lufs: p.target_lufs,
            });
        }
        Ok(MixTargets {
            platforms,
            true_peak_max_dbtp: raw.true_peak_max_dbtp,
        })
    }

    fn range(&self, table: &str, key: &str, value: u64, min: u64, max: u64) -> Result<u64, Error> {
        if value < min || value > max {
            return Err(self.invalid(table, key, format!("{value} is out of range ({min}-{max})")));
        }
        Ok(value)
    }
}

/// 1-based line of `key = …` inside `[table]`, to point the operator at the mistake.
fn find_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = name.trim().to_string();
            continue;
        }
        if current == table
            && let Some((k, _)) = t.split_once('=')
            && k.trim() == key
        {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Config, Error> {
        let raw = parse_raw(text, "t.toml")?;
        Config::from_raw(raw, text, "t.toml")
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = load_str("").unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.storage.data_dir, PathBuf::from("./tonearm-data"));
        assert_eq!(c.plans["default"], Plan::builtin_default());
        assert!(c.server.tls.is_none());
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e = load_str("[server]\nlisten = \"127.0.0.1:1\"\nlistn = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("listn"), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = load_str("[server]\nmax_connections = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_connections"), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn impossible_values_are_named_with_line() {
        let e = load_str("[server]\n\nlisten = \"127.0.0.1:99999\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.listen") && e.contains("line 3"), "{e}");
        let e = load_str("[server]\nidle_timeout = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.idle_timeout"), "{e}");
        let e = load_str("[plans.default]\nmax_keys = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("plans.default.max_keys") && e.contains("line 2"),
            "{e}"
        );
        let e = load_str("[server]\ntls_cert = \"a.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.tls_key"), "{e}");
    }

    #[test]
    fn plans_inherit_from_default_and_accept_unlimited() {
        let c = load_str(
            "[plans.default]\nrequests_per_minute = 100\n\n[plans.studio]\ncalls_per_month = 1000\ncredits_per_month = \"unlimited\"\napi_access = false\n",
        )
        .unwrap();
        assert_eq!(c.plans["default"].requests_per_minute, 100);
        let studio = &c.plans["studio"];
        assert_eq!(studio.requests_per_minute, 100);
        assert_eq!(studio.calls_per_month, Quota::Max(1000));
        assert_eq!(studio.credits_per_month, Quota::Unlimited);
        assert!(!studio.api_access);
        let e = load_str("[plans.x]\ncalls_per_month = \"lots\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("calls_per_month"), "{e}");
        let e = load_str("[plans.x]\nspeed = 1\n").unwrap_err().to_string();
        assert!(e.contains("speed"), "{e}");
        let e = load_str("[server]\ntrusted_proxies = [\"nope\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.trusted_proxies"), "{e}");
    }

    #[test]
    fn example_config_in_repo_is_valid_and_matches_defaults() {
        let text = include_str!("../../config/tonearm.toml");
        let c = load_str(text).unwrap();
        let d = load_str("").unwrap();
        assert_eq!(
            c.to_toml(),
            d.to_toml(),
            "config/tonearm.toml must show every default"
        );
    }
}
