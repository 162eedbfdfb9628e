#!/bin/sh
# Speed and memory of the analysis engine over a folder of audio files, in one run:
#   1. Essentia's equivalent extractors (the speed anchor), one process, one core;
#   2. `tonearm analyze --threads 1` on the files Essentia analysed, then on all of them with
#      --threads 1 and with all cores;
#   3. the per-stage benchmark (benches/engine.rs), with symphonia's bare decode as the floor;
#   4. peak RSS of `tonearm analyze` on a generated 10-minute 44.1 kHz stereo WAV.
#
# usage: scripts/bench-engine.sh [FOLDER]        (default: ../shared/corpus/real)
# env:   ESSENTIA_PYTHON  a python with essentia, numpy and soundfile (default: python3; the anchor
#                         is skipped when it cannot import essentia)
#        ESSENTIA_ANCHOR  the anchor runner (default: ../shared/eval/anchors/essentia_v1.py)
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-../shared/corpus/real}
PY=${ESSENTIA_PYTHON:-python3}
ANCHOR=${ESSENTIA_ANCHOR:-../shared/eval/anchors/essentia_v1.py}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --quiet --release --bin tonearm
cargo bench --quiet --bench engine --no-run 2>/dev/null
BIN=target/release/tonearm

echo "== folder: $DIR"
# A manifest of the folder's audio files for the anchor (absolute paths, kind "real").
python3 - "$DIR" "$WORK/manifest.json" <<'PY'
import json, os, sys
d, out = sys.argv[1], sys.argv[2]
exts = (".wav", ".aif", ".aiff", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac")
files = sorted(f for f in os.listdir(d) if f.lower().endswith(exts))
items = [{"file": os.path.abspath(os.path.join(d, f)), "kind": "real", "truth": {}} for f in files]
json.dump({"version": 1, "items": items}, open(out, "w"))
PY

ESS_OK=0
if "$PY" -c "import essentia, soundfile" 2>/dev/null; then
  echo "== Essentia anchor ($ANCHOR)"
  "$PY" "$ANCHOR" "$WORK/manifest.json" "$WORK/essentia.jsonl" >"$WORK/essentia.log" 2>&1 || true
  ESS_OK=1
else
  echo "== Essentia anchor skipped: $PY cannot import essentia and soundfile"
fi

python3 - "$WORK" "$BIN" "$ESS_OK" <<'PY'
import json, os, subprocess, sys, time
work, binary, ess_ok = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
items = json.load(open(os.path.join(work, "manifest.json")))["items"]
files = [it["file"] for it in items]

def run(paths, threads):
    args = [binary, "analyze", "--jsonl"] + (["--threads", str(threads)] if threads else []) + paths
    t = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - t
    audio = 0.0
    for line in out.stdout.splitlines():
        r = json.loads(line).get("result")
        if r:
            audio += r["file_meta"]["duration_sec"]
    return wall, audio

if ess_ok:
    ess_ms, ess_audio, ess_files = 0.0, 0.0, []
    for line in open(os.path.join(work, "essentia.jsonl")):
        d = json.loads(line)
        if "timing_ms" in d and "error" not in d:
            ess_ms += d["timing_ms"]["total"]
            ess_audio += d["anchor"]["audio_sec"]
            ess_files.append(d["path"])
        else:
            print(f"   Essentia failed on {os.path.basename(d['path'])}: {d.get('error', {}).get('code')}")
    if ess_files:
        wall, audio = run(ess_files, 1)
        ess_rt = ess_audio / (ess_ms / 1000.0)
        ours_rt = audio / wall
        print(f"   Essentia (decode+resample+tempo+key+loudness+true peak), {len(ess_files)} files, "
              f"{ess_audio:.1f} s audio: {ess_ms / 1000:.2f} s = {ess_rt:.1f}x realtime")
        print(f"   tonearm --threads 1 on the same files: {wall:.2f} s = {ours_rt:.1f}x realtime "
              f"-> {ours_rt / ess_rt:.1f}x Essentia")

print("== tonearm analyze over the whole folder")
w1, audio = run(files, 1)
wn, _ = run(files, 0)
print(f"   {len(files)} files, {audio:.1f} s audio: --threads 1 {w1:.2f} s = {audio / w1:.1f}x realtime; "
      f"all cores ({os.cpu_count()}) {wn:.2f} s = {audio / wn:.1f}x ({w1 / wn:.2f}x of one thread)")
PY

echo "== per stage (cargo bench --bench engine -- $DIR)"
cargo bench --quiet --bench engine -- "$DIR" 2>/dev/null | grep -v '^JSON'

echo "== peak RSS, 10-minute 44.1 kHz stereo 16-bit WAV"
python3 - "$WORK/ten_minutes.wav" <<'PY'
import math, struct, sys, wave
rate, secs = 44100, 600
# One second of a chord with a click on each beat at 120 BPM, repeated: cheap to write, not silent.
second = bytearray()
for i in range(rate):
    t = i / rate
    x = sum(0.15 * math.sin(2 * math.pi * f * t) for f in (220.0, 277.18, 329.63))
    if (i % (rate // 2)) < 200:
        x += 0.3 * math.exp(-(i % (rate // 2)) / 40.0)
    v = int(max(-1.0, min(1.0, x)) * 32767)
    second += struct.pack("<hh", v, v)
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate)
    for _ in range(secs):
        w.writeframes(second)
PY
for t in 1 0; do
  if [ "$t" = 1 ]; then label="--threads 1"; args="--threads 1"; else label="all cores"; args=""; fi
  /usr/bin/time -f "%M %e" -o "$WORK/rss" "$BIN" analyze --jsonl $args "$WORK/ten_minutes.wav" >/dev/null
  read -r kb wall <"$WORK/rss"
  echo "   $label: peak RSS $((kb / 1024)) MB, wall $wall s"
done
