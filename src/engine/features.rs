//! Intermediate features shared by the musical analysers (tempo, key), computed once per file:
//! the mono mix is decimated to about 11 kHz and put through one short-time Fourier transform
//! that yields both the onset envelope (for tempo) and the pitch-class profiles (for key).

use realfft::RealFftPlanner;

/// Below this rate (Hz) there is no spectrum worth analysing; decoded audio starts at 8 kHz.
const MIN_ANALYSIS_RATE_HZ: f64 = 4_000.0;
/// Target analysis rate in Hz; the actual rate is the native rate divided by an integer.
const ANALYSIS_RATE_HZ: f64 = 11_025.0;
/// Hop between analysis frames in seconds (about 11.6 ms, 128 samples at 11025 Hz).
const HOP_SEC: f64 = 128.0 / 11_025.0;
/// Pitch-class profiles are taken on every Nth frame: harmony moves slower than onsets.
const CHROMA_EVERY: usize = 4;
/// Lowest and highest frequency (Hz) of spectral peaks used for pitch classes.
const CHROMA_MIN_HZ: f64 = 50.0;
const CHROMA_MAX_HZ: f64 = 2_600.0;
/// Peaks below this MIDI pitch (about 250 Hz) also form the bass pitch classes.
const BASS_MAX_PITCH: f32 = 59.0;
/// Where in its window a frame's flux sees an onset, as a share of the window length: a new
/// sound enters at the window's end, and the log energy rises fastest while it is still in the
/// trailing part of the Hann window (measured on clicks: 0.78).
const ONSET_WINDOW_POSITION: f64 = 0.78;
/// Compression of band magnitudes before the flux, `ln(1 + gain·|X|)` with a full-scale sine at
/// |X| = 1: the knee sits 88 dB below full scale, so the flux measures relative change almost
/// everywhere. A knee at -70 dB cost 11 points of Acc1 on the public corpus: quiet notes count.
const ONSET_LOG_GAIN: f32 = 25_600.0;
/// Lowest frequency (Hz) of the onset filterbank.
const ONSET_MIN_HZ: f64 = 30.0;
/// Onset filterbank bands per octave.
const ONSET_BANDS_PER_OCTAVE: f64 = 3.0;
/// Onset bands whose centre is below this frequency (Hz) also form the low-band onset envelope.
const LOW_ONSET_MAX_HZ: f64 = 200.0;
/// Peak level (linear full scale) every file is brought to before the onset function (-3 dBFS).
const REFERENCE_PEAK: f32 = 0.7;
/// Peak level (linear full scale) under which the whole file counts as silence (-80 dBFS).
const SILENCE_PEAK: f32 = 1.0e-4;

/// Features computed once from the mono mix-down.
#[derive(Debug, Clone)]
pub struct Features {
    pub sample_rate: u32,
    pub duration_sec: f64,
    /// Rate (Hz) the STFT ran at after integer decimation.
    pub analysis_rate: f64,
    /// Onset-envelope frames per second.
    pub frame_rate: f64,
    /// Time (seconds) at which frame 0 registers an onset: frame `t` is `t / frame_rate` later.
    pub frame_offset_sec: f64,
    /// Spectral flux of the log-compressed filterbank, one value per frame.
    pub onset: Vec<f32>,
    /// The same flux restricted to the bands below 200 Hz (kick drum, bass notes).
    pub onset_low: Vec<f32>,
    /// Pitch-class profiles (C = 0) at `chroma_rate` frames per second, tuning-corrected.
    pub chroma: Vec<[f32; 12]>,
    /// The same profiles from the peaks below 250 Hz only (bass notes), for chord roots.
    pub chroma_bass: Vec<[f32; 12]>,
    pub chroma_rate: f64,
    /// Time (seconds) of the centre of chroma frame 0: frame `k` is `k / chroma_rate` later.
    pub chroma_offset_sec: f64,
    /// Log-compressed 1/3-octave band magnitudes (the onset filterbank), `timbre_bands` values
    /// per frame, aligned with `chroma`: the spectral envelope, for telling textures apart.
    pub timbre: Vec<f32>,
    pub timbre_bands: usize,
    /// Frame RMS of the decimated signal, aligned with `chroma`.
    pub chroma_rms: Vec<f32>,
    /// Bass pitch classes (below 250 Hz) of the harmonic part alone, drums suppressed by
    /// median-filter separation (see `hpss`), aligned with `chroma`: bass notes without the
    /// kick drum, for chord roots.
    pub harmonic_bass: Vec<[f32; 12]>,
    /// Share of each frame's energy (50 Hz to 2.6 kHz) in the harmonic part, aligned with
    /// `chroma`: near 1 for held notes, low for drums alone.
    pub harmonic_share: Vec<f32>,
    /// Estimated deviation of the tuning from A = 440 Hz, in semitones (-0.5..0.5).
    pub tuning_semitones: f64,
    /// Absolute peak sample of the input.
    pub peak: f32,
}

