"""Search benchmark: build the FTS5 trigram index over N replica posts, then time queries.

    python bench/search.py [--posts 100000] [--queries 200] [--keep DIR]

Posts come from the offline replica's generator (crawler.replica, read-only): titles and clean
texts of six subsites. Reports index build time and size, and ms per query for phrase queries
(company names, towns, phrases with punctuation, Traditional input) and short queries (the scan),
side by side with a plain Python scan of the same texts (what `str.contains` on a DataFrame does).
Target: <= 50 ms per query on 100,000 posts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler import search  # noqa: E402
from crawler.replica import Network  # noqa: E402


def replica_rows(n: int, seed: int = 2026):
    """n posts of the replica network (six subsites), as index rows."""
    per_site = n // 6 + 1
    net = Network(seed=seed, sites=6, posts=per_site, now=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc))
    count = 0
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            if count >= n:
                return
            g = site.gold(pid)
            yield {"url": g["url"], "site": host, "post_id": pid, "title": g["title"], "text": g["text"],
                   "published": g["published"], "doc_type": g.get("kind"), "content_hash": f"{host}/{pid}"}
            count += 1


def queries(rows, rng, k):
    """Realistic queries: company names, towns and phrases cut from the posts, a few misses."""
    out = []
    for r in rng.sample(rows, k):
        text = r["text"]
        a = rng.randrange(0, max(1, len(text) - 12))
        out.append(text[a:a + rng.choice([3, 4, 6, 8, 12])].strip() or r["title"][:6])
    out += ["上海中晟环保科技有限公司", "枫泾镇", "半塔工业园", "“项目为王”", "示範區建設", "不存在的公司名称"]
    return [q for q in out if any(ch.isalnum() for ch in q)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep", default=None, help="folder to keep the index in (default: a temp folder)")
    args = ap.parse_args(argv)
    rng = random.Random(7)

    t = time.perf_counter()
    rows = list(replica_rows(args.posts))
    gen = time.perf_counter() - t
    chars = sum(len(r["title"]) + len(r["text"]) for r in rows)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-search-"))
    path = folder / "index" / "search.sqlite"
    path.unlink(missing_ok=True)

    t = time.perf_counter()
    with search.SearchIndex(path) as idx:
        for i in range(0, len(rows), 5000):
            idx.add(rows[i:i + 5000])
        idx.checkpoint()
    build = time.perf_counter() - t
    size = sum(p.stat().st_size for p in path.parent.glob("search.sqlite*"))

    qs = queries(rows, rng, args.queries)
    shorts = ["镇", "园区", "厂房", "来安", "ABB"]
    scan_texts = [(search.normalize_search(r["title"]).lower(), search.normalize_search(r["text"]).lower())
                  for r in rows[:]]
    with search.SearchIndex(path) as idx:
        idx.search("预热")  # first query pays page-cache warm-up
        times, hits = [], []
        for q in qs:
            t = time.perf_counter()
            hits.append(len(idx.search(q, limit=20)))
            times.append((time.perf_counter() - t) * 1000)
        short_times = []
        for q in shorts:
            t = time.perf_counter()
            idx.search(q, limit=20)
            short_times.append((time.perf_counter() - t) * 1000)
    scan_times = []
    for q in qs[:20]:
        nq = search.normalize_search(q).lower()
        t = time.perf_counter()
        _ = [i for i, (a, b) in enumerate(scan_texts) if nq in a or nq in b]
        scan_times.append((time.perf_counter() - t) * 1000)

    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"posts: {len(rows):,} ({chars / len(rows):.0f} characters each), generated in {gen:.1f} s")
    print(f"index build: {build:.1f} s ({build / len(rows) * 1000:.2f} ms/post), size {size / 2**20:.1f} MiB "
          f"({size / chars:.1f} bytes per character)")
    print(f"phrase queries (>= 3 characters, {len(times)}): median {statistics.median(times):.1f} ms, "
          f"p95 {p95:.1f} ms, max {max(times):.1f} ms; median hits {statistics.median(hits):.0f}")
    print(f"short queries (scan, {len(shorts)}): median {statistics.median(short_times):.1f} ms, "
          f"max {max(short_times):.1f} ms")
    print(f"plain Python scan of the same texts: median {statistics.median(scan_times):.1f} ms/query "
          f"({statistics.median(scan_times) / statistics.median(times):.0f}x the index)")
    print(f"target <= 50 ms per phrase query: {'met' if p95 <= 50 else 'NOT met'} (p95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
