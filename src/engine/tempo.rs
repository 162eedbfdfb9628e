//! Tempo, beats and metre from the onset envelope: autocorrelation finds the periodicities, an
//! accent analysis of the folded envelope climbs the metrical hierarchy to the felt beat, and a
//! dynamic-programming tracker places the beats.

use serde::{Deserialize, Serialize};

use super::features::Features;
use super::tempo_metre::{Metre, bar_period, choose_beat, fold_into_range, hierarchy};

/// Shortest audio (seconds) from which a tempo is reported: two bars of 4/4 at 96 BPM.
const MIN_TEMPO_SEC: f64 = 5.0;
/// Onset level (99th percentile of the flux, in summed log-magnitude steps) below which nothing
/// starts often enough to carry a beat; music measures 5 or more, a steady sine about 0.5.
const MIN_ONSET_LEVEL: f32 = 1.5;
/// Range of reported tempi (BPM).
pub(super) const MIN_BPM: f64 = 40.0;
pub(super) const MAX_BPM: f64 = 220.0;
/// Fastest pulse (BPM) considered as the starting level of the metrical analysis.
pub(super) const MAX_PULSE_BPM: f64 = 500.0;
/// Longest lag (seconds) of the autocorrelation: a 4/4 bar at 50 BPM.
pub(super) const MAX_LAG_SEC: f64 = 5.0;
/// Beat tracker: how strongly inter-beat intervals are held to the period (Ellis 2007).
const TIGHTNESS: f64 = 100.0;

/// The `tempo` section of the result document. A value that cannot be measured is `None` and
/// `reason` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoReport {
    pub bpm: Option<f64>,
    pub confidence: Option<f64>,
    pub time_signature: Option<String>,
    pub beats: Vec<f64>,
    /// The first beat of each bar (seconds), a subset of `beats`.
    pub downbeats: Vec<f64>,
    pub reason: Option<String>,
}

impl TempoReport {
    fn unmeasured(reason: &str) -> TempoReport {
        TempoReport {
            bpm: None,
            confidence: None,
            time_signature: None,
            beats: Vec::new(),
            downbeats: Vec::new(),
            reason: Some(reason.to_string()),
        }
    }
}

/// Tempo (the felt beat), beat times and metre. Silence, audio under 5 s, a sound without
/// onsets or without a periodicity in 40-220 BPM give `None` values and a `reason`.
pub fn analyze(features: &Features) -> TempoReport {
    if features.is_silent() {
        return TempoReport::unmeasured("silence: no signal above -80 dBFS");
    }
    if features.duration_sec < MIN_TEMPO_SEC || features.onset.len() < 16 {
        return TempoReport::unmeasured("audio too short for a tempo (needs at least 5 s)");
    }
    if onset_level(&features.onset) < MIN_ONSET_LEVEL {
        return TempoReport::unmeasured("no rhythmic onsets found: the sound does not change");
    }
    let fr = features.frame_rate;
    let env = envelope(features);
    let centred = high_pass(&env, (fr * 1.0).round() as usize);
    let max_lag = ((MAX_LAG_SEC * fr).ceil() as usize).min(centred.len() / 2);
    let acf = autocorrelation(&centred, max_lag);
    if acf[0] <= 0.0 {
        return TempoReport::unmeasured("no rhythmic onsets found");
    }

    let metre = bar_period(&acf, fr)
        .and_then(|bar| choose_beat(&env, &acf, &hierarchy(&acf, bar, fr), fr))
        .or_else(|| {
            seed_period(&acf, fr).map(|seed| Metre {
                period: fold_into_range(seed, fr),
                signature: "4/4",
            })
        });
    let Some(metre) = metre else {
        return TempoReport::unmeasured("no periodicity in the onset envelope");
    };
    let period = refine_period(&acf, metre.period);
    if !(MIN_BPM * 0.9..=MAX_BPM * 1.1).contains(&(60.0 * fr / period)) {
        return TempoReport::unmeasured("no periodicity in the playable tempo range");
    }
    let tracked = track_beats(&env, period);
    // The autocorrelation resolves the period to about a frame; the beats, spread over the
    // whole file, pin it down to a fraction of a frame.
    let period = fitted_period(&tracked, period).unwrap_or(period);
    let period = pulse_train_period(&env, period);
    let bpm = 60.0 * fr / period;
    let beats = tracked
        .into_iter()
        .map(|t| ((t as f64 / fr + features.frame_offset_sec) * 1000.0).round() / 1000.0)
        .collect();
    let confidence = (acf_at(&acf, period) / acf[0]).clamp(0.0, 1.0);
    TempoReport {
        bpm: Some((bpm * 10.0).round() / 10.0),
        confidence: Some((confidence * 100.0).round() / 100.0),
        time_signature: Some(metre.signature.to_string()),
        beats,
        downbeats: Vec::new(),
        reason: None,
    }
}

