//! The metrical hierarchy and the choice of the felt beat: the bar from the onset envelope's
//! autocorrelation, its subdivisions, and an accent analysis that decides which level listeners
//! tap to. Only `tempo` calls in here.

use super::tempo::{MAX_BPM, MAX_LAG_SEC, MAX_PULSE_BPM, MIN_BPM, acf_peak_near};

/// Length (seconds) of the windows in which the accent pattern is folded: short enough that a
/// drifting tempo keeps its phase, long enough to hold several bars.
const FOLD_WINDOW_SEC: f64 = 8.0;
/// Accent contrast above which a level groups into the next (coarser) one.
const CLIMB_CONTRAST: f64 = 0.32;
/// Extra contrast asked per octave below the preferred tempo when climbing.
const SLOW_PENALTY_PER_OCTAVE: f64 = 0.34;
/// Centre (BPM) of the tempo prior. Moelants (2002) finds tapping preferred near 120 BPM; the
/// prior starts lower so that slow ballad and chorale beats stay within reach.
const PREFERRED_BPM: f64 = 100.0;
/// A beat divided in three is read as compound metre (6/8) only below this tempo (BPM); faster
/// ternary subdivisions are swung or triplet feels in simple metre.
const COMPOUND_MAX_BPM: f64 = 90.0;
/// Shortest bar (seconds) looked for: a 3/4 bar at 180 BPM.
const BAR_MIN_SEC: f64 = 0.95;
/// A shorter bar candidate wins when its autocorrelation is within this share of the best.
const BAR_TIE: f64 = 0.9;
/// A subdivision is a pulse only if its autocorrelation reaches this share of the bar's.
const PULSE_MIN_ACF: f64 = 0.15;
/// ... and at least this share of the envelope's energy (lag 0).
const PULSE_MIN_ABS_ACF: f64 = 0.04;

/// The felt beat and the metre found by the accent analysis.
pub(super) struct Metre {
    pub period: f64,
    pub signature: &'static str,
}

/// One level of the metrical hierarchy: its period (frames) and how many of its pulses make one
/// pulse of the level above.
#[derive(Debug, Clone, Copy)]
pub(super) struct Level {
    period: f64,
    group: usize,
}

/// The bar: the autocorrelation peak between 1 and 5 s that, together with its subdivisions,
/// recurs most strongly. A pattern that repeats every bar also repeats every two bars, so the
/// shortest lag within 10% of the best score wins.
pub(super) fn bar_period(acf: &[f64], fr: f64) -> Option<f64> {
    let lo = (BAR_MIN_SEC * fr).floor() as usize;
    let hi = (acf.len() - 2).min((MAX_LAG_SEC * fr).ceil() as usize);
    let peaks: Vec<(usize, f64)> = (lo.max(1)..hi)
        .filter(|&l| acf[l] > acf[l - 1] && acf[l] >= acf[l + 1] && acf[l] > 0.0)
        .map(|l| {
            let lag = l as f64;
            let sub = [2.0, 3.0, 4.0]
                .iter()
                .map(|d| acf_peak_near(acf, lag / d))
                .fold(0.0f64, f64::max);
            (l, acf[l] + 0.25 * sub)
        })
        .collect();
    let best = peaks.iter().map(|p| p.1).fold(0.0f64, f64::max);
    if best <= 0.0 {
        return None;
    }
    peaks
        .iter()
        .find(|p| p.1 >= BAR_TIE * best)
        .map(|&(l, _)| parabolic_peak(acf, l))
}

