//! Speed of the analysis engine, stage by stage and whole, over a folder of audio files:
//! `cargo bench --bench engine -- DIR` (default: the committed test fixtures). Prints the
//! realtime factor (audio seconds per wall second) of each stage, of the whole analysis on one
//! thread and on all threads, and of symphonia's bare decode (demux + decode, no conversion) as
//! the floor. The last line is a JSON summary for scripts/bench-engine.sh.

// A benchmark has no caller to report to: a file it cannot read ends the run with the reason.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use tonearm::engine::decode::Source;
use tonearm::engine::loudness::LoudnessMeter;
use tonearm::engine::opus::OpusStream;
use tonearm::engine::reports::mix::{MixMeter, MixTargets};
use tonearm::engine::truepeak::TruePeakMeter;
use tonearm::engine::{self, Options, downbeats, features, form, harmony, key, tags, tempo};

#[derive(Default, Debug, Clone, Copy)]
struct Stages {
    audio_sec: f64,
    bare_decode: Duration,
    decode: Duration,
    loudness: Duration,
    true_peak_only: Duration,
    features: Duration,
    tempo: Duration,
    key: Duration,
    beat_frames: Duration,
    chords: Duration,
    sections: Duration,
    mix_meter: Duration,
    tag_input: Duration,
    descriptors: Duration,
    tagger: Duration,
    sound_reports: Duration,
    waveform: Duration,
    whole_one_thread: Duration,
}

impl std::ops::AddAssign for Stages {
    fn add_assign(&mut self, o: Stages) {
        self.audio_sec += o.audio_sec;
        self.bare_decode += o.bare_decode;
        self.decode += o.decode;
        self.loudness += o.loudness;
        self.true_peak_only += o.true_peak_only;
        self.features += o.features;
        self.tempo += o.tempo;
        self.key += o.key;
        self.beat_frames += o.beat_frames;
        self.chords += o.chords;
        self.sections += o.sections;
        self.mix_meter += o.mix_meter;
        self.tag_input += o.tag_input;
        self.descriptors += o.descriptors;
        self.tagger += o.tagger;
        self.sound_reports += o.sound_reports;
        self.waveform += o.waveform;
        self.whole_one_thread += o.whole_one_thread;
    }
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    let files = audio_files(&dir);
    if files.is_empty() {
        eprintln!("no audio files in {}", dir.display());
        std::process::exit(2);
    }
    // The tagger's plan is built once per process, as in the server: not part of any file's time.
    tags::model::warm_up().expect("the audio tagger loads");
    let one = pool(1);
    let all_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let many = pool(all_cores);

    // Warm-up: page the files in and initialise the codecs once.
    for f in &files {
        let _ = one.install(|| engine::analyze_file(f, None, &Options::default(), &|_, _| {}));
    }

    let mut total = Stages::default();
    println!(
        "{:<40} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9}",
        "file",
        "audio s",
        "bare dec",
        "decode",
        "loudness",
        "(tp only)",
        "features",
        "tempo",
        "key",
        "whole 1t"
    );
    for f in &files {
        let s = one.install(|| stages(f));
        let rt = |d: Duration| factor(s.audio_sec, d);
        println!(
            "{:<40} {:>8.1} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9}",
            f.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            s.audio_sec,
            rt(s.bare_decode),
            rt(s.decode),
            rt(s.loudness),
            rt(s.true_peak_only),
            rt(s.features),
            rt(s.tempo),
            rt(s.key),
            rt(s.whole_one_thread),
        );
        total += s;
    }

    // Throughput over the whole folder: files in parallel on all cores against one thread.
    let run_all = |p: &rayon::ThreadPool| {
        let t = Instant::now();
        p.install(|| {
            files.par_iter().for_each(|f| {
                let _ = engine::analyze_file(f, None, &Options::default(), &|_, _| {});
            })
        });
        t.elapsed()
    };
    let t1 = run_all(&one);
    let tn = run_all(&many);

