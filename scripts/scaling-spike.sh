#!/usr/bin/env bash
# The deciding primitives of a multi-node tonearm on PostgreSQL beside redb, in one run (see
# docs/scaling.md): job claims with FOR UPDATE SKIP LOCKED, rate-limit counter upserts and
# batched webhook-delivery claims on a PostgreSQL started here in a temporary directory, and the
# same operations on redb through tonearm's store API (`cargo bench --bench scaling`). The two
# engines alternate, ROUNDS times, so drift in this machine's speed hits both. Then workers claim
# jobs while some are killed with SIGKILL and one is frozen past its lease, and the claims are
# checked: no job held by two live workers, every job finished exactly once.
#
# Usage: [SECS=3] [ROUNDS=3] [THREADS=1,4] [CLIENTS=1,4,16] [JOBS=3000] [KILLS=6] [SKIP_REDB=1]
#        [NATS_PY=/path/to/python-with-nats-py] [KEEP=1] scripts/scaling-spike.sh
# (KEEP=1 leaves the temporary directory, with the server's log, for a look after the run.)
# Needs PostgreSQL's server binaries and pgbench (Debian: postgresql) and python3 with psycopg2
# (Debian: python3-psycopg2); for the optional NATS figures, nats-server (Debian: nats-server)
# and a Python with nats-py. Run as root, the server runs as
# the `postgres` user; otherwise as the calling user. The server listens on a unix socket in the
# temporary directory only, with fsync and synchronous_commit on, as redb syncs every commit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1,4}
CLIENTS=${CLIENTS:-1,4,16}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PY=${PY:-/usr/bin/python3}
[ -x "$PGBIN/postgres" ] || { echo "PostgreSQL server binaries not found (set PGBIN)" >&2; exit 1; }
command -v pgbench > /dev/null || PATH=$PGBIN:$PATH
"$PY" -c 'import psycopg2' || { echo "$PY lacks psycopg2 (apt-get install python3-psycopg2)" >&2; exit 1; }

if [ -z "${SKIP_REDB:-}" ]; then
    cargo bench --quiet --bench scaling --no-run 2> /dev/null || cargo bench --bench scaling --no-run
fi

