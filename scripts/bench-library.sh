#!/usr/bin/env bash
# The sound library's figures for docs/benchmarks.md, all in one run on the release build:
#  1. N generated sounds' metadata (default 100000) stored as the server stores them; the server
#     started on them (index build time from its log, RSS after start and after the load);
#  2. GET /api/v1/sounds/search over HTTP (wrk, keep-alive, rotating 1000 queries with and
#     without filters) beside GET /healthz, then SQLite FTS5 (trigram, BM25) on the same data and
#     queries through Python's sqlite3 in the same run;
#  3. import of LIBRARY (default ../shared/library/library.json) with `tonearm library import`;
#  4. a 60 s stereo file downloaded as mp3320 normalised (first request: decode, encode, check).
# Usage: scripts/bench-library.sh [N=100000] [LIBRARY.json] [duration=10s] [connections=16]
# SERVER_NICE=-10 runs the server (and wrk) at a higher priority, to see the search's own latency
# apart from the scheduling delays other work on a busy machine causes.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
LIBRARY=${2:-../shared/library/library.json}
DURATION=${3:-10s}
CONNS=${4:-16}
NICE=${SERVER_NICE:-0}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
cargo build --release --quiet --bin tonearm
cargo bench --bench library --no-run --quiet 2>/dev/null
BENCH=$(ls -t target/release/deps/library-* | grep -v '\.d$' | head -1)
BIN=target/release/tonearm
WORK=$(mktemp -d)
PID=
trap 'if [ -n "$PID" ]; then kill $PID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
config() { # data dir
cat > "$WORK/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
data_dir = "$1"
[log]
level = "info"
[plans.default]
requests_per_minute = 1000000
credits_per_month = 1000
TOML
}
start() {
  nice -n "$NICE" $BIN serve --config "$WORK/tonearm.toml" > "$WORK/out" 2> "$WORK/err" &
  PID=$!
  for _ in $(seq 600); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
  ADDR=$(sed -n 's/^listening on //p' "$WORK/out")
}
stop() { kill $PID; wait $PID 2>/dev/null || true; PID=; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$PID/status"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "== $N generated sounds"
config "$WORK/data"
$BENCH populate "$LIBRARY" "$N" "$WORK/data" "$WORK"
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | json '["token"]')
start
grep -o '"built the sound library.s search index"[^}]*\|sounds=[0-9]* ms=[0-9]*' "$WORK/err" | head -1 || true
grep "search index" "$WORK/err" | head -1
echo "rss_after_start_mb $(rss_mb)"
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
ACCOUNT=$($BIN accounts create --name bench --json | json '["id"]')
KEY=$($BIN keys create --account "$ACCOUNT" --label bench --json | json '["key"]')
python3 - "$WORK/queries.jsonl" "$KEY" > "$WORK/search.lua" <<'PY'
import json, sys, urllib.parse
paths = []
for line in open(sys.argv[1]):
    q = json.loads(line)
    params = {"q": q["q"], **{k: v for k, v in q["filters"].items()}}
    paths.append("/api/v1/sounds/search?" + urllib.parse.urlencode(params))