impl Features {
    /// `mono` is the ITU down-mix at `sample_rate` Hz.
    pub fn compute(mono: &[f32], sample_rate: u32) -> Features {
        let sr = f64::from(sample_rate.max(1));
        let duration_sec = mono.len() as f64 / sr;
        // A corrupt stream can carry NaN or infinite samples; they would poison every sum.
        let cleaned: Option<Vec<f32>> = mono.iter().any(|x| !x.is_finite()).then(|| {
            mono.iter()
                .map(|&x| if x.is_finite() { x } else { 0.0 })
                .collect()
        });
        let mono = cleaned.as_deref().unwrap_or(mono);
        let peak = mono.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let factor = ((sr / ANALYSIS_RATE_HZ).round() as usize).max(1);
        let analysis_rate = sr / factor as f64;
        let hop = ((analysis_rate * HOP_SEC).round() as usize).max(1);
        let frame_rate = analysis_rate / hop as f64;
        let mut out = Features {
            sample_rate,
            duration_sec,
            analysis_rate,
            frame_rate,
            frame_offset_sec: 0.0,
            onset: Vec::new(),
            onset_low: Vec::new(),
            chroma: Vec::new(),
            chroma_bass: Vec::new(),
            chroma_rate: frame_rate / CHROMA_EVERY as f64,
            chroma_offset_sec: 0.0,
            chroma_rms: Vec::new(),
            harmonic_bass: Vec::new(),
            harmonic_share: Vec::new(),
            timbre: Vec::new(),
            timbre_bands: 0,
            tuning_semitones: 0.0,
            peak,
        };
        if peak < SILENCE_PEAK || analysis_rate < MIN_ANALYSIS_RATE_HZ {
            return out;
        }
        let signal = decimate(mono, factor);
        let fft_len = if analysis_rate > 14_000.0 { 2048 } else { 1024 };
        if signal.len() < fft_len {
            return out;
        }
        out.frame_offset_sec = ONSET_WINDOW_POSITION * fft_len as f64 / analysis_rate;
        out.chroma_offset_sec = 0.5 * fft_len as f64 / analysis_rate;
        stft_features(&signal, fft_len, hop, &mut out);
        out
    }

    /// True when the input never rises above -80 dBFS.
    pub fn is_silent(&self) -> bool {
        self.peak < SILENCE_PEAK
    }
}

/// Integer decimation with two cascaded moving averages as the anti-alias filter (a triangular
/// FIR of 2·factor − 1 taps, evaluated only at the kept samples): cheap, and its nulls sit on
/// the frequencies that would fold onto DC, which is where the analysers look.
fn decimate(x: &[f32], factor: usize) -> Vec<f32> {
    if factor == 1 {
        return x.to_vec();
    }
    let taps = 2 * factor - 1;
    let norm = 1.0 / (factor * factor) as f32;
    let weights: Vec<f32> = (0..taps)
        .map(|j| (factor - (j as i64 - (factor as i64 - 1)).unsigned_abs() as usize) as f32 * norm)
        .collect();
    let n_out = x.len() / factor;
    let mut out = Vec::with_capacity(n_out);
    for k in 0..n_out {
        let end = (k + 1) * factor;
        let start = end.saturating_sub(taps);
        let segment = &x[start..end];
        let w = &weights[taps - segment.len()..];
        out.push(segment.iter().zip(w).map(|(a, b)| a * b).sum());
    }
    out
}

/// One spectral peak: fractional MIDI pitch and its magnitude.
#[derive(Clone, Copy)]
struct Peak {
    pitch: f32,
    weight: f32,
}

