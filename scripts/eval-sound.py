#!/usr/bin/env python3
"""Accuracy of genre, drums, mood ordering and release-kit clips against the corpus manifest.

usage: tonearm analyze --jsonl CORPUS/... > out.jsonl
       scripts/eval-sound.py out.jsonl [CORPUS/manifest.json]

Reads the `{"path", "result"}` lines of `tonearm analyze --jsonl` and the manifest's `source`
and `truth` fields; prints each measure with its target. Exit status 1 when a target is missed.
"""
import json
import os
import re
import sys
from statistics import mean

ELECTRONIC = {"Electronic", "House", "Techno", "Dubstep", "Drum & Bass", "Trance", "Ambient", "Disco"}
ROCK = {"Rock", "Metal", "Punk", "Indie"}
# Real recordings: file stem -> the genre family a listener would give (the manifest has no genre).
REAL_FAMILY = {
    "muldjord_chaos_god": ("rock", ROCK),
    "sectoid_metal_madness": ("rock", ROCK),
    "warzone2100_legacy_track6": ("electronic", ELECTRONIC),
    "singularity_awakening": ("electronic", ELECTRONIC),
}
# Songs: drums by style (the song generator's styles; its source line does not say).
SONG_DRUMS = {"pop": True, "rock": True, "edm": True, "jazz": True, "piano": False}
DRUM_STYLES = {"edm", "rock", "dnb", "funk", "metal"}
CALM_STYLES = {"piano", "strings", "chorale", "ballad68"}


def main():
    out_path = sys.argv[1]
    manifest_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "corpus", "manifest.json")
    root = os.path.dirname(os.path.abspath(manifest_path))
    items = {os.path.normpath(os.path.join(root, it["file"])): it
             for it in json.load(open(manifest_path))["items"]}
    results = {}
    for line in open(out_path):
        d = json.loads(line)
        if "result" in d:
            results[os.path.normpath(os.path.abspath(d["path"]))] = d["result"]
    ok = True

    def stem(r, sid):
        return next((s for s in r["stems_report"]["stems"] if s["id"] == sid), None)

    # 1. Drums present / absent.
    right, total, misses = 0, 0, []
    for path, r in results.items():
        it = items.get(path)
        if not it:
            continue
        src = it.get("source", "")
        truth = None
        if it["kind"] == "rendered":
            if "without drums" in src or "chorale" in src:
                truth = False
            elif "with drums" in src:
                truth = True
        elif it["kind"] == "song":
            style = re.search(r"style (\w+)", src)
            truth = SONG_DRUMS.get(style.group(1)) if style else None
        if truth is None:
            continue
        got = stem(r, "drums")["present"]
        total += 1
        if got == truth:
            right += 1
        else:
            misses.append(f"{os.path.basename(path)} (want {truth}, got {got}, "
                          f"energy share {stem(r, 'drums')['energy_share_pct']} %)")
    pct = 100.0 * right / max(total, 1)
    print(f"drums present/absent: {right}/{total} = {pct:.1f} % (target >= 95 %)")
    for m in misses:
        print(f"   miss: {m}")
    ok &= pct >= 95.0

    # 2. Genre family of the real recordings; EBU test signals get null genre.
    for path, r in sorted(results.items()):
        it = items.get(path)
        if not it:
            continue
        name = os.path.splitext(os.path.basename(path))[0]
        g = r["genre"]
        if it["kind"] == "real" and name in REAL_FAMILY:
            fam, labels = REAL_FAMILY[name]
            p = g["primary"]["label"] if g["primary"] else None
            good = p in labels
            ok &= good
            top = ", ".join(f"{t['label']} {t['confidence']:.2f}" for t in g["top5"][:3])
            print(f"genre {name}: {top} -> {fam} family {'yes' if good else 'NO'}")
        elif it["kind"] in ("ebu3341", "ebu3342"):
            good = g["primary"] is None
            ok &= good
            if not good:
                print(f"genre {name}: {g['primary']} (want null)")
    ebu = [p for p, it in items.items() if it["kind"].startswith("ebu") and p in results]
    if ebu:
        print(f"genre null on EBU test signals: "
              f"{sum(results[p]['genre']['primary'] is None for p in ebu)}/{len(ebu)}")

    # 3. Energy and danceability: every drum-driven style's mean above every calm style's.
    by_style = {}
    for path, r in results.items():
        it = items.get(path)
        if not it or r["mood"]["energy"] is None:
            continue
        name = os.path.basename(path)
        if it["kind"] == "rendered":
            style = name.split("_")[0]
            if style == "ballad68" and "with drums" in it.get("source", ""):
                continue
        elif it["kind"] == "real" and "metal" in name:
            style = "metal"
        else:
            continue
        by_style.setdefault(style, []).append(r["mood"])
    for key in ("energy", "danceability"):
        means = {s: mean(m[key] for m in ms) for s, ms in by_style.items()}
        loud = {s: v for s, v in means.items() if s in DRUM_STYLES}
        calm = {s: v for s, v in means.items() if s in CALM_STYLES}
        good = bool(loud) and bool(calm) and min(loud.values()) > max(calm.values())
        ok &= good
        row = ", ".join(f"{s} {v:.0f}" for s, v in sorted(means.items(), key=lambda x: -x[1]))
        print(f"{key} by style (mean): {row}")
        print(f"   drum styles {min(loud.values(), default=0):.0f}+ above calm styles "
              f"{max(calm.values(), default=0):.0f}-: {'yes' if good else 'NO'}")

    # 4. The 30 s clip starts inside a chorus (or drop) on the songs that have one.
    hits, songs = 0, 0
    for path, r in sorted(results.items()):
        it = items.get(path)
        if not it or it["kind"] != "song":
            continue
        secs = it["truth"]["sections"]
        if isinstance(secs, str):
            secs = json.loads(secs.replace("'", '"'))
        target = [s for s in secs if s["label"] in ("chorus", "drop")]
        if not target:
            continue
        songs += 1
        clip = next((c for c in r["release_kit"]["clips"] if abs(c["duration"] - 30) <= 4), None)
        inside = clip is not None and any(s["start"] - 0.5 <= clip["start"] < s["end"] for s in target)
        hits += inside
        where = f"{clip['start']:.1f}-{clip['end']:.1f} ({clip['reason']})" if clip else "no clip"
        print(f"30 s clip {os.path.basename(path)}: {where} inside chorus/drop: "
              f"{'yes' if inside else 'NO'}")
    print(f"30 s clip inside a chorus or drop: {hits}/{songs} (target: every song with one)")
    ok &= hits == songs

    # 5. Vocals: the corpus has none, so only false positives can be counted.
    fp = [os.path.basename(p) for p, r in results.items() if r["vocals"]["present"]]
    print(f"vocals reported present: {len(fp)}/{len(results)} (the corpus has no vocals; "
          f"detection of real vocals is not validated here) {fp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
