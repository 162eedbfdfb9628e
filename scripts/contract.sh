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
# Limits high enough that the run's own volume is not refused; everything else at defaults.
# The run sends thousands of deliberately wrong credentials from one address, which the
# failed-authentication throttle would rightly answer with 429 instead of the 401 checked here.
FRESH_SERVER_PLAN="requests_per_minute = 1000000"
FRESH_SERVER_SERVER="auth_failures_per_minute = 0"
. scripts/lib/fresh-server.sh

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
