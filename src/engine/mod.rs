//! The analysis engine: decode once, then run each analyser on the decoded audio. No tokio, no
//! database, no server: `tonearm analyze` and the job workers call the same function.
//! `analyze_file` is the one entry point; it never panics outward and reports progress by stage.

pub mod channels;
pub mod decode;
pub mod downbeats;
mod error;
pub mod features;
pub mod form;
pub mod harmony;
mod hpss;
pub mod loudness;
mod mp4edit;
pub mod opus;
pub mod report;
pub mod reports;
mod sniff;
pub mod tags;
pub mod tempo;
mod tempo_metre;
pub mod truepeak;
pub mod waveform;

use std::path::Path;

pub use error::Error;
pub use harmony::key;
pub use report::{FileMeta, Report, SCHEMA_VERSION};

use decode::Source;
use loudness::LoudnessMeter;

/// Frames decoded per chunk while the loudness meter measures the previous chunk.
const CHUNK_SEC: f64 = 1.0;
/// Share of the progress bar given to decoding (loudness runs alongside it).
const DECODE_SHARE: f32 = 0.5;

/// Limits of one analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Longer audio is refused with `too_long`; bounds memory (the mono mix is 4 bytes a frame).
    pub max_duration_sec: f64,
    /// Platform loudness targets and the true-peak ceiling of the mix report.
    pub mix: reports::mix::MixTargets,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_duration_sec: 1800.0,
            mix: reports::mix::MixTargets::default(),
        }
    }
}

/// Where an analysis is, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Decode,
    Loudness,
    Tempo,
    Key,
    Chords,
    Sections,
    Finish,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Loudness => "loudness",
            Stage::Tempo => "tempo",
            Stage::Key => "key",
            Stage::Chords => "chords",
            Stage::Sections => "sections",
            Stage::Finish => "finish",
        }
    }
}

/// The container of a file from its first bytes (16 are enough); `None` when it is not audio.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    sniff::sniff(head)
}

/// Relative cost of analysing a file, for scheduling the longest work first when many files
/// share a few threads: audio seconds from the header, weighted by the decoder's speed (the
/// Opus decoder is single-threaded and about half as fast as the others). A file whose header
/// cannot be read costs nothing: it fails fast.
pub fn estimated_cost(path: &Path) -> f64 {
    // Reading a header runs the container parser, which can panic on crafted input like any
    // other decoder call; such a file costs nothing here and fails cleanly in `analyze_file`.
    let run = std::panic::AssertUnwindSafe(|| {
        let Ok(source) = Source::open(path, f64::INFINITY) else {
            return 0.0;
        };
        let info = source.info();
        let frames = info.declared_frames.or(info.estimated_frames).unwrap_or(0);
        let seconds = frames as f64 / f64::from(info.sample_rate.max(1));
        let decoder_weight = if info.codec == "opus" { 2.0 } else { 1.0 };
        seconds * decoder_weight
    });
    std::panic::catch_unwind(run).unwrap_or(0.0)
}

/// Analyse one file. `display_name` replaces the file name in the report. `progress` receives
/// (stage, fraction of the whole analysis in 0..=1) and may be called from several threads.
/// Runs on the current rayon pool; a panic inside a decoder becomes `corrupt_audio`.
pub fn analyze_file(
    path: &Path,
    display_name: Option<&str>,
    opts: &Options,
    progress: &(dyn Fn(Stage, f32) + Sync),
) -> Result<Report, Error> {
    let run = std::panic::AssertUnwindSafe(|| analyze_inner(path, display_name, opts, progress));
    match std::panic::catch_unwind(run) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Error::CorruptAudio(format!(
                "the decoder failed on this data: {what}"
            )))
        }
    }
}

/// Result of the decode pass: stream facts, the mono mix and the finished loudness section.
pub struct Decoded {
    pub info: decode::StreamInfo,
    pub mono: Vec<f32>,
    pub loudness: loudness::LoudnessReport,
    /// DC, clipping, stereo correlation and silence, for the mix report.
    pub mix: reports::mix::MixStats,
}

