#!/usr/bin/env bash
# Request rate of authenticated GET /api/v1/me against unauthenticated GET /healthz on the same
# release server in the same run, load from wrk in a second process on loopback.
# Usage: scripts/bench-http.sh [duration=10s] [connections=64] [threads=1]
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-64}
THREADS=${3:-1}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
cargo build --release --quiet --bin tonearm
BIN=target/release/tonearm
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
cat > "$WORK/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
data_dir = "$WORK/data"
[log]
level = "warn"
# The run sends tens of thousands of requests with one key: lift the minute limit so every
# request is admitted and the figure measures the full policy path, not 429 answers.
[plans.default]
requests_per_minute = 1000000
TOML
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# Server and load generator on separate cores, so that neither steals the other's CPU: the
# figure is then the server's own capacity on one core.
SERVER_CPUS=${SERVER_CPUS:-0}
WRK_CPUS=${WRK_CPUS:-1}
taskset -c "$SERVER_CPUS" $BIN serve --config "$WORK/tonearm.toml" > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/out")
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
ACCOUNT=$($BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$($BIN keys create --account "$ACCOUNT" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

# Server CPU time (user + system, clock ticks) from /proc, to relate each run to the work the
# server itself did: on a 2-core machine wrk and the server share the CPU, and the rate alone
# moves with whatever else runs.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK=$(getconf CLK_TCK)
run() {
  local before after out reqs rate
  before=$(cpu_ticks)
  out=$(taskset -c "$WRK_CPUS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$@")
  after=$(cpu_ticks)
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers in the run:" >&2; echo "$out" >&2; exit 1; fi
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  python3 -c "print(f'{$rate:.0f} req/s, server CPU {($after-$before)/$TICK:.2f} s = {$reqs/(($after-$before)/$TICK):.0f} req per server CPU-second')"
}
wrk -t1 -c8 -d2s "http://$ADDR/healthz" > /dev/null   # warm-up
HEALTH=$(run "http://$ADDR/healthz")
ME=$(run -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/me")
HEALTH2=$(run "http://$ADDR/healthz")
ME2=$(run -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/me")
echo "wrk -t$THREADS -c$CONNS -d$DURATION on CPU $WRK_CPUS, server (release build) on CPU $SERVER_CPUS, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "GET /healthz (unauthenticated):            $HEALTH"
echo "GET /api/v1/me (authenticated, limited):   $ME"
echo "GET /healthz again:                        $HEALTH2"
echo "GET /api/v1/me again:                      $ME2"
python3 - "$HEALTH" "$ME" "$HEALTH2" "$ME2" <<'PY'
import sys
def nums(s): return float(s.split()[0]), float(s.split("= ")[1].split()[0])
h1, m1, h2, m2 = (nums(a) for a in sys.argv[1:5])
print(f"ratio /api/v1/me : /healthz, request rate:          {(m1[0]+m2[0])/(h1[0]+h2[0]):.3f}")
print(f"ratio /api/v1/me : /healthz, per server CPU-second: {(m1[1]+m2[1])/(h1[1]+h2[1]):.3f}")
PY
