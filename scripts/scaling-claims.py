"""Job claims on PostgreSQL under kill -9: called by scripts/scaling-spike.sh.

Driver (default): fills the `jobs` table with JOBS queued jobs, starts WORKERS worker processes,
and while they run kills one with SIGKILL every KILL_EVERY seconds (KILLS in all, each replaced
by a fresh worker) and freezes one with SIGSTOP for longer than the lease, then lets it go on.
A reaper puts jobs whose lease ran out back in the queue. When every job has succeeded (or the
time limit passes) it checks, from the `claims` and `finishes` tables the workers wrote in the
same transactions as their state changes:

  - every job succeeded, and was finished exactly once;
  - the finish of each job carries the attempt number of its last claim (fencing);
  - a job was claimed again only after the worker holding it was killed or frozen past its
    lease: no job was ever held by two live workers;
  - a finish was refused only to the frozen worker (its job was run again meanwhile, unless
    it was frozen inside its finish transaction, whose row lock keeps the job from the reaper).

Worker (`worker` argument): claim one job with FOR UPDATE SKIP LOCKED and record the claim in
the same transaction; work for a few milliseconds; finish it only if it still holds the same
attempt (`attempts` is the fencing token), recording the finish in the same transaction.

Needs psycopg2 (Debian: python3-psycopg2). Loopback only: the server is on a unix socket.
"""

import os
import random
import signal
import subprocess
import sys
import time

import psycopg2

DSN = os.environ.get("SPIKE_DSN", "")
LEASE_S = float(os.environ.get("LEASE_S", "1.5"))

CLAIM = """
WITH c AS (
    SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, worker = %(w)s,
       started_at = now(), lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
FROM c WHERE j.id = c.id
RETURNING j.id, j.attempts
"""

FINISH = """
UPDATE jobs SET status = 'succeeded', finished_at = now(), lease_until = NULL,
       result = decode(repeat('07', 2000), 'hex')
WHERE id = %(id)s AND attempts = %(attempt)s AND status = 'running'
"""

# Rows locked by a worker (one frozen in the middle of its finish) are skipped, not waited for.
REAP = """
UPDATE jobs SET status = 'queued', lease_until = NULL
WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_until < clock_timestamp()
             FOR UPDATE SKIP LOCKED)
"""


def worker():
    me = os.getpid()
    conn = psycopg2.connect(DSN)
    cur = conn.cursor()
    rng = random.Random(me)
    deadline = time.time() + float(os.environ.get("LIMIT_S", "120"))
    while time.time() < deadline:
        cur.execute(CLAIM, {"w": me, "lease": LEASE_S})
        row = cur.fetchone()
        if row is None:
            conn.commit()
            cur.execute("SELECT count(*) FROM jobs WHERE status <> 'succeeded'")
            left = cur.fetchone()[0]
            conn.commit()
            if left == 0:
                return
            time.sleep(0.05)
            continue
        job, attempt = row
        cur.execute(
            "INSERT INTO claims (job, attempt, worker) VALUES (%s, %s, %s)", (job, attempt, me)
        )
        conn.commit()
        # The analysis: a few milliseconds, far inside the lease.
        time.sleep(rng.uniform(0.002, 0.02))
        cur.execute(FINISH, {"id": job, "attempt": attempt})
        if cur.rowcount == 1:
            cur.execute(
                "INSERT INTO finishes (job, attempt, worker) VALUES (%s, %s, %s)",
                (job, attempt, me),
            )
        else:
            cur.execute(
                "INSERT INTO refused (job, attempt, worker) VALUES (%s, %s, %s)",
                (job, attempt, me),
            )
        conn.commit()


