//! Audio work for the library: decode an original whole (planar f32), measure it on import
//! (stream facts, loudness, true peak, spectral peaks, waveform), and encode the download
//! formats (WAV 24, WAV 16 with TPDF dither, MP3 320 through LAME, Ogg Vorbis through libvorbis)
//! with optional true-peak normalisation checked on the decoded result. No server, no store.

use std::num::{NonZeroU8, NonZeroU32};
use std::path::Path;

use crate::engine::Error as EngineError;
use crate::engine::decode::Source;
use crate::engine::loudness::LoudnessMeter;
use crate::engine::truepeak::TruePeakMeter;

/// Longest original the library accepts, in seconds.
pub const MAX_SOUND_SEC: f64 = 3.0 * 3600.0;
/// Columns of the stored waveform; the API draws any width up to this from them.
pub const WAVEFORM_COLUMNS: usize = 1024;
/// Target of `normalize=true`, dBTP, and how close the decoded file must come.
pub const TARGET_DBTP: f64 = -1.0;
pub const TOLERANCE_DB: f64 = 0.1;
/// Seconds of a preview.
pub const PREVIEW_SEC: f64 = 30.0;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the MP3 encoder refused the stream: {0}")]
    Mp3(String),
    #[error("the Vorbis encoder refused the stream: {0}")]
    Vorbis(String),
    #[error("cannot write a temporary file: {0}")]
    Io(#[from] std::io::Error),
}

/// Decoded audio, one Vec per channel.
pub struct Pcm {
    pub rate: u32,
    pub planes: Vec<Vec<f32>>,
    pub bit_depth: Option<u32>,
}

impl Pcm {
    pub fn frames(&self) -> usize {
        self.planes.first().map_or(0, Vec::len)
    }

    pub fn channels(&self) -> usize {
        self.planes.len()
    }

    /// The channels averaged into one.
    pub fn mono(&self) -> Vec<f32> {
        let ch = self.channels().max(1) as f32;
        (0..self.frames())
            .map(|i| self.planes.iter().map(|p| p[i]).sum::<f32>() / ch)
            .collect()
    }
}

/// Decodes the whole file. Sounds shorter than the engine's analysis minimum are still sounds
/// (a click lasts 20 ms), so that one refusal is waived here.
pub fn decode(path: &Path) -> Result<Pcm, EngineError> {
    let mut source = Source::open(path, MAX_SOUND_SEC)?;
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut chunk: Vec<Vec<f32>> = Vec::new();
    loop {
        let more = source.fill(&mut chunk, 1 << 16)?;
        if planes.len() < chunk.len() {
            planes.resize_with(chunk.len(), Vec::new);
        }
        for (p, c) in planes.iter_mut().zip(&chunk) {
            p.extend_from_slice(c);
        }
        if !more {
            break;
        }
    }
    let info = source.info().clone();
    match source.finish() {
        Ok(_) | Err(EngineError::TooShort { .. }) => {}
        Err(e) => return Err(e),
    }
    if planes.first().is_none_or(Vec::is_empty) {
        return Err(EngineError::CorruptAudio(
            "no audio could be decoded".into(),
        ));
    }
    Ok(Pcm {
        rate: info.sample_rate,
        planes,
        bit_depth: info.bit_depth,
    })
}

/// What import measures.
#[derive(Debug, Clone)]
pub struct Measured {
    pub duration_s: f64,
    pub sample_rate_hz: u32,
    pub bit_depth: Option<u32>,
    pub channels: u32,
    pub loudness_lufs: Option<f64>,
    pub loudness_note: Option<String>,
    pub true_peak_db: Option<f64>,
    pub spectral_peaks: Vec<(f32, f32)>,
    pub waveform: Vec<(i16, i16)>,
}

