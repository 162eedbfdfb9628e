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
