"""Place matching benchmark: `find_places` ms per page, the Aho-Corasick scan against the Python scan.

Reads the title + text of replica articles (as `crawler.record.add_places` does, under the
subsite's county) with today's matcher (`crawler.places.Gazetteer`: one pyahocorasick automaton,
local stems from an index built once) and with the matcher before it
(tests/places_helpers.PythonScanGazetteer: a character-by-character Python scan, local stems
built per region), side by side in one process, rounds interleaved; checks that both give the same
(codes, names) for every page. Also prints the gazetteer's load time, the automaton's and the
local-stem index's build time, and the RSS they add, and what one region's local stems cost per
process before (the dict comprehension) and now (a lookup).

    python bench/places.py                  # ~400 replica articles, 5 rounds
    python bench/places.py --posts 200 --rounds 9 --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def timed(fn):
    """(seconds, result) of one call."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=400, help="replica articles (default 400)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per matcher (median; default 5)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)

    from crawler import places, sites
    from tests.places_helpers import PythonScanGazetteer, replica_texts

    registry = sites.load_registry()
    pages = replica_texts(posts=max(1, -(-args.posts // 6)), seed=args.seed)[: args.posts]
    pages = [(registry[h].region_code if h in registry else None, text) for h, text in pages]
    regions = sorted({r for r, _ in pages if r})

    rss0 = rss_mb()
    load_s, new = timed(places.gazetteer.__wrapped__)  # a fresh load, not the cached one
    rss_loaded = rss_mb()
    auto_s, _ = timed(lambda: new._automaton)
    rss_auto = rss_mb()
    index_s, _ = timed(lambda: new._local_index)
    rss_index = rss_mb()
    old = PythonScanGazetteer(new)
    # one region's local stems, as every worker paid on its first page of each subsite region
    fresh = [(PythonScanGazetteer(new), r) for r in regions]  # each with nothing cached yet
    stems_old = statistics.median(timed(lambda g=g, r=r: g.local_stems(r))[0] for g, r in fresh)
    stems_new = statistics.median(timed(lambda: new.local_stems(r))[0] for r in regions)
    for r in regions:  # both warm, as after the first page of each region
        old.local_stems(r)

    def run(g):
        return [g.find(text, region) for region, text in pages]

    def scan(g):  # the name scan alone (the new one skips names no rule takes, so lists differ)
        return [g._occurrences(text) for _, text in pages]

    same = run(old) == run(new)
    times = {"python scan": [], "aho-corasick": []}
    scans = {"python scan": [], "aho-corasick": []}
    gc.collect()
    for _ in range(args.rounds):
        for label, g in (("python scan", old), ("aho-corasick", new)):
            times[label].append(timed(lambda g=g: run(g))[0])
            scans[label].append(timed(lambda g=g: scan(g))[0])
    ms = {k: 1000 * statistics.median(v) / len(pages) for k, v in times.items()}
    scan_ms = {k: 1000 * statistics.median(v) / len(pages) for k, v in scans.items()}
    chars = sum(len(t) for _, t in pages) / len(pages)

    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"load {os.getloadavg()[0]:.1f}",
        "pages": len(pages), "mean_chars": round(chars), "rounds": args.rounds, "same_output": same,
        "ms_per_page": {k: round(v, 4) for k, v in ms.items()},
        "speedup": round(ms["python scan"] / ms["aho-corasick"], 2),
        "scan_ms_per_page": {k: round(v, 4) for k, v in scan_ms.items()},
        "gazetteer_load_s": round(load_s, 3), "gazetteer_rss_mb": round(rss_loaded - rss0, 1),
        "automaton_build_s": round(auto_s, 3), "automaton_rss_mb": round(rss_auto - rss_loaded, 1),
        "local_index_build_s": round(index_s, 4), "local_index_rss_mb": round(rss_index - rss_auto, 1),
        "region_stems_ms": {"python scan": round(1000 * stems_old, 2), "aho-corasick": round(1000 * stems_new, 4)},
        "names": len(new.names),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"# places bench, {result['date']}, {result['machine']}")
        print(f"{len(pages)} replica articles (mean {round(chars)} chars), median of {args.rounds} rounds; "
              f"same (codes, names) on every page: {same}\n")
        print("| matcher | find_places ms/page | of which the name scan | one region's local stems, ms/process |")
        print("|---|---:|---:|---:|")
        for k in ms:
            print(f"| {k} | {ms[k]:.3f} | {scan_ms[k]:.3f} | {result['region_stems_ms'][k]} |")
        print(f"\nspeedup {result['speedup']}x; gazetteer load {load_s:.3f} s (+{result['gazetteer_rss_mb']} MB RSS, "
              f"{len(new.names)} names); automaton build {auto_s * 1000:.0f} ms (+{result['automaton_rss_mb']} MB); "
              f"local-stem index {index_s * 1000:.1f} ms (+{result['local_index_rss_mb']} MB)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
