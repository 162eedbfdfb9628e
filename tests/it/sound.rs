//! What it sounds like, end to end through the engine on synthesised audio: the mix checks
//! (clipping, phase, DC, loudness), drums present or absent, `null` genre for a sine, and
//! release-kit clips on downbeats inside the audio.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use tonearm::engine::{self, Options, Report};

use crate::support::audio::{self, Audio, Encoding};

const RATE: u32 = 44_100;

fn analyze(path: &Path) -> Report {
    engine::analyze_file(path, None, &Options::default(), &|_, _| {})
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check<'a>(r: &'a Report, id: &str) -> &'a engine::reports::mix::MixCheck {
    r.mix_report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} check in {:?}", r.mix_report))
}

fn platform<'a>(r: &'a Report, name: &str) -> &'a engine::reports::mix::PlatformGain {
    r.mix_report
        .platforms
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} platform in {:?}", r.mix_report))
}

/// Deterministic white noise in -1..1.
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2_000_001) as f32 / 1_000_000.0 - 1.0
        })
        .collect()
}

/// A drum loop: kick on every beat, snare on 2 and 4, hi-hat on the eighths.
fn drum_loop(bpm: f64, secs: f64) -> Vec<f32> {
    let n = (f64::from(RATE) * secs) as usize;
    let mut x = vec![0.0f32; n];
    let beat = 60.0 / bpm * f64::from(RATE);
    let hat = noise(2_000, 3);
    let snare = noise(8_000, 5);
    let mut b = 0usize;
    loop {
        let at = (b as f64 * beat) as usize;
        if at >= n {
            break;
        }
        for i in 0..11_000.min(n - at) {
            let t = i as f64 / f64::from(RATE);
            let f = 50.0 + 100.0 * (-t * 30.0).exp();
            x[at + i] += (0.8 * (2.0 * PI * f * t).sin() * (-t * 12.0).exp()) as f32;
        }
        if b % 2 == 1 {
            for i in 0..8_000.min(n - at) {
                let t = i as f64 / f64::from(RATE);
                x[at + i] += (0.5 * f64::from(snare[i]) * (-t * 22.0).exp()) as f32;
            }
        }
        for off in [0, (beat / 2.0) as usize] {
            let a = at + off;
            for i in 0..2_000.min(n.saturating_sub(a)) {
                let t = i as f64 / f64::from(RATE);
                x[a + i] += (0.2 * f64::from(hat[i]) * (-t * 80.0).exp()) as f32;
            }
        }
        b += 1;
    }
    scale_peak(&mut x, 0.8);
    x
}

/// A sustained pad: a held A minor chord with slow tremolo, no attacks.
fn pad(secs: f64) -> Vec<f32> {
    let n = (f64::from(RATE) * secs) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let fade = (t / 2.0).min(1.0);
            let trem = 1.0 + 0.1 * (2.0 * PI * 0.3 * t).sin();
            let v: f64 = [110.0, 220.0, 261.63, 329.63]
                .iter()
                .map(|f| (2.0 * PI * f * t).sin())
                .sum();
            (0.15 * fade * trem * v) as f32
        })
        .collect()
}

fn scale_peak(x: &mut [f32], peak: f32) {
    let m = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    if m > 0.0 {
        x.iter_mut().for_each(|v| *v *= peak / m);
    }
}

fn write(dir: &Path, name: &str, channels: Vec<Vec<f32>>) -> PathBuf {
    Audio {
        rate: RATE,
        channels,
    }
    .write_wav(dir, name, Encoding::Float32)
}

/// `x` scaled so the file measures `lufs` integrated (one analysis to measure, then scaled).
fn at_lufs(dir: &Path, name: &str, channels: Vec<Vec<f32>>, lufs: f64) -> PathBuf {
    let probe = write(dir, name, channels.clone());
    let got = analyze(&probe).loudness.integrated_lufs.unwrap();
    let g = 10f64.powf((lufs - got) / 20.0) as f32;
    let scaled = channels
        .into_iter()
        .map(|c| c.into_iter().map(|v| v * g).collect())
        .collect();
    write(dir, name, scaled)
}

#[test]
fn hard_clipped_loud_noise_fails_clipping_and_true_peak() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<f32> = noise(RATE as usize * 8, 11)
        .into_iter()
        .map(|v| (v * 3.0).clamp(-1.0, 1.0))
        .collect();
    let r = analyze(&write(dir.path(), "clipped.wav", vec![x.clone(), x]));
    assert_eq!(check(&r, "clipping").status, "fail", "{:?}", r.mix_report);
    assert_eq!(check(&r, "true_peak").status, "fail", "{:?}", r.mix_report);
    let m = r.mix_report.priority_move.as_deref().unwrap();
    assert!(m.contains("clipping"), "{m}");
    // The platforms would turn it down a long way.
    let spotify = platform(&r, "Spotify");
    assert!(spotify.gain_db < -5.0, "{spotify:?}");
}

#[test]
fn phase_inverted_stereo_fails_phase_correlation() {
    let dir = tempfile::tempdir().unwrap();
    let x = audio::chord_progression(RATE, &[&[57, 60, 64], &[53, 57, 60]], 4.0);
    let inv: Vec<f32> = x.iter().map(|v| -v).collect();
    let r = analyze(&write(dir.path(), "inverted.wav", vec![x, inv]));
    let c = check(&r, "phase_correlation");
    assert_eq!(c.status, "fail", "{c:?}");
    assert!(c.value.unwrap() < -0.9, "{c:?}");
}

