//! The result document: one schema for `tonearm analyze` and the API, serialised with serde to
//! JSON for people and to postcard for storage. No `skip_serializing_if`, `flatten` or untagged
//! enums, so both encodings round-trip.

use serde::{Deserialize, Serialize};

use super::form::StructureReport;
use super::harmony::CreateReport;
use super::harmony::key::KeyReport;
use super::loudness::LoudnessReport;
use super::reports::mix::MixReport;
use super::reports::release_kit::ReleaseKit;
use super::reports::stems::{METHOD as STEMS_METHOD, StemsReport};
use super::tags::mood::MoodReport;
use super::tags::{GenreReport, Tag, VocalsReport};
use super::tempo::TempoReport;
use super::waveform::Waveform;

/// Bumped whenever a field is added, changes meaning or is removed. 2: chords, progression and
/// suggested vocal key (`create_report`), sections (`structure`), downbeats, key alternatives.
/// 3: the peak envelope (`waveform`). 4: genre, mood, instruments, vocals, stems_report,
/// mix_report, release_kit.
pub const SCHEMA_VERSION: u32 = 4;

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
    /// The peak envelope, for drawing the timeline; `None` on results stored before schema 3.
    pub waveform: Option<Waveform>,
    pub genre: GenreReport,
    pub mood: MoodReport,
    /// Instruments the tagger hears, best first.
    pub instruments: Vec<Tag>,
    pub vocals: VocalsReport,
    pub stems_report: StemsReport,
    pub mix_report: MixReport,
    pub release_kit: ReleaseKit,
}

/// The sections added in schema 4, computed together.
#[derive(Debug, Clone, PartialEq)]
pub struct Sound {
    pub genre: GenreReport,
    pub mood: MoodReport,
    pub instruments: Vec<Tag>,
    pub vocals: VocalsReport,
    pub stems_report: StemsReport,
    pub mix_report: MixReport,
    pub release_kit: ReleaseKit,
}

impl Sound {
    /// Every schema-4 section null or empty with `reason` (results stored by older servers).
    pub fn unmeasured(reason: &str) -> Sound {
        Sound {
            genre: GenreReport {
                primary: None,
                top5: Vec::new(),
                low_confidence: false,
                method: String::new(),
                reason: Some(reason.to_string()),
            },
            mood: MoodReport::unmeasured(reason.to_string()),
            instruments: Vec::new(),
            vocals: VocalsReport {
                present: None,
                confidence: None,
            },
            stems_report: StemsReport {
                method: STEMS_METHOD.to_string(),
                stems: Vec::new(),
                reason: Some(reason.to_string()),
            },
            mix_report: MixReport::unmeasured(reason),
            release_kit: ReleaseKit {
                clips: Vec::new(),
                captions: None,
                hashtags: Vec::new(),
                reason: Some(reason.to_string()),
            },
        }
    }
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

impl Report {
    /// Decodes a stored (postcard) result: a current document, or one stored by an older server,
    /// upgraded: from schema 3 with empty or `null` genre, mood, instruments, vocals, stems,
    /// mix report and release kit whose `reason` asks for a new analysis; from schema 2 also
    /// with a `null` waveform; from schema 1 also with empty downbeats and key alternatives and
    /// `null` chords and sections. `schema_version` keeps the stored value on an upgraded
    /// document, so a client can tell. `None` when the bytes are none of these.
    pub fn from_stored(bytes: &[u8]) -> Option<Report> {
        // `schema_version` is the first field, a varint: its first byte tells the layouts apart.
        // Trying one layout and falling back would not do: postcard can read one layout's bytes
        // as the other's without an error.
        match bytes.first() {
            Some(1) => postcard::from_bytes::<v1::Report>(bytes)
                .ok()
                .map(v1::Report::upgrade),
            Some(2) => postcard::from_bytes::<v2::Report>(bytes)
                .ok()
                .map(v2::Report::upgrade),
            Some(3) => postcard::from_bytes::<v3::Report>(bytes)
                .ok()
                .map(v3::Report::upgrade),
            _ => postcard::from_bytes(bytes).ok(),
        }
    }
}

/// The schema-3 layout (schema 4 without the tagger's sections), kept to read results stored
/// before schema 4.
mod v3 {
    use serde::Deserialize;

