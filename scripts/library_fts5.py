#!/usr/bin/env python3
"""SQLite FTS5 (trigram tokenizer, BM25 order) on the benchmark's generated library, with the
same queries and filters tonearm's search gets: the baseline of scripts/bench-library.sh.

Usage: library_fts5.py SOUNDS.jsonl QUERIES.jsonl SECONDS
Prints: build seconds, then p50/p99 latency (ms) on one thread and searches/s on two worker
processes (in-process calls: no HTTP on this side)."""
import json, multiprocessing, os, sqlite3, sys, tempfile, time

def build(sounds_path, db_path):
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE s(id TEXT PRIMARY KEY, category TEXT, duration_s REAL, license_type TEXT)")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(title, tags, category, description, tokenize='trigram')")
    with open(sounds_path) as fh:
        rows = [json.loads(l) for l in fh]
    con.executemany("INSERT INTO s(rowid, id, category, duration_s, license_type) VALUES (?,?,?,?,?)",
                    [(i + 1, r["id"], r["category"], r["duration_s"], r["license_type"]) for i, r in enumerate(rows)])
    con.executemany("INSERT INTO f(rowid, title, tags, category, description) VALUES (?,?,?,?,?)",
                    [(i + 1, r["title"], r["tags"], r["category"] + " " + r["subcategory"], r["description"]) for i, r in enumerate(rows)])
    con.commit()
    con.close()

def statement(q):
    words = [w for w in q["q"].lower().replace('"', " ").split() if len(w) >= 3]
    if not words:
        return None
    match = " OR ".join('"%s"' % w for w in words)
    sql = "SELECT s.id FROM f JOIN s ON s.rowid = f.rowid WHERE f MATCH ?"
    args = [match]
    flt = q.get("filters", {})
    if "category" in flt:
        sql += " AND s.category = ?"; args.append(flt["category"])
    if "duration_max" in flt:
        sql += " AND s.duration_s <= ?"; args.append(flt["duration_max"])
    if "license" in flt:
        sql += " AND s.license_type = ?"; args.append(flt["license"])
    # BM25 with the same field weights as tonearm's index.
    sql += " ORDER BY bm25(f, 3.0, 2.5, 1.2, 1.0) LIMIT 20"
    return sql, args

def worker(db_path, stmts, seconds, out):
    con = sqlite3.connect(db_path)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        sql, args = stmts[n % len(stmts)]
        con.execute(sql, args).fetchall()
        n += 1
    out.put(n)

def main():
    sounds, queries, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(queries) as fh:
        stmts = [s for s in (statement(json.loads(l)) for l in fh) if s]
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "fts.db")
    t0 = time.perf_counter()
    build(sounds, db)
    print("fts5_build_s %.2f" % (time.perf_counter() - t0))
    con = sqlite3.connect(db)
    lat = []
    for sql, args in stmts:
        t = time.perf_counter()
        con.execute(sql, args).fetchall()
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    print("fts5_p50_ms %.2f" % lat[len(lat) // 2])
    print("fts5_p99_ms %.2f" % lat[int(len(lat) * 0.99)])
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(db, stmts, seconds, out)) for _ in range(2)]
    for p in procs: p.start()
    total = sum(out.get() for _ in procs)
    for p in procs: p.join()
    print("fts5_searches_per_s %.0f" % (total / seconds))

if __name__ == "__main__":
    main()
