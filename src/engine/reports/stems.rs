//! The stems report, an estimate: no source separation runs (no separation model with
//! permissive weights ships in a package registry), so no stem audio exists and `quality_pct`
//! is `null`. Per stem it says whether the part is there, in how much of the file, and its share
//! of the energy, from the harmonic/percussive split, the low band and the tagger's classes.
//! Whether drums play is measured beside the tagger (`Tagging::drums_present`), where mood
//! reads it too.

use serde::{Deserialize, Serialize};

use crate::engine::tags::{Tagging, VocalsReport, labels};

pub const METHOD: &str = "estimate";
/// Bass: harmonic energy below 250 Hz as a share of all energy.
const BASS_SHARE: f32 = 0.05;
const BASS_TAGGED: f32 = 0.2;
const VOCALS_TAGGED: f32 = 0.3;

/// One row of `stems_report.stems`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stem {
    /// vocals, drums, bass or other.
    pub id: String,
    pub present: bool,
    /// Share of the analysed segments in which the part is heard (0–100).
    pub presence_pct: u32,
    /// Estimated share of the mix's energy (0–100); `None` where no estimate is honest
    /// (vocals overlap every other part's band).
    pub energy_share_pct: Option<u32>,
    /// Always `None`: quality of separated audio, and no audio is separated.
    pub quality_pct: Option<u32>,
    /// What the estimate rests on.
    pub basis: String,
}

/// The `stems_report` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StemsReport {
    pub method: String,
    pub stems: Vec<Stem>,
    pub reason: Option<String>,
}

fn pct(x: f32) -> u32 {
    (100.0 * x.clamp(0.0, 1.0)).round() as u32
}

pub fn report(t: &Tagging, vocals: &VocalsReport) -> StemsReport {
    let d = &t.descriptors;
    let segs = &d.segments;
    let audible = t.audible();
    if audible.is_empty() {
        return StemsReport {
            method: METHOD.to_string(),
            stems: Vec::new(),
            reason: Some("silence: nothing to estimate".to_string()),
        };
    }
    let n = audible.len() as f32;
    let probs = |i: usize| t.per_segment.get(i);
    let share = |f: &dyn Fn(usize) -> bool| audible.iter().filter(|&&i| f(i)).count() as f32 / n;

    let drum_presence = t.drum_presence().unwrap_or(0.0);
    let drums_present = t.drums_present();
    // The soft mask's percussive share: a binary mask leaves out the bins drums share with
    // the other parts, and so underestimates them.
    let drums_energy = if drums_present {
        d.percussive_soft
    } else {
        0.0
    };

    let bass_tagged = t
        .mean
        .as_ref()
        .is_some_and(|p| labels::max_of(p, labels::BASS_CLASSES) >= BASS_TAGGED);
    let bass_presence = share(&|i| segs[i].bass_share >= BASS_SHARE);
    let bass_present = bass_presence >= 0.25 || bass_tagged;
    let bass_energy = if bass_present { d.bass_share } else { 0.0 };

    let vocal_presence = if t.per_segment.is_empty() {
        0.0
    } else {
        share(&|i| {
            probs(i).is_some_and(|p| labels::max_of(p, labels::VOCAL_CLASSES) >= VOCALS_TAGGED)
        })
    };
    let vocals_present = vocals.present.unwrap_or(false);

    let other_energy = (1.0 - drums_energy - bass_energy).max(0.0);
    let stems = vec![
        Stem {
            id: "vocals".into(),
            present: vocals_present,
            presence_pct: pct(vocal_presence),
            energy_share_pct: None,
            quality_pct: None,
            basis: "tagger singing and rapping classes per 10 s segment".into(),
        },
        Stem {
            id: "drums".into(),
            present: drums_present,
            presence_pct: pct(drum_presence),
            energy_share_pct: Some(pct(drums_energy)),
            quality_pct: None,
            basis: "a repeating, noise-like percussive part (median-filter harmonic/percussive \
                    split with a soft mask), and the tagger's drum classes"
                .into(),
        },
        Stem {
            id: "bass".into(),
            present: bass_present,
            presence_pct: pct(bass_presence),
            energy_share_pct: Some(pct(bass_energy)),
            quality_pct: None,
            basis: "harmonic energy below 250 Hz, and the tagger's bass classes".into(),
        },
        Stem {
            id: "other".into(),
            present: other_energy >= 0.05,
            presence_pct: pct(share(&|i| {
                segs[i].percussive_share + segs[i].bass_share < 0.95
            })),
            energy_share_pct: Some(pct(other_energy)),
            quality_pct: None,
            basis: "the energy not attributed to drums or bass".into(),
        },
    ];
    StemsReport {
        method: METHOD.to_string(),
        stems,
        reason: None,
    }
}