/// Sub-frame position of the autocorrelation peak at `l`.
fn parabolic_peak(acf: &[f64], l: usize) -> f64 {
    let (a, b, c) = (acf[l - 1], acf[l], acf[l + 1]);
    let denom = a - 2.0 * b + c;
    if denom.abs() < 1e-12 {
        l as f64
    } else {
        l as f64 + (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
    }
}

/// From the bar down to the fastest pulse: each level divides into two or three, whichever
/// subdivision the autocorrelation supports more.
pub(super) fn hierarchy(acf: &[f64], bar: f64, fr: f64) -> Vec<Level> {
    let mut levels = vec![Level {
        period: bar,
        group: 1,
    }];
    let mut period = bar;
    let floor = (acf_peak_near(acf, bar) * PULSE_MIN_ACF).max(acf[0] * PULSE_MIN_ABS_ACF);
    while 60.0 * fr / period < MAX_PULSE_BPM / 2.0 {
        let s2 = acf_peak_near(acf, period / 2.0);
        let s3 = acf_peak_near(acf, period / 3.0);
        // A syncopated pattern can blur the half bar while the beat stays clear.
        let g = if s2.max(s3) >= floor {
            if s3 > s2 { 3 } else { 2 }
        } else if acf_peak_near(acf, period / 4.0) >= floor {
            4
        } else {
            break;
        };
        period /= g as f64;
        levels.push(Level { period, group: g });
    }
    levels
}

/// Chooses the felt beat from the hierarchy: the fastest level in the tempo range whose pulses
/// are not clearly accented in groups (a grouping with a strong accent means the group is the
/// felt pulse); a tempo prior asks more accent of groupings that would be slow.
pub(super) fn choose_beat(env: &[f64], acf: &[f64], levels: &[Level], fr: f64) -> Option<Metre> {
    let bpm = |p: f64| 60.0 * fr / p;
    let in_range: Vec<usize> = (0..levels.len())
        .filter(|&i| (MIN_BPM..=MAX_BPM).contains(&bpm(levels[i].period)))
        .collect();
    let mut chosen = *in_range.first()?;
    // Walk from fast to slow.
    for &i in in_range.iter().rev() {
        chosen = i;
        if i == 0 {
            break;
        }
        let parent = levels[i - 1];
        let g = levels[i].group;
        let c = accent_contrast(env, levels[i].period, g, fr);
        let octaves_slow = (PREFERRED_BPM / bpm(parent.period)).log2().max(0.0);
        let needed = CLIMB_CONTRAST + SLOW_PENALTY_PER_OCTAVE * octaves_slow;
        if c <= needed {
            break;
        }
    }
    let beat = levels[chosen];
    let sub = levels.get(chosen + 1).map_or(2, |l| l.group);
    let signature = time_signature(acf, beat.period, sub, bpm(beat.period));
    Some(Metre {
        period: beat.period,
        signature,
    })
}

/// The metre from how the beat recurs: three beats to the bar when the pattern repeats after
/// three beats more than after two or four; a slow beat divided in three is compound duple (6/8).
fn time_signature(acf: &[f64], beat: f64, subdivision: usize, bpm: f64) -> &'static str {
    let a2 = acf_peak_near(acf, 2.0 * beat);
    let a3 = acf_peak_near(acf, 3.0 * beat);
    let a4 = acf_peak_near(acf, 4.0 * beat);
    if a3 > a2 && a3 > a4 {
        "3/4"
    } else if subdivision == 3 && bpm < COMPOUND_MAX_BPM {
        "6/8"
    } else {
        "4/4"
    }
}

/// Halves or doubles a period until its tempo lies in the reported range.
pub(super) fn fold_into_range(mut period: f64, fr: f64) -> f64 {
    while 60.0 * fr / period > MAX_BPM {
        period *= 2.0;
    }
    while 60.0 * fr / period < MIN_BPM {
        period /= 2.0;
    }
    period
}

/// How much one of `group` consecutive pulses of `period` frames is accented over the others:
/// the envelope is folded at `group * period` in windows of a few seconds, the pulse phase that
/// collects the most onset energy is chosen, and the contrast is 1 - mean(others) / strongest.
fn accent_contrast(env: &[f64], period: f64, group: usize, fr: f64) -> f64 {
    let cycle = period * group as f64;
    let window = ((FOLD_WINDOW_SEC * fr).max(cycle * 3.0)).round() as usize;
    let bins = cycle.ceil() as usize;
    if bins < 2 || env.len() < window {
        return 0.0;
    }
    let mut pattern = vec![0.0f64; bins];
    let mut counts = vec![0usize; bins];
    let (mut weighted, mut total_w) = (0.0f64, 0.0f64);
    let mut start = 0usize;
    while start + window <= env.len() {
        pattern.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0);
        let mut k = 0usize;
        loop {
            let base = start as f64 + k as f64 * cycle;
            if base + cycle > (start + window) as f64 {
                break;
            }
            for (j, (p, c)) in pattern.iter_mut().zip(counts.iter_mut()).enumerate() {
                let idx = (base + j as f64).round() as usize;
                if idx < env.len() {
                    *p += env[idx];
                    *c += 1;
                }
            }
            k += 1;
        }
        for (p, &c) in pattern.iter_mut().zip(&counts) {
            if c > 0 {
                *p /= c as f64;
            }
        }
        let near = |x: f64| {
            let centre = x.round() as i64;
            (-1..=1)
                .map(|d| pattern[(centre + d).rem_euclid(bins as i64) as usize])
                .fold(f64::MIN, f64::max)
        };
        let steps = period.ceil() as usize;
        let mut best: Option<(f64, Vec<f64>)> = None;
        for o in 0..steps {
            let strengths: Vec<f64> = (0..group)
                .map(|i| near(o as f64 + i as f64 * period))
                .collect();
            let sum: f64 = strengths.iter().sum();
            if best.as_ref().is_none_or(|(b, _)| sum > *b) {
                best = Some((sum, strengths));
            }
        }
        if let Some((sum, strengths)) = best {
            let strongest = strengths.iter().copied().fold(f64::MIN, f64::max);
            if strongest > 0.0 {
                let others = (sum - strongest) / (group - 1) as f64;
                weighted += sum * (1.0 - others / strongest);
                total_w += sum;
            }
        }
        start += window;
    }
    if total_w > 0.0 {
        weighted / total_w
    } else {
        0.0
    }
}
