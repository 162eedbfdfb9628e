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
requests_per_minute = 100000
calls_per_month = 1000000000
TOML
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
$BIN serve --config "$WORK/tonearm.toml" > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/out")
export TONEARM_URL="http://$ADDR" TONEARM_TOKEN="$TOKEN"
ACCOUNT=$($BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$($BIN keys create --account "$ACCOUNT" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

rate() {
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$@")
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers in the run:" >&2; echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
wrk -t1 -c8 -d2s "http://$ADDR/healthz" > /dev/null   # warm-up
HEALTH=$(rate "http://$ADDR/healthz")
ME=$(rate -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/me")
HEALTH2=$(rate "http://$ADDR/healthz")
echo "wrk -t$THREADS -c$CONNS -d$DURATION, server: release build, $(nproc) cores shared with wrk"
echo "GET /healthz (unauthenticated): $HEALTH req/s (repeat: $HEALTH2)"
echo "GET /api/v1/me (authenticated): $ME req/s"
python3 -c "h=($HEALTH+$HEALTH2)/2; print(f'ratio /api/v1/me : /healthz = {$ME/h:.3f}')"
