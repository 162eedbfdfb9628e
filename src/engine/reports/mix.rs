//! The mix report: is this master ready for the streaming platforms? Statistics gathered while
//! decoding (DC, clipped runs, stereo correlation, silence at the ends) are combined with the
//! loudness section and the low-end share into pass/warn/fail checks, the gain each platform's
//! loudness normalisation would apply, and the one move that matters most.

use serde::{Deserialize, Serialize};

use crate::engine::loudness::LoudnessReport;

/// A sample at or above this magnitude counts as clipped (lossy decoders can exceed it).
const CLIP_LEVEL: f32 = 0.999;
/// Stereo correlation windows (seconds).
const CORR_WINDOW_SEC: f64 = 0.4;
/// Windows whose channels are quieter than this RMS have no meaningful correlation.
const CORR_MIN_RMS: f64 = 1.0e-5;
/// Silence at the head and tail: below -60 dBFS.
const SILENCE_LEVEL: f32 = 0.001;

/// Loudness target of one streaming platform, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformTarget {
    pub name: String,
    pub target_lufs: f64,
}

/// The platform table and the true-peak ceiling the mix checks use (config `[mix]`).
#[derive(Debug, Clone, PartialEq)]
pub struct MixTargets {
    pub platforms: Vec<PlatformTarget>,
    pub true_peak_max_dbtp: f64,
}

impl Default for MixTargets {
    /// The table read on 2026-11-28 (see `config/tonearm.toml` for the sources).
    fn default() -> Self {
        let p = |name: &str, target_lufs: f64| PlatformTarget {
            name: name.to_string(),
            target_lufs,
        };
        MixTargets {
            platforms: vec![
                p("Spotify", -14.0),
                p("YouTube", -14.0),
                p("Tidal", -14.0),
                p("Deezer", -15.0),
                p("Apple Music", -16.0),
            ],
            true_peak_max_dbtp: -1.0,
        }
    }
}

/// Streaming statistics over the decoded channels, fed chunk by chunk beside the loudness
/// meter. Memory is constant apart from one correlation value per 400 ms window.
pub struct MixMeter {
    dc_sum: Vec<f64>,
    /// Per channel: was the previous sample clipped, and the length of the current run.
    run: Vec<usize>,
    clipped_runs: u64,
    clipped_samples: u64,
    window_frames: usize,
    acc: [f64; 5],
    in_window: usize,
    correlations: Vec<f32>,
    mid_energy: f64,
    side_energy: f64,
    frames: u64,
    first_loud: Option<u64>,
    last_loud: Option<u64>,
    rate: u32,
}

/// What the meter measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MixStats {
    pub channels: usize,
    /// Largest per-channel mean (signed), linear full scale.
    pub dc_offset: f64,
    pub clipped_runs: u64,
    pub clipped_samples: u64,
    /// Pearson correlation of the first two channels per 400 ms window (stereo only).
    pub correlations: Vec<f32>,
    /// Side energy over mid energy, dB (stereo only).
    pub side_to_mid_db: Option<f64>,
    pub head_silence_sec: f64,
    pub tail_silence_sec: f64,
    pub duration_sec: f64,
}

impl MixMeter {
    pub fn new(channels: usize, rate: u32) -> MixMeter {
        MixMeter {
            dc_sum: vec![0.0; channels],
            run: vec![0; channels],
            clipped_runs: 0,
            clipped_samples: 0,
            window_frames: ((f64::from(rate) * CORR_WINDOW_SEC) as usize).max(1),
            acc: [0.0; 5],
            in_window: 0,
            correlations: Vec::new(),
            mid_energy: 0.0,
            side_energy: 0.0,
            frames: 0,
            first_loud: None,
            last_loud: None,
            rate,
        }
    }

