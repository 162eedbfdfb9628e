//! Signal descriptors for mood and the stems estimate, measured on the same 10 s segments of
//! 16 kHz audio the tagger sees (so their cost is bounded per file): a harmonic/percussive split
//! by median filtering (Fitzgerald 2010, with the
//! margin of Driedger et al. 2014), spectral centroid, low-frequency shares, and the
//! detrended fluctuation analysis of the loudness envelope (Streich & Herrera 2005) over the
//! whole file.

use realfft::RealFftPlanner;

use super::model::RATE_HZ;

const FFT: usize = 1024;
const HOP: usize = 512;
/// Median filter lengths: 17 frames (about 0.5 s) across time, 17 bins (250 Hz) across frequency.
const MEDIAN_TIME: usize = 17;
const MEDIAN_FREQ: usize = 17;
/// Separation margin of the harmonic/percussive masks.
const MARGIN: f32 = 2.0;
/// Frames quieter than this (mean square, full scale = 0.5) carry no descriptor.
const QUIET: f32 = 1.0e-7;
/// DFA: envelope frames of 10 ms, windows of 30 s, block sizes from 310 ms to 8.8 s.
pub const ENVELOPE_HZ: f64 = 100.0;
const DFA_WINDOW: usize = 3000;
const DFA_MIN_TAU: f64 = 31.0;
const DFA_MAX_TAU: f64 = 880.0;

/// Per-segment measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Share of spectral energy in the percussive part (0..1).
    pub percussive_share: f32,
    /// Share of the harmonic part's energy below 250 Hz, of all energy (bass lines).
    pub bass_share: f32,
    /// Mean square level of the segment.
    pub level: f32,
}

/// Measures of the whole file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Descriptors {
    pub segments: Vec<Segment>,
    /// Energy-weighted means over the segments.
    pub percussive_share: f32,
    pub bass_share: f32,
    /// Share of energy below 120 Hz (of energy above 20 Hz).
    pub low_end_share: f32,
    /// Spectral centroid (Hz), energy-weighted.
    pub centroid_hz: f32,
    /// Median over 30 s windows of 1 / (mean DFA exponent); `None` under 30 s of signal.
    pub dfa: Option<f32>,
}

/// Descriptors of `segments` (16 kHz mono) and of `envelope` (10 ms RMS frames of the file).
pub fn measure(segments: &[Vec<f32>], envelope: &[f32]) -> Descriptors {
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(FFT);
    let window: Vec<f32> = (0..FFT)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / FFT as f32).cos())
        .collect();
    let bins = FFT / 2 + 1;
    let hz = |k: usize| k as f32 * RATE_HZ as f32 / FFT as f32;
    let mut out = Descriptors::default();
    let (mut total, mut perc, mut bass, mut low, mut above20, mut centroid) =
        (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    let mut input = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    for seg in segments {
        // Power spectrogram, frames × bins.
        let mut power: Vec<Vec<f32>> = Vec::new();
        let mut start = 0;
        while start + FFT <= seg.len() {
            for (i, v) in input.iter_mut().enumerate() {
                *v = seg[start + i] * window[i];
            }
            if fft.process(&mut input, &mut spec).is_err() {
                break;
            }
            power.push(spec.iter().map(|c| c.norm_sqr()).collect());
            start += HOP;
        }
        let level = seg.iter().map(|v| v * v).sum::<f32>() / seg.len().max(1) as f32;
        if power.is_empty() || level < QUIET {
            out.segments.push(Segment {
                percussive_share: 0.0,
                bass_share: 0.0,
                level,
            });
            continue;
        }
        let frames = power.len();
        let mags: Vec<Vec<f32>> = power
            .iter()
            .map(|f| f.iter().map(|p| p.sqrt()).collect())
            .collect();
        let (mut s_tot, mut s_perc, mut s_bass) = (0f64, 0f64, 0f64);
        let mut buf: Vec<f32> = Vec::with_capacity(MEDIAN_TIME.max(MEDIAN_FREQ));
        for t in 0..frames {
            for k in 1..bins {
                let p = f64::from(power[t][k]);
                if p == 0.0 {
                    continue;
                }
                buf.clear();
                let (a, b) = span(t, frames, MEDIAN_TIME);
                buf.extend((a..b).map(|i| mags[i][k]));
                let h = median(&mut buf);
                buf.clear();
                let (a, b) = span(k, bins, MEDIAN_FREQ);
                buf.extend((a..b).map(|i| mags[t][i]));
                let pc = median(&mut buf);
                // Binary masks with a separation margin (Driedger, Müller & Disch 2014): a bin
                // is percussive only where the across-frequency median beats the across-time
                // median by the margin, harmonic in the opposite case, else residual.
                let percussive = pc > MARGIN * h;
                let harmonic = h > MARGIN * pc;
                s_tot += p;
                if percussive {
                    s_perc += p;
                }
                let f = hz(k);
                if f < 250.0 && harmonic {
                    s_bass += p;
                }
                if f >= 20.0 {
                    above20 += p;
                    if f < 120.0 {
                        low += p;
                    }
                }
                centroid += p * f64::from(f);
            }
        }
        total += s_tot;
        perc += s_perc;
        bass += s_bass;
        let share = |x: f64| if s_tot > 0.0 { (x / s_tot) as f32 } else { 0.0 };
        out.segments.push(Segment {
            percussive_share: share(s_perc),
            bass_share: share(s_bass),
            level,
        });
    }
    if total > 0.0 {
        out.percussive_share = (perc / total) as f32;
        out.bass_share = (bass / total) as f32;
        out.centroid_hz = (centroid / total) as f32;
    }
    if above20 > 0.0 {
        out.low_end_share = (low / above20) as f32;
    }
    out.dfa = dfa_danceability(envelope);
    out
}

