//! Chord recognition on half-beat frames: each frame is scored against chord templates (major,
//! minor, dominant seventh, major seventh, minor seventh on 12 roots, with the notes' harmonics)
//! and against "no chord", which wins where the frame's energy is mostly percussive; a Viterbi
//! pass with a fixed cost per chord change picks the most likely sequence (the
//! template-plus-HMM recogniser of Sheh & Ellis 2003 and Papadopoulos & Peeters 2007).

use serde::{Deserialize, Serialize};

use super::BeatFrames;
use super::spelling::{Key, Mode, note_name};

/// Chord qualities recognised, with their intervals above the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Major,
    Minor,
    Dominant7,
    Major7,
    Minor7,
}

impl Quality {
    pub const ALL: [Quality; 5] = [
        Quality::Major,
        Quality::Minor,
        Quality::Dominant7,
        Quality::Major7,
        Quality::Minor7,
    ];

    fn intervals(self) -> &'static [usize] {
        match self {
            Quality::Major => &[0, 4, 7],
            Quality::Minor => &[0, 3, 7],
            Quality::Dominant7 => &[0, 4, 7, 10],
            Quality::Major7 => &[0, 4, 7, 11],
            Quality::Minor7 => &[0, 3, 7, 10],
        }
    }

    /// Harte shorthand.
    fn harte(self) -> &'static str {
        match self {
            Quality::Major => "maj",
            Quality::Minor => "min",
            Quality::Dominant7 => "7",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "min7",
        }
    }

    /// Lead-sheet suffix.
    fn suffix(self) -> &'static str {
        match self {
            Quality::Major => "",
            Quality::Minor => "m",
            Quality::Dominant7 => "7",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "m7",
        }
    }

    /// True when the third is minor.
    pub fn is_minor(self) -> bool {
        matches!(self, Quality::Minor | Quality::Minor7)
    }
}

/// A recognised chord: root pitch class and quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub root: usize,
    pub quality: Quality,
}

impl Chord {
    /// Harte label with the root spelled for `key`: "A:maj", "F#:min7".
    pub fn harte(self, key: Option<Key>) -> String {
        format!("{}:{}", note_name(self.root, key), self.quality.harte())
    }

    /// Lead-sheet name: "A", "F#m7", "G7".
    pub fn name(self, key: Option<Key>) -> String {
        format!("{}{}", note_name(self.root, key), self.quality.suffix())
    }
}

/// A stretch of time with one chord (`None` = no chord).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: f64,
    pub end: f64,
    pub chord: Option<Chord>,
}

/// One entry of `create_report.chords`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChordSegment {
    pub start: f64,
    pub end: f64,
    /// Harte syntax: "A:maj", "F#:min7", "G:7", "N" for no chord.
    pub label: String,
    /// As musicians write it: "A", "F#m7", "G7", "N.C.".
    pub name: String,
}

/// Weight of the bass note agreeing with the root. The bass pitch classes come from the
/// harmonic part (drums removed), so the kick drum no longer poses as a root.
const BASS_WEIGHT: f32 = 0.1;
/// Score of "no chord" for a beat whose energy is half harmonic.
const NO_CHORD_SCORE: f32 = 0.55;
/// Harmonic share of the energy at which "no chord" gains nothing from drums. A soft mask on
/// noise gives each bin about half to either side, so the harmonic share of drums alone (or any
/// noise) sits near 0.5² = 0.25; held notes give 0.6 and more. Beats below this are N.
const NOISE_HARMONIC_SHARE: f32 = 0.35;
/// How fast "no chord" gains as the harmonic share falls below `NOISE_HARMONIC_SHARE` (per
/// unit of share): at the share of noise (0.25) N scores 0.75, above any chord but a clean one.
const NO_CHORD_SLOPE: f32 = 2.0;
/// Beats quieter than this (relative to the loudest beats, -46 dB) are N whatever they contain.
const SILENT_BEAT_ENERGY: f32 = 0.005;
/// Cost of changing chord between frames (half beats), in units of template match.
const CHANGE_COST: f32 = 0.45;
/// Relative weight of a note's `h`-th harmonic in the templates is `HARMONIC_DECAY^(h-1)`,
/// as in the harmonic pitch class profile (Gómez 2006): a sounding C also puts energy on G (3rd
/// harmonic) and E (5th), which the pitch-class profile cannot tell from played notes. A triad's
/// template so already holds some of the energy its seventh chord would add, and the two
/// compete without a handicap: the seventh chord wins only where the seventh sounds.
const HARMONIC_DECAY: f32 = 0.6;
/// Harmonics 1-6 of a note as semitones above it, folded into the octave.
const HARMONIC_PCS: [usize; 6] = [0, 0, 7, 0, 4, 7];

