#!/usr/bin/env bash
# End-to-end job throughput against the engine alone, upload throughput against dd, and the
# server's peak RSS during a 1 GB upload — all in one run on a release build.
# Usage: [ROUNDS=1] [TRIALS=3] [CLIENTS=4] [SKIP_UPLOAD=1] scripts/bench-jobs.sh [AUDIO_DIR ...]
# The default folders are the corpus's music, songs and full-length tracks.
# Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- ../shared/corpus/music ../shared/corpus/songs ../shared/corpus/real; fi
DIRS=$(printf '%s\n' "$@")
ROUNDS=${ROUNDS:-1}
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

python3 - "$BIN" "$ADDR" "$KEY" "$DIRS" "$ROUNDS" "$PID" "$WORK" <<'PY'
import http.client, json, os, queue, resource, subprocess, sys, threading, time
bin_, addr, key, folders, rounds, pid, work = sys.argv[1:8]
folders = folders.split("\n")
rounds = int(rounds)
files = [os.path.join(d, f) for d in folders for f in os.listdir(d) if not f.startswith(".")]
# Largest files first on both sides: `tonearm analyze` orders its work longest first, and the
# clients take files in that order too, so the figure compares the paths, not two schedules
# (a long file started last leaves a core idle at the end of either run).
files.sort(key=lambda f: -os.path.getsize(f))
batch = [f for f in files for _ in range(rounds)]

def engine_alone():
    t = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([bin_, "analyze", "--jsonl", *batch], stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine_cpu[0] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return time.time() - t

engine_cpu = [0.0]

def server_cpu():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def client(work_queue, out):
    # Each client takes the next file from a shared list, as a pipeline's workers would, and
    # keeps one HTTP/1.1 connection for its requests, as an HTTP library's session does.
    conn = http.client.HTTPConnection(addr)
    auth = {"Authorization": f"Bearer {key}"}
    boundary = "tonearm-bench-boundary"
    while True:
        try:
            path = work_queue.get_nowait()
        except queue.Empty:
            conn.close()
            return
        with open(path, "rb") as fh:
            data = fh.read()
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{os.path.basename(path)}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        conn.request("POST", "/api/v1/analyze", body=body, headers={
            **auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        r = conn.getresponse()
        job = json.load(r)["job_id"]
        # The event stream ends right after the job's `done` event: no polling delay.
        conn.request("GET", f"/api/v1/jobs/{job}/stream", headers=auth)
        conn.getresponse().read()
        conn.request("GET", f"/api/v1/jobs/{job}", headers=auth)
        r = conn.getresponse()
        v = json.load(r)
        out.append(v["status"] if r.status == 200 else f"http {r.status}")

def http_path():
    cpu_before = server_cpu()
    me_before = resource.getrusage(resource.RUSAGE_SELF)
    out, threads = [], []
    work_queue = queue.Queue()
    for f in batch:
        work_queue.put(f)
    t = time.time()
    for i in range(int(os.environ.get("CLIENTS", "4"))):
        th = threading.Thread(target=client, args=(work_queue, out))
        th.start(); threads.append(th)
    for th in threads: th.join()
    http_cpu[0] = server_cpu() - cpu_before
    me = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu[0] = (me.ru_utime + me.ru_stime) - (me_before.ru_utime + me_before.ru_stime)
    return time.time() - t, out

http_cpu = [0.0]
client_cpu = [0.0]

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

# Engine and HTTP runs alternate, so drift in the machine's speed (a shared VM) hits both sides;
# the median of the per-trial ratios is the figure to report.
trials = int(os.environ.get("TRIALS", "3"))
ratios = []
totals = [0.0, 0.0]
print(f"files: {len(batch)} ({len(files)} x {rounds}) from {' '.join(folders)}, {os.cpu_count()} cores, {trials} trials")
for trial in range(1, trials + 1):
    e = engine_alone()
    h, statuses = http_path()
    ok = statuses.count("succeeded")
    ratios.append(e / h)
    totals[0] += e; totals[1] += h
    print(f"trial {trial}: engine alone (tonearm analyze, all cores) {e:.1f} s = {len(batch)/e*60:.1f} jobs/min; "
          f"HTTP, {os.environ.get('CLIENTS', '4')} clients (upload -> event stream -> result) {h:.1f} s = {len(batch)/h*60:.1f} jobs/min "
          f"({ok} succeeded); ratio {e/h:.3f}")
    print(f"  CPU: tonearm analyze {engine_cpu[0]:.1f} s; server {http_cpu[0]:.1f} s, clients {client_cpu[0]:.1f} s, of {os.cpu_count() * h:.1f} core-seconds")
ratios.sort()
print(f"HTTP / engine throughput: median {ratios[len(ratios)//2]:.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f}); "
      f"all trials together {totals[0]/totals[1]:.3f}")

# 1 GB upload: a valid WAV header declaring 1 GiB of PCM, then zeros (sparse on disk).
big = os.path.join(work, "big.wav")
n = 1024 * 1024 * 1024
with open(big, "wb") as f:
    import struct
    f.write(b"RIFF" + struct.pack("<I", n + 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 176400, 4, 16))
    f.write(b"data" + struct.pack("<I", n))
    f.truncate(n + 44)
if os.environ.get("SKIP_UPLOAD"):
    sys.exit(0)
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
