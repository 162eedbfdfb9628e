//! Musical key.

use serde::{Deserialize, Serialize};

use super::features::Features;

/// The `key` section of the result document. A value that cannot be measured is `None` and
/// `reason` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyReport {
    /// "C minor", "F# major".
    pub name: Option<String>,
    pub tonic: Option<String>,
    /// "major" or "minor".
    pub mode: Option<String>,
    /// Camelot wheel code, e.g. "5A".
    pub camelot: Option<String>,
    /// Open Key notation, e.g. "1m".
    pub open_key: Option<String>,
    pub confidence: Option<f64>,
    pub reason: Option<String>,
}

pub fn analyze(_features: &Features) -> KeyReport {
    KeyReport {
        name: None,
        tonic: None,
        mode: None,
        camelot: None,
        open_key: None,
        confidence: None,
        reason: Some("key analysis unavailable".to_string()),
    }
}
