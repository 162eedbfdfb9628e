//! EBU R128 loudness of the decoded channels: integrated loudness, loudness range and the maxima
//! of momentary and short-term loudness through the `ebur128` crate, with the BS.1770 channel
//! weights; sample and true peak through our own meter. Fed while decoding, block by block.

use ebur128::{EbuR128, Mode};
use serde::{Deserialize, Serialize};

use super::channels::ChannelRole;
use super::truepeak::TruePeakMeter;

/// Momentary loudness spans 4 blocks of 100 ms, short-term 30 (EBU Tech 3341).
const MOMENTARY_BLOCKS: usize = 4;
const SHORT_TERM_BLOCKS: usize = 30;
/// BS.1770 absolute offset of the loudness formula.
const LUFS_OFFSET: f64 = -0.691;

/// The `loudness` section of the result document. A value that cannot be measured is `None` and
/// `reason` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoudnessReport {
    /// Gated programme loudness (BS.1770-4), LUFS.
    pub integrated_lufs: Option<f64>,
    /// EBU Tech 3342 loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    /// Highest 4x-oversampled sample over all channels, dBTP.
    pub true_peak_dbtp: Option<f64>,
    pub sample_peak_dbfs: Option<f64>,
    /// Highest 400 ms loudness, evaluated every 100 ms.
    pub momentary_max_lufs: Option<f64>,
    /// Highest 3 s loudness, evaluated every 100 ms.
    pub short_term_max_lufs: Option<f64>,
    pub reason: Option<String>,
}

/// Streaming meter: push planar chunks of any length, then `finish`.
pub struct LoudnessMeter {
    ebu: Option<EbuR128>,
    peaks: Vec<TruePeakMeter>,
    /// Frames per 100 ms block, as `loudness_window(100)` measures them.
    block_frames: usize,
    /// Frames already fed into the current block.
    in_block: usize,
    /// Energy of each completed 100 ms block (mean square after K-weighting and channel weights).
    block_energy: Vec<f64>,
    momentary_max: f64,
    short_term_max: f64,
    frames: u64,
    rate: u32,
}

impl LoudnessMeter {
    pub fn new(roles: &[ChannelRole], rate: u32) -> LoudnessMeter {
        let ebu = EbuR128::new(roles.len() as u32, rate, Mode::I | Mode::LRA)
            .ok()
            .and_then(|mut m| {
                let map: Vec<ebur128::Channel> = roles.iter().map(|r| r.ebu_channel()).collect();
                m.set_channel_map(&map).ok().map(|()| m)
            });
        LoudnessMeter {
            ebu,
            peaks: vec![TruePeakMeter::new(); roles.len()],
            block_frames: (rate as usize / 10).max(1),
            in_block: 0,
            block_energy: Vec::new(),
            momentary_max: f64::NEG_INFINITY,
            short_term_max: f64::NEG_INFINITY,
            frames: 0,
            rate,
        }
    }

    /// Feed one planar chunk: `planes[c]` holds channel c, all planes the same length.
    pub fn push(&mut self, planes: &[Vec<f32>]) {
        let len = planes.first().map_or(0, Vec::len);
        for (meter, plane) in self.peaks.iter_mut().zip(planes) {
            meter.push(plane);
        }
        self.frames += len as u64;
        let Some(ebu) = self.ebu.as_mut() else {
            return;
        };
        let mut start = 0;
        let mut slices: Vec<&[f32]> = Vec::with_capacity(planes.len());
        while start < len {
            let take = (self.block_frames - self.in_block).min(len - start);
            slices.clear();
            slices.extend(planes.iter().map(|p| &p[start..start + take]));
            if ebu.add_frames_planar_f32(&slices).is_err() {
                self.ebu = None;
                return;
            }
            start += take;
            self.in_block += take;
            if self.in_block == self.block_frames {
                self.in_block = 0;
                let lufs = ebu.loudness_window(100).unwrap_or(f64::NEG_INFINITY);
                let energy = if lufs.is_finite() {
                    10f64.powf((lufs - LUFS_OFFSET) / 10.0)
                } else {
                    0.0
                };
                self.block_energy.push(energy);
                update_maxima(
                    &self.block_energy,
                    &mut self.momentary_max,
                    &mut self.short_term_max,
                );
            }
        }
    }

