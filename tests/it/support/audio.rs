//! Synthesised test audio with known answers, written as WAV: sines at a given level, a click
//! track at a given tempo, a piano-like chord progression, silence, any channel count and rate.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

/// Planar audio: `channels[c][i]` in -1..1.
#[derive(Debug, Clone)]
pub struct Audio {
    pub rate: u32,
    pub channels: Vec<Vec<f32>>,
}

/// Sample encoding of a written WAV.
#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    /// Unsigned 8-bit, as WAV stores it.
    Pcm8,
    Pcm16,
    Pcm24,
    Pcm32,
    Float32,
}

/// Amplitude of a sine whose peak is `dbfs`.
pub fn amplitude(dbfs: f64) -> f64 {
    10f64.powf(dbfs / 20.0)
}

/// A sine of `freq` Hz with its peak at `dbfs`, `secs` long.
pub fn sine(rate: u32, freq: f64, dbfs: f64, secs: f64) -> Vec<f32> {
    let a = amplitude(dbfs);
    let n = (f64::from(rate) * secs).round() as usize;
    (0..n)
        .map(|i| (a * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

pub fn silence(rate: u32, secs: f64) -> Vec<f32> {
    vec![0.0; (f64::from(rate) * secs).round() as usize]
}

/// Short decaying noise-free clicks (a 2 kHz burst of 10 ms) at `bpm`, accented on each bar's
/// first beat of `beats_per_bar`.
pub fn click_track(rate: u32, bpm: f64, beats_per_bar: usize, secs: f64) -> Vec<f32> {
    let n = (f64::from(rate) * secs).round() as usize;
    let mut out = vec![0.0f32; n];
    let period = 60.0 / bpm * f64::from(rate);
    let burst = (0.010 * f64::from(rate)) as usize;
    let mut beat = 0usize;
    loop {
        let start = (beat as f64 * period).round() as usize;
        if start >= n {
            break;
        }
        let gain = if beat.is_multiple_of(beats_per_bar) {
            0.8
        } else {
            0.5
        };
        for i in 0..burst.min(n - start) {
            let t = i as f64 / f64::from(rate);
            let env = (-t * 400.0).exp();
            out[start + i] = (gain * env * (2.0 * PI * 2000.0 * t).sin()) as f32;
        }
        beat += 1;
    }
    out
}

/// Piano-like tones (harmonics with an exponential decay) for each chord in turn, each held
/// `chord_secs`. Chords are lists of MIDI note numbers.
pub fn chord_progression(rate: u32, chords: &[&[u8]], chord_secs: f64) -> Vec<f32> {
    let per = (f64::from(rate) * chord_secs).round() as usize;
    let mut out = vec![0.0f32; per * chords.len()];
    for (k, chord) in chords.iter().enumerate() {
        for &note in *chord {
            let f0 = 440.0 * 2f64.powf((f64::from(note) - 69.0) / 12.0);
            for i in 0..per {
                let t = i as f64 / f64::from(rate);
                let env = (-t * 1.5).exp() * (1.0 - (-t * 200.0).exp());
                let mut v = 0.0;
                for h in 1..=4 {
                    v += (2.0 * PI * f0 * h as f64 * t).sin() / (h * h) as f64;
                }
                out[k * per + i] += (0.1 * env * v) as f32;
            }
        }
    }
    out
}

impl Audio {
    pub fn mono(rate: u32, x: Vec<f32>) -> Audio {
        Audio {
            rate,
            channels: vec![x],
        }
    }

    /// The same signal on `n` channels.
    pub fn copies(rate: u32, x: Vec<f32>, n: usize) -> Audio {
        Audio {
            rate,
            channels: vec![x; n],
        }
    }

    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// A WAV file image. More than two channels, or a `channel_mask`, use WAVE_FORMAT_EXTENSIBLE.
    pub fn wav_bytes(&self, enc: Encoding, channel_mask: Option<u32>) -> Vec<u8> {
        let ch = self.channels.len() as u16;
        let bits: u16 = match enc {
            Encoding::Pcm8 => 8,
            Encoding::Pcm16 => 16,
            Encoding::Pcm24 => 24,
            Encoding::Pcm32 | Encoding::Float32 => 32,
        };
        let block = ch * bits / 8;
        let data_len = self.frames() as u32 * u32::from(block);
        let extensible = ch > 2 || channel_mask.is_some();
        let fmt_len: u32 = if extensible { 40 } else { 16 };
        let mut b = Vec::with_capacity(data_len as usize + 80);
        b.extend(b"RIFF");
        b.extend((4 + 8 + fmt_len + 8 + data_len).to_le_bytes());
        b.extend(b"WAVEfmt ");
        b.extend(fmt_len.to_le_bytes());
        let tag: u16 = match (extensible, enc) {
            (true, _) => 0xFFFE,
            (false, Encoding::Float32) => 3,
            (false, _) => 1,
        };
        b.extend(tag.to_le_bytes());
        b.extend(ch.to_le_bytes());
        b.extend(self.rate.to_le_bytes());
        b.extend((self.rate * u32::from(block)).to_le_bytes());
        b.extend(block.to_le_bytes());
        b.extend(bits.to_le_bytes());
        if extensible {
            b.extend(22u16.to_le_bytes());
            b.extend(bits.to_le_bytes());
            let mask = channel_mask.unwrap_or(match ch {
                6 => 0x3F,
                5 => 0x37,
                _ => (1u32 << ch) - 1,
            });
            b.extend(mask.to_le_bytes());
            let sub: u16 = if matches!(enc, Encoding::Float32) {
                3
            } else {
                1
            };
            b.extend(sub.to_le_bytes());
            b.extend([
                0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38,
            ]);
            b.extend([0x9B, 0x71]);
        }
        b.extend(b"data");
        b.extend(data_len.to_le_bytes());
        for i in 0..self.frames() {
            for c in &self.channels {
                let x = f64::from(c[i]).clamp(-1.0, 1.0);
                match enc {
                    Encoding::Pcm8 => b.push(((x * 127.0).round() as i16 + 128) as u8),
                    Encoding::Pcm32 => {
                        b.extend(((x * 2_147_483_647.0).round() as i32).to_le_bytes())
                    }
                    Encoding::Pcm16 => b.extend(((x * 32767.0).round() as i16).to_le_bytes()),
                    Encoding::Pcm24 => {
                        let v = (x * 8_388_607.0).round() as i32;
                        b.extend(&v.to_le_bytes()[..3]);
                    }
                    Encoding::Float32 => b.extend((x as f32).to_le_bytes()),
                }
            }
        }
        b
    }

    /// Write as `name` inside `dir` and return the path.
    pub fn write_wav(&self, dir: &Path, name: &str, enc: Encoding) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.wav_bytes(enc, None))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

#[test]
fn click_track_puts_one_click_per_beat() {
    let rate = 8_000;
    let x = click_track(rate, 120.0, 4, 4.0);
    // Onsets: a non-zero sample after at least 100 ms of zeros.
    let mut onsets = Vec::new();
    let mut quiet = usize::MAX;
    for (i, v) in x.iter().enumerate() {
        if v.abs() > 1e-6 {
            if quiet > 800 {
                onsets.push(i);
            }
            quiet = 0;
        } else {
            quiet = quiet.saturating_add(1);
        }
    }
    assert_eq!(onsets.len(), 8);
    assert!(
        onsets.windows(2).all(|w| w[1] - w[0] == 4_000),
        "{onsets:?}"
    );
}

#[test]
fn chord_progression_sounds_each_chord_for_its_length() {
    let rate = 8_000;
    let x = chord_progression(rate, &[&[60, 64, 67], &[57, 60, 64]], 1.0);
    assert_eq!(x.len(), 16_000);
    for chord in x.chunks(8_000) {
        let peak = chord.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 0.05 && peak < 1.0, "peak {peak}");
    }
}
