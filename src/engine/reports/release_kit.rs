//! The release kit: social clips cut on bar lines from the strongest repeated section, and
//! captions and hashtags assembled only from what the analysis measured (tempo, key, genre,
//! mood, instruments). No language model, no trend data, no claims about lyrics or artists.

use serde::{Deserialize, Serialize};

use crate::engine::form::Section;
use crate::engine::tags::mood::MoodReport;
use crate::engine::tags::{GenreReport, Tag, labels};

/// Clip lengths offered (seconds); each only when the audio is long enough.
const CLIP_SEC: [f64; 3] = [15.0, 30.0, 60.0];
/// How far (seconds) a clip's end may stray from its nominal length to land on a downbeat.
const SNAP_SEC: f64 = 4.0;

/// One clip of `release_kit.clips`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub start: f64,
    pub end: f64,
    pub duration: f64,
    /// chorus (starts on the loudest chorus), loudest_window (no chorus found: the loudest
    /// stretch), or whole_track (the audio is barely longer than the clip).
    pub reason: String,
}

/// `release_kit.captions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Captions {
    pub short: String,
    pub medium: String,
    pub long: String,
}

/// The `release_kit` section of the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseKit {
    pub clips: Vec<Clip>,
    /// `None` when the analysis found nothing to say (not music).
    pub captions: Option<Captions>,
    pub hashtags: Vec<String>,
    pub reason: Option<String>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Mean level (dB) of the 10 ms envelope between `a` and `b` seconds.
fn level_db(env: &[f32], env_hz: f64, a: f64, b: f64) -> f64 {
    let i = ((a * env_hz) as usize).min(env.len());
    let j = ((b * env_hz) as usize).clamp(i, env.len());
    if j == i {
        return -120.0;
    }
    let ms = env[i..j].iter().map(|v| f64::from(v * v)).sum::<f64>() / (j - i) as f64;
    10.0 * ms.max(1e-12).log10()
}

/// Clips for audio of `duration` seconds. `grid` holds the bar lines (downbeats, else beats);
/// `sections` the form when it was found; `env` the 10 ms RMS envelope at `env_hz`.
pub fn clips(
    duration: f64,
    grid: &[f64],
    sections: Option<&[Section]>,
    env: &[f32],
    env_hz: f64,
) -> Vec<Clip> {
    let mut out = Vec::new();
    // The loudest chorus occurrence that leaves room for the clip.
    let choruses: Vec<&Section> = sections
        .unwrap_or(&[])
        .iter()
        .filter(|s| s.label == "chorus")
        .collect();
    for &len in &CLIP_SEC {
        if duration < len {
            continue;
        }
        if duration < len + SNAP_SEC {
            out.push(Clip {
                start: 0.0,
                end: round2(duration),
                duration: round2(duration),
                reason: "whole_track".into(),
            });
            continue;
        }
        let points: Vec<f64> = if grid.len() >= 2 {
            grid.to_vec()
        } else {
            (0..duration as usize).map(|s| s as f64).collect()
        };
        // The end: the grid point nearest to start + len, within SNAP_SEC and inside the audio.
        let end_for = |start: f64| -> Option<f64> {
            points
                .iter()
                .copied()
                .filter(|&p| p > start && p <= duration && (p - start - len).abs() <= SNAP_SEC)
                .min_by(|a, b| (a - start - len).abs().total_cmp(&(b - start - len).abs()))
        };
        let mut chosen: Option<(f64, f64, &str)> = None;
        let mut ranked: Vec<&Section> = choruses.clone();
        ranked.sort_by(|a, b| {
            level_db(env, env_hz, b.start, b.end).total_cmp(&level_db(env, env_hz, a.start, a.end))
        });
        for s in ranked {
            // The first bar line at or after the chorus starts (allowing for rounding).
            let start = points
                .iter()
                .copied()
                .find(|&p| p >= s.start - 0.05 && p < s.end);
            if let Some((a, b)) = start.and_then(|a| end_for(a).map(|b| (a, b))) {
                chosen = Some((a, b, "chorus"));
                break;
            }
        }
        if chosen.is_none() {
            // The loudest window, skipping the first tenth (intros) when there is room.
            let skip = if duration > 3.0 * len {
                duration * 0.1
            } else {
                0.0
            };
            let mut best: Option<(f64, f64, f64)> = None;
            for &a in points.iter().filter(|&&p| p >= skip) {
                let Some(b) = end_for(a) else {
                    continue;
                };
                let l = level_db(env, env_hz, a, b);
                if best.is_none_or(|(_, _, bl)| l > bl + 0.05) {
                    best = Some((a, b, l));
                }
            }
            chosen = best.map(|(a, b, _)| (a, b, "loudest_window"));
        }
        if let Some((a, b, why)) = chosen {
            out.push(Clip {
                start: round2(a),
                end: round2(b),
                duration: round2(b - a),
                reason: why.into(),
            });
        }
    }
    out
}

fn hashtag(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    format!("#{t}")
}

