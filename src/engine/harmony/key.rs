//! Musical key: a tuning-corrected pitch-class profile of the whole file matched against major
//! and minor key templates, with the recognised chords deciding between keys that share their
//! notes (a relative major and minor); reported with its Camelot and Open Key codes.

use serde::{Deserialize, Serialize};

use super::chords::{Quality, Span};
pub use super::spelling::{Key, Mode};
use crate::engine::features::Features;

/// Shortest audio (seconds) from which a key is reported.
const MIN_KEY_SEC: f64 = 2.0;
/// A key needs harmony: at least this many pitch classes heard. A sine, a drone or a click
/// lights one (two where it falls between semitones); every piece of music in the public corpus
/// lights four or more.
const MIN_PITCH_CLASSES: usize = 3;
/// A pitch class is heard when its weight in the profile reaches this share of the strongest.
const HEARD_SHARE: f32 = 0.25;

/// Key profiles of Albrecht & Shanahan (2013), pitch-class distributions counted in a corpus of
/// major- and minor-mode pieces; index 0 = tonic.
const MAJOR_PROFILE: [f32; 12] = [
    0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081,
];
const MINOR_PROFILE: [f32; 12] = [
    0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052,
];

/// Weight of the chord evidence against the pitch-class profile's correlation (-1..1).
const CHORD_WEIGHT: f32 = 0.7;
/// Extra chord evidence when the first chord is the key's tonic chord: pieces and loops
/// start at home far more often than on the relative key's tonic.
const FIRST_CHORD_BONUS: f32 = 0.6;
/// The same for the last chord (the final cadence).
const LAST_CHORD_BONUS: f32 = 0.15;
/// Weight of authentic cadences (a major or dominant-seventh chord resolving a fifth down):
/// the share of chord changes that resolve onto a key's tonic chord, times this.
const CADENCE_WEIGHT: f32 = 0.5;
/// Chords shorter than this (seconds) do not count as the first or last chord.
const MIN_CADENCE_CHORD_SEC: f64 = 0.5;
/// Temperature of the softmax that turns key scores into probabilities.
const SCORE_TEMPERATURE: f32 = 0.05;

/// A candidate key with its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyCandidate {
    pub name: String,
    /// Probability of this key among the 24 (0..1).
    pub score: f64,
}

/// The `key` section of the result document. A value that cannot be measured is `None` and
/// `reason` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyReport {
    /// "C minor", "Db major", "G# minor": spelled with the conventional signature.
    pub name: Option<String>,
    pub tonic: Option<String>,
    /// "major" or "minor".
    pub mode: Option<String>,
    /// Camelot wheel code, e.g. "5A".
    pub camelot: Option<String>,
    /// Open Key notation, e.g. "1m".
    pub open_key: Option<String>,
    /// Probability (0..1) that `name` is right.
    pub confidence: Option<f64>,
    /// The next two candidates, most likely first.
    pub alternatives: Vec<KeyCandidate>,
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
            alternatives: Vec::new(),
            reason: Some(reason.to_string()),
        }
    }
}

/// The key of the whole file from its pitch-class profile and its chords. Silence, audio under
/// 2 s or no pitched content give `None` values and a `reason`.
pub fn analyze(features: &Features, chords: &[Span]) -> (KeyReport, Option<Key>) {
    if features.is_silent() {
        return (
            KeyReport::unmeasured("silence: no signal above -80 dBFS"),
            None,
        );
    }
    if features.duration_sec < MIN_KEY_SEC || features.chroma.is_empty() {
        return (
            KeyReport::unmeasured("audio too short for a key (needs at least 2 s)"),
            None,
        );
    }
    let Some(profile) = pitch_class_profile(features) else {
        return (KeyReport::unmeasured("no pitched content found"), None);
    };
    if pitch_classes_heard(&profile) < MIN_PITCH_CLASSES {
        return (
            KeyReport::unmeasured(
                "fewer than three pitch classes heard: a single tone, a drone or a click has no key",
            ),
            None,
        );
    }
    let mut scores = key_scores(&profile);
    let evidence = chord_evidence(chords);
    for (s, e) in scores.iter_mut().zip(&evidence) {
        *s += CHORD_WEIGHT * e;
    }
    let probs = softmax(&scores);
    let mut order: Vec<usize> = (0..24).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    let key = key_of_index(order[0]);
    let round = |p: f32| (f64::from(p) * 100.0).round() / 100.0;
    let alternatives = order[1..3]
        .iter()
        .map(|&i| KeyCandidate {
            name: key_of_index(i).name(),
            score: round(probs[i]),
        })
        .collect();
    let report = KeyReport {
        name: Some(key.name()),
        tonic: Some(key.tonic_name().to_string()),
        mode: Some(key.mode_name().to_string()),
        camelot: Some(key.camelot()),
        open_key: Some(key.open_key()),
        confidence: Some(round(probs[order[0]])),
        alternatives,
        reason: None,
    };
    (report, Some(key))
}

/// Index 0..12 = major keys on C..B, 12..24 = minor keys.
fn key_of_index(i: usize) -> Key {
    Key {
        tonic: i % 12,
        mode: if i < 12 { Mode::Major } else { Mode::Minor },
    }
}

