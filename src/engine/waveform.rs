//! Waveforms for drawing: per column, the lowest and highest sample. One computation serves the
//! result document (a fixed number of points under the sections and chords) and the sound
//! library (the columns it stores per sound).

use serde::{Deserialize, Serialize};

/// Points of the result document's waveform whatever the duration: enough for a full-width
/// timeline, and a few kilobytes in a stored result.
pub const POINTS: usize = 800;

/// Per column, the lowest and highest sample over all planes (channels), scaled to `i16` full
/// scale. Column `c` of `columns` covers frames `c·n/columns` up to `(c+1)·n/columns`, so the
/// columns split the audio evenly in time; there is never more than one column per frame.
pub fn min_max<P: AsRef<[f32]>>(planes: &[P], columns: usize) -> Vec<(i16, i16)> {
    let n = planes.first().map_or(0, |p| p.as_ref().len());
    let columns = columns.min(n.max(1));
    (0..columns)
        .map(|c| {
            let a = (c * n / columns).min(n);
            let b = ((c + 1) * n / columns).max(a + 1).min(n);
            let (mut lo, mut hi) = (0.0f32, 0.0f32);
            for p in planes {
                let p = p.as_ref();
                let (l, h) = extremes(&p[a.min(p.len())..b.min(p.len())]);
                lo = lo.min(l);
                hi = hi.max(h);
            }
            (quantise(lo), quantise(hi))
        })
        .collect()
}

/// Lowest and highest sample of `xs` (0 when empty; NaN is skipped). Eight independent lanes
/// with plain comparisons, so the compiler can keep them in vector registers: a single running
/// minimum is a serial chain it may not reorder.
fn extremes(xs: &[f32]) -> (f32, f32) {
    const LANES: usize = 8;
    let (mut lo, mut hi) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    for (i, &x) in tail.iter().enumerate() {
        lo[i] = if x < lo[i] { x } else { lo[i] };
        hi[i] = if x > hi[i] { x } else { hi[i] };
    }
    (
        lo.iter().copied().fold(0.0, f32::min),
        hi.iter().copied().fold(0.0, f32::max),
    )
}

fn quantise(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// The result document's waveform: the peak envelope of the mono mix the analysis hears.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waveform {
    /// Audio each point covers; point `i` starts at `i × seconds_per_point`, and the points
    /// together cover `file_meta.duration_sec`.
    pub seconds_per_point: f64,
    /// Per point, `[lowest, highest]` sample in thousandths of full scale (-1000..=1000). JSON
    /// shows them as decimals in -1..1; storage keeps the small integers.
    #[serde(with = "thousandths")]
    pub peaks: Vec<[i16; 2]>,
}

impl Waveform {
    /// At most [`POINTS`] points over `mono` (fewer only when the audio has fewer frames).
    pub fn of_mono(mono: &[f32], rate: u32) -> Waveform {
        let columns = min_max(&[mono], POINTS);
        let duration = mono.len() as f64 / f64::from(rate.max(1));
        let scale = |x: i16| (f64::from(x) * 1000.0 / 32767.0).round() as i16;
        Waveform {
            seconds_per_point: if columns.is_empty() {
                0.0
            } else {
                duration / columns.len() as f64
            },
            peaks: columns
                .into_iter()
                .map(|(lo, hi)| [scale(lo), scale(hi)])
                .collect(),
        }
    }
}

/// Peaks as decimals (`-0.684`) for people and as integers for postcard. Decimals are `f64` so
/// that JSON written directly and JSON built through `serde_json::Value` (as the API does) print
/// the same digits; an `f32` would widen to `-0.6840000152587891` on the second path.
mod thousandths {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(peaks: &[[i16; 2]], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let d = |x: i16| f64::from(x) / 1000.0;
            s.collect_seq(peaks.iter().map(|[lo, hi]| [d(*lo), d(*hi)]))
        } else {
            peaks.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[i16; 2]>, D::Error> {
        if d.is_human_readable() {
            let q = |x: f64| (x.clamp(-1.0, 1.0) * 1000.0).round() as i16;
            Ok(Vec::<[f64; 2]>::deserialize(d)?
                .into_iter()
                .map(|[lo, hi]| [q(lo), q(hi)])
                .collect())
        } else {
            Vec::<[i16; 2]>::deserialize(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_keep_each_span_s_extremes_over_all_channels() {
        let left = [0.5, -0.25, 0.0, 0.0];
        let right = [0.0, 0.0, -1.0, 2.0];
        assert_eq!(
            min_max(&[&left[..], &right[..]], 2),
            vec![(-8192, 16384), (-32767, 32767)]
        );
        // Never more columns than frames, and nothing to draw gives one flat column.
        assert_eq!(min_max(&[&left[..]], 100).len(), 4);
        assert_eq!(min_max(&[&[][..]], 10), vec![(0, 0)]);
        assert_eq!(min_max::<&[f32]>(&[], 10), vec![(0, 0)]);
        // Every lane and the tail count, and NaN is passed over.
        let xs: Vec<f32> = (0..19).map(|i| (i as f32 - 4.0) / 8.0).collect();
        assert_eq!(extremes(&xs), (-0.5, 1.75));
        let mut ys = xs.clone();
        ys.reverse();
        assert_eq!(extremes(&ys), (-0.5, 1.75));
        assert_eq!(extremes(&[f32::NAN, 0.5, -0.5]), (-0.5, 0.5));
        assert_eq!(extremes(&[]), (0.0, 0.0));
    }

    #[test]
    fn the_result_waveform_has_a_bounded_size_and_time_base() {
        let rate = 8_000;
        // 10 minutes: a quiet first half, a loud second half.
        let mono: Vec<f32> = (0..rate * 600)
            .map(|i| {
                let s = if i < rate * 300 { 0.1 } else { 0.8 };
                if i % 2 == 0 { s } else { -s }
            })
            .collect();
        let w = Waveform::of_mono(&mono, rate as u32);
        assert_eq!(w.peaks.len(), POINTS);
        assert!((w.seconds_per_point * POINTS as f64 - 600.0).abs() < 1e-9);
        assert_eq!(w.peaks[0], [-100, 100]);
        assert_eq!(w.peaks[POINTS - 1], [-800, 800]);
        let short = Waveform::of_mono(&[0.25; 10], 8_000);
        assert_eq!(short.peaks, vec![[0, 250]; 10]);
        assert_eq!(short.seconds_per_point, 10.0 / 8_000.0 / 10.0);
    }

    #[test]
    fn peaks_are_decimals_in_json_and_integers_in_storage() {
        let w = Waveform {
            seconds_per_point: 0.5,
            peaks: vec![[-684, 756], [0, 0], [-1000, 1000]],
        };
        let want = r#"{"seconds_per_point":0.5,"peaks":[[-0.684,0.756],[0.0,0.0],[-1.0,1.0]]}"#;
        assert_eq!(serde_json::to_string(&w).unwrap(), want);
        // Through a `Value`, as the API renders it: the same digits.
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), want);
        assert_eq!(serde_json::from_str::<Waveform>(want).unwrap(), w);
        let bytes = postcard::to_stdvec(&w).unwrap();
        assert!(bytes.len() <= 9 + 1 + 3 * 6, "{} bytes", bytes.len());
        assert_eq!(postcard::from_bytes::<Waveform>(&bytes).unwrap(), w);
    }
}