/// Beats per bar of a time signature as reported: the felt beat of 6/8 is the dotted quarter.
pub fn beats_per_bar(signature: &str) -> usize {
    match signature {
        "3/4" => 3,
        "6/8" => 2,
        _ => 4,
    }
}

/// Relative range searched around the beat period by the pulse-train fit: ±3.5 %, inside the
/// ±4 % of Acc1. The beat tracker's period can be 3 % off on slow music with few onsets (a
/// chorale at 84 BPM read 86.5 with a ±1.5 % search), and only the pulse train, laid over every
/// beat of the file, can say by how much.
const PULSE_SEARCH: f64 = 0.035;
/// Relative step of that search: 0.05%, a tenth of the ±0.5 BPM tolerance at 100 BPM.
const PULSE_STEP: f64 = 0.0005;

/// The period whose pulse train, laid over the whole envelope at its best phase, collects the
/// most onset energy: a steady tempo is then measured over every beat at once, to a small
/// fraction of a frame, where the beat tracker's individual beats wander with the notes.
fn pulse_train_period(env: &[f64], period: f64) -> f64 {
    let n = env.len();
    if n < 8 || period < 2.0 {
        return period;
    }
    // A light smoothing, so that a pulse rounded to the neighbouring frame still counts.
    let smooth: Vec<f64> = (0..n)
        .map(|i| {
            let a = env[i.saturating_sub(1)];
            let c = env[(i + 1).min(n - 1)];
            0.25 * a + 0.5 * env[i] + 0.25 * c
        })
        .collect();
    let mean = smooth.iter().sum::<f64>() / n as f64;
    let steps = (PULSE_SEARCH / PULSE_STEP).round() as i64;
    let mut best = (period, f64::MIN);
    for k in -steps..=steps {
        let p = period * (1.0 + k as f64 * PULSE_STEP);
        let pulses = ((n as f64) / p).floor() as usize;
        if pulses < 4 {
            continue;
        }
        let mut top = f64::MIN;
        for phase in 0..p.ceil() as usize {
            let mut sum = 0.0f64;
            let mut count = 0usize;
            let mut pos = phase as f64;
            while (pos.round() as usize) < n {
                sum += smooth[pos.round() as usize];
                count += 1;
                pos += p;
            }
            if count > 0 {
                top = top.max(sum / count as f64 - mean);
            }
        }
        if top > best.1 {
            best = (p, top);
        }
    }
    best.0
}

/// Least-squares slope of beat frame against beat number, over the beats whose spacing is
/// within 15% of `period` (a skipped beat counts as two). `None` when fewer than 8 beats agree
/// or the fit strays more than 3% from `period`.
fn fitted_period(beats: &[usize], period: f64) -> Option<f64> {
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(beats.len());
    let mut number = 0.0f64;
    for (i, &b) in beats.iter().enumerate() {
        if i > 0 {
            let steps = ((b - beats[i - 1]) as f64 / period).round().max(1.0);
            let interval = (b - beats[i - 1]) as f64 / steps;
            number += steps;
            if (interval / period - 1.0).abs() > 0.15 {
                continue;
            }
        }
        points.push((number, b as f64));
    }
    if points.len() < 8 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    ((slope / period - 1.0).abs() <= 0.03).then_some(slope)
}

/// The 99th percentile of the onset envelope: high when notes or hits start, near zero for a
/// steady tone or a drone.
fn onset_level(onset: &[f32]) -> f32 {
    if onset.is_empty() {
        return 0.0;
    }
    let mut values = onset.to_vec();
    let rank = values.len() * 99 / 100;
    *values.select_nth_unstable_by(rank, f32::total_cmp).1
}

/// Onset envelope with the low band counted twice: kick drum and bass notes carry the beat.
fn envelope(features: &Features) -> Vec<f64> {
    features
        .onset
        .iter()
        .zip(&features.onset_low)
        .map(|(&a, &b)| f64::from(a + b))
        .collect()
}

/// Removes the moving average over `width` frames so the autocorrelation sees rhythm, not level.
fn high_pass(x: &[f64], width: usize) -> Vec<f64> {
    let half = width.max(2) / 2;
    let mut prefix = Vec::with_capacity(x.len() + 1);
    prefix.push(0.0);
    for &v in x {
        prefix.push(prefix[prefix.len() - 1] + v);
    }
    (0..x.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(x.len());
            x[i] - (prefix[hi] - prefix[lo]) / (hi - lo) as f64
        })
        .collect()
}