    use super::{FileMeta, LoudnessReport, Sound, Waveform};
    use crate::engine::form::StructureReport;
    use crate::engine::harmony::CreateReport;
    use crate::engine::key::KeyReport;
    use crate::engine::tempo::TempoReport;

    pub const REASON: &str =
        "analysed with schema 3, before genre, mood and the mix report: analyse again";

    #[derive(Deserialize)]
    pub struct Report {
        schema_version: u32,
        file_meta: FileMeta,
        loudness: LoudnessReport,
        tempo: TempoReport,
        key: KeyReport,
        create_report: CreateReport,
        structure: StructureReport,
        waveform: Option<Waveform>,
    }

    impl Report {
        pub fn upgrade(self) -> super::Report {
            let s = Sound::unmeasured(REASON);
            super::Report {
                schema_version: self.schema_version,
                file_meta: self.file_meta,
                loudness: self.loudness,
                tempo: self.tempo,
                key: self.key,
                create_report: self.create_report,
                structure: self.structure,
                waveform: self.waveform,
                genre: s.genre,
                mood: s.mood,
                instruments: s.instruments,
                vocals: s.vocals,
                stems_report: s.stems_report,
                mix_report: s.mix_report,
                release_kit: s.release_kit,
            }
        }
    }
}

/// The schema-2 layout (schema 3 without the waveform), kept to read results stored before
/// schema 3.
mod v2 {
    use serde::Deserialize;

    use super::{FileMeta, LoudnessReport, Sound};
    use crate::engine::form::StructureReport;
    use crate::engine::harmony::CreateReport;
    use crate::engine::key::KeyReport;
    use crate::engine::tempo::TempoReport;

    pub const REASON: &str =
        "analysed with schema 2, before the waveform and genre, mood, mix report: analyse again";

    #[derive(Deserialize)]
    pub struct Report {
        schema_version: u32,
        file_meta: FileMeta,
        loudness: LoudnessReport,
        tempo: TempoReport,
        key: KeyReport,
        create_report: CreateReport,
        structure: StructureReport,
    }

    impl Report {
        pub fn upgrade(self) -> super::Report {
            let s = Sound::unmeasured(REASON);
            super::Report {
                schema_version: self.schema_version,
                file_meta: self.file_meta,
                loudness: self.loudness,
                tempo: self.tempo,
                key: self.key,
                create_report: self.create_report,
                structure: self.structure,
                waveform: None,
                genre: s.genre,
                mood: s.mood,
                instruments: s.instruments,
                vocals: s.vocals,
                stems_report: s.stems_report,
                mix_report: s.mix_report,
                release_kit: s.release_kit,
            }
        }
    }
}

/// The schema-1 layout, kept to read results stored before schema 2.
mod v1 {
    use serde::Deserialize;

    use super::{FileMeta, LoudnessReport, Sound};
    use crate::engine::form::StructureReport;
    use crate::engine::harmony::CreateReport;
    use crate::engine::key::KeyReport;
    use crate::engine::tempo::TempoReport;

    const REASON: &str = "analysed with schema 1, before chords and sections: analyse again";

    #[derive(Deserialize)]
    pub struct Report {
        schema_version: u32,
        file_meta: FileMeta,
        loudness: LoudnessReport,
        tempo: Tempo,
        key: Key,
    }

    #[derive(Deserialize)]
    struct Tempo {
        bpm: Option<f64>,
        confidence: Option<f64>,
        time_signature: Option<String>,
        beats: Vec<f64>,
        reason: Option<String>,
    }

    #[derive(Deserialize)]
    struct Key {
        name: Option<String>,
        tonic: Option<String>,
        mode: Option<String>,
        camelot: Option<String>,
        open_key: Option<String>,
        confidence: Option<f64>,
        reason: Option<String>,
    }

