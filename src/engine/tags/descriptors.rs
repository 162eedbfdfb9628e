//! Signal descriptors for mood and the stems estimate, measured on the same 10 s segments of
//! 16 kHz audio the tagger sees (so their cost is bounded per file): a harmonic/percussive split
//! by median filtering (Fitzgerald 2010, with the
//! margin of Driedger et al. 2014), spectral centroid, low-frequency shares, and the
//! detrended fluctuation analysis of the loudness envelope (Streich & Herrera 2005) over the
//! whole file.

use realfft::RealFftPlanner;

use super::model::RATE_HZ;
use crate::engine::hpss;

const FFT: usize = 1024;
const HOP: usize = 512;
/// Median filter lengths: 17 frames (about 0.5 s) across time, 17 bins (250 Hz) across frequency.
const MEDIAN_TIME: usize = 17;
const MEDIAN_FREQ: usize = 17;
/// Lower edge of the band where cymbals, hi-hats and snares dominate the percussive part.
const HIGH_HZ: f32 = 4000.0;
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
    /// Share of the segment's energy in a soft (Wiener) percussive mask: every bin counts in
    /// proportion to how percussive it is, so drums played softly under a sustained part still
    /// weigh in where a binary mask drops them.
    pub percussive_soft: f32,
    /// Share of the energy above 4 kHz that the soft mask calls percussive: cymbals, hi-hats
    /// and snares fill that band with noise bursts; piano, strings and voices with partials.
    pub high_percussive: f32,
    /// Regularity of the percussive part: the highest normalised autocorrelation of its
    /// spectral flux at lags between 0.2 s and 1.5 s (0 = no repeating hit pattern).
    pub pulse: f32,
    /// Spectral flatness of the percussive part above 4 kHz, mean over frames (white noise
    /// about 0.56, a pitched attack near 0): drum hits are noise bursts.
    pub high_flatness: f32,
    /// Mean square level of the segment.
    pub level: f32,
}

/// Drums from the signal, per segment (see [`Segment::drums_heard`]). The thresholds sit in the
/// middle of the range that separated the drum tracks from the drum-free ones (piano, strings,
/// chorales, waltzes, ballads) of the public test corpus; `docs/analysis.md` gives the method.
const DRUMS_SOFT_SHARE: f32 = 0.16;
const DRUMS_HIGH_PERCUSSIVE: f32 = 0.38;
const DRUMS_HIGH_FLATNESS: f32 = 0.13;
const DRUMS_PULSE: f32 = 0.3;
/// Below this soft percussive share the percussive part is clicks, not a drum part (a tone
/// switched on and off repeats and has noise-like edges, but carries next to no energy there).
const DRUMS_MIN_SHARE: f32 = 0.04;

impl Segment {
    /// Whether the segment sounds like a drum part: the percussive part repeats (`pulse`), its
    /// top band is noise rather than pitched attacks (`high_flatness`: this is what tells a
    /// hi-hat or a snare from a piano's hammers), and it carries a real share of the energy,
    /// either overall (kick and snare) or above 4 kHz (brushes, ride and hi-hat played softly
    /// under the band).
    pub fn drums_heard(&self) -> bool {
        self.pulse >= DRUMS_PULSE
            && self.high_flatness >= DRUMS_HIGH_FLATNESS
            && self.percussive_soft >= DRUMS_MIN_SHARE
            && (self.percussive_soft >= DRUMS_SOFT_SHARE
                || self.high_percussive >= DRUMS_HIGH_PERCUSSIVE)
    }
}