/// Decode `path` and measure its loudness while decoding. The decoder fills one chunk while the
/// meter measures the previous one (`rayon::join`), so only two chunks of multichannel audio
/// exist at any time; the mono mix is the only full-length buffer.
pub fn decode_and_measure(
    path: &Path,
    opts: &Options,
    progress: &(dyn Fn(Stage, f32) + Sync),
) -> Result<Decoded, Error> {
    if opts.max_duration_sec.is_nan() || opts.max_duration_sec <= 0.0 {
        return Err(Error::TooLong {
            duration_sec: 0.0,
            max_sec: opts.max_duration_sec,
        });
    }
    let mut source = Source::open(path, opts.max_duration_sec)?;
    progress(Stage::Decode, 0.0);
    let mut current: Vec<Vec<f32>> = Vec::new();
    let mut next: Vec<Vec<f32>> = Vec::new();
    let chunk_frames = |s: &Source| (f64::from(s.info().sample_rate) * CHUNK_SEC) as usize;
    // The first chunk fixes the real layout and rate, which the meter needs.
    let mut more = source.fill(&mut current, chunk_frames(&source))?;
    let mut meter = LoudnessMeter::new(source.roles(), source.info().sample_rate);
    let mut mix = reports::mix::MixMeter::new(source.roles().len(), source.info().sample_rate);
    let expected = source.info().estimated_frames;
    while more {
        let target = chunk_frames(&source);
        let (filled, ()) = rayon::join(
            || source.fill(&mut next, target),
            || {
                meter.push(&current);
                mix.push(&current);
            },
        );
        more = filled?;
        std::mem::swap(&mut current, &mut next);
        if let Some(total) = expected.filter(|t| *t > 0) {
            let done = (source.frames() as f64 / total as f64).min(1.0) as f32;
            progress(Stage::Decode, done * DECODE_SHARE);
        }
    }
    meter.push(&current);
    mix.push(&current);
    drop(current);
    drop(next);
    let (info, mono) = source.finish()?;
    let loudness = meter.finish();
    progress(Stage::Loudness, DECODE_SHARE + 0.05);
    Ok(Decoded {
        info,
        mono,
        loudness,
        mix: mix.finish(),
    })
}