/// Unbiased autocorrelation for lags 0..=max_lag.
fn autocorrelation(x: &[f64], max_lag: usize) -> Vec<f64> {
    (0..=max_lag)
        .map(|lag| {
            let n = x.len() - lag;
            let s: f64 = x[..n].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum();
            s / n as f64
        })
        .collect()
}

/// Autocorrelation at a fractional lag, by linear interpolation; 0 beyond the computed range.
pub(super) fn acf_at(acf: &[f64], lag: f64) -> f64 {
    if lag < 0.0 {
        return 0.0;
    }
    let i = lag.floor() as usize;
    if i + 1 >= acf.len() {
        return 0.0;
    }
    let f = lag - i as f64;
    acf[i] * (1.0 - f) + acf[i + 1] * f
}

/// Peak of the autocorrelation within ±1 frame of `lag`.
pub(super) fn acf_peak_near(acf: &[f64], lag: f64) -> f64 {
    [lag - 1.0, lag - 0.5, lag, lag + 0.5, lag + 1.0]
        .iter()
        .map(|&l| acf_at(acf, l))
        .fold(f64::MIN, f64::max)
}

/// Periodicity salience of `period`: the autocorrelation summed over its first multiples, so a
/// pulse whose multiples also recur outranks a stray peak.
fn comb_salience(acf: &[f64], period: f64) -> f64 {
    (1..=4)
        .map(|k| {
            let lag = period * k as f64;
            if lag >= (acf.len() - 2) as f64 {
                0.0
            } else {
                acf_peak_near(acf, lag) / k as f64
            }
        })
        .sum()
}

/// The most salient pulse between the fastest pulse considered and the slowest tempo.
fn seed_period(acf: &[f64], fr: f64) -> Option<f64> {
    let min_lag = 60.0 * fr / MAX_PULSE_BPM;
    let max_lag = (60.0 * fr / MIN_BPM).min((acf.len() - 2) as f64 / 2.0);
    let mut best: Option<(f64, f64)> = None;
    let mut lag = min_lag.max(2.0);
    while lag <= max_lag {
        let s = comb_salience(acf, lag);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((lag, s));
        }
        lag *= 1.005;
    }
    best.filter(|&(_, s)| s > 0.0).map(|(l, _)| l)
}

/// Refines a period to the local maximum of the comb salience within ±3%.
fn refine_period(acf: &[f64], period: f64) -> f64 {
    let mut best = (period, comb_salience(acf, period));
    let mut p = period * 0.97;
    while p <= period * 1.03 {
        let s = comb_salience(acf, p);
        if s > best.1 {
            best = (p, s);
        }
        p += 0.02;
    }
    best.0
}

