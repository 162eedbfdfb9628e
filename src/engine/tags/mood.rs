//! Mood: energy, danceability and valence (0–100) as documented heuristics over signal
//! descriptors and the tagger's classes, plus mood tags. No labelled mood data can be used to
//! fit them here, so the formula and its inputs are named in `method`; valence is flagged as
//! low-confidence (the best published models explain about 30 % of its variance).

use serde::{Deserialize, Serialize};

use super::{Tag, Tagging, labels};
use crate::engine::features::Features;
use crate::engine::key::KeyReport;
use crate::engine::tempo::TempoReport;

/// Tagger mood classes are listed from this probability up (they stay small on most music).
const MOOD_TAG_MIN: f32 = 0.05;
const METHOD: &str = "heuristic: energy = 0.65 x (loudness, onset rate, brightness, percussive \
                      share, tagger intensity classes) + 0.35 x drum drive; danceability = 0.65 \
                      x (pulse clarity, tempo in 95-135 BPM, beat regularity, detrended \
                      fluctuation, percussive share) + 0.35 x drum drive; drum drive = share of \
                      the file with drums x strength of the drum part; valence = mode, tempo, \
                      tagger happy/sad classes, brightness";
/// Weight of the drum drive in energy and danceability: a drum part is what listeners hear
/// first as drive and as something to dance to; the other cues share the rest.
const DRIVE_WEIGHT: f64 = 0.35;

/// The `mood` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodReport {
    /// Musical positiveness, 0–100. Low confidence by nature: see `valence_low_confidence`.
    pub valence: Option<u32>,
    /// Always true while valence is a heuristic (the literature's best models explain about
    /// 30 % of valence variance).
    pub valence_low_confidence: bool,
    /// Intensity and activity, 0–100.
    pub energy: Option<u32>,
    /// Steady, clear, danceable pulse, 0–100.
    pub danceability: Option<u32>,
    pub tags: Vec<Tag>,
    pub method: String,
    pub reason: Option<String>,
}

impl MoodReport {
    pub fn unmeasured(reason: String) -> MoodReport {
        MoodReport {
            valence: None,
            valence_low_confidence: true,
            energy: None,
            danceability: None,
            tags: Vec::new(),
            method: METHOD.to_string(),
            reason: Some(reason),
        }
    }
}

/// `x` mapped linearly from `lo..hi` to 0..1, clamped.
fn unit(x: f64, lo: f64, hi: f64) -> f64 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

fn score(x: f64) -> u32 {
    (100.0 * x.clamp(0.0, 1.0)).round() as u32
}

/// Inputs of the three numbers, kept apart so tests and the benchmarks can read them.
#[derive(Debug, Clone, PartialEq)]
pub struct MoodInputs {
    pub onset_rate: f64,
    pub pulse_clarity: f64,
    pub regularity: f64,
}

