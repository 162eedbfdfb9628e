//! Musical key: a tuning-corrected pitch-class profile of the whole file, matched against major
//! and minor key templates, reported with its Camelot and Open Key codes.

use serde::{Deserialize, Serialize};

use super::features::Features;

/// Shortest audio (seconds) from which a key is reported.
const MIN_KEY_SEC: f64 = 2.0;

/// Key profiles of Albrecht & Shanahan (2013), pitch-class distributions counted in a corpus of
/// major- and minor-mode pieces; index 0 = tonic.
const MAJOR_PROFILE: [f32; 12] = [
    0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081,
];
const MINOR_PROFILE: [f32; 12] = [
    0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052,
];

/// Tonic spellings: sharps, except the flat keys that are common in practice.
const TONIC_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

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

impl KeyReport {
    fn unmeasured(reason: &str) -> KeyReport {
        KeyReport {
            name: None,
            tonic: None,
            mode: None,
            camelot: None,
            open_key: None,
            confidence: None,
            reason: Some(reason.to_string()),
        }
    }
}

/// Major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Major,
    Minor,
}

/// A key as pitch class of the tonic (C = 0) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub tonic: usize,
    pub mode: Mode,
}

impl Key {
    pub fn tonic_name(self) -> &'static str {
        TONIC_NAMES[self.tonic % 12]
    }

    pub fn mode_name(self) -> &'static str {
        match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
        }
    }

    /// Position on the circle of fifths (1..=12) shared by the Camelot and Open Key wheels,
    /// counted from the relative major.
    fn fifths_position(self) -> usize {
        let major_tonic = match self.mode {
            Mode::Major => self.tonic,
            Mode::Minor => (self.tonic + 3) % 12,
        };
        (7 * major_tonic) % 12
    }

    /// Camelot code: C major = 8B, A minor = 8A.
    pub fn camelot(self) -> String {
        let number = (self.fifths_position() + 7) % 12 + 1;
        let letter = match self.mode {
            Mode::Major => 'B',
            Mode::Minor => 'A',
        };
        format!("{number}{letter}")
    }

    /// Open Key code: C major = 1d, A minor = 1m.
    pub fn open_key(self) -> String {
        let number = self.fifths_position() + 1;
        let letter = match self.mode {
            Mode::Major => 'd',
            Mode::Minor => 'm',
        };
        format!("{number}{letter}")
    }
}

/// The key of the whole file. Silence, audio under 2 s or no pitched content give `None` values
/// and a `reason`.
pub fn analyze(features: &Features) -> KeyReport {
    if features.is_silent() {
        return KeyReport::unmeasured("silence: no signal above -80 dBFS");
    }
    if features.duration_sec < MIN_KEY_SEC || features.chroma.is_empty() {
        return KeyReport::unmeasured("audio too short for a key (needs at least 2 s)");
    }
    let Some(profile) = pitch_class_profile(features) else {
        return KeyReport::unmeasured("no pitched content found");
    };
    let scores = key_scores(&profile);
    let mut order: Vec<usize> = (0..24).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let best = order[0];
    let key = Key {
        tonic: best % 12,
        mode: if best < 12 { Mode::Major } else { Mode::Minor },
    };
    let margin = f64::from(scores[best] - scores[order[1]]);
    let confidence = (f64::from(scores[best]).max(0.0) * (margin * 10.0).min(1.0)).clamp(0.0, 1.0);
    KeyReport {
        name: Some(format!("{} {}", key.tonic_name(), key.mode_name())),
        tonic: Some(key.tonic_name().to_string()),
        mode: Some(key.mode_name().to_string()),
        camelot: Some(key.camelot()),
        open_key: Some(key.open_key()),
        confidence: Some((confidence * 100.0).round() / 100.0),
        reason: None,
    }
}

/// The file's pitch-class profile: each frame normalised to its maximum, then summed, so that
/// quiet passages count as much as loud ones (as in Essentia's key extractor).
fn pitch_class_profile(features: &Features) -> Option<[f32; 12]> {
    let mut total = [0.0f32; 12];
    let mut any = false;
    for frame in &features.chroma {
        let max = frame.iter().fold(0.0f32, |m, &v| m.max(v));
        if max <= 1.0e-9 {
            continue;
        }
        any = true;
        for (t, &v) in total.iter_mut().zip(frame) {
            *t += v / max;
        }
    }
    any.then_some(total)
}

/// Pearson correlation of the profile with each key template: 0..12 major, 12..24 minor.
fn key_scores(profile: &[f32; 12]) -> [f32; 24] {
    let mut scores = [0.0f32; 24];
    for tonic in 0..12 {
        for (m, template) in [MAJOR_PROFILE, MINOR_PROFILE].iter().enumerate() {
            let rotated: [f32; 12] = std::array::from_fn(|pc| template[(pc + 12 - tonic) % 12]);
            scores[m * 12 + tonic] = correlation(profile, &rotated);
        }
    }
    scores
}