fn stft_features(signal: &[f32], fft_len: usize, hop: usize, out: &mut Features) {
    let rate = out.analysis_rate;
    let n_bins = fft_len / 2 + 1;
    let bin_hz = rate / fft_len as f64;
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(fft_len);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    // The window also brings the file to a fixed peak level: the onset function compresses
    // magnitudes with a logarithm whose knee is absolute, so without this a quiet master would
    // weigh its quiet notes differently from a loud one.
    // Dividing by a quarter of the window length also makes a full-scale sine read 1.
    let gain = REFERENCE_PEAK / out.peak.max(SILENCE_PEAK) * 4.0 / fft_len as f32;
    let window: Vec<f32> = (0..fft_len)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / fft_len as f64;
            (0.5 - 0.5 * phase.cos()) as f32 * gain
        })
        .collect();

    // Onset bands as contiguous bin ranges, from ONSET_MIN_HZ upward in fractions of an octave.
    let band_of = |k: usize| {
        let f = k as f64 * bin_hz;
        (f >= ONSET_MIN_HZ)
            .then(|| (ONSET_BANDS_PER_OCTAVE * (f / ONSET_MIN_HZ).log2()).floor() as usize)
    };
    let mut band_ranges: Vec<(usize, usize)> = Vec::new();
    for k in 0..n_bins {
        if let Some(b) = band_of(k) {
            if b >= band_ranges.len() {
                band_ranges.resize(b + 1, (k, k));
                band_ranges[b] = (k, k);
            }
            band_ranges[b].1 = k + 1;
        }
    }
    let n_bands = band_ranges.len();
    out.timbre_bands = n_bands;
    let low_bands = (0..n_bands)
        .take_while(|&b| {
            let centre = ONSET_MIN_HZ * 2f64.powf((b as f64 + 0.5) / ONSET_BANDS_PER_OCTAVE);
            centre < LOW_ONSET_MAX_HZ
        })
        .count();
    let chroma_lo = ((CHROMA_MIN_HZ / bin_hz).floor() as usize).max(2);
    let chroma_hi = ((CHROMA_MAX_HZ / bin_hz).ceil() as usize).min(n_bins - 2);

    let n_frames = (signal.len() - fft_len) / hop + 1;
    out.onset.reserve(n_frames);
    out.onset_low.reserve(n_frames);
    let mut bands = vec![0.0f32; n_bands];
    // Flux is taken against the frame two hops back: at an 11.6 ms hop with a 93 ms window,
    // adjacent frames overlap too much for a clean rise.
    let mut history: [Vec<f32>; 2] = [vec![0.0; n_bands], vec![0.0; n_bands]];
    let mut mags = vec![0.0f32; n_bins];
    let mut peaks: Vec<Peak> = Vec::new();
    let mut peak_offsets: Vec<usize> = Vec::new();
    let mut frame_rms: Vec<f32> = Vec::new();
    // The chroma range of every chroma frame's spectrum (one bin either side for the peak
    // interpolation), for the harmonic/percussive separation after the pass.
    let has_chroma = chroma_lo + 2 < chroma_hi;
    let (row_lo, row_hi) = (chroma_lo - 1, chroma_hi + 1);
    let mut rows: Vec<f32> = Vec::new();

    for t in 0..n_frames {
        let start = t * hop;
        let frame = &signal[start..start + fft_len];
        for ((dst, &s), &w) in input.iter_mut().zip(frame).zip(&window) {
            *dst = s * w;
        }
        if fft
            .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .is_err()
        {
            // Buffer sizes come from the plan itself; treat a refusal as an empty frame.
            spectrum
                .iter_mut()
                .for_each(|c| *c = realfft::num_complex::Complex::new(0.0, 0.0));
        }
        // Not `norm()`: its overflow-safe hypot costs several times more and the values are small.
        for (m, c) in mags.iter_mut().zip(&spectrum) {
            *m = (c.re * c.re + c.im * c.im).sqrt();
        }
        for (b, &(lo, hi)) in bands.iter_mut().zip(&band_ranges) {
            *b = mags[lo..hi].iter().sum();
        }
        let prev = &history[t % 2];
        let mut flux = 0.0f32;
        let mut flux_low = 0.0f32;
        for (b, v) in bands.iter_mut().enumerate() {
            *v = (1.0 + ONSET_LOG_GAIN * *v).ln();
            let d = *v - prev[b];
            if d > 0.0 {
                flux += d;
                if b < low_bands {
                    flux_low += d;
                }
            }
        }
        history[t % 2].copy_from_slice(&bands);
        if t < 2 {
            flux = 0.0;
            flux_low = 0.0;
        }
        out.onset.push(flux);
        out.onset_low.push(flux_low);

        if t % CHROMA_EVERY == 0 {
            peak_offsets.push(peaks.len());
            let rms = (frame.iter().map(|v| v * v).sum::<f32>() / fft_len as f32).sqrt();
            frame_rms.push(rms);
            out.timbre.extend_from_slice(&bands);
            if has_chroma {
                collect_peaks(&mags, chroma_lo, chroma_hi, 0, bin_hz, &mut peaks);
                rows.extend_from_slice(&mags[row_lo..row_hi]);
            }
        }
    }
    peak_offsets.push(peaks.len());

    let tuning = estimate_tuning(&peaks);
    out.tuning_semitones = tuning;
    out.chroma.reserve(peak_offsets.len());
    out.chroma_bass.reserve(peak_offsets.len());
    for w in peak_offsets.windows(2) {
        let mut chroma = [0.0f32; 12];
        let mut bass = [0.0f32; 12];
        for p in &peaks[w[0]..w[1]] {
            let pitch = p.pitch - tuning as f32;
            add_pitch(&mut chroma, pitch, p.weight);
            if pitch < BASS_MAX_PITCH {
                add_pitch(&mut bass, pitch, p.weight);
            }
        }
        out.chroma.push(chroma);
        out.chroma_bass.push(bass);
    }
    out.chroma_rms = frame_rms;
    if has_chroma {
        harmonic_bass(&rows, row_lo, row_hi - row_lo, bin_hz, tuning, out);
    }
}

