//! The harmonic front end shared by chords, key and sections: the tuning-corrected pitch-class
//! frames of `features`, gathered into one frame per beat so that every harmonic analyser sees
//! the same musical time grid. Drum hits and passing notes are damped by taking each beat's
//! median rather than its mean; the bass pitch classes ride along for chord roots, and the
//! chord recogniser also reads the bass of the harmonic part (drums separated out) and each
//! beat's harmonic share of the energy, on half beats.

pub mod chords;
pub mod key;
pub mod progression;
pub mod spelling;

use serde::{Deserialize, Serialize};

use super::features::Features;

/// Shortest audio (seconds) given chords.
pub const MIN_CHORDS_SEC: f64 = 2.0;
/// Grid step (seconds) when the tempo analyser found no beats.
const FALLBACK_STEP_SEC: f64 = 0.5;
/// Frames this far below the loudest frames (linear RMS ratio, -40 dB) carry no harmony.
const QUIET_FRAME_RATIO: f32 = 0.01;
/// The same for chords (-60 dB): a pianissimo passage of a dynamic recording still has its
/// chords; the noise floor and the end of a release tail are left out.
const CHORD_QUIET_FRAME_RATIO: f32 = 0.001;

/// One frame per beat (or per half second without beats).
#[derive(Debug, Clone, Default)]
pub struct BeatFrames {
    /// Frame `i` spans `bounds[i]..bounds[i + 1]` seconds; the first starts at 0 and the last
    /// ends at the end of the audio.
    pub bounds: Vec<f64>,
    /// Pitch classes (C = 0), the median of the beat's max-normalised frames; all zero when the
    /// beat is silent.
    pub chroma: Vec<[f32; 12]>,
    /// Bass pitch classes (below 250 Hz), normalised the same way.
    pub bass: Vec<[f32; 12]>,
    /// Bass pitch classes of the harmonic part, normalised the same way: the bass note without
    /// the kick drum, for chord roots.
    pub harmonic_bass: Vec<[f32; 12]>,
    /// Share of the beat's energy in the harmonic part (0..1): low for drums alone.
    pub tonal: Vec<f32>,
    /// Mean RMS of the beat's frames, relative to the loudest beats (0..~1).
    pub energy: Vec<f32>,
    /// Mean log band magnitudes of the beat (`Features::timbre_bands` per beat), for sections.
    pub timbre: Vec<f32>,
    pub timbre_bands: usize,
}

impl BeatFrames {
    /// Gathers the chroma frames of `features` into the beats of `beats` (seconds).
    pub fn compute(features: &Features, beats: &[f64]) -> BeatFrames {
        Self::compute_with(features, beats, QUIET_FRAME_RATIO)
    }

    /// The frames the chord recogniser reads: half beats (see `half_beats`).
    pub fn for_chords(features: &Features, beats: &[f64]) -> BeatFrames {
        Self::compute_with(features, &half_beats(beats), CHORD_QUIET_FRAME_RATIO)
    }

    fn compute_with(features: &Features, beats: &[f64], quiet_ratio: f32) -> BeatFrames {
        let duration = features.duration_sec;
        if features.chroma.is_empty() || duration <= 0.0 {
            return BeatFrames::default();
        }
        let mut bounds = vec![0.0];
        if beats.len() >= 4 {
            bounds.extend(
                beats
                    .iter()
                    .copied()
                    .filter(|&b| b > 0.05 && b < duration - 0.05),
            );
        } else {
            let mut t = FALLBACK_STEP_SEC;
            while t < duration - 0.05 {
                bounds.push(t);
                t += FALLBACK_STEP_SEC;
            }
        }
        bounds.push(duration);
        bounds.dedup_by(|a, b| (*a - *b).abs() < 1e-6);

        let loud = percentile(&features.chroma_rms, 0.95).max(1e-9);
        let n = bounds.len() - 1;
        let mut out = BeatFrames {
            bounds,
            chroma: Vec::with_capacity(n),
            bass: Vec::with_capacity(n),
            harmonic_bass: Vec::with_capacity(n),
            tonal: Vec::with_capacity(n),
            energy: Vec::with_capacity(n),
            timbre: Vec::with_capacity(n * features.timbre_bands),
            timbre_bands: features.timbre_bands,
        };
        let nb = features.timbre_bands;
        let rate = features.chroma_rate;
        let offset = features.chroma_offset_sec;
        let frame_of = |t: f64| ((t - offset) * rate).ceil().max(0.0) as usize;
        let mut treble: Vec<[f32; 12]> = Vec::new();
        let mut bass: Vec<[f32; 12]> = Vec::new();
        let mut harm_bass: Vec<[f32; 12]> = Vec::new();
        for i in 0..n {
            let lo = frame_of(out.bounds[i]).min(features.chroma.len());
            let mut hi = frame_of(out.bounds[i + 1]).min(features.chroma.len());
            if hi <= lo {
                // A beat shorter than one chroma frame takes the nearest frame.
                hi = (lo + 1).min(features.chroma.len());
            }
            let lo = lo.min(hi.saturating_sub(1));
            treble.clear();
            bass.clear();
            harm_bass.clear();
            let (mut tonal, mut tonal_weight) = (0.0f32, 0.0f32);
            let mut energy = 0.0f32;
            let mut count = 0usize;
            let base = out.timbre.len();
            out.timbre.resize(base + nb, 0.0);
            for k in lo..hi {
                if let Some(bands) = features.timbre.get(k * nb..(k + 1) * nb) {
                    for (acc, &v) in out.timbre[base..].iter_mut().zip(bands) {
                        *acc += v / (hi - lo) as f32;
                    }
                }
                let rms = features.chroma_rms.get(k).copied().unwrap_or(0.0);
                energy += rms;
                count += 1;
                if rms < quiet_ratio * loud {
                    continue;
                }
                treble.push(normalised(&features.chroma[k]));
                if let Some(b) = features.chroma_bass.get(k) {
                    bass.push(normalised(b));
                }
                if let Some(b) = features.harmonic_bass.get(k) {
                    harm_bass.push(normalised(b));
                }
                // Weighted by energy: the beat's harmonic share, not that of its quiet tails.
                tonal += rms * rms * features.harmonic_share.get(k).copied().unwrap_or(0.0);
                tonal_weight += rms * rms;
            }
            out.tonal.push(if tonal_weight > 0.0 {
                tonal / tonal_weight
            } else {
                0.0
            });
            out.chroma.push(median(&mut treble));
            out.bass.push(median(&mut bass));
            out.harmonic_bass.push(median(&mut harm_bass));
            out.energy.push(if count > 0 {
                energy / count as f32 / loud
            } else {
                0.0
            });
        }
        out
    }