/// Captions and hashtags from measured facts only.
pub fn text(
    bpm: Option<f64>,
    key: Option<&str>,
    genre: &GenreReport,
    mood: &MoodReport,
    instruments: &[Tag],
) -> (Option<Captions>, Vec<String>) {
    let genre_label = genre
        .primary
        .as_ref()
        .filter(|_| !genre.low_confidence)
        .map(|t| t.label.as_str());
    let moods: Vec<&str> = mood.tags.iter().take(2).map(|t| t.label.as_str()).collect();
    let instr: Vec<&str> = instruments
        .iter()
        .take(3)
        .map(|t| t.label.as_str())
        .collect();
    let bpm = bpm.map(|b| b.round() as i64);
    if genre.primary.is_none() && bpm.is_none() && key.is_none() {
        return (None, Vec::new());
    }
    let what = genre_label.map_or_else(|| "track".to_string(), |g| format!("{g} track"));
    let mut facts: Vec<String> = Vec::new();
    if let Some(b) = bpm {
        facts.push(format!("{b} BPM"));
    }
    if let Some(k) = key {
        facts.push(k.to_string());
    }
    let short = match genre_label {
        Some(g) => std::iter::once(g.to_string())
            .chain(facts.iter().cloned())
            .collect::<Vec<_>>()
            .join(" · "),
        None => facts.join(" · "),
    };
    let list = |v: &[&str]| match v {
        [] => String::new(),
        [a] => (*a).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let mut medium = format!("New {what}");
    if let Some(k) = key {
        medium.push_str(&format!(" in {k}"));
    }
    if let Some(b) = bpm {
        medium.push_str(&format!(" at {b} BPM"));
    }
    if !moods.is_empty() {
        medium.push_str(&format!(": {}", list(&moods)));
    }
    medium.push('.');
    let mut long = medium.clone();
    if !instr.is_empty() {
        long.push_str(&format!(" Featuring {}.", list(&instr).to_lowercase()));
    }
    if let (Some(e), Some(d)) = (mood.energy, mood.danceability) {
        long.push_str(&format!(" Energy {e}/100, danceability {d}/100."));
    }
    let mut tags: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if t.len() > 1 && !tags.contains(&t) {
            tags.push(t);
        }
    };
    if let Some(g) = genre_label {
        push(hashtag(g));
        push(hashtag(&format!("{g} music")));
        let family = labels::genre_family(g);
        if family != "other" {
            push(hashtag(family));
        }
    }
    for m in &moods {
        push(hashtag(m));
    }
    for i in &instr {
        push(hashtag(i));
    }
    if let Some(b) = bpm {
        push(format!("#{b}bpm"));
    }
    if let Some(k) = key {
        push(hashtag(k));
    }
    push("#newmusic".to_string());
    (
        Some(Captions {
            short,
            medium,
            long,
        }),
        tags,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(start: f64, end: f64, label: &str, group: &str) -> Section {
        Section {
            start,
            end,
            label: label.into(),
            group: group.into(),
        }
    }

    #[test]
    fn the_clips_start_on_the_loudest_chorus_and_end_on_a_bar_line() {
        // 4/4 at 120 BPM: a bar every 2 s over 120 s; chorus B twice, the second louder.
        let downbeats: Vec<f64> = (0..60).map(|b| 0.04 + 2.0 * f64::from(b)).collect();
        let sections = [
            section(0.0, 16.0, "intro", "A"),
            section(16.0, 48.0, "verse", "B"),
            section(48.0, 64.0, "chorus", "C"),
            section(64.0, 96.0, "verse", "B"),
            section(96.0, 120.0, "chorus", "C"),
        ];
        let mut env = vec![0.1f32; 12_000];
        env[9_600..12_000].iter_mut().for_each(|v| *v = 0.5);
        let clips = clips(120.0, &downbeats, Some(&sections), &env, 100.0);
        assert_eq!(clips.len(), 3, "{clips:?}");
        // 15 s fits in the loud last chorus; 30 s and 60 s do not, so they take the first.
        let starts: Vec<f64> = clips.iter().map(|c| c.start).collect();
        assert_eq!(starts, [96.04, 48.04, 48.04], "{clips:?}");
        for (c, len) in clips.iter().zip(CLIP_SEC) {
            assert_eq!(c.reason, "chorus");
            assert!(downbeats.iter().any(|d| (d - c.end).abs() < 1e-9), "{c:?}");
            assert!(
                (c.duration - len).abs() <= SNAP_SEC && c.end <= 120.0,
                "{c:?}"
            );
        }
    }

    #[test]
    fn without_a_chorus_the_loudest_window_is_taken_and_short_audio_is_whole() {
        let downbeats: Vec<f64> = (0..30).map(|b| 2.0 * f64::from(b)).collect();
        let mut env = vec![0.1f32; 6_000];
        env[3_000..5_000].iter_mut().for_each(|v| *v = 0.6);
        let c = clips(60.0, &downbeats, None, &env, 100.0);
        assert_eq!(c[0].reason, "loudest_window");
        assert!(c[0].start >= 30.0 && c[0].end <= 50.0, "{c:?}");
        let short = clips(16.0, &downbeats[..8], None, &env[..1_600], 100.0);
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].reason, "whole_track");
        assert!(clips(10.0, &downbeats[..5], None, &env[..1_000], 100.0).is_empty());
    }
}