/// The states of the recogniser: 60 chords, then "no chord".
fn states() -> Vec<Option<Chord>> {
    let mut s: Vec<Option<Chord>> = Quality::ALL
        .iter()
        .flat_map(|&quality| (0..12).map(move |root| Some(Chord { root, quality })))
        .collect();
    s.push(None);
    s
}

/// Unit-length template of a chord: its notes with their harmonics.
fn template(chord: Chord) -> [f32; 12] {
    let mut w = [0.0f32; 12];
    for &i in chord.quality.intervals() {
        let mut weight = 1.0f32;
        for &h in &HARMONIC_PCS {
            w[(chord.root + i + h) % 12] += weight;
            weight *= HARMONIC_DECAY;
        }
    }
    let norm = w.iter().map(|v| v * v).sum::<f32>().sqrt();
    w.map(|v| v / norm)
}

/// Template match of every state for one frame. `tonal` is the frame's harmonic share of the
/// energy (see `BeatFrames::tonal`).
fn emissions(
    chroma: &[f32; 12],
    bass: &[f32; 12],
    tonal: f32,
    energy: f32,
    states: &[Option<Chord>],
    templates: &[[f32; 12]],
) -> Vec<f32> {
    // Linear values: square-root compression was tried and lost 3 points of WCSR on the corpus.
    let c: [f32; 12] = std::array::from_fn(|i| chroma[i].max(0.0));
    let norm = c.iter().map(|v| v * v).sum::<f32>().sqrt();
    let silent = norm <= 1e-6 || energy < SILENT_BEAT_ENERGY;
    let bass_max = bass.iter().fold(0.0f32, |m, &v| m.max(v));
    states
        .iter()
        .zip(templates)
        .map(|(state, tpl)| match state {
            None if silent => 1.0,
            None => NO_CHORD_SCORE + NO_CHORD_SLOPE * (NOISE_HARMONIC_SHARE - tonal),
            Some(_) if silent => 0.0,
            Some(chord) => {
                let dot: f32 = c.iter().zip(tpl).map(|(a, b)| a * b).sum();
                let mut s = dot / norm;
                if bass_max > 1e-6 {
                    s += BASS_WEIGHT * bass[chord.root] / bass_max;
                }
                s
            }
        })
        .collect()
}

/// Bonus for a chord whose notes all belong to the key (the major scale; for a minor key the
/// natural minor scale plus the leading tone of the harmonic minor's dominant).
const DIATONIC_BONUS: f32 = 0.075;

/// The chord sequence of the beat frames, merged into spans that cover the audio.
pub fn recognise(frames: &BeatFrames) -> Vec<Span> {
    recognise_with_prior(frames, &vec![0.0; states().len()])
}

/// The same, with chords that fit `key` preferred: a second pass once the key is known, which
/// settles chords whose notes the pitch classes alone leave ambiguous.
pub fn recognise_in_key(frames: &BeatFrames, key: Key) -> Vec<Span> {
    let scale: &[usize] = match key.mode {
        Mode::Major => &[0, 2, 4, 5, 7, 9, 11],
        Mode::Minor => &[0, 2, 3, 5, 7, 8, 10, 11],
    };
    let prior: Vec<f32> = states()
        .iter()
        .map(|s| match s {
            Some(c) => {
                let fits = c
                    .quality
                    .intervals()
                    .iter()
                    .all(|&i| scale.contains(&((c.root + i + 12 - key.tonic) % 12)));
                if fits { DIATONIC_BONUS } else { 0.0 }
            }
            None => 0.0,
        })
        .collect();
    recognise_with_prior(frames, &prior)
}

