//! Sounds imported before the library had the tagging model carry no machine tags. After a
//! start, one background thread listens to them one by one, oldest first, and stores what it
//! heard, so "similar" and the machine tags reach the whole library without a re-import.

use super::{Library, audio, machine};
use crate::store::Store;
use crate::store::schema::MachineTags;

/// Tags every sound that has no machine tags yet; returns how many were tagged. A sound whose
/// original cannot be decoded, or that the model cannot hear, is stored with empty machine tags
/// so it is not retried at every start.
pub fn run(library: &Library, store: &Store) -> usize {
    let mut pending: Vec<(String, u64)> = library
        .index()
        .entries()
        .filter(|(_, r)| r.machine.is_none())
        .map(|(id, r)| (id.to_string(), r.created_at_ms))
        .collect();
    if pending.is_empty() {
        return 0;
    }
    pending.sort_by_key(|&(_, t)| t);
    tracing::info!(
        sounds = pending.len(),
        "listening to sounds imported before the tagging model"
    );
    let mut done = 0;
    for (id, _) in pending {
        let Some(rec) = library.index().get(&id).cloned() else {
            continue;
        };
        let heard = match audio::decode(&library.original(&rec)) {
            Ok(pcm) => machine::listen(&pcm),
            Err(e) => Err(e.to_string()),
        };
        let tags = heard.unwrap_or_else(|e| {
            tracing::warn!(sound = %id, error = %e, "the tagging model could not listen to a sound");
            MachineTags::default()
        });
        match store.update_sound(&id, |r| {
            if r.machine.is_none() {
                r.machine = Some(tags);
            }
        }) {
            Ok(Some(updated)) => {
                library.upsert(&id, updated);
                done += 1;
            }
            // Deleted meanwhile.
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "storing machine tags failed; the rest wait for the next start");
                break;
            }
        }
    }
    tracing::info!(sounds = done, "machine tags stored");
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{SoundRecord, WaveformRecord};

    /// A 16-bit mono WAV of a 1 kHz sine.
    fn sine_wav(secs: f32) -> Vec<u8> {
        let rate = 16_000u32;
        let n = (secs * rate as f32) as usize;
        let tone = (0..n)
            .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin())
            .collect();
        let pcm = audio::Pcm {
            rate,
            planes: vec![tone],
            bit_depth: Some(16),
        };
        audio::wav(&pcm, 1.0, 16)
    }

    fn record(file: &str, sha: u8) -> SoundRecord {
        SoundRecord {
            category: "Broadcast".into(),
            sample_rate_hz: 16_000,
            ..SoundRecord::sample("Tone", file, sha)
        }
    }

    /// Sounds without machine tags are listened to and stored; a damaged original is stored
    /// with empty tags so it is not retried; tagged sounds are left alone.
    #[test]
    fn untagged_sounds_are_listened_to_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let w = WaveformRecord { peaks: vec![] };
        store
            .insert_sound("tone", &record("tone.wav", 1), &w)
            .unwrap();
        store
            .insert_sound("broken", &record("broken.wav", 2), &w)
            .unwrap();
        let library = Library::open(dir.path(), store.all_sounds().unwrap()).unwrap();
        std::fs::write(library.sounds_dir().join("tone.wav"), sine_wav(1.0)).unwrap();
        std::fs::write(library.sounds_dir().join("broken.wav"), b"RIFF not really").unwrap();
        assert_eq!(run(&library, &store), 2);
        let tone = store.get_sound("tone").unwrap().unwrap();
        let heard = tone.machine.expect("tagged");
        assert!(
            heard.tags.iter().any(|(l, _)| l == "Sine wave"),
            "{:?}",
            heard.tags
        );
        assert_eq!(heard.vector.len(), crate::engine::tags::model::CLASSES);
        assert_eq!(
            library.index().get("tone").unwrap().machine.as_ref(),
            Some(&heard)
        );
        let broken = store.get_sound("broken").unwrap().unwrap();
        assert_eq!(broken.machine, Some(MachineTags::default()));
        assert_eq!(run(&library, &store), 0);
    }
}