pub fn measure(pcm: &Pcm) -> Measured {
    let roles = crate::engine::channels::roles_for_count(pcm.channels());
    let mut meter = LoudnessMeter::new(&roles, pcm.rate);
    for start in (0..pcm.frames()).step_by(1 << 16) {
        let end = (start + (1 << 16)).min(pcm.frames());
        let chunk: Vec<Vec<f32>> = pcm.planes.iter().map(|p| p[start..end].to_vec()).collect();
        meter.push(&chunk);
    }
    let report = meter.finish();
    let loudness_note = if report.integrated_lufs.is_none() {
        report.reason.clone()
    } else {
        None
    };
    Measured {
        duration_s: (pcm.frames() as f64 / f64::from(pcm.rate) * 1000.0).round() / 1000.0,
        sample_rate_hz: pcm.rate,
        bit_depth: pcm.bit_depth,
        channels: pcm.channels() as u32,
        loudness_lufs: report.integrated_lufs,
        loudness_note,
        true_peak_db: report.true_peak_dbtp,
        spectral_peaks: spectral_peaks(pcm, 8),
        waveform: crate::engine::waveform::min_max(&pcm.planes, WAVEFORM_COLUMNS),
    }
}

/// The strongest peaks of the average power spectrum of the mono mix, (Hz, dB relative to the
/// strongest), strongest first. Frames of 4096 points are Blackman-Harris windowed (side lobes
/// below −92 dB, so one sine is one peak, not a comb of leakage); a peak is a local maximum
/// that stands at least [`PEAK_PROMINENCE_DB`] above the valleys on either side, at most
/// [`PEAK_FLOOR_DB`] below the strongest, and further than the window's main lobe from a
/// stronger peak.
pub fn spectral_peaks(pcm: &Pcm, count: usize) -> Vec<(f32, f32)> {
    const N: usize = 4096;
    let frames = pcm.frames();
    if frames < 16 {
        return Vec::new();
    }
    let mono = pcm.mono();
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(N);
    // A sound shorter than a frame is windowed over its own length (then zero-padded), so its
    // abrupt end does not smear the spectrum.
    let len = frames.min(N);
    let window: Vec<f32> = (0..len)
        .map(|i| {
            let x = 2.0 * std::f32::consts::PI * i as f32 / (len - 1) as f32;
            0.35875 - 0.48829 * x.cos() + 0.14128 * (2.0 * x).cos() - 0.01168 * (3.0 * x).cos()
        })
        .collect();
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut power = vec![0.0f64; N / 2 + 1];
    // At most 256 frames spread over the sound: enough for a stable average on long files.
    let hop = (frames.saturating_sub(N) / 256).max(N / 2);
    let mut start = 0;
    loop {
        for (i, x) in input.iter_mut().enumerate() {
            *x = match window.get(i) {
                Some(w) => mono.get(start + i).copied().unwrap_or(0.0) * w,
                None => 0.0,
            };
        }
        if fft.process(&mut input, &mut output).is_err() {
            return Vec::new();
        }
        for (p, c) in power.iter_mut().zip(&output) {
            *p += f64::from(c.norm_sqr());
        }
        start += hop;
        if start + N > frames {
            break;
        }
    }
    let bin_hz = pcm.rate as f32 / N as f32;
    pick_peaks(&power, count)
        .into_iter()
        .map(|(pos, db)| {
            let hz = (pos as f32 * bin_hz * 10.0).round() / 10.0;
            (hz, (db as f32 * 10.0).round() / 10.0)
        })
        .collect()
}

/// How far a spectral peak must rise above the lower of the deepest points between it and a
/// higher bin on each side.
pub const PEAK_PROMINENCE_DB: f64 = 10.0;
/// How far below the strongest a spectral peak may be.
pub const PEAK_FLOOR_DB: f64 = -60.0;
/// Half the main lobe of the 4-term Blackman-Harris window, in bins: a weaker maximum this
/// close to a stronger peak is part of it.
const PEAK_MIN_DISTANCE_BINS: f64 = 4.0;

