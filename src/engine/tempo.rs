//! Tempo, beats and metre.

use serde::{Deserialize, Serialize};

use super::features::Features;

/// The `tempo` section of the result document. A value that cannot be measured is `None` and
/// `reason` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoReport {
    pub bpm: Option<f64>,
    pub confidence: Option<f64>,
    pub time_signature: Option<String>,
    pub beats: Vec<f64>,
    pub reason: Option<String>,
}

pub fn analyze(_features: &Features) -> TempoReport {
    TempoReport {
        bpm: None,
        confidence: None,
        time_signature: None,
        beats: Vec::new(),
        reason: Some("tempo analysis unavailable".to_string()),
    }
}
