//! What the audio sounds like, from the vendored AudioSet tagger and a few signal descriptors:
//! genre, mood, instruments and vocals. The tagger's "Music" class gates everything
//! music-specific: a sine, speech or noise gets `null` genre and mood with a reason.
//!
//! Measurement lives here (the model, its label tables, the descriptors); the reports that only
//! read finished results (mix, stems, release kit) live in `engine::reports`.

pub mod descriptors;
pub mod labels;
pub mod model;
pub mod mood;
pub mod resample;

use serde::{Deserialize, Serialize};

use descriptors::Descriptors;
use model::{CHUNK, RATE_HZ};

/// Below this "Music" probability the audio is not treated as music (the corpus's music files
/// score 0.52–0.93, a 1 kHz sine 0.02).
pub const MUSIC_GATE: f32 = 0.3;
/// A genre label whose confidence is under this is flagged `low_confidence`.
const GENRE_LOW: f32 = 0.1;
/// Instruments are listed from this probability up.
const INSTRUMENT_MIN: f32 = 0.2;
/// Vocals are present from this probability up.
const VOCALS_MIN: f32 = 0.3;
/// Names the approach in `genre.method`.
const GENRE_METHOD: &str = "CED-Tiny AudioSet tagger (10 s segments, mean probabilities), \
                            AudioSet genre classes mapped to tonearm labels";

/// A label with a confidence in 0..1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub label: String,
    pub confidence: f64,
}

/// The `genre` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenreReport {
    pub primary: Option<Tag>,
    /// The five best labels, best first (empty when `primary` is null).
    pub top5: Vec<Tag>,
    /// True when even the best label is unlikely (confidence under 0.1).
    pub low_confidence: bool,
    pub method: String,
    pub reason: Option<String>,
}

/// The `vocals` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VocalsReport {
    /// Singing or rapping heard; `None` when the tagger could not run.
    pub present: Option<bool>,
    /// Highest probability of the singing and rapping classes.
    pub confidence: Option<f64>,
}

/// The audio the tagger and the descriptors see, cut from the decoded mono mix before it is
/// dropped: up to `model::MAX_CHUNKS` 10 s segments at 16 kHz, and the 10 ms loudness envelope
/// of the whole file.
pub struct Input {
    pub segments: Vec<Vec<f32>>,
    /// Start of each segment in the file (seconds).
    pub starts_sec: Vec<f64>,
    pub envelope: Vec<f32>,
}

impl Input {
    pub fn extract(mono: &[f32], rate: u32) -> Input {
        let (segments, starts_sec) = segments(mono, rate);
        Input {
            segments,
            starts_sec,
            envelope: descriptors::envelope(mono, rate),
        }
    }
}