/// Peaks of a power spectrum: (position in bins and dB relative to the strongest, both
/// interpolated between bins), strongest first, at most `count`.
fn pick_peaks(power: &[f64], count: usize) -> Vec<(f64, f64)> {
    let max = power.iter().copied().fold(0.0f64, f64::max);
    if max <= 0.0 || power.len() < 4 {
        return Vec::new();
    }
    let floor = max * 10f64.powf(PEAK_FLOOR_DB / 10.0);
    let prominence = 10f64.powf(PEAK_PROMINENCE_DB / 10.0);
    let n = power.len();
    // The deepest point on one side before the spectrum rises above `p`.
    let valley = |k: usize, step: isize| -> f64 {
        let p = power[k];
        let mut low = p;
        let mut j = k as isize + step;
        while j >= 0 && (j as usize) < n {
            let v = power[j as usize];
            if v > p {
                break;
            }
            low = low.min(v);
            j += step;
        }
        low
    };
    let mut candidates: Vec<(usize, f64)> = (2..n - 1)
        .filter(|&k| power[k] > power[k - 1] && power[k] >= power[k + 1] && power[k] >= floor)
        .filter(|&k| power[k] >= prominence * valley(k, -1).max(valley(k, 1)))
        .map(|k| (k, power[k]))
        .collect();
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut picked: Vec<(f64, f64)> = Vec::new();
    for (k, p) in candidates {
        if picked.len() == count {
            break;
        }
        // Parabolic interpolation of the peak's position between bins, on log power.
        let (a, b, c) = (
            power[k - 1].max(1e-30).ln(),
            p.max(1e-30).ln(),
            power[k + 1].max(1e-30).ln(),
        );
        let denom = a - 2.0 * b + c;
        let shift = if denom.abs() > 1e-12 {
            (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        let pos = k as f64 + shift;
        if picked
            .iter()
            .any(|(q, _)| (q - pos).abs() <= PEAK_MIN_DISTANCE_BINS)
        {
            continue;
        }
        // The level at the interpolated top, in natural log of power.
        picked.push((pos, b - 0.25 * (a - c) * shift));
    }
    let top = picked.first().map_or(0.0, |p| p.1);
    picked
        .into_iter()
        .map(|(pos, level)| (pos, 10.0 * (level - top) / std::f64::consts::LN_10))
        .collect()
}

/// True peak of planar audio, dBTP (`None` for digital silence).
pub fn true_peak_db(planes: &[Vec<f32>]) -> Option<f64> {
    let mut peak = 0.0f32;
    for p in planes {
        let mut m = TruePeakMeter::new();
        m.push(p);
        peak = peak.max(m.true_peak());
    }
    (peak > 0.0).then(|| 20.0 * f64::from(peak).log10())
}

/// Download formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Wav24,
    Wav16,
    Mp3320,
    Ogg,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Wav24, Format::Wav16, Format::Mp3320, Format::Ogg];

    /// Whether this build can produce the format (MP3 needs the `mp3` feature).
    pub fn available(self) -> bool {
        self != Format::Mp3320 || cfg!(feature = "mp3")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Wav24 => "wav24",
            Format::Wav16 => "wav16",
            Format::Mp3320 => "mp3320",
            Format::Ogg => "ogg",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Wav24 | Format::Wav16 => "wav",
            Format::Mp3320 => "mp3",
            Format::Ogg => "ogg",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Wav24 | Format::Wav16 => "audio/wav",
            Format::Mp3320 => "audio/mpeg",
            Format::Ogg => "audio/ogg",
        }
    }

    fn lossy(self) -> bool {
        matches!(self, Format::Mp3320 | Format::Ogg)
    }
}

/// Sample rates MPEG audio can carry; other rates are resampled by LAME to the nearest.
fn encode_once(pcm: &Pcm, gain: f32, format: Format, preview: bool) -> Result<Vec<u8>, AudioError> {
    match format {
        Format::Wav24 => Ok(wav(pcm, gain, 24)),
        Format::Wav16 => Ok(wav(pcm, gain, 16)),
        Format::Mp3320 => mp3(pcm, gain),
        Format::Ogg => vorbis(pcm, gain, if preview { 0.0 } else { 0.6 }),
    }
}