#[test]
fn dc_offset_of_minus_40_dbfs_fails_dc_offset() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<f32> = audio::sine(RATE, 220.0, -12.0, 6.0)
        .into_iter()
        .map(|v| v + 0.01)
        .collect();
    let r = analyze(&write(dir.path(), "dc.wav", vec![x.clone(), x]));
    let c = check(&r, "dc_offset");
    assert_eq!(c.status, "fail", "{c:?}");
    assert!((c.value.unwrap() + 40.0).abs() < 0.5, "{c:?}");
}

/// A master-like signal: piano-like chords over a drum loop, stereo, positively correlated.
fn master(secs: f64) -> Vec<Vec<f32>> {
    let chords: Vec<&[u8]> = [
        &[48u8, 60, 64, 67][..],
        &[45, 57, 60, 64],
        &[41, 57, 60, 65],
        &[43, 59, 62, 67],
    ]
    .into_iter()
    .cycle()
    .take((secs / 2.0) as usize)
    .collect();
    let keys = audio::chord_progression(RATE, &chords, 2.0);
    let drums = drum_loop(120.0, secs);
    // Mixed, then through a soft limiter as a mastering chain would, so the peaks sit about
    // 10 dB over the loudness.
    let mix = |gain: f32| -> Vec<f32> {
        // A quieter first half (verse), then the full level (chorus).
        let half = keys.len() / 2;
        let mut x: Vec<f32> = keys
            .iter()
            .zip(&drums)
            .enumerate()
            .map(|(i, (k, d))| (gain * k + 0.3 * d) * if i < half { 0.4 } else { 1.0 })
            .collect();
        scale_peak(&mut x, 1.0);
        x.iter().map(|v| (2.5 * v).tanh() / 2.5f32.tanh()).collect()
    };
    vec![mix(1.5), mix(1.2)]
}

#[test]
fn quiet_file_warns_and_a_clean_master_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = at_lufs(dir.path(), "quiet.wav", master(16.0), -30.0);
    let r = analyze(&quiet);
    let c = check(&r, "integrated_loudness");
    assert_eq!(c.status, "warn", "{c:?}");
    assert!((c.value.unwrap() + 30.0).abs() < 0.3, "{c:?}");
    assert!(r.mix_report.priority_move.unwrap().contains("Raise"));

    let clean = at_lufs(dir.path(), "clean.wav", master(16.0), -14.0);
    let r = analyze(&clean);
    let ids: Vec<&str> = r.mix_report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "integrated_loudness",
            "true_peak",
            "clipping",
            "phase_correlation",
            "dc_offset",
            "loudness_range",
            "plr",
            "low_end",
            "silence"
        ]
    );
    for c in &r.mix_report.checks {
        assert_eq!(c.status, "pass", "{c:?}");
    }
    assert_eq!(r.mix_report.priority_move, None);
    let spotify = platform(&r, "Spotify");
    assert!(spotify.gain_db.abs() <= 0.2, "{spotify:?}");
    let apple = platform(&r, "Apple Music");
    assert!((apple.gain_db + 2.0).abs() <= 0.2, "{apple:?}");
}

#[test]
fn a_drum_loop_has_drums_and_a_sustained_pad_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let drums = drum_loop(120.0, 20.0);
    let r = analyze(&write(dir.path(), "drums.wav", vec![drums]));
    let stem = |r: &Report, id: &str| {
        r.stems_report
            .stems
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .unwrap()
    };
    let d = stem(&r, "drums");
    assert!(d.present, "{:?}", r.stems_report);
    assert!(d.quality_pct.is_none());
    assert_eq!(r.stems_report.method, "estimate");
    let r = analyze(&write(dir.path(), "pad.wav", vec![pad(20.0)]));
    let d = stem(&r, "drums");
    assert!(!d.present, "{:?}", r.stems_report);
    assert_eq!(d.energy_share_pct, Some(0));
    assert!(stem(&r, "bass").present, "{:?}", r.stems_report);
}

#[test]
fn a_sine_gets_null_genre_and_mood_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let x = audio::sine(RATE, 1000.0, -12.0, 12.0);
    let r = analyze(&write(dir.path(), "sine.wav", vec![x.clone(), x]));
    assert_eq!(r.genre.primary, None);
    assert!(r.genre.top5.is_empty());
    let reason = r.genre.reason.as_deref().unwrap();
    assert!(reason.contains("not music"), "{reason}");
    assert_eq!(r.mood.energy, None);
    assert!(r.mood.reason.is_some());
    assert!(r.release_kit.captions.is_none());
    // The mix report is made for any audio.
    assert_eq!(r.mix_report.checks.len(), 9);
}

#[test]
fn release_kit_clips_start_and_end_on_downbeats_inside_the_audio() {
    let dir = tempfile::tempdir().unwrap();
    let [l, r] = <[Vec<f32>; 2]>::try_from(master(48.0)).unwrap();
    let r = analyze(&write(dir.path(), "song.wav", vec![l, r]));
    let duration = r.file_meta.duration_sec;
    let downbeats = &r.tempo.downbeats;
    assert!(downbeats.len() >= 8, "{:?}", r.tempo);
    let lengths: Vec<f64> = r.release_kit.clips.iter().map(|c| c.duration).collect();
    assert_eq!(r.release_kit.clips.len(), 2, "{:?}", r.release_kit);
    for (clip, want) in r.release_kit.clips.iter().zip([15.0, 30.0]) {
        let on_grid = |t: f64| downbeats.iter().any(|d| (d - t).abs() < 0.011);
        assert!(on_grid(clip.start), "{clip:?} vs {downbeats:?}");
        assert!(on_grid(clip.end), "{clip:?} vs {downbeats:?}");
        assert!(clip.start >= 0.0 && clip.end <= duration, "{clip:?}");
        assert!((clip.duration - want).abs() <= 4.0, "{lengths:?}");
    }
}