    impl Report {
        pub fn upgrade(self) -> super::Report {
            let t = self.tempo;
            let k = self.key;
            let s = Sound::unmeasured(REASON);
            super::Report {
                schema_version: self.schema_version,
                file_meta: self.file_meta,
                loudness: self.loudness,
                tempo: TempoReport {
                    bpm: t.bpm,
                    confidence: t.confidence,
                    time_signature: t.time_signature,
                    beats: t.beats,
                    downbeats: Vec::new(),
                    reason: t.reason,
                },
                key: KeyReport {
                    name: k.name,
                    tonic: k.tonic,
                    mode: k.mode,
                    camelot: k.camelot,
                    open_key: k.open_key,
                    confidence: k.confidence,
                    alternatives: Vec::new(),
                    reason: k.reason,
                },
                create_report: CreateReport::unmeasured(REASON),
                structure: StructureReport {
                    sections: None,
                    method: String::new(),
                    reason: Some(REASON.to_string()),
                },
                waveform: None,
                genre: s.genre,
                mood: s.mood,
                instruments: s.instruments,
                vocals: s.vocals,
                stems_report: s.stems_report,
                mix_report: s.mix_report,
                release_kit: s.release_kit,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::harmony::chords::ChordSegment;
    use crate::engine::harmony::key::KeyCandidate;
    use crate::engine::harmony::progression::Progression;

    fn sample() -> Report {
        let s = Sound::unmeasured("why");
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
            waveform: Some(Waveform {
                seconds_per_point: 1.5,
                peaks: vec![[-250, 500], [0, 0]],
            }),
            genre: s.genre,
            mood: s.mood,
            instruments: vec![Tag {
                label: "Piano".into(),
                confidence: 0.42,
            }],
            vocals: s.vocals,
            stems_report: s.stems_report,
            mix_report: s.mix_report,
            release_kit: s.release_kit,
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
    fn a_stored_schema_1_result_still_decodes() {
        // The schema-1 document, encoded field by field as postcard lays it out.
        #[derive(Serialize)]
        struct TempoV1 {
            bpm: Option<f64>,
            confidence: Option<f64>,
            time_signature: Option<String>,
            beats: Vec<f64>,
            reason: Option<String>,
        }
        #[derive(Serialize)]
        struct KeyV1 {
            name: Option<String>,
            tonic: Option<String>,
            mode: Option<String>,
            camelot: Option<String>,
            open_key: Option<String>,
            confidence: Option<f64>,
            reason: Option<String>,
        }
        #[derive(Serialize)]
        struct ReportV1 {
            schema_version: u32,
            file_meta: FileMeta,
            loudness: LoudnessReport,
            tempo: TempoV1,
            key: KeyV1,
        }
        let now = sample();
        let old = ReportV1 {
            schema_version: 1,
            file_meta: now.file_meta.clone(),
            loudness: now.loudness.clone(),
            tempo: TempoV1 {
                bpm: Some(128.0),
                confidence: Some(0.9),
                time_signature: Some("4/4".into()),
                beats: vec![0.5, 0.97],
                reason: None,
            },
            key: KeyV1 {
                name: Some("A minor".into()),
                tonic: Some("A".into()),
                mode: Some("minor".into()),
                camelot: Some("8A".into()),
                open_key: Some("1m".into()),
                confidence: Some(0.5),
                reason: None,
            },
        };
        let bytes = postcard::to_stdvec(&old).unwrap();
        let r = Report::from_stored(&bytes).expect("a schema-1 result decodes");
        assert_eq!(r.schema_version, 1);
        assert_eq!(r.file_meta, now.file_meta);
        assert_eq!(r.tempo.bpm, Some(128.0));
        assert!(r.tempo.downbeats.is_empty());
        assert_eq!(r.key.name.as_deref(), Some("A minor"));
        assert!(r.create_report.chords.is_none());
        assert!(r.structure.reason.is_some_and(|s| s.contains("schema 1")));
        assert!(r.waveform.is_none());
        // Current documents decode as themselves; garbage does not decode.
        let bytes = postcard::to_stdvec(&now).unwrap();
        assert_eq!(Report::from_stored(&bytes), Some(now));
        assert_eq!(Report::from_stored(&[0xff; 3]), None);
    }

    #[test]
    fn a_stored_schema_2_result_still_decodes_without_a_waveform() {
        // The schema-2 document: schema 3 without the waveform, as postcard lays it out.
        #[derive(Serialize)]
        struct ReportV2 {
            schema_version: u32,
            file_meta: FileMeta,
            loudness: LoudnessReport,
            tempo: TempoReport,
            key: KeyReport,
            create_report: CreateReport,
            structure: StructureReport,
        }
        let now = sample();
        let old = ReportV2 {
            schema_version: 2,
            file_meta: now.file_meta.clone(),
            loudness: now.loudness.clone(),
            tempo: now.tempo.clone(),
            key: now.key.clone(),
            create_report: now.create_report.clone(),
            structure: now.structure.clone(),
        };
        let bytes = postcard::to_stdvec(&old).unwrap();
        let r = Report::from_stored(&bytes).expect("a schema-2 result decodes");
        let s = Sound::unmeasured(v2::REASON);
        assert_eq!(
            r,
            Report {
                schema_version: 2,
                waveform: None,
                genre: s.genre,
                mood: s.mood,
                instruments: s.instruments,
                vocals: s.vocals,
                stems_report: s.stems_report,
                mix_report: s.mix_report,
                release_kit: s.release_kit,
                ..now.clone()
            }
        );
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"waveform\":null"), "{text}");
        assert!(r.genre.reason.is_some_and(|s| s.contains("schema 2")));
        // A current document is not misread as schema 2, nor the other way round.
        let bytes = postcard::to_stdvec(&now).unwrap();
        assert_eq!(Report::from_stored(&bytes), Some(now));
    }

    #[test]
    fn a_stored_schema_3_result_still_decodes_with_its_waveform() {
        // The schema-3 document: schema 4 without genre, mood, instruments, vocals, stems, mix
        // report and release kit, as postcard lays it out.
        #[derive(Serialize)]
        struct ReportV3 {
            schema_version: u32,
            file_meta: FileMeta,
            loudness: LoudnessReport,
            tempo: TempoReport,
            key: KeyReport,
            create_report: CreateReport,
            structure: StructureReport,
            waveform: Option<Waveform>,
        }
        let now = sample();
        let old = ReportV3 {
            schema_version: 3,
            file_meta: now.file_meta.clone(),
            loudness: now.loudness.clone(),
            tempo: now.tempo.clone(),
            key: now.key.clone(),
            create_report: now.create_report.clone(),
            structure: now.structure.clone(),
            waveform: now.waveform.clone(),
        };
        let bytes = postcard::to_stdvec(&old).unwrap();
        let r = Report::from_stored(&bytes).expect("a schema-3 result decodes");
        assert_eq!(r.schema_version, 3);
        assert_eq!(r.waveform, now.waveform, "the stored waveform is kept");
        assert_eq!(r.tempo, now.tempo);
        assert_eq!(r.structure, now.structure);
        assert!(r.genre.primary.is_none());
        assert!(
            r.genre
                .reason
                .as_deref()
                .is_some_and(|s| s.contains("schema 3"))
        );
        assert!(r.mood.reason.is_some());
        assert!(r.instruments.is_empty());
        assert!(r.stems_report.stems.is_empty() && r.stems_report.reason.is_some());
        assert!(r.mix_report.checks.is_empty() && r.mix_report.reason.is_some());
        assert!(r.release_kit.clips.is_empty());
        // The current layout is not misread as schema 3.
        let bytes = postcard::to_stdvec(&now).unwrap();
        assert_eq!(Report::from_stored(&bytes), Some(now));
    }

    #[test]
    fn report_round_trips_through_postcard() {
        let r = sample();
        let bytes = postcard::to_stdvec(&r).unwrap();
        let back: Report = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, r);
    }
}
