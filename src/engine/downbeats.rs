//! Downbeats: which beat of the bar each bar starts on. Bars start where the accents, the bass
//! and the kick land and where the harmony changes, so each beat phase of the bar is scored by
//! the onsets (the low band counted twice, as for tempo) and the chord changes that fall on it
//! (Goto 2001 uses the same cues) and the strongest phase wins. Reads finished results only: tempo's beats and the chord spans.

use super::features::Features;
use super::harmony::chords::Span;

/// Weight of a chord change on a beat against one standard deviation of onset strength.
const CHORD_CHANGE_WEIGHT: f64 = 1.5;
/// Frames either side of a beat searched for its onset.
const ONSET_SEARCH_FRAMES: isize = 2;

/// The downbeats among `beats` (seconds) for bars of `beats_per_bar` beats.
pub fn find(features: &Features, beats: &[f64], beats_per_bar: usize, chords: &[Span]) -> Vec<f64> {
    if beats.len() < beats_per_bar * 2 || beats_per_bar < 2 {
        return Vec::new();
    }
    let onset: Vec<f32> = features
        .onset
        .iter()
        .zip(&features.onset_low)
        .map(|(a, b)| a + b)
        .collect();
    let fr = features.frame_rate;
    let low: Vec<f64> = beats
        .iter()
        .map(|&t| {
            let centre = ((t - features.frame_offset_sec) * fr).round() as isize;
            (-ONSET_SEARCH_FRAMES..=ONSET_SEARCH_FRAMES)
                .filter_map(|d| usize::try_from(centre + d).ok())
                .filter_map(|i| onset.get(i).copied())
                .fold(0.0f32, f32::max)
                .into()
        })
        .collect();
    let mean = low.iter().sum::<f64>() / low.len() as f64;
    let std = (low.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / low.len() as f64).sqrt();
    // A chord change counts for the beat nearest to it.
    let mut change = vec![0.0f64; beats.len()];
    for pair in chords.windows(2) {
        // Only a change between two chords is harmonic evidence; sound starting or stopping
        // is already in the onsets.
        if pair[0].chord.is_none() || pair[1].chord.is_none() || pair[0].chord == pair[1].chord {
            continue;
        }
        let t = pair[1].start;
        let nearest = beats
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
            .map(|(i, _)| i);
        if let Some(i) = nearest {
            change[i] = 1.0;
        }
    }
    let mut best = (0usize, f64::MIN);
    for phase in 0..beats_per_bar {
        let (mut s, mut n) = (0.0f64, 0usize);
        for i in (phase..beats.len()).step_by(beats_per_bar) {
            let z = if std > 0.0 {
                (low[i] - mean) / std
            } else {
                0.0
            };
            s += z + CHORD_CHANGE_WEIGHT * change[i];
            n += 1;
        }
        let s = s / n.max(1) as f64;
        if s > best.1 {
            best = (phase, s);
        }
    }
    beats
        .iter()
        .skip(best.0)
        .step_by(beats_per_bar)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::harmony::chords::{Chord, Quality};

    #[test]
    fn chord_changes_mark_the_bar() {
        let f = Features::compute(&[], 44_100);
        let beats: Vec<f64> = (0..32).map(|i| f64::from(i) * 0.5).collect();
        // Chords change every 4 beats starting at beat 1 (0.5 s).
        let spans: Vec<Span> = (0..9)
            .map(|k| Span {
                start: if k == 0 {
                    0.0
                } else {
                    0.5 + 2.0 * f64::from(k - 1)
                },
                end: 0.5 + 2.0 * f64::from(k),
                chord: Some(Chord {
                    root: (k as usize * 5) % 12,
                    quality: Quality::Major,
                }),
            })
            .collect();
        let downbeats = find(&f, &beats, 4, &spans);
        assert_eq!(downbeats[0], 0.5);
        assert!(
            downbeats
                .windows(2)
                .all(|w| (w[1] - w[0] - 2.0).abs() < 1e-9)
        );
    }
}
