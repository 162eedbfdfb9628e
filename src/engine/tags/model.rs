//! The CED-Tiny AudioSet tagger (527 classes), run with tract on the CPU. The ONNX file is
//! embedded in the binary (`models/ced_tiny_fixed.onnx`, see `models/README.md` for where it
//! comes from and its licence) and turned into an optimised plan once per process.
//!
//! The network's mel front end is inside the graph: its input is raw 16 kHz mono audio,
//! `[1, 160000]` (10 s, the length it was trained on), its output 527 probabilities (the graph
//! ends in a sigmoid). Longer audio is cut into 10 s chunks spread evenly over the file, at most
//! `MAX_CHUNKS` of them, and the chunk outputs are averaged.

use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use tract_onnx::prelude::*;

/// The tract-ready model (the graph fixes are in `models/ced_fix.py`).
static MODEL_BYTES: &[u8] = include_bytes!("../../../models/ced_tiny_fixed.onnx");
/// Input rate of the network.
pub const RATE_HZ: u32 = 16_000;
/// Samples per chunk: 10 s at 16 kHz. The exported time embedding stops at 10 s.
pub const CHUNK: usize = 160_000;
/// At most this many chunks per file (1 minute of audio): bounds the cost on long files. Twelve
/// gave the same answers on the public corpus at twice the cost.
pub const MAX_CHUNKS: usize = 6;
/// Number of AudioSet classes.
pub const CLASSES: usize = 527;

type Plan = Arc<TypedRunnableModel>;

static PLAN: OnceLock<Result<Plan, String>> = OnceLock::new();

fn build() -> Result<Plan, String> {
    let run = || -> TractResult<Plan> {
        tract_onnx::onnx()
            .model_for_read(&mut Cursor::new(MODEL_BYTES))?
            .with_input_fact(0, f32::fact([1, CHUNK]).into())?
            .into_optimized()?
            .into_runnable()
    };
    run().map_err(|e| format!("the audio tagger could not be loaded: {e}"))
}

/// The process-wide plan, built on first use.
fn plan() -> Result<&'static Plan, String> {
    PLAN.get_or_init(build).as_ref().map_err(Clone::clone)
}

/// Load the model now (at server start) so the first analysis does not pay for it.
pub fn warm_up() -> Result<(), String> {
    plan().map(|_| ())
}

/// Start offsets (samples) of the chunks the tagger sees in `len` samples: one chunk for audio
/// up to 10 s, else up to `MAX_CHUNKS` chunks spread evenly from the start to the end.
pub fn chunk_starts(len: usize) -> Vec<usize> {
    if len <= CHUNK {
        return vec![0];
    }
    let fit = len / CHUNK;
    let n = fit.clamp(1, MAX_CHUNKS);
    if n == 1 {
        return vec![(len - CHUNK) / 2];
    }
    let span = (len - CHUNK) as f64;
    (0..n)
        .map(|i| (span * i as f64 / (n - 1) as f64).round() as usize)
        .collect()
}

/// Mean class probabilities of `audio` (16 kHz mono). Audio shorter than one chunk is repeated
/// to fill it (silence padding would pull every class towards "Silence"). `None` for empty
/// input; `Err` when the model cannot run.
pub fn probabilities(audio: &[f32]) -> Result<Option<Vec<f32>>, String> {
    if audio.is_empty() {
        return Ok(None);
    }
    let plan = plan()?;
    let mut acc = vec![0.0f32; CLASSES];
    let starts = chunk_starts(audio.len());
    let mut buf = vec![0.0f32; CHUNK];
    for &s in &starts {
        if audio.len() >= CHUNK {
            buf.copy_from_slice(&audio[s..s + CHUNK]);
        } else {
            for (i, v) in buf.iter_mut().enumerate() {
                *v = audio[i % audio.len()];
            }
        }
        let out = run_chunk(plan, &buf).map_err(|e| format!("the audio tagger failed: {e}"))?;
        for (a, v) in acc.iter_mut().zip(out) {
            *a += v;
        }
    }
    let n = starts.len() as f32;
    for a in &mut acc {
        *a /= n;
    }
    Ok(Some(acc))
}

fn run_chunk(plan: &Plan, chunk: &[f32]) -> TractResult<Vec<f32>> {
    let input: Tensor = tract_ndarray::Array2::from_shape_vec((1, CHUNK), chunk.to_vec())?.into();
    let result = plan.run(tvec!(input.into()))?;
    let view = result[0].to_plain_array_view::<f32>()?;
    let out: Vec<f32> = view.iter().copied().collect();
    if out.len() != CLASSES {
        return Err(TractError::msg(format!(
            "expected {CLASSES} outputs, got {}",
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16-bit mono WAV at 16 kHz with a 44-byte header (the committed tagger fixtures).
    fn fixture(name: &str) -> Vec<f32> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(path).unwrap();
        bytes[44..]
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect()
    }

    fn top(probs: &[f32], n: usize) -> Vec<(usize, f32)> {
        let mut v: Vec<(usize, f32)> = probs.iter().copied().enumerate().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(n);
        v
    }

    /// Golden output: the top classes and their probabilities on two committed fixtures, pinned
    /// so a tract (or model) change that moves the answers fails here.
    #[test]
    fn golden_top_classes_on_the_fixtures() {
        let cases: [(&str, &[(usize, f32)]); 2] = [
            ("tagger_sine_1khz.wav", GOLDEN_SINE),
            ("tagger_drum_loop_120bpm.wav", GOLDEN_DRUMS),
        ];
        for (name, want) in cases {
            let x = fixture(name);
            assert_eq!(x.len(), CHUNK);
            let p = probabilities(&x).unwrap().unwrap();
            let got = top(&p, want.len());
            eprintln!("{name}: {:?}", top(&p, 5));
            for ((gi, gp), (wi, wp)) in got.iter().zip(want) {
                assert_eq!(gi, wi, "{name}: {got:?}");
                assert!((gp - wp).abs() < 0.01, "{name}: {got:?}");
            }
        }
    }

    /// Sine wave, "Beep, bleep", Dial tone (tract 0.23.9, x86_64).
    const GOLDEN_SINE: &[(usize, f32)] = &[(501, 0.6625), (481, 0.5390), (393, 0.0260)];
    /// Drum machine, Music, Drum, Musical instrument.
    const GOLDEN_DRUMS: &[(usize, f32)] =
        &[(163, 0.8825), (137, 0.7973), (164, 0.4495), (138, 0.4111)];

    #[test]
    fn chunks_cover_long_audio_evenly_and_stay_inside_it() {
        assert_eq!(chunk_starts(1), vec![0]);
        assert_eq!(chunk_starts(CHUNK), vec![0]);
        assert_eq!(chunk_starts(CHUNK + 10), vec![5]);
        let len = 30 * 60 * RATE_HZ as usize;
        let s = chunk_starts(len);
        assert_eq!(s.len(), MAX_CHUNKS);
        assert_eq!(s[0], 0);
        assert_eq!(*s.last().unwrap(), len - CHUNK);
        assert!(s.windows(2).all(|w| w[1] > w[0] + CHUNK));
    }
}