    /// Feed one planar chunk (`planes[c]` is channel c).
    pub fn push(&mut self, planes: &[Vec<f32>]) {
        let len = planes.first().map_or(0, Vec::len);
        for (c, plane) in planes.iter().enumerate().take(self.dc_sum.len()) {
            let mut sum = 0.0f64;
            let mut run = self.run[c];
            for &x in plane {
                let x = if x.is_finite() { x } else { 0.0 };
                sum += f64::from(x);
                if x.abs() >= CLIP_LEVEL {
                    run += 1;
                    if run == 2 {
                        self.clipped_runs += 1;
                        self.clipped_samples += 2;
                    } else if run > 2 {
                        self.clipped_samples += 1;
                    }
                } else {
                    run = 0;
                }
            }
            self.run[c] = run;
            self.dc_sum[c] += sum;
        }
        for i in 0..len {
            if planes
                .iter()
                .any(|p| p[i].is_finite() && p[i].abs() > SILENCE_LEVEL)
            {
                let at = self.frames + i as u64;
                self.first_loud.get_or_insert(at);
                self.last_loud = Some(at);
            }
        }
        if planes.len() >= 2 {
            let (l, r) = (&planes[0], &planes[1]);
            for i in 0..len {
                let (a, b) = (f64::from(l[i]), f64::from(r[i]));
                if !(a.is_finite() && b.is_finite()) {
                    continue;
                }
                self.acc[0] += a;
                self.acc[1] += b;
                self.acc[2] += a * a;
                self.acc[3] += b * b;
                self.acc[4] += a * b;
                let (m, s) = ((a + b) * 0.5, (a - b) * 0.5);
                self.mid_energy += m * m;
                self.side_energy += s * s;
                self.in_window += 1;
                if self.in_window == self.window_frames {
                    self.close_window();
                }
            }
        }
        self.frames += len as u64;
    }

    fn close_window(&mut self) {
        let n = self.in_window as f64;
        let [sa, sb, saa, sbb, sab] = self.acc;
        let va = saa / n - (sa / n).powi(2);
        let vb = sbb / n - (sb / n).powi(2);
        if va.sqrt() > CORR_MIN_RMS && vb.sqrt() > CORR_MIN_RMS {
            let cov = sab / n - (sa / n) * (sb / n);
            self.correlations
                .push((cov / (va * vb).sqrt()).clamp(-1.0, 1.0) as f32);
        }
        self.acc = [0.0; 5];
        self.in_window = 0;
    }

    pub fn finish(mut self) -> MixStats {
        if self.in_window >= self.window_frames / 2 {
            self.close_window();
        }
        let frames = self.frames.max(1) as f64;
        let dc_offset = self
            .dc_sum
            .iter()
            .map(|s| s / frames)
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(0.0);
        let rate = f64::from(self.rate.max(1));
        let (head, tail) = match (self.first_loud, self.last_loud) {
            (Some(a), Some(b)) => (a as f64 / rate, (self.frames - 1 - b) as f64 / rate),
            _ => (self.frames as f64 / rate, self.frames as f64 / rate),
        };
        let stereo = self.dc_sum.len() >= 2;
        MixStats {
            channels: self.dc_sum.len(),
            dc_offset,
            clipped_runs: self.clipped_runs,
            clipped_samples: self.clipped_samples,
            correlations: self.correlations,
            side_to_mid_db: (stereo && self.mid_energy + self.side_energy > 0.0)
                .then(|| 10.0 * ((self.side_energy + 1e-20) / (self.mid_energy + 1e-20)).log10()),
            head_silence_sec: head,
            tail_silence_sec: tail,
            duration_sec: self.frames as f64 / rate,
        }
    }
}

/// One check of `mix_report.checks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixCheck {
    /// integrated_loudness, true_peak, clipping, phase_correlation, dc_offset, loudness_range,
    /// plr, low_end or silence.
    pub id: String,
    /// pass, warn or fail.
    pub status: String,
    /// The measured value in the check's unit (see `target`); `None` when not measurable.
    pub value: Option<f64>,
    /// What passes, with its unit.
    pub target: String,
    pub message: String,
}

/// One row of `mix_report.platforms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformGain {
    pub name: String,
    pub target_lufs: f64,
    /// Gain the platform's loudness normalisation applies (target minus integrated loudness).
    pub gain_db: f64,
    /// True peak after that gain, before any limiter the platform may apply.
    pub true_peak_after_dbtp: f64,
}

/// The `mix_report` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixReport {
    pub lufs_integrated: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub checks: Vec<MixCheck>,
    /// Empty when the integrated loudness cannot be measured.
    pub platforms: Vec<PlatformGain>,
    /// The single most important fix, one sentence; `None` when every check passes.
    pub priority_move: Option<String>,
    pub reason: Option<String>,
}

