//! Options for running tonearm in production: the metrics endpoint, the audit log's retention
//! and the public leak-report endpoint's limit. Raw (as written) and validated forms side by side.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Error, Validator};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMetrics {
    pub enabled: bool,
    pub listen: Option<String>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            enabled: true,
            listen: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAudit {
    pub keep_days: u64,
}

impl Default for RawAudit {
    fn default() -> Self {
        RawAudit { keep_days: 365 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLeaks {
    pub reports_per_minute: u64,
}

impl Default for RawLeaks {
    fn default() -> Self {
        RawLeaks {
            reports_per_minute: 10,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Record metrics at all; `GET /metrics` answers 404 when false.
    pub enabled: bool,
    /// A second, unauthenticated listener serving only `GET /metrics`.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Audit entries older than this are deleted.
    pub keep: Duration,
}

#[derive(Debug, Clone)]
pub struct LeaksConfig {
    /// Reports one client address may send per minute to `POST /api/v1/leaks`.
    pub reports_per_minute: u32,
}

pub(super) fn metrics(v: &Validator<'_>, raw: &RawMetrics) -> Result<MetricsConfig, Error> {
    let listen = match raw.listen.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
            v.invalid(
                "metrics",
                "listen",
                format!("{s:?} is not an address:port such as 127.0.0.1:9090"),
            )
        })?),
    };
    Ok(MetricsConfig {
        enabled: raw.enabled,
        listen,
    })
}

pub(super) fn audit(v: &Validator<'_>, raw: &RawAudit) -> Result<AuditConfig, Error> {
    let days = v.range("audit", "keep_days", raw.keep_days, 1, 36_500)?;
    Ok(AuditConfig {
        keep: Duration::from_secs(days * 86_400),
    })
}

pub(super) fn leaks(v: &Validator<'_>, raw: &RawLeaks) -> Result<LeaksConfig, Error> {
    let n = v.range(
        "leaks",
        "reports_per_minute",
        raw.reports_per_minute,
        1,
        100_000,
    )?;
    Ok(LeaksConfig {
        reports_per_minute: n as u32,
    })
}
