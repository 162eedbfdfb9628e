"""NATS JetStream's primitives for a multi-node tonearm: called by scripts/scaling-spike.sh when
a nats-server binary and a Python with nats-py are at hand (NATS_PY=...).

  job            a work-queue stream holds one message per queued job; CLIENTS processes pull
                 from one durable consumer, store the result in a KV bucket and acknowledge
                 (double ack: the server confirms): one job claimed and finished.
  counter_cas    KV counters by compare-and-set (read the revision, write with it, retry on a
                 conflict), each client its own key: a per-request quota counter.
  counter_shared the same with every client on one key.

Prints the same tab-separated lines as the redb bench: `nats OP CLIENTS OPS SECONDS RATE`.
The server is on 127.0.0.1 only. Usage: python scaling-nats.py URL SECS CLIENTS[,...]
"""

import asyncio
import multiprocessing
import sys
import time

import nats
from nats.js.api import ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import KeyWrongLastSequenceError

RESULT = b"\x07" * 2000


async def setup(url, jobs):
    nc = await nats.connect(url)
    js = nc.jetstream()
    for name in ("JOBS",):
        try:
            await js.delete_stream(name)
        except Exception:
            pass
    for bucket in ("results", "usage"):
        try:
            await js.delete_key_value(bucket)
        except Exception:
            pass
    await js.add_stream(
        StreamConfig(
            name="JOBS",
            subjects=["jobs.queued"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
        )
    )
    await js.add_consumer(
        "JOBS", ConsumerConfig(durable_name="workers", ack_wait=60, max_ack_pending=10_000)
    )
    await js.create_key_value(bucket="results", storage=StorageType.FILE, history=1)
    await js.create_key_value(bucket="usage", storage=StorageType.FILE, history=1)
    # Publish with server acknowledgement, many in flight.
    for start in range(0, jobs, 500):
        futs = [js.publish("jobs.queued", str(i).encode()) for i in range(start, min(jobs, start + 500))]
        await asyncio.gather(*futs)
    await nc.close()


async def job_worker(url, secs, out):
    nc = await nats.connect(url)
    js = nc.jetstream()
    kv = await js.key_value("results")
    sub = await js.pull_subscribe("jobs.queued", durable="workers", stream="JOBS")
    done = 0
    end = time.time() + secs
    while time.time() < end:
        try:
            msgs = await sub.fetch(1, timeout=1)
        except nats.errors.TimeoutError:
            break
        for m in msgs:
            await kv.put("job." + m.data.decode(), RESULT)
            await m.ack_sync()
            done += 1
    await nc.close()
    out.put(done)


async def counter_worker(url, secs, key, out):
    nc = await nats.connect(url)
    js = nc.jetstream()
    kv = await js.key_value("usage")
    done = conflicts = 0
    end = time.time() + secs
    while time.time() < end:
        try:
            entry = await kv.get(key)
            value, rev = int(entry.value), entry.revision
        except nats.js.errors.KeyNotFoundError:
            value, rev = 0, 0
        try:
            if rev == 0:
                await kv.create(key, b"1")
            else:
                await kv.update(key, str(value + 1).encode(), last=rev)
            done += 1
        except (KeyWrongLastSequenceError, nats.js.errors.KeyWrongLastSequenceError,
                nats.js.errors.APIError):
            conflicts += 1
    await nc.close()
    out.put(done)


def run(target, *args):
    asyncio.run(target(*args))


def measure(op, url, secs, clients):
    out = multiprocessing.Queue()
    if op == "job":
        procs = [multiprocessing.Process(target=run, args=(job_worker, url, secs, out))
                 for _ in range(clients)]
    else:
        procs = [
            multiprocessing.Process(
                target=run,
                args=(counter_worker, url, secs, "shared" if op == "counter_shared" else f"acct{i}", out),
            )
            for i in range(clients)
        ]
    start = time.time()
    for p in procs:
        p.start()
    total = sum(out.get(timeout=secs + 60) for _ in procs)
    for p in procs:
        p.join()
    elapsed = time.time() - start
    print(f"nats\t{op}\t{clients}\t{total}\t{elapsed:.3f}\t{total / elapsed:.0f}", flush=True)


def main():
    url, secs, clients = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    for c in [int(x) for x in clients.split(",")]:
        asyncio.run(setup(url, int(secs * 3000) + 1000))
        measure("job", url, secs, c)
        measure("counter_cas", url, secs, c)
        measure("counter_shared", url, secs, c)


if __name__ == "__main__":
    main()
