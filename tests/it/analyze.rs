//! `tonearm analyze` end to end: loudness of synthesised signals, every supported format from the
//! committed fixtures, the error code of each kind of bad input, and the library entry point.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tonearm::engine::{self, Options, Report, Stage};

use crate::support::audio::{self, Audio, Encoding};

fn tonearm(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tonearm"))
        .arg("analyze")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tonearm: {e}"))
}

/// `analyze --json FILE`: the report of one file, which must succeed.
fn report_of(path: &Path) -> Report {
    let out = tonearm(&["--json".as_ref(), path.as_os_str()]);
    assert!(
        out.status.success(),
        "tonearm failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not a Report: {e}"))
}

/// `analyze --jsonl FILES…`: one parsed line per file, plus the exit status.
fn jsonl(paths: &[PathBuf], extra: &[&str]) -> (bool, Vec<Value>) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["--jsonl".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let out = tonearm(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect();
    (out.status.success(), lines)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn close(got: Option<f64>, want: f64, tol: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what} is null"));
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} ± {tol}"
    );
}

#[test]
fn sine_at_minus_23_dbfs_stereo_reads_minus_23_lufs() {
    let dir = tempfile::tempdir().unwrap();
    let x = audio::sine(48_000, 1000.0, -23.0, 10.0);
    let path = Audio::copies(48_000, x, 2).write_wav(dir.path(), "sine.wav", Encoding::Pcm24);
    let r = report_of(&path);
    close(r.loudness.integrated_lufs, -23.0, 0.1, "integrated");
    close(r.loudness.momentary_max_lufs, -23.0, 0.1, "momentary max");
    close(r.loudness.short_term_max_lufs, -23.0, 0.1, "short-term max");
    close(r.loudness.true_peak_dbtp, -23.0, 0.2, "true peak");
    close(r.loudness.sample_peak_dbfs, -23.0, 0.05, "sample peak");
    close(r.loudness.loudness_range_lu, 0.0, 0.5, "loudness range");
    assert_eq!(r.file_meta.channels, 2);
    assert_eq!(r.file_meta.bit_depth, Some(24));
    close(Some(r.file_meta.duration_sec), 10.0, 0.001, "duration");
    assert_eq!(r.schema_version, engine::SCHEMA_VERSION);
}

#[test]
fn eight_khz_and_192_khz_input_is_decoded_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    for (rate, enc) in [(8_000, Encoding::Float32), (192_000, Encoding::Pcm24)] {
        let x = audio::sine(rate, 1000.0, -23.0, 5.0);
        let name = format!("sine_{rate}.wav");
        let path = Audio::copies(rate, x, 2).write_wav(dir.path(), &name, enc);
        let r = report_of(&path);
        assert_eq!(r.file_meta.sample_rate_hz, rate);
        close(Some(r.file_meta.duration_sec), 5.0, 0.001, "duration");
        close(
            r.loudness.integrated_lufs,
            -23.0,
            0.1,
            &format!("integrated at {rate} Hz"),
        );
        close(
            r.loudness.true_peak_dbtp,
            -23.0,
            0.2,
            &format!("true peak at {rate} Hz"),
        );
    }
}

#[test]
fn mono_file_weights_its_one_channel_at_unity() {
    // BS.1770: one channel at -23 dBFS carries half the power of the stereo case: -26.0 LUFS.
    let dir = tempfile::tempdir().unwrap();
    let x = audio::sine(44_100, 1000.0, -23.0, 6.0);
    let path = Audio::mono(44_100, x).write_wav(dir.path(), "mono.wav", Encoding::Pcm16);
    let r = report_of(&path);
    assert_eq!(r.file_meta.channels, 1);
    close(r.loudness.integrated_lufs, -26.01, 0.1, "integrated");
}

