# Sourced by scripts that need a fresh server: builds (unless TONEARM_BIN is set), writes a
# config into a temporary directory, bootstraps a management token and starts `tonearm serve`
# on a free loopback port. Sets: TONEARM_BIN, work, url, token. Everything is removed on exit.
# Extra config lines for the [plans.default] table come from FRESH_SERVER_PLAN, for the [server]
# table from FRESH_SERVER_SERVER.

root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [[ -z "${TONEARM_BIN:-}" ]]; then
  (cd "$root" && cargo build --locked --quiet)
  TONEARM_BIN=$root/target/debug/tonearm
fi

work=$(mktemp -d)
server_pid=
fresh_server_cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap fresh_server_cleanup EXIT

cat > "$work/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:0"
${FRESH_SERVER_SERVER:-}
[storage]
data_dir = "$work/data"
[plans.default]
${FRESH_SERVER_PLAN:-}
TOML

token=$("$TONEARM_BIN" admin bootstrap --config "$work/tonearm.toml" --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

"$TONEARM_BIN" serve --config "$work/tonearm.toml" > "$work/stdout" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$work/stdout" | head -n1)
[[ -n "$addr" ]] || { echo "the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
url=http://$addr

# api METHOD PATH [JSON]: a management API call with the bootstrapped token.
api() {
  curl -sS --fail-with-body -X "$1" "$url$2" -H "Authorization: Bearer $token" \
    ${3:+-H 'Content-Type: application/json' -d "$3"}
}
# field EXPR: a field of the JSON on stdin, e.g. field '["id"]'.
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