/// The 10 s segments of 16 kHz audio the tagger hears in `mono` (at `rate` Hz), with their
/// starts in seconds: the whole of shorter audio, else up to `model::MAX_CHUNKS` spread from
/// the start to the end.
pub fn segments(mono: &[f32], rate: u32) -> (Vec<Vec<f32>>, Vec<f64>) {
    let sr = f64::from(rate.max(1));
    // Segment positions are chosen on the 16 kHz time line, then cut at the native rate.
    let len16 = (mono.len() as f64 * f64::from(RATE_HZ) / sr).round() as usize;
    let mut segments = Vec::new();
    let mut starts_sec = Vec::new();
    if len16 < CHUNK {
        let x = resample::resample(mono, rate, RATE_HZ);
        if !x.is_empty() {
            segments.push(x);
            starts_sec.push(0.0);
        }
        return (segments, starts_sec);
    }
    let native = (CHUNK as f64 * sr / f64::from(RATE_HZ)).round() as usize;
    for s in model::chunk_starts(len16) {
        let t = s as f64 / f64::from(RATE_HZ);
        let a = ((t * sr).round() as usize).min(mono.len().saturating_sub(native));
        let Some(part) = mono.get(a..a + native) else {
            continue;
        };
        let mut x = resample::resample(part, rate, RATE_HZ);
        x.resize(CHUNK, 0.0);
        for v in &mut x {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
        segments.push(x);
        starts_sec.push(t);
    }
    (segments, starts_sec)
}

/// The tagger's class probabilities for each segment, and their mean.
#[derive(Default)]
pub struct Classes {
    pub per_segment: Vec<Vec<f32>>,
    /// `None` without segments.
    pub mean: Option<Vec<f32>>,
}

/// What the tagger hears in `segments`; `Err` when the model cannot run.
pub fn classify(segments: &[Vec<f32>]) -> Result<Classes, String> {
    let mut per_segment = Vec::with_capacity(segments.len());
    for seg in segments {
        if let Some(p) = model::probabilities(seg)? {
            per_segment.push(p);
        }
    }
    let mean = (!per_segment.is_empty()).then(|| {
        let mut acc = vec![0.0f32; model::CLASSES];
        for p in &per_segment {
            for (a, v) in acc.iter_mut().zip(p) {
                *a += v;
            }
        }
        let n = per_segment.len() as f32;
        acc.iter_mut().for_each(|a| *a /= n);
        acc
    });
    Ok(Classes { per_segment, mean })
}

/// A segment where one of the tagger's drum classes reaches this probability has drums.
const DRUMS_TAGGED: f32 = 0.3;
/// A file has drums when they are heard in at least this share of its audible segments.
const DRUMS_PRESENCE: f32 = 0.25;

/// The tagger's answer for one file: class probabilities per segment and their mean, and the
/// descriptors; `error` when the model could not run.
pub struct Tagging {
    pub per_segment: Vec<Vec<f32>>,
    /// Start of each segment in the file (seconds).
    pub starts_sec: Vec<f64>,
    /// The 10 ms RMS envelope of the whole file.
    pub envelope: Vec<f32>,
    pub mean: Option<Vec<f32>>,
    pub descriptors: Descriptors,
    pub error: Option<String>,
}

impl Tagging {
    pub fn run(input: Input) -> Tagging {
        let descriptors = descriptors::measure(&input.segments, &input.envelope);
        let (Classes { per_segment, mean }, error) = match classify(&input.segments) {
            Ok(found) => (found, None),
            Err(e) => (Classes::default(), Some(e)),
        };
        Tagging {
            per_segment,
            starts_sec: input.starts_sec,
            envelope: input.envelope,
            mean,
            descriptors,
            error,
        }
    }

    /// Indexes of the segments with sound in them.
    pub fn audible(&self) -> Vec<usize> {
        let segs = &self.descriptors.segments;
        (0..segs.len()).filter(|&i| segs[i].level > 1e-7).collect()
    }

    /// Share of the audible segments (0..1) in which drums are heard, from the signal
    /// ([`descriptors::Segment::drums_heard`]) or from the tagger's drum classes; `None` when
    /// nothing is audible.
    pub fn drum_presence(&self) -> Option<f32> {
        let audible = self.audible();
        if audible.is_empty() {
            return None;
        }
        let heard = audible
            .iter()
            .filter(|&&i| {
                self.descriptors.segments[i].drums_heard()
                    || self
                        .per_segment
                        .get(i)
                        .is_some_and(|p| labels::max_of(p, labels::DRUM_CLASSES) >= DRUMS_TAGGED)
            })
            .count();
        Some(heard as f32 / audible.len() as f32)
    }

    /// Whether the file has a drum part: drums in at least a quarter of it, or drum classes
    /// clearly heard by the tagger overall.
    pub fn drums_present(&self) -> bool {
        self.drum_presence().is_some_and(|p| p >= DRUMS_PRESENCE)
            || self
                .mean
                .as_ref()
                .is_some_and(|p| labels::max_of(p, labels::DRUM_CLASSES) >= DRUMS_TAGGED)
    }

    /// Why music-specific sections are null, or `None` when the audio is music.
    pub fn not_music(&self) -> Option<String> {
        let Some(p) = &self.mean else {
            return Some(
                self.error
                    .clone()
                    .unwrap_or_else(|| "no audio to tag".to_string()),
            );
        };
        let music = p[labels::MUSIC];
        if music >= MUSIC_GATE {
            return None;
        }
        let (top, prob) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or((0, 0.0), |(i, v)| (i, *v));
        let name = labels::audioset_name(top).unwrap_or_else(|| format!("class {top}"));
        Some(format!(
            "not music: the tagger's Music class is {music:.2} (under {MUSIC_GATE}); \
             it hears {name} ({prob:.2})"
        ))
    }
}

fn round2(x: f32) -> f64 {
    (f64::from(x) * 100.0).round() / 100.0
}

/// Merge many-to-one `table` entries by their highest probability, best first.
fn merged(probs: &[f32], table: &[(usize, &str)]) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = Vec::new();
    for &(i, label) in table {
        let p = probs.get(i).copied().unwrap_or(0.0);
        match out.iter_mut().find(|(l, _)| l == label) {
            Some(e) => e.1 = e.1.max(p),
            None => out.push((label.to_string(), p)),
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

pub fn genre(t: &Tagging) -> GenreReport {
    let empty = |reason: String| GenreReport {
        primary: None,
        top5: Vec::new(),
        low_confidence: false,
        method: GENRE_METHOD.to_string(),
        reason: Some(reason),
    };
    if let Some(reason) = t.not_music() {
        return empty(reason);
    }
    let Some(p) = &t.mean else {
        return empty("no audio to tag".to_string());
    };
    let ranked = merged(p, labels::GENRES);
    let top5: Vec<Tag> = ranked
        .iter()
        .take(5)
        .map(|(l, c)| Tag {
            label: l.clone(),
            confidence: round2(*c),
        })
        .collect();
    let best = ranked.first().map_or(0.0, |r| r.1);
    GenreReport {
        primary: top5.first().cloned(),
        top5,
        low_confidence: best < GENRE_LOW,
        method: GENRE_METHOD.to_string(),
        reason: None,
    }
}

/// Instruments heard with at least `INSTRUMENT_MIN` probability, best first. Listed for any
/// audio the tagger could hear (an instrument can play alone without being "music").
pub fn instruments(t: &Tagging) -> Vec<Tag> {
    let Some(p) = &t.mean else {
        return Vec::new();
    };
    merged(p, labels::INSTRUMENTS)
        .into_iter()
        .filter(|(_, c)| *c >= INSTRUMENT_MIN)
        .map(|(label, c)| Tag {
            label,
            confidence: round2(c),
        })
        .collect()
}

pub fn vocals(t: &Tagging) -> VocalsReport {
    let Some(p) = &t.mean else {
        return VocalsReport {
            present: None,
            confidence: None,
        };
    };
    // The loudest stretch decides: a sung chorus averaged with instrumental verses still counts.
    let per = t
        .per_segment
        .iter()
        .map(|s| labels::max_of(s, labels::VOCAL_CLASSES))
        .fold(0.0f32, f32::max);
    let c = labels::max_of(p, labels::VOCAL_CLASSES).max(per * 0.8);
    VocalsReport {
        present: Some(c >= VOCALS_MIN),
        confidence: Some(round2(c)),
    }
}
