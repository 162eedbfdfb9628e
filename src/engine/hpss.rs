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
    let half_t = TIME_MEDIAN_FRAMES / 2;
    let half_f = FREQ_MEDIAN_BINS / 2;
    let mut column: Vec<f32> = Vec::with_capacity(TIME_MEDIAN_FRAMES.max(FREQ_MEDIAN_BINS));
    for t in 0..n_frames {
        let row = &spec[t * width..(t + 1) * width];
        let t_lo = t.saturating_sub(half_t);
        let t_hi = (t + half_t + 1).min(n_frames);
        let (mut total, mut kept) = (0.0f64, 0.0f64);
        for b in 0..width {
            column.clear();
            column.extend((t_lo..t_hi).map(|k| spec[k * width + b]));
            let h = median_in_place(&mut column);
            column.clear();
            let b_lo = b.saturating_sub(half_f);
            let b_hi = (b + half_f + 1).min(width);
            column.extend_from_slice(&row[b_lo..b_hi]);
            let p = median_in_place(&mut column);
            let (h2, p2) = (h * h, p * p);
            let mask = if h2 + p2 > 0.0 { h2 / (h2 + p2) } else { 0.0 };
            let m = row[b];
            harmonic[t * width + b] = m * mask;
            total += f64::from(m * m);
            kept += f64::from(m * m * mask * mask);
        }
        share[t] = if total > 0.0 {
            (kept / total) as f32
        } else {
            0.0
        };
    }
    (harmonic, share)
}

/// Median of a non-empty slice (reorders it); 0 when empty.
fn median_in_place(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable_by(mid, f32::total_cmp).1
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
}
