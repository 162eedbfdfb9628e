//! Song sections: where the form changes and which parts repeat. Works on bars (the beat
//! frames of the harmonic front end gathered between downbeats): a self-similarity of chroma
//! and timbre, a novelty curve that peaks where the texture or the harmony changes (Foote 2000),
//! boundaries on bar lines, repeated material grouped into letters, repeats cut where every
//! occurrence changes texture at the same bar, and names from position, repetition and energy.
//! Reads finished results only; knows nothing of decoding.

mod builds;
mod label;
mod novelty;
mod repeats;

use serde::{Deserialize, Serialize};

use super::harmony::BeatFrames;

/// Shortest audio (seconds) given sections: a form needs more than a couple of phrases.
pub const MIN_SECTIONS_SEC: f64 = 20.0;
/// Unit length (seconds) when no downbeats are known.
const FALLBACK_UNIT_SEC: f64 = 2.0;
/// Names the approach in `structure.method`.
const METHOD: &str = "bar-synchronous chroma and timbre self-similarity, checkerboard novelty, \
                      repeat alignment, segment clustering, texture cuts inside repeats";

/// One section of `structure.sections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub start: f64,
    pub end: f64,
    /// intro, verse, prechorus, chorus, bridge, breakdown, instrumental or outro.
    pub label: String,
    /// "A", "B", …: the same letter for sections that repeat the same material.
    pub group: String,
}

/// The `structure` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureReport {
    /// Sections covering the audio in order; `None` (with `reason`) for short or silent audio.
    pub sections: Option<Vec<Section>>,
    /// How the sections were found.
    pub method: String,
    pub reason: Option<String>,
}

impl StructureReport {
    fn unmeasured(reason: &str) -> StructureReport {
        StructureReport {
            sections: None,
            method: METHOD.to_string(),
            reason: Some(reason.to_string()),
        }
    }
}

/// Per-unit (bar) features: chroma, standardised timbre and log energy.
pub(crate) struct Units {
    /// Unit `i` spans `bounds[i]..bounds[i + 1]` seconds.
    pub bounds: Vec<f64>,
    pub chroma: Vec<[f32; 12]>,
    pub timbre: Vec<Vec<f32>>,
    /// Mean energy relative to the loudest beats.
    pub energy: Vec<f32>,
}

impl Units {
    pub fn len(&self) -> usize {
        self.chroma.len()
    }

    /// The segments `cuts` (unit indices where sections start, beginning with 0) divide the
    /// units into, as `start..end` pairs.
    pub fn spans(&self, cuts: &[usize]) -> Vec<(usize, usize)> {
        cuts.iter()
            .enumerate()
            .map(|(k, &s)| (s, cuts.get(k + 1).copied().unwrap_or(self.len())))
            .collect()
    }
}

/// Sections of the whole file. `downbeats` are bar starts in seconds (may be empty).
pub fn analyze(frames: &BeatFrames, downbeats: &[f64], duration_sec: f64) -> StructureReport {
    if duration_sec < MIN_SECTIONS_SEC {
        return StructureReport::unmeasured("audio too short for sections (needs at least 20 s)");
    }
    if frames.is_empty() || frames.energy.iter().all(|&e| e <= 0.0) {
        return StructureReport::unmeasured("silence: no signal above -80 dBFS");
    }
    let units = bar_units(frames, downbeats, duration_sec);
    if units.len() < 4 {
        return StructureReport::unmeasured("too few bars for sections");
    }
    let cuts = repeats::add_repeat_cuts(&units, &novelty::boundaries(&units));
    let groups = novelty::group_segments(&units, &cuts);
    // Cutting repeats where their texture changes makes new segments: group them afresh.
    let (cuts, groups, lead_ins) = match builds::split_repeats(&units, &cuts, &groups) {
        Some(split) => {
            let groups = novelty::group_segments(&units, &split.cuts);
            (split.cuts, groups, split.lead_ins)
        }
        None => (cuts, groups, Vec::new()),
    };
    let sections = label::name_sections(&units, &cuts, &groups, &lead_ins);
    StructureReport {
        sections: Some(sections),
        method: METHOD.to_string(),
        reason: None,
    }
}

/// Gathers beat frames into bars (or 2 s units without downbeats).
fn bar_units(frames: &BeatFrames, downbeats: &[f64], duration: f64) -> Units {
    let mut bounds = vec![0.0];
    if downbeats.len() >= 4 {
        bounds.extend(
            downbeats
                .iter()
                .copied()
                .filter(|&t| t > 0.5 && t < duration - 0.5),
        );
    } else {
        let mut t = FALLBACK_UNIT_SEC;
        while t < duration - 0.5 {
            bounds.push(t);
            t += FALLBACK_UNIT_SEC;
        }
    }
    bounds.push(duration);
    let n = bounds.len() - 1;
    let nb = frames.timbre_bands;
    let mut chroma = vec![[0.0f32; 12]; n];
    let mut timbre = vec![vec![0.0f32; nb]; n];
    let mut energy = vec![0.0f32; n];
    let mut counts = vec![0usize; n];
    let mut unit = 0usize;
    for i in 0..frames.len() {
        let mid = 0.5 * (frames.start(i) + frames.end(i));
        while unit + 1 < n && mid >= bounds[unit + 1] {
            unit += 1;
        }
        for (c, v) in chroma[unit].iter_mut().zip(&frames.chroma[i]) {
            *c += v;
        }
        if let Some(t) = frames.timbre.get(i * nb..(i + 1) * nb) {
            for (acc, v) in timbre[unit].iter_mut().zip(t) {
                *acc += v;
            }
        }
        energy[unit] += frames.energy[i];
        counts[unit] += 1;
    }
    for u in 0..n {
        let c = counts[u].max(1) as f32;
        chroma[u].iter_mut().for_each(|v| *v /= c);
        timbre[u].iter_mut().for_each(|v| *v /= c);
        energy[u] /= c;
    }
    // Standardise each band over the file so that every band counts alike; the log energy of
    // the unit rides along as one more dimension.
    for b in 0..nb {
        let mean = timbre.iter().map(|t| t[b]).sum::<f32>() / n as f32;
        let var = timbre.iter().map(|t| (t[b] - mean).powi(2)).sum::<f32>() / n as f32;
        let sd = var.sqrt().max(1e-6);
        timbre.iter_mut().for_each(|t| t[b] = (t[b] - mean) / sd);
    }
    Units {
        bounds,
        chroma,
        timbre,
        energy,
    }
}

#[cfg(test)]
mod tests;