#[test]
fn five_one_uses_surround_weights_and_ignores_the_lfe() {
    // EBU Tech 3341 case 6 levels (L, R -28; C -24; Ls, Rs -30 dBFS) give -23 LUFS; a loud LFE
    // must not change that.
    let dir = tempfile::tempdir().unwrap();
    let rate = 48_000;
    let s = |db| audio::sine(rate, 1000.0, db, 6.0);
    let lfe = audio::sine(rate, 60.0, -6.0, 6.0);
    let five_one = Audio {
        rate,
        channels: vec![s(-28.0), s(-28.0), s(-24.0), lfe, s(-30.0), s(-30.0)],
    };
    let path = five_one.write_wav(dir.path(), "surround.wav", Encoding::Pcm24);
    let r = report_of(&path);
    assert_eq!(r.file_meta.channels, 6);
    close(r.loudness.integrated_lufs, -23.0, 0.1, "integrated");
    // The LFE still counts for the peaks: it is the loudest channel.
    close(r.loudness.sample_peak_dbfs, -6.0, 0.05, "sample peak");
}

#[test]
fn silence_gives_null_loudness_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = Audio::copies(44_100, audio::silence(44_100, 5.0), 2).write_wav(
        dir.path(),
        "quiet.wav",
        Encoding::Pcm16,
    );
    let r = report_of(&path);
    let l = &r.loudness;
    assert_eq!(l.integrated_lufs, None);
    assert_eq!(l.loudness_range_lu, None);
    assert_eq!(l.true_peak_dbtp, None);
    assert_eq!(l.momentary_max_lufs, None);
    let reason = l.reason.as_deref().expect("a reason for the nulls");
    assert!(reason.contains("silence"), "reason: {reason}");
}

#[test]
fn audio_shorter_than_a_gating_block_gives_null_integrated_loudness() {
    let dir = tempfile::tempdir().unwrap();
    let x = audio::sine(48_000, 1000.0, -20.0, 0.25);
    let path = Audio::copies(48_000, x, 2).write_wav(dir.path(), "blip.wav", Encoding::Pcm16);
    let r = report_of(&path);
    assert_eq!(r.loudness.integrated_lufs, None);
    assert!(
        r.loudness
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("400 ms")
    );
    close(r.loudness.sample_peak_dbfs, -20.0, 0.05, "sample peak");
}