impl MixReport {
    pub fn unmeasured(reason: &str) -> MixReport {
        MixReport {
            lufs_integrated: None,
            true_peak_dbtp: None,
            checks: Vec::new(),
            platforms: Vec::new(),
            priority_move: None,
            reason: Some(reason.to_string()),
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn db(x: f64) -> f64 {
    20.0 * x.abs().max(1e-12).log10()
}

/// Order of importance when choosing the priority move (first is most important).
const PRIORITY: [&str; 9] = [
    "clipping",
    "true_peak",
    "phase_correlation",
    "dc_offset",
    "silence",
    "integrated_loudness",
    "plr",
    "low_end",
    "loudness_range",
];

/// The report from the decode statistics, the loudness section and the share of energy below
/// 120 Hz (0..1, `None` when unknown).
pub fn report(
    stats: &MixStats,
    loudness: &LoudnessReport,
    low_end_share: Option<f64>,
    targets: &MixTargets,
) -> MixReport {
    let lufs = loudness.integrated_lufs;
    let tp = loudness.true_peak_dbtp;
    let ceiling = targets.true_peak_max_dbtp;
    let mut checks: Vec<MixCheck> = Vec::new();
    let mut check =
        |id: &str, status: &str, value: Option<f64>, target: String, message: String| {
            checks.push(MixCheck {
                id: id.to_string(),
                status: status.to_string(),
                value,
                target,
                message,
            });
        };

    let loudest_target = targets
        .platforms
        .iter()
        .map(|p| p.target_lufs)
        .fold(f64::NEG_INFINITY, f64::max);
    let quietest_target = targets
        .platforms
        .iter()
        .map(|p| p.target_lufs)
        .fold(f64::INFINITY, f64::min);
    let (lo, hi) = if loudest_target.is_finite() {
        (quietest_target - 4.0, loudest_target + 5.0)
    } else {
        (-20.0, -9.0)
    };
    match lufs {
        Some(i) if i < lo => check(
            "integrated_loudness",
            "warn",
            Some(i),
            format!("{lo:.0} to {hi:.0} LUFS"),
            format!(
                "{i:.1} LUFS is quiet: platforms raise it by up to {:.1} dB, and some only \
                 turn down, so it plays quieter than other tracks",
                loudest_target - i
            ),
        ),
        Some(i) if i > hi => check(
            "integrated_loudness",
            "warn",
            Some(i),
            format!("{lo:.0} to {hi:.0} LUFS"),
            format!(
                "{i:.1} LUFS is loud: platforms turn it down by {:.1} dB or more, so the \
                 limiting costs punch without making it louder",
                i - loudest_target
            ),
        ),
        Some(i) => check(
            "integrated_loudness",
            "pass",
            Some(i),
            format!("{lo:.0} to {hi:.0} LUFS"),
            format!("{i:.1} LUFS sits within reach of every platform target"),
        ),
        None => check(
            "integrated_loudness",
            "warn",
            None,
            format!("{lo:.0} to {hi:.0} LUFS"),
            "integrated loudness cannot be measured (silence or under 400 ms)".to_string(),
        ),
    }

    let loud_master = lufs.is_some_and(|i| i > -14.0);
    match tp {
        Some(t) if t >= -0.1 => check(
            "true_peak",
            "fail",
            Some(t),
            format!("at most {ceiling:.1} dBTP"),
            format!(
                "true peak {t:+.2} dBTP reaches full scale: lossy encoding and playback will clip"
            ),
        ),
        Some(t) if t > ceiling => check(
            "true_peak",
            "warn",
            Some(t),
            format!("at most {ceiling:.1} dBTP"),
            format!("true peak {t:+.2} dBTP is above the {ceiling:.1} dBTP ceiling"),
        ),
        Some(t) if loud_master && t > -2.0 => check(
            "true_peak",
            "warn",
            Some(t),
            format!("at most {ceiling:.1} dBTP (-2.0 when louder than -14 LUFS)"),
            format!(
                "true peak {t:+.2} dBTP on a master louder than -14 LUFS: leave 2 dB for \
                 the encoder"
            ),
        ),
        Some(t) => check(
            "true_peak",
            "pass",
            Some(t),
            format!("at most {ceiling:.1} dBTP"),
            format!("true peak {t:+.2} dBTP leaves headroom for encoding"),
        ),
        None => check(
            "true_peak",
            "pass",
            None,
            format!("at most {ceiling:.1} dBTP"),
            "digital silence: no peak".to_string(),
        ),
    }

    let runs = stats.clipped_runs as f64;
    let (status, message) = if stats.clipped_runs == 0 {
        ("pass", "no run of clipped samples".to_string())
    } else if stats.clipped_runs < 10 {
        (
            "warn",
            format!(
                "{} run(s) of consecutive samples at full scale",
                stats.clipped_runs
            ),
        )
    } else {
        (
            "fail",
            format!(
                "{} runs of consecutive samples at full scale ({} samples): the master is \
                 clipped",
                stats.clipped_runs, stats.clipped_samples
            ),
        )
    };
    check(
        "clipping",
        status,
        Some(runs),
        "0 runs of 2 or more samples at full scale".to_string(),
        message,
    );

    if stats.channels < 2 {
        check(
            "phase_correlation",
            "pass",
            None,
            "at least 0 (correlation of left and right)".to_string(),
            "mono file: nothing can cancel".to_string(),
        );
    } else if stats.correlations.is_empty() {
        check(
            "phase_correlation",
            "pass",
            None,
            "at least 0 (correlation of left and right)".to_string(),
            "no stereo signal loud enough to compare".to_string(),
        );
    } else {
        let mut c = stats.correlations.clone();
        c.sort_by(f32::total_cmp);
        let median = f64::from(c[c.len() / 2]);
        let p5 = f64::from(c[c.len() * 5 / 100]);
        let negative = c.iter().filter(|v| **v < 0.0).count() as f64 / c.len() as f64;
        let (status, message) = if median < 0.0 {
            (
                "fail",
                format!(
                    "left and right are out of phase (median correlation {median:.2}): the \
                     mix cancels when played in mono"
                ),
            )
        } else if p5 < 0.0 {
            (
                "warn",
                format!(
                    "{:.0} % of the track has negative correlation (5th percentile {p5:.2}): \
                     check mono compatibility",
                    negative * 100.0
                ),
            )
        } else {
            (
                "pass",
                format!("correlation stays positive (median {median:.2}, 5th percentile {p5:.2})"),
            )
        };
        check(
            "phase_correlation",
            status,
            Some(round2(median)),
            "at least 0 (median correlation; 5th percentile too for a pass)".to_string(),
            message,
        );
    }

    let dc_db = db(stats.dc_offset);
    let (status, message) = if dc_db >= -50.0 {
        (
            "fail",
            format!(
                "DC offset of {dc_db:.1} dBFS: remove it with a high-pass filter before limiting"
            ),
        )
    } else if dc_db >= -60.0 {
        ("warn", format!("DC offset of {dc_db:.1} dBFS"))
    } else {
        ("pass", "no measurable DC offset".to_string())
    };
    check(
        "dc_offset",
        status,
        Some(round1(dc_db.max(-120.0))),
        "below -60 dBFS".to_string(),
        message,
    );

    match loudness.loudness_range_lu {
        Some(lra) if lra < 3.0 => check(
            "loudness_range",
            "warn",
            Some(lra),
            "about 4 to 12 LU for most music".to_string(),
            format!(
                "loudness range {lra:.1} LU: very little movement, the master may be over-compressed"
            ),
        ),
        Some(lra) if lra > 20.0 => check(
            "loudness_range",
            "warn",
            Some(lra),
            "about 4 to 12 LU for most music".to_string(),
            format!("loudness range {lra:.1} LU: quiet passages may be lost in noisy places"),
        ),
        Some(lra) => check(
            "loudness_range",
            "pass",
            Some(lra),
            "about 4 to 12 LU for most music".to_string(),
            format!("loudness range {lra:.1} LU"),
        ),
        None => check(
            "loudness_range",
            "pass",
            None,
            "about 4 to 12 LU for most music".to_string(),
            "not measured: needs 3 s of audio above the gate".to_string(),
        ),
    }

    match (tp, lufs) {
        (Some(t), Some(i)) => {
            let plr = round1(t - i);
            let (status, message) = if plr < 5.0 {
                (
                    "fail",
                    format!(
                        "peak-to-loudness ratio {plr:.1} dB: the master is crushed by limiting"
                    ),
                )
            } else if plr < 8.0 {
                (
                    "warn",
                    format!("peak-to-loudness ratio {plr:.1} dB: heavy limiting"),
                )
            } else {
                ("pass", format!("peak-to-loudness ratio {plr:.1} dB"))
            };
            check(
                "plr",
                status,
                Some(plr),
                "at least 8 dB".to_string(),
                message,
            );
        }
        _ => check(
            "plr",
            "pass",
            None,
            "at least 8 dB".to_string(),
            "not measured: needs integrated loudness and a peak".to_string(),
        ),
    }

    match low_end_share {
        Some(s) => {
            let pct = round1(s * 100.0);
            let (status, message) = if pct > 60.0 {
                (
                    "warn",
                    format!(
                        "{pct:.0} % of the energy is below 120 Hz: the low end dominates and eats headroom"
                    ),
                )
            } else {
                ("pass", format!("{pct:.0} % of the energy is below 120 Hz"))
            };
            check(
                "low_end",
                status,
                Some(pct),
                "at most 60 % of the energy below 120 Hz".to_string(),
                message,
            );
        }
        None => check(
            "low_end",
            "pass",
            None,
            "at most 60 % of the energy below 120 Hz".to_string(),
            "not measured".to_string(),
        ),
    }

    let edge = stats.head_silence_sec.max(stats.tail_silence_sec);
    let (status, message) = if stats.head_silence_sec >= stats.duration_sec {
        ("fail", "the whole file is below -60 dBFS".to_string())
    } else if edge > 2.0 {
        (
            "warn",
            format!(
                "{:.1} s of silence at the start and {:.1} s at the end: trim it",
                stats.head_silence_sec, stats.tail_silence_sec
            ),
        )
    } else {
        (
            "pass",
            format!(
                "{:.1} s of silence at the start, {:.1} s at the end",
                stats.head_silence_sec, stats.tail_silence_sec
            ),
        )
    };
    check(
        "silence",
        status,
        Some(round2(edge)),
        "at most 2 s below -60 dBFS at either end".to_string(),
        message,
    );

    let platforms = match lufs {
        Some(i) => targets
            .platforms
            .iter()
            .map(|p| {
                let gain = round1(p.target_lufs - i);
                PlatformGain {
                    name: p.name.clone(),
                    target_lufs: p.target_lufs,
                    gain_db: gain,
                    true_peak_after_dbtp: round1(
                        tp.unwrap_or(f64::NEG_INFINITY).max(-120.0) + gain,
                    ),
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let priority_move = priority(&checks, lufs, tp, ceiling, loudest_target);
    MixReport {
        lufs_integrated: lufs,
        true_peak_dbtp: tp,
        checks,
        platforms,
        priority_move,
        reason: None,
    }
}

/// The most important failing check (then warning), as one instruction.
fn priority(
    checks: &[MixCheck],
    lufs: Option<f64>,
    tp: Option<f64>,
    ceiling: f64,
    target: f64,
) -> Option<String> {
    let pick = |status: &str| {
        PRIORITY
            .iter()
            .find_map(|id| checks.iter().find(|c| c.id == *id && c.status == status))
    };
    let c = pick("fail").or_else(|| pick("warn"))?;
    let v = c.value.unwrap_or(0.0);
    Some(match c.id.as_str() {
        "clipping" => format!(
            "Fix the clipping: {} runs of samples sit at full scale; lower the limiter ceiling to \
             {ceiling:.1} dBTP or re-render without clipping.",
            v as u64
        ),
        "true_peak" => format!(
            "Lower the limiter ceiling to {ceiling:.1} dBTP: true peaks reach {:+.2} dBTP.",
            tp.unwrap_or(v)
        ),
        "phase_correlation" => "Fix the stereo phase: left and right cancel in mono; check for an \
                                inverted channel or wide stereo effects on the low end."
            .to_string(),
        "dc_offset" => format!(
            "Remove the DC offset ({v:.1} dBFS) with a high-pass filter at 10-20 Hz before the \
             limiter."
        ),
        "silence" => "Trim the silence at the start and end of the file.".to_string(),
        "integrated_loudness" => match lufs {
            Some(i) if i < target => format!(
                "Raise the master towards {target:.0} LUFS (now {i:.1} LUFS) so it holds its own \
                 after normalisation."
            ),
            Some(i) => format!(
                "Ease the limiter: at {i:.1} LUFS the platforms turn the track down to {target:.0} \
                 LUFS anyway."
            ),
            None => "Check the file: its loudness cannot be measured.".to_string(),
        },
        "plr" => format!(
            "Ease the limiting: the peak-to-loudness ratio is only {v:.1} dB, aim for 8 dB or more."
        ),
        "low_end" => format!(
            "Tame the low end: {v:.0} % of the energy is below 120 Hz; high-pass what does not \
             need it."
        ),
        _ => format!("Check the loudness range ({v:.1} LU) against the genre's norm."),
    })
}
