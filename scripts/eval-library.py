#!/usr/bin/env python3
"""Relevance of the sound library as users meet it, through the real server: import LIBRARY.json
with `tonearm library import` (so every sound is measured and listened to by the tagging model),
then
  1. run the judged QUERIES through GET /api/v1/sounds/search and score them with
     ../shared/eval/score_search.py (nDCG@10, recall@20, MRR, filter violations);
  2. ask GET /api/v1/sounds/{id}/similar?limit=5 for every sound and count how many of the
     neighbours share its category and its subcategory, beside what random neighbours would give.

usage: scripts/eval-library.py [LIBRARY.json] [QUERIES.json]
       (defaults: ../shared/library/library.json, queries.json next to it; binary:
       target/release/tonearm, or $TONEARM_BIN)
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "../shared/library/library.json"))
QUERIES = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(LIBRARY), "queries.json"))
SCORER = os.path.join(ROOT, "../shared/eval/score_search.py")
BIN = os.environ.get("TONEARM_BIN", os.path.join(ROOT, "target/release/tonearm"))


def main():
    work = tempfile.mkdtemp()
    cfg = os.path.join(work, "tonearm.toml")
    with open(cfg, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:0"\n[storage]\ndata_dir = "{work}/data"\n'
                '[plans.default]\nrequests_per_minute = 1000000\ncredits_per_month = 1000\n')
    token = json.loads(subprocess.check_output([BIN, "admin", "bootstrap", "--json", "--config", cfg]))["token"]
    out = open(os.path.join(work, "out"), "w")
    server = subprocess.Popen([BIN, "serve", "--config", cfg], stdout=out, stderr=subprocess.DEVNULL)
    try:
        addr = None
        for _ in range(600):
            text = open(os.path.join(work, "out")).read()
            if "listening on " in text:
                addr = text.split("listening on ")[1].split()[0]
                break
            time.sleep(0.1)
        if not addr:
            sys.exit("the server did not start")
        env = dict(os.environ, TONEARM_URL=f"http://{addr}", TONEARM_TOKEN=token)
        t0 = time.perf_counter()
        subprocess.run([BIN, "library", "import", LIBRARY], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        secs = time.perf_counter() - t0
        sounds = json.load(open(LIBRARY))["sounds"]
        print(f"import: {len(sounds)} files in {secs:.1f} s ({secs / len(sounds) * 1000:.0f} ms per file, "
              "measurement and the tagging model included)")
        account = json.loads(subprocess.check_output([BIN, "accounts", "create", "--name", "eval", "--json"], env=env))["id"]
        key = json.loads(subprocess.check_output(
            [BIN, "keys", "create", "--account", account, "--label", "eval", "--json"], env=env))["key"]

        def get(path):
            req = urllib.request.Request(f"http://{addr}{path}", headers={"Authorization": f"Bearer {key}"})
            with urllib.request.urlopen(req) as r:
                return json.load(r)

        results = os.path.join(work, "results.jsonl")
        with open(results, "w") as f:
            for q in json.load(open(QUERIES))["queries"]:
                params = {"q": q["q"], "limit": 100, **q.get("filters", {})}
                hits = get("/api/v1/sounds/search?" + urllib.parse.urlencode(params))
                f.write(json.dumps({"query_id": q["id"], "ids": [h["id"] for h in hits]}) + "\n")
        print("== search through the server (machine tags included)")
        subprocess.run([sys.executable, SCORER, QUERIES, results, "--library", LIBRARY])

        meta = {}
        for s in sounds:
            try:
                meta[s["id"]] = get(f"/api/v1/sounds/{urllib.parse.quote(s['id'])}/metadata")
            except urllib.error.HTTPError:
                pass  # refused at import
        tagged = sum(1 for m in meta.values() if m.get("machine_tags"))
        print(f"== similar: {len(meta)} sounds imported, {tagged} with machine tags")
        same_cat = same_sub = total = 0
        t0 = time.perf_counter()
        for sid, m in meta.items():
            near = get(f"/api/v1/sounds/{urllib.parse.quote(sid)}/similar?limit=5")
            for n in near:
                total += 1
                same_cat += n["category"] == m["category"]
                same_sub += meta.get(n["id"], {}).get("subcategory") == m["subcategory"] and n["category"] == m["category"]
        per = (time.perf_counter() - t0) / max(len(meta), 1) * 1000
        cats = Counter(m["category"] for m in meta.values())
        subs = Counter((m["category"], m["subcategory"]) for m in meta.values())
        n = len(meta)
        # Random neighbours (another sound drawn uniformly) share the category with this chance.
        rand_cat = sum(c * (c - 1) for c in cats.values()) / (n * (n - 1))
        rand_sub = sum(c * (c - 1) for c in subs.values()) / (n * (n - 1))
        print(f"   5 nearest share the category: {same_cat / total:.3f} (random neighbours {rand_cat:.3f})")
        print(f"   5 nearest share the subcategory: {same_sub / total:.3f} (random neighbours {rand_sub:.3f})")
        print(f"   {per:.1f} ms per request, one connection, Python client")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