/// The harmonic part's bass pitch classes and energy share of each chroma frame, from `rows`
/// (the chroma-range spectrum of every chroma frame, `width` bins starting at bin `row_lo`).
fn harmonic_bass(
    rows: &[f32],
    row_lo: usize,
    width: usize,
    bin_hz: f64,
    tuning: f64,
    out: &mut Features,
) {
    let (harmonic, share) = super::hpss::harmonic_part(rows, width);
    let mut peaks: Vec<Peak> = Vec::new();
    out.harmonic_bass.reserve(share.len());
    for row in harmonic.chunks_exact(width) {
        peaks.clear();
        collect_peaks(row, 1, width - 1, row_lo, bin_hz, &mut peaks);
        let mut bass = [0.0f32; 12];
        for p in &peaks {
            let pitch = p.pitch - tuning as f32;
            if pitch < BASS_MAX_PITCH {
                add_pitch(&mut bass, pitch, p.weight);
            }
        }
        out.harmonic_bass.push(bass);
    }
    out.harmonic_share = share;
}

/// Local maxima of the magnitude spectrum within `lo..hi`, refined by parabolic interpolation on
/// the log magnitude (as in HPCP, Gómez 2006), ignoring peaks 60 dB below the frame's maximum.
/// `mags[k]` is the magnitude of FFT bin `k + bin_offset`.
fn collect_peaks(
    mags: &[f32],
    lo: usize,
    hi: usize,
    bin_offset: usize,
    bin_hz: f64,
    peaks: &mut Vec<Peak>,
) {
    let frame_max = mags[lo..hi].iter().fold(0.0f32, |m, &v| m.max(v));
    if frame_max <= 1.0e-9 {
        return;
    }
    let floor = frame_max * 1.0e-3;
    for k in lo..hi {
        let m = mags[k];
        if m > floor && m > mags[k - 1] && m >= mags[k + 1] {
            let a = mags[k - 1].max(1.0e-12).ln();
            let b = m.ln();
            let c = mags[k + 1].max(1.0e-12).ln();
            let denom = a - 2.0 * b + c;
            let delta = if denom.abs() > 1.0e-12 {
                (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            let freq = ((k + bin_offset) as f64 + f64::from(delta)) * bin_hz;
            let amp = (b - 0.25 * (a - c) * delta).exp();
            let pitch = (69.0 + 12.0 * (freq / 440.0).log2()) as f32;
            peaks.push(Peak { pitch, weight: amp });
        }
    }
}

/// Tuning offset in semitones: the circular mean of the peaks' deviations from equal temperament
/// at A = 440 Hz, weighted by magnitude.
fn estimate_tuning(peaks: &[Peak]) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for p in peaks {
        let phase = 2.0 * std::f64::consts::PI * f64::from(p.pitch);
        let w = f64::from(p.weight);
        s += w * phase.sin();
        c += w * phase.cos();
    }
    if s == 0.0 && c == 0.0 {
        return 0.0;
    }
    s.atan2(c) / (2.0 * std::f64::consts::PI)
}

/// Spreads a peak over the two nearest pitch classes with a squared-cosine window one semitone
/// wide either side, so a slightly mistuned partial is not lost between classes.
fn add_pitch(chroma: &mut [f32; 12], pitch: f32, weight: f32) {
    let nearest = pitch.round();
    let dev = pitch - nearest;
    let pc = (nearest as i64).rem_euclid(12) as usize;
    let main = (std::f32::consts::FRAC_PI_2 * dev).cos().powi(2);
    chroma[pc] += weight * main;
    let side = if dev >= 0.0 {
        (pc + 1) % 12
    } else {
        (pc + 11) % 12
    };
    let side_w = (std::f32::consts::FRAC_PI_2 * (1.0 - dev.abs()))
        .cos()
        .powi(2);
    chroma[side] += weight * side_w;
}

/// Signals with a known answer, synthesised for the analysers' tests.
#[cfg(test)]
pub(crate) mod synth {
    /// Decaying noise bursts (10 ms attack-free, 40 ms decay) at `bpm`, like a metronome.
    pub fn click_track(bpm: f64, seconds: f64, rate: u32) -> Vec<f32> {
        let n = (seconds * f64::from(rate)) as usize;
        let mut out = vec![0.0f32; n];
        let period = 60.0 / bpm * f64::from(rate);
        let click_len = (0.05 * f64::from(rate)) as usize;
        let mut seed = 0x1234_5678u32;
        let mut beat = 0usize;
        loop {
            let start = (beat as f64 * period).round() as usize;
            if start >= n {
                break;
            }
            for i in 0..click_len.min(n - start) {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
                let decay = (-(i as f32) / (0.008 * rate as f32)).exp();
                out[start + i] = 0.5 * noise * decay;
            }
            beat += 1;
        }
        out
    }

    /// A piano-like tone: eight harmonics falling off as 1/h, with an exponential decay.
    fn add_tone(out: &mut [f32], rate: u32, start: usize, len: usize, midi: f64, gain: f32) {
        let freq = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
        let nyquist = f64::from(rate) / 2.0;
        for i in 0..len.min(out.len().saturating_sub(start)) {
            let t = i as f64 / f64::from(rate);
            let env = (-t * 2.5).exp() as f32 * (1.0 - (-t * 400.0).exp()) as f32;
            let mut v = 0.0f64;
            for h in 1..=8 {
                let f = freq * f64::from(h);
                if f < nyquist {
                    v += (2.0 * std::f64::consts::PI * f * t).sin() / f64::from(h);
                }
            }
            out[start + i] += gain * env * v as f32;
        }
    }

    /// A rock beat at `bpm` without any pitched instrument: a kick (a sine falling from 150 to
    /// 50 Hz) on beats 1 and 3, a noise snare on 2 and 4, and noise hi-hats on every eighth.
    pub fn drum_kit(bpm: f64, seconds: f64, rate: u32) -> Vec<f32> {
        let sr = f64::from(rate);
        let n = (seconds * sr) as usize;
        let mut out = vec![0.0f32; n];
        let eighth = 30.0 / bpm * sr;
        let mut seed = 0x9e37_79b9u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        };
        let mut k = 0usize;
        loop {
            let start = (k as f64 * eighth).round() as usize;
            if start >= n {
                break;
            }
            let len = ((0.25 * sr) as usize).min(n - start);
            let mut phase = 0.0f64;
            for i in 0..len {
                let t = i as f64 / sr;
                let v = match k % 4 {
                    0 => {
                        phase +=
                            2.0 * std::f64::consts::PI * (50.0 + 100.0 * (-t * 30.0).exp()) / sr;
                        0.6 * (-t * 12.0).exp() as f32 * phase.sin() as f32
                    }
                    2 => 0.4 * (-t * 20.0).exp() as f32 * noise(),
                    _ => 0.0,
                };
                let hat = if i < (0.04 * sr) as usize {
                    0.1 * (-t * 80.0).exp() as f32 * noise()
                } else {
                    0.0
                };
                out[start + i] += v + hat;
            }
            k += 1;
        }
        out
    }

    /// Chords of MIDI notes, one per `chord_sec`, each with its first note doubled an octave
    /// below as a bass, cycled for `seconds`.
    pub fn progression(chords: &[&[i32]], chord_sec: f64, seconds: f64, rate: u32) -> Vec<f32> {
        let n = (seconds * f64::from(rate)) as usize;
        let mut out = vec![0.0f32; n];
        let chord_len = (chord_sec * f64::from(rate)) as usize;
        let mut start = 0usize;
        let mut idx = 0usize;
        while start < n {
            let chord = chords[idx % chords.len()];
            for &note in chord {
                add_tone(&mut out, rate, start, chord_len, f64::from(note), 0.08);
            }
            add_tone(
                &mut out,
                rate,
                start,
                chord_len,
                f64::from(chord[0] - 12),
                0.1,
            );
            start += chord_len;
            idx += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_low_frequencies_and_attenuates_high_ones() {
        let rate = 44_100.0f64;
        let tone = |f: f64| -> Vec<f32> {
            (0..44_100)
                .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / rate).sin() as f32)
                .collect()
        };
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        let low = decimate(&tone(200.0), 4);
        let high = decimate(&tone(10_500.0), 4);
        assert_eq!(low.len(), 11_025);
        assert!((rms(&low) - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.02);
        assert!(rms(&high) < 0.05, "alias at {}", rms(&high));
    }

    #[test]
    fn analysis_rate_is_near_11_khz_for_common_rates() {
        for (rate, expected) in [(8_000, 8_000.0), (22_050, 11_025.0), (44_100, 11_025.0)] {
            let f = Features::compute(&synth::click_track(120.0, 6.0, rate), rate);
            assert_eq!(f.analysis_rate, expected);
            assert!(!f.onset.is_empty() && !f.chroma.is_empty());
        }
        let f = Features::compute(&synth::click_track(120.0, 6.0, 192_000), 192_000);
        assert!((f.analysis_rate - 11_294.0).abs() < 1.0);
    }

    #[test]
    fn silence_and_empty_input_give_no_frames() {
        let f = Features::compute(&vec![0.0; 48_000 * 3], 48_000);
        assert!(f.is_silent());
        assert!(f.onset.is_empty());
        let f = Features::compute(&[], 44_100);
        assert!(f.is_silent());
        assert_eq!(f.duration_sec, 0.0);
    }

    #[test]
    fn non_finite_samples_and_odd_rates_do_not_panic() {
        let mut x = synth::click_track(120.0, 6.0, 44_100);
        x[1000] = f32::NAN;
        x[2000] = f32::INFINITY;
        let f = Features::compute(&x, 44_100);
        assert!(f.onset.iter().all(|v| v.is_finite()));
        assert!(f.chroma.iter().flatten().all(|v| v.is_finite()));
        for rate in [0u32, 1, 1_000] {
            let f = Features::compute(&x, rate);
            assert!(f.onset.is_empty() && f.chroma.is_empty());
        }
    }

    #[test]
    fn tuning_offset_is_measured() {
        // A quarter-tone sharp progression reads about +0.25 semitones off A = 440 Hz.
        let rate = 22_050u32;
        let chords: [&[i32]; 2] = [&[60, 64, 67], &[65, 69, 72]];
        let mut x = synth::progression(&chords, 1.0, 6.0, rate);
        let f0 = Features::compute(&x, rate);
        assert!(f0.tuning_semitones.abs() < 0.08, "{}", f0.tuning_semitones);
        // Resample by 2^(-0.25/12) to raise the pitch by a quarter semitone.
        let ratio = 2f64.powf(0.25 / 12.0);
        let shifted: Vec<f32> = (0..(x.len() as f64 / ratio) as usize)
            .map(|i| {
                let p = i as f64 * ratio;
                let j = p.floor() as usize;
                let fr = (p - j as f64) as f32;
                x[j] * (1.0 - fr) + x.get(j + 1).copied().unwrap_or(0.0) * fr
            })
            .collect();
        x = shifted;
        let f1 = Features::compute(&x, rate);
        assert!(
            (f1.tuning_semitones - 0.25).abs() < 0.08,
            "{}",
            f1.tuning_semitones
        );
    }
}