fn recognise_with_prior(frames: &BeatFrames, prior: &[f32]) -> Vec<Span> {
    let states = states();
    let templates: Vec<[f32; 12]> = states
        .iter()
        .map(|s| s.map_or([0.0; 12], template))
        .collect();
    let n_states = states.len();
    let n = frames.len();
    if n == 0 {
        return Vec::new();
    }
    let mut score = vec![0.0f32; n_states];
    let mut back: Vec<u8> = vec![0; n * n_states];
    for t in 0..n {
        let mut e = emissions(
            &frames.chroma[t],
            &frames.harmonic_bass[t],
            frames.tonal[t],
            frames.energy[t],
            &states,
            &templates,
        );
        for (v, p) in e.iter_mut().zip(prior) {
            *v += p;
        }
        if t == 0 {
            score.copy_from_slice(&e);
            continue;
        }
        let (best_prev, best_score) = score.iter().enumerate().fold(
            (0usize, f32::MIN),
            |b, (i, &s)| if s > b.1 { (i, s) } else { b },
        );
        let mut next = vec![0.0f32; n_states];
        for s in 0..n_states {
            let stay = score[s];
            let (from, prev) = if stay >= best_score - CHANGE_COST {
                (s, stay)
            } else {
                (best_prev, best_score - CHANGE_COST)
            };
            next[s] = prev + e[s];
            back[t * n_states + s] = from as u8;
        }
        score = next;
    }
    let mut state = score
        .iter()
        .enumerate()
        .fold(
            (0usize, f32::MIN),
            |b, (i, &s)| if s > b.1 { (i, s) } else { b },
        )
        .0;
    let mut path = vec![0usize; n];
    for t in (0..n).rev() {
        path[t] = state;
        state = usize::from(back[t * n_states + state]);
    }
    let mut spans: Vec<Span> = Vec::new();
    for (t, &s) in path.iter().enumerate() {
        let chord = states[s];
        match spans.last_mut() {
            Some(last) if last.chord == chord => last.end = frames.end(t),
            _ => spans.push(Span {
                start: frames.start(t),
                end: frames.end(t),
                chord,
            }),
        }
    }
    spans
}