fn softmax(scores: &[f32; 24]) -> [f32; 24] {
    let max = scores.iter().fold(f32::MIN, |m, &v| m.max(v));
    let e: [f32; 24] = std::array::from_fn(|i| ((scores[i] - max) / SCORE_TEMPERATURE).exp());
    let sum: f32 = e.iter().sum();
    std::array::from_fn(|i| e[i] / sum)
}

/// How well a chord of `quality` on the root `interval` semitones above the tonic fits the
/// key's harmony (1 = tonic chord; negative = foreign to the key).
fn chord_fit(interval: usize, minor_chord: bool, mode: Mode) -> f32 {
    match (mode, interval, minor_chord) {
        (Mode::Major, 0, false) | (Mode::Minor, 0, true) => 1.0,
        // Dominant and subdominant.
        (Mode::Major, 7, false) | (Mode::Minor, 7, false) => 0.7,
        (Mode::Major, 5, false) | (Mode::Minor, 5, true) => 0.6,
        (Mode::Minor, 7, true) => 0.4,
        // The other diatonic chords.
        (Mode::Major, 2, true) | (Mode::Major, 9, true) => 0.4,
        (Mode::Major, 4, true) => 0.3,
        (Mode::Minor, 3, false) => 0.4,
        (Mode::Minor, 8, false) | (Mode::Minor, 10, false) => 0.45,
        // Common borrowings: bVII in major, IV in minor (Dorian).
        (Mode::Major, 10, false) | (Mode::Minor, 5, false) => 0.1,
        (Mode::Major, 2, false) | (Mode::Major, 4, false) | (Mode::Minor, 2, true) => 0.0,
        _ => -0.3,
    }
}

/// Chord evidence for each of the 24 keys: the duration-weighted fit of the chords, plus the
/// first and last chords landing on the tonic.
fn chord_evidence(chords: &[Span]) -> [f32; 24] {
    let mut out = [0.0f32; 24];
    let sounding: Vec<(f64, usize, bool)> = chords
        .iter()
        .filter_map(|s| {
            s.chord.map(|c| {
                (
                    s.end - s.start,
                    c.root,
                    matches!(c.quality, Quality::Minor | Quality::Minor7),
                )
            })
        })
        .collect();
    let total: f64 = sounding.iter().map(|s| s.0).sum();
    if total <= 0.0 {
        return out;
    }
    // Authentic cadences: V or V7 going to the chord a fifth below, counted for that chord's key.
    let mut cadences = [0.0f32; 24];
    let mut changes = 0usize;
    for pair in chords.windows(2) {
        let (Some(a), Some(b)) = (pair[0].chord, pair[1].chord) else {
            continue;
        };
        changes += 1;
        if b.root == (a.root + 5) % 12 {
            let strength = match a.quality {
                Quality::Dominant7 => 1.0,
                Quality::Major => 0.5,
                _ => 0.0,
            };
            let minor = matches!(b.quality, Quality::Minor | Quality::Minor7);
            cadences[b.root + if minor { 12 } else { 0 }] += strength;
        }
    }
    let first = sounding.iter().find(|s| s.0 >= MIN_CADENCE_CHORD_SEC);
    let last = sounding.iter().rev().find(|s| s.0 >= MIN_CADENCE_CHORD_SEC);
    for (i, slot) in out.iter_mut().enumerate() {
        let key = key_of_index(i);
        let is_tonic = |&(_, root, minor): &(f64, usize, bool)| {
            root == key.tonic && minor == (key.mode == Mode::Minor)
        };
        let mut fit = 0.0f64;
        for &(d, root, minor) in &sounding {
            let interval = (root + 12 - key.tonic) % 12;
            fit += d * f64::from(chord_fit(interval, minor, key.mode));
        }
        let mut e = (fit / total) as f32;
        if first.is_some_and(is_tonic) {
            e += FIRST_CHORD_BONUS;
        }
        e += CADENCE_WEIGHT * cadences[i] / changes.max(1) as f32;
        if last.is_some_and(is_tonic) {
            e += LAST_CHORD_BONUS;
        }
        *slot = e;
    }
    out
}

/// The file's pitch-class profile: each frame normalised to its maximum, then summed, so that
/// quiet passages count as much as loud ones (as in Essentia's key extractor).
/// Pitch classes with at least `HEARD_SHARE` of the strongest one's weight in the profile.
fn pitch_classes_heard(profile: &[f32; 12]) -> usize {
    let top = profile.iter().fold(0.0f32, |m, &v| m.max(v));
    profile.iter().filter(|&&v| v >= HEARD_SHARE * top).count()
}

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
        analyze(&Features::compute(signal, rate), &[]).0
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

    /// A tone, or a click of one pitch, is not in a key; one triad held is (three classes).
    #[test]
    fn a_single_tone_gives_no_key_and_a_reason() {
        let rate = 44_100u32;
        let tone: Vec<f32> = (0..rate as usize * 10)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin())
            .collect();
        let report = key_of(&tone, rate);
        assert_eq!(report.name, None, "{report:?}");
        assert_eq!(report.confidence, None);
        assert!(report.reason.is_some_and(|r| r.contains("pitch classes")));
        let chords: [&[i32]; 1] = [&[60, 64, 67]];
        let report = key_of(&synth::progression(&chords, 1.0, 8.0, rate), rate);
        assert!(report.name.is_some(), "{report:?}");
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
    fn major_tonic_names_use_the_signature_with_fewer_accidentals() {
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
                "C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"
            ]
        );
    }
}
