#!/usr/bin/env bash
# Request rate of authenticated GET /api/v1/me against unauthenticated GET /healthz on the same
# release server in the same run, load from wrk in a second process on loopback, the two
# endpoints alternating for ROUNDS rounds.
# Usage: scripts/bench-http.sh [duration=5s] [connections=64] [threads=2] [rounds=5]
# PIN=1 pins the server to CPU 0 and wrk to CPU 1 (otherwise both share every core).
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5s}
CONNS=${2:-64}
THREADS=${3:-2}
ROUNDS=${4:-5}
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
# Lift the minute limit so every request is admitted and the figure measures the full policy
# path, not 429 answers; each round uses a key of its own, since a round alone sends up to a
# few hundred thousand requests and the limit cannot be set above 1 000 000 a minute.
[plans.default]
requests_per_minute = 1000000
max_keys = 50
TOML
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# PIN=1: server and load generator on separate cores, the figure is then the server's capacity
# on one core. Unpinned, they share the machine as a client on the same host would.
if [ "${PIN:-0}" = 1 ]; then SERVER_PIN="taskset -c 0"; WRK_PIN="taskset -c 1"; else SERVER_PIN=""; WRK_PIN=""; fi
$SERVER_PIN $BIN serve --config "$WORK/tonearm.toml" > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/out")
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
ACCOUNT=$($BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
new_key() { $BIN keys create --account "$ACCOUNT" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'; }
KEY=$(new_key)

# Server CPU time (user + system, clock ticks) from /proc, to relate each run to the work the
# server itself did: on a 2-core machine wrk and the server share the CPU, and the rate alone
# moves with whatever else runs.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK=$(getconf CLK_TCK)
run() {
  local before after out reqs rate
  before=$(cpu_ticks)
  out=$($WRK_PIN wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$@")
  after=$(cpu_ticks)
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers in the run:" >&2; echo "$out" >&2; exit 1; fi
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  python3 -c "print(f'{$rate:.0f} req/s, server CPU {($after-$before)/$TICK:.2f} s = {$reqs/(($after-$before)/$TICK):.0f} req per server CPU-second')"
}
wrk -t1 -c8 -d2s "http://$ADDR/healthz" > /dev/null   # warm-up
wrk -t1 -c8 -d2s -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/me" > /dev/null
echo "wrk -t$THREADS -c$CONNS -d$DURATION, ${ROUNDS} rounds, PIN=${PIN:-0}, release server, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
RESULTS=()
for r in $(seq "$ROUNDS"); do
  KEY=$(new_key)
  HEALTH=$(run "http://$ADDR/healthz")
  ME=$(run -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/me")
  echo "round $r  /healthz: $HEALTH"
  echo "round $r  /api/v1/me: $ME"
  RESULTS+=("$HEALTH" "$ME")
done
python3 - "${RESULTS[@]}" <<'PY'
import sys, statistics
def nums(s): return float(s.split()[0]), float(s.split("= ")[1].split()[0])
pairs = [(nums(sys.argv[i]), nums(sys.argv[i + 1])) for i in range(1, len(sys.argv), 2)]
rates = [m[0] / h[0] for h, m in pairs]
print(f"ratio /api/v1/me : /healthz, total requests:       {sum(m[0] for _, m in pairs) / sum(h[0] for h, _ in pairs):.3f}")
print(f"ratio per round: {' '.join(f'{r:.2f}' for r in rates)} (median {statistics.median(rates):.3f})")
print(f"ratio per server CPU-second:                       {sum(m[1] for _, m in pairs) / sum(h[1] for h, _ in pairs):.3f}")
PY
