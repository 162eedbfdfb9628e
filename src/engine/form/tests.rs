use super::*;
use crate::engine::analyze_music;
use crate::engine::features::{Features, synth};

const RATE: u32 = 22_050;

/// Texture A: piano C–G–Am–F with a click on every beat at 120 BPM.
fn texture_a(seconds: f64) -> Vec<f32> {
    let chords: [&[i32]; 4] = [&[60, 64, 67], &[55, 59, 62], &[57, 60, 64], &[53, 57, 60]];
    let mut x = synth::progression(&chords, 2.0, seconds, RATE);
    let clicks = synth::click_track(120.0, seconds, RATE);
    for (v, c) in x.iter_mut().zip(&clicks) {
        *v += 0.6 * c;
    }
    x
}

/// Texture B: quiet sustained sine pads on D minor and Bb major an octave up, with clicks on
/// every other eighth at the same tempo and a low drone.
fn texture_b(seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(RATE)) as usize;
    let clicks = synth::click_track(240.0, seconds, RATE);
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let chord: [f64; 3] = if (t / 4.0).floor() as i64 % 2 == 0 {
                [74.0, 77.0, 81.0]
            } else {
                [70.0, 74.0, 77.0]
            };
            let pad: f64 = chord
                .iter()
                .map(|m| {
                    (2.0 * std::f64::consts::PI * 440.0 * 2f64.powf((m - 69.0) / 12.0) * t).sin()
                })
                .sum::<f64>()
                * 0.05;
            let drone = 0.1 * (2.0 * std::f64::consts::PI * 73.42 * t).sin();
            (pad + drone) as f32 + 0.3 * clicks[i]
        })
        .collect()
}

fn structure_of(x: &[f32]) -> StructureReport {
    let f = Features::compute(x, RATE);
    analyze_music(&f, &|_, _| {}).structure
}

#[test]
fn alternating_textures_give_four_sections_in_groups_a_b_a_b() {
    let mut x = Vec::new();
    for k in 0..4 {
        if k % 2 == 0 {
            x.extend(texture_a(16.0));
        } else {
            x.extend(texture_b(16.0));
        }
    }
    let report = structure_of(&x);
    let sections = report.sections.expect("sections");
    let starts: Vec<f64> = sections.iter().map(|s| s.start).collect();
    let groups: Vec<&str> = sections.iter().map(|s| s.group.as_str()).collect();
    assert_eq!(groups, ["A", "B", "A", "B"], "{sections:?}");
    for (got, want) in starts.iter().zip([0.0, 16.0, 32.0, 48.0]) {
        assert!(
            (got - want).abs() <= 1.0,
            "boundary {got} for {want}: {sections:?}"
        );
    }
    assert_eq!(sections[3].end, 64.0);
    assert!(sections.windows(2).all(|w| w[0].end == w[1].start));
    assert!(!report.method.is_empty());
}

#[test]
fn a_modulating_track_still_gets_sane_sections() {
    // Texture A, then the same a whole tone up, then A again: sections tile the audio in
    // order, none is shorter than a few bars, and the two A parts share a group.
    let a = texture_a(16.0);
    let chords: [&[i32]; 4] = [&[62, 66, 69], &[57, 61, 64], &[59, 62, 66], &[55, 59, 62]];
    let mut up = synth::progression(&chords, 2.0, 16.0, RATE);
    for (v, c) in up.iter_mut().zip(&synth::click_track(120.0, 16.0, RATE)) {
        *v += 0.6 * c;
    }
    let x: Vec<f32> = a.iter().chain(&up).chain(&a).copied().collect();
    let sections = structure_of(&x).sections.expect("sections");
    assert_eq!(sections[0].start, 0.0);
    assert_eq!(sections[sections.len() - 1].end, 48.0);
    assert!(
        sections
            .windows(2)
            .all(|w| w[0].end == w[1].start && w[0].start < w[0].end)
    );
    assert!(
        sections.iter().all(|s| s.end - s.start >= 4.0),
        "{sections:?}"
    );
    assert!((2..=6).contains(&sections.len()), "{sections:?}");
}

#[test]
fn six_second_clip_has_no_sections_and_says_why() {
    let report = structure_of(&texture_a(6.0));
    assert_eq!(report.sections, None);
    assert!(report.reason.is_some_and(|r| r.contains("too short")));
}

#[test]
fn silence_has_no_sections() {
    let report = structure_of(&vec![0.0; RATE as usize * 30]);
    assert_eq!(report.sections, None);
    assert!(report.reason.is_some());
}