/// Measures of the whole file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Descriptors {
    pub segments: Vec<Segment>,
    /// Energy-weighted means over the segments.
    pub percussive_share: f32,
    pub percussive_soft: f32,
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
    let mut soft_all = 0f64;
    let mut input = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    for seg in segments {
        // Power spectrogram, frames × bins, frame after frame.
        let mut power: Vec<f32> = Vec::new();
        let mut start = 0;
        while start + FFT <= seg.len() {
            for (i, v) in input.iter_mut().enumerate() {
                *v = seg[start + i] * window[i];
            }
            if fft.process(&mut input, &mut spec).is_err() {
                break;
            }
            power.extend(spec.iter().map(|c| c.norm_sqr()));
            start += HOP;
        }
        let level = seg.iter().map(|v| v * v).sum::<f32>() / seg.len().max(1) as f32;
        if power.is_empty() || level < QUIET {
            out.segments.push(Segment {
                percussive_share: 0.0,
                bass_share: 0.0,
                percussive_soft: 0.0,
                high_percussive: 0.0,
                pulse: 0.0,
                high_flatness: 0.0,
                level,
            });
            continue;
        }
        let frames = power.len() / bins;
        let mags: Vec<f32> = power.iter().map(|p| p.sqrt()).collect();
        let (mut s_tot, mut s_perc, mut s_bass) = (0f64, 0f64, 0f64);
        let (mut s_soft, mut s_high, mut s_high_perc) = (0f64, 0f64, 0f64);
        // Soft-percussive magnitude per frame and bin, for the flux of the percussive part.
        let mut perc_mag: Vec<Vec<f32>> = vec![vec![0.0; bins]; frames];
        hpss::medians(&mags, bins, MEDIAN_TIME, MEDIAN_FREQ, |t, k, m, h, pc| {
            let p = f64::from(power[t * bins + k]);
            if k == 0 || p == 0.0 {
                return;
            }
            // Binary masks with a separation margin (Driedger, Müller & Disch 2014): a bin is
            // percussive only where the across-frequency median beats the across-time median
            // by the margin, harmonic in the opposite case, else residual.
            let percussive = pc > MARGIN * h;
            let harmonic = h > MARGIN * pc;
            s_tot += p;
            if percussive {
                s_perc += p;
            }
            // Wiener mask of power 2 (Fitzgerald 2010): pc² / (pc² + h²).
            let (h2, pc2) = (f64::from(h) * f64::from(h), f64::from(pc) * f64::from(pc));
            let soft = if h2 + pc2 > 0.0 {
                pc2 / (h2 + pc2)
            } else {
                0.0
            };
            s_soft += p * soft;
            perc_mag[t][k] = (soft as f32) * m;
            let f = hz(k);
            if f >= HIGH_HZ {
                s_high += p;
                s_high_perc += p * soft;
            }
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
        });
        total += s_tot;
        perc += s_perc;
        soft_all += s_soft;
        bass += s_bass;
        let share = |x: f64| if s_tot > 0.0 { (x / s_tot) as f32 } else { 0.0 };
        out.segments.push(Segment {
            percussive_share: share(s_perc),
            bass_share: share(s_bass),
            percussive_soft: share(s_soft),
            high_percussive: if s_high > 0.0 {
                (s_high_perc / s_high) as f32
            } else {
                0.0
            },
            pulse: pulse(&perc_mag),
            high_flatness: flatness(&perc_mag, (HIGH_HZ * FFT as f32 / RATE_HZ as f32) as usize),
            level,
        });
    }
    if total > 0.0 {
        out.percussive_share = (perc / total) as f32;
        out.percussive_soft = (soft_all / total) as f32;
        out.bass_share = (bass / total) as f32;
        out.centroid_hz = (centroid / total) as f32;
    }
    if above20 > 0.0 {
        out.low_end_share = (low / above20) as f32;
    }
    out.dfa = dfa_danceability(envelope);
    out
}

