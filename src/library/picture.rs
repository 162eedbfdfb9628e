//! Waveform pictures: the stored min/max columns drawn as a PNG (grey-scale with alpha: the
//! waveform opaque on a transparent background, so it sits on any page colour).

/// Resamples stored columns to `width` columns (each output column covers its share).
pub fn columns(peaks: &[(i16, i16)], width: usize) -> Vec<(f32, f32)> {
    let n = peaks.len();
    if n == 0 || width == 0 {
        return vec![(0.0, 0.0); width];
    }
    (0..width)
        .map(|c| {
            let a = c * n / width;
            let b = ((c + 1) * n / width).max(a + 1).min(n);
            let (mut lo, mut hi) = (i16::MAX, i16::MIN);
            for &(l, h) in &peaks[a..b] {
                lo = lo.min(l);
                hi = hi.max(h);
            }
            let s = |x: i16| (f32::from(x) / 32767.0 * 1000.0).round() / 1000.0;
            (s(lo), s(hi))
        })
        .collect()
}

/// The waveform as a `width` × `height` PNG.
pub fn png(peaks: &[(i16, i16)], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let cols = columns(peaks, width as usize);
    let (w, h) = (width as usize, height as usize);
    let mut pixels = vec![0u8; w * h * 2];
    let mid = (h as f32 - 1.0) / 2.0;
    for (x, (lo, hi)) in cols.iter().enumerate() {
        let top = (mid - hi * mid).round().clamp(0.0, h as f32 - 1.0) as usize;
        let bottom = (mid - lo * mid).round().clamp(0.0, h as f32 - 1.0) as usize;
        for y in top.min(bottom)..=bottom.max(top) {
            let i = (y * w + x) * 2;
            pixels[i] = 0x30;
            pixels[i + 1] = 0xff;
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::GrayscaleAlpha);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_keep_the_extremes_and_the_picture_is_a_png() {
        let peaks = vec![(-100, 100), (-32767, 32767), (0, 0), (-10, 10)];
        assert_eq!(columns(&peaks, 2), vec![(-1.0, 1.0), (-0.0, 0.0)]);
        let p = png(&peaks, 40, 20).unwrap();
        assert_eq!(&p[1..4], b"PNG");
    }
}