fn correlation(a: &[f32; 12], b: &[f32; 12]) -> f32 {
    let ma = a.iter().sum::<f32>() / 12.0;
    let mb = b.iter().sum::<f32>() / 12.0;
    let (mut num, mut da, mut db) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..12 {
        let x = a[i] - ma;
        let y = b[i] - mb;
        num += x * y;
        da += x * x;
        db += y * y;
    }
    if da <= 0.0 || db <= 0.0 {
        return 0.0;
    }
    num / (da * db).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::features::synth;

    fn key_of(signal: &[f32], rate: u32) -> KeyReport {
        analyze(&Features::compute(signal, rate))
    }

    #[test]
    fn major_progression_is_found() {
        // I–vi–IV–V–I in G major.
        let chords: [&[i32]; 5] = [
            &[55, 59, 62],
            &[52, 55, 59],
            &[48, 52, 55],
            &[50, 54, 57],
            &[55, 59, 62],
        ];
        let report = key_of(&synth::progression(&chords, 1.0, 15.0, 44_100), 44_100);
        assert_eq!(report.name.as_deref(), Some("G major"), "{report:?}");
        assert_eq!(report.camelot.as_deref(), Some("9B"));
        assert_eq!(report.open_key.as_deref(), Some("2d"));
        assert!(report.confidence.is_some_and(|c| (0.0..=1.0).contains(&c)));
    }

    #[test]
    fn minor_progression_is_found() {
        // i–iv–V–i in D minor, with the harmonic-minor dominant (A major).
        let chords: [&[i32]; 4] = [&[50, 53, 57], &[55, 58, 62], &[57, 61, 64], &[50, 53, 57]];
        let report = key_of(&synth::progression(&chords, 1.0, 15.0, 48_000), 48_000);
        assert_eq!(report.name.as_deref(), Some("D minor"), "{report:?}");
        assert_eq!(report.tonic.as_deref(), Some("D"));
        assert_eq!(report.mode.as_deref(), Some("minor"));
        assert_eq!(report.camelot.as_deref(), Some("7A"));
        assert_eq!(report.open_key.as_deref(), Some("12m"));
    }

    #[test]
    fn extreme_sample_rates_work() {
        let chords: [&[i32]; 4] = [&[60, 64, 67], &[65, 69, 72], &[67, 71, 74], &[60, 64, 67]];
        for rate in [8_000u32, 192_000] {
            let report = key_of(&synth::progression(&chords, 1.0, 8.0, rate), rate);
            assert_eq!(
                report.name.as_deref(),
                Some("C major"),
                "{rate} Hz: {report:?}"
            );
        }
    }

    #[test]
    fn silence_gives_no_key_and_a_reason() {
        let report = key_of(&vec![0.0; 44_100 * 5], 44_100);
        assert_eq!(report.name, None);
        assert_eq!(report.camelot, None);
        assert!(report.reason.is_some_and(|r| r.contains("silence")));
    }

    #[test]
    fn short_audio_gives_no_key_and_a_reason() {
        let chords: [&[i32]; 1] = [&[60, 64, 67]];
        let report = key_of(&synth::progression(&chords, 1.0, 1.0, 44_100), 44_100);
        assert_eq!(report.name, None);
        assert!(report.reason.is_some_and(|r| r.contains("too short")));
    }

    #[test]
    fn camelot_and_open_key_cover_all_24_keys() {
        // (tonic pitch class, mode, Camelot, Open Key), from the published wheels.
        let table: [(usize, Mode, &str, &str); 24] = [
            (0, Mode::Major, "8B", "1d"),
            (7, Mode::Major, "9B", "2d"),
            (2, Mode::Major, "10B", "3d"),
            (9, Mode::Major, "11B", "4d"),
            (4, Mode::Major, "12B", "5d"),
            (11, Mode::Major, "1B", "6d"),
            (6, Mode::Major, "2B", "7d"),
            (1, Mode::Major, "3B", "8d"),
            (8, Mode::Major, "4B", "9d"),
            (3, Mode::Major, "5B", "10d"),
            (10, Mode::Major, "6B", "11d"),
            (5, Mode::Major, "7B", "12d"),
            (9, Mode::Minor, "8A", "1m"),
            (4, Mode::Minor, "9A", "2m"),
            (11, Mode::Minor, "10A", "3m"),
            (6, Mode::Minor, "11A", "4m"),
            (1, Mode::Minor, "12A", "5m"),
            (8, Mode::Minor, "1A", "6m"),
            (3, Mode::Minor, "2A", "7m"),
            (10, Mode::Minor, "3A", "8m"),
            (5, Mode::Minor, "4A", "9m"),
            (0, Mode::Minor, "5A", "10m"),
            (7, Mode::Minor, "6A", "11m"),
            (2, Mode::Minor, "7A", "12m"),
        ];
        for (tonic, mode, camelot, open_key) in table {
            let key = Key { tonic, mode };
            assert_eq!(
                key.camelot(),
                camelot,
                "{} {}",
                key.tonic_name(),
                key.mode_name()
            );
            assert_eq!(
                key.open_key(),
                open_key,
                "{} {}",
                key.tonic_name(),
                key.mode_name()
            );
        }
    }

    #[test]
    fn tonic_names_use_common_flat_spellings() {
        let names: Vec<&str> = (0..12)
            .map(|tonic| {
                Key {
                    tonic,
                    mode: Mode::Major,
                }
                .tonic_name()
            })
            .collect();
        assert_eq!(
            names,
            [
                "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"
            ]
        );
    }
}