/// Regularity of a percussive magnitude spectrogram (frames × bins): its half-wave rectified
/// log-magnitude flux, mean removed, autocorrelated; the highest value at lags from 0.2 s to
/// 1.5 s, normalised by the zero-lag value. Drum patterns repeat at the beat or the bar; a
/// piano's or a choir's attacks do too, but they leave far less flux in the percussive part,
/// which is why this is read together with the shares above.
fn pulse(perc_mag: &[Vec<f32>]) -> f32 {
    let frame_sec = HOP as f32 / RATE_HZ as f32;
    let min_lag = (0.2 / frame_sec).round() as usize;
    let max_lag = (1.5 / frame_sec).round() as usize;
    if perc_mag.len() < 2 * max_lag {
        return 0.0;
    }
    let flux: Vec<f32> = perc_mag
        .windows(2)
        .map(|w| {
            w[1].iter()
                .zip(&w[0])
                .map(|(b, a)| ((1.0 + 1000.0 * b).ln() - (1.0 + 1000.0 * a).ln()).max(0.0))
                .sum()
        })
        .collect();
    let mean = flux.iter().sum::<f32>() / flux.len() as f32;
    let x: Vec<f32> = flux.iter().map(|v| v - mean).collect();
    let zero: f32 = x.iter().map(|v| v * v).sum();
    if zero <= 0.0 {
        return 0.0;
    }
    (min_lag..=max_lag)
        .map(|lag| {
            let r: f32 = x[lag..].iter().zip(&x).map(|(a, b)| a * b).sum();
            r / zero
        })
        .fold(0.0, f32::max)
}

/// Mean over frames of the spectral flatness (geometric over arithmetic mean of power) of
/// `mag` from bin `from` up; frames with no energy there are skipped.
fn flatness(mag: &[Vec<f32>], from: usize) -> f32 {
    let (mut sum, mut n) = (0f64, 0usize);
    for f in mag {
        let band = &f[from.min(f.len())..];
        if band.is_empty() {
            continue;
        }
        let pw: Vec<f64> = band
            .iter()
            .map(|m| f64::from(*m) * f64::from(*m) + 1e-20)
            .collect();
        let am = pw.iter().sum::<f64>() / pw.len() as f64;
        if am <= 1e-12 {
            continue;
        }
        let gm = (pw.iter().map(|v| v.ln()).sum::<f64>() / pw.len() as f64).exp();
        sum += gm / am;
        n += 1;
    }
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

fn median(v: &mut [f32]) -> f32 {
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    *m
}

/// 10 ms RMS frames of `mono` at `rate` Hz: the loudness envelope for DFA.
pub fn envelope(mono: &[f32], rate: u32) -> Vec<f32> {
    let frame = ((f64::from(rate) / ENVELOPE_HZ).round() as usize).max(1);
    mono.chunks(frame).map(rms).collect()
}

fn rms(c: &[f32]) -> f32 {
    let ms = c
        .iter()
        .map(|&x| if x.is_finite() { x * x } else { 0.0 })
        .sum::<f32>()
        / c.len().max(1) as f32;
    ms.sqrt()
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
        // Noise bursts every half second are a drum part; a held chord is not.
        assert!(d_clicks.segments[0].drums_heard(), "{d_clicks:?}");
        assert!(!d_pad.segments[0].drums_heard(), "{d_pad:?}");
        assert!(d_clicks.percussive_soft > d_pad.percussive_soft);
        assert!(d_pad.bass_share > 0.3, "{d_pad:?}");
    }

    #[test]
    fn steady_noise_and_a_gated_tone_are_not_drums() {
        let n = RATE_HZ as usize * 10;
        let mut seed = 11u64;
        // White noise: as much "percussive" as harmonic, and noise-like, but nothing repeats.
        let hiss: Vec<f32> = noise(n, &mut seed).iter().map(|v| 0.3 * v).collect();
        // A 1 kHz tone switched on and off every 0.67 s: regular, with broadband edges.
        let gated: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / RATE_HZ as f32;
                let on = ((t / 0.67) as usize).is_multiple_of(2);
                if on {
                    0.3 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let d = measure(&[hiss, gated], &[]);
        assert!(!d.segments[0].drums_heard(), "{:?}", d.segments[0]);
        assert!(!d.segments[1].drums_heard(), "{:?}", d.segments[1]);
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