pub fn inputs(features: &Features, tempo: &TempoReport) -> MoodInputs {
    let onset: Vec<f64> = features
        .onset
        .iter()
        .zip(&features.onset_low)
        .map(|(a, b)| f64::from(*a + *b))
        .collect();
    let n = onset.len();
    let fr = features.frame_rate.max(1.0);
    let (onset_rate, pulse_clarity) = if n < 16 {
        (0.0, 0.0)
    } else {
        let mean = onset.iter().sum::<f64>() / n as f64;
        let sd = (onset.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let thr = mean + sd;
        let peaks = (1..n - 1)
            .filter(|&i| onset[i] > thr && onset[i] >= onset[i - 1] && onset[i] > onset[i + 1])
            .count();
        let centred: Vec<f64> = onset.iter().map(|v| v - mean).collect();
        let r0: f64 = centred.iter().map(|v| v * v).sum();
        let lo = (fr * 60.0 / 200.0).floor() as usize;
        let hi = ((fr * 60.0 / 60.0).ceil() as usize).min(n - 1);
        let best = (lo.max(1)..=hi)
            .map(|lag| {
                centred[lag..]
                    .iter()
                    .zip(&centred)
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / (n - lag) as f64
                    * n as f64
            })
            .fold(0.0f64, f64::max);
        (
            peaks as f64 / features.duration_sec.max(1e-3),
            if r0 > 0.0 { best / r0 } else { 0.0 },
        )
    };
    let intervals: Vec<f64> = tempo.beats.windows(2).map(|w| w[1] - w[0]).collect();
    let regularity = if intervals.len() >= 4 {
        let m = intervals.iter().sum::<f64>() / intervals.len() as f64;
        let sd = (intervals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / intervals.len() as f64)
            .sqrt();
        (1.0 - sd / m.max(1e-6)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    MoodInputs {
        onset_rate,
        pulse_clarity,
        regularity,
    }
}

pub fn analyze(
    t: &Tagging,
    features: &Features,
    tempo: &TempoReport,
    key: &KeyReport,
    integrated_lufs: Option<f64>,
) -> MoodReport {
    if let Some(reason) = t.not_music() {
        return MoodReport::unmeasured(reason);
    }
    let Some(p) = &t.mean else {
        return MoodReport::unmeasured("no audio to tag".to_string());
    };
    let d = &t.descriptors;
    let x = inputs(features, tempo);
    let prob = |i: usize| f64::from(p[i]);
    let l = unit(integrated_lufs.unwrap_or(-40.0), -30.0, -6.0);
    let o = unit(x.onset_rate, 0.0, 8.0);
    let b = unit(f64::from(d.centroid_hz), 500.0, 4000.0);
    let perc = unit(f64::from(d.percussive_share), 0.0, 0.4);
    let intensity = [
        labels::EXCITING_MUSIC,
        labels::ANGRY_MUSIC,
        labels::HEAVY_METAL,
    ]
    .iter()
    .map(|&i| prob(i))
    .fold(f64::from(labels::max_of(p, labels::DRUM_CLASSES)), f64::max);
    let tag = unit(intensity, 0.0, 0.4);
    // The drum drive: how much of the file has drums, times how strong the drum part is (its
    // soft-mask percussive share, from 10 % of the energy to 35 %); 0 without drums.
    let drive = if t.drums_present() {
        f64::from(t.drum_presence().unwrap_or(0.0)) * unit(f64::from(d.percussive_soft), 0.1, 0.35)
    } else {
        0.0
    };
    let intensity = 0.35 * l + 0.25 * o + 0.15 * b + 0.15 * perc + 0.10 * tag;
    let energy = (1.0 - DRIVE_WEIGHT) * intensity + DRIVE_WEIGHT * drive;

    let bpm = tempo.bpm.unwrap_or(0.0);
    let tempo_fit = if (95.0..=135.0).contains(&bpm) {
        1.0
    } else if bpm < 95.0 {
        unit(bpm, 60.0, 95.0)
    } else {
        1.0 - unit(bpm, 135.0, 180.0)
    };
    let dfa = d.dfa.map_or(0.0, |v| unit(f64::from(v), 0.6, 1.0));
    let groove = 0.30 * unit(x.pulse_clarity, 0.0, 0.6)
        + 0.20 * tempo_fit
        + 0.15 * x.regularity
        + 0.15 * dfa
        + 0.20 * perc;
    let danceability = (1.0 - DRIVE_WEIGHT) * groove + DRIVE_WEIGHT * drive;

    let mode = match key.mode.as_deref() {
        Some("major") => 1.0,
        Some("minor") => -1.0,
        _ => 0.0,
    };
    let key_conf = key.confidence.unwrap_or(0.0);
    let tempo_term = if bpm > 0.0 {
        ((bpm - 100.0) / 60.0).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let tagged = ((prob(labels::HAPPY_MUSIC) + prob(labels::FUNNY_MUSIC)
        - prob(labels::SAD_MUSIC)
        - prob(labels::ANGRY_MUSIC)
        - prob(labels::SCARY_MUSIC))
        / 0.3)
        .clamp(-1.0, 1.0);
    let bright = ((f64::from(d.centroid_hz) - 1500.0) / 1500.0).clamp(-1.0, 1.0);
    let valence = 0.5 + 0.20 * mode * key_conf + 0.15 * tempo_term + 0.15 * tagged + 0.10 * bright;

    let mut tags: Vec<Tag> = labels::MOODS
        .iter()
        .filter(|(i, _)| p[*i] >= MOOD_TAG_MIN)
        .map(|(i, label)| Tag {
            label: (*label).to_string(),
            confidence: super::round2(p[*i]),
        })
        .collect();
    tags.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    tags.truncate(3);
    let mut add = |label: &str, c: f64| {
        tags.push(Tag {
            label: label.to_string(),
            confidence: (c * 100.0).round() / 100.0,
        });
    };
    if energy >= 0.7 {
        add("energetic", energy);
    } else if energy <= 0.3 {
        add("calm", 1.0 - energy);
    }
    if danceability >= 0.7 {
        add("danceable", danceability);
    }
    MoodReport {
        valence: Some(score(valence)),
        valence_low_confidence: true,
        energy: Some(score(energy)),
        danceability: Some(score(danceability)),
        tags,
        method: METHOD.to_string(),
        reason: None,
    }
}
