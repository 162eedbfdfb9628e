//! The result document: one schema for `tonearm analyze` and the API, serialised with serde to
//! JSON for people and to postcard for storage. No `skip_serializing_if`, `flatten` or untagged
//! enums, so both encodings round-trip.

use serde::{Deserialize, Serialize};

use super::form::StructureReport;
use super::harmony::CreateReport;
use super::harmony::key::KeyReport;
use super::loudness::LoudnessReport;
use super::tempo::TempoReport;

/// Bumped whenever a field is added, changes meaning or is removed. 2: chords, progression and
/// suggested vocal key (`create_report`), sections (`structure`), downbeats, key alternatives.
pub const SCHEMA_VERSION: u32 = 2;

/// Everything tonearm says about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub file_meta: FileMeta,
    pub loudness: LoudnessReport,
    pub tempo: TempoReport,
    pub key: KeyReport,
    pub create_report: CreateReport,
    pub structure: StructureReport,
}

/// The file and stream as decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMeta {
    /// The name shown to the user (the upload's original name, not where it is stored).
    pub filename: String,
    /// Container: "wav", "aiff", "flac", "mp3", "ogg", "mp4", …
    pub format: String,
    /// Codec as symphonia names it ("pcm_s16le", "flac", "mp3", "vorbis", "aac", "alac") or "opus".
    pub codec: String,
    /// Decoded length after encoder delay and padding are removed.
    pub duration_sec: f64,
    pub sample_rate_hz: u32,
    pub channels: u32,
    /// Bits per sample of lossless formats; `None` for lossy codecs.
    pub bit_depth: Option<u32>,
    /// Average over the whole file (size / duration), container overhead included.
    pub bitrate_kbps: Option<f64>,
    pub size_bytes: u64,
    /// BLAKE3 of the file's bytes, hex.
    pub blake3: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::harmony::chords::ChordSegment;
    use crate::engine::harmony::key::KeyCandidate;
    use crate::engine::harmony::progression::Progression;

    fn sample() -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            file_meta: FileMeta {
                filename: "take 3.flac".into(),
                format: "flac".into(),
                codec: "flac".into(),
                duration_sec: 183.25,
                sample_rate_hz: 48_000,
                channels: 2,
                bit_depth: Some(24),
                bitrate_kbps: None,
                size_bytes: 12_345_678,
                blake3: "ab".repeat(32),
            },
            loudness: LoudnessReport {
                integrated_lufs: Some(-14.2),
                loudness_range_lu: Some(6.1),
                true_peak_dbtp: Some(-0.8),
                sample_peak_dbfs: Some(-1.0),
                momentary_max_lufs: Some(-9.5),
                short_term_max_lufs: None,
                reason: Some("why".into()),
            },
            tempo: TempoReport {
                bpm: Some(128.0),
                confidence: Some(0.9),
                time_signature: Some("4/4".into()),
                beats: vec![0.5, 0.97, 1.44],
                downbeats: vec![0.5],
                reason: None,
            },
            key: KeyReport {
                name: Some("A minor".into()),
                tonic: Some("A".into()),
                mode: Some("minor".into()),
                camelot: Some("8A".into()),
                open_key: Some("1m".into()),
                confidence: Some(0.8),
                alternatives: vec![KeyCandidate {
                    name: "C major".into(),
                    score: 0.15,
                }],
                reason: None,
            },
            create_report: CreateReport {
                chords: Some(vec![ChordSegment {
                    start: 0.0,
                    end: 1.44,
                    label: "A:min".into(),
                    name: "Am".into(),
                }]),
                progression: Some(Progression {
                    roman: "i–VI–III–VII".into(),
                    names: "Am–F–C–G".into(),
                }),
                suggested_vocal_key: Some("A minor".into()),
                reason: None,
            },
            structure: StructureReport {
                sections: None,
                method: "novelty".into(),
                reason: Some("audio too short for sections (needs at least 20 s)".into()),
            },
        }
    }

    #[test]
    fn report_round_trips_through_json() {
        let r = sample();
        let text = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        assert!(text.contains("\"short_term_max_lufs\":null"));
    }

    #[test]
    fn report_round_trips_through_postcard() {
        let r = sample();
        let bytes = postcard::to_stdvec(&r).unwrap();
        let back: Report = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, r);
    }
}