/// The spans as result-document segments, roots spelled for `key`, times to the millisecond.
pub fn segments(spans: &[Span], key: Option<Key>) -> Vec<ChordSegment> {
    let ms = |t: f64| (t * 1000.0).round() / 1000.0;
    spans
        .iter()
        .map(|s| ChordSegment {
            start: ms(s.start),
            end: ms(s.end),
            label: s.chord.map_or_else(|| "N".to_string(), |c| c.harte(key)),
            name: s.chord.map_or_else(|| "N.C.".to_string(), |c| c.name(key)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::features::{Features, synth};

    fn spans_of(chords: &[&[i32]], chord_sec: f64, seconds: f64) -> Vec<Span> {
        let rate = 22_050;
        let x = synth::progression(chords, chord_sec, seconds, rate);
        let f = Features::compute(&x, rate);
        let beats: Vec<f64> = (0..(seconds * 2.0) as usize)
            .map(|i| i as f64 * 0.5)
            .collect();
        recognise(&BeatFrames::compute(&f, &beats))
    }

    #[test]
    fn triads_and_sevenths_are_recognised() {
        // C, Am, Dm7, G7: two seconds each.
        let chords: [&[i32]; 4] = [
            &[60, 64, 67],
            &[57, 60, 64],
            &[50, 57, 60, 65],
            &[55, 59, 62, 65],
        ];
        let spans = spans_of(&chords, 2.0, 8.0);
        let at = |t: f64| {
            spans
                .iter()
                .find(|s| s.start <= t && t < s.end)
                .and_then(|s| s.chord)
        };
        let want = [
            (1.0, 0, Quality::Major),
            (3.0, 9, Quality::Minor),
            (5.0, 2, Quality::Minor7),
            (7.0, 7, Quality::Dominant7),
        ];
        for (t, root, quality) in want {
            assert_eq!(at(t), Some(Chord { root, quality }), "at {t} s: {spans:?}");
        }
        assert_eq!(spans[0].start, 0.0);
        assert!((spans[spans.len() - 1].end - 8.0).abs() < 1e-6);
    }

    #[test]
    fn drums_alone_are_no_chord_and_chords_over_drums_are_read() {
        // Eight seconds of drums, then eight of drums with C major and A minor triads struck on
        // every beat, four seconds each.
        let rate = 22_050;
        let drums = synth::drum_kit(120.0, 16.0, rate);
        let (c, am): (&[i32], &[i32]) = (&[60, 64, 67], &[57, 60, 64]);
        let chords: Vec<&[i32]> = [[c; 8], [am; 8]].concat();
        let harmony = synth::progression(&chords, 0.5, 8.0, rate);
        let mut x = drums;
        let offset = 8 * rate as usize;
        for (i, v) in harmony.iter().enumerate() {
            x[offset + i] += v;
        }
        let f = Features::compute(&x, rate);
        let beats: Vec<f64> = (0..32).map(|i| f64::from(i) * 0.5).collect();
        let spans = recognise(&BeatFrames::for_chords(&f, &beats));
        let at = |t: f64| {
            spans
                .iter()
                .find(|s| s.start <= t && t < s.end)
                .map(|s| s.chord)
        };
        for t in [1.0, 3.0, 5.0, 7.0] {
            assert_eq!(at(t), Some(None), "at {t} s: {spans:?}");
        }
        let c = at(10.0).flatten();
        assert!(
            c.is_some_and(|c| c.root == 0 && !c.quality.is_minor()),
            "{spans:?}"
        );
        let am = at(14.0).flatten();
        assert!(
            am.is_some_and(|c| c.root == 9 && c.quality.is_minor()),
            "{spans:?}"
        );
    }

    #[test]
    fn a_change_between_beats_is_placed_to_the_half_beat() {
        // Beats tracked on the off-beats (0.25 s late) of a C to F change at 2.0 s.
        let rate = 22_050;
        let chords: [&[i32]; 2] = [&[60, 64, 67], &[53, 57, 60]];
        let x = synth::progression(&chords, 2.0, 8.0, rate);
        let f = Features::compute(&x, rate);
        let beats: Vec<f64> = (0..16).map(|i| f64::from(i) * 0.5 + 0.25).collect();
        let spans = recognise(&BeatFrames::for_chords(&f, &beats));
        let change = spans
            .iter()
            .find(|s| s.chord.is_some_and(|c| c.root == 5))
            .map(|s| s.start);
        assert!(change.is_some_and(|t| (t - 2.0).abs() < 0.13), "{spans:?}");
    }

    #[test]
    fn the_key_prior_does_not_override_a_clear_chord() {
        // A plain D major triad: read as a D major chord (triad or seventh) in D major, and
        // still in C major, whose scale lacks its F#.
        let rate = 22_050;
        let chords: [&[i32]; 1] = [&[62, 66, 69]];
        let x = synth::progression(&chords, 1.0, 8.0, rate);
        let f = Features::compute(&x, rate);
        let beats: Vec<f64> = (0..16).map(|i| f64::from(i) * 0.5).collect();
        let frames = BeatFrames::compute(&f, &beats);
        for tonic in [2, 0] {
            let key = Key {
                tonic,
                mode: Mode::Major,
            };
            let spans = recognise_in_key(&frames, key);
            assert!(
                spans.iter().all(|s| s
                    .chord
                    .is_some_and(|c| c.root == 2 && !c.quality.is_minor())),
                "in {}: {spans:?}",
                key.name()
            );
        }
    }

    #[test]
    fn labels_and_names_follow_the_key() {
        let fs_min7 = Chord {
            root: 6,
            quality: Quality::Minor7,
        };
        let bb = Chord {
            root: 10,
            quality: Quality::Major,
        };
        let a_major = Key {
            tonic: 9,
            mode: Mode::Major,
        };
        let f_major = Key {
            tonic: 5,
            mode: Mode::Major,
        };
        assert_eq!(fs_min7.harte(Some(a_major)), "F#:min7");
        assert_eq!(fs_min7.name(Some(a_major)), "F#m7");
        assert_eq!(bb.harte(Some(f_major)), "Bb:maj");
        assert_eq!(bb.name(Some(f_major)), "Bb");
        let n = segments(
            &[Span {
                start: 0.0,
                end: 1.0,
                chord: None,
            }],
            None,
        );
        assert_eq!((n[0].label.as_str(), n[0].name.as_str()), ("N", "N.C."));
    }
}