/// Encodes `pcm` as `format`; with `normalize`, scaled so that the true peak of the *decoded*
/// file is −1.0 dBTP (±0.1). Lossy codecs move the peak, so their gain is corrected on the
/// decoded result until it is within tolerance.
pub fn encode(
    pcm: &Pcm,
    format: Format,
    normalize: bool,
    scratch: &Path,
) -> Result<Vec<u8>, AudioError> {
    if !normalize {
        return encode_once(pcm, 1.0, format, false);
    }
    let Some(peak) = true_peak_db(&pcm.planes) else {
        // Digital silence has no peak to move.
        return encode_once(pcm, 1.0, format, false);
    };
    let mut gain_db = TARGET_DBTP - peak;
    let mut best: Option<(f64, Vec<u8>)> = None;
    // A lossy encoder's choices depend on the level, so the decoded peak is not exactly linear
    // in the gain: correct by the error, halving the step whenever it overshoots.
    let mut step = 1.0;
    let mut last_err: Option<f64> = None;
    for _ in 0..10 {
        let bytes = encode_once(pcm, db_to_gain(gain_db), format, false)?;
        let measured = if format.lossy() || format == Format::Wav16 {
            std::fs::write(scratch, &bytes)?;
            let decoded = decode(scratch);
            let _ = std::fs::remove_file(scratch);
            true_peak_db(&decoded?.planes)
        } else {
            // 24-bit quantisation moves the peak by less than 0.001 dB.
            Some(peak + gain_db)
        };
        let Some(measured) = measured else {
            return Ok(bytes);
        };
        let err = measured - TARGET_DBTP;
        let better = best.as_ref().is_none_or(|(e, _)| err.abs() < e.abs());
        if better {
            best = Some((err, bytes));
        }
        if err.abs() <= TOLERANCE_DB / 2.0 {
            break;
        }
        if last_err.is_some_and(|l| l.signum() != err.signum()) {
            step *= 0.5;
        }
        last_err = Some(err);
        gain_db -= err * step;
    }
    match best {
        Some((_, bytes)) => Ok(bytes),
        None => encode_once(pcm, db_to_gain(gain_db), format, false),
    }
}

/// A short, low-bitrate Ogg Vorbis for auditioning: the first 30 s.
pub fn preview(pcm: &Pcm) -> Result<Vec<u8>, AudioError> {
    let frames = pcm
        .frames()
        .min((PREVIEW_SEC * f64::from(pcm.rate)) as usize);
    let cut = Pcm {
        rate: pcm.rate,
        planes: pcm.planes.iter().map(|p| p[..frames].to_vec()).collect(),
        bit_depth: pcm.bit_depth,
    };
    encode_once(&cut, 1.0, Format::Ogg, true)
}

fn db_to_gain(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

/// A small, deterministic noise source for dither (the same file gives the same bytes, so a
/// cached download and a re-encoded one agree).
struct Lcg(u64);

impl Lcg {
    fn next_unit(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
}

/// PCM WAV, 16-bit with TPDF dither or 24-bit; WAVE_FORMAT_EXTENSIBLE above two channels.
pub fn wav(pcm: &Pcm, gain: f32, bits: u16) -> Vec<u8> {
    let ch = pcm.channels() as u16;
    let frames = pcm.frames();
    let bytes_per = bits / 8;
    let data_len = frames as u64 * u64::from(ch) * u64::from(bytes_per);
    let extensible = ch > 2;
    let fmt_len: u32 = if extensible { 40 } else { 16 };
    let mut out = Vec::with_capacity(data_len as usize + 80);
    let riff_len = 4 + (8 + fmt_len) + 8 + data_len as u32;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&fmt_len.to_le_bytes());
    out.extend_from_slice(&(if extensible { 0xFFFEu16 } else { 1 }).to_le_bytes());
    out.extend_from_slice(&ch.to_le_bytes());
    out.extend_from_slice(&pcm.rate.to_le_bytes());
    out.extend_from_slice(&(pcm.rate * u32::from(ch) * u32::from(bytes_per)).to_le_bytes());
    out.extend_from_slice(&(ch * bytes_per).to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        out.extend_from_slice(&22u16.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        // KSDATAFORMAT_SUBTYPE_PCM
        out.extend_from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38,
            0x9B, 0x71,
        ]);
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data_len as u32).to_le_bytes());
    let mut rng = Lcg(0x5eed);
    for i in 0..frames {
        for p in &pcm.planes {
            let x = p[i] * gain;
            if bits == 16 {
                // TPDF dither of ±1 LSB before rounding to 16 bits.
                let d = rng.next_unit() - rng.next_unit();
                let v = (x * 32767.0 + d).round().clamp(-32768.0, 32767.0) as i16;
                out.extend_from_slice(&v.to_le_bytes());
            } else {
                let v = (f64::from(x) * 8_388_607.0)
                    .round()
                    .clamp(-8_388_608.0, 8_388_607.0) as i32;
                out.extend_from_slice(&v.to_le_bytes()[..3]);
            }
        }
    }
    out
}