fn span(i: usize, n: usize, len: usize) -> (usize, usize) {
    let half = len / 2;
    (i.saturating_sub(half), (i + half + 1).min(n))
}

fn median(v: &mut [f32]) -> f32 {
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    *m
}

/// 10 ms RMS frames of `mono` at `rate` Hz: the loudness envelope for DFA.
pub fn envelope(mono: &[f32], rate: u32) -> Vec<f32> {
    let frame = ((f64::from(rate) / ENVELOPE_HZ).round() as usize).max(1);
    mono.chunks(frame)
        .map(|c| {
            let ms = c
                .iter()
                .map(|&x| if x.is_finite() { x * x } else { 0.0 })
                .sum::<f32>()
                / c.len() as f32;
            ms.sqrt()
        })
        .collect()
}

/// Detrended fluctuation analysis of the envelope (Streich & Herrera 2005): the envelope minus
/// its mean is integrated; for each block size τ the RMS residual of per-block linear fits is
/// F(τ); the local slopes of log F against log τ are the DFA exponents, and danceability is
/// 1 / their mean (strong, regular pulses keep F flat, so the exponent is low). Per 30 s window,
/// median over windows.
pub fn dfa_danceability(env: &[f32]) -> Option<f32> {
    if env.len() < DFA_WINDOW {
        return None;
    }
    let mut taus: Vec<usize> = Vec::new();
    let mut t = DFA_MIN_TAU;
    while t <= DFA_MAX_TAU {
        let v = t.round() as usize;
        if taus.last() != Some(&v) {
            taus.push(v);
        }
        t *= 1.1;
    }
    let mut values: Vec<f32> = Vec::new();
    let mut start = 0;
    while start + DFA_WINDOW <= env.len() {
        let w = &env[start..start + DFA_WINDOW];
        start += DFA_WINDOW;
        let mean = w.iter().map(|&x| f64::from(x)).sum::<f64>() / w.len() as f64;
        if mean <= 1e-6 {
            continue;
        }
        let mut acc = 0.0f64;
        let y: Vec<f64> = w
            .iter()
            .map(|&x| {
                acc += f64::from(x) - mean;
                acc
            })
            .collect();
        let logf: Vec<(f64, f64)> = taus
            .iter()
            .filter_map(|&tau| {
                let f = fluctuation(&y, tau)?;
                (f > 0.0).then(|| ((tau as f64).ln(), f.ln()))
            })
            .collect();
        if logf.len() < 2 {
            continue;
        }
        let slopes: Vec<f64> = logf
            .windows(2)
            .map(|p| (p[1].1 - p[0].1) / (p[1].0 - p[0].0))
            .collect();
        let alpha = slopes.iter().sum::<f64>() / slopes.len() as f64;
        if alpha > 0.0 {
            values.push((1.0 / alpha) as f32);
        }
    }
    if values.is_empty() {
        return None;
    }
    Some(median(&mut values))
}

/// RMS residual of least-squares lines fitted to consecutive blocks of `tau` samples.
fn fluctuation(y: &[f64], tau: usize) -> Option<f64> {
    let blocks = y.len() / tau;
    if blocks == 0 || tau < 3 {
        return None;
    }
    let n = tau as f64;
    let sx = n * (n - 1.0) / 2.0;
    let sxx = (n - 1.0) * n * (2.0 * n - 1.0) / 6.0;
    let denom = n * sxx - sx * sx;
    let mut sum_sq = 0.0;
    for b in 0..blocks {
        let seg = &y[b * tau..(b + 1) * tau];
        let (mut sy, mut sxy) = (0.0, 0.0);
        for (i, v) in seg.iter().enumerate() {
            sy += v;
            sxy += i as f64 * v;
        }
        let slope = (n * sxy - sx * sy) / denom;
        let icpt = (sy - slope * sx) / n;
        for (i, v) in seg.iter().enumerate() {
            let r = v - (icpt + slope * i as f64);
            sum_sq += r * r;
        }
    }
    Some((sum_sq / (blocks * tau) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: &mut u64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed % 20_000) as f32 / 10_000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn clicks_are_percussive_and_a_held_chord_is_not() {
        let n = RATE_HZ as usize * 10;
        let mut seed = 7u64;
        let burst = noise(400, &mut seed);
        let mut clicks = vec![0.0f32; n];
        for start in (0..n - 400).step_by(8000) {
            for (i, v) in burst.iter().enumerate() {
                clicks[start + i] = v * (1.0 - i as f32 / 400.0);
            }
        }
        let pad: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / RATE_HZ as f32;
                [110.0f32, 220.0, 277.0, 330.0]
                    .iter()
                    .map(|f| 0.1 * (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum()
            })
            .collect();
        let d_clicks = measure(&[clicks], &[]);
        let d_pad = measure(&[pad], &[]);
        assert!(d_clicks.percussive_share > 0.5, "{d_clicks:?}");
        assert!(d_pad.percussive_share < 0.05, "{d_pad:?}");
        assert!(d_pad.bass_share > 0.3, "{d_pad:?}");
    }

    #[test]
    fn dfa_needs_30_s_and_gives_a_positive_value() {
        assert_eq!(dfa_danceability(&[0.1; 2999]), None);
        let env: Vec<f32> = (0..6000)
            .map(|i| if i % 50 < 5 { 1.0 } else { 0.1 })
            .collect();
        let d = dfa_danceability(&env).unwrap();
        assert!(d > 1.0, "{d}");
    }
}