#[test]
fn each_bad_input_gets_its_code_and_good_files_still_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = Audio::copies(22_050, audio::sine(22_050, 440.0, -12.0, 3.0), 2);
    let good_path = good.write_wav(d, "good.wav", Encoding::Pcm16);
    let bytes = good.wav_bytes(Encoding::Pcm16, None);

    let empty = d.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let truncated = d.join("truncated.wav");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let random = d.join("random.mp3");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(&random, noise).unwrap();
    let absurd = d.join("absurd.wav");
    let mut lying = bytes.clone();
    lying[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    lying[40..44].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    std::fs::write(&absurd, lying).unwrap();
    let one_sample = Audio::mono(44_100, vec![0.5]).write_wav(d, "one.wav", Encoding::Pcm16);
    let no_track = fixture("no_audio_track.mp4");

    let cases = [
        (empty, "empty_file"),
        (truncated, "corrupt_audio"),
        (random, "unsupported_format"),
        (no_track, "no_audio_track"),
        (absurd, "corrupt_audio"),
        (one_sample, "too_short"),
        (d.join("missing.wav"), "io_error"),
    ];
    let mut paths: Vec<PathBuf> = cases.iter().map(|(p, _)| p.clone()).collect();
    paths.push(good_path);
    let (ok, lines) = jsonl(&paths, &[]);
    assert!(!ok, "exit status must report the failures");
    assert_eq!(lines.len(), paths.len());
    for ((path, code), line) in cases.iter().zip(&lines) {
        assert_eq!(line["path"], path.to_string_lossy().as_ref());
        assert_eq!(line["error"]["code"], *code, "{}: {line}", path.display());
        assert!(
            line["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let last = lines.last().unwrap();
    assert!(
        last["result"]["loudness"]["integrated_lufs"].is_number(),
        "{last}"
    );
}

/// `--json` always prints JSON on stdout: one array for several files, the error object for a
/// bad one (exit 1), with nothing repeated on stderr.
#[test]
fn json_output_is_one_document_for_any_number_of_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = Audio::copies(22_050, audio::sine(22_050, 440.0, -12.0, 3.0), 2).write_wav(
        d,
        "good.wav",
        Encoding::Pcm16,
    );
    let bad = d.join("bad.wav");
    std::fs::write(&bad, b"not audio at all, just text").unwrap();

    let out = tonearm(&["--json".as_ref(), bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["error"]["code"], "unsupported_format", "{v}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = tonearm(&[
        "--json".as_ref(),
        good.as_os_str(),
        bad.as_os_str(),
        good.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let items = v.as_array().expect("an array");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["path"], good.to_string_lossy().as_ref());
    assert!(items[0]["result"]["loudness"]["integrated_lufs"].is_number());
    assert_eq!(items[1]["error"]["code"], "unsupported_format");
    assert!(items[2]["result"].is_object());

    let out = tonearm(&["--json".as_ref(), good.as_os_str()]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["schema_version"],
        engine::SCHEMA_VERSION,
        "one file: the result document itself"
    );
    // The waveform: the envelope of a steady -12 dBFS sine over the whole 3 s.
    let peaks = v["waveform"]["peaks"].as_array().expect("a waveform");
    assert_eq!(peaks.len(), engine::waveform::POINTS);
    let per_point = v["waveform"]["seconds_per_point"].as_f64().unwrap();
    assert!(
        (per_point * peaks.len() as f64 - 3.0).abs() < 1e-6,
        "{per_point}"
    );
    for p in peaks {
        let (lo, hi) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        assert!(
            (hi - 0.251).abs() < 0.01 && (lo + 0.251).abs() < 0.01,
            "{p}"
        );
    }
}

#[test]
fn audio_over_the_duration_limit_is_too_long() {
    let dir = tempfile::tempdir().unwrap();
    let path = Audio::mono(8_000, audio::sine(8_000, 440.0, -12.0, 3.0)).write_wav(
        dir.path(),
        "three_seconds.wav",
        Encoding::Pcm16,
    );
    let (ok, lines) = jsonl(std::slice::from_ref(&path), &["--max-duration", "2"]);
    assert!(!ok);
    assert_eq!(lines[0]["error"]["code"], "too_long");
    let (ok, _) = jsonl(&[path], &["--max-duration", "4"]);
    assert!(ok);
}

#[test]
fn committed_fixtures_decode_with_the_right_length_and_rate() {
    // (file, format, codec, rate, channels, duration, tolerance): durations as ffprobe reports
    // them. The AAC file's edit list drops 1024 frames of encoder priming and the end padding.
    let table = [
        (
            "wav_pcm16_22k_mono.wav",
            "wav",
            "pcm_s16le",
            22_050,
            1,
            3.0,
            0.001,
        ),
        (
            "aiff_pcm16_22k_mono.aiff",
            "aiff",
            "pcm_s16be",
            22_050,
            1,
            3.0,
            0.001,
        ),
        (
            "flac_16_44k_mono.flac",
            "flac",
            "flac",
            44_100,
            1,
            3.0,
            0.001,
        ),
        (
            "mp3_cbr192_44k_stereo.mp3",
            "mp3",
            "mp3",
            44_100,
            2,
            4.023,
            0.03,
        ),
        (
            "vorbis_48k_stereo.ogg",
            "ogg",
            "vorbis",
            48_000,
            2,
            5.0,
            0.001,
        ),
        ("aac_44k_stereo.m4a", "mp4", "aac", 44_100, 2, 5.0, 0.001),
        ("alac_44k_mono.m4a", "mp4", "alac", 44_100, 1, 2.0, 0.001),
        ("opus_48k_stereo.opus", "ogg", "opus", 48_000, 2, 1.0, 0.001),
    ];
    let paths: Vec<PathBuf> = table.iter().map(|t| fixture(t.0)).collect();
    let (ok, lines) = jsonl(&paths, &[]);
    assert!(ok, "{lines:?}");
    for ((name, format, codec, rate, channels, duration, tol), line) in table.iter().zip(&lines) {
        let m = &line["result"]["file_meta"];
        assert_eq!(m["format"], *format, "{name}");
        assert_eq!(m["codec"], *codec, "{name}");
        assert_eq!(m["sample_rate_hz"], *rate, "{name}");
        assert_eq!(m["channels"], *channels, "{name}");
        close(m["duration_sec"].as_f64(), *duration, *tol, name);
        let lufs = line["result"]["loudness"]["integrated_lufs"].as_f64();
        assert!(
            lufs.is_some_and(|l| (-40.0..-5.0).contains(&l)),
            "{name}: {lufs:?}"
        );
    }
}

/// Decode a whole file through the engine's decoder into planar channels.
fn decode_planar(path: &Path) -> (u32, Vec<Vec<f32>>) {
    let mut src = engine::decode::Source::open(path, 60.0)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut all: Vec<Vec<f32>> = Vec::new();
    let mut chunk = Vec::new();
    loop {
        let more = src
            .fill(&mut chunk, 48_000)
            .unwrap_or_else(|e| panic!("decode: {e}"));
        all.resize_with(chunk.len(), Vec::new);
        for (a, c) in all.iter_mut().zip(&chunk) {
            a.extend_from_slice(c);
        }
        if !more {
            break;
        }
    }
    (src.info().sample_rate, all)
}

#[test]
fn opus_decode_agrees_with_the_libopus_reference() {
    // The reference is libopus's decode of the same file (see tests/fixtures/README.md).
    let (rate, ours) = decode_planar(&fixture("opus_48k_stereo.opus"));
    let (ref_rate, reference) = decode_planar(&fixture("opus_48k_stereo.reference.wav"));
    assert_eq!((rate, ref_rate), (48_000, 48_000));
    assert_eq!(ours.len(), 2);
    assert_eq!(
        ours[0].len(),
        reference[0].len(),
        "pre-skip and end trim as libopus"
    );
    for (a, b) in ours.iter().zip(&reference) {
        let signal: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum();
        let noise: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x - y).powi(2))
            .sum();
        let snr = 10.0 * (signal / noise.max(1e-20)).log10();
        eprintln!("SNR against libopus: {snr:.1} dB");
        assert!(snr > 50.0, "SNR against libopus {snr:.1} dB");
    }
}

#[test]
fn library_reports_progress_to_completion_and_uses_the_display_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = Audio::copies(44_100, audio::sine(44_100, 440.0, -12.0, 4.0), 2).write_wav(
        dir.path(),
        "upload-7f3a.bin",
        Encoding::Pcm16,
    );
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |stage: Stage, f: f32| seen.lock().unwrap().push((stage, f));
    let r = engine::analyze_file(&path, Some("Take 3.wav"), &Options::default(), &progress)
        .expect("analysis");
    assert_eq!(r.file_meta.filename, "Take 3.wav");
    assert_eq!(r.file_meta.format, "wav");
    assert_eq!(
        r.file_meta.size_bytes,
        std::fs::metadata(&path).unwrap().len()
    );
    assert_eq!(
        r.file_meta.blake3,
        blake3::hash(&std::fs::read(&path).unwrap())
            .to_hex()
            .to_string()
    );
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.last(), Some(&(Stage::Finish, 1.0)));
    assert!(seen.iter().all(|(_, f)| (0.0..=1.0).contains(f)));
    assert!(seen.iter().any(|(s, _)| *s == Stage::Loudness));
    assert_eq!(Stage::Decode.as_str(), "decode");
}

