"""Re-extraction throughput on every core: pages/s of `reextract`'s extraction with jobs 1 vs jobs N.

Renders replica post pages once (not timed), then turns the same pages into records the way
`parkcorpus reextract --jobs N` does (`crawler.workers.map_calls` over
`crawler.record.record_task`, i.e. page_to_record with the site's overrides), side by side in one run:
jobs=1 (in this process, what `reextract` did before) and jobs=N (the process pool), N = 2 and the
number of cores by default. The pool's start (fork server, warm workers) is timed apart from the
steady-state pages/s, and the end-to-end figure includes it. Prints the machine and its load,
because the helpers and the replica share the cores.

    python bench/reextract.py                  # 400 pages, jobs 1 vs 2 (and vs cores if more)
    python bench/reextract.py --pages 1000 --jobs 2 4 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)


def replica_pages(n: int, seed: int = 2026) -> list:
    """n rendered replica post pages as crawler.workers.Page (deterministic)."""
    from crawler.record import Page
    from crawler.replica import Network, render_post

    sites = 2
    net = Network(seed=seed, sites=sites, posts=(n + sites - 1) // sites + 1, now=NOW)
    rng = random.Random(seed)
    pages = []
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            html, _related = render_post(site, pid, NOW, rng)
            pages.append(Page.of(site.post_url(pid), html, 200,
                                 {"Content-Type": "text/html; charset=utf-8",
                                  "Date": "Thu, 26 Nov 2026 17:24:00 GMT"}, NOW))
    return pages[:n]


def run(pages: list, jobs: int) -> dict:
    """Time one pass over pages with `jobs` processes: start, steady pages/s, end-to-end pages/s."""
    from crawler.record import record_task
    from crawler.workers import ExtractionPool, map_calls

    calls = [(i, (page, None, {"run_id": "bench"}), page.url) for i, page in enumerate(pages)]

    started = time.perf_counter()
    cpu0 = time.process_time()
    if jobs == 1:
        pool = None
        ready = started
    else:
        pool = ExtractionPool(jobs).start()
        ready = time.perf_counter()
    try:
        results = list(map_calls(record_task, calls, jobs=1, pool=pool))
    finally:
        if pool is not None:
            pool.shutdown()
    done = time.perf_counter()
    errors = sum(1 for _tag, ok, _value in results if not ok)
    return {
        "jobs": jobs,
        "pages": len(results),
        "errors": errors,
        "start_s": round(ready - started, 3),
        "pages_per_s": round(len(results) / (done - ready), 1),
        "end_to_end_pages_per_s": round(len(results) / (done - started), 1),
        "parent_cpu_ms_per_page": round(1000 * (time.process_time() - cpu0) / max(1, len(results)), 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Print pages/s for jobs 1 and each N, with the ratio to jobs 1."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=400, help="replica pages to extract (default 400)")
    ap.add_argument("--jobs", type=int, nargs="+", default=None,
                    help="pool sizes to compare with jobs 1 (default: 2 and the core count)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    from crawler.workers import default_workers

    cores = default_workers()
    sizes = args.jobs or sorted({2, cores})
    pages = replica_pages(args.pages)
    # warm up this process's extractor (imports, OpenCC tables) so jobs=1 is not charged for them
    from crawler.record import record_task

    for page in pages[:5]:
        record_task(page, None, {})
    rows = [run(pages, 1)] + [run(pages, n) for n in sizes if n != 1]
    base = rows[0]["pages_per_s"]
    for row in rows:
        row["ratio"] = round(row["pages_per_s"] / base, 2)
        row["end_to_end_ratio"] = round(row["end_to_end_pages_per_s"] / base, 2)
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {cores} cores, Python {platform.python_version()}",
        "load_1m": round(os.getloadavg()[0], 2),
        "pages": len(pages),
        "runs": rows,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"re-extraction, {info['pages']} replica pages; {info['machine']}; load {info['load_1m']}; {info['date']}")
    print(f"{'jobs':>4} {'start s':>8} {'pages/s':>8} {'ratio':>6} {'e2e p/s':>8} {'e2e ratio':>9} "
          f"{'parent ms/page':>14} {'errors':>6}")
    for r in rows:
        print(f"{r['jobs']:>4} {r['start_s']:>8} {r['pages_per_s']:>8} {r['ratio']:>6} "
              f"{r['end_to_end_pages_per_s']:>8} {r['end_to_end_ratio']:>9} {r['parent_cpu_ms_per_page']:>14} "
              f"{r['errors']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
