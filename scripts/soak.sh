#!/usr/bin/env bash
# Soak under abuse and crashes: four tenants upload analyses while a fifth misbehaves (slow
# bodies, silent sockets, wrong keys) and the server is killed with SIGKILL every few seconds and
# started again on the same data directory. At the end every job the good tenants got a 202 for
# must have succeeded, none may be missing, and each must be billed exactly once in its
# account's credit ledger.
# Usage: [KILLS=20] [KILL_EVERY=3] [BIN=target/release/tonearm] scripts/soak.sh
# Needs python3. Traffic goes to 127.0.0.1 only; every loop is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${KILLS:-20}
KILL_EVERY=${KILL_EVERY:-3}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin tonearm
  BIN=$PWD/target/release/tonearm
fi
WORK=$(mktemp -d)
trap 'pkill -KILL -f "$WORK/tonearm.toml" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/tonearm.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
header_read_timeout = "2s"
body_idle_timeout = "3s"
auth_failures_per_minute = 30
shutdown_grace = "2s"
[storage]
data_dir = "$WORK/data"
[log]
level = "warn"
[analysis]
max_queued = 200
max_uploads_per_key = 4
max_uploads_per_account = 8
[plans.metered]
requests_per_minute = 100000
credits_per_month = 100000
TOML
TOKEN=$($BIN admin bootstrap --json --config "$WORK/tonearm.toml" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

python3 - "$BIN" "$WORK" "$PORT" "$TOKEN" "$KILLS" "$KILL_EVERY" <<'PY'
import http.client, io, json, math, os, signal, socket, struct, subprocess, sys, threading, time, uuid, wave
bin_, work, port, token, kills, kill_every = sys.argv[1:7]
kills, kill_every, port = int(kills), float(kill_every), int(port)
cfg = os.path.join(work, "tonearm.toml")
addr = ("127.0.0.1", port)

server = {"proc": None}
def start():
    p = subprocess.Popen([bin_, "serve", "--config", cfg], stdout=subprocess.PIPE,
                         stderr=open(os.path.join(work, "server.log"), "ab"))
    for line in p.stdout:
        if line.startswith(b"listening on"):
            break
    server["proc"] = p

def call(method, path, bearer, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection(*addr, timeout=timeout)
    h = {"Authorization": f"Bearer {bearer}"}
    h.update(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode(); h["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)

def wav(seconds=4.0, rate=22050):
    # A click track over a quiet tone: analysable, different per tenant only in its name.
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        t = i / rate
        v = 0.2 * math.sin(2 * math.pi * 220 * t)
        if (i % (rate // 2)) < 200:
            v += 0.6
        frames += struct.pack("<h", int(max(-1, min(1, v)) * 32000))
    b = io.BytesIO()
    with wave.open(b, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(frames))
    return b.getvalue()

AUDIO = wav()
BOUNDARY = "tonearm-soak"
def form(name):
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + AUDIO + f"\r\n--{BOUNDARY}--\r\n".encode()

start()
tenants = []
for i in range(5):
    st, acct = call("POST", "/admin/v1/accounts", token, {"name": f"soak {i}", "plan": "metered"})
    assert st == 201, (st, acct)
    st, key = call("POST", "/admin/v1/keys", token, {"account_id": acct["id"], "label": "soak"})
    assert st == 201, (st, key)
    tenants.append((acct["id"], key["key"]))
good, bad = tenants[:4], tenants[4]
stop = threading.Event()
accepted = {acct: set() for acct, _ in good}
stats = {"submit_retries": 0, "refused": {}}
lock = threading.Lock()

def uploader(acct, key):
    n = 0
    while not stop.is_set():
        n += 1
        idem = str(uuid.uuid4())
        body = form(f"{acct}-{n}.wav")
        # Retry the same logical upload (same Idempotency-Key) until it is accepted: a crash
        # between the request and the answer must not make a second job.
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                st, v = call("POST", "/api/v1/analyze", key, body,
                             {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                              "Idempotency-Key": idem})
            except (OSError, http.client.HTTPException):
                st, v = None, None
            if st == 202:
                with lock:
                    accepted[acct].add(v["job_id"])
                break
            with lock:
                stats["submit_retries"] += 1
                if st is not None:
                    stats["refused"][st] = stats["refused"].get(st, 0) + 1
            time.sleep(0.3)

def slow_bodies(key):
    while not stop.is_set():
        try:
            s = socket.create_connection(addr, timeout=5)
            s.sendall((f"POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                       f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                       f"Content-Length: 100000\r\n\r\n").encode() + form("slow.wav")[:300])
            for _ in range(20):
                if stop.is_set():
                    break
                s.sendall(b"x"); time.sleep(1)
        except OSError:
            time.sleep(0.2)

def silent_sockets():
    held = []
    while not stop.is_set():
        try:
            held.append(socket.create_connection(addr, timeout=2))
        except OSError:
            time.sleep(0.2)
        if len(held) > 300:
            for s in held: s.close()
            held = []
        time.sleep(0.01)

def wrong_keys(key):
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    while not stop.is_set():
        try:
            call("GET", "/api/v1/me", wrong, timeout=5)
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)

threads = [threading.Thread(target=uploader, args=t) for t in good]
threads += [threading.Thread(target=slow_bodies, args=(bad[1],)) for _ in range(4)]
threads += [threading.Thread(target=silent_sockets), threading.Thread(target=wrong_keys, args=(bad[1],))]
for t in threads: t.start()
started = time.time()
for k in range(kills):
    time.sleep(kill_every)
    server["proc"].send_signal(signal.SIGKILL); server["proc"].wait()
    start()
    print(f"kill {k + 1}/{kills}", file=sys.stderr, flush=True)
time.sleep(kill_every)
stop.set()
for t in threads: t.join(timeout=150)

# Every accepted job reaches a terminal state.
deadline = time.time() + 600
final = {}
for acct, key in good:
    for job in accepted[acct]:
        while time.time() < deadline:
            try:
                st, v = call("GET", f"/api/v1/jobs/{job}", key)
            except (OSError, http.client.HTTPException):
                time.sleep(0.5); continue
            if st == 200 and v["status"] in ("succeeded", "failed"):
                final[job] = v["status"]; break
            if st == 404:
                final[job] = "lost"; break
            time.sleep(0.2)
        else:
            final[job] = "unfinished"

problems = []
charged_total = 0
for acct, key in good:
    st, led = call("GET", f"/admin/v1/accounts/{acct}/ledger?limit=100", token)
    entries = led["data"]
    while led.get("has_more"):
        st, led = call("GET", f"/admin/v1/accounts/{acct}/ledger?limit=100&cursor={led['next_cursor']}", token)
        entries += led["data"]
    net = {}
    for e in entries:
        if e.get("job_id"):
            net[e["job_id"]] = net.get(e["job_id"], 0) + e["amount"]
    for job in accepted[acct]:
        if final.get(job) != "succeeded":
            problems.append(f"{job}: {final.get(job)}")
        if net.get(job, 0) != -1:
            problems.append(f"{job}: billed {-net.get(job, 0)} times")
    stray = set(net) - accepted[acct]
    if any(net[j] != 0 for j in stray):
        problems.append(f"{acct}: charges for jobs never accepted: {sorted(stray)}")
    charged_total += sum(1 for j in accepted[acct] if net.get(j) == -1)

total = sum(len(v) for v in accepted.values())
print(json.dumps({
    "kills": kills, "seconds": round(time.time() - started, 1), "jobs_accepted": total,
    "jobs_succeeded": sum(1 for s in final.values() if s == "succeeded"),
    "jobs_lost": sum(1 for s in final.values() if s == "lost"),
    "billed_once": charged_total, "submit_retries": stats["submit_retries"],
    "refusals_seen": stats["refused"], "problems": problems[:20],
}, indent=1))
server["proc"].send_signal(signal.SIGTERM); server["proc"].wait(timeout=30)
sys.exit(1 if problems or total == 0 else 0)
PY