/// Dynamic-programming beat tracker (Ellis 2007): each beat is the onset strength at its frame
/// plus the best earlier beat, penalised by the log-ratio of the interval to the period.
fn track_beats(env: &[f64], period: f64) -> Vec<usize> {
    let n = env.len();
    let mean = env.iter().sum::<f64>() / n.max(1) as f64;
    let std = (env.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt();
    let norm: Vec<f64> = env
        .iter()
        .map(|v| if std > 0.0 { v / std } else { 0.0 })
        .collect();
    let lo = (period / 2.0).round().max(1.0) as usize;
    let hi = (period * 2.0).round() as usize;
    // Penalty by interval in frames, computed once.
    let penalty: Vec<f64> = (0..=hi)
        .map(|d| TIGHTNESS * (d.max(1) as f64 / period).ln().powi(2))
        .collect();
    let mut score = vec![0.0f64; n];
    let mut back: Vec<Option<usize>> = vec![None; n];
    for t in 0..n {
        let mut best: Option<(f64, usize)> = None;
        if t >= lo {
            let first = t.saturating_sub(hi);
            for (offset, &prev_score) in score[first..=t - lo].iter().enumerate() {
                let prev = first + offset;
                let s = prev_score - penalty[t - prev];
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, prev));
                }
            }
        }
        match best {
            Some((s, prev)) if s > 0.0 => {
                score[t] = norm[t] + s;
                back[t] = Some(prev);
            }
            _ => score[t] = norm[t],
        }
    }
    // End on the best-scoring frame within the last period.
    let tail = n.saturating_sub(period.ceil() as usize);
    let mut t = (tail..n)
        .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        .unwrap_or(0);
    let mut beats = vec![t];
    while let Some(prev) = back[t] {
        beats.push(prev);
        t = prev;
    }
    beats.reverse();
    beats
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::features::synth;

    fn bpm_of(signal: &[f32], rate: u32) -> TempoReport {
        analyze(&Features::compute(signal, rate))
    }

    #[test]
    fn click_track_at_120_bpm_reads_120() {
        let report = bpm_of(&synth::click_track(120.0, 20.0, 44_100), 44_100);
        let bpm = report.bpm.expect("a tempo");
        assert!((bpm - 120.0).abs() <= 1.0, "got {bpm}");
        assert!(report.reason.is_none());
        assert!(report.confidence.is_some_and(|c| (0.0..=1.0).contains(&c)));
        assert!(report.time_signature.is_some());
    }

    #[test]
    fn click_track_at_128_bpm_reads_128_0() {
        let report = bpm_of(&synth::click_track(128.0, 20.0, 44_100), 44_100);
        assert_eq!(report.bpm, Some(128.0), "{report:?}");
    }

    #[test]
    fn beat_fit_reads_the_period_between_frames() {
        // Beats every 43.4 frames, quantised to whole frames.
        let beats: Vec<usize> = (0..40)
            .map(|i| (f64::from(i) * 43.4).round() as usize)
            .collect();
        let p = fitted_period(&beats, 43.0).expect("a fit");
        assert!((p - 43.4).abs() < 0.02, "{p}");
        assert_eq!(fitted_period(&beats[..5], 43.0), None);
    }

    #[test]
    fn click_track_at_90_bpm_reads_90() {
        let bpm = bpm_of(&synth::click_track(90.0, 20.0, 48_000), 48_000).bpm;
        assert!(bpm.is_some_and(|b| (b - 90.0).abs() <= 1.0), "got {bpm:?}");
    }

    #[test]
    fn beats_fall_on_the_clicks() {
        let report = bpm_of(&synth::click_track(100.0, 15.0, 22_050), 22_050);
        assert!(report.beats.len() >= 20, "{} beats", report.beats.len());
        for &t in &report.beats {
            let phase = (t / 0.6).fract();
            let off = phase.min(1.0 - phase) * 0.6;
            assert!(off < 0.02, "beat at {t} is {off} s from a click");
        }
    }

    #[test]
    fn tempo_does_not_depend_on_level() {
        let loud = synth::click_track(132.0, 12.0, 44_100);
        let quiet: Vec<f32> = loud.iter().map(|v| v * 0.01).collect();
        let a = bpm_of(&loud, 44_100);
        let b = bpm_of(&quiet, 44_100);
        assert!(a.bpm.is_some_and(|x| (x - 132.0).abs() <= 1.0), "{a:?}");
        assert_eq!(a.bpm, b.bpm);
        assert_eq!(a.beats, b.beats);
    }

    #[test]
    fn extreme_sample_rates_work() {
        for rate in [8_000u32, 192_000] {
            let bpm = bpm_of(&synth::click_track(120.0, 12.0, rate), rate).bpm;
            assert!(
                bpm.is_some_and(|b| (b - 120.0).abs() <= 1.0),
                "{rate} Hz: {bpm:?}"
            );
        }
    }

    #[test]
    fn silence_gives_no_tempo_and_a_reason() {
        let report = bpm_of(&vec![0.0; 44_100 * 10], 44_100);
        assert_eq!(report.bpm, None);
        assert_eq!(report.confidence, None);
        assert!(report.beats.is_empty());
        assert!(report.reason.is_some_and(|r| r.contains("silence")));
    }

    #[test]
    fn short_audio_gives_no_tempo_and_a_reason() {
        let report = bpm_of(&synth::click_track(120.0, 3.0, 44_100), 44_100);
        assert_eq!(report.bpm, None);
        assert!(report.reason.is_some_and(|r| r.contains("too short")));
    }

    #[test]
    fn steady_tone_gives_no_tempo() {
        let x: Vec<f32> = (0..44_100 * 8)
            .map(|i| {
                0.3 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 44_100.0).sin() as f32
            })
            .collect();
        let report = bpm_of(&x, 44_100);
        assert_eq!(report.bpm, None, "{report:?}");
        assert!(report.reason.is_some());
    }

    #[test]
    fn pulse_train_recovers_a_period_three_percent_off() {
        // Pulses every 61.5 frames (84 BPM at 86.1 frames per second) over 30 s, searched from
        // a period 3 % short of it.
        let period = 61.5;
        let mut env = vec![0.0f64; 2600];
        let mut t = 10.0f64;
        while (t.round() as usize) < env.len() {
            env[t.round() as usize] = 1.0;
            t += period;
        }
        let found = pulse_train_period(&env, period * 0.97);
        assert!((found / period - 1.0).abs() < 0.002, "{found}");
    }
}