print("paths = {" + ",".join(json.dumps(p) for p in paths) + "}")
print("i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i], {[\"Authorization\"] = \"Bearer KEY\"})\nend".replace("KEY", sys.argv[2]))
PY
latency() { awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /Requests\/sec/ {rps=$2} END {print "p50", p50, "p99", p99, "req/s", rps}'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "healthz: $(nice -n "$NICE" wrk -t2 -c"$CONNS" -d"$DURATION" --latency "http://$ADDR/healthz" | latency)"
OUT=$(nice -n "$NICE" wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$WORK/search.lua" "http://$ADDR")
echo "$OUT" | grep -q "Non-2xx" && { echo "non-2xx answers:"; echo "$OUT"; exit 1; }
echo "search:  $(echo "$OUT" | latency)"
echo "search one connection: $(nice -n "$NICE" wrk -t1 -c1 -d"$DURATION" --latency -s "$WORK/search.lua" "http://$ADDR" | latency)"
# "More like this" compares the sound's vector with every other one: rotate over 1000 sounds.
python3 - "$KEY" "$N" > "$WORK/similar.lua" <<'PY'
import sys
key, n = sys.argv[1], int(sys.argv[2])
ids = [f"gen-{(i * 97) % n:06d}" for i in range(1000)]
print("ids = {" + ",".join(f'"{i}"' for i in ids) + "}")
print("i = 0\nrequest = function()\n  i = i % #ids + 1\n  return wrk.format(\"GET\", \"/api/v1/sounds/\" .. ids[i] .. \"/similar?limit=10\", {[\"Authorization\"] = \"Bearer KEY\"})\nend".replace("KEY", key))
PY
OUT=$(nice -n "$NICE" wrk -t1 -c1 -d"$DURATION" --latency -s "$WORK/similar.lua" "http://$ADDR")
echo "$OUT" | grep -q "Non-2xx" && { echo "non-2xx answers:"; echo "$OUT"; exit 1; }
echo "similar one connection: $(echo "$OUT" | latency)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rss_after_load_mb $(rss_mb)"
stop
echo "== SQLite FTS5 on the same data and queries"
python3 scripts/library_fts5.py "$WORK/sounds.jsonl" "$WORK/queries.jsonl" "${DURATION%s}"

echo "== import of $LIBRARY"
config "$WORK/data2"
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | json '["token"]')
start
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
T0=$(date +%s.%N)
# A library with refusals makes the command exit non-zero; the summary says why.
{ $BIN library import "$LIBRARY" 2>/dev/null || true; } | tail -1
T1=$(date +%s.%N)
python3 - "$LIBRARY" "$T0" "$T1" <<'PY'
import json, sys
sounds = json.load(open(sys.argv[1]))["sounds"]
secs = float(sys.argv[3]) - float(sys.argv[2])
audio = sum(s.get("duration_s", 0) for s in sounds)
print(f"import: {len(sounds)} files, {audio:.0f} s of audio in {secs:.1f} s: {secs / len(sounds) * 1000:.0f} ms per file, {audio / secs:.0f}x realtime")
PY
echo "== 60 s stereo file as mp3320, normalised"
python3 - "$WORK/long.wav" <<'PY'
import math, random, struct, sys, wave
rate, secs = 44100, 60
random.seed(1)
w = wave.open(sys.argv[1], "wb"); w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate)
frames = bytearray()
for i in range(rate * secs):
    t = i / rate
    x = 0.3 * math.sin(2 * math.pi * 220 * t) + 0.2 * math.sin(2 * math.pi * 331 * t) * math.sin(t) + 0.05 * (random.random() - 0.5)
    frames += struct.pack("<hh", int(x * 32767 * 0.9), int(x * 32767 * 0.8))
w.writeframes(bytes(frames)); w.close()
PY
ACCOUNT=$($BIN accounts create --name bench --json | json '["id"]')
KEY=$($BIN keys create --account "$ACCOUNT" --label bench --json | json '["key"]')
curl -sf -H "Authorization: Bearer $TOKEN" -F file=@"$WORK/long.wav" \
  -F 'metadata={"id":"long-take","title":"Long Take","category":"Music Stems","license_type":"royalty-free","license":"CC0"}' \
  "http://$ADDR/admin/v1/sounds" > /dev/null
for run in first cached; do
  T0=$(date +%s.%N)
  curl -sf -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/sounds/long-take/download?format=mp3320&normalize=true" > "$WORK/dl.json"
  T1=$(date +%s.%N)
  python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'mp3320 normalised, {sys.argv[3]} request: {s:.2f} s for 60 s of audio = {60/s:.0f}x realtime')" "$T0" "$T1" "$run"
done
stop