#[test]
fn sniff_tells_audio_from_other_bytes() {
    let wav = std::fs::read(fixture("wav_pcm16_22k_mono.wav")).unwrap();
    assert_eq!(engine::sniff(&wav[..16]), Some("wav"));
    let m4a = std::fs::read(fixture("alac_44k_mono.m4a")).unwrap();
    assert_eq!(engine::sniff(&m4a[..16]), Some("mp4"));
    assert_eq!(engine::sniff(b"%PDF-1.7 trailer"), None);
}

/// An MP3 without a Xing/LAME tag has no stated length; symphonia estimates one from its first
/// frames, and a quiet VBR intro makes that estimate four times too long. The estimate was once
/// taken as the header's word and the file was refused as truncated.
#[test]
fn vbr_mp3_without_a_length_tag_is_not_called_truncated() {
    let (ok, lines) = jsonl(&[fixture("mp3_vbr_no_xing_quiet_intro.mp3")], &[]);
    assert!(ok, "{lines:?}");
    let d = lines[0]["result"]["file_meta"]["duration_sec"].as_f64();
    close(d, 6.0, 0.1, "duration");
}

/// A WAV written to a pipe cannot go back to fill in its sizes and leaves 0xFFFFFFFF ("unknown")
/// there; its stream then ends mid-block. Such a file was once refused as corrupt.
#[test]
fn streamed_wav_with_unknown_sizes_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let a = Audio::copies(44_100, audio::sine(44_100, 440.0, -12.0, 3.0), 2);
    let mut bytes = a.wav_bytes(Encoding::Pcm16, None);
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes.pop();
    let path = dir.path().join("piped.wav");
    std::fs::write(&path, bytes).unwrap();
    let r = report_of(&path);
    close(Some(r.file_meta.duration_sec), 3.0, 0.001, "duration");
}

