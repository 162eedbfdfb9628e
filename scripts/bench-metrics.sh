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
# Each server's pid is kept in a file: `start` runs in a command substitution's subshell.
trap 'for p in "$WORK"/*/pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$WORK"' EXIT

start() { # name enabled → prints "ADDR ACCOUNT TOKEN"
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
  echo $! > "$dir/pid"
  for _ in $(seq 100); do grep -q "listening on" "$dir/out" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/^listening on //p' "$dir/out")
  account=$(TONEARM_URL="http://$addr" TONEARM_TOKEN="$token" $BIN accounts create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  echo "$addr $account $token"
}
new_key() { # addr account (TONEARM_TOKEN set by the caller)
  TONEARM_URL="http://$1" $BIN keys create --account "$2" --label bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
read -r ON_ADDR ON_ACCT ON_TOKEN <<<"$(start on true)"
read -r OFF_ADDR OFF_ACCT OFF_TOKEN <<<"$(start off false)"
# Server CPU time (user + system ticks) around each run: on a shared machine the request rate
# moves with whatever else runs, the work per request much less.
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rate() { # addr key pid → "req/s requests-per-server-CPU-second"
  local out before after
  before=$(cpu_ticks "$3")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Authorization: Bearer $2" "http://$1/api/v1/me")
  after=$(cpu_ticks "$3")
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers:" >&2; echo "$out" >&2; exit 1; fi
  local r n
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  python3 -c "print(f'{$r:.0f} {$n/max(($after-$before)/$TICK, 1e-9):.0f}')"
}
ON_PID=$(cat "$WORK/on/pid"); OFF_PID=$(cat "$WORK/off/pid")
KEY_ON=$(TONEARM_TOKEN=$ON_TOKEN new_key "$ON_ADDR" "$ON_ACCT")
KEY_OFF=$(TONEARM_TOKEN=$OFF_TOKEN new_key "$OFF_ADDR" "$OFF_ACCT")
rate "$ON_ADDR" "$KEY_ON" "$ON_PID" > /dev/null    # warm-up
rate "$OFF_ADDR" "$KEY_OFF" "$OFF_PID" > /dev/null
echo "wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds, release servers, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ON=(); OFF=()
for r in $(seq "$ROUNDS"); do
  # Fresh keys each round: a round sends far more than one key's minute window holds.
  KEY_ON=$(TONEARM_TOKEN=$ON_TOKEN new_key "$ON_ADDR" "$ON_ACCT")
  KEY_OFF=$(TONEARM_TOKEN=$OFF_TOKEN new_key "$OFF_ADDR" "$OFF_ACCT")
  if [ $((r % 2)) = 1 ]; then
    a=$(rate "$ON_ADDR" "$KEY_ON" "$ON_PID"); b=$(rate "$OFF_ADDR" "$KEY_OFF" "$OFF_PID")
  else
    b=$(rate "$OFF_ADDR" "$KEY_OFF" "$OFF_PID"); a=$(rate "$ON_ADDR" "$KEY_ON" "$ON_PID")
  fi
  echo "round $r  metrics on: ${a% *} req/s (${a#* } per server CPU-s)  off: ${b% *} req/s (${b#* } per server CPU-s)"
  ON+=("$a"); OFF+=("$b")
done
python3 - "${ON[@]}" -- "${OFF[@]}" <<'PY'
import sys, statistics
args = sys.argv[1:]
cut = args.index("--")
on = [tuple(map(float, x.split())) for x in args[:cut]]
off = [tuple(map(float, x.split())) for x in args[cut + 1:]]
for i, what in ((0, "req/s"), (1, "req per server CPU-second")):
    a = [x[i] for x in on]; b = [x[i] for x in off]
    print(f"{what}: median on {statistics.median(a):.0f}, off {statistics.median(b):.0f}; "
          f"on/off of the sums {sum(a)/sum(b):.3f}; per round {' '.join(f'{x/y:.2f}' for x, y in zip(a, b))}")
PY
