#!/usr/bin/env bash
# Upload bandwidth over loopback with several uploads at once, and the server CPU it costs per
# gigabyte received: what receiving audio takes from the cores that would analyse it
# (docs/scaling.md). A release server in a temporary directory; CONCURRENCY rounds of curl
# uploads of one SIZE_MB WAV file (a valid header, then zeros); the server's CPU time is read
# from /proc before and after each round. The analysis limit is set to one second, so each job
# fails at once on the declared length and only the upload path is measured.
# Usage: [SIZE_MB=256] [CONCURRENCY=1,2,4] [ROUNDS=2] scripts/bench-uploads.sh
# Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-256}
CONCURRENCY=${CONCURRENCY:-1,2,4}
ROUNDS=${ROUNDS:-2}
cargo build --release --quiet --bin tonearm
BIN=$PWD/target/release/tonearm
# Under /var/tmp: the disk a data directory would be on.
WORK=$(mktemp -d "${UPLOAD_DIR:-/var/tmp}/tonearm-uploads.XXXXXX")
PID=
trap '[ -z "$PID" ] || kill "$PID" 2> /dev/null || true; rm -rf "$WORK"' EXIT
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
max_duration = "1s"
[plans.default]
requests_per_minute = 1000000
max_upload_mb = 2048
TOML
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
$BIN serve --config "$WORK/tonearm.toml" > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/out" 2> /dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/out")
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
ACCOUNT=$($BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$($BIN keys create --account "$ACCOUNT" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

python3 - "$ADDR" "$KEY" "$PID" "$WORK" "$SIZE_MB" "$CONCURRENCY" "$ROUNDS" <<'PY'
import os, resource, struct, subprocess, sys, time
addr, key, pid, work, size_mb, conc, rounds = sys.argv[1:8]
size = int(size_mb) * 1024 * 1024
tick = os.sysconf("SC_CLK_TCK")

def server_cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick

wav = os.path.join(work, "upload.wav")
with open(wav, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", size + 36) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 176400, 4, 16))
    f.write(b"data" + struct.pack("<I", size))
    f.truncate(size + 44)
mb = (size + 44) / 1e6
print("| uploads at once | MB/s in all | server CPU-seconds per GB | curl CPU-seconds per GB | load before |")
print("|---|---|---|---|---|")
for r in range(int(rounds)):
    for n in [int(x) for x in conc.split(",")]:
        load = open("/proc/loadavg").read().split()[0]
        cpu0 = server_cpu()
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.time()
        procs = [subprocess.Popen(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {key}",
             "-F", f"file=@{wav}", f"http://{addr}/api/v1/analyze"], stdout=subprocess.PIPE)
            for _ in range(n)]
        codes = [p.communicate()[0].decode() for p in procs]
        wall = time.time() - t
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = server_cpu() - cpu0
        curl = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        if any(c != "202" for c in codes):
            sys.exit(f"uploads answered {codes}")
        gb = n * mb / 1000
        print(f"| {n} | {n * mb / wall:.0f} | {cpu / gb:.2f} | {curl / gb:.2f} | {load} |", flush=True)
        # Let the failed jobs and their files go before the next round.
        time.sleep(1)
PY