#[test]
fn wav_in_every_sample_format_decodes_to_the_same_level() {
    let dir = tempfile::tempdir().unwrap();
    let a = Audio::copies(16_000, audio::sine(16_000, 500.0, -12.0, 2.0), 2);
    let cases = [
        (Encoding::Pcm8, 8, 0.2),
        (Encoding::Pcm16, 16, 0.05),
        (Encoding::Pcm24, 24, 0.05),
        (Encoding::Pcm32, 32, 0.05),
        (Encoding::Float32, 32, 0.05),
    ];
    for (i, (enc, bits, tol)) in cases.into_iter().enumerate() {
        let path = a.write_wav(dir.path(), &format!("f{i}.wav"), enc);
        let r = report_of(&path);
        assert_eq!(r.file_meta.bit_depth, Some(bits), "{enc:?}");
        close(
            r.loudness.sample_peak_dbfs,
            -12.0,
            tol,
            &format!("{enc:?} sample peak"),
        );
        close(Some(r.file_meta.duration_sec), 2.0, 0.001, "duration");
    }
}

/// Regression: a crafted AIFF header made symphonia's probe panic while `tonearm analyze` sized
/// the batch (before any analysis), so the whole batch exited 101 without printing a line.
#[test]
fn a_file_that_panics_the_header_parser_fails_alone_and_the_batch_goes_on() {
    let good = fixture("wav_pcm16_22k_mono.wav");
    let crafted = fixture("crafted_aiff_overflow.aiff");
    let out = tonearm(&["--jsonl".as_ref(), crafted.as_os_str(), good.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "exit status {:?}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["error"]["code"], "corrupt_audio", "{}", lines[0]);
    assert!(lines[1]["result"].is_object(), "{}", lines[1]);
}

/// Regression: a CAF file whose chunk size points far past its end was reported as `io_error`
/// ("Invalid argument", from the seek) although the file itself reads fine.
#[test]
fn a_damaged_caf_header_is_corrupt_audio_not_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = b"caff\x00\x01\x00\x00desc".to_vec();
    b.extend_from_slice(&32u64.to_be_bytes());
    b.extend_from_slice(&44_100f64.to_be_bytes());
    b.extend_from_slice(b"lpcm");
    for v in [0u32, 2, 1, 1, 16] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    // A chunk that claims to be larger than any file.
    b.extend_from_slice(b"free");
    b.extend_from_slice(&0x7FFF_FFFF_FFFF_FF00u64.to_be_bytes());
    b.extend_from_slice(&[0u8; 64]);
    let path = dir.path().join("damaged.caf");
    std::fs::write(&path, &b).unwrap();
    let (ok, lines) = jsonl(&[path], &[]);
    assert!(!ok);
    let code = lines[0]["error"]["code"].as_str().unwrap().to_string();
    assert!(
        code == "corrupt_audio" || code == "no_audio_track",
        "{}",
        lines[0]
    );
}

/// Regression: a header with an absurd sample rate made the decoder size its buffers from it
/// (hundreds of MB for a 100 KB file).
#[test]
fn an_absurd_sample_rate_is_corrupt_audio() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(fixture("wav_pcm16_22k_mono.wav")).unwrap();
    assert_eq!(&b[12..16], b"fmt ");
    b[24..28].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    let path = dir.path().join("absurd_rate.wav");
    std::fs::write(&path, &b).unwrap();
    let (ok, lines) = jsonl(&[path], &[]);
    assert!(!ok);
    assert_eq!(lines[0]["error"]["code"], "corrupt_audio", "{}", lines[0]);
}

