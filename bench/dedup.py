"""Syndication-group benchmark: cost per post and pairwise precision/recall on a labelled set.

    python bench/dedup.py [--stories 2000] [--crawl-ms 13]

The labelled set (tests/dedup_helpers.py) is replica stories of every kind, 0-3 syndicated copies
of each (other boilerplate, an added sentence, a changed headline, a dropped paragraph, sometimes
Traditional script) on random subsites, and template siblings (same text, other numbers). Posts
are added one by one in random order, as a crawl delivers them. The cost per post is compared with
the crawl's CPU time per post (--crawl-ms, ~13 ms measured by bench/crawl.py): target <= 10 %.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from crawler import dedup  # noqa: E402
from dedup_helpers import labelled_set  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=2000)
    ap.add_argument("--crawl-ms", type=float, default=13.0)
    ap.add_argument("--crawl", type=int, default=0, metavar="POSTS",
                    help="instead: crawl a replica of 3 subsites x POSTS with 12 %% syndicated copies and "
                         "compare the dedup work of that crawl (DupIndex.add per post + duplicates/) with its time")
    args = ap.parse_args(argv)
    if args.crawl:
        return crawl_share(args.crawl)
    rows, gold = labelled_set(args.stories, siblings=args.stories // 5)
    folder = Path(tempfile.mkdtemp(prefix="bench-dedup-"))

    t = time.perf_counter()
    idx = dedup.DupIndex(folder)
    idx._index()  # import datasketch, build the (empty) LSH: once per run, not per post
    dedup.minhash(dedup.shingle_hashes(dedup.normalize_for_dedup("预热" * 20)))
    setup = time.perf_counter() - t

    t = time.perf_counter()
    cpu = time.process_time()
    for r in rows:  # one by one, the way the crawl's pipeline calls it
        idx.add(r["site"], r["post_id"], r["text"], url=r["url"], published=r["published"],
                content_hash=r["content_hash"])
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu

    t = time.perf_counter()
    groups = idx.groups()
    end = time.perf_counter() - t
    idx.close()

    t = time.process_time()
    with dedup.DupIndex(folder) as again:
        again._index()
    reopen = time.process_time() - t

    got = dedup.pairs(groups)
    tp = len(got & gold)
    per_post = cpu / len(rows) * 1000
    size = sum(p.stat().st_size for p in (folder / "index").glob("dedup.sqlite*"))
    print(f"posts: {len(rows):,} ({args.stories:,} stories, {len(gold):,} gold pairs, "
          f"{args.stories // 5} template siblings)")
    print(f"pairwise precision {tp / max(1, len(got)):.4f}, recall {tp / max(1, len(gold)):.4f} "
          f"({len(got):,} pairs grouped)")
    print(f"cost per post: {per_post:.2f} ms CPU ({wall / len(rows) * 1000:.2f} ms wall) = "
          f"{per_post / args.crawl_ms:.1%} of a {args.crawl_ms:.0f} ms crawl post (target <= 10 %)")
    print(f"once per run: setup {setup:.2f} s, groups() {end:.2f} s, reopening the index {reopen:.2f} s CPU; "
          f"index size {size / 2**20:.1f} MiB")
    return 0


def crawl_share(posts: int) -> int:
    """Wall time of a real replica crawl vs the same dedup work replayed on its articles."""
    import datetime as dt
    import os
    import shutil
    import subprocess

    from conftest import FAST_ARGS

    from crawler import search
    from crawler.replica import Faults, Network, ReplicaServer
    from crawler.replica.syndication import Syndication, gold_pairs
    from crawler.store import load

    net = Network(seed=11, sites=3, posts=posts, now=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc))
    Syndication(0.12).attach(net)
    folder = Path(tempfile.mkdtemp(prefix="bench-dedup-crawl-"))
    out = folder / "data"
    with ReplicaServer(net, faults=Faults(), log=False) as srv:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli", "-q", "crawl", *net.hosts, "--out", str(out), "--proxy",
                        srv.proxy_url, *FAST_ARGS], check=True, cwd=ROOT, env=dict(os.environ))
        crawl = time.perf_counter() - t
    got = dedup.pairs(dedup.read_duplicates(out).to_pylist())
    gold = gold_pairs(net)
    rows = load(str(out), columns=["site", "post_id", "url", "text", "published", "content_hash"]).to_dict("records")
    shutil.rmtree(out / "index")
    # the crawl's split: each post's signature is made in an extraction worker, the index (add per
    # post, the groups and their file at the end) is kept by the index process beside the crawl
    t = time.perf_counter()
    sigs = [dedup.signature(r["text"], r["content_hash"]) for r in rows]
    signing = time.perf_counter() - t
    t = time.perf_counter()
    with dedup.DupIndex(out) as idx:
        for r, sig in zip(rows, sigs):
            idx.add(r["site"], r["post_id"], r["text"], url=r["url"], published=r["published"],
                    content_hash=r["content_hash"], sig=sig)
        dedup.write_duplicates(out, idx, "bench")
    indexing = time.perf_counter() - t
    spent = signing + indexing
    t = time.perf_counter()
    search.build(out)
    indexed = time.perf_counter() - t
    tp = len(got & gold)
    print(f"crawl of {len(rows):,} posts ({len(gold)} gold pairs): {crawl:.1f} s wall, dedup included")
    print(f"dedup work of that crawl: {spent:.2f} s = {spent / (crawl - spent - indexed):.1%} of the crawl "
          f"without it (target <= 10 %): signatures {signing:.2f} s (made in the extraction workers), "
          f"index {indexing:.2f} s (the index process, beside the crawl); search index sync {indexed:.2f} s")
    print(f"pairwise precision {tp / max(1, len(got)):.4f}, recall {tp / max(1, len(gold)):.4f}")
    shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