    pub fn len(&self) -> usize {
        self.chroma.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chroma.is_empty()
    }

    pub fn start(&self, i: usize) -> f64 {
        self.bounds[i]
    }

    pub fn end(&self, i: usize) -> f64 {
        self.bounds[i + 1]
    }
}

/// The beats with a point added halfway between each pair: chords that change off the tracked
/// beat (a tracker locked to the off-beats, a half-tempo reading, an anticipated change) are
/// placed to the half beat instead of a whole beat late.
pub fn half_beats(beats: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(beats.len() * 2);
    for (i, &b) in beats.iter().enumerate() {
        out.push(b);
        if let Some(&next) = beats.get(i + 1) {
            out.push(0.5 * (b + next));
        }
    }
    out
}

/// A frame divided by its largest value (all zero stays zero).
fn normalised(frame: &[f32; 12]) -> [f32; 12] {
    let max = frame.iter().fold(0.0f32, |m, &v| m.max(v));
    if max <= 1e-12 {
        return [0.0; 12];
    }
    std::array::from_fn(|i| frame[i] / max)
}

/// Per-bin median of the frames (all zero when there are none).
fn median(frames: &mut [[f32; 12]]) -> [f32; 12] {
    if frames.is_empty() {
        return [0.0; 12];
    }
    let mid = frames.len() / 2;
    let mut column: Vec<f32> = Vec::with_capacity(frames.len());
    std::array::from_fn(|pc| {
        column.clear();
        column.extend(frames.iter().map(|f| f[pc]));
        column.sort_by(f32::total_cmp);
        if column.len() % 2 == 1 {
            column[mid]
        } else {
            0.5 * (column[mid - 1] + column[mid])
        }
    })
}

/// The `q` quantile (0..1) of `values`; 0 when empty.
pub(crate) fn percentile(values: &[f32], q: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    let rank = ((v.len() - 1) as f64 * q).round() as usize;
    *v.select_nth_unstable_by(rank, f32::total_cmp).1
}

/// The `create_report` section of the result document: what a producer needs to play along.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateReport {
    /// Chord segments covering the audio, in order; `None` (with `reason`) when there is no
    /// harmony to read (silence, under 2 s).
    pub chords: Option<Vec<chords::ChordSegment>>,
    /// The most frequent chord loop; `None` when no sequence of chords repeats.
    pub progression: Option<progression::Progression>,
    /// The key to sing in: the key of the track, spelled as musicians spell it.
    pub suggested_vocal_key: Option<String>,
    pub reason: Option<String>,
}

impl CreateReport {
    pub fn unmeasured(reason: &str) -> CreateReport {
        CreateReport {
            chords: None,
            progression: None,
            suggested_vocal_key: None,
            reason: Some(reason.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::features::synth;

    #[test]
    fn beat_frames_cover_the_audio_and_hold_the_chord() {
        let rate = 22_050;
        let chords: [&[i32]; 2] = [&[60, 64, 67], &[57, 60, 64]];
        let x = synth::progression(&chords, 2.0, 8.0, rate);
        let f = Features::compute(&x, rate);
        let beats: Vec<f64> = (0..16).map(|i| f64::from(i) * 0.5).collect();
        let b = BeatFrames::compute(&f, &beats);
        assert_eq!(b.bounds[0], 0.0);
        assert!((b.bounds[b.len()] - 8.0).abs() < 1e-6);
        assert!(b.bounds.windows(2).all(|w| w[0] < w[1]));
        // Beat 1 (0.5-1.0 s) is C major: C, E and G stand out, F# does not.
        let c = b.chroma[1];
        assert!(c[0] > 0.5 && c[4] > 0.3 && c[7] > 0.3, "{c:?}");
        assert!(c[6] < 0.2, "{c:?}");
    }

    #[test]
    fn silence_gives_silent_frames() {
        let f = Features::compute(&vec![0.0; 22_050 * 4], 22_050);
        assert!(BeatFrames::compute(&f, &[]).is_empty());
    }
}
