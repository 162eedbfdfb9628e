//! True-peak and sample-peak meter per ITU-R BS.1770-4 Annex 2: 4x oversampling through the
//! recommendation's 48-tap polyphase FIR (12 taps per phase). Owns nothing but peak values.
//!
//! It skips work that cannot raise the peak: an interpolated sample is bounded by the phase's L1
//! gain times the largest input sample under the filter, so a block whose bound is below the peak
//! found so far is not interpolated at all. The result is exact, and on music most blocks skip.

/// Taps per phase of the interpolator.
const TAPS_PER_PHASE: usize = 12;
/// Samples processed per block; the skip test is made once per block.
const BLOCK_FRAMES: usize = 128;

/// The four phases of the 48-tap interpolator: a Hann-windowed sinc with its cutoff at the input
/// Nyquist frequency, the design libebur128 and ffmpeg use for BS.1770-4 Annex 2. Phase 0 passes
/// the input samples through unchanged. `phases()[p][k]` weights window sample k, where k = 11 is
/// the newest sample.
fn phases() -> [[f32; TAPS_PER_PHASE]; 4] {
    const TAPS: usize = 4 * TAPS_PER_PHASE;
    let mut out = [[0.0f32; TAPS_PER_PHASE]; 4];
    for j in 0..TAPS {
        let (tap, phase) = (j / 4, j % 4);
        let w = 0.5 * (1.0 - (2.0 * std::f64::consts::PI * j as f64 / TAPS as f64).cos());
        let m = j as f64 - TAPS as f64 / 2.0;
        let x = m * std::f64::consts::PI / 4.0;
        let c = if m.abs() > 1e-6 { w * x.sin() / x } else { w };
        out[phase][TAPS_PER_PHASE - 1 - tap] = c as f32;
    }
    out
}

/// Largest L1 norm over the phases: the most an interpolated sample can exceed the input peak.
fn max_phase_gain(phases: &[[f32; TAPS_PER_PHASE]; 4]) -> f32 {
    phases
        .iter()
        .map(|p| p.iter().map(|c| c.abs()).sum::<f32>())
        .fold(0.0, f32::max)
}

/// Peak meter for one channel.
#[derive(Debug, Clone)]
pub struct TruePeakMeter {
    /// The last `TAPS_PER_PHASE - 1` input samples followed by room for one block.
    window: Vec<f32>,
    true_peak: f32,
    sample_peak: f32,
    gain: f32,
    phases: [[f32; TAPS_PER_PHASE]; 4],
    acc: [[f32; BLOCK_FRAMES]; 4],
}

impl Default for TruePeakMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl TruePeakMeter {
    pub fn new() -> Self {
        let mut window = Vec::with_capacity(TAPS_PER_PHASE - 1 + BLOCK_FRAMES);
        window.resize(TAPS_PER_PHASE - 1, 0.0);
        let phases = phases();
        TruePeakMeter {
            window,
            true_peak: 0.0,
            sample_peak: 0.0,
            gain: max_phase_gain(&phases),
            phases,
            acc: [[0.0; BLOCK_FRAMES]; 4],
        }
    }

    /// Feed consecutive samples of this channel.
    pub fn push(&mut self, samples: &[f32]) {
        for block in samples.chunks(BLOCK_FRAMES) {
            self.push_block(block);
        }
    }

    fn push_block(&mut self, block: &[f32]) {
        let hist = TAPS_PER_PHASE - 1;
        self.window.truncate(hist);
        self.window.extend_from_slice(block);
        let peak = block.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        self.sample_peak = self.sample_peak.max(peak);
        self.true_peak = self.true_peak.max(peak);
        let under_filter = self.window.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        if under_filter * self.gain > self.true_peak {
            self.interpolate(block.len());
        }
        let keep_from = self.window.len() - hist;
        self.window.copy_within(keep_from.., 0);
    }

    /// Output n of each phase depends on inputs n-11..=n; loops run over n innermost so the
    /// compiler vectorises them.
    fn interpolate(&mut self, n: usize) {
        let mut peak = self.true_peak;
        for (phase, acc) in self.phases.iter().zip(self.acc.iter_mut()) {
            let acc = &mut acc[..n];
            acc.fill(0.0);
            for (k, &c) in phase.iter().enumerate() {
                let x = &self.window[k..k + n];
                for (a, &s) in acc.iter_mut().zip(x) {
                    *a += c * s;
                }
            }
            peak = acc.iter().fold(peak, |m, &y| m.max(y.abs()));
        }
        self.true_peak = peak;
    }

    /// Largest absolute value of the 4x oversampled signal (linear, full scale = 1.0).
    pub fn true_peak(&self) -> f32 {
        self.true_peak
    }

    pub fn sample_peak(&self) -> f32 {
        self.sample_peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(x: f32) -> f64 {
        20.0 * f64::from(x).log10()
    }

    fn sine(len: usize, cycles_per_sample: f64, phase: f64, amp: f64) -> Vec<f32> {
        (0..len)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * cycles_per_sample * i as f64 + phase).sin())
                    as f32
            })
            .collect()
    }

    #[test]
    fn each_phase_has_unity_dc_gain() {
        for p in phases() {
            let s: f32 = p.iter().sum();
            assert!((s - 1.0).abs() < 0.01, "phase sums to {s}");
        }
    }

    #[test]
    fn quarter_rate_sine_at_45_degrees_reads_its_amplitude() {
        // Samples land at ±0.707 of the amplitude: the sample peak is 3 dB low, the true peak not.
        let x = sine(48_000, 0.25, std::f64::consts::FRAC_PI_4, 0.5);
        let mut m = TruePeakMeter::new();
        m.push(&x);
        assert!((db(m.sample_peak()) - (-9.03)).abs() < 0.05);
        let tp = db(m.true_peak());
        assert!(tp > -6.02 - 0.4 && tp < -6.02 + 0.2, "true peak {tp}");
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let x = sine(10_000, 0.13, 0.3, 0.8);
        let mut whole = TruePeakMeter::new();
        whole.push(&x);
        let mut parts = TruePeakMeter::new();
        for c in x.chunks(97) {
            parts.push(c);
        }
        assert_eq!(whole.true_peak(), parts.true_peak());
    }

    #[test]
    fn skipping_quiet_blocks_matches_full_interpolation() {
        let mut x = sine(20_000, 0.21, 1.0, 0.9);
        x.extend(sine(20_000, 0.19, 0.2, 0.01));
        x.extend(sine(20_000, 0.23, 0.7, 0.95));
        let mut m = TruePeakMeter::new();
        m.push(&x);
        let mut full = TruePeakMeter::new();
        full.gain = f32::INFINITY;
        full.push(&x);
        assert_eq!(m.true_peak(), full.true_peak());
    }

    #[test]
    fn silence_has_zero_peaks() {
        let mut m = TruePeakMeter::new();
        m.push(&[0.0; 4000]);
        assert_eq!(m.true_peak(), 0.0);
        assert_eq!(m.sample_peak(), 0.0);
    }
}