#[cfg(not(feature = "mp3"))]
fn mp3(_pcm: &Pcm, _gain: f32) -> Result<Vec<u8>, AudioError> {
    Err(AudioError::Mp3(
        "this build has no MP3 encoder (the `mp3` feature is off)".into(),
    ))
}

#[cfg(feature = "mp3")]
fn mp3(pcm: &Pcm, gain: f32) -> Result<Vec<u8>, AudioError> {
    use mp3lame_encoder::{Bitrate, Builder, DualPcm, FlushNoGap, MonoPcm, Quality};
    let err = |e: &dyn std::fmt::Display| AudioError::Mp3(e.to_string());
    let mut b =
        Builder::new().ok_or_else(|| AudioError::Mp3("cannot allocate the encoder".into()))?;
    // LAME takes one or two channels: more are mixed down to stereo.
    let planes = to_stereo_at_most(&pcm.planes, gain);
    b.set_num_channels(planes.len() as u8)
        .map_err(|e| err(&e))?;
    b.set_sample_rate(pcm.rate).map_err(|e| err(&e))?;
    b.set_brate(Bitrate::Kbps320).map_err(|e| err(&e))?;
    b.set_quality(Quality::Best).map_err(|e| err(&e))?;
    let mut enc = b.build().map_err(|e| err(&e))?;
    let frames = planes.first().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(frames));
    for start in (0..frames.max(1)).step_by(1 << 15) {
        let end = (start + (1 << 15)).min(frames);
        out.reserve(mp3lame_encoder::max_required_buffer_size(end - start));
        if planes.len() == 1 {
            enc.encode_to_vec(MonoPcm(&planes[0][start..end]), &mut out)
                .map_err(|e| err(&e))?;
        } else {
            let input = DualPcm {
                left: &planes[0][start..end],
                right: &planes[1][start..end],
            };
            enc.encode_to_vec(input, &mut out).map_err(|e| err(&e))?;
        }
    }
    out.reserve(7200);
    enc.flush_to_vec::<FlushNoGap>(&mut out)
        .map_err(|e| err(&e))?;
    Ok(out)
}

fn to_stereo_at_most(planes: &[Vec<f32>], gain: f32) -> Vec<Vec<f32>> {
    if planes.len() <= 2 {
        return planes
            .iter()
            .map(|p| p.iter().map(|x| x * gain).collect())
            .collect();
    }
    let n = planes.first().map_or(0, Vec::len);
    let g = gain / (planes.len() as f32 / 2.0);
    let mut l = vec![0.0f32; n];
    let mut r = vec![0.0f32; n];
    for (c, p) in planes.iter().enumerate() {
        let side = if c % 2 == 0 { &mut l } else { &mut r };
        for (o, x) in side.iter_mut().zip(p) {
            *o += x * g;
        }
    }
    vec![l, r]
}