    let rt = |d: Duration| factor(total.audio_sec, d);
    println!();
    println!(
        "over {} files, {:.1} s of audio:",
        files.len(),
        total.audio_sec
    );
    println!(
        "  bare decode (symphonia / opus-rs)  {:>8} realtime",
        rt(total.bare_decode)
    );
    println!(
        "  decode + down-mix                  {:>8}",
        rt(total.decode)
    );
    println!(
        "  loudness (I, LRA, M, S, peaks)     {:>8}",
        rt(total.loudness)
    );
    println!(
        "    of which true peak               {:>8}",
        rt(total.true_peak_only)
    );
    println!(
        "  features                           {:>8}",
        rt(total.features)
    );
    println!(
        "  tempo                              {:>8}",
        rt(total.tempo)
    );
    println!("  key                                {:>8}", rt(total.key));
    // The new stages are cheap enough that realtime factors say little; give their cost.
    let per_min = |d: Duration| {
        format!(
            "{:.2} ms",
            d.as_secs_f64() * 1000.0 / (total.audio_sec / 60.0)
        )
    };
    println!(
        "  per audio minute: features {}, tempo {}, beat frames {}, chords {}, key {}, downbeats + sections {}, waveform {}",
        per_min(total.features),
        per_min(total.tempo),
        per_min(total.beat_frames),
        per_min(total.chords),
        per_min(total.key),
        per_min(total.sections),
        per_min(total.waveform)
    );
    println!(
        "  per audio minute: mix meter {}, tagger input (16 kHz segments, envelope) {}, descriptors (HPSS, DFA) {}, tagger (CED-Tiny) {}, genre + mood + stems + mix + release kit {}",
        per_min(total.mix_meter),
        per_min(total.tag_input),
        per_min(total.descriptors),
        per_min(total.tagger),
        per_min(total.sound_reports)
    );
    println!(
        "  whole analysis, 1 thread, per file {:>8}",
        rt(total.whole_one_thread)
    );
    println!("  whole folder, 1 thread             {:>8}", rt(t1));
    println!(
        "  whole folder, {all_cores} threads            {:>8}  ({:.2}x of one thread)",
        rt(tn),
        t1.as_secs_f64() / tn.as_secs_f64()
    );
    println!(
        "  whole analysis / bare decode time: {:.2}",
        total.whole_one_thread.as_secs_f64() / total.bare_decode.as_secs_f64()
    );
    println!(
        "JSON {{\"files\":{},\"audio_sec\":{:.3},\"bare_decode_s\":{:.4},\"decode_s\":{:.4},\"loudness_s\":{:.4},\"true_peak_s\":{:.4},\"features_s\":{:.4},\"tempo_s\":{:.4},\"key_s\":{:.4},\"beat_frames_s\":{:.4},\"chords_s\":{:.4},\"sections_s\":{:.4},\"waveform_s\":{:.4},\"whole_1t_s\":{:.4},\"folder_1t_s\":{:.4},\"folder_nt_s\":{:.4},\"threads\":{}}}",
        files.len(),
        total.audio_sec,
        total.bare_decode.as_secs_f64(),
        total.decode.as_secs_f64(),
        total.loudness.as_secs_f64(),
        total.true_peak_only.as_secs_f64(),
        total.features.as_secs_f64(),
        total.tempo.as_secs_f64(),
        total.key.as_secs_f64(),
        total.beat_frames.as_secs_f64(),
        total.chords.as_secs_f64(),
        total.sections.as_secs_f64(),
        total.waveform.as_secs_f64(),
        total.whole_one_thread.as_secs_f64(),
        t1.as_secs_f64(),
        tn.as_secs_f64(),
        all_cores
    );
}

/// Realtime factor as text; stages that take no measurable time print as such.
fn factor(audio_sec: f64, d: Duration) -> String {
    let x = audio_sec / d.as_secs_f64().max(1e-9);
    if x > 1e6 {
        "~0 s".to_string()
    } else {
        format!("{x:.0}x")
    }
}

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("thread pool")
}

fn audio_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let mut head = [0u8; 16];
            let n = std::fs::File::open(p)
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .unwrap_or(0);
            p.is_file() && engine::sniff(&head[..n]).is_some()
        })
        .collect();
    v.sort();
    v
}