# Under /var/tmp rather than /tmp: both engines' files on the disk a data directory would use.
WORK=$(mktemp -d "${SPIKE_DIR:-/var/tmp}/tonearm-spike.XXXXXX")
chmod 755 "$WORK"
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi
PGDATA=$WORK/pg
NATS_PID=
cleanup() {
    [ -z "$NATS_PID" ] || kill "$NATS_PID" 2> /dev/null || true
    if [ -f "$PGDATA/postmaster.pid" ]; then
        "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop > /dev/null 2>&1 || true
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
SOCK=$WORK/sock
mkdir "$PGDATA" "$SOCK" "$WORK/redb"
[ ${#AS[@]} -eq 0 ] || chown postgres "$PGDATA" "$SOCK"
"${AS[@]}" "$PGBIN/initdb" -D "$PGDATA" -U tonearm -A trust --no-instructions > "$WORK/initdb.log"
cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$SOCK'
# Only the user running the server (and root, who runs the clients) may connect.
unix_socket_permissions = 0700
port = 5432
max_connections = 64
shared_buffers = 256MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start > /dev/null
export PGHOST=$SOCK PGUSER=tonearm PGDATABASE=postgres
psql -qX -c "CREATE DATABASE tonearm" > /dev/null
export PGDATABASE=tonearm SPIKE_DSN="host=$SOCK dbname=tonearm user=tonearm"
PSQL=(psql -qXAt -v ON_ERROR_STOP=1)

"${PSQL[@]}" <<'SQL'
-- A job row: the state machine's columns, the rest of the record as bytes (about its size).
CREATE TABLE jobs (
    id bigint PRIMARY KEY,
    status text NOT NULL DEFAULT 'queued',
    attempts int NOT NULL DEFAULT 0,
    worker int,
    lease_until timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    record bytea,
    result bytea
);
CREATE INDEX jobs_queued ON jobs (id) WHERE status = 'queued';
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE status = 'running';
CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    job bigint NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    due_at timestamptz NOT NULL DEFAULT now(),
    attempts int NOT NULL DEFAULT 0,
    locked_until timestamptz,
    finished_at timestamptz,
    body bytea NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
CREATE TABLE usage (account bigint, month int, n bigint NOT NULL, PRIMARY KEY (account, month));
CREATE TABLE meta (k int PRIMARY KEY, v bigint NOT NULL);
INSERT INTO meta VALUES (1, 0);
CREATE TABLE claims (job bigint, attempt int, worker int, at timestamptz DEFAULT clock_timestamp(),
                     PRIMARY KEY (job, attempt));
CREATE TABLE finishes (job bigint, attempt int, worker int);
CREATE TABLE refused (job bigint, attempt int, worker int);
SQL

# pgbench scripts: one pgbench transaction is one claim (one commit), one job (claimed and
# finished: two commits, as on redb), one counted call, or one scheduler pass over up to 64 due
# deliveries (two commits).
cat > "$WORK/commit.sql" <<'SQL'
UPDATE meta SET v = v + 1 WHERE k = 1;
SQL
cat > "$WORK/claim.sql" <<'SQL'
WITH c AS (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, worker = :client_id,
       started_at = now(), lease_until = now() + interval '60 s'
FROM c WHERE j.id = c.id RETURNING j.id AS job \gset
SQL
cat > "$WORK/job.sql" <<'SQL'
WITH c AS (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, worker = :client_id,
       started_at = now(), lease_until = now() + interval '60 s'
FROM c WHERE j.id = c.id RETURNING j.id AS job, j.attempts AS attempt \gset
BEGIN;
UPDATE jobs SET status = 'succeeded', finished_at = now(), lease_until = NULL,
       result = decode(repeat('07', 2000), 'hex')
WHERE id = :job AND attempts = :attempt AND status = 'running';
INSERT INTO deliveries (job, body) VALUES (:job, decode(repeat('78', 1700), 'hex'));
COMMIT;
SQL
cat > "$WORK/counter.sql" <<'SQL'
INSERT INTO usage (account, month, n) VALUES (:client_id + 1, 682, 1)
ON CONFLICT (account, month) DO UPDATE SET n = usage.n + 1 RETURNING n;
SQL
cat > "$WORK/counter_shared.sql" <<'SQL'
INSERT INTO usage (account, month, n) VALUES (0, 682, 1)
ON CONFLICT (account, month) DO UPDATE SET n = usage.n + 1 RETURNING n;
SQL
cat > "$WORK/notify.sql" <<'SQL'
SELECT pg_notify('job_events', '{"job":"job_x","stage":"loudness","progress":0.42}');
SQL
cat > "$WORK/delivery.sql" <<'SQL'
WITH d AS (SELECT id FROM deliveries WHERE status = 'pending' AND due_at <= now()
           ORDER BY due_at LIMIT 64 FOR UPDATE SKIP LOCKED),
     u AS (UPDATE deliveries x SET attempts = x.attempts + 1, status = 'in_flight',
                  locked_until = now() + interval '30 s'
           FROM d WHERE x.id = d.id RETURNING x.id)
SELECT coalesce(array_agg(id), '{}') AS ids FROM u \gset
UPDATE deliveries SET status = 'succeeded', finished_at = now(), locked_until = NULL
WHERE id = ANY(:ids::bigint[]);
SQL

# NATS JetStream, when its server and a Python with nats-py are at hand (NATS_PY=...): on
# 127.0.0.1, a port of its choosing, file storage in the temporary directory.
NATS_PY=${NATS_PY:-}
if [ -n "$NATS_PY" ] && command -v nats-server > /dev/null && "$NATS_PY" -c 'import nats' 2> /dev/null; then
    nats-server -js -sd "$WORK/nats" -a 127.0.0.1 -p -1 -l "$WORK/nats.log" &
    NATS_PID=$!
    for _ in $(seq 100); do grep -q "Server is ready" "$WORK/nats.log" 2> /dev/null && break; sleep 0.1; done
    NATS_URL=nats://$(sed -n 's/.*Listening for client connections on //p' "$WORK/nats.log" | head -1)
else
    echo "NATS: skipped (needs nats-server on PATH and NATS_PY=python-with-nats-py)" >&2
fi

RESULTS=$WORK/results.tsv
: > "$RESULTS"

# How fast this disk syncs right now, for reading the figures: an 8 KiB overwrite of an
# allocated file then fdatasync (what PostgreSQL's preallocated WAL does), and an 8 KiB append
# then fdatasync (a growing file, whose size change the file system must journal too).
disk() {
    "$PY" - "$WORK" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "sync.probe")
block = b"\0" * 8192
for kind in ("overwrite", "append"):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    if kind == "overwrite":
        os.write(fd, block * 128)
        os.fsync(fd)
    n, start = 0, time.time()
    while time.time() - start < 1.0 and n < 20000:
        if kind == "overwrite":
            os.pwrite(fd, block, (n % 128) * 8192)
        else:
            os.write(fd, block)
        os.fdatasync(fd)
        n += 1
    elapsed = time.time() - start
    os.close(fd)
    print(f"disk\tsync_{kind}\t1\t{n}\t{elapsed:.3f}\t{n / elapsed:.0f}")
os.unlink(path)
PY
}
load() { cut -d' ' -f1 /proc/loadavg; }

# One pgbench run; prints "postgres OP CLIENTS OPS SECONDS RATE" like the redb bench.
pgb() {
    local op=$1 file=$2 clients=$3 mult=${4:-1} extra=${5:-}
    local jobs=$((clients < 2 ? clients : 2)) out
    out=$(PGOPTIONS=$extra pgbench -n -M extended -c "$clients" -j "$jobs" -T "$SECS" -f "$file" 2>&1) || {
        echo "pgbench $op failed:" >&2
        echo "$out" >&2
        exit 1
    }
    awk -v op="$op" -v c="$clients" -v m="$mult" '
        /number of transactions actually processed/ { split($0, a, ": "); n = a[2] + 0 }
        /^tps = / { tps = $3 }
        END { printf "postgres\t%s\t%d\t%d\t%.3f\t%.0f\n", op, c, n * m, (tps > 0 ? n / tps : 0), tps * m }' <<< "$out"
}

prepare_jobs() {
    # Enough queued jobs that no client runs dry within SECS.
    "${PSQL[@]}" -c "TRUNCATE jobs, deliveries" \
        -c "INSERT INTO jobs (id, record) SELECT g, decode(repeat('00', 300), 'hex') FROM generate_series(1, $((SECS * 20000 + 2000))) g" \
        -c "VACUUM ANALYZE jobs"
}

# No job claimed twice; after a job run (finish=1) none left running.
check_jobs() {
    local twice running=0
    twice=$("${PSQL[@]}" -c "SELECT count(*) FROM jobs WHERE attempts > 1")
    if [ "$1" = 1 ]; then
        running=$("${PSQL[@]}" -c "SELECT count(*) FROM jobs WHERE status = 'running'")
    fi
    if [ "$twice" != 0 ] || [ "$running" != 0 ]; then
        echo "postgres job run: $twice jobs claimed twice, $running left running" >&2
        exit 1
    fi
}

for round in $(seq "$ROUNDS"); do
    disk | tee -a "$RESULTS"
    if [ -z "${SKIP_REDB:-}" ]; then
        echo "round $round: redb (load $(load))" >&2
        SCALING_DIR=$WORK/redb cargo bench --quiet --bench scaling -- "$SECS" "$THREADS" | tee -a "$RESULTS"
    fi
    echo "round $round: postgres (load $(load))" >&2
    pgb commit "$WORK/commit.sql" 1 | tee -a "$RESULTS"
    for c in ${CLIENTS//,/ }; do
        prepare_jobs
        pgb claim "$WORK/claim.sql" "$c" | tee -a "$RESULTS"
        check_jobs 0
        prepare_jobs
        pgb job "$WORK/job.sql" "$c" | tee -a "$RESULTS"
        check_jobs 1
    done
    for c in ${CLIENTS//,/ }; do
        pgb counter_commit "$WORK/counter.sql" "$c" | tee -a "$RESULTS"
        pgb counter_async "$WORK/counter.sql" "$c" 1 "-c synchronous_commit=off" | tee -a "$RESULTS"
        pgb counter_shared "$WORK/counter_shared.sql" "$c" | tee -a "$RESULTS"
    done
    for c in 1 4; do
        pgb notify "$WORK/notify.sql" "$c" | tee -a "$RESULTS"
    done
    for c in 1 4; do
        "${PSQL[@]}" -c "TRUNCATE deliveries" \
            -c "INSERT INTO deliveries (job, body) SELECT g, decode(repeat('78', 1700), 'hex') FROM generate_series(1, $((SECS * 20000 + 5000))) g" \
            -c "VACUUM ANALYZE deliveries"
        pgb delivery "$WORK/delivery.sql" "$c" 64 | tee -a "$RESULTS"
    done
    if [ -n "$NATS_PID" ]; then
        echo "round $round: nats (load $(load))" >&2
        "$NATS_PY" scripts/scaling-nats.py "$NATS_URL" "$SECS" "$CLIENTS" | tee -a "$RESULTS"
    fi
    echo "round $round: done (load $(load))" >&2
done

echo "claims under kill -9 (load $(load))" >&2
CLAIMS=$(JOBS=${JOBS:-3000} KILLS=${KILLS:-6} "$PY" scripts/scaling-claims.py) || {
    echo "$CLAIMS"
    echo "the claim check FAILED" >&2
    exit 1
}
echo "$CLAIMS"

"$PY" - "$RESULTS" <<'PY'
import collections, statistics, sys
rates = collections.defaultdict(list)
for line in open(sys.argv[1]):
    engine, op, threads, _ops, _secs, rate = line.rstrip("\n").split("\t")
    rates[(op, int(threads), engine)].append(float(rate))
ops = ["sync_overwrite", "sync_append", "commit", "claim", "job", "counter_commit", "counter_async", "counter_cas", "counter_shared",
       "counter_admit", "delivery", "notify"]
units = {"sync_overwrite": "syncs/s", "sync_append": "syncs/s", "commit": "commits/s", "claim": "claims/s", "job": "jobs/s", "delivery": "deliveries/s",
         "counter_admit": "calls/s", "notify": "events/s"}
print()
nats = any(k[2] == "nats" for k in rates)
for k in [k for k in rates if k[2] == "disk"]:
    # The disk's own figure belongs to both engines' columns.
    rates[(k[0], k[1], "redb")] = rates[(k[0], k[1], "postgres")] = rates.pop(k)
print("| operation | threads / clients | redb | PostgreSQL |" + (" NATS JetStream |" if nats else ""))
print("|---|---|---|---|" + ("---|" if nats else ""))
def fmt(v):
    if not v:
        return "-"
    return f"{statistics.median(v):,.0f}" + (f" ({min(v):,.0f}-{max(v):,.0f})" if len(v) > 1 else "")
for op in ops:
    for t in sorted({k[1] for k in rates if k[0] == op}):
        row = f"| {op}, {units.get(op, 'increments/s')} | {t} | {fmt(rates.get((op, t, 'redb')))} | {fmt(rates.get((op, t, 'postgres')))} |"
        if nats:
            row += f" {fmt(rates.get((op, t, 'nats')))} |"
        print(row)
print("\nmedian (range) over the rounds")
PY