fn vorbis(pcm: &Pcm, gain: f32, quality: f32) -> Result<Vec<u8>, AudioError> {
    use vorbis_rs::{VorbisBitrateManagementStrategy, VorbisEncoderBuilder};
    let err = |e: &dyn std::fmt::Display| AudioError::Vorbis(e.to_string());
    let rate =
        NonZeroU32::new(pcm.rate).ok_or_else(|| AudioError::Vorbis("zero sample rate".into()))?;
    let planes = to_stereo_at_most(&pcm.planes, gain);
    let ch = NonZeroU8::new(planes.len() as u8)
        .ok_or_else(|| AudioError::Vorbis("no channels".into()))?;
    let mut sink = Vec::new();
    {
        let mut enc = VorbisEncoderBuilder::new_with_serial(rate, ch, &mut sink, 0x746f_6e65)
            .bitrate_management_strategy(VorbisBitrateManagementStrategy::QualityVbr {
                target_quality: quality,
            })
            .build()
            .map_err(|e| err(&e))?;
        let frames = planes.first().map_or(0, Vec::len);
        for start in (0..frames).step_by(4096) {
            let end = (start + 4096).min(frames);
            let block: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
            enc.encode_audio_block(&block).map_err(|e| err(&e))?;
        }
        enc.finish().map_err(|e| err(&e))?;
    }
    Ok(sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, secs: f64, amp: f32, channels: usize) -> Pcm {
        let n = (f64::from(rate) * secs) as usize;
        let p: Vec<f32> = (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * 997.0 * i as f32 / rate as f32).sin())
            .collect();
        Pcm {
            rate,
            planes: vec![p; channels],
            bit_depth: Some(16),
        }
    }

    #[test]
    fn every_format_normalises_to_minus_one_dbtp_on_the_decoded_file() {
        let dir = tempfile::tempdir().unwrap();
        let pcm = tone(44_100, 1.5, 0.3, 2);
        for f in Format::ALL.into_iter().filter(|f| f.available()) {
            let bytes = encode(&pcm, f, true, &dir.path().join("scratch")).unwrap();
            let p = dir.path().join(format!("out.{}", f.extension()));
            std::fs::write(&p, &bytes).unwrap();
            let tp = true_peak_db(&decode(&p).unwrap().planes).unwrap();
            assert!((tp - TARGET_DBTP).abs() <= TOLERANCE_DB, "{f:?}: {tp}");
        }
    }

    fn sines(rate: u32, secs: f64, parts: &[(f32, f32)]) -> Pcm {
        let n = (f64::from(rate) * secs) as usize;
        let p: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                parts
                    .iter()
                    .map(|&(hz, amp)| {
                        amp * (2.0 * std::f64::consts::PI * f64::from(hz) * t).sin() as f32
                    })
                    .sum()
            })
            .collect();
        Pcm {
            rate,
            planes: vec![p],
            bit_depth: Some(16),
        }
    }

    #[test]
    fn one_sine_is_one_spectral_peak_and_two_are_two() {
        for rate in [44_100, 48_000] {
            let bin = rate as f32 / 4096.0;
            for secs in [0.05, 0.5, 3.0] {
                let peaks = spectral_peaks(&sines(rate, secs, &[(1000.0, 0.5)]), 8);
                assert_eq!(peaks.len(), 1, "{rate} Hz, {secs} s: {peaks:?}");
                assert!((peaks[0].0 - 1000.0).abs() <= bin, "{peaks:?}");
                assert_eq!(peaks[0].1, 0.0);
            }
            let peaks = spectral_peaks(&sines(rate, 2.0, &[(1000.0, 0.5), (3150.0, 0.1)]), 8);
            assert_eq!(peaks.len(), 2, "{peaks:?}");
            assert!((peaks[0].0 - 1000.0).abs() <= bin, "{peaks:?}");
            assert!((peaks[1].0 - 3150.0).abs() <= bin, "{peaks:?}");
            assert!((peaks[1].1 - (-14.0)).abs() < 0.5, "{peaks:?}");
        }
        // A square wave's odd harmonics are real peaks, not leakage: they stay.
        let square = Pcm {
            rate: 48_000,
            planes: vec![
                (0..48_000)
                    .map(|i| if (i / 24) % 2 == 0 { 0.5 } else { -0.5 })
                    .collect(),
            ],
            bit_depth: Some(16),
        };
        let peaks = spectral_peaks(&square, 4);
        assert_eq!(peaks.len(), 4, "{peaks:?}");
        for (p, hz) in peaks.iter().zip([1000.0, 3000.0, 5000.0, 7000.0]) {
            assert!((p.0 - hz).abs() <= 12.0, "{peaks:?}");
        }
    }

    #[test]
    fn measurement_finds_the_tone_and_its_level() {
        let pcm = tone(48_000, 2.0, 0.5, 1);
        let m = measure(&pcm);
        assert_eq!(m.duration_s, 2.0);
        assert!(
            (m.spectral_peaks[0].0 - 997.0).abs() < 5.0,
            "{:?}",
            m.spectral_peaks
        );
        let tp = m.true_peak_db.unwrap();
        assert!((tp - (-6.02)).abs() < 0.1, "{tp}");
        assert_eq!(m.waveform.len(), WAVEFORM_COLUMNS);
        assert!(m.loudness_lufs.is_some());
        let short = measure(&tone(48_000, 0.05, 0.5, 1));
        assert!(short.loudness_lufs.is_none() && short.loudness_note.is_some());
    }
}