/// Time each stage of one file on the current (one-thread) pool.
fn stages(path: &Path) -> Stages {
    let mut s = Stages::default();

    let t = Instant::now();
    bare_decode(path);
    s.bare_decode = t.elapsed();

    // Decode, keeping every chunk so the loudness stage can be timed on its own.
    let t = Instant::now();
    let mut src = Source::open(path, 3600.0).expect("open");
    let mut chunks: Vec<Vec<Vec<f32>>> = Vec::new();
    loop {
        let mut c = Vec::new();
        let more = src
            .fill(&mut c, src.info().sample_rate as usize)
            .expect("decode");
        chunks.push(c);
        if !more {
            break;
        }
    }
    let roles = src.roles().to_vec();
    let (info, mono) = src.finish().expect("finish");
    s.decode = t.elapsed();
    s.audio_sec = mono.len() as f64 / f64::from(info.sample_rate);

    let t = Instant::now();
    let mut meter = LoudnessMeter::new(&roles, info.sample_rate);
    for c in &chunks {
        meter.push(c);
    }
    // Kept for the reports stage below, which reads the file's loudness.
    let loudness = std::hint::black_box(meter.finish());
    s.loudness = t.elapsed();

    let t = Instant::now();
    let mut peaks = vec![TruePeakMeter::new(); roles.len()];
    for c in &chunks {
        for (m, plane) in peaks.iter_mut().zip(c) {
            m.push(plane);
        }
    }
    std::hint::black_box(peaks.iter().map(TruePeakMeter::true_peak).sum::<f32>());
    s.true_peak_only = t.elapsed();
    let t = Instant::now();
    let mut mix = MixMeter::new(roles.len(), info.sample_rate);
    for c in &chunks {
        mix.push(c);
    }
    let mix = mix.finish();
    s.mix_meter = t.elapsed();
    drop(chunks);
    let t = Instant::now();
    let input = tags::Input::extract(&mono, info.sample_rate);
    s.tag_input = t.elapsed();
    let t = Instant::now();
    std::hint::black_box(tags::descriptors::measure(&input.segments, &input.envelope));
    s.descriptors = t.elapsed();
    let t = Instant::now();
    for seg in &input.segments {
        std::hint::black_box(tags::model::probabilities(seg).expect("tagger"));
    }
    s.tagger = t.elapsed();
    // The tagging as the engine runs it (descriptors and model again), outside the timings.
    let tagging = tags::Tagging::run(input);

    let t = Instant::now();
    let f = features::Features::compute(&mono, info.sample_rate);
    s.features = t.elapsed();
    let t = Instant::now();
    let mut tempo = tempo::analyze(&f);
    s.tempo = t.elapsed();
    let t = Instant::now();
    let frames = harmony::BeatFrames::compute(&f, &tempo.beats);
    let chord_frames = harmony::BeatFrames::for_chords(&f, &tempo.beats);
    s.beat_frames = t.elapsed();
    let t = Instant::now();
    let spans = harmony::chords::recognise(&chord_frames);
    s.chords = t.elapsed();
    let t = Instant::now();
    let (_, found) = std::hint::black_box(key::analyze(&f, &spans));
    s.key = t.elapsed();
    let t = Instant::now();
    let spans = match found {
        Some(k) => harmony::chords::recognise_in_key(&chord_frames, k),
        None => spans,
    };
    s.chords += t.elapsed();
    let t = Instant::now();
    if let Some(sig) = tempo.time_signature.as_deref() {
        let per_bar = tempo::beats_per_bar(sig);
        tempo.downbeats = downbeats::find(&f, &tempo.beats, per_bar, &spans);
    }
    let structure = std::hint::black_box(form::analyze(&frames, &tempo.downbeats, f.duration_sec));
    s.sections = t.elapsed();
    let (key_report, _) = key::analyze(&f, &spans);
    let t = Instant::now();
    std::hint::black_box(engine::describe(
        &tagging,
        &f,
        &engine::Finished {
            tempo: &tempo,
            key: &key_report,
            structure: &structure,
        },
        &loudness,
        &mix,
        &MixTargets::default(),
        s.audio_sec,
    ));
    s.sound_reports = t.elapsed();
    let t = Instant::now();
    std::hint::black_box(engine::waveform::Waveform::of_mono(&mono, info.sample_rate));
    s.waveform = t.elapsed();
    drop(mono);

    let t = Instant::now();
    engine::analyze_file(path, None, &Options::default(), &|_, _| {}).expect("analysis");
    s.whole_one_thread = t.elapsed();
    s
}

/// Demux and decode only: the floor every analysis pays.
fn bare_decode(path: &Path) -> u64 {
    let file = std::fs::File::open(path).expect("open");
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .expect("probe");
    let track = reader.default_track(TrackType::Audio).expect("audio track");
    let id = track.id;
    let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
        panic!("not audio");
    };
    let mut frames = 0u64;
    if params.codec == CODEC_ID_OPUS {
        let mut dec = OpusStream::new(params.extra_data.as_deref().unwrap_or(&[])).expect("opus");
        let mut planes = Vec::new();
        while let Ok(Some(p)) = reader.next_packet() {
            if p.track_id == id && dec.decode(&p.data, 0, 0, &mut planes).is_ok() {
                frames += planes.first().map_or(0, Vec::len) as u64;
            }
        }
    } else {
        let mut dec = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .expect("decoder");
        while let Ok(Some(p)) = reader.next_packet() {
            if p.track_id == id
                && let Ok(buf) = dec.decode(&p)
            {
                frames += buf.frames() as u64;
            }
        }
    }
    std::hint::black_box(frames)
}