def driver():
    jobs = int(os.environ.get("JOBS", "3000"))
    workers = int(os.environ.get("WORKERS", "4"))
    kills = int(os.environ.get("KILLS", "6"))
    kill_every = float(os.environ.get("KILL_EVERY", "0.4"))
    limit_s = float(os.environ.get("LIMIT_S", "120"))
    conn = psycopg2.connect(DSN)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("TRUNCATE jobs, claims, finishes, refused")
    cur.execute(
        "INSERT INTO jobs (id, record) SELECT g, decode(repeat('00', 300), 'hex') "
        "FROM generate_series(1, %s) g",
        (jobs,),
    )
    cur.execute("VACUUM ANALYZE jobs")

    def spawn():
        return subprocess.Popen([sys.executable, __file__, "worker"])

    procs = [spawn() for _ in range(workers)]
    killed, frozen = [], None
    start = time.time()
    next_kill = start + kill_every
    reaped = 0
    stop_at = None
    while time.time() - start < limit_s:
        cur.execute(REAP)
        reaped += cur.rowcount
        now = time.time()
        if len(killed) < kills and now >= next_kill:
            victim = random.choice([p for p in procs if p.poll() is None and p is not frozen])
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            killed.append(victim.pid)
            procs.remove(victim)
            procs.append(spawn())
            next_kill = now + kill_every
        # From halfway through the kills, freeze a worker that holds a job, for longer than its
        # lease: it wakes to find its job run by another, and its finish must be refused.
        if len(killed) >= kills // 2 and frozen is None:
            cur.execute("SELECT DISTINCT worker FROM jobs WHERE status = 'running'")
            holders = {r[0] for r in cur.fetchall()}
            live = [p for p in procs if p.poll() is None and p.pid in holders]
            if live:
                candidate = random.choice(live)
                os.kill(candidate.pid, signal.SIGSTOP)
                cur.execute(
                    "SELECT count(*) FROM jobs WHERE status = 'running' AND worker = %s",
                    (candidate.pid,),
                )
                if cur.fetchone()[0] > 0:
                    frozen, stop_at = candidate, now
                else:
                    # It finished between the two looks; try again on the next turn.
                    os.kill(candidate.pid, signal.SIGCONT)
        if frozen is not None and stop_at is not None and now - stop_at > LEASE_S * 2:
            os.kill(frozen.pid, signal.SIGCONT)
            stop_at = None
        cur.execute("SELECT count(*) FROM jobs WHERE status <> 'succeeded'")
        if cur.fetchone()[0] == 0 and stop_at is None:
            break
        time.sleep(0.1)
    elapsed = time.time() - start
    if frozen is not None and stop_at is not None:
        os.kill(frozen.pid, signal.SIGCONT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def one(sql, args=None):
        cur.execute(sql, args)
        return cur.fetchone()[0]

    succeeded = one("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
    claims = one("SELECT count(*) FROM claims")
    finishes = one("SELECT count(*) FROM finishes")
    finished_twice = one(
        "SELECT count(*) FROM (SELECT job FROM finishes GROUP BY job HAVING count(*) > 1) x"
    )
    # The finish must carry the job's last attempt, by the worker that claimed that attempt.
    unfenced = one(
        "SELECT count(*) FROM finishes f JOIN jobs j ON j.id = f.job "
        "LEFT JOIN claims c ON c.job = f.job AND c.attempt = f.attempt "
        "WHERE f.attempt <> j.attempts OR c.worker IS DISTINCT FROM f.worker"
    )
    # Every claim but a job's last must belong to a worker that was killed or frozen.
    lost_holders = [*killed] + ([frozen.pid] if frozen is not None else [])
    cur.execute(
        "SELECT count(*) FROM claims c JOIN jobs j ON j.id = c.job "
        "WHERE c.attempt < j.attempts AND NOT (c.worker = ANY(%s))",
        (lost_holders,),
    )
    reclaimed_from_live = cur.fetchone()[0]
    reclaimed = one("SELECT count(*) FROM claims c JOIN jobs j ON j.id = c.job "
                    "WHERE c.attempt < j.attempts")
    refused = one("SELECT count(*) FROM refused")
    refused_frozen = one(
        "SELECT count(*) FROM refused WHERE worker = %s", (frozen.pid if frozen else -1,)
    )
    ok = (
        succeeded == jobs
        and finishes == jobs
        and finished_twice == 0
        and unfenced == 0
        and reclaimed_from_live == 0
        and refused == refused_frozen
        and frozen is not None
    )
    print(
        f"claims\tjobs={jobs}\tworkers={workers}\tkilled={len(killed)}\tfrozen="
        f"{1 if frozen else 0}\tseconds={elapsed:.1f}\tclaims={claims}\t"
        f"claims_per_s={claims / elapsed:.0f}\tsucceeded={succeeded}\tfinished={finishes}\t"
        f"finished_twice={finished_twice}\tunfenced_finishes={unfenced}\t"
        f"reclaimed_after_kill_or_freeze={reclaimed}\treclaimed_from_live_worker="
        f"{reclaimed_from_live}\tleases_reaped={reaped}\tlate_finishes_refused={refused}\t"
        f"verdict={'ok' if ok else 'FAILED'}"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        worker()
    else:
        driver()