/// Regression (found by fuzzing): a CAF header declaring 268 million frames per packet made the
/// decoder allocate over 500 MB for a 44 KB file before the length check refused it.
#[test]
fn absurd_frames_per_packet_are_refused_before_the_decoder_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = b"caff\x00\x01\x00\x00desc".to_vec();
    b.extend_from_slice(&32u64.to_be_bytes());
    b.extend_from_slice(&22_050f64.to_be_bytes());
    b.extend_from_slice(b"lpcm");
    // flags, bytes per packet, frames per packet, channels, bits per channel
    for v in [0u32, 2, 0x1000_0001, 1, 16] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(4u64 + 44_100).to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend(std::iter::repeat_n(0u8, 44_100));
    let path = dir.path().join("huge_packets.caf");
    std::fs::write(&path, &b).unwrap();
    let (ok, lines) = jsonl(&[path], &[]);
    assert!(!ok);
    assert_eq!(lines[0]["error"]["code"], "corrupt_audio", "{}", lines[0]);
    let message = lines[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("frames"), "{message}");
}

/// A I–V–vi–IV loop of piano triads in A major, three times round, two seconds a chord.
fn pop_loop_in_a_major() -> Vec<f32> {
    let a: &[u8] = &[57, 61, 64];
    let e: &[u8] = &[52, 56, 59];
    let fs_minor: &[u8] = &[54, 57, 61];
    let d: &[u8] = &[50, 54, 57];
    let chords: Vec<&[u8]> = [a, e, fs_minor, d].repeat(3);
    audio::chord_progression(22_050, &chords, 2.0)
}

#[test]
fn pop_loop_reads_as_its_chords_and_roman_numerals() {
    let dir = tempfile::tempdir().unwrap();
    let path = Audio::mono(22_050, pop_loop_in_a_major()).write_wav(
        dir.path(),
        "loop.wav",
        Encoding::Pcm16,
    );
    let r = report_of(&path);
    assert_eq!(r.schema_version, engine::SCHEMA_VERSION);
    assert_eq!(r.key.name.as_deref(), Some("A major"), "{:?}", r.key);
    assert_eq!(r.key.alternatives.len(), 2);
    let c = &r.create_report;
    assert_eq!(c.suggested_vocal_key.as_deref(), Some("A major"));
    let chords = c.chords.as_ref().expect("chords");
    let at = |t: f64| {
        chords
            .iter()
            .find(|s| s.start <= t && t < s.end)
            .map(|s| (s.label.as_str(), s.name.as_str()))
    };
    let want = [
        ("A:maj", "A"),
        ("E:maj", "E"),
        ("F#:min", "F#m"),
        ("D:maj", "D"),
    ];
    for round in 0..3 {
        for (k, w) in want.iter().enumerate() {
            let t = (round * 4 + k) as f64 * 2.0 + 1.0;
            assert_eq!(at(t), Some(*w), "at {t} s: {chords:?}");
        }
    }
    assert_eq!(chords[0].start, 0.0);
    assert_eq!(chords[chords.len() - 1].end, 24.0);
    assert!(chords.windows(2).all(|w| w[0].end == w[1].start));
    let p = c.progression.as_ref().expect("a loop");
    assert_eq!(p.roman, "I–V–vi–IV");
    assert_eq!(p.names, "A–E–F#m–D");
    // The loop is longer than 20 s, so it has sections that tile it.
    let sections = r.structure.sections.as_ref().expect("sections");
    assert_eq!(sections[0].start, 0.0);
    assert_eq!(sections[sections.len() - 1].end, 24.0);
}

