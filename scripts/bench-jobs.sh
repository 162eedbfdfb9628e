#!/usr/bin/env bash
# End-to-end job throughput against the engine alone, upload throughput against dd, and the
# server's peak RSS during a 1 GB upload — all in one run on a release build.
# Usage: scripts/bench-jobs.sh [AUDIO_DIR=../shared/corpus/real] [ROUNDS=2]
# Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-../shared/corpus/real}
ROUNDS=${2:-2}
cargo build --release --quiet --bin tonearm
BIN=$PWD/target/release/tonearm
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
cat > "$WORK/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
data_dir = "$WORK/data"
[log]
level = "warn"
[analysis]
max_upload_mb = 2048
max_queued = 1000
[plans.default]
requests_per_minute = 1000000
max_upload_mb = 2048
TOML
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
$BIN serve --config "$WORK/tonearm.toml" > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/out")
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
ACCOUNT=$($BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$($BIN keys create --account "$ACCOUNT" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

python3 - "$BIN" "$ADDR" "$KEY" "$DIR" "$ROUNDS" "$PID" "$WORK" <<'PY'
import json, os, subprocess, sys, threading, time, urllib.request
bin_, addr, key, folder, rounds, pid, work = sys.argv[1:8]
rounds = int(rounds)
files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith("."))
batch = files * rounds

def engine_alone():
    t = time.time()
    subprocess.run([bin_, "analyze", "--jsonl", *batch], stdout=subprocess.DEVNULL, check=True)
    return time.time() - t

def get(path):
    req = urllib.request.Request(f"http://{addr}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def client(items, out):
    for f in items:
        r = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {key}", "-F", f"file=@{f}",
                            f"http://{addr}/api/v1/analyze"], capture_output=True, check=True)
        job = json.loads(r.stdout)["job_id"]
        while True:
            st, v = get(f"/api/v1/jobs/{job}")
            if st == 200:
                out.append(v["status"])
                break
            time.sleep(0.05)

def http_path():
    out, threads = [], []
    t = time.time()
    for i in range(4):
        th = threading.Thread(target=client, args=(batch[i::4], out))
        th.start(); threads.append(th)
    for th in threads: th.join()
    return time.time() - t, out

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

e = engine_alone()
h, statuses = http_path()
ok = statuses.count("succeeded")
print(f"files: {len(batch)} ({len(files)} x {rounds}) from {folder}, {os.cpu_count()} cores")
print(f"engine alone (tonearm analyze, all cores): {e:.1f} s = {len(batch)/e*60:.1f} jobs/min")
print(f"HTTP path, 4 concurrent clients (upload -> poll -> result): {h:.1f} s = {len(batch)/h*60:.1f} jobs/min ({ok} succeeded)")
print(f"HTTP / engine throughput: {e/h:.3f}")

# 1 GB upload: a valid WAV header declaring 1 GiB of PCM, then zeros (sparse on disk).
big = os.path.join(work, "big.wav")
n = 1024 * 1024 * 1024
with open(big, "wb") as f:
    import struct
    f.write(b"RIFF" + struct.pack("<I", n + 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 176400, 4, 16))
    f.write(b"data" + struct.pack("<I", n))
    f.truncate(n + 44)
idle = rss_kb()
peak = [idle]
stop = False
def sample():
    while not stop:
        peak[0] = max(peak[0], rss_kb()); time.sleep(0.02)
sampler = threading.Thread(target=sample); sampler.start()
t = time.time()
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {key}",
                    "-F", f"file=@{big}", f"http://{addr}/api/v1/analyze"], capture_output=True, check=True)
up = time.time() - t
stop = True; sampler.join()
size_mb = (n + 44) / 1e6
t = time.time()
subprocess.run(["dd", f"if={big}", f"of={os.path.join(work, 'dd.out')}", "bs=1M", "conv=fsync"], capture_output=True, check=True)
dd = time.time() - t
print(f"1 GB upload: HTTP {r.stdout.decode()} in {up:.2f} s = {size_mb/up:.0f} MB/s; dd to the same disk: {size_mb/dd:.0f} MB/s; ratio {dd/up:.2f}")
print(f"server RSS: idle {idle/1024:.1f} MB, peak during the upload {peak[0]/1024:.1f} MB (+{(peak[0]-idle)/1024:.1f} MB)")
PY