    pub fn finish(self) -> LoudnessReport {
        let mut reasons: Vec<String> = Vec::new();
        let duration = self.frames as f64 / f64::from(self.rate.max(1));
        let tp = self
            .peaks
            .iter()
            .map(TruePeakMeter::true_peak)
            .fold(0.0f32, f32::max);
        let sp = self
            .peaks
            .iter()
            .map(TruePeakMeter::sample_peak)
            .fold(0.0f32, f32::max);
        let peak_db = |x: f32| (x > 0.0).then(|| round2(20.0 * f64::from(x).log10()));
        let true_peak_dbtp = peak_db(tp);
        let sample_peak_dbfs = peak_db(sp);
        if sample_peak_dbfs.is_none() {
            reasons.push("digital silence: every sample is zero".to_string());
        }
        let Some(ebu) = self.ebu else {
            reasons.push(format!(
                "loudness cannot be measured at {} Hz with {} channels",
                self.rate,
                self.peaks.len()
            ));
            return LoudnessReport {
                integrated_lufs: None,
                loudness_range_lu: None,
                true_peak_dbtp,
                sample_peak_dbfs,
                momentary_max_lufs: None,
                short_term_max_lufs: None,
                reason: Some(reasons.join("; ")),
            };
        };
        let finite = |x: f64| x.is_finite().then(|| round2(x));
        let integrated_lufs = ebu.loudness_global().ok().and_then(finite);
        if integrated_lufs.is_none() && sample_peak_dbfs.is_some() {
            if duration < 0.4 {
                reasons.push("audio shorter than one 400 ms gating block".to_string());
            } else {
                reasons.push("silence: every block is below the -70 LUFS gate".to_string());
            }
        }
        let momentary_max_lufs = finite(self.momentary_max);
        let short_term_max_lufs = finite(self.short_term_max);
        if self.block_energy.len() < SHORT_TERM_BLOCKS && sample_peak_dbfs.is_some() {
            reasons.push("audio shorter than 3 s: no short-term loudness or range".to_string());
        }
        let loudness_range_lu =
            if integrated_lufs.is_some() && self.block_energy.len() >= SHORT_TERM_BLOCKS {
                ebu.loudness_range().ok().and_then(finite)
            } else {
                None
            };
        LoudnessReport {
            integrated_lufs,
            loudness_range_lu,
            true_peak_dbtp,
            sample_peak_dbfs,
            momentary_max_lufs,
            short_term_max_lufs,
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        }
    }
}

/// Momentary and short-term loudness are means of the last 4 and 30 block energies.
fn update_maxima(energies: &[f64], momentary_max: &mut f64, short_term_max: &mut f64) {
    let n = energies.len();
    let mean_of_last = |k: usize| -> Option<f64> {
        (n >= k).then(|| energies[n - k..].iter().sum::<f64>() / k as f64)
    };
    if let Some(e) = mean_of_last(MOMENTARY_BLOCKS) {
        *momentary_max = momentary_max.max(energy_to_lufs(e));
    }
    if let Some(e) = mean_of_last(SHORT_TERM_BLOCKS) {
        *short_term_max = short_term_max.max(energy_to_lufs(e));
    }
}

fn energy_to_lufs(e: f64) -> f64 {
    if e > 0.0 {
        LUFS_OFFSET + 10.0 * e.log10()
    } else {
        f64::NEG_INFINITY
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::channels::roles_for_count;

    fn sine(rate: u32, dbfs: f64, secs: f64) -> Vec<f32> {
        let a = 10f64.powf(dbfs / 20.0);
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (a * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as f32
            })
            .collect()
    }

    fn measure(planes: &[Vec<f32>], rate: u32, chunk: usize) -> LoudnessReport {
        let mut m = LoudnessMeter::new(&roles_for_count(planes.len()), rate);
        let len = planes[0].len();
        let mut start = 0;
        while start < len {
            let end = (start + chunk).min(len);
            let part: Vec<Vec<f32>> = planes.iter().map(|p| p[start..end].to_vec()).collect();
            m.push(&part);
            start = end;
        }
        m.finish()
    }

    #[test]
    fn stereo_sine_at_minus_23_dbfs_is_minus_23_lufs_everywhere() {
        let x = sine(48_000, -23.0, 8.0);
        let r = measure(&[x.clone(), x], 48_000, 4096);
        for v in [
            r.integrated_lufs,
            r.momentary_max_lufs,
            r.short_term_max_lufs,
        ] {
            let v = v.unwrap();
            assert!((v + 23.0).abs() <= 0.1, "{r:?}");
        }
        assert_eq!(r.reason, None);
    }

    #[test]
    fn chunk_size_does_not_change_any_value() {
        let mut x = sine(44_100, -30.0, 4.0);
        x.extend(sine(44_100, -15.0, 2.0));
        let a = measure(&[x.clone(), x.clone()], 44_100, 441);
        let b = measure(&[x.clone(), x], 44_100, 10_007);
        assert_eq!(a, b);
    }

    #[test]
    fn silence_is_null_with_a_reason() {
        let r = measure(&[vec![0.0; 96_000]], 48_000, 4800);
        assert_eq!(r.integrated_lufs, None);
        assert_eq!(r.true_peak_dbtp, None);
        assert!(r.reason.unwrap().contains("silence"));
    }
}