#[test]
fn silence_gives_null_chords_and_sections_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = Audio::mono(44_100, audio::silence(44_100, 25.0)).write_wav(
        dir.path(),
        "silence.wav",
        Encoding::Pcm16,
    );
    let out = tonearm(&["--json".as_ref(), path.as_os_str()]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], engine::SCHEMA_VERSION);
    assert!(v["create_report"]["chords"].is_null());
    // Silence still has a waveform: flat, every point at zero.
    let peaks = v["waveform"]["peaks"].as_array().expect("a waveform");
    assert_eq!(peaks.len(), engine::waveform::POINTS);
    assert!(peaks.iter().all(|p| p == &serde_json::json!([0.0, 0.0])));
    assert!(v["create_report"]["progression"].is_null());
    assert!(
        v["create_report"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("silence"))
    );
    assert!(v["structure"]["sections"].is_null());
    assert!(v["structure"]["reason"].is_string());
    assert!(v["structure"]["method"].is_string());
    assert_eq!(v["tempo"]["downbeats"], serde_json::json!([]));
    assert_eq!(v["key"]["alternatives"], serde_json::json!([]));
}

#[test]
fn six_second_clip_has_chords_but_no_sections() {
    let dir = tempfile::tempdir().unwrap();
    let x = audio::chord_progression(22_050, &[&[60, 64, 67], &[65, 69, 72], &[67, 71, 74]], 2.0);
    let path = Audio::mono(22_050, x).write_wav(dir.path(), "short.wav", Encoding::Pcm16);
    let r = report_of(&path);
    assert!(
        r.create_report
            .chords
            .as_ref()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(r.structure.sections, None);
    assert!(
        r.structure
            .reason
            .as_deref()
            .is_some_and(|s| s.contains("too short")),
        "{:?}",
        r.structure
    );
}

#[test]
fn click_track_at_128_bpm_reads_128_0_with_a_downbeat_every_bar() {
    let dir = tempfile::tempdir().unwrap();
    let x = audio::click_track(44_100, 128.0, 4, 30.0);
    let path = Audio::copies(44_100, x, 2).write_wav(dir.path(), "clicks.wav", Encoding::Pcm16);
    let r = report_of(&path);
    assert_eq!(r.tempo.bpm, Some(128.0), "{:?}", r.tempo.bpm);
    let beats = &r.tempo.beats;
    let downbeats = &r.tempo.downbeats;
    let per_bar = match r.tempo.time_signature.as_deref() {
        Some("3/4") => 3,
        Some("6/8") => 2,
        _ => 4,
    };
    assert!(downbeats.len() >= 10, "{downbeats:?}");
    // Every downbeat is a beat, and consecutive downbeats are one bar of beats apart.
    let index: Vec<usize> = downbeats
        .iter()
        .map(|d| {
            beats
                .iter()
                .position(|b| b == d)
                .expect("a downbeat is a beat")
        })
        .collect();
    assert!(index[0] < per_bar);
    assert!(
        index.windows(2).all(|w| w[1] - w[0] == per_bar),
        "{index:?}"
    );
}
