//! The TOML file as written: a serde mirror with `deny_unknown_fields` and a default for every
//! option. Validation into typed values happens in `config::Config::from_raw`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub server: RawServer,
    pub storage: RawStorage,
    pub analysis: RawAnalysis,
    pub log: RawLog,
    pub webhooks: RawWebhooks,
    pub metrics: super::ops::RawMetrics,
    pub audit: super::ops::RawAudit,
    pub leaks: super::ops::RawLeaks,
    pub library: super::library::RawLibrary,
    pub plans: BTreeMap<String, RawPlan>,
    pub mix: RawMix,
}

/// `[mix]`: the mix report's platform loudness targets, each with where and when it was read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMix {
    pub true_peak_max_dbtp: f64,
    pub platforms: Vec<RawPlatform>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlatform {
    pub name: String,
    pub target_lufs: f64,
    /// When the target was read (YYYY-MM-DD): platform policies change.
    pub read_on: String,
    pub source: String,
}

impl Default for RawMix {
    fn default() -> Self {
        let p = |name: &str, target_lufs: f64, source: &str| RawPlatform {
            name: name.into(),
            target_lufs,
            read_on: "2026-11-28".into(),
            source: source.into(),
        };
        let table =
            "platform loudness tables of production-expert.com, andres.audio and velveteen.fm";
        RawMix {
            true_peak_max_dbtp: -1.0,
            platforms: vec![
                p(
                    "Spotify",
                    -14.0,
                    "Spotify's loudness guidance as quoted by Softube and PreSonus",
                ),
                p("YouTube", -14.0, table),
                p("Tidal", -14.0, table),
                p("Deezer", -15.0, table),
                p(
                    "Apple Music",
                    -16.0,
                    "Sound Check level per the same tables; AES TD1008 recommends -16 LUFS",
                ),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawWebhooks {
    pub retry_schedule: Vec<String>,
    pub allow_private: bool,
    pub allow_cidrs: Vec<String>,
    pub deny_cidrs: Vec<String>,
    pub ca_file: Option<String>,
    pub connect_timeout: String,
    pub timeout: String,
    pub max_in_flight: u64,
    pub max_in_flight_per_host: u64,
}

impl Default for RawWebhooks {
    fn default() -> Self {
        RawWebhooks {
            retry_schedule: ["0s", "5s", "5m", "30m", "2h", "5h", "10h", "10h"]
                .into_iter()
                .map(String::from)
                .collect(),
            allow_private: true,
            allow_cidrs: Vec::new(),
            deny_cidrs: Vec::new(),
            ca_file: None,
            connect_timeout: "5s".into(),
            timeout: "15s".into(),
            max_in_flight: 64,
            max_in_flight_per_host: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawServer {
    pub listen: String,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub shutdown_grace: String,
    pub header_read_timeout: String,
    pub idle_timeout: String,
    pub max_header_bytes: u64,
    pub max_headers: u64,
    pub max_json_body_kb: u64,
    pub max_connections: u64,
    pub body_idle_timeout: String,
    pub body_min_bytes_per_sec: u64,
    pub auth_failures_per_minute: u64,
    pub trusted_proxies: Vec<String>,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8080".into(),
            tls_cert: None,
            tls_key: None,
            shutdown_grace: "30s".into(),
            header_read_timeout: "10s".into(),
            idle_timeout: "120s".into(),
            max_header_bytes: 16 * 1024,
            max_headers: 256,
            max_json_body_kb: 64,
            max_connections: 1024,
            body_idle_timeout: "30s".into(),
            body_min_bytes_per_sec: 1024,
            auth_failures_per_minute: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawStorage {
    pub data_dir: String,
    pub keep_uploads: bool,
    pub keep_results_days: u64,
    pub min_free_mb: u64,
}

impl Default for RawStorage {
    fn default() -> Self {
        RawStorage {
            data_dir: "./tonearm-data".into(),
            keep_uploads: false,
            keep_results_days: 30,
            min_free_mb: 512,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAnalysis {
    pub max_upload_mb: u64,
    /// 0 = one per CPU core.
    pub workers: u64,
    pub max_queued: u64,
    pub max_uploads_per_key: u64,
    pub max_uploads_per_account: u64,
    pub max_duration: String,
}

impl Default for RawAnalysis {
    fn default() -> Self {
        RawAnalysis {
            max_upload_mb: 1024,
            workers: 0,
            max_queued: 100,
            max_uploads_per_key: 4,
            max_uploads_per_account: 16,
            max_duration: "30m".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLog {
    pub level: String,
    pub format: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// One `[plans.NAME]` table. Absent fields take the built-in `default` plan's values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawPlan {
    pub api_access: Option<bool>,
    pub requests_per_minute: Option<u64>,
    pub calls_per_month: Option<Quota>,
    pub credits_per_month: Option<Quota>,
    pub max_upload_mb: Option<u64>,
    pub max_keys: Option<u64>,
}

/// A count or `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Unlimited,
    Max(u64),
}

impl Serialize for Quota {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Quota::Unlimited => s.serialize_str("unlimited"),
            Quota::Max(n) => s.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for Quota {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Quota, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quota;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or \"unlimited\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quota, E> {
                u64::try_from(v)
                    .map(Quota::Max)
                    .map_err(|_| E::custom("must not be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quota, E> {
                Ok(Quota::Max(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quota, E> {
                if v == "unlimited" {
                    Ok(Quota::Unlimited)
                } else {
                    Err(E::custom(format!("{v:?} is not a number or \"unlimited\"")))
                }
            }
        }
        d.deserialize_any(V)
    }
}
