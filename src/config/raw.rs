//! The TOML file as written: a serde mirror with `deny_unknown_fields` and a default for every
//! option. Validation into typed values happens in `config::Config::from_raw`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub server: RawServer,
    pub storage: RawStorage,
    pub log: RawLog,
    pub keys: RawKeys,
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
    pub max_json_body_kb: u64,
    pub max_connections: u64,
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
            max_json_body_kb: 64,
            max_connections: 1024,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawStorage {
    pub data_dir: String,
}

impl Default for RawStorage {
    fn default() -> Self {
        RawStorage {
            data_dir: "./tonearm-data".into(),
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawKeys {
    pub max_active_per_account: u64,
}

impl Default for RawKeys {
    fn default() -> Self {
        RawKeys {
            max_active_per_account: 5,
        }
    }
}
