#!/usr/bin/env bash
# Contract test: runs schemathesis (every check, positive and negative data) against a fresh
# server, once with an API key and once with a management token, and fails on any failure.
#
#   scripts/contract.sh                 # full run: 100 examples per operation and credential
#   CONTRACT_EXAMPLES=10 scripts/contract.sh   # the short form CI runs
#   scripts/contract.sh --include-operation-id analyze   # further arguments go to schemathesis
#
# Needs Python 3 with schemathesis (`pip install schemathesis`); SCHEMATHESIS names the
# executable if it is not on PATH. Builds the debug binary unless TONEARM_BIN names one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
examples=${CONTRACT_EXAMPLES:-100}
st=${SCHEMATHESIS:-schemathesis}
command -v "$st" >/dev/null || { echo "contract: $st not found; pip install schemathesis" >&2; exit 2; }
if [[ -z "${TONEARM_BIN:-}" ]]; then
  cargo build --locked --quiet
  TONEARM_BIN=$root/target/debug/tonearm
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Limits high enough that the run's own volume is not refused; everything else at defaults.
cat > "$work/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
data_dir = "$work/data"
[plans.default]
requests_per_minute = 1000000
[plans.studio]
requests_per_minute = 1000000
credits_per_month = 1000000
TOML

token=$("$TONEARM_BIN" admin bootstrap --config "$work/tonearm.toml" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

"$TONEARM_BIN" serve --config "$work/tonearm.toml" > "$work/stdout" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$work/stdout" | head -n1)
[[ -n "$addr" ]] || { echo "contract: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
url=http://$addr

api() { # METHOD PATH [JSON]
  curl -sS --fail-with-body -X "$1" "$url$2" -H "Authorization: Bearer ${AUTH:-$token}" \
    ${3:+-H 'Content-Type: application/json' -d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

account=$(api POST /admin/v1/accounts '{"name": "contract"}' | field '["id"]')
key=$(api POST /admin/v1/keys "{\"account_id\": \"$account\", \"label\": \"contract\", \"webhook_secret\": true}" | field '["key"]')

export SCHEMATHESIS_HOOKS=${CONTRACT_HOOKS:-hooks}
export PYTHONPATH=$root/scripts/contract${PYTHONPATH:+:$PYTHONPATH}
status=0
for cred in "api-key:$key" "management-token:$token"; do
  name=${cred%%:*}
  echo "== $name: $examples examples per operation"
  "$st" run "$url/api/openapi.json" \
    --checks all \
    --mode all \
    --max-examples "$examples" \
    --header "Authorization: Bearer ${cred#*:}" \
    --seed 1 "$@" \
    || status=1
done
if [[ $status -ne 0 ]]; then
  echo "contract: failures above; the server log is at the end" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit $status
