#!/usr/bin/env bash
# Cost of Prometheus metrics on the hot path: GET /api/v1/me on two release servers from the
# same binary in the same run, one with metrics.enabled = true and one with false, wrk against
# each in turn for ROUNDS rounds (A B B A order, so drift in the machine's load cancels out).
# Usage: scripts/bench-metrics.sh [duration=5s] [connections=64] [threads=2] [rounds=6]
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5s}
CONNS=${2:-64}
THREADS=${3:-2}
ROUNDS=${4:-6}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
cargo build --release --quiet --bin tonearm
BIN=target/release/tonearm
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

start() { # name enabled → prints "ADDR KEY"
  local name=$1 enabled=$2 dir="$WORK/$1"
  mkdir -p "$dir"
  cat > "$dir/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
data_dir = "$dir/data"
[log]
level = "warn"
[metrics]
enabled = $enabled
[plans.default]
requests_per_minute = 1000000
max_keys = 50
TOML
  local token addr account
  token=$($BIN admin bootstrap --json --config "$dir/tonearm.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  $BIN serve --config "$dir/tonearm.toml" > "$dir/out" 2> "$dir/err" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$dir/out" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/^listening on //p' "$dir/out")
  export TONEARM_URL="http://$addr" TONEARM_TOKEN="$token"
  account=$($BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  echo "$addr $account"
}
new_key() { # addr account token-env
  TONEARM_URL="http://$1" $BIN keys create --account "$2" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
read -r ON_ADDR ON_ACCT <<<"$(start on true)"
ON_TOKEN=$TONEARM_TOKEN
read -r OFF_ADDR OFF_ACCT <<<"$(start off false)"
OFF_TOKEN=$TONEARM_TOKEN
rate() { # addr key
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Authorization: Bearer $2" "http://$1/api/v1/me")
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers:" >&2; echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
KEY_ON=$(TONEARM_TOKEN=$ON_TOKEN new_key "$ON_ADDR" "$ON_ACCT")
KEY_OFF=$(TONEARM_TOKEN=$OFF_TOKEN new_key "$OFF_ADDR" "$OFF_ACCT")
rate "$ON_ADDR" "$KEY_ON" > /dev/null    # warm-up
rate "$OFF_ADDR" "$KEY_OFF" > /dev/null
echo "wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds, release servers, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ON=(); OFF=()
for r in $(seq "$ROUNDS"); do
  # Fresh keys each round: a round sends far more than one key's minute window holds.
  KEY_ON=$(TONEARM_TOKEN=$ON_TOKEN new_key "$ON_ADDR" "$ON_ACCT")
  KEY_OFF=$(TONEARM_TOKEN=$OFF_TOKEN new_key "$OFF_ADDR" "$OFF_ACCT")
  if [ $((r % 2)) = 1 ]; then
    a=$(rate "$ON_ADDR" "$KEY_ON"); b=$(rate "$OFF_ADDR" "$KEY_OFF")
  else
    b=$(rate "$OFF_ADDR" "$KEY_OFF"); a=$(rate "$ON_ADDR" "$KEY_ON")
  fi
  echo "round $r  metrics on: $a req/s  metrics off: $b req/s"
  ON+=("$a"); OFF+=("$b")
done
python3 - "${ON[*]}" "${OFF[*]}" <<'PY'
import sys, statistics
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
print(f"median on {statistics.median(on):.0f} req/s, off {statistics.median(off):.0f} req/s")
print(f"on/off, total requests: {sum(on)/sum(off):.3f}; per round: {' '.join(f'{a/b:.3f}' for a, b in zip(on, off))}")
PY