fn analyze_inner(
    path: &Path,
    display_name: Option<&str>,
    opts: &Options,
    progress: &(dyn Fn(Stage, f32) + Sync),
) -> Result<Report, Error> {
    let Decoded {
        info,
        mono,
        loudness,
        mix,
    } = decode_and_measure(path, opts, progress)?;
    progress(Stage::Tempo, 0.6);
    let rate = info.sample_rate;
    // The hash reads the file a second time; it runs beside the features, and only for audio
    // that decoded, so a refused file is never read to its end. The waveform, one pass over the
    // mono mix, follows the hash on its side. The tagger sees up to one minute of 16 kHz
    // segments cut from the mono mix.
    let ((hash, waveform), (features, tagging)) = rayon::join(
        || (hash_file(path), waveform::Waveform::of_mono(&mono, rate)),
        || {
            rayon::join(
                || features::Features::compute(&mono, rate),
                || tags::Tagging::run(tags::Input::extract(&mono, rate)),
            )
        },
    );
    let (blake3, size_bytes) = hash?;
    let duration_sec = mono.len() as f64 / f64::from(rate);
    drop(mono);
    progress(Stage::Tempo, 0.8);
    let Music {
        tempo,
        key,
        create_report,
        structure,
    } = analyze_music(&features, progress);
    let sound = describe(
        &tagging,
        &features,
        &Finished {
            tempo: &tempo,
            key: &key,
            structure: &structure,
        },
        &loudness,
        &mix,
        &opts.mix,
        duration_sec,
    );
    drop(features);

    let filename = display_name.map(str::to_string).unwrap_or_else(|| {
        path.file_name().map_or_else(
            || path.to_string_lossy().into_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let bitrate_kbps = (duration_sec > 0.0)
        .then(|| (size_bytes as f64 * 8.0 / duration_sec / 1000.0 * 10.0).round() / 10.0);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        file_meta: FileMeta {
            filename,
            format: info.format,
            codec: info.codec,
            duration_sec: (duration_sec * 1000.0).round() / 1000.0,
            sample_rate_hz: rate,
            channels: info.channels as u32,
            bit_depth: info.bit_depth,
            bitrate_kbps,
            size_bytes,
            blake3,
        },
        loudness,
        tempo,
        key,
        create_report,
        structure,
        waveform: Some(waveform),
        genre: sound.genre,
        mood: sound.mood,
        instruments: sound.instruments,
        vocals: sound.vocals,
        stems_report: sound.stems_report,
        mix_report: sound.mix_report,
        release_kit: sound.release_kit,
    };
    progress(Stage::Finish, 1.0);
    Ok(report)
}

/// The musical sections of the result document.
pub struct Music {
    pub tempo: tempo::TempoReport,
    pub key: key::KeyReport,
    pub create_report: harmony::CreateReport,
    pub structure: form::StructureReport,
}

/// Tempo, then the harmonic front end on its beats, then chords, key, downbeats and sections.
/// Each stage reads only the shared features and the finished results of the stages before it.
pub fn analyze_music(
    features: &features::Features,
    progress: &(dyn Fn(Stage, f32) + Sync),
) -> Music {
    let mut tempo = tempo::analyze(features);
    progress(Stage::Tempo, 0.85);
    let frames = harmony::BeatFrames::compute(features, &tempo.beats);
    let chord_frames = harmony::BeatFrames::for_chords(features, &tempo.beats);
    let spans = harmony::chords::recognise(&chord_frames);
    progress(Stage::Chords, 0.9);
    let (key, found) = key::analyze(features, &spans);
    let spans = match found {
        Some(k) => harmony::chords::recognise_in_key(&chord_frames, k),
        None => spans,
    };
    progress(Stage::Key, 0.92);
    if let Some(signature) = tempo.time_signature.as_deref() {
        let per_bar = tempo::beats_per_bar(signature);
        tempo.downbeats = downbeats::find(features, &tempo.beats, per_bar, &spans);
    }
    let create_report = if features.is_silent() {
        harmony::CreateReport::unmeasured("silence: no signal above -80 dBFS")
    } else if frames.is_empty() || features.duration_sec < harmony::MIN_CHORDS_SEC {
        harmony::CreateReport::unmeasured("audio too short for chords (needs at least 2 s)")
    } else {
        harmony::CreateReport {
            chords: Some(harmony::chords::segments(&spans, found)),
            progression: found.and_then(|k| harmony::progression::most_frequent_loop(&spans, k)),
            suggested_vocal_key: key.name.clone(),
            reason: None,
        }
    };
    let structure = form::analyze(&frames, &tempo.downbeats, features.duration_sec);
    progress(Stage::Sections, 0.97);
    Music {
        tempo,
        key,
        create_report,
        structure,
    }
}

/// Finished results the sound sections read.
pub struct Finished<'a> {
    pub tempo: &'a tempo::TempoReport,
    pub key: &'a key::KeyReport,
    pub structure: &'a form::StructureReport,
}

/// Genre, mood, instruments, vocals, stems, mix report and release kit: the tagger's answer and
/// the descriptors, read together with the finished musical sections.
#[allow(clippy::too_many_arguments)]
pub fn describe(
    tagging: &tags::Tagging,
    features: &features::Features,
    music: &Finished<'_>,
    loudness: &loudness::LoudnessReport,
    mix: &reports::mix::MixStats,
    targets: &reports::mix::MixTargets,
    duration_sec: f64,
) -> report::Sound {
    let genre = tags::genre(tagging);
    let instruments = tags::instruments(tagging);
    let vocals = tags::vocals(tagging);
    let mood = tags::mood::analyze(
        tagging,
        features,
        music.tempo,
        music.key,
        loudness.integrated_lufs,
    );
    let stems_report = reports::stems::report(tagging, &vocals);
    let low_end = (!tagging.descriptors.segments.is_empty())
        .then_some(f64::from(tagging.descriptors.low_end_share));
    let mix_report = reports::mix::report(mix, loudness, low_end, targets);
    let grid: &[f64] = if music.tempo.downbeats.len() >= 2 {
        &music.tempo.downbeats
    } else {
        &music.tempo.beats
    };
    let clips = reports::release_kit::clips(
        duration_sec,
        grid,
        music.structure.sections.as_deref(),
        &tagging.envelope,
        tags::descriptors::ENVELOPE_HZ,
    );
    let (captions, hashtags) = if genre.primary.is_some() {
        reports::release_kit::text(
            music.tempo.bpm,
            music.key.name.as_deref(),
            &genre,
            &mood,
            &instruments,
        )
    } else {
        (None, Vec::new())
    };
    let reason = match (&captions, clips.is_empty()) {
        (None, true) => Some(format!(
            "no clip (audio under 15 s) and no captions ({})",
            genre.reason.as_deref().unwrap_or("nothing measured")
        )),
        (None, false) => Some(format!(
            "no captions: {}",
            genre.reason.as_deref().unwrap_or("nothing measured")
        )),
        (Some(_), true) => Some("no clip: the audio is shorter than 15 s".to_string()),
        (Some(_), false) => None,
    };
    report::Sound {
        genre,
        mood,
        instruments,
        vocals,
        stems_report,
        mix_report,
        release_kit: reports::release_kit::ReleaseKit {
            clips,
            captions,
            hashtags,
            reason,
        },
    }
}

fn hash_file(path: &Path) -> Result<(String, u64), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = blake3::Hasher::new();
    let size = std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 16, file),
        &mut hasher,
    )
    .map_err(io)?;
    Ok((hasher.finalize().to_hex().to_string(), size))
}
