//! Harmonic/percussive separation of a magnitude spectrogram by median filtering (Fitzgerald
//! 2010, "Harmonic/percussive separation using median filtering", DAFx): a sustained partial is
//! a horizontal ridge (steady across time, narrow in frequency) and a drum hit is a vertical
//! one (short in time, broad in frequency). A median across time keeps the ridges and drops the
//! hits; a median across frequency does the opposite; the Wiener-style soft mask `H² / (H² + P²)`
//! gives each bin its harmonic share.

/// Frames in the median across time (odd). At the chroma frame rate (about 21.5 per second)
/// this spans 0.8 s, as the 31 frames of 23 ms in Fitzgerald's and librosa's defaults: longer
/// than a drum hit, shorter than a chord.
pub const TIME_MEDIAN_FRAMES: usize = 17;
/// Bins in the median across frequency (odd): 31 bins of 10.8 Hz, about 330 Hz, as in the
/// same defaults; wider than a partial's main lobe, narrower than a snare's spectrum.
pub const FREQ_MEDIAN_BINS: usize = 31;

/// Splits `spec` (`n_frames` rows of `width` magnitudes, frame after frame) into its harmonic
/// part, returned in the same layout, and each frame's harmonic share of the energy (0..1; 0 for
/// a silent frame).
pub fn harmonic_part(spec: &[f32], width: usize) -> (Vec<f32>, Vec<f32>) {
    if width == 0 {
        return (Vec::new(), Vec::new());
    }
    let n_frames = spec.len() / width;
    let mut harmonic = vec![0.0f32; n_frames * width];
    let mut share = vec![0.0f32; n_frames];
    let (mut total, mut kept) = (vec![0.0f64; n_frames], vec![0.0f64; n_frames]);
    medians(
        spec,
        width,
        TIME_MEDIAN_FRAMES,
        FREQ_MEDIAN_BINS,
        |t, b, m, h, p| {
            let (h2, p2) = (h * h, p * p);
            let mask = if h2 + p2 > 0.0 { h2 / (h2 + p2) } else { 0.0 };
            harmonic[t * width + b] = m * mask;
            total[t] += f64::from(m * m);
            kept[t] += f64::from(m * m * mask * mask);
        },
    );
    for ((s, total), kept) in share.iter_mut().zip(total).zip(kept) {
        *s = if total > 0.0 {
            (kept / total) as f32
        } else {
            0.0
        };
    }
    (harmonic, share)
}

/// Visits every bin of `spec` (`n_frames` rows of `width` non-negative magnitudes) in order, frame
/// by frame, with `(frame, bin, magnitude, median across time, median across frequency)`. The
/// medians run over `time_len` frames and `freq_len` bins centred on the bin (both odd), cut
/// short at the edges, taking the upper middle value of an even-length window.
///
/// Both medians slide: each keeps its window sorted and swaps one value in and one out per step,
/// on the bit patterns of the magnitudes (non-negative floats order as their bits do), so a bin
/// costs two binary searches instead of two selections.
pub fn medians(
    spec: &[f32],
    width: usize,
    time_len: usize,
    freq_len: usize,
    mut visit: impl FnMut(usize, usize, f32, f32, f32),
) {
    if width == 0 {
        return;
    }
    let n_frames = spec.len() / width;
    let bits: Vec<u32> = spec[..n_frames * width]
        .iter()
        .map(|v| v.max(0.0).to_bits())
        .collect();
    let half_t = time_len / 2;
    let half_f = freq_len / 2;
    // One sorted window across time per bin, holding frames t-half_t ..= t+half_t.
    let mut across_time: Vec<Vec<u32>> = (0..width)
        .map(|b| {
            let mut w: Vec<u32> = (0..(half_t + 1).min(n_frames))
                .map(|k| bits[k * width + b])
                .collect();
            w.sort_unstable();
            w
        })
        .collect();
    let mut across_freq: Vec<u32> = Vec::with_capacity(freq_len);
    for t in 0..n_frames {
        if t > 0 {
            if t > half_t {
                let out = (t - half_t - 1) * width;
                for (b, w) in across_time.iter_mut().enumerate() {
                    remove_sorted(w, bits[out + b]);
                }
            }
            if t + half_t < n_frames {
                let inc = (t + half_t) * width;
                for (b, w) in across_time.iter_mut().enumerate() {
                    insert_sorted(w, bits[inc + b]);
                }
            }
        }
        let row = &bits[t * width..(t + 1) * width];
        across_freq.clear();
        across_freq.extend_from_slice(&row[..(half_f + 1).min(width)]);
        across_freq.sort_unstable();
        for b in 0..width {
            if b > 0 {
                if b > half_f {
                    remove_sorted(&mut across_freq, row[b - half_f - 1]);
                }
                if b + half_f < width {
                    insert_sorted(&mut across_freq, row[b + half_f]);
                }
            }
            let h = f32::from_bits(across_time[b][across_time[b].len() / 2]);
            let p = f32::from_bits(across_freq[across_freq.len() / 2]);
            visit(t, b, f32::from_bits(row[b]), h, p);
        }
    }
}

fn insert_sorted(w: &mut Vec<u32>, v: u32) {
    let i = w.partition_point(|&x| x < v);
    w.insert(i, v);
}

fn remove_sorted(w: &mut Vec<u32>, v: u32) {
    let i = w.partition_point(|&x| x < v);
    if i < w.len() && w[i] == v {
        w.remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_partial_is_harmonic_and_a_broadband_hit_is_not() {
        let (width, frames) = (64, 40);
        let mut spec = vec![0.01f32; width * frames];
        // A partial at bin 20 throughout.
        for t in 0..frames {
            spec[t * width + 20] = 1.0;
        }
        // A broadband hit at frame 10.
        spec[10 * width..11 * width]
            .iter_mut()
            .for_each(|v| *v = 1.0);
        let (h, share) = harmonic_part(&spec, width);
        assert!(h[5 * width + 20] > 0.9, "{}", h[5 * width + 20]);
        assert!(h[10 * width + 40] < 0.1, "{}", h[10 * width + 40]);
        assert!(
            share[5] > 0.9 && share[10] < 0.2,
            "{} {}",
            share[5],
            share[10]
        );
    }

    #[test]
    fn silence_and_empty_input() {
        let (h, share) = harmonic_part(&[0.0; 64], 16);
        assert!(h.iter().all(|&v| v == 0.0) && share == [0.0; 4]);
        assert!(harmonic_part(&[], 0).0.is_empty());
    }

    /// The sliding medians equal medians taken afresh over the same (edge-clipped) windows.
    #[test]
    fn sliding_medians_match_direct_medians() {
        let (width, frames) = (23, 31);
        let spec: Vec<f32> = (0..width * frames)
            .map(|i| ((i * 7919) % 101) as f32 / 10.0)
            .collect();
        let direct = |vals: Vec<f32>| {
            let mut v = vals;
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        let mut seen = 0;
        medians(&spec, width, 5, 7, |t, b, m, h, p| {
            assert_eq!(m, spec[t * width + b]);
            let ts = t.saturating_sub(2)..(t + 3).min(frames);
            assert_eq!(h, direct(ts.map(|i| spec[i * width + b]).collect()));
            let bs = b.saturating_sub(3)..(b + 4).min(width);
            assert_eq!(p, direct(bs.map(|i| spec[t * width + i]).collect()));
            seen += 1;
        });
        assert_eq!(seen, width * frames);
    }
}
