//! Intermediate features shared by the musical analysers (tempo, key), computed once per file.

/// Features computed once from the mono mix-down.
#[derive(Debug, Clone)]
pub struct Features {
    pub sample_rate: u32,
    pub duration_sec: f64,
}

impl Features {
    /// `mono` is the ITU down-mix at `sample_rate` Hz.
    pub fn compute(mono: &[f32], sample_rate: u32) -> Features {
        Features {
            sample_rate,
            duration_sec: mono.len() as f64 / f64::from(sample_rate.max(1)),
        }
    }
}
